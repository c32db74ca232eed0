// Lease: claims on the doc, which the lastproc view does not see, written, renewed and given
// back in batches; and a claim a cluster accepted on too few nodes (202), which counts only when
// a re-read shows it as the doc's one leaf.
#include "fake_transport.hpp"

#include <edw/couch/couch_server.hpp>
#include <edw/runtime/lease.hpp>
#include <edw/step/process_log.hpp>
#include <edw/util/utc_time.hpp>

#include <doctest/doctest.h>

#include <thread>

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

namespace {

nlohmann::json waiting_doc(const std::string& id)
{
    auto doc = waiting_doc();
    doc["_id"] = id;
    return doc;
}

nlohmann::json sent_docs(const edw::HttpRequest& request)
{
    return nlohmann::json::parse(request.body)["docs"];
}

} // namespace

TEST_CASE("claims go in one _bulk_docs: 201 is ours, a 409 another worker's, each on its own")
{
    Server server;
    edw::LeaseKeeper leases(*server.db, "w1", "move_to_sps", std::chrono::minutes(1));
    server.transport->answer(201, R"([{"ok":true,"id":"a","rev":"2-a"},
        {"id":"b","error":"conflict","reason":"Document update conflict."},
        {"ok":true,"id":"c","rev":"2-c"}])");
    const auto claimed = leases.claim(
        std::vector<nlohmann::json>{waiting_doc("a"), waiting_doc("b"), waiting_doc("c")});
    REQUIRE(server.transport->requests.size() == 1);
    CHECK(server.transport->requests[0].url.find("/_bulk_docs") != std::string::npos);
    const auto sent = sent_docs(server.transport->requests[0]);
    REQUIRE(sent.size() == 3);
    CHECK(sent[1]["_rev"] == "1-a"); // revision-checked
    CHECK(sent[1][edw::claim_field]["worker"] == "w1");
    CHECK(sent[1][edw::claim_field]["step"] == "move_to_sps");
    REQUIRE(claimed.size() == 3);
    CHECK((*claimed[0])["_rev"] == "2-a");
    CHECK_FALSE(claimed[1].has_value());
    CHECK((*claimed[2])[edw::claim_field]["worker"] == "w1");
    CHECK(leases.release("c").value()["_rev"] == "2-c");
    CHECK_FALSE(leases.release("b").has_value());
}

