// PipelineStatus: grouped queries on the steps view, put together per step.
#include "edw/status/pipeline_status.hpp"

#include <edw/status/state_counts.hpp>
#include <edw/util/error.hpp>
#include <edw/util/utc_time.hpp>

#include <algorithm>
#include <set>

namespace edw {
namespace {

// The text a position is known by in reports: "0" for new docs, else the step's name.
std::string position_name(const nlohmann::json& position)
{
    return position.is_string() ? position.get<std::string>() : position.dump();
}

// The grouped rows under ["<kind>", ...] (or from..to), reduced to `level` key parts.
// One status is one state of the database: the first query brings the index up to date, and
// the others read it as it is (`update=false`, from the same shard copies on a cluster), so that
// writes made meanwhile cannot show in one count and not in another.
enum class IndexRead { update, as_is };

ViewQuery steps_query(IndexRead read)
{
    ViewQuery query;
    query.update = read == IndexRead::update;
    query.stable = read == IndexRead::as_is;
    return query;
}

ViewResult grouped(Database& database, const std::string& design, const std::string& kind,
                   int level, const nlohmann::json& from = nullptr,
                   const nlohmann::json& to = nullptr, IndexRead read = IndexRead::as_is)
{
    ViewQuery query = steps_query(read);
    query.startkey = from.is_null() ? nlohmann::json::array({kind}) : from;
    query.endkey = to.is_null() ? nlohmann::json::array({kind, nlohmann::json::object()}) : to;
    query.group_level = level;
    return database.query(design, steps_view, query);
}

std::uint64_t count_of(const ViewRow& row)
{
    return row.value.is_number_integer() && row.value.get<std::int64_t>() > 0
               ? row.value.get<std::uint64_t>()
               : 0;
}

// The design doc as read (`doc`), or a ConfigError saying how to get one with a steps view.
nlohmann::json pipeline_design_doc(Database& database, const std::string& design,
                                   std::optional<nlohmann::json> doc)
{
    const std::string push =
        ": push the pipeline's design doc (edw design push design-docs/" + design + ")";
    if (!doc) {
        throw ConfigError("no design doc _design/" + design + " (nor _design/" + states_design +
                          ") in " + database.describe() + push);
    }
    if (!doc->contains("views") || !(*doc)["views"].contains(steps_view)) {
        throw ConfigError("_design/" + design + " in " + database.describe() + " has no view '" +
                          steps_view + "', which edw status reads" + push);
    }
    return *doc;
}

StepStatus step_status(PipelineStep step, bool declared)
{
    StepStatus status;
    status.step = std::move(step);
    status.declared = declared;
    return status;
}

// Declared steps first, then every step seen in process entries, failures or claims. With a
// declaration, those others are retired: a step left out of pipeline.json takes no doc, however
// many it once did, so it is shown apart rather than as part of the pipeline. Without one, each
// follows the step most of its docs did before it.
std::vector<StepStatus> steps_of(const nlohmann::json& design_doc, const ViewResult& done_edges,
                                 const std::set<std::string>& other_names)
{
    std::vector<StepStatus> steps;
    std::set<std::string> known;
    const bool declared = design_doc.contains(pipeline_field);
    if (declared) {
        for (auto& step : parse_pipeline(design_doc[pipeline_field])) {
            known.insert(step.name);
            steps.push_back(step_status(std::move(step), true));
        }
    }
    std::map<std::string, std::pair<nlohmann::json, std::uint64_t>> seen; // name: (after, count)
    std::map<std::string, std::uint64_t> done;
    for (const auto& row : done_edges.rows) {
        if (row.key.size() < 3 || !row.key[1].is_string()) {
            continue;
        }
        const auto name = row.key[1].get<std::string>();
        done[name] += count_of(row);
        auto& best = seen[name];
        if (count_of(row) > best.second && row.key[2] != row.key[1]) {
            best = {row.key[2], count_of(row)};
        }
    }
    const auto add_seen = [&](const std::string& name, const nlohmann::json& after) {
        if (known.insert(name).second) {
            auto step = step_status({.name = name, .after = declared ? nullptr : after}, false);
            step.retired = declared;
            steps.push_back(std::move(step));
        }
    };
    for (const auto& [name, after] : seen) {
        add_seen(name, after.first);
    }
    for (const auto& name : other_names) {
        add_seen(name, nullptr); // seen only in failures or claims: where it starts is unknown
    }
    for (auto& step : steps) {
        step.done = done[step.step.name];
    }
    return steps;
}

// The first minute (as "YYYY-MM-DDTHH:MM") of the throughput window ending at `now`.
std::string minute_of(std::chrono::system_clock::time_point time)
{
    return iso8601(time).substr(0, 16);
}

// The done rows of one step after one previous step in one minute.
struct MinuteRow {
    nlohmann::json previous;
    nlohmann::json minute; ///< "YYYY-MM-DDTHH:MM"
};

// How many rows of one minute are read to find the first doc done in it: rows of one minute come
// in doc id order, not in time order, and a minute of thousands of docs has a first one among
// any thousand of them to well within its minute.
constexpr std::uint64_t most_rows_for_first_done = 1000;

// Where `step`'s recent rate starts (see StepStatus::recent_since), given its done rows in the
// rate window (`rows`) and the throughput window's first minute (`first_time`).
std::optional<std::chrono::system_clock::time_point>
recent_start(Database& database, const std::string& design, const StepStatus& step,
             const std::vector<MinuteRow>& rows, std::chrono::system_clock::time_point first_time,
             std::chrono::system_clock::time_point now)
{
    constexpr auto rate_first = static_cast<std::size_t>(throughput_minutes - rate_minutes);
    const auto window_start = first_time + std::chrono::minutes(rate_first);
    // Busy before the window: the docs in it were done over all of it.
    if (step.done_per_minute[rate_first - 1] > 0) {
        return window_start;
    }
    const auto first = std::min_element(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
        return a.minute.template get<std::string>() < b.minute.template get<std::string>();
    });
    if (first == rows.end()) {
        return std::nullopt;
    }
    const auto minute = first->minute.get<std::string>();
    const auto minute_start = parse_iso8601(minute + ":00.000Z").value_or(window_start);
    // The rows' values are the entries' dates (a design doc pushed before they were has null
    // there: the start of the minute is then the best known).
    std::optional<std::chrono::system_clock::time_point> earliest;
    for (const auto& row : rows) {
        if (row.minute != first->minute) {
            continue;
        }
        ViewQuery query = steps_query(IndexRead::as_is);
        query.startkey = nlohmann::json::array({"done", step.step.name, row.previous, minute});
        query.endkey = nlohmann::json::array(
            {"done", step.step.name, row.previous, minute, nlohmann::json::object()});
        query.reduce = false;
        query.limit = most_rows_for_first_done;
        for (const auto& done : database.query(design, steps_view, query).rows) {
            const auto date = done.value.is_string() ? parse_iso8601(done.value.get<std::string>())
                                                     : std::nullopt;
            if (date && (!earliest || *date < *earliest)) {
                earliest = date;
            }
        }
    }
    // A date of another form, or from a clock ahead of this one, stays within what is known.
    return std::clamp(earliest.value_or(minute_start), minute_start, std::max(minute_start, now));
}

} // namespace

