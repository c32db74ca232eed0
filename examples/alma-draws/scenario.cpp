// The scenario: OUSs launched, an operator launching again those with a processing problem, a
// QA2 reviewer passing most and failing some, then the checks of everything that happened.
#include "draws.hpp"

#include <edw/db/view_query.hpp>
#include <edw/util/settings.hpp>

#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace {

int failures = 0;

void check(bool ok, const std::string& what)
{
    std::cout << (ok ? "ok: " : "FAIL: ") << what << "\n";
    failures += ok ? 0 : 1;
}

std::string entity(int i)
{
    std::ostringstream out;
    out << "uid://A003/X" << std::hex << 0x100 + i << "/X1";
    return out.str();
}

const std::vector<std::string> recipes = {"PipelineCalibration", "PipelineImaging",
                                          "PipelineCalAndImg", "PipelineSingleDish"};

// Entity id -> state, from the states view (no doc read).
std::map<std::string, std::string> states_of(edw::Database& status_entities)
{
    edw::ViewQuery query;
    query.startkey = nlohmann::json::array({"ous"});
    query.endkey = nlohmann::json::array({"ous", nlohmann::json::object()});
    query.reduce = false;
    std::map<std::string, std::string> states;
    for (const auto& row : status_entities.query("states", "states", query).rows) {
        states[row.value.is_string() ? row.value.get<std::string>() : row.id] =
            row.key[1].is_string() ? row.key[1].get<std::string>() : "?";
    }
    return states;
}

std::set<std::string> ids_of(edw::Database& database)
{
    std::set<std::string> ids;
    for (const auto& row : database.all_docs({}).rows) {
        if (!row.id.starts_with("_design/")) {
            ids.insert(row.id);
        }
    }
    return ids;
}

std::map<std::string, std::string> revs_of(edw::Database& database)
{
    std::map<std::string, std::string> revs;
    for (const auto& row : database.all_docs({}).rows) {
        revs[row.id] = row.value.value("rev", "");
    }
    return revs;
}

// The checks of one OUS's history; returns its pipeline runs.
int check_ous(draws::Archive& archive, const nlohmann::json& ous, int& problems, int& qa2_fails)
{
    const std::string name = ous.value("entityId", "?");
    const auto& machine = draws::ous_machine();
    const auto history = ous.value("state_history", nlohmann::json::array());
    // A path the machine allows, each move from where the one before left the OUS.
    bool path = !history.empty() && history[0].value("from", nlohmann::json()).is_null();
    nlohmann::json at = nullptr;
    std::set<std::string> xtss_messages;
    bool each_message_once = true;
    for (const auto& move : history) {
        const auto from = move.value("from", nlohmann::json());
        path =
            path && from == at &&
            machine.allows(from.is_string() ? std::optional(from.get<std::string>()) : std::nullopt,
                           move.value("to", ""));
        at = move.value("to", nlohmann::json());
        const std::string by = move.value("by", "");
        if (by.starts_with("xtss:")) {
            each_message_once = xtss_messages.insert(by).second && each_message_once;
        }
    }
    const int runs = draws::runs_of(ous);
    const auto problem =
        static_cast<int>(machine.times_moved(ous, "Processing", "ProcessingProblem"));
    const auto failed =
        static_cast<int>(machine.times_moved(ous, "Reviewing", "ReadyForProcessing"));
    problems += problem;
    qa2_fails += failed;
    const bool ok = path && each_message_once && ous.value("state", "") == "Delivered" &&
                    runs == 1 + problem + failed &&
                    machine.times_moved(ous, "Verified", "DeliveryInProgress") == 1 &&
                    machine.times_moved(ous, "DeliveryInProgress", "Delivered") == 1 &&
                    machine.times_moved(ous, "ReadyForReview", "Reviewing") ==
                        static_cast<std::size_t>(runs - problem);
    // One report per run, saying how it ended.
    int error_reports = 0;
    bool reports = true;
    const std::string base = draws::ous_doc_id(name);
    for (int run = 1; run <= runs; ++run) {
        const auto report =
            archive.pipeline_reports->get("report-" + base + "-" + std::to_string(run));
        reports = reports && report.has_value();
        error_reports += report && report->value("outcome", "") == "error" ? 1 : 0;
    }
    const auto delivery = archive.delivery_status->get("delivery-" + base);
    if (!ok || !reports || error_reports != problem || !delivery ||
        delivery->value("substate", "") != "Delivered") {
        check(false, name + ": Delivered through an allowed path, each move once, " +
                         std::to_string(runs) +
                         " runs with a report each, delivered (history: " + history.dump() + ")");
    }
    return runs;
}

} // namespace

