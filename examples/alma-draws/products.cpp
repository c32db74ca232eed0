// The product ingestor: a Verified OUS's data products and weblog archived (products-metadata,
// NGAS) and delivered (delivery-status).
#include "draws.hpp"

#include <edw/util/error.hpp>
#include <edw/util/utc_time.hpp>
#include <edw/workflow/update_document.hpp>

namespace draws {
namespace {

constexpr int products_per_ous = 5;

edw::Step ous_step(std::string name, const std::string& state)
{
    edw::Step step;
    step.name = std::move(name);
    step.selection = edw::StepSelection::matching({{"type", "ous"}, {"state", state}});
    step.record = edw::record_state_move(ous_machine(), "product-ingestor");
    return step;
}

} // namespace

edw::Step ingest_products_step(Archive& archive)
{
    auto step = ous_step("ingest-products", "Verified");
    step.run = [&archive](const nlohmann::json& ous) {
        const std::string entity = ous.value("entityId", "");
        const std::string base = ous_doc_id(entity);
        const int run = runs_of(ous);
        // Each write is made once: done again after a crash, it finds its doc there (409).
        for (int i = 1; i <= products_per_ous; ++i) {
            const std::string file = base + "_product_" + std::to_string(i) + ".fits";
            create_once(*archive.products_metadata,
                        {{"_id", "product-" + base + "-" + std::to_string(i)},
                         {"ous", entity},
                         {"file", file},
                         {"run", run},
                         {"recipe", ous.value("pipeline-recipe", "")}});
            create_once(*archive.ngas, {{"_id", "ngas-" + file}, {"ous", entity}, {"file", file}});
        }
        const std::string weblog = "weblog-" + base + "-" + std::to_string(run) + ".tgz";
        create_once(*archive.ngas, {{"_id", "ngas-" + weblog}, {"ous", entity}, {"file", weblog}});
        create_once(*archive.delivery_status, {{"_id", "delivery-" + base},
                                               {"ous", entity},
                                               {"products", products_per_ous},
                                               {"substate", "ProductsIngested"},
                                               {"started", edw::utc_now_iso8601()}});
        return nlohmann::json{{"to", "DeliveryInProgress"},
                              {"changes", {{"substate", "ProductsIngested"}}}};
    };
    return step;
}

edw::Step deliver_step(Archive& archive)
{
    auto step = ous_step("deliver", "DeliveryInProgress");
    step.run = [&archive](const nlohmann::json& ous) {
        const std::string id = "delivery-" + ous_doc_id(ous.value("entityId", ""));
        edw::update_document(
            *archive.delivery_status, id,
            [&](const std::optional<nlohmann::json>& delivery) -> std::optional<nlohmann::json> {
                if (!delivery) {
                    throw edw::TransitionRefused("no delivery status " + id +
                                                 ": its products were not ingested");
                }
                if ((*delivery)["substate"] == "Delivered") {
                    return std::nullopt; // delivered by a run that stopped
                                         // before moving the OUS
                }
                auto delivered = *delivery;
                delivered["substate"] = "Delivered";
                delivered["delivered"] = edw::utc_now_iso8601();
                return delivered;
            });
        return nlohmann::json{{"to", "Delivered"}, {"changes", {{"substate", "Delivered"}}}};
    };
    return step;
}

} // namespace draws