std::vector<PipelineStep> parse_pipeline(const nlohmann::json& declaration)
{
    const std::string failure = std::string(pipeline_field) + ": ";
    if (!declaration.is_array()) {
        throw ConfigError(failure + "expected an array of step names or {name, after} objects");
    }
    std::vector<PipelineStep> steps;
    std::set<std::string> names;
    nlohmann::json previous = 0;
    for (const auto& item : declaration) {
        PipelineStep step;
        if (item.is_string()) {
            step = {.name = item.get<std::string>(), .after = previous};
        } else if (item.is_object() && item.contains("name") && item["name"].is_string()) {
            step.name = item["name"].get<std::string>();
            step.after = item.value("after", previous);
            if (!(step.after.is_string() || step.after == 0)) {
                throw ConfigError(failure + "step " + step.name +
                                  ": after must be a step name or 0 (new documents), not " +
                                  step.after.dump());
            }
        } else {
            throw ConfigError(failure + "item " + item.dump() +
                              " is neither a step name nor an object with a name");
        }
        if (step.name.empty()) {
            throw ConfigError(failure + "a step name is empty");
        }
        if (!names.insert(step.name).second) {
            throw ConfigError(failure + "step " + step.name + " is declared twice");
        }
        previous = step.name;
        steps.push_back(std::move(step));
    }
    // Each step has one `after`, so following them from a step either leaves the declared steps
    // or comes back to it: a loop, whose docs would go round it for ever.
    std::map<std::string, nlohmann::json> after_of;
    for (const auto& step : steps) {
        after_of[step.name] = step.after;
    }
    for (const auto& step : steps) {
        std::string path = step.name;
        auto next = step.after;
        for (std::size_t hops = 0; next.is_string() && hops < steps.size(); ++hops) {
            const auto name = next.get<std::string>();
            path += " -> " + name;
            if (name == step.name) {
                throw ConfigError(failure + "steps follow each other in a loop: " + path);
            }
            const auto found = after_of.find(name);
            next = found == after_of.end() ? nlohmann::json() : found->second;
        }
    }
    return steps;
}

