// ParkedDocs: the status view's "failed:" keys, and put_back written with 409 handling.
#include "edw/status/parked_docs.hpp"

#include <edw/step/failure_log.hpp>
#include <edw/util/error.hpp>
#include <edw/util/utc_time.hpp>

namespace edw {
namespace {

constexpr std::size_t page_size = 1000;

bool has_status_view(Database& database, const std::string& design)
{
    const auto doc = database.get("_design/" + design);
    return doc && doc->contains("views") && (*doc)["views"].contains("status");
}

// Without the pipeline's design doc (a workflow of states has only _design/states), every doc
// is read, a page at a time: slower, but a parked doc is found whatever the workflow.
std::vector<nlohmann::json> parked_docs_by_scan(Database& database, const std::string& step)
{
    const std::optional<std::string_view> only =
        step.empty() ? std::nullopt : std::optional<std::string_view>(step);
    ViewQuery query;
    query.include_docs = true;
    query.limit = page_size;
    std::vector<nlohmann::json> docs;
    std::string last;
    for (;;) {
        const auto page = database.all_docs(query);
        for (const auto& row : page.rows) {
            if (row.id != last && row.doc && row.doc->is_object() && is_parked(*row.doc, only)) {
                docs.push_back(*row.doc);
            }
        }
        if (page.rows.size() < page_size) {
            return docs;
        }
        last = page.rows.back().id;
        query.startkey = last; // the page after restarts at the last row, skipped above
    }
}

} // namespace

std::vector<nlohmann::json> parked_docs(Database& database, const std::string& design,
                                        const std::string& step)
{
    if (!has_status_view(database, design)) {
        return parked_docs_by_scan(database, step);
    }
    ViewQuery query;
    if (step.empty()) {
        query.startkey = "failed:";
        query.endkey = "failed:\uFFF0";
    } else {
        query.key = parked_status(step);
    }
    query.reduce = false;
    query.include_docs = true;
    query.limit = page_size;
    std::vector<nlohmann::json> docs;
    for (;;) {
        const auto page = database.query(design, "status", query);
        for (const auto& row : page.rows) {
            // Paging restarts at the last row, which the page before already gave.
            if (row.doc && row.doc->is_object() &&
                (docs.empty() || docs.back().value("_id", "") != row.id) && is_parked(*row.doc)) {
                docs.push_back(*row.doc);
            }
        }
        if (page.rows.size() < *query.limit) {
            return docs;
        }
        query.key.reset();
        query.startkey = page.rows.back().key;
        query.startkey_docid = page.rows.back().id;
        if (!step.empty()) {
            query.endkey = parked_status(step);
        }
    }
}

bool put_back_parked(Database& database, nlohmann::json doc, const std::string& step)
{
    const std::optional<std::string_view> only =
        step.empty() ? std::nullopt : std::optional<std::string_view>(step);
    for (int attempt = 0; attempt < 10; ++attempt) {
        auto back = put_back(std::move(doc), utc_now_iso8601(), only);
        if (!back) {
            return false;
        }
        if (!database.save(*back).is_conflict()) {
            return true;
        }
        auto fresh = database.get((*back)["_id"].get<std::string>());
        if (!fresh) {
            return false;
        }
        doc = std::move(*fresh);
    }
    throw HttpError("cannot put back doc " + doc.value("_id", "") + ": it keeps changing", 409,
                    "conflict", "Document update conflict.");
}

} // namespace edw