int scenario(draws::Archive& archive, const edw::Settings& jao, int ous_count,
             double timeout_seconds, const std::string& arc_config)
{
    auto& status = *archive.status_entities;
    for (int i = 0; i < ous_count; ++i) {
        draws::launch(status, entity(i), "2026.1.00001.S", recipes[i % recipes.size()]);
    }
    std::cout << "scenario: launched " << ous_count << " OUSs\n";

    // The operator and the QA2 reviewer, until every OUS is delivered.
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(static_cast<long>(timeout_seconds * 1000));
    std::map<std::string, int> reviews;
    std::map<std::string, std::string> states;
    for (;;) {
        states = states_of(status);
        int delivered = 0;
        for (const auto& [ous, listed] : states) {
            delivered += listed == "Delivered" ? 1 : 0;
            if (listed != "ProcessingProblem" && listed != "ReadyForReview") {
                continue;
            }
            // The view may lag behind the doc (pouchdb-server's can): act on the doc's state.
            const auto doc = status.get(draws::ous_doc_id(ous));
            const std::string state = doc ? doc->value("state", "") : "";
            if (state == "ProcessingProblem") {
                draws::launch(status, ous, "", "");
            } else if (state == "ReadyForReview") {
                // Every seventh OUS fails its first review; every fifth passes with reservations.
                const int index = std::stoi(ous.substr(ous.find("/X", 6) + 2), nullptr, 16) - 0x100;
                const bool first = reviews[ous]++ == 0;
                const std::string verdict = first && index % 7 == 3 ? "Fail"
                                            : index % 5 == 0        ? "SemiPass"
                                                                    : "Pass";
                draws::review(status, ous, verdict, "scenario-reviewer");
            }
        }
        if (delivered == ous_count || std::chrono::steady_clock::now() > deadline) {
            std::cout << "scenario: " << delivered << " of " << ous_count << " delivered\n";
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }

    // Every OUS, its history, reports, products and delivery.
    int problems = 0;
    int qa2_fails = 0;
    int runs = 0;
    for (int i = 0; i < ous_count; ++i) {
        const auto ous = status.get(draws::ous_doc_id(entity(i)));
        if (!ous) {
            check(false, entity(i) + " exists");
            continue;
        }
        runs += check_ous(archive, *ous, problems, qa2_fails);
    }
    check(failures == 0, "every OUS Delivered through allowed moves, each made once, with one "
                         "report per run and its delivery done");
    check(problems > 0, "pipeline failures were injected and launched again (" +
                            std::to_string(problems) + " runs failed)");
    check(qa2_fails > 0, "QA2 failed some reviews and they were processed again (" +
                             std::to_string(qa2_fails) + ")");
    check(static_cast<int>(ids_of(*archive.pipeline_reports).size()) == runs,
          "pipeline-reports holds one report per run (" + std::to_string(runs) + ")");
    check(static_cast<int>(ids_of(*archive.products_metadata).size()) == 5 * ous_count,
          "products-metadata holds 5 products per OUS");
    check(static_cast<int>(ids_of(*archive.ngas).size()) == 6 * ous_count,
          "NGAS holds 5 products and a weblog per OUS");
    check(static_cast<int>(ids_of(*archive.delivery_status).size()) == ous_count,
          "delivery-status holds one delivery per OUS");
    int requests = 0;
    int unhandled = 0;
    std::set<std::string> sites;
    for (const auto& id : ids_of(*archive.msgq)) {
        const auto message = archive.msgq->get(id);
        if (!message) {
            continue;
        }
        requests += message->value("topic", "") == "pipeline.process" ? 1 : 0;
        unhandled += message->value("handled", nlohmann::json()).is_null() ? 1 : 0;
        if (message->contains("report")) {
            sites.insert((*message)["report"].value("site", ""));
        }
    }
    check(requests == runs, "one pipeline request per run (" + std::to_string(requests) + ")");
    check(unhandled == 0, "every message in msgq was handled");

    if (!arc_config.empty()) {
        // Two sites: the pipeline ran at the ARC, and the ARC's replicas caught up with the JAO.
        check(sites.contains("ARC"), "pipeline runs were made at the ARC");
        const auto arc = edw::load_settings(arc_config, edw::process_environment());
        for (const auto& name : draws::replicated_from_jao()) {
            auto jao_db = draws::open_named(jao, name);
            auto arc_db = draws::open_named(arc, name);
            bool same = false;
            const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
            while (!same && std::chrono::steady_clock::now() < until) {
                same = revs_of(*jao_db) == revs_of(*arc_db);
                if (!same) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(250));
                }
            }
            check(same, name + ": the ARC's replica holds the JAO's docs at the same revisions");
        }
        auto arc_msgq = draws::open_named(arc, "msgq");
        bool same = false;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!same && std::chrono::steady_clock::now() < until) {
            same = revs_of(*archive.msgq) == revs_of(*arc_msgq);
            if (!same) {
                std::this_thread::sleep_for(std::chrono::milliseconds(250));
            }
        }
        check(same, "msgq is the same at both sites");
    }

    std::cout << (failures == 0 ? "scenario: all checks passed\n"
                                : "scenario: " + std::to_string(failures) + " checks failed\n");
    return failures == 0 ? 0 : 1;
}
