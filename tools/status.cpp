// edw status: a table per step of where the documents are, read from the database alone.
#include "command.hpp"

#include <edw/app/open_database.hpp>
#include <edw/status/pipeline_status.hpp>
#include <edw/util/error.hpp>
#include <edw/util/utc_time.hpp>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

namespace edw::tools {
namespace {

struct StatusOptions {
    bool json = false;
    bool watch = false;
    double interval = 2.0;
};

std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int /*signal*/)
{
    g_interrupted = true;
}

std::string age_text(const std::optional<double>& seconds)
{
    if (!seconds) {
        return "-";
    }
    const auto whole = static_cast<long long>(*seconds);
    std::ostringstream text;
    if (whole >= 86400) {
        text << whole / 86400 << "d " << whole % 86400 / 3600 << "h";
    } else if (whole >= 3600) {
        text << whole / 3600 << "h " << whole % 3600 / 60 << "m";
    } else if (whole >= 60) {
        text << whole / 60 << "m " << whole % 60 << "s";
    } else {
        text << whole << "s";
    }
    return text.str();
}

std::string after_text(const nlohmann::json& after)
{
    return after.is_string() ? after.get<std::string>() : after == 0 ? "(new docs)" : "?";
}

// "12.0/s over 4 s", "10.0/min over 5 min": the docs over the time they took (per second when
// at least one a second), and that time; "-" when none was done.
std::string rate_text(const RecentRate& rate)
{
    if (rate.docs == 0) {
        return "-";
    }
    std::ostringstream text;
    text << std::fixed << std::setprecision(1);
    const double per_second = rate.per_second();
    if (per_second >= 1) {
        text << per_second << "/s";
    } else {
        text << per_second * 60 << "/min";
    }
    text << " over ";
    if (rate.seconds < 90) {
        text << std::lround(rate.seconds) << " s";
    } else {
        const double minutes = rate.seconds / 60;
        text << std::setprecision(std::abs(minutes - std::round(minutes)) < 0.05 ? 0 : 1) << minutes
             << " min";
    }
    return text.str();
}

// One line per state group: "ous (50)   ReadyForProcessing 3   Processing 2 ...".
void write_states(std::ostream& out, const std::vector<StateGroup>& groups)
{
    std::size_t width = 5;
    for (const auto& group : groups) {
        width = std::max(width, group.group.size() + 2);
    }
    out << std::left << std::setw(static_cast<int>(width)) << "group" << std::right << std::setw(7)
        << "docs"
        << "   states\n";
    for (const auto& group : groups) {
        out << std::left << std::setw(static_cast<int>(width)) << group.group << std::right
            << std::setw(7) << group.total() << "  ";
        for (const auto& count : group.states) {
            out << " " << count.state << " " << count.docs << " ";
        }
        out << "\n";
    }
}

// "workers:" then a line per worker record: "  move_to_sps  host:41/listen_newfiles  running
// since 2026-12-07T10:00:00.000Z, 120 done, 4 in hand, lease 30 s".
void write_worker_records(std::ostream& out, const PipelineStatus& status)
{
    std::size_t step_width = 0;
    std::size_t name_width = 0;
    for (const auto& step : status.steps) {
        for (const auto& seen : step.worker_records) {
            step_width = std::max(step_width, step.step.name.size());
            name_width = std::max(name_width, seen.record.name.size());
        }
    }
    if (name_width == 0) {
        return;
    }
    out << "\nworkers:\n";
    for (const auto& step : status.steps) {
        for (const auto& seen : step.worker_records) {
            const auto& record = seen.record;
            out << "  " << std::left << std::setw(static_cast<int>(step_width)) << step.step.name
                << "  " << std::setw(static_cast<int>(name_width)) << record.name << "  "
                << seen.state() << " since " << seen.since() << ", " << record.done << " done";
            if (seen.liveness == WorkerLiveness::live) {
                out << ", " << record.in_hand << " in hand";
            }
            if (record.lease_s) {
                out << ", lease " << *record.lease_s << " s";
            }
            if (!record.shard.empty()) {
                out << ", shard " << record.shard;
            }
            out << (seen.liveness == WorkerLiveness::dead ? " (no heartbeat since)" : "") << "\n";
        }
    }
}

// "reruns:" then two lines per rerun shown: "  <id>  <step>  <state>: 60 sent back, 300 looked at
// of 300; run again 58 of 60" and "    reason ..., by ..., started ...". Nothing without one.
void write_reruns(std::ostream& out, const PipelineStatus& status)
{
    if (status.reruns.empty()) {
        return;
    }
    out << "\nreruns:\n";
    for (const auto& rerun : status.reruns) {
        const auto& campaign = rerun.campaign;
        out << "  " << campaign.id << "  " << campaign.criteria.step << "  " << rerun.state << ": "
            << campaign.sent_back << " sent back, " << campaign.scanned << " looked at of "
            << campaign.total << "; run again " << rerun.run_again << " of " << rerun.marked
            << "\n    reason " << (campaign.reason.empty() ? "(none given)" : campaign.reason)
            << ", by " << campaign.by << ", started " << campaign.started;
        if (!campaign.finished.empty()) {
            out << ", finished " << campaign.finished;
        }
        if (rerun.state == "interrupted") {
            out << (campaign.error.empty() ? "" : " (" + campaign.error + ")")
                << ": go on with edw rerun --resume " << campaign.id;
        }
        out << "\n";
    }
}

// "retired steps" then a line per step seen in the docs but not in pipeline.json: "  archive
// 120 done, 3 failed, 120 stranded after it". A retired step that live workers still run is
// said so: its docs go where the pipeline does not expect them.
void write_retired_steps(std::ostream& out, const PipelineStatus& status)
{
    std::size_t width = 0;
    for (const auto& step : status.steps) {
        width = step.retired ? std::max(width, step.step.name.size()) : width;
    }
    if (width == 0) {
        return;
    }
    out << "\nretired steps (seen in the docs, not in pipeline.json):\n";
    for (const auto& step : status.steps) {
        if (!step.retired) {
            continue;
        }
        out << "  " << std::left << std::setw(static_cast<int>(width)) << step.step.name << "  "
            << step.done << " done";
        const auto stranded = status.stranded.find(step.step.name);
        if (stranded != status.stranded.end()) {
            out << ", " << stranded->second << " stranded after it";
        }
        if (step.failed > 0) {
            out << ", " << step.failed << " failed";
        }
        if (step.retrying > 0) {
            out << ", " << step.retrying << " retrying";
        }
        const auto live = std::count_if(
            step.worker_records.begin(), step.worker_records.end(),
            [](const WorkerSeen& seen) { return seen.liveness == WorkerLiveness::live; });
        if (live > 0) {
            out << "; yet " << live << (live == 1 ? " live worker runs" : " live workers run")
                << " it: add it to pipeline.json or stop " << (live == 1 ? "it" : "them");
        }
        out << "\n";
    }
}

void write_steps(std::ostream& out, const PipelineStatus& status)
{
    const auto cell = [&out](const auto& value, int width) {
        out << std::right << std::setw(width) << value;
    };
    // Columns as wide as the longest name needs, so that a long one does not shift its row.
    std::size_t name_width = 20;
    std::size_t after_width = 18;
    for (const auto& step : status.steps) {
        if (!step.retired) {
            name_width = std::max(name_width, step.step.name.size() + 2);
            after_width = std::max(after_width, after_text(step.step.after).size() + 2);
        }
    }
    out << std::left << std::setw(static_cast<int>(name_width)) << "step"
        << std::setw(static_cast<int>(after_width)) << "after";
    cell("waiting", 9);
    cell("running", 9);
    cell("retrying", 10);
    cell("failed", 8);
    cell("done", 9);
    cell("oldest waiting", 16);
    cell("recent rate", 21);
    cell("last hour", 11);
    out << "\n";
    const auto now = parse_iso8601(status.time).value_or(std::chrono::system_clock::now());
    for (const auto& step : status.steps) {
        if (step.retired) {
            continue; // listed apart, below
        }
        out << std::left << std::setw(static_cast<int>(name_width)) << step.step.name
            << std::setw(static_cast<int>(after_width)) << after_text(step.step.after);
        cell(step.waiting, 9);
        cell(step.in_progress_total(), 9);
        cell(step.retrying, 10);
        cell(step.failed, 8);
        cell(step.done, 9);
        cell(age_text(step.oldest_waiting_seconds), 16);
        cell(rate_text(step.recent_rate(now)), 21);
        cell(step.done_in_last(throughput_minutes), 11);
        out << "\n";
    }
    if (std::none_of(status.steps.begin(), status.steps.end(),
                     [](const StepStatus& step) { return !step.retired; })) {
        out << "(no steps: the design doc declares none (pipeline.json) and no doc has a process "
               "entry yet)\n";
    }
    write_retired_steps(out, status);
    for (const auto& step : status.steps) {
        if (step.pause) {
            out << "\n"
                << step.step.name << " is paused since " << step.pause->since
                << (step.pause->by.empty() ? "" : " by " + step.pause->by)
                << (step.pause->reason.empty() ? "" : ": " + step.pause->reason) << " (edw resume "
                << step.step.name << ")\n";
        }
    }
    write_worker_records(out, status);
    bool any_worker = false;
    for (const auto& step : status.steps) {
        for (const auto& worker : step.in_progress) {
            out << (any_worker ? "" : "\nrunning now:\n") << "  " << step.step.name << ": "
                << worker.worker << " (" << worker.docs << (worker.docs == 1 ? " doc" : " docs")
                << ")\n";
            any_worker = true;
        }
    }
    out << "\n"
        << status.finished << (status.finished == 1 ? " doc has" : " docs have")
        << " passed every step";
    if (status.finished_at.size() > 1) { // a pipeline with branches has several ends
        const char* separator = " (";
        for (const auto& [last, docs] : status.finished_at) {
            out << separator << docs << " after " << last;
            separator = ", ";
        }
        out << ")";
    }
    out << ".\n";
    for (const auto& [position, docs] : status.stranded) {
        const auto step =
            std::find_if(status.steps.begin(), status.steps.end(),
                         [&](const StepStatus& s) { return s.step.name == position; });
        if (position == "0") {
            out << docs << " new " << (docs == 1 ? "doc waits" : "docs wait")
                << ", but no step of the pipeline takes new docs: stranded.\n";
            continue;
        }
        out << docs << (docs == 1 ? " doc sits" : " docs sit") << " after " << position
            << ", a step the pipeline does not place"
            << (step != status.steps.end() && step->retired ? " (retired)" : "")
            << ": stranded, no step will take " << (docs == 1 ? "it" : "them") << ".\n";
    }
    for (const auto& [reason, docs] : status.unroutable) {
        out << docs << (docs == 1 ? " doc" : " docs") << " no step can take: " << reason
            << " (edw failed lists " << (docs == 1 ? "it" : "them") << ").\n";
    }
}

std::string status_table(const PipelineStatus& status)
{
    std::ostringstream out;
    out << status.database << "   " << status.time << "\n\n";
    // A workflow of states alone has no steps to show.
    if (!status.steps.empty() || status.states.empty()) {
        write_steps(out, status);
        write_reruns(out, status);
    }
    if (!status.states.empty()) {
        out << (status.steps.empty() ? "" : "\n");
        write_states(out, status.states);
    }
    return out.str();
}

// The same status at a later time: only the ages and the time of the report move on.
void age_status(PipelineStatus& status, std::chrono::system_clock::time_point now)
{
    status.time = iso8601(now);
    for (auto& step : status.steps) {
        if (step.oldest_waiting_since) {
            if (const auto since = parse_iso8601(*step.oldest_waiting_since)) {
                step.oldest_waiting_seconds =
                    std::max(0.0, std::chrono::duration<double>(now - *since).count());
            }
        }
    }
}

// --watch reads the whole status again only when the database changed (its update_seq moved) or
// once a minute (claims expire and throughput windows slide without a write); otherwise it
// redraws the last one with its ages moved on, so that an idle pipeline costs one small request
// per refresh.
class StatusWatch {
public:
    StatusWatch(Database& database, std::string design)
        : m_database(database)
        , m_design(std::move(design))
    {}

