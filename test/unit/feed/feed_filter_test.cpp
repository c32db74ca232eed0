// FeedFilter: the names, the choice from what real servers answer to GET /, and the selector
// that stands for the lastproc view on servers that match Mango selectors.
#include "recording.hpp"

#include <edw/db/selector.hpp>
#include <edw/feed/feed_filter.hpp>
#include <edw/step/process_log.hpp>
#include <edw/util/error.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <random>
#include <string>
#include <vector>

namespace {

nlohmann::json recorded_welcome(const std::string& server)
{
    return nlohmann::json::parse(load_recording(server, "welcome").body);
}

/// A metadata doc whose process array holds entries named `steps`.
nlohmann::json doc_with_steps(const std::vector<std::string>& steps)
{
    nlohmann::json process = nlohmann::json::array();
    for (const auto& step : steps) {
        process.push_back({{"name", step}, {"date", "2026-12-03T10:00:00Z"}});
    }
    return {{"_id", "doc"},
            {"status", "good"},
            {"conditions", {{"temperature", 0.015}}},
            {"process", std::move(process)}};
}

/// A doc whose process array holds 0 to 12 entries drawn from `names`.
nlohmann::json random_doc(const std::vector<std::string>& names, std::mt19937& random)
{
    std::vector<std::string> steps(random() % 13);
    for (auto& step : steps) {
        step = names[random() % names.size()];
    }
    return doc_with_steps(steps);
}

} // namespace

TEST_CASE("feed filter names read back as the filters they name, and others are refused")
{
    for (const auto filter : {edw::FeedFilter::automatic, edw::FeedFilter::design,
                              edw::FeedFilter::selector, edw::FeedFilter::all}) {
        CHECK(edw::parse_feed_filter(edw::feed_filter_name(filter)) == filter);
    }
    CHECK(edw::feed_filter_name(edw::FeedFilter::automatic) == "auto");
    CHECK_THROWS_AS(edw::parse_feed_filter("mango"), edw::ConfigError);
    CHECK_THROWS_AS(edw::parse_feed_filter(""), edw::ConfigError);
}

TEST_CASE("CouchDB 3.4 gets the selector, pouchdb-server the design doc's filter")
{
    const auto couchdb = recorded_welcome("couchdb-3.4.3");
    CHECK(edw::choose_feed_filter(couchdb) == edw::FeedFilter::selector);
    CHECK(edw::describe_server(couchdb) == "couchdb 3.4.3 (The Apache Software Foundation)");

    // pouchdb-server names itself express-pouchdb and crashes on filter=_selector.
    const auto pouchdb = recorded_welcome("pouchdb-server-4.2.0");
    CHECK(edw::choose_feed_filter(pouchdb) == edw::FeedFilter::design);
    CHECK(edw::describe_server(pouchdb).rfind("express-pouchdb 4.2.0", 0) == 0);
}

TEST_CASE("Cloudant and CouchDB 2 get the selector, but not CouchDB 1 or an unreadable welcome")
{
    const auto cloudant = nlohmann::json::parse(
        R"({"couchdb":"Welcome","version":"2.1.1","vendor":{"name":"IBM Cloudant","version":"8162"},
            "features":["geo","scheduler"]})");
    CHECK(edw::choose_feed_filter(cloudant) == edw::FeedFilter::selector);
    CHECK(edw::describe_server(cloudant) == "couchdb 2.1.1 (IBM Cloudant)");

    // CouchDB 1.x has no _selector filter.
    CHECK(edw::choose_feed_filter(nlohmann::json::parse(
              R"({"couchdb":"Welcome","uuid":"x","version":"1.7.2"})")) == edw::FeedFilter::design);
    // A version that does not start with a number, none at all, no welcome: not trusted.
    CHECK(edw::choose_feed_filter({{"couchdb", "Welcome"}, {"version", "next"}}) ==
          edw::FeedFilter::design);
    CHECK(edw::choose_feed_filter({{"couchdb", "Welcome"}}) == edw::FeedFilter::design);
    CHECK(edw::choose_feed_filter(nlohmann::json::object()) == edw::FeedFilter::design);
    CHECK(edw::choose_feed_filter(nlohmann::json::array()) == edw::FeedFilter::design);
    CHECK(edw::describe_server(nlohmann::json::array()) == "a server with no welcome");
}

