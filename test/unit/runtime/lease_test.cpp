// Lease: claims on the doc, which the lastproc view does not see, and a claim a cluster accepted
// on too few nodes (HTTP 202), which counts only when a re-read shows it.
#include "fake_transport.hpp"

#include <edw/couch/couch_server.hpp>
#include <edw/runtime/lease.hpp>
#include <edw/step/process_log.hpp>
#include <edw/util/utc_time.hpp>

#include <doctest/doctest.h>

TEST_SUITE_BEGIN("lease");

namespace {

struct Server {
    std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
    std::shared_ptr<edw::CouchServer> server;
    std::unique_ptr<edw::Database> db;

    Server()
    {
        edw::ServerOptions options;
        options.url = edw::Url::parse("http://127.0.0.1:5984");
        options.retry.sleep = [](std::chrono::milliseconds) {};
        server = std::make_shared<edw::CouchServer>(options, transport);
        db = server->database("edw");
    }
};

nlohmann::json waiting_doc()
{
    return {{"_id", "ma22a000_001"},
            {"_rev", "1-a"},
            {"status", "good"},
            {"conditions", {{"t", 1}}},
            {"process", nlohmann::json::array()}};
}

} // namespace

TEST_CASE("a claim is a field lastproc does not see, and it expires")
{
    auto doc = waiting_doc();
    doc[edw::claim_field] = {
        {"worker", "w1"},
        {"step", "move_to_sps"},
        {"until", edw::iso8601(std::chrono::system_clock::now() + std::chrono::minutes(1))}};
    CHECK(edw::lastproc_key(doc) == edw::lastproc_key(waiting_doc()));
    CHECK(edw::claimed_by_other(doc, "move_to_sps", "w2"));
    CHECK_FALSE(edw::claimed_by_other(doc, "move_to_sps", "w1"));
    CHECK_FALSE(edw::claimed_by_other(doc, "signal_processing", "w2"));
    doc[edw::claim_field]["until"] =
        edw::iso8601(std::chrono::system_clock::now() - std::chrono::seconds(1));
    CHECK_FALSE(edw::claimed_by_other(doc, "move_to_sps", "w2")); // expired: free to take over
    CHECK_FALSE(edw::without_claim(doc).contains(edw::claim_field));
}

TEST_CASE("a claim answered 201 is ours, and a 409 is another worker's")
{
    Server server;
    edw::LeaseKeeper leases(*server.db, "w1", "move_to_sps", std::chrono::minutes(1));
    server.transport->answer(201, R"({"ok":true,"id":"ma22a000_001","rev":"2-b"})");
    const auto claimed = leases.claim(waiting_doc());
    REQUIRE(claimed.has_value());
    CHECK((*claimed)["_rev"] == "2-b");
    CHECK((*claimed)[edw::claim_field]["worker"] == "w1");
    const auto sent = nlohmann::json::parse(server.transport->requests.at(0).body);
    CHECK(sent["_rev"] == "1-a"); // revision-checked
    CHECK(sent[edw::claim_field]["step"] == "move_to_sps");
    CHECK(leases.release("ma22a000_001").value()["_rev"] == "2-b");

    server.transport->answer(409, R"({"error":"conflict","reason":"Document update conflict."})");
    CHECK_FALSE(leases.claim(waiting_doc()).has_value());
}

TEST_CASE("a claim a cluster accepted on too few nodes (202) counts only if a re-read shows it")
{
    Server server;
    edw::LeaseKeeper leases(*server.db, "w1", "move_to_sps", std::chrono::minutes(1));
    // Another node accepted a rival claim, which won: the re-read shows its revision.
    server.transport->answer(202, R"({"ok":true,"id":"ma22a000_001","rev":"2-mine"})");
    auto rival = waiting_doc();
    rival["_rev"] = "2-theirs";
    server.transport->answer(200, rival.dump());
    CHECK_FALSE(leases.claim(waiting_doc()).has_value());
    CHECK(server.transport->requests.at(1).method == edw::HttpMethod::get);

    // Ours won.
    server.transport->answer(202, R"({"ok":true,"id":"ma22a000_001","rev":"2-mine"})");
    auto mine = waiting_doc();
    mine["_rev"] = "2-mine";
    server.transport->answer(200, mine.dump());
    CHECK(leases.claim(waiting_doc()).has_value());
}

TEST_SUITE_END();