TEST_CASE("a claim a cluster accepted on too few nodes (202) counts only as the doc's winning leaf")
{
    Server server;
    edw::LeaseKeeper leases(*server.db, "w1", "move_to_sps", std::chrono::minutes(1));
    const auto accepted = R"([{"ok":true,"id":"a","rev":"2-mine","accepted":true}])";

    SUBCASE("a rival claim won: ours is withdrawn, so that no _conflicts is left")
    {
        server.transport->answer(202, accepted);
        auto rival = waiting_doc("a");
        rival["_rev"] = "2-theirs";
        rival["_conflicts"] = {"2-mine"};
        server.transport->answer(200, rival.dump());
        server.transport->answer(200, R"({"ok":true,"id":"a","rev":"3-gone"})");
        CHECK_FALSE(leases.claim(waiting_doc("a")).has_value());
        REQUIRE(server.transport->requests.size() == 3);
        CHECK(server.transport->requests[1].method == edw::HttpMethod::get);
        CHECK(server.transport->requests[1].url.find("conflicts=true") != std::string::npos);
        CHECK(server.transport->requests[2].method == edw::HttpMethod::del);
        CHECK(server.transport->requests[2].url.find("rev=2-mine") != std::string::npos);
    }
    SUBCASE("ours won the pick over a rival leaf: it holds, and the rival withdraws its own")
    {
        // Both workers read the same winner: had both withdrawn, the doc would be deleted.
        server.transport->answer(202, accepted);
        auto mine = waiting_doc("a");
        mine["_rev"] = "2-mine";
        mine["_conflicts"] = {"2-theirs"};
        server.transport->answer(200, mine.dump());
        CHECK(leases.claim(waiting_doc("a")).has_value());
        CHECK(server.transport->requests.size() == 2); // no DELETE of any leaf
    }
    SUBCASE("ours is the only leaf: it holds")
    {
        server.transport->answer(202, accepted);
        auto mine = waiting_doc("a");
        mine["_rev"] = "2-mine";
        server.transport->answer(200, mine.dump());
        CHECK(leases.claim(waiting_doc("a")).has_value());
        CHECK(server.transport->requests.size() == 2);
    }
    SUBCASE("a 202 that marks no doc leaves every doc of the batch in doubt")
    {
        server.transport->answer(202, R"([{"ok":true,"id":"a","rev":"2-mine"}])");
        auto rival = waiting_doc("a");
        rival["_rev"] = "2-theirs";
        server.transport->answer(200, rival.dump());
        CHECK_FALSE(leases.claim(waiting_doc("a")).has_value());
        CHECK(server.transport->requests.at(1).method == edw::HttpMethod::get);
    }
    SUBCASE("in a 202 batch, only the docs marked accepted are re-read")
    {
        server.transport->answer(202, R"([{"ok":true,"id":"a","rev":"2-a"},
            {"ok":true,"id":"b","rev":"2-mine","accepted":true}])");
        auto rival = waiting_doc("b");
        rival["_rev"] = "2-theirs";
        server.transport->answer(200, rival.dump());
        const auto claimed =
            leases.claim(std::vector<nlohmann::json>{waiting_doc("a"), waiting_doc("b")});
        CHECK(claimed.at(0).has_value());
        CHECK_FALSE(claimed.at(1).has_value());
        REQUIRE(server.transport->requests.size() == 2);
        CHECK(server.transport->requests[1].url.find("/b?") != std::string::npos);
    }
}

TEST_CASE("claims are renewed in one write before they expire, and given back in one")
{
    Server server;
    // Renewals come from the keeper's thread: its answers are queued before it asks.
    server.transport->answer(201, R"([{"ok":true,"id":"a","rev":"2-a"},
        {"ok":true,"id":"b","rev":"2-b"}])");
    server.transport->answer(201, R"([{"ok":true,"id":"a","rev":"3-a"},
        {"id":"b","error":"conflict","reason":"Document update conflict."}])");
    edw::LeaseKeeper leases(*server.db, "w1", "move_to_sps", std::chrono::milliseconds(400));
    leases.claim(std::vector<nlohmann::json>{waiting_doc("a"), waiting_doc("b")});
    for (int i = 0; i < 200 && leases.renewals() == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(leases.renewals() == 1);
    const auto renewal = sent_docs(server.transport->requests.at(1));
    REQUIRE(renewal.size() == 2);
    CHECK(renewal[0]["_rev"] == "2-a");
    CHECK(renewal[0][edw::claim_field]["until"] > renewal[0][edw::claim_field]["since"]);
    CHECK_FALSE(leases.release("b").has_value()); // lost to another writer in the renewal

    server.transport->answer(201, R"([{"ok":true,"id":"a","rev":"4-a"}])");
    CHECK(leases.give_back({"a", "never-claimed"}) == 1);
    const auto given = sent_docs(server.transport->requests.back());
    REQUIRE(given.size() == 1);
    CHECK(given[0]["_rev"] == "3-a");
    CHECK_FALSE(given[0].contains(edw::claim_field));
    CHECK_FALSE(leases.release("a").has_value()); // no longer held

    // A give-back the server cannot take is left to expire, never thrown at a stopping worker.
    server.transport->answer(201, R"([{"ok":true,"id":"c","rev":"2-c"}])");
    leases.claim(waiting_doc("c"));
    for (int i = 0; i < 6; ++i) {
        server.transport->fail("connection refused");
    }
    CHECK(leases.give_back({"c"}) == 0);
}

TEST_SUITE_END();
