// edw checkpoint list|show|set|reset: where each listener's feed stands, and moving it, as
// Kafka's consumer-group offset tools do. A listener's checkpoint is the `_local` doc
// `_local/edw-checkpoint-<name>`; it is read at start, so it is moved only while no worker of
// that listener runs (a running one would write its own position over it).
#include "command.hpp"
#include "pipeline_steps.hpp"

#include <edw/app/open_database.hpp>
#include <edw/runtime/step_runner.hpp>
#include <edw/runtime/step_workers.hpp>
#include <edw/util/error.hpp>
#include <edw/util/exit_status.hpp>
#include <edw/util/utc_time.hpp>

#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

namespace edw::tools {
namespace {

struct CheckpointOptions {
    std::vector<std::string> names; ///< list: those to list.
    std::string name;               ///< show, set, reset: the one.
    std::string seq;
    bool json = false;
    bool force = false;
};

/// Discards the rows: only the end of a feed (its pending count) is wanted.
class CountOnly : public ChangesHandler {
public:
    void on_change(Change&&) override { ++rows; }
    std::uint64_t rows = 0;
};

std::vector<std::string> split(const std::string& text, char separator)
{
    std::vector<std::string> parts;
    std::stringstream stream(text);
    for (std::string part; std::getline(stream, part, separator);) {
        if (!part.empty()) {
            parts.push_back(part);
        }
    }
    return parts;
}

/// The steps a checkpoint doc names (several for a shared feed), or, when it names none (set
/// by this tool before the listener ever saved it), the pipeline's.
std::vector<std::string> steps_of(const nlohmann::json& checkpoint,
                                  const std::vector<std::string>& pipeline_steps)
{
    auto named = split(checkpoint.value("step", ""), ',');
    return named.empty() ? pipeline_steps : named;
}

/// The worker records of the steps, each step's read once however many listeners ask.
class StepRecords {
public:
    explicit StepRecords(Database& database)
        : m_database(database)
    {}
    const std::vector<WorkerRecord>& of(const std::string& step)
    {
        const auto found = m_read.find(step);
        return found != m_read.end()
                   ? found->second
                   : m_read.emplace(step, read_workers(m_database, step)).first->second;
    }

private:
    Database& m_database;
    std::map<std::string, std::vector<WorkerRecord>> m_read;
};

/// The live workers of listener `name` on `steps`, from their records, as "host:pid".
std::vector<std::string> live_workers(StepRecords& records, const std::string& name,
                                      const std::vector<std::string>& steps)
{
    std::vector<std::string> live;
    const auto now = std::chrono::system_clock::now();
    const std::string host = this_host_name();
    for (const auto& step : steps) {
        for (const auto& record : records.of(step)) {
            if (record.listener == name && liveness(record, now, host) == WorkerLiveness::live) {
                live.push_back(record.host + ":" + std::to_string(record.pid));
            }
        }
    }
    return live;
}

/// How many changes the feed holds after `seq`, where the server says (CouchDB 2+ does).
std::optional<std::uint64_t> changes_after(Database& database, const Seq& seq)
{
    ChangesQuery query;
    query.since = seq;
    query.limit = 1;
    CountOnly counted;
    try {
        const auto end = database.changes(query, counted);
        if (end && end->pending) {
            return counted.rows + *end->pending;
        }
    } catch (const Error&) {
        // A seq the server no longer knows (or never did): shown without the count.
    }
    return std::nullopt;
}

nlohmann::json describe(Database& database, StepRecords& records, const std::string& name,
                        const std::vector<std::string>& pipeline_steps)
{
    nlohmann::json out = {{"name", name}, {"id", StepRunner::checkpoint_id(name)}};
    const auto doc = database.get(StepRunner::checkpoint_id(name));
    std::vector<std::string> steps = pipeline_steps;
    if (doc) {
        out["seq"] = doc->value("seq", nlohmann::json());
        out["steps"] = doc->value("step", "");
        out["updated"] = doc->value("updated", "");
        steps = steps_of(*doc, pipeline_steps);
        if (doc->contains("seq")) {
            const auto behind = changes_after(database, Seq::from_json((*doc)["seq"]));
            out["changes_after"] = behind ? nlohmann::json(*behind) : nlohmann::json();
        }
    } else {
        out["seq"] = nullptr;
    }
    out["live_workers"] = live_workers(records, name, steps);
    return out;
}

/// The listeners the step records name, and those asked for by name.
std::vector<std::string> listener_names(StepRecords& records, const std::vector<std::string>& steps)
{
    std::set<std::string> names;
    for (const auto& step : steps) {
        for (const auto& record : records.of(step)) {
            if (!record.listener.empty()) {
                names.insert(record.listener);
            }
        }
    }
    return {names.begin(), names.end()};
}

std::string shown_seq(const nlohmann::json& seq)
{
    if (seq.is_null()) {
        return "(none)";
    }
    std::string text = seq.is_string() ? seq.get<std::string>() : seq.dump();
    return text.size() > 24 ? text.substr(0, 21) + "..." : text;
}

int list_checkpoints(const GlobalOptions& global, const CheckpointOptions& options)
{
    const auto settings = load_tool_settings(global);
    const auto database = open_database(settings);
    const auto steps = declared_steps(*database, settings.design);
    StepRecords records(*database);
    const auto names = options.names.empty() ? listener_names(records, steps) : options.names;
    nlohmann::json all = nlohmann::json::array();
    for (const auto& name : names) {
        all.push_back(describe(*database, records, name, steps));
    }
    if (options.json) {
        std::cout << all.dump() << "\n";
        return exit_ok;
    }
    if (all.empty()) {
        std::cout << "no listener found in the worker records of the steps of _design/"
                  << settings.design << " (name them: edw checkpoint list NAME...)\n";
        return exit_ok;
    }
    std::cout << std::left << std::setw(28) << "LISTENER" << std::setw(27) << "SEQ" << std::setw(10)
              << "BEHIND" << std::setw(26) << "UPDATED"
              << "LIVE WORKERS\n";
    for (const auto& one : all) {
        const auto& behind = one.value("changes_after", nlohmann::json());
        std::cout << std::setw(28) << one["name"].get<std::string>() << std::setw(27)
                  << shown_seq(one["seq"]) << std::setw(10)
                  << (behind.is_number() ? std::to_string(behind.get<std::uint64_t>()) : "?")
                  << std::setw(26) << one.value("updated", "-") << one["live_workers"].size()
                  << "\n";
    }
    return exit_ok;
}

int show_checkpoint(const GlobalOptions& global, const CheckpointOptions& options)
{
    const auto settings = load_tool_settings(global);
    const auto database = open_database(settings);
    const auto steps = declared_steps(*database, settings.design);
    StepRecords records(*database);
    const auto one = describe(*database, records, options.name, steps);
    if (options.json) {
        std::cout << one.dump() << "\n";
        return exit_ok;
    }
    std::cout << "listener:     " << one["name"].get<std::string>() << "\n"
              << "doc:          " << one["id"].get<std::string>() << "\n";
    if (one["seq"].is_null()) {
        std::cout << "seq:          none (its next start catches up, then follows from then)\n";
    } else {
        const auto& behind = one.value("changes_after", nlohmann::json());
        std::cout << "seq:          "
                  << (one["seq"].is_string() ? one["seq"].get<std::string>() : one["seq"].dump())
                  << "\n"
                  << "steps:        " << one.value("steps", "") << "\n"
                  << "updated:      " << one.value("updated", "") << "\n"
                  << "changes after: "
                  << (behind.is_number() ? std::to_string(behind.get<std::uint64_t>())
                                         : "? (the server does not say)")
                  << "\n";
    }
    std::cout << "live workers: " << one["live_workers"].size() << "\n";
    return exit_ok;
}

// A running listener saves its own position over any other: it must be stopped first. Returns
// why not, or nothing.
std::optional<std::string> running_workers(Database& database, const std::string& name,
                                           const std::vector<std::string>& steps)
{
    StepRecords records(database);
    const auto live = live_workers(records, name, steps);
    if (live.empty()) {
        return std::nullopt;
    }
    std::string where;
    for (const auto& worker : live) {
        where += (where.empty() ? "" : ", ") + worker;
    }
    return "listener " + name + " is running (" + where +
           "): it would save its own position over this one. Stop it first, or give --force";
}

Seq parse_seq(const std::string& text, Database& database)
{
    if (text == "now") {
        return Seq::from_json(database.info().value("update_seq", nlohmann::json()));
    }
    if (text == "0") {
        return Seq::from_number(0);
    }
    // A number or a JSON value as written; anything else is a string seq (CouchDB 2+).
    try {
        return Seq::from_json(nlohmann::json::parse(text));
    } catch (const nlohmann::json::exception&) {
        return Seq::from_string(text);
    }
}

// On the embedded store a listener reads the whole feed from its start each time it starts
// (its catch-up, cheaper there than the view): the checkpoint records how far it got, and is
// not where it starts. So are steps that take docs by a selector or predicate, on any store.
void say_if_unused(Database& database)
{
    if (database.is_local()) {
        std::cout << "note: on the embedded store a listener reads the whole feed from its start "
                     "each time it starts, whatever its checkpoint says\n";
    }
}

// A seq the server does not take (a typo, a seq of another database) would stop the listener
// at its next start: asked of the feed first. Returns why it is refused, or nothing.
std::optional<std::string> unknown_seq(Database& database, const Seq& seq)
{
    ChangesQuery query;
    query.since = seq;
    query.limit = 1;
    CountOnly counted;
    try {
        database.changes(query, counted);
    } catch (const HttpError& error) {
        if (error.status() >= 500) {
            throw;
        }
        return "the feed does not take seq " + seq.json() + ": " + error.what();
    } catch (const JsonError& error) {
        return "the feed does not take seq " + seq.json() + ": " + error.what();
    }
    return std::nullopt;
}

int set_checkpoint(const GlobalOptions& global, const CheckpointOptions& options, bool reset)
{
    const auto settings = load_tool_settings(global);
    const auto database = open_database(settings);
    const std::string& name = options.name;
    const std::string id = StepRunner::checkpoint_id(name);
    const auto current = database->get(id);
    auto steps = declared_steps(*database, settings.design);
    if (current) {
        steps = steps_of(*current, steps);
    }
    if (const auto why = running_workers(*database, name, steps); why && !options.force) {
        std::cerr << "edw: " << *why << "\n";
        return exit_locked;
    }
    if (reset) {
        if (!current) {
            std::cout << "listener " << name << " has no checkpoint\n";
            return exit_ok;
        }
        database->remove(id, current->value("_rev", ""));
        std::cout << "removed the checkpoint of listener " << name
                  << ": its next start catches up on the waiting docs, then follows the feed "
                     "from then\n";
        say_if_unused(*database);
        return exit_ok;
    }
    const Seq seq = parse_seq(options.seq, *database);
    if (const auto why = unknown_seq(*database, seq)) {
        std::cerr << "edw: " << *why << "; the checkpoint of listener " << name
                  << " is left as it was\n";
        return exit_usage;
    }
    nlohmann::json doc = {{"_id", id},
                          {"seq", seq.to_json()},
                          {"step", current ? current->value("step", "") : std::string()},
                          {"updated", utc_now_iso8601()},
                          {"set_by", "edw checkpoint set"}};
    if (current) {
        doc["_rev"] = current->value("_rev", "");
    }
    const auto saved = database->save(doc);
    if (saved.is_conflict()) {
        std::cerr << "edw: the checkpoint of listener " << name
                  << " changed while it was being set; run the command again\n";
        return exit_failure;
    }
    std::cout << "set the checkpoint of listener " << name << " to " << shown_seq(seq.to_json())
              << ": its next start follows the feed from there\n";
    say_if_unused(*database);
    return exit_ok;
}

} // namespace

void add_checkpoint_commands(CLI::App& app, const GlobalOptions& global, Action& action)
{
    auto* checkpoint = app.add_subcommand(
        "checkpoint", "Where each listener's changes feed stands (_local/edw-checkpoint-NAME), "
                      "and moving it while the listener is stopped");
    checkpoint->require_subcommand(1);
    auto options = std::make_shared<CheckpointOptions>();

    auto* list = checkpoint->add_subcommand(
        "list", "The listeners the steps' worker records name (or those given), with their "
                "position, the changes after it where the server says, and live workers");
    list->fallthrough();
    list->add_option("NAME", options->names, "Listeners to list (default: all found)");
    list->add_flag("--json", options->json, "One JSON array");
    list->callback([&action, &global, options] {
        action = [&global, options] { return list_checkpoints(global, *options); };
    });

    auto* show = checkpoint->add_subcommand("show", "One listener's checkpoint");
    show->fallthrough();
    show->add_option("NAME", options->name, "The listener (its --name)")->required();
    show->add_flag("--json", options->json, "One JSON object");
    show->callback([&action, &global, options] {
        action = [&global, options] { return show_checkpoint(global, *options); };
    });

    auto* set = checkpoint->add_subcommand(
        "set", "Move a stopped listener's checkpoint: it follows the feed from SEQ at its next "
               "start (docs waiting at its steps are caught up on either way)");
    set->fallthrough();
    set->add_option("NAME", options->name, "The listener (its --name)")->required();
    set->add_option("SEQ", options->seq,
                    "A seq as the server gave it, 0 (the whole feed again), or now (skip what "
                    "is there)")
        ->required();
    set->add_flag("--force", options->force, "Even while a worker of the listener runs");
    set->callback([&action, &global, options] {
        action = [&global, options] { return set_checkpoint(global, *options, false); };
    });

    auto* reset = checkpoint->add_subcommand(
        "reset", "Remove a stopped listener's checkpoint: its next start catches up on the "
                 "waiting docs, then follows the feed from then");
    reset->fallthrough();
    reset->add_option("NAME", options->name, "The listener (its --name)")->required();
    reset->add_flag("--force", options->force, "Even while a worker of the listener runs");
    reset->callback([&action, &global, options] {
        action = [&global, options] { return set_checkpoint(global, *options, true); };
    });
}

} // namespace edw::tools
