// StepWorkers: a step's worker records in `_local/edw-workers-<step>`, and the rule by which a
// starting worker joins the live ones.
#include "edw/runtime/step_workers.hpp"

#include <edw/util/error.hpp>
#include <edw/util/utc_time.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <random>
#include <set>
#include <thread>

namespace edw {
namespace {

// A record is kept this long after its worker stopped or died, for status pages to show.
constexpr std::chrono::hours kept_after_end{24};
// A worker silent for this many of its heartbeats is taken for dead.
constexpr double beats_before_dead = 3;

nlohmann::json to_json(const WorkerRecord& record)
{
    nlohmann::json json = {
        {"name", record.name},
        {"host", record.host},
        {"pid", record.pid},
        {"listener", record.listener},
        {"started", record.started},
        {"beat", record.beat},
        {"beat_every_s", record.beat_every_s},
        {"state", record.state},
        {"done", record.done},
        {"in_hand", record.in_hand},
        {"lease_s", record.lease_s ? nlohmann::json(*record.lease_s) : nlohmann::json()},
        {"shard", record.shard}};
    if (!record.gave_back.empty()) {
        json["gave_back"] = record.gave_back;
    }
    return json;
}

WorkerRecord record_of(const nlohmann::json& json)
{
    WorkerRecord record;
    record.name = json.value("name", "");
    record.host = json.value("host", "");
    record.pid = json.value("pid", 0L);
    record.listener = json.value("listener", "");
    record.started = json.value("started", "");
    record.beat = json.value("beat", "");
    record.beat_every_s = json.value("beat_every_s", 0.0);
    record.state = json.value("state", "");
    record.done = json.value("done", 0L);
    record.in_hand = json.value("in_hand", 0L);
    if (const auto lease = json.find("lease_s"); lease != json.end() && lease->is_number()) {
        record.lease_s = lease->get<double>();
    }
    record.shard = json.value("shard", "");
    if (const auto given = json.find("gave_back"); given != json.end() && given->is_array()) {
        for (const auto& id : *given) {
            if (id.is_string()) {
                record.gave_back.push_back(id.get<std::string>());
            }
        }
    }
    return record;
}

std::vector<WorkerRecord> records_in(const std::optional<nlohmann::json>& doc)
{
    std::vector<WorkerRecord> records;
    if (!doc) {
        return records;
    }
    const auto workers = doc->find("workers");
    if (workers == doc->end() || !workers->is_array()) {
        return records;
    }
    for (const auto& entry : *workers) {
        if (entry.is_object() && entry.contains("name")) {
            records.push_back(record_of(entry));
        }
    }
    std::stable_sort(records.begin(), records.end(),
                     [](const auto& a, const auto& b) { return a.started < b.started; });
    return records;
}

bool pid_is_gone(long pid)
{
    return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

std::string names_of(const std::vector<WorkerRecord>& records)
{
    std::string names;
    for (const auto& record : records) {
        names += (names.empty() ? "" : ", ") + record.name;
    }
    return names;
}

} // namespace

std::string workers_doc_id(std::string_view step)
{
    return "_local/edw-workers-" + std::string(step);
}

std::vector<WorkerRecord> read_workers(Database& database, std::string_view step)
{
    return records_in(database.get(workers_doc_id(step)));
}

std::vector<WorkerRecord> write_worker(Database& database, std::string_view step,
                                       const WorkerRecord& record)
{
    const std::string id = workers_doc_id(step);
    const auto now = std::chrono::system_clock::now();
    const std::string host = this_host_name();
    for (int attempt = 0; attempt < 8; ++attempt) {
        const auto current = database.get(id);
        std::vector<WorkerRecord> records;
        for (auto& other : records_in(current)) {
            if (other.name == record.name) {
                continue; // replaced by `record` below
            }
            const auto last = parse_iso8601(other.beat);
            const bool ended_long_ago =
                !last || (now - *last > kept_after_end &&
                          liveness(other, now, host) != WorkerLiveness::live);
            if (!ended_long_ago) {
                records.push_back(std::move(other));
            }
        }
        records.push_back(record);
        nlohmann::json doc = {{"_id", id}, {"step", step}, {"workers", nlohmann::json::array()}};
        for (const auto& kept : records) {
            doc["workers"].push_back(to_json(kept));
        }
        if (current) {
            doc["_rev"] = current->value("_rev", "");
        }
        if (database.save(doc).is_conflict()) {
            continue;
        }
        // CouchDB keeps no revision history for `_local` docs: a write with a stale `_rev`
        // succeeds and drops what another worker wrote meanwhile. Ours is read back, and written
        // again after a short random wait when a concurrent write dropped it. The read waits a
        // moment, so that a write read before ours and sent just after it is seen.
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        const auto written = records_in(database.get(id));
        const bool kept = std::any_of(written.begin(), written.end(), [&](const auto& other) {
            return other.name == record.name && other.beat == record.beat &&
                   other.state == record.state;
        });
        if (kept) {
            return records;
        }
        thread_local std::mt19937 random(std::random_device{}());
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::uniform_int_distribution<int>(10, 100)(random)));
    }
    throw StoreError("cannot record worker " + record.name + " of step " + std::string(step) +
                     ": its workers doc keeps changing under us");
}