TEST_CASE("the waiting selector passes new docs to the first step and nothing else")
{
    const edw::Selector selector(edw::waiting_selector(edw::StepPosition::new_document()));
    CHECK(selector.matches(doc_with_steps({})));
    CHECK_FALSE(selector.matches(doc_with_steps({"move_to_sps"})));

    auto bad = doc_with_steps({});
    bad["status"] = "bad";
    CHECK_FALSE(selector.matches(bad));
    auto unconditioned = doc_with_steps({});
    unconditioned.erase("conditions");
    CHECK_FALSE(selector.matches(unconditioned));
    auto no_process = doc_with_steps({});
    no_process.erase("process");
    CHECK_FALSE(selector.matches(no_process));
    CHECK_FALSE(selector.matches({{"_id", "doc"}, {"_rev", "2-x"}, {"_deleted", true}}));
}

TEST_CASE("the waiting selector passes every doc the lastproc view files at the step")
{
    // Random process arrays of 0 to 12 entries drawn from a few names: the selector must pass
    // every doc that waits at the step (nothing lost), and exactly those up to 8 entries (past
    // that it may pass a few more, which the runner's own rule then leaves).
    const std::vector<std::string> names = {"move_to_sps", "signal_processing", "other"};
    const auto position = edw::StepPosition::after("move_to_sps");
    const edw::Selector selector(edw::waiting_selector(position));
    std::mt19937 random(15);
    int waiting = 0;
    for (int round = 0; round < 5000; ++round) {
        const auto doc = random_doc(names, random);
        const bool waits = edw::is_waiting_at(doc, position);
        waiting += waits ? 1 : 0;
        INFO("process length " << doc["process"].size() << ": " << doc["process"].dump());
        if (waits) {
            CHECK(selector.matches(doc));
        } else if (doc["process"].size() <= 8) {
            CHECK_FALSE(selector.matches(doc));
        } else {
            CHECK(selector.matches(doc) == edw::has_step(doc, "move_to_sps"));
        }
    }
    CHECK(waiting > 500); // the draw did reach the interesting case
}

TEST_CASE("the selector of several steps passes exactly the docs waiting at any of them")
{
    const std::vector<std::string> names = {"move_to_sps", "signal_processing", "other"};
    const std::vector<edw::StepPosition> positions = {edw::StepPosition::new_document(),
                                                      edw::StepPosition::after("move_to_sps"),
                                                      edw::StepPosition::after("other")};
    const edw::Selector selector(edw::waiting_selector(positions));
    std::mt19937 random(24);
    int waiting = 0;
    for (int round = 0; round < 5000; ++round) {
        const auto doc = random_doc(names, random);
        bool waits = false;
        for (const auto& position : positions) {
            waits = waits || edw::is_waiting_at(doc, position);
        }
        waiting += waits ? 1 : 0;
        INFO("process " << doc["process"].dump());
        if (waits) {
            CHECK(selector.matches(doc));
        } else if (doc["process"].size() <= 8) {
            CHECK_FALSE(selector.matches(doc));
        }
    }
    CHECK(waiting > 1000);
    // One step alone gives the selector it always had.
    CHECK(edw::waiting_selector(std::vector<edw::StepPosition>{positions[1]}) ==
          edw::waiting_selector(positions[1]));
}

TEST_CASE("the at_any_step filter is given the steps as a JSON array, 0 for new docs")
{
    CHECK(edw::any_step_filter_parameter(
              {edw::StepPosition::new_document(), edw::StepPosition::after("move_to_sps")}) ==
          R"(["0","move_to_sps"])");
}