    PipelineStatus read()
    {
        const auto now = std::chrono::system_clock::now();
        const Seq seq = update_seq_of(m_database);
        if (m_last && seq == m_seq && now - m_read_at < std::chrono::minutes(1)) {
            age_status(*m_last, now);
            return *m_last;
        }
        m_last = read_pipeline_status(m_database, m_design, now);
        m_seq = seq;
        m_read_at = now;
        return *m_last;
    }

private:
    Database& m_database;
    std::string m_design;
    std::optional<PipelineStatus> m_last;
    Seq m_seq;
    std::chrono::system_clock::time_point m_read_at;
};

int print_status(const GlobalOptions& global, const StatusOptions& options)
{
    const Settings settings = load_tool_settings(global);
    const auto database = open_database(settings);
    if (!options.watch) {
        const auto status =
            read_pipeline_status(*database, settings.design, std::chrono::system_clock::now());
        std::cout << (options.json ? to_json(status).dump() + "\n" : status_table(status));
        return 0;
    }
    // --watch: redrawn in place on a terminal; on a pipe, one report after another.
    const bool terminal = isatty(STDOUT_FILENO) == 1 && !options.json;
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
    StatusWatch watch(*database, settings.design);
    while (!g_interrupted) {
        std::string report;
        try {
            const auto status = watch.read();
            report = options.json ? to_json(status).dump() + "\n" : status_table(status);
        } catch (const ConfigError&) {
            throw; // no design doc: watching will not make one appear
        } catch (const Error& error) {
            // A server that is down or restarting: say so and keep watching.
            report = "cannot read the status: " + redact_credentials(error.what()) + "\n";
        }
        std::cout << (terminal ? "\x1b[H\x1b[J" : "") << report
                  << (terminal ? "\n(every " + std::to_string(options.interval).substr(0, 4) +
                                     " s; Ctrl-C to stop)\n"
                               : (options.json ? "" : "\n"))
                  << std::flush;
        const auto until =
            std::chrono::steady_clock::now() + std::chrono::duration<double>(options.interval);
        while (!g_interrupted && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    return 0;
}

} // namespace

void add_status_command(CLI::App& app, const GlobalOptions& global, Action& action)
{
    auto* status = app.add_subcommand(
        "status", "A table per step of the pipeline: waiting, running (claims), retrying, "
                  "failed, done, oldest waiting, the recent rate (the docs of the last 5 minutes "
                  "over the time since the first of them) and the last hour, read from the design "
                  "doc's steps view; steps seen in the docs but not in pipeline.json listed apart "
                  "as retired; then paused steps and each step's workers from their heartbeats "
                  "(running, paused, stopping, stopped or dead, since when)");
    status->fallthrough();
    auto options = std::make_shared<StatusOptions>();
    status->add_flag("--json", options->json, "Print one JSON object (one per line with --watch)");
    status->add_flag("--watch", options->watch, "Refresh until Ctrl-C (in place on a terminal)");
    status
        ->add_option("--interval", options->interval,
                     "Seconds between refreshes with --watch (0.1 to 3600)")
        ->type_name("SECONDS")
        ->check(CLI::Range(0.1, 3600.0).description(""))
        ->capture_default_str();
    status->callback([&action, &global, options] {
        action = [&global, options] { return print_status(global, *options); };
    });
}

} // namespace edw::tools