std::uint64_t StepStatus::in_progress_total() const
{
    std::uint64_t total = 0;
    for (const auto& worker : in_progress) {
        total += worker.docs;
    }
    return total;
}

std::uint64_t StepStatus::done_in_last(int minutes) const
{
    std::uint64_t total = 0;
    const auto count = std::min<std::size_t>(static_cast<std::size_t>(std::max(minutes, 0)),
                                             done_per_minute.size());
    for (std::size_t i = done_per_minute.size() - count; i < done_per_minute.size(); ++i) {
        total += done_per_minute[i];
    }
    return total;
}

RecentRate StepStatus::recent_rate(std::chrono::system_clock::time_point now) const
{
    RecentRate rate{.docs = done_in_last(rate_minutes)};
    if (rate.docs == 0 || !recent_since) {
        rate.seconds = std::chrono::duration<double>(std::chrono::minutes(rate_minutes)).count();
        return rate;
    }
    rate.seconds = std::max(std::chrono::duration<double>(now - *recent_since).count(),
                            std::chrono::duration<double>(shortest_rate_span).count());
    return rate;
}

PipelineStatus read_pipeline_status(Database& database, const std::string& design,
                                    std::chrono::system_clock::time_point now)
{
    PipelineStatus status;
    status.database = database.describe();
    status.time = iso8601(now);
    // A workflow of states alone (no process array) has only _design/states.
    auto pipeline_doc = database.get("_design/" + design);
    if (auto states = read_state_counts(database)) {
        status.states = std::move(*states);
        if (!pipeline_doc) {
            return status;
        }
    }
    const auto design_doc = pipeline_design_doc(database, design, std::move(pipeline_doc));

    const auto done_edges =
        grouped(database, design, "done", 3, nullptr, nullptr, IndexRead::update);
    const auto positions = grouped(database, design, "waiting", 2);
    const auto failed = grouped(database, design, "failed", 2);
    const auto retrying = grouped(database, design, "retrying", 2);
    ViewQuery claims_query = steps_query(IndexRead::as_is);
    claims_query.startkey = nlohmann::json::array({"claimed"});
    claims_query.endkey = nlohmann::json::array({"claimed", nlohmann::json::object()});
    claims_query.reduce = false;
    const auto claims = database.query(design, steps_view, claims_query);
    const auto window_start = now - std::chrono::minutes(throughput_minutes - 1);
    std::set<std::string> other_names;
    for (const auto* rows : {&failed, &retrying, &claims}) {
        for (const auto& row : rows->rows) {
            if (row.key.size() >= 2 && row.key[1].is_string()) {
                other_names.insert(row.key[1].get<std::string>());
            }
        }
    }
    status.steps = steps_of(design_doc, done_edges, other_names);

    std::map<std::string, StepStatus*> by_name;
    for (auto& step : status.steps) {
        by_name[step.step.name] = &step;
        step.done_per_minute.assign(throughput_minutes, 0);
    }
    const auto step_named = [&](const nlohmann::json& name) -> StepStatus* {
        const auto found = name.is_string() ? by_name.find(name.get<std::string>()) : by_name.end();
        return found == by_name.end() ? nullptr : found->second;
    };
    for (const auto& row : failed.rows) {
        if (auto* step = row.key.size() >= 2 ? step_named(row.key[1]) : nullptr) {
            step->failed += count_of(row);
        }
    }
    for (const auto& row : retrying.rows) {
        if (auto* step = row.key.size() >= 2 ? step_named(row.key[1]) : nullptr) {
            step->retrying += count_of(row);
        }
    }
    const std::string now_text = iso8601(now);
    for (const auto& row : claims.rows) {
        auto* step = row.key.size() >= 3 ? step_named(row.key[1]) : nullptr;
        // An expired claim is a worker that died; the doc is waiting again.
        if (step == nullptr || !row.value.is_string() || row.value.get<std::string>() <= now_text) {
            continue;
        }
        const std::string worker = row.key[2].is_string() ? row.key[2].get<std::string>() : "";
        auto found =
            std::find_if(step->in_progress.begin(), step->in_progress.end(),
                         [&](const WorkerClaims& claims_of) { return claims_of.worker == worker; });
        if (found == step->in_progress.end()) {
            step->in_progress.push_back({.worker = worker});
            found = std::prev(step->in_progress.end());
        }
        ++found->docs;
    }
    // Throughput: per step and the step before it, the rows of the last hour, grouped by minute.
    const std::string first_minute = minute_of(window_start);
    const auto first_time = parse_iso8601(first_minute + ":00.000Z");
    constexpr auto rate_first = throughput_minutes - rate_minutes; // the rate window's first minute
    std::map<StepStatus*, std::vector<MinuteRow>> recent_rows;
    for (const auto& edge : done_edges.rows) {
        auto* step = edge.key.size() >= 3 ? step_named(edge.key[1]) : nullptr;
        if (step == nullptr || !first_time) {
            continue;
        }
        const auto per_minute = grouped(
            database, design, "done", 4,
            nlohmann::json::array({"done", edge.key[1], edge.key[2], first_minute}),
            nlohmann::json::array({"done", edge.key[1], edge.key[2], nlohmann::json::object()}));
        for (const auto& row : per_minute.rows) {
            const auto minute = row.key.size() >= 4 && row.key[3].is_string()
                                    ? parse_iso8601(row.key[3].get<std::string>() + ":00.000Z")
                                    : std::nullopt;
            if (!minute) {
                continue;
            }
            const auto index =
                std::chrono::duration_cast<std::chrono::minutes>(*minute - *first_time).count();
            if (index >= 0 && index < throughput_minutes) {
                step->done_per_minute[static_cast<std::size_t>(index)] += count_of(row);
            }
            if (index >= rate_first && index < throughput_minutes && count_of(row) > 0) {
                recent_rows[step].push_back({.previous = edge.key[2], .minute = row.key[3]});
            }
        }
    }
    for (auto& [step, rows] : recent_rows) {
        step->recent_since = recent_start(database, design, *step, rows, *first_time, now);
    }

    std::set<std::string> taken; // positions some step takes docs from
    for (const auto& row : positions.rows) {
        if (row.key.size() >= 2) {
            status.positions[position_name(row.key[1])] += count_of(row);
        }
    }
    const std::string host = this_host_name();
    for (auto& step : status.steps) {
        step.pause = read_pause(database, step.step.name);
        for (auto& record : read_workers(database, step.step.name)) {
            const auto liveness = edw::liveness(record, now, host);
            step.worker_records.push_back({std::move(record), liveness});
        }
        if (step.step.after.is_null()) {
            continue; // a step seen only in failures or claims: where it starts is unknown
        }
        const auto position = position_name(step.step.after);
        taken.insert(position);
        const auto found = status.positions.find(position);
        const std::uint64_t at = found == status.positions.end() ? 0 : found->second;
        // Claimed and retrying docs sit at the same position; they are counted apart.
        const std::uint64_t apart = step.in_progress_total() + step.retrying;
        step.waiting = at > apart ? at - apart : 0;
        if (at == 0) {
            continue;
        }
        ViewQuery oldest = steps_query(IndexRead::as_is);
        // Times are strings, which collate after null: the oldest known time comes first.
        oldest.startkey = nlohmann::json::array({"waiting", step.step.after, ""});
        oldest.endkey =
            nlohmann::json::array({"waiting", step.step.after, nlohmann::json::object()});
        oldest.reduce = false;
        oldest.limit = 1;
        const auto first = database.query(design, steps_view, oldest);
        if (!first.rows.empty() && first.rows[0].key.size() >= 3 &&
            first.rows[0].key[2].is_string()) {
            const auto since = first.rows[0].key[2].get<std::string>();
            step.oldest_waiting_since = since;
            if (const auto time = parse_iso8601(since)) {
                step.oldest_waiting_seconds =
                    std::max(0.0, std::chrono::duration<double>(now - *time).count());
            }
        }
    }
    // Past the end: after a step of the pipeline that none of its steps follows. After a retired
    // step or any other name, the doc is stranded: a step appended to the pipeline makes the docs
    // at its predecessor wait for it, and a step dropped from it leaves its docs behind.
    std::set<std::string> placed;
    for (const auto& step : status.steps) {
        if (!step.step.after.is_null()) {
            placed.insert(step.step.name);
        }
    }
    for (const auto& [position, docs] : status.positions) {
        if (taken.contains(position)) {
            continue;
        }
        if (placed.contains(position)) {
            status.finished += docs;
            status.finished_at[position] += docs;
        } else {
            status.stranded[position] += docs;
        }
    }
    status.reruns = read_reruns(database, design, now);
    for (const auto& row : grouped(database, design, "unroutable", 2).rows) {
        if (row.key.size() >= 2 && row.key[1].is_string()) {
            status.unroutable[row.key[1].get<std::string>()] += count_of(row);
        }
    }
    return status;
}

