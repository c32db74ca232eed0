// edw failed / edw retry: list the docs parked after their last failed attempt, and put them back.
#include "command.hpp"

#include <edw/app/open_database.hpp>
#include <edw/status/parked_docs.hpp>
#include <edw/status/pipeline_status.hpp>
#include <edw/step/failure_log.hpp>
#include <edw/util/error.hpp>
#include <edw/util/progress.hpp>
#include <edw/util/utc_time.hpp>

#include <algorithm>
#include <iostream>
#include <memory>

namespace edw::tools {
namespace {

struct RetryOptions {
    std::string step;
    std::string id;
    bool all_failed = false;
    bool json = false;
};

// The last failure in one line: the first line of its message, without "step S on doc D: "
// (the table shows both), then the last non-empty line of its detail, which for a traceback is
// the exception: "the command exited with status 1: ValueError: bad detector".
std::string last_message(const nlohmann::json& doc, const std::string& step)
{
    const auto& failures = doc.value(failures_field, nlohmann::json::array());
    if (failures.empty() || !failures.back().is_object()) {
        return {};
    }
    const auto text = [&](const char* field) {
        const auto found = failures.back().find(field);
        return found != failures.back().end() && found->is_string() ? found->get<std::string>()
                                                                    : std::string();
    };
    std::string message = text("message");
    message.erase(std::min(message.find('\n'), message.size()));
    const std::string prefix = "step " + step + " on doc " + doc.value("_id", "") + ": ";
    if (message.starts_with(prefix)) {
        message.erase(0, prefix.size());
    }
    const std::string detail = text("detail");
    const auto end = detail.find_last_not_of(" \t\r\n");
    if (end != std::string::npos) {
        const auto newline = detail.rfind('\n', end);
        const auto start = newline == std::string::npos ? 0 : newline + 1;
        message += ": " + detail.substr(start, std::min<std::size_t>(end + 1 - start, 200));
    }
    return message;
}

// Every good doc whose process no step can route, from the steps view (none without it).
std::vector<DocPage::Row> unroutable_docs(Database& database, const std::string& design)
{
    std::vector<DocPage::Row> rows;
    constexpr std::uint64_t page_size = 1000;
    for (std::uint64_t skip = 0;; skip += page_size) {
        DocPage page;
        try {
            page = list_docs(database, design, {}, DocList::unroutable, skip, page_size);
        } catch (const HttpError& error) {
            if (error.is_not_found()) {
                return rows; // no steps view: a workflow of states
            }
            throw;
        }
        rows.insert(rows.end(), page.rows.begin(), page.rows.end());
        if (page.rows.size() < page_size) {
            return rows;
        }
    }
}

int list_failed(const GlobalOptions& global, const RetryOptions& options)
{
    const auto settings = load_tool_settings(global);
    const auto database = open_database(settings);
    const auto docs = parked_docs(*database, settings.design, options.step);
    // Docs whose process no step can route belong to no step: listed when no step is asked for.
    const auto unroutable = options.step.empty() ? unroutable_docs(*database, settings.design)
                                                 : std::vector<DocPage::Row>();
    if (options.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& doc : docs) {
            out.push_back({{"id", doc["_id"]},
                           {"status", doc["status"]},
                           {"failures", doc.value(failures_field, nlohmann::json::array())}});
        }
        for (const auto& row : unroutable) {
            out.push_back({{"id", row.id}, {"status", "good"}, {"unroutable", row.detail}});
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    for (const auto& doc : docs) {
        const std::string step = doc["status"].get<std::string>().substr(7); // "failed:<step>"
        std::cout << doc["_id"].get<std::string>() << "  " << step << "  "
                  << failed_attempts(doc, step) << " attempts  " << last_message(doc, step) << "\n";
    }
    for (const auto& row : unroutable) {
        std::cout << row.id << "  (no step)  " << row.detail.get<std::string>()
                  << ": fix its process array\n";
    }
    std::cout << docs.size() << (docs.size() == 1 ? " doc" : " docs") << " parked";
    if (!unroutable.empty()) {
        std::cout << " and " << unroutable.size() << (unroutable.size() == 1 ? " doc" : " docs")
                  << " no step can take";
    }
    std::cout << " in " << database->describe() << "\n";
    return 0;
}

int retry(const GlobalOptions& global, const RetryOptions& options)
{
    const auto settings = load_tool_settings(global);
    const auto database = open_database(settings);
    if (!options.id.empty()) {
        auto doc = database->get(options.id);
        if (!doc) {
            std::cerr << "edw: no document " << options.id << " in " << database->describe()
                      << "\n";
            return 1;
        }
        if (!put_back_parked(*database, std::move(*doc), options.step)) {
            std::cerr << "edw: doc " << options.id << " is not parked"
                      << (options.step.empty() ? "" : " at step " + options.step) << "\n";
            return 1;
        }
        std::cout << "put back " << options.id << "\n";
        return 0;
    }
    auto docs = parked_docs(*database, settings.design, options.step);
    Progress progress("retry", docs.size(), "docs");
    std::size_t put = 0;
    for (auto& doc : docs) {
        put += put_back_parked(*database, std::move(doc), options.step) ? 1 : 0;
        progress.advance(1);
    }
    progress.finish();
    std::cout << "put back " << put << (put == 1 ? " doc" : " docs") << " in "
              << database->describe() << "\n";
    return 0;
}

} // namespace

void add_retry_commands(CLI::App& app, const GlobalOptions& global, Action& action)
{
    auto options = std::make_shared<RetryOptions>();

    auto* failed = app.add_subcommand(
        "failed", "List the docs parked after their last failed attempt, with the last error");
    failed->fallthrough();
    failed->add_option("--step", options->step, "Only docs parked at this step");
    failed->add_flag("--json", options->json, "Print the docs' failure records as JSON");
    failed->callback([&action, &global, options] {
        action = [&global, options] { return list_failed(global, *options); };
    });

    auto* again = app.add_subcommand(
        "retry", "Put parked docs back into the pipeline: status \"good\", attempts from zero");
    again->fallthrough();
    again->add_option("--step", options->step, "Only docs parked at this step");
    // One of the two, checked below rather than with excludes(), which CLI11 prints into the
    // option column of the help.
    again->add_option("--id", options->id, "This doc (or --all-failed)")->type_name("ID");
    again->add_flag("--all-failed", options->all_failed, "Every parked doc (or --id)");
    again->callback([&action, &global, options] {
        if (options->id.empty() == !options->all_failed) {
            throw CLI::ValidationError("edw retry needs --id ID or --all-failed, one of them");
        }
        action = [&global, options] { return retry(global, *options); };
    });
}

} // namespace edw::tools
