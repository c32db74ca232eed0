// Rerun: pages through the docs, sends the chosen ones back to their step, keeps the record.
#include "edw/workflow/rerun.hpp"

#include <edw/runtime/step_workers.hpp>
#include <edw/util/error.hpp>
#include <edw/util/log.hpp>
#include <edw/util/utc_time.hpp>

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <mutex>

namespace edw {
namespace {

constexpr std::size_t refusals_kept = 20;
constexpr int conflict_rounds = 10;

// One page of docs, as read, and where the next page starts.
struct Page {
    std::vector<nlohmann::json> docs;
    std::string last_id; ///< The last id the page covered; empty: the page was empty.
    bool last = false;   ///< No page after this one.
};

// Reads the pages of a campaign: every doc after a position, or only the chosen ids.
class PageReader {
public:
    PageReader(Database& database, const RerunCriteria& criteria, std::size_t batch)
        : m_database(database)
        , m_batch(std::max<std::size_t>(1, batch))
    {
        if (criteria.ids) {
            m_ids.assign(criteria.ids->begin(), criteria.ids->end()); // a set: sorted
        }
        m_by_ids = criteria.ids.has_value();
    }

    Page read_after(const std::string& position) const
    {
        return m_by_ids ? read_ids_after(position) : read_all_after(position);
    }

private:
    Page read_all_after(const std::string& position) const
    {
        ViewQuery query;
        query.include_docs = true;
        // The page starts at `position` itself, which is dropped: a key after it cannot be
        // written in every server's collation.
        query.limit = m_batch + (position.empty() ? 0 : 1);
        if (!position.empty()) {
            query.startkey = position;
        }
        ViewResult result = m_database.all_docs(query);
        Page page;
        page.last = result.rows.size() < *query.limit;
        for (auto& row : result.rows) {
            page.last_id = row.id;
            if (row.id != position && row.doc && row.doc->is_object()) {
                page.docs.push_back(std::move(*row.doc));
            }
        }
        return page;
    }

    Page read_ids_after(const std::string& position) const
    {
        const auto first = position.empty()
                               ? m_ids.begin()
                               : std::upper_bound(m_ids.begin(), m_ids.end(), position);
        const auto end = first + static_cast<std::ptrdiff_t>(std::min<std::size_t>(
                                     m_batch, static_cast<std::size_t>(m_ids.end() - first)));
        Page page;
        page.last = end == m_ids.end();
        if (first == end) {
            return page;
        }
        page.last_id = *(end - 1);
        ViewQuery query;
        query.include_docs = true;
        query.keys.emplace();
        for (auto id = first; id != end; ++id) {
            query.keys->push_back(*id);
        }
        for (auto& row : m_database.all_docs(query).rows) {
            if (row.doc && row.doc->is_object()) { // a missing or deleted id has no doc
                page.docs.push_back(std::move(*row.doc));
            }
        }
        return page;
    }

    Database& m_database;
    std::size_t m_batch;
    bool m_by_ids = false;
    std::vector<std::string> m_ids;
};

class CampaignRun {
public:
    CampaignRun(Database& database, RerunCampaign campaign, const RerunOptions& options)
        : m_database(database)
        , m_options(options)
        , m_chooser(campaign.criteria)
    {
        m_outcome.campaign = std::move(campaign);
    }

    RerunCampaign& campaign() { return m_outcome.campaign; }
    RerunOutcome& outcome() { return m_outcome; }

    // Judges a page's docs and writes those sent back; returns when each is settled.
    void handle(std::vector<nlohmann::json> docs)
    {
        std::vector<nlohmann::json> writes;
        for (auto& doc : docs) {
            ++campaign().scanned;
            judge(std::move(doc), writes);
        }
        for (int round = 0; !writes.empty(); ++round) {
            if (round == conflict_rounds) {
                for (const auto& doc : writes) {
                    refuse(doc.value("_id", ""), "it kept changing while the rerun wrote it");
                }
                return;
            }
            writes = write(std::move(writes));
        }
    }

    void save_record(bool force)
    {
        const auto now = std::chrono::steady_clock::now();
        if (m_options.dry_run || (!force && now - m_last_record < m_options.record_every)) {
            return;
        }
        campaign().updated = utc_now_iso8601();
        write_campaign(m_database, campaign());
        m_last_record = now;
    }

private:
    void judge(nlohmann::json doc, std::vector<nlohmann::json>& writes)
    {
        if (has_rerun_mark(doc, campaign().id)) {
            ++campaign().already;
            return;
        }
        if (!m_chooser.chooses(doc)) {
            return;
        }
        const std::string id = doc.value("_id", "");
        if (m_outcome.sample.size() < m_options.sample) {
            m_outcome.sample.push_back(id);
        }
        if (m_options.dry_run) {
            ++campaign().sent_back; // would be
            return;
        }
        try {
            const RerunMark mark{.campaign = campaign().id,
                                 .step = campaign().criteria.step,
                                 .date = utc_now_iso8601(),
                                 .reason = campaign().reason,
                                 .by = campaign().by};
            if (auto sent = send_back(std::move(doc), mark)) {
                writes.push_back(std::move(*sent));
            }
        } catch (const JsonError& error) {
            refuse(id, error.what());
        }
    }