std::string WorkerSeen::state() const
{
    switch (liveness) {
    case WorkerLiveness::live:
        // "stopping": it took its last doc and finishes the callbacks running.
        return record.state == "paused" || record.state == "stopping" ? record.state : "running";
    case WorkerLiveness::stopped:
        return "stopped";
    case WorkerLiveness::dead:
        break;
    }
    return "dead";
}

const std::string& WorkerSeen::since() const
{
    return liveness == WorkerLiveness::live ? record.started : record.beat;
}

namespace {

nlohmann::json worker_records_json(const StepStatus& step)
{
    auto list = nlohmann::json::array();
    for (const auto& seen : step.worker_records) {
        const auto& record = seen.record;
        list.push_back(
            {{"name", record.name},
             {"host", record.host},
             {"pid", record.pid},
             {"listener", record.listener},
             {"state", seen.state()},
             {"since", seen.since()},
             {"started", record.started},
             {"last_beat", record.beat},
             {"done", record.done},
             {"in_hand", record.in_hand},
             {"lease_s", record.lease_s ? nlohmann::json(*record.lease_s) : nlohmann::json()},
             {"shard", record.shard.empty() ? nlohmann::json() : nlohmann::json(record.shard)}});
    }
    return list;
}

} // namespace

nlohmann::json to_json(const PipelineStatus& status)
{
    const auto now = parse_iso8601(status.time).value_or(std::chrono::system_clock::now());
    nlohmann::json reruns = nlohmann::json::array();
    for (const auto& rerun : status.reruns) {
        reruns.push_back(to_json(rerun));
    }
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& step : status.steps) {
        nlohmann::json workers = nlohmann::json::array();
        for (const auto& worker : step.in_progress) {
            workers.push_back({{"worker", worker.worker}, {"docs", worker.docs}});
        }
        const auto optional = [](const auto& value) {
            return value ? nlohmann::json(*value) : nlohmann::json();
        };
        const auto rate = step.recent_rate(now);
        steps.push_back({{"name", step.step.name},
                         {"after", step.step.after},
                         {"declared", step.declared},
                         {"retired", step.retired},
                         {"waiting", step.waiting},
                         {"in_progress", step.in_progress_total()},
                         {"workers", workers},
                         {"retrying", step.retrying},
                         {"failed", step.failed},
                         {"done", step.done},
                         {"oldest_waiting_since", optional(step.oldest_waiting_since)},
                         {"oldest_waiting_seconds", optional(step.oldest_waiting_seconds)},
                         {"done_last_5_min", step.done_in_last(5)},
                         {"done_last_60_min", step.done_in_last(throughput_minutes)},
                         {"rate",
                          {{"docs", rate.docs},
                           {"seconds", rate.seconds},
                           {"per_second", rate.per_second()},
                           {"since", step.recent_since ? nlohmann::json(iso8601(*step.recent_since))
                                                       : nlohmann::json()}}},
                         {"done_per_minute", step.done_per_minute},
                         {"worker_records", worker_records_json(step)},
                         {"paused", step.pause ? nlohmann::json{{"since", step.pause->since},
                                                                {"by", step.pause->by},
                                                                {"reason", step.pause->reason}}
                                               : nlohmann::json(false)}});
    }
    return {{"database", status.database},
            {"time", status.time},
            {"steps", steps},
            {"positions", status.positions},
            {"finished", status.finished},
            {"finished_at", status.finished_at},
            {"stranded", status.stranded},
            {"unroutable", status.unroutable},
            {"states", to_json(status.states)},
            {"reruns", reruns}};
}