WorkerLiveness liveness(const WorkerRecord& record, std::chrono::system_clock::time_point now,
                        std::string_view this_host)
{
    if (record.state == "stopped") {
        return WorkerLiveness::stopped;
    }
    if (record.host == this_host && pid_is_gone(record.pid)) {
        return WorkerLiveness::dead;
    }
    const auto last = parse_iso8601(record.beat);
    if (!last) {
        return WorkerLiveness::dead;
    }
    const std::chrono::duration<double> silent = now - *last;
    return silent.count() > beats_before_dead * std::max(record.beat_every_s, 1.0)
               ? WorkerLiveness::dead
               : WorkerLiveness::live;
}

JoinDecision decide_join(const WorkerRecord& me, const std::vector<WorkerRecord>& others)
{
    JoinDecision decision;
    if (others.empty()) {
        return decision;
    }
    const std::string them = others.size() == 1 ? "its live worker " + others.front().name
                                                : "its live workers " + names_of(others);
    const bool all_leased = std::all_of(
        others.begin(), others.end(), [](const auto& other) { return other.lease_s.has_value(); });
    if (!me.shard.empty()) {
        // Shares split the step only when every worker owns a share of one count, each its own.
        const auto count_of = [](const std::string& shard) {
            return shard.substr(shard.find('/') + 1);
        };
        std::set<std::string> taken;
        for (const auto& other : others) {
            if (other.shard.empty() || count_of(other.shard) != count_of(me.shard) ||
                other.shard == me.shard || !taken.insert(other.shard).second) {
                decision.refused = true;
                decision.why =
                    "--shard " + me.shard + " does not split the step with " + them + " (" +
                    (other.shard.empty()       ? other.name + " has no --shard"
                     : other.shard == me.shard ? other.name + " has the same share"
                                               : other.name + " has --shard " + other.shard) +
                    "): give each worker its own share K/N of one N";
                return decision;
            }
        }
        return decision;
    }
    if (me.lease_s) {
        if (!all_leased) {
            decision.refused = true;
            decision.why = "--lease claims only keep out workers that claim too, and " + them +
                           (others.size() == 1 ? " runs" : " run") + " without --lease: stop " +
                           (others.size() == 1 ? "it" : "them") +
                           ", or start every worker with --lease";
        }
        return decision;
    }
    if (all_leased) {
        double longest = 0;
        for (const auto& other : others) {
            longest = std::max(longest, *other.lease_s);
        }
        decision.lease_s = longest;
        decision.why = "joins " + them + (others.size() == 1 ? ", which claims" : ", which claim") +
                       " with --lease: this worker claims too, with a " +
                       std::to_string(static_cast<long>(longest)) + " s lease";
        return decision;
    }
    decision.refused = true;
    decision.why = "the step has " + them +
                   ", and two workers without --lease or --shard would each run every doc: start "
                   "every worker with --lease S (claims) or --shard K/N (shares), or stop " +
                   (others.size() == 1 ? "it" : "them") + " first";
    return decision;
}

std::string this_host_name()
{
    char host[256] = "unknown-host";
    ::gethostname(host, sizeof host - 1);
    return host;
}

} // namespace edw
