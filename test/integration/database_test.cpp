#include "test_server.hpp"

#include <edw/app/open_database.hpp>
#include <edw/feed/feed_filter.hpp>
#include <edw/util/error.hpp>

#include <doctest/doctest.h>

#include <set>

TEST_SUITE_BEGIN("database");

TEST_CASE("a doc is saved, read back, and a stale rev is a conflict")
{
    auto db = fresh_database("edw-it-docs");
    const auto first = db->save(new_metadata_doc("ma22a000_000"));
    REQUIRE(first.status == edw::SaveStatus::ok);
    auto doc = db->get("ma22a000_000");
    REQUIRE(doc.has_value());
    CHECK((*doc)["_rev"] == first.rev);
    (*doc)["status"] = "bad";
    CHECK(db->save(*doc).status == edw::SaveStatus::ok);
    CHECK(db->save(*doc).is_conflict());                             // same rev again
    CHECK(db->save(new_metadata_doc("ma22a000_000")).is_conflict()); // create over existing
    CHECK_FALSE(db->get("missing").has_value());
}

TEST_CASE("bulk writes report a conflict per doc beside successes")
{
    auto db = fresh_database("edw-it-bulk");
    db->save(new_metadata_doc("ma22a000_001"));
    const auto results =
        db->bulk_save({new_metadata_doc("ma22a000_003"), new_metadata_doc("ma22a000_001")});
    REQUIRE(results.size() == 2);
    CHECK(results[0].ok());
    CHECK(results[1].is_conflict());
}

TEST_CASE("local docs are rev-checked and stay out of the changes feed")
{
    auto db = fresh_database("edw-it-local");
    const auto saved = db->save({{"_id", "_local/edw-checkpoint-x"}, {"seq", 5}});
    REQUIRE(saved.status == edw::SaveStatus::ok);
    const auto doc = db->get("_local/edw-checkpoint-x");
    REQUIRE(doc.has_value());
    CHECK((*doc)["seq"] == 5);
    CHECK(db->info()["doc_count"] == 0);
}

TEST_CASE("the lastproc view selects a step by range, and move_to_sps2 is not move_to_sps")
{
    auto db = fresh_database("edw-it-view");
    push_process_design(*db);
    auto moved = new_metadata_doc("ma22a000_001");
    moved["process"] = {{{"name", "move_to_sps"}}};
    auto other = new_metadata_doc("ma22a000_002");
    other["process"] = {{{"name", "move_to_sps2"}}};
    db->bulk_save({new_metadata_doc("ma22a000_000"), moved, other});
    edw::ViewQuery query;
    query.startkey = nlohmann::json::array({"move_to_sps"});
    query.endkey = nlohmann::json::array({"move_to_sps", nlohmann::json::object()});
    query.reduce = false;
    query.include_docs = true;
    const auto rows = db->query("process", "lastproc", query);
    REQUIRE(rows.rows.size() == 1);
    CHECK(rows.rows[0].id == "ma22a000_001");

    edw::ViewQuery keyed;
    keyed.keys = std::vector<nlohmann::json>{nlohmann::json::array({0, "ma22a000_000"}),
                                             nlohmann::json::array({0, "ma22a000_001"})};
    keyed.reduce = false;
    CHECK(db->query("process", "lastproc", keyed).rows.size() == 1);

    edw::ViewQuery grouped;
    grouped.group_level = 1;
    CHECK(db->query("process", "lastproc", grouped).rows.size() == 3);
}

TEST_CASE("a normal changes feed through the with_process filter passes only docs at the step")
{
    auto db = fresh_database("edw-it-filter");
    push_process_design(*db);
    auto moved = new_metadata_doc("ma22a000_001");
    moved["process"] = {{{"name", "move_to_sps"}}};
    db->bulk_save({new_metadata_doc("ma22a000_000"), moved});
    struct Rows final : edw::ChangesHandler {
        std::vector<std::string> ids;
        void on_change(edw::Change&& change) override { ids.push_back(change.id); }
    };
    for (const auto& [last, expected] : {std::pair<std::string, std::string>{"0", "ma22a000_000"},
                                         {"move_to_sps", "ma22a000_001"}}) {
        edw::ChangesQuery query;
        query.filter = "process/with_process";
        query.filter_parameters = {{"last", last}};
        query.include_docs = true;
        Rows rows;
        const auto end = db->changes(query, rows);
        CHECK(end.has_value());
        REQUIRE(rows.ids.size() == 1);
        CHECK(rows.ids[0] == expected);
    }
}

TEST_CASE("the at_any_step filter passes the docs waiting at any of the steps named")
{
    auto db = fresh_database("edw-it-filter-any");
    push_process_design(*db);
    auto moved = new_metadata_doc("ma22a000_001");
    moved["process"] = {{{"name", "move_to_sps"}}};
    auto done = new_metadata_doc("ma22a000_002");
    done["process"] = {{{"name", "move_to_sps"}}, {{"name", "signal_processing"}}};
    auto unnamed = new_metadata_doc("ma22a000_003");
    unnamed["process"] = {{{"date", "2026-12-07"}}};
    db->bulk_save({new_metadata_doc("ma22a000_000"), moved, done, unnamed});
    struct Rows final : edw::ChangesHandler {
        std::set<std::string> ids;
        void on_change(edw::Change&& change) override { ids.insert(change.id); }
    };
    const std::vector<std::pair<std::vector<edw::StepPosition>, std::set<std::string>>> cases = {
        {{edw::StepPosition::new_document(), edw::StepPosition::after("move_to_sps")},
         {"ma22a000_000", "ma22a000_001"}},
        {{edw::StepPosition::after("move_to_sps"), edw::StepPosition::after("signal_processing")},
         {"ma22a000_001", "ma22a000_002"}},
        {{edw::StepPosition::after("other")}, {}},
    };
    for (const auto& [positions, expected] : cases) {
        edw::ChangesQuery query;
        query.filter = "process/" + std::string(edw::any_step_filter);
        query.filter_parameters = {{"steps", edw::any_step_filter_parameter(positions)}};
        query.include_docs = true;
        Rows rows;
        CHECK(db->changes(query, rows).has_value());
        CHECK(rows.ids == expected);
    }
}

TEST_CASE("a missing database is a not-found error")
{
    auto db = edw::open_database(test_settings("edw-it-never-created"));
    try {
        db->info();
        FAIL("expected an HttpError");
    } catch (const edw::HttpError& error) {
        CHECK(error.is_not_found());
    }
}

TEST_CASE("a wrong password is an unauthorized error that does not show the password")
{
    auto settings = test_settings("edw-it-docs");
    // Not the admin: CouchDB 3.4 locks an account out after a few failed logins.
    settings.username = "edw-no-such-user";
    settings.password = "not-the-password";
    auto db = edw::open_database(settings);
    try {
        db->info();
        FAIL("expected an HttpError");
    } catch (const edw::HttpError& error) {
        CHECK(error.is_unauthorized());
        CHECK(std::string(error.what()).find("HTTP 401") != std::string::npos);
        CHECK(std::string(error.what()).find("not-the-password") == std::string::npos);
    }
}

TEST_CASE("an unreachable server is a transport error naming the URL")
{
    auto settings = test_settings("edw-it-x");
    settings.server = edw::Url::parse("http://127.0.0.1:1");
    auto db = edw::open_database(settings);
    CHECK_THROWS_WITH_AS(db->info(), doctest::Contains("http://127.0.0.1:1/edw-it-x"),
                         edw::TransportError);
}

TEST_SUITE_END();
