// The OUS life cycle, the archive's databases, and the helpers every DRAWS program uses.
#include "draws.hpp"

#include <edw/app/open_database.hpp>
#include <edw/runtime/shard.hpp>
#include <edw/util/error.hpp>
#include <edw/util/utc_time.hpp>
#include <edw/workflow/update_document.hpp>

#include <algorithm>
#include <filesystem>

namespace draws {

const std::vector<std::string>& replicated_from_jao()
{
    static const std::vector<std::string> names = {"status-entities", "pipeline-reports",
                                                   "products-metadata", "delivery-status", "ngas"};
    return names;
}

std::unique_ptr<edw::Database> open_named(edw::Settings settings, const std::string& name)
{
    if (settings.server.is_file()) {
        // The embedded store holds one database per file: the others sit beside it.
        const auto folder = std::filesystem::path(settings.server.path()).parent_path();
        settings.server = edw::Url::parse("file:" + (folder / (name + ".db")).string());
    }
    settings.database = name;
    return edw::open_database(settings);
}

Archive open_archive(const edw::Settings& settings)
{
    Archive archive{.status_entities = open_named(settings, "status-entities"),
                    .msgq = open_named(settings, "msgq"),
                    .pipeline_reports = open_named(settings, "pipeline-reports"),
                    .products_metadata = open_named(settings, "products-metadata"),
                    .ngas = open_named(settings, "ngas"),
                    .delivery_status = open_named(settings, "delivery-status")};
    for (auto* database :
         {archive.status_entities.get(), archive.msgq.get(), archive.pipeline_reports.get(),
          archive.products_metadata.get(), archive.ngas.get(), archive.delivery_status.get()}) {
        database->create();
    }
    return archive;
}

const edw::StateMachine& ous_machine()
{
    static const edw::StateMachine machine = edw::StateMachine::parse({
        {"field", "state"},
        {"history", "state_history"},
        {"initial", {"ReadyForProcessing"}},
        {"states",
         {{"ReadyForProcessing", {"Processing"}},
          {"Processing", {"ReadyForReview", "ProcessingProblem"}},
          // Launched again by an operator once the problem is understood.
          {"ProcessingProblem", {"ReadyForProcessing"}},
          {"ReadyForReview", {"Reviewing"}},
          // QA2 Pass and SemiPass verify; Fail sends the OUS back for processing.
          {"Reviewing", {"Verified", "ReadyForProcessing"}},
          {"Verified", {"DeliveryInProgress"}},
          {"DeliveryInProgress", {"Delivered"}},
          {"Delivered", nlohmann::json::array()}}},
    });
    return machine;
}

const std::vector<std::string>& executives()
{
    static const std::vector<std::string> names = {"EA", "EU", "JAO", "NA"};
    return names;
}

std::string ous_doc_id(const std::string& entity_id)
{
    std::string id = entity_id;
    std::replace_if(
        id.begin(), id.end(), [](char c) { return c == ':' || c == '/'; }, '_');
    return id;
}

nlohmann::json move_ous(edw::Database& status_entities, const std::string& doc_id,
                        const std::string& to, const nlohmann::json& changes, const std::string& by,
                        const nlohmann::json& note)
{
    // After a 409 (another program wrote the OUS meanwhile) it is moved from where it is now.
    return *edw::update_document(
        status_entities, doc_id, [&](const std::optional<nlohmann::json>& ous) {
            if (!ous) {
                throw edw::TransitionRefused("no OUS " + doc_id + " in " +
                                             status_entities.describe());
            }
            return std::optional(ous_machine().apply(*ous, to, changes, by, edw::utc_now_iso8601(),
                                                     std::nullopt, note));
        });
}

namespace {

// Stable across runs and machines, unlike std::hash: the hash edw shards by.
std::uint64_t stable_hash(const std::string& ous, int attempt)
{
    return edw::fnv1a64(ous + "#" + std::to_string(attempt));
}

} // namespace

bool pipeline_fails(const std::string& ous, int attempt, double rate)
{
    return static_cast<double>(stable_hash(ous, attempt) % 10000) < rate * 10000;
}

std::size_t stable_pick(const std::string& ous, int attempt, std::size_t count)
{
    return static_cast<std::size_t>((stable_hash(ous, attempt) >> 20) % count);
}

int runs_of(const nlohmann::json& ous)
{
    int runs = 0;
    for (const auto& entry : ous.value("state_history", nlohmann::json::array())) {
        runs += entry.value("to", "") == "Processing" ? 1 : 0;
    }
    return runs;
}

bool create_once(edw::Database& database, const nlohmann::json& doc)
{
    return !database.save(doc).is_conflict();
}

std::string launch(edw::Database& status_entities, const std::string& entity_id,
                   const std::string& program, const std::string& recipe)
{
    const std::string id = ous_doc_id(entity_id);
    for (;;) {
        const auto ous = status_entities.get(id);
        if (ous && ous->value("state", "") == "ProcessingProblem") {
            move_ous(status_entities, id, "ReadyForProcessing", {{"executive", nullptr}},
                     "launcher", "launched again after a processing problem");
            return entity_id + ": launched again (was ProcessingProblem)";
        }
        if (ous) {
            throw edw::TransitionRefused(
                entity_id + " is " + ous->value("state", "?") +
                ": only a new OUS or one in ProcessingProblem is launched");
        }
        const nlohmann::json created = ous_machine().apply(
            {{"_id", id},
             {"type", "ous"},
             {"entityId", entity_id},
             {"obsProgram", program},
             {"pipeline-recipe", recipe},
             {"executive", nullptr}},
            "ReadyForProcessing", nlohmann::json::object(), "launcher", edw::utc_now_iso8601());
        if (create_once(status_entities, created)) {
            return entity_id + ": created, ReadyForProcessing, recipe " + recipe;
        }
        // Created meanwhile by another launcher: look again.
    }
}

} // namespace draws
