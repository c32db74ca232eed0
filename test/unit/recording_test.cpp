#include "recording.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

TEST_SUITE_BEGIN("recording");

TEST_CASE("a recording gives its status, headers and body bytes exactly")
{
    const auto recording = load_recording("couchdb-3.4.3", "db-missing");
    CHECK(recording.status == 404);
    REQUIRE(recording.headers.size() == 3);
    CHECK(recording.headers[0] ==
          std::pair<std::string, std::string>("Cache-Control", "must-revalidate"));
    CHECK(recording.header("Content-Type") == "application/json");
    CHECK(recording.body == "{\"error\":\"not_found\",\"reason\":\"Database does not exist.\"}\n");
    CHECK(recording.body.size() == std::stoul(recording.header("Content-Length")));
}

TEST_CASE("header names are matched whatever their case, and a missing header is empty")
{
    const auto recording = load_recording("pouchdb-server-4.2.0", "changes-normal");
    CHECK(recording.header("content-length") == "378");
    CHECK(recording.header("X-POWERED-BY") == "Express");
    CHECK(recording.header("ETag").empty());
    CHECK(recording.body.size() == 378);
}

TEST_CASE("a chunked body keeps its heartbeat newlines")
{
    const auto recording = load_recording("pouchdb-server-4.2.0", "changes-continuous-limit");
    CHECK(recording.status == 200);
    CHECK(recording.header("Transfer-Encoding") == "chunked");
    CHECK(recording.body.rfind("{\"id\":\"_design/process\"", 0) == 0);
    CHECK(recording.body.size() == 354);
    CHECK(recording.body.substr(recording.body.size() - 5) == "}\n\n\n\n"); // then 3 heartbeats
}

TEST_CASE("a missing recording is an error naming its path")
{
    CHECK_THROWS_WITH_AS(load_recording("couchdb-3.4.3", "no-such-response"),
                         doctest::Contains("no-such-response.http"), std::runtime_error);
}

TEST_SUITE_END();
