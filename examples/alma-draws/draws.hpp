// The ALMA data reduction workflow (DRAWS) example: its databases, documents and programs.
#pragma once

#include <edw/db/database.hpp>
#include <edw/step/state_machine.hpp>
#include <edw/step/step.hpp>
#include <edw/util/settings.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace draws {

// Databases, as the ALMA archive's tables were mocked:
//   status-entities    OUS status documents: {type: "ous", entityId, obsProgram, state,
//                      pipeline-recipe, executive, state_history, ...}; owned by the State System
//   msgq               messages between sites (two-way replicated): requests to run the pipeline,
//                      and state changes asked of the State System
//   pipeline-reports   one report per pipeline run
//   products-metadata  one doc per data product of a delivered OUS
//   ngas               one doc per file archived in NGAS (the products and the weblog)
//   delivery-status    one doc per OUS delivery
struct Archive {
    std::unique_ptr<edw::Database> status_entities;
    std::unique_ptr<edw::Database> msgq;
    std::unique_ptr<edw::Database> pipeline_reports;
    std::unique_ptr<edw::Database> products_metadata;
    std::unique_ptr<edw::Database> ngas;
    std::unique_ptr<edw::Database> delivery_status;
};

/// The databases replicated from the JAO to an ARC (msgq goes both ways).
const std::vector<std::string>& replicated_from_jao();

/// The database `name` on the server of `settings` (on the embedded store: `<name>.db` beside
/// the store the settings name).
std::unique_ptr<edw::Database> open_named(edw::Settings settings, const std::string& name);
/// Every database of the archive, created when missing.
Archive open_archive(const edw::Settings& settings);

/// The OUS life cycle.
const edw::StateMachine& ous_machine();
/// The executives that reduce data.
const std::vector<std::string>& executives();

/// The doc id of an OUS: its entity id with the characters CouchDB ids dislike replaced
/// (uid://A003/X1/X1a -> uid___A003_X1_X1a).
std::string ous_doc_id(const std::string& entity_id);

/// Moves an OUS (read again and moved again after a 409) and returns it as saved. Throws
/// edw::TransitionRefused when the move is not allowed from where the OUS is, and
/// edw::NotFound-like edw::Error when there is no such OUS.
nlohmann::json move_ous(edw::Database& status_entities, const std::string& doc_id,
                        const std::string& to, const nlohmann::json& changes, const std::string& by,
                        const nlohmann::json& note = nullptr);

/// Whether the pipeline run `attempt` of an OUS fails: a stable hash, so that a run done again
/// after a crash ends the same way, and about `rate` of all runs fail.
bool pipeline_fails(const std::string& ous, int attempt, double rate);
/// A stable pick among `count` things for an OUS's attempt (the executive DRA assigns).
std::size_t stable_pick(const std::string& ous, int attempt, std::size_t count);

/// The runs asked of the pipeline for an OUS so far: the moves into Processing.
int runs_of(const nlohmann::json& ous);

/// Writes `doc` unless a doc with its id is there; false when it was (a request sent again after
/// a crash: already sent).
bool create_once(edw::Database& database, const nlohmann::json& doc);

// Programs. Each step below is run by a StepRunner, as the listeners of the EDELWEISS pipeline.

/// Creates the OUS `entity_id` of `program` in ReadyForProcessing with `recipe`; an OUS in
/// ProcessingProblem is put back to ReadyForProcessing (launched again). Returns what it did.
std::string launch(edw::Database& status_entities, const std::string& entity_id,
                   const std::string& program, const std::string& recipe);

/// Data reducer assignment: an OUS ready for processing and not assigned gets an executive
/// (`executive`, or a stable pick), and a pipeline.process request goes to that executive.
edw::Step dr_assign_step(edw::Database& msgq, std::optional<std::string> executive);

/// The pipeline driver of `executive`: takes its pipeline.process requests, asks the State System
/// for Processing, runs the pipeline for `run_time` (failing about `failure_rate` of the runs),
/// and asks for ReadyForReview or ProcessingProblem with the run's report.
edw::Step pipeline_driver_step(edw::Database& msgq, const std::string& executive,
                               const std::string& site, std::chrono::milliseconds run_time,
                               double failure_rate);

/// The State System (XTSS): applies the state changes asked in msgq to status-entities, in the
/// order they were asked (a change waits for the one it follows), once each, and files the
/// pipeline reports they carry.
edw::Step xtss_step(edw::Database& status_entities, edw::Database& pipeline_reports);

/// QA2: the OUSs ready for review, and a review: ReadyForReview -> Reviewing -> Verified (Pass,
/// SemiPass) or back to ReadyForProcessing (Fail), returned as said.
std::vector<std::string> ready_for_review(edw::Database& status_entities);
std::string review(edw::Database& status_entities, const std::string& entity_id,
                   const std::string& verdict, const std::string& reviewer);

/// The product ingestor: a Verified OUS's products into products-metadata and NGAS, its delivery
/// started (DeliveryInProgress), then completed (Delivered).
edw::Step ingest_products_step(Archive& archive);
edw::Step deliver_step(Archive& archive);

/// Sets up replication in the ARC server's _replicator database: each of replicated_from_jao()
/// pulled from the JAO, and msgq both ways. Returns the replication doc ids.
std::vector<std::string> set_up_replication(const edw::Settings& jao, const edw::Settings& arc);

} // namespace draws