DocPage list_docs(Database& database, const std::string& design, const PipelineStep& step,
                  DocList list, std::uint64_t skip, std::uint64_t limit)
{
    const nlohmann::json prefix =
        list == DocList::waiting ? nlohmann::json::array({"waiting", step.after})
        : list == DocList::unroutable
            ? nlohmann::json::array({"unroutable"})
            : nlohmann::json::array({list == DocList::failed ? "failed" : "retrying", step.name});
    auto end = prefix;
    end.push_back(nlohmann::json::object());

    DocPage page;
    ViewQuery count;
    count.startkey = prefix;
    count.endkey = end;
    count.group_level = 2;
    for (const auto& row : database.query(design, steps_view, count).rows) {
        page.total += count_of(row);
    }
    ViewQuery rows;
    rows.startkey = prefix;
    rows.endkey = end;
    rows.reduce = false;
    rows.skip = skip;
    rows.limit = limit;
    for (auto& row : database.query(design, steps_view, rows).rows) {
        page.rows.push_back({.id = row.id,
                             .since = row.key.size() >= 3 ? row.key[2] : nlohmann::json(),
                             .detail = list == DocList::unroutable && row.key.size() >= 2
                                           ? row.key[1]
                                           : row.value});
    }
    return page;
}

nlohmann::json to_json(const DocPage& page)
{
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : page.rows) {
        rows.push_back({{"id", row.id}, {"since", row.since}, {"detail", row.detail}});
    }
    return {{"total", page.total}, {"rows", rows}};
}

} // namespace edw