    // Writes `docs`; returns those to write again, read afresh after a 409 and judged again.
    std::vector<nlohmann::json> write(std::vector<nlohmann::json> docs)
    {
        const auto results = m_database.bulk_save(docs);
        std::vector<nlohmann::json> again;
        ViewQuery reread;
        reread.include_docs = true;
        reread.keys.emplace();
        for (std::size_t i = 0; i < results.size(); ++i) {
            const std::string id = i < docs.size() ? docs[i].value("_id", "") : results[i].id;
            if (results[i].ok()) {
                ++campaign().sent_back;
            } else if (results[i].is_conflict()) {
                reread.keys->push_back(id); // a listener wrote it meanwhile
            } else {
                refuse(id, results[i].error + ": " + results[i].reason);
            }
        }
        if (reread.keys->empty()) {
            return again;
        }
        for (auto& row : m_database.all_docs(reread).rows) {
            if (row.doc && row.doc->is_object()) {
                judge(std::move(*row.doc), again);
            }
        }
        return again;
    }

    void refuse(const std::string& id, const std::string& reason)
    {
        ++campaign().refused;
        log_warning("rerun " + campaign().id + ": doc " + id + " not sent back: " + reason);
        if (m_outcome.refusals.size() < refusals_kept) {
            m_outcome.refusals.push_back(id + ": " + reason);
        }
    }

    Database& m_database;
    const RerunOptions& m_options;
    RerunChooser m_chooser;
    RerunOutcome m_outcome;
    std::chrono::steady_clock::time_point m_last_record{};
};

// Waits until `looked_at` docs since `start` keep under `max_rate` per second, or a stop.
void keep_to_rate(double max_rate, std::uint64_t looked_at,
                  std::chrono::steady_clock::time_point start, const std::stop_token& stop)
{
    if (max_rate <= 0) {
        return;
    }
    const auto due =
        start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(static_cast<double>(looked_at) / max_rate));
    std::mutex mutex;
    std::condition_variable_any woken;
    std::unique_lock lock(mutex);
    woken.wait_until(lock, stop, due, [] { return false; });
}

std::uint64_t docs_in(Database& database, const RerunCriteria& criteria)
{
    if (criteria.ids) {
        return criteria.ids->size();
    }
    const auto info = database.info();
    return info.value("doc_count", std::uint64_t{0});
}

} // namespace

RerunCampaign new_campaign(const RerunCriteria& criteria, std::string reason, std::string by,
                           std::chrono::system_clock::time_point now)
{
    const RerunChooser check(criteria); // throws for criteria that cannot work
    RerunCampaign campaign;
    campaign.id = new_campaign_id(criteria.step, now);
    campaign.criteria = check.criteria();
    campaign.reason = std::move(reason);
    campaign.by = std::move(by);
    campaign.started = iso8601(now);
    campaign.updated = campaign.started;
    return campaign;
}

std::string rerun_starter()
{
    const char* user = std::getenv("USER");
    return std::string(user != nullptr && *user != '\0' ? user : "someone") + "@" +
           this_host_name();
}

RerunOutcome run_rerun(Database& database, RerunCampaign campaign, const RerunOptions& options,
                       const std::function<void(const RerunCampaign&)>& progress,
                       std::stop_token stop)
{
    campaign.state = "running";
    run_here(campaign);
    campaign.error.clear();
    campaign.finished.clear();
    CampaignRun run(database, std::move(campaign), options);
    auto& record = run.campaign();
    try {
        record.total = docs_in(database, record.criteria);
        run.save_record(true);
        const PageReader reader(database, record.criteria, options.batch);
        const auto start = std::chrono::steady_clock::now();
        const std::uint64_t scanned_before = record.scanned;
        Page page = reader.read_after(record.position);
        while (true) {
            // The next page is read while this one is judged and written.
            std::future<Page> next;
            if (!page.last) {
                next = std::async(std::launch::async, [&reader, after = page.last_id] {
                    return reader.read_after(after);
                });
            }
            run.handle(std::move(page.docs));
            if (!page.last_id.empty()) {
                record.position = page.last_id;
            }
            if (progress) {
                progress(record);
            }
            if (!next.valid()) {
                break;
            }
            keep_to_rate(options.max_rate, record.scanned - scanned_before, start, stop);
            if (stop.stop_requested()) {
                next.wait();
                record.state = "interrupted";
                record.error = "stopped before the end";
                run.save_record(true);
                return std::move(run.outcome());
            }
            page = next.get();
            run.save_record(false);
        }
        record.state = "done";
        record.finished = utc_now_iso8601();
        run.save_record(true);
    } catch (const Error& error) {
        record.state = "interrupted";
        record.error = error.what();
        try {
            run.save_record(true);
        } catch (const Error&) {
            // The database that failed the rerun may refuse its record too; the error says why.
        }
        throw;
    }
    return std::move(run.outcome());
}

} // namespace edw
