// The scenario: files arriving in the watched directory and changing there, as the summit's DHS
// and the observers would make them, and the checks of everything the queues did with them.
#include "gemini.hpp"

#include <edw/runtime/lease.hpp>
#include <edw/util/md5.hpp>

#include <algorithm>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

namespace gemini {
namespace {

int failures = 0;

void check(bool ok, const std::string& what)
{
    std::cout << (ok ? "ok: " : "FAIL: ") << what << "\n" << std::flush;
    failures += ok ? 0 : 1;
}

// File i of the night i % 2: the first five of each night are biases, the next five flats, the
// rest science frames.
struct Planned {
    std::string name;
    std::string night;
    std::string obstype;
};

Planned planned(int i)
{
    const int night = 1 + i % 2;
    const int number = 1 + i / 2;
    char name[32];
    std::snprintf(name, sizeof name, "N2024030%dS%04d.fits", night, number);
    return {name, "2024-03-0" + std::to_string(night),
            number <= 5    ? "BIAS"
            : number <= 10 ? "FLAT"
                           : "OBJECT"};
}

// The five science files the observers modify: spread over both nights.
std::vector<int> modified(int files)
{
    std::vector<int> chosen;
    for (int k = 0; k < 5; ++k) {
        chosen.push_back((20 + 21 * k) % files);
    }
    return chosen;
}

// A header the ingest and calcache workers read, then data: different for each file and for
// each version of it, and of a different size.
std::string content(const Planned& file, int i, int version)
{
    std::string text = "SIMPLE  = T\nINSTRUME= 'GMOS-N'\nOBSTYPE = '" + file.obstype +
                       "'\nDATE-OBS= '" + file.night + "'\nVERSION = '" + std::to_string(version) +
                       "'\nEND\n";
    std::mt19937 random(static_cast<unsigned>(i * 7919 + version * 104729));
    const std::size_t size = 2048 + static_cast<std::size_t>(i * 131 % 6000) + version * 100;
    for (std::size_t n = 0; n < size; ++n) {
        text += static_cast<char>(random() % 256);
    }
    return text;
}

// Written under a dotted name and renamed into place, so that no scan sees half a file.
void write_file(const std::filesystem::path& dir, const std::string& name, const std::string& text)
{
    const auto part = dir / ("." + name + ".tmp");
    {
        std::ofstream out(part, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out.flush()) {
            throw edw::StoreError("cannot write " + part.string());
        }
    }
    std::filesystem::rename(part, dir / name);
}

std::string read_text(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// Docs of one id range, by id.
std::map<std::string, nlohmann::json> docs_from(edw::Database& database, const std::string& prefix)
{
    edw::ViewQuery query;
    query.startkey = prefix;
    query.endkey = prefix + "\xef\xbf\xb0"; // U+FFF0, after any id with this prefix
    query.include_docs = true;
    std::map<std::string, nlohmann::json> docs;
    for (auto& row : database.all_docs(query).rows) {
        if (row.doc && row.doc->is_object()) {
            docs.emplace(row.id, std::move(*row.doc));
        }
    }
    return docs;
}

std::vector<nlohmann::json> items_of(const std::map<std::string, nlohmann::json>& docs,
                                     const std::string& queue)
{
    std::vector<nlohmann::json> items;
    for (const auto& [id, doc] : docs) {
        if (doc.value("type", "") == "queue" && doc.value("queue", "") == queue) {
            items.push_back(doc);
        }
    }
    return items;
}

// Items per queue and state, from the states view that `edw status` reads too.
using Counts = std::map<std::string, std::map<std::string, std::uint64_t>>;

Counts queue_counts(edw::Database& database)
{
    edw::ViewQuery query;
    query.group_level = 2;
    Counts counts;
    for (const auto& row : database.query("states", "states", query).rows) {
        counts[row.key.at(0).get<std::string>()][row.key.at(1).get<std::string>()] +=
            row.value.get<std::uint64_t>();
    }
    return counts;
}

std::string describe(const Counts& counts)
{
    std::string text;
    for (const auto& [queue, states] : counts) {
        text += (text.empty() ? "" : ", ") + queue + ":";
        for (const auto& [state, docs] : states) {
            text += " " + state + " " + std::to_string(docs);
        }
    }
    return text.empty() ? "no items" : text;
}

// Nothing queued (or parked) in `which` (all queues when empty); `progress` says what is.
bool all_done(edw::Database& database, std::string& progress,
              const std::vector<std::string>& which = {})
{
    const auto counts = queue_counts(database);
    progress = describe(counts);
    for (const auto& [queue, states] : counts) {
        const bool watched =
            which.empty() || std::find(which.begin(), which.end(), queue) != which.end();
        for (const auto& [state, docs] : states) {
            if (watched && state != "done" && docs > 0) {
                return false;
            }
        }
    }
    return true;
}

// Polls `ready` until it holds or the phase's time is up; `ready` says how far things are.
bool wait_for(const std::string& what, std::chrono::milliseconds timeout,
              const std::function<bool(std::string& progress)>& ready)
{
    const auto start = std::chrono::steady_clock::now();
    std::string progress;
    while (!ready(progress)) {
        if (std::chrono::steady_clock::now() - start > timeout) {
            check(false, "waited " + std::to_string(timeout.count() / 1000) + " s for " + what +
                             " (" + progress + ")");
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    std::cout << "scenario: " << what << " after " << took.count() / 1000.0 << " s (" << progress
              << ")\n";
    return true;
}

// How many files have a file doc holding the md5 of the file on disk.
int ingested_files(edw::Database& database, const ScenarioOptions& options)
{
    const auto docs = docs_from(database, file_doc_id(""));
    int count = 0;
    for (int i = 0; i < options.files; ++i) {
        const auto name = planned(i).name;
        const auto doc = docs.find(file_doc_id(name));
        count += doc != docs.end() &&
                 doc->second.value("md5", "") == edw::md5_file_hex(options.dir / name);
    }
    return count;
}

void write_phase(edw::Database& database, const ScenarioOptions& options)
{
    std::filesystem::create_directories(options.dir);
    for (int i = 0; i < options.files; ++i) {
        const auto file = planned(i);
        write_file(options.dir, file.name, content(file, i, 0));
    }
    std::cout << "scenario: wrote " << options.files << " files to " << options.dir.string()
              << "\n";
    const int wanted = options.until_ingested > 0 ? options.until_ingested : options.files;
    const std::string claimed =
        options.until_claimed_by.empty() ? "" : ", and " + options.until_claimed_by + " busy";
    wait_for(std::to_string(wanted) + " files ingested" + claimed, options.timeout,
             [&](std::string& progress) {
                 const int count = ingested_files(database, options);
                 progress = std::to_string(count) + " ingested";
                 if (count < wanted || options.until_claimed_by.empty()) {
                     return count >= wanted;
                 }
                 // A worker killed now leaves claimed items behind for the other to take over.
                 for (const auto& [id, item] : docs_from(database, "ingest-")) {
                     const auto claim = edw::claim_of(item, "ingest");
                     if (claim && claim->worker == options.until_claimed_by &&
                         item.value("state", "") == "queued") {
                         progress += ", " + id + " claimed by " + claim->worker;
                         return true;
                     }
                 }
                 return false;
             });
}

void ingested_phase(edw::Database& database, const ScenarioOptions& options)
{
    const bool done = wait_for("every file ingested", options.timeout, [&](std::string& progress) {
        const int count = ingested_files(database, options);
        std::string queues;
        // The export workers are down at this point: their queue fills up.
        const bool idle = all_done(database, queues, {"ingest"});
        progress = std::to_string(count) + " ingested, " + queues;
        return count == options.files && idle;
    });
    if (done) {
        check(true, "all " + std::to_string(options.files) +
                        " files have a file doc with their md5, and no ingest item waits");
    }
}

// The observers fix five files' headers while the watcher is down.
void change_phase(const ScenarioOptions& options)
{
    for (const int i : modified(options.files)) {
        const auto file = planned(i);
        write_file(options.dir, file.name, content(file, i, 1));
    }
    std::cout << "scenario: modified " << modified(options.files).size() << " files\n";
}

// The restarted watcher's first scan finds the modified files, its first re-queue every file:
// the modified ones are ingested again, the others are no-ops.
void changed_phase(edw::Database& database, const ScenarioOptions& options)
{
    std::string since = "9";
    std::map<std::string, std::string> changed; // name -> new md5
    for (const int i : modified(options.files)) {
        const auto name = planned(i).name;
        changed[name] = edw::md5_file_hex(options.dir / name);
        since = std::min(since, stamp_of(options.dir / name).mtime_text());
    }
    // Ingest items asked for after the change, by file.
    std::map<std::string, std::vector<nlohmann::json>> after;
    const bool settled = wait_for(
        "the changes ingested and a re-queue of every file done", options.timeout,
        [&](std::string& progress) {
            if (!all_done(database, progress)) {
                return false;
            }
            after.clear();
            for (const auto& item : items_of(docs_from(database, "ingest-"), "ingest")) {
                if (item.value("requested", "") >= since) {
                    after[item.at("file").get<std::string>()].push_back(item);
                }
            }
            int requeued = 0;
            for (int i = 0; i < options.files; ++i) {
                const auto& items = after[planned(i).name];
                requeued += std::any_of(items.begin(), items.end(), [](const auto& item) {
                    return item.value("reason", "") == "recent";
                });
            }
            int reingested = 0;
            for (const auto& [name, md5] : changed) {
                const auto doc = database.get(file_doc_id(name));
                reingested += doc && doc->value("md5", "") == md5;
            }
            progress += ", " + std::to_string(requeued) + " files re-queued, " +
                        std::to_string(reingested) + " changes ingested";
            return requeued == options.files && reingested == static_cast<int>(changed.size());
        });
    if (!settled) {
        return;
    }
    int noops = 0;
    int others = 0;
    for (int i = 0; i < options.files; ++i) {
        const auto name = planned(i).name;
        if (changed.count(name) != 0) {
            continue;
        }
        for (const auto& item : after[name]) {
            const bool noop = item.value("action", "") == "unchanged" &&
                              item.value("queued", nlohmann::json::array()).empty();
            (noop ? noops : others) += 1;
        }
    }
    check(others == 0,
          "the re-queued ingests of the " + std::to_string(options.files - changed.size()) +
              " unchanged files were no-ops that queued nothing (" + std::to_string(noops) +
              " no-ops, " + std::to_string(others) + " others)");
    for (const auto& [name, md5] : changed) {
        const auto& items = after[name];
        const auto ingests = std::count_if(items.begin(), items.end(), [](const auto& item) {
            return item.value("action", "") == "ingested";
        });
        const auto scanned = std::count_if(items.begin(), items.end(), [](const auto& item) {
            return item.value("reason", "") == "changed";
        });
        const auto exported = database.get(queued_item_id("export", name, md5));
        check(scanned == 1 && ingests == 1 && exported &&
                  exported->value("action", "") == "exported",
              name + " changed: found by the scan (" + std::to_string(scanned) +
                  "), ingested once more (" + std::to_string(ingests) + ") and exported again");
    }
}

// The calibrations a file's calcache doc may name: those of its night it needs.
bool associations_fit(const nlohmann::json& cache, const std::map<std::string, Planned>& plan)
{
    const std::string obstype = cache.value("obstype", "");
    for (const auto& association : cache.value("associations", nlohmann::json::array())) {
        const auto cal = plan.find(association.value("name", ""));
        if (cal == plan.end() || cal->second.night != cache.value("night", "") ||
            cal->second.obstype == "OBJECT" || obstype == "BIAS" ||
            (obstype == "FLAT" && cal->second.obstype != "BIAS")) {
            return false;
        }
    }
    return true;
}

void check_phase(edw::Database& database, const ScenarioOptions& options)
{
    wait_for("every queue item done", options.timeout,
             [&](std::string& progress) { return all_done(database, progress); });
    std::map<std::string, nlohmann::json> docs;
    edw::ViewQuery everything;
    everything.include_docs = true;
    for (auto& row : database.all_docs(everything).rows) {
        if (row.doc && row.doc->is_object()) {
            docs.emplace(row.id, std::move(*row.doc));
        }
    }
    std::map<std::string, Planned> plan;
    for (int i = 0; i < options.files; ++i) {
        plan.emplace(planned(i).name, planned(i));
    }
    const auto changed = modified(options.files);
    std::set<std::string> changed_names;
    for (const int i : changed) {
        changed_names.insert(planned(i).name);
    }

    // Files, their archive copies, previews and calibration caches.
    int good_docs = 0, good_copies = 0, good_previews = 0, good_caches = 0, good_counts = 0;
    int ingest_total = 0;
    for (const auto& [name, file] : plan) {
        const std::string md5 = edw::md5_file_hex(options.dir / name);
        const auto doc = docs.find(file_doc_id(name));
        const bool has_doc = doc != docs.end();
        good_docs += has_doc && doc->second.value("md5", "") == md5 &&
                     doc->second.value("mtime", "") == stamp_of(options.dir / name).mtime_text();
        const int count = has_doc ? doc->second.value("ingest_count", 0) : 0;
        ingest_total += count;
        good_counts += count == (changed_names.count(name) != 0 ? 2 : 1);
        std::error_code error;
        good_copies += std::filesystem::exists(options.archive / name, error) &&
                       edw::md5_file_hex(options.archive / name) == md5;
        const std::string preview = read_text(options.previews / (name + ".pgm"));
        good_previews += preview.rfind("P5\n# md5 " + md5 + "\n", 0) == 0 && preview.size() > 4096;
        const auto cache = docs.find(calcache_doc_id(name));
        good_caches += cache != docs.end() && cache->second.value("md5", "") == md5 &&
                       associations_fit(cache->second, plan);
    }
    const std::string of = " of " + std::to_string(plan.size());
    check(good_docs == options.files, "file docs hold the md5 and mtime of the file on disk (" +
                                          std::to_string(good_docs) + of + ")");
    check(good_copies == options.files,
          "archive copies have the md5 of the source (" + std::to_string(good_copies) + of + ")");
    check(good_previews == options.files,
          "previews show the current content (" + std::to_string(good_previews) + of + ")");
    check(good_caches == options.files,
          "calcache docs are of the current content and name only calibrations of the file's "
          "night that it needs (" +
              std::to_string(good_caches) + of + ")");
    check(good_counts == options.files,
          "the " + std::to_string(changed.size()) +
              " modified files were ingested twice, the others once (" +
              std::to_string(good_counts) + of + ")");

    // Queue items.
    const auto& machine = queue_machine();
    std::map<std::string, std::vector<nlohmann::json>> items;
    for (const auto& queue : queues) {
        items[queue] = items_of(docs, queue);
    }
    for (const auto& queue : queues) {
        int once = 0, claimed = 0;
        std::map<std::string, int> by;
        for (const auto& item : items[queue]) {
            once += machine.state_of(item) == "done" &&
                    machine.times_moved(item, "queued", "done") == 1;
            claimed += item.contains(edw::claim_field);
            for (const auto& entry : item.value("history", nlohmann::json::array())) {
                if (entry.value("to", "") == "done") {
                    by[entry.value("by", "")] += 1;
                }
            }
        }
        const auto total = static_cast<int>(items[queue].size());
        check(once == total && claimed == 0,
              queue + ": every item done, moved from queued to done once, no claim left (" +
                  std::to_string(once) + " of " + std::to_string(total) + ")");
        std::string workers;
        for (const auto& [name, count] : by) {
            workers += (workers.empty() ? "" : ", ") + name + " " + std::to_string(count);
        }
        check(by.size() >= 2, queue + " was served by both its workers (" + workers + ")");
    }
    int ingested = 0, unchanged = 0;
    for (const auto& item : items["ingest"]) {
        const std::string action = item.value("action", "");
        ingested += action == "ingested";
        unchanged += action == "unchanged";
    }
    check(ingested == ingest_total &&
              ingested + unchanged == static_cast<int>(items["ingest"].size()),
          "each file doc write is one ingest that says ingested (" + std::to_string(ingested) +
              "), every other ingest says unchanged (" + std::to_string(unchanged) + ")");
    const auto contents = static_cast<std::size_t>(options.files) + changed.size();
    for (const std::string queue : {"export", "preview", "calcache"}) {
        check(items[queue].size() == contents, queue + ": one item per content ingested (" +
                                                   std::to_string(items[queue].size()) + " for " +
                                                   std::to_string(contents) + ")");
    }
    for (const auto& [name, file] : plan) {
        std::vector<std::string> actions;
        for (const auto& item : items["export"]) {
            if (item.value("file", "") == name) {
                actions.push_back(item.value("requested", "") + " " + item.value("action", ""));
            }
        }
        std::sort(actions.begin(), actions.end());
        const auto action = [&](std::size_t i) {
            return actions[i].substr(actions[i].find(' ') + 1);
        };
        if (changed_names.count(name) == 0) {
            if (actions.size() != 1 || action(0) != "exported") {
                check(false,
                      name + ": exported once, not " + std::to_string(actions.size()) + " times");
            }
        } else {
            check(actions.size() == 2 && (action(0) == "exported" || action(0) == "superseded") &&
                      action(1) == "exported",
                  name + " (modified): first content " + (actions.empty() ? "-" : action(0)) +
                      ", second " + (actions.size() < 2 ? "-" : action(1)));
        }
    }

    // The states view, as edw status reads it.
    const auto counts = queue_counts(database);
    bool view_ok = true;
    for (const auto& queue : queues) {
        const auto states = counts.find(queue);
        view_ok = view_ok && states != counts.end() && states->second.size() == 1 &&
                  states->second.count("done") == 1 &&
                  states->second.at("done") == items[queue].size();
    }
    check(view_ok, "the states view counts every item as done (" + describe(counts) + ")");
}

// What `edw status --json` showed: the four queues as state groups, all done.
void status_phase(edw::Database& database, const ScenarioOptions& options)
{
    const auto status = nlohmann::json::parse(read_text(options.status_file), nullptr, false);
    const auto counts = queue_counts(database);
    if (!status.is_object() || !status.contains("states") || !status["states"].is_array()) {
        check(false, "edw status --json (" + options.status_file.string() +
                         ") has state groups under \"states\"");
        return;
    }
    for (const auto& queue : queues) {
        std::string shown = "missing";
        bool ok = false;
        for (const auto& group : status["states"]) {
            if (group.value("group", "") != queue) {
                continue;
            }
            std::map<std::string, std::uint64_t> states;
            for (const auto& state : group.value("states", nlohmann::json::array())) {
                states[state.value("state", "")] = state.value("docs", std::uint64_t{0});
            }
            const auto done = counts.count(queue) != 0 && counts.at(queue).count("done") != 0
                                  ? counts.at(queue).at("done")
                                  : 0;
            ok = done > 0 && states["done"] == done &&
                 group.value("total", std::uint64_t{0}) == done;
            shown = "total " + std::to_string(group.value("total", 0)) + ", done " +
                    std::to_string(states["done"]) + ", queued " + std::to_string(states["queued"]);
        }
        check(ok, "edw status shows queue " + queue + " with every item done (" + shown + ")");
    }
}

} // namespace

int scenario(edw::Database& database, const ScenarioOptions& options)
{
    if (options.phase == "write") {
        write_phase(database, options);
    } else if (options.phase == "ingested") {
        ingested_phase(database, options);
    } else if (options.phase == "change") {
        change_phase(options);
    } else if (options.phase == "changed") {
        changed_phase(database, options);
    } else if (options.phase == "check") {
        check_phase(database, options);
    } else {
        status_phase(database, options);
    }
    std::cout << "scenario " << options.phase << ": "
              << (failures == 0 ? "all checks passed" : std::to_string(failures) + " checks failed")
              << "\n";
    return failures == 0 ? 0 : 1;
}

} // namespace gemini
