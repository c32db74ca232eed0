#include "edw/couch/feed_parser.hpp"

#include "recording.hpp"

#include <edw/util/error.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Keeps what the parser reports, and prints it so that two runs compare as text.
struct Collector : edw::ContinuousFeedParser::Handler {
    std::vector<edw::Change> changes;
    std::vector<edw::FeedEnd> ends;
    int heartbeats = 0;
    std::string events; // one letter per call, in order: c(hange), e(nd), h(eartbeat)

    void on_change(edw::Change&& change) override
    {
        changes.push_back(std::move(change));
        events += 'c';
    }
    void on_end(edw::FeedEnd&& end) override
    {
        ends.push_back(std::move(end));
        events += 'e';
    }
    void on_heartbeat() override
    {
        ++heartbeats;
        events += 'h';
    }

    [[nodiscard]] std::string summary() const
    {
        std::string text = events + "\n";
        for (const auto& change : changes) {
            text += change.seq.json() + " " + change.id + (change.deleted ? " deleted" : "");
            for (const auto& rev : change.revs) {
                text += " " + rev;
            }
            text += (change.doc ? " " + change.doc->parse().dump() : std::string()) + "\n";
        }
        for (const auto& end : ends) {
            text += end.last_seq.json() + " pending " +
                    (end.pending ? std::to_string(*end.pending) : std::string("none")) + "\n";
        }
        return text;
    }
};

Collector feed_whole(std::string_view body)
{
    edw::ContinuousFeedParser parser;
    Collector collector;
    parser.feed(body, collector);
    CHECK_FALSE(parser.has_partial_line());
    return collector;
}

Collector feed_in_two(std::string_view body, std::size_t cut)
{
    edw::ContinuousFeedParser parser;
    Collector collector;
    parser.feed(body.substr(0, cut), collector);
    parser.feed(body.substr(cut), collector);
    return collector;
}

Collector feed_bytewise(std::string_view body)
{
    edw::ContinuousFeedParser parser;
    Collector collector;
    for (const char byte : body) {
        parser.feed(std::string_view(&byte, 1), collector);
    }
    return collector;
}

Collector feed_in_chunks(std::string_view body, std::size_t chunk_size)
{
    edw::ContinuousFeedParser parser;
    Collector collector;
    for (std::size_t at = 0; at < body.size(); at += chunk_size) {
        parser.feed(body.substr(at, chunk_size), collector);
    }
    return collector;
}

std::string in_quotes(std::string_view text)
{
    return "\"" + std::string(text) + "\"";
}

struct ContinuousRecording {
    const char* server;
    const char* name;
    std::size_t changes;
    std::size_t ends;
    int heartbeats;
};

constexpr ContinuousRecording continuous_recordings[] = {
    {"couchdb-3.4.3", "changes-continuous-limit", 2, 1, 1},
    {"couchdb-3.4.3", "changes-continuous-timeout-heartbeat", 0, 0, 14},
    {"couchdb-3.4.3-cluster3", "changes-continuous-limit", 2, 1, 1},
    {"couchdb-3.4.3-cluster3", "changes-continuous-timeout-heartbeat", 0, 0, 14},
    {"couchdb-3.4.3-cluster3", "changes-continuous-during-node-failure", 3, 0, 10},
    {"pouchdb-server-4.2.0", "changes-continuous-limit", 4, 0, 3},
    {"pouchdb-server-4.2.0", "changes-continuous-timeout-heartbeat", 0, 0, 13},
};

const std::string design_seq_couchdb =
    "1-g1AAAACLeJzLYWBgYMpgTmEQT84vTc5ISYo3MbEwM3UwNDLXMwBCwxyQgkSGpPr___"
    "9nZTAnMuYCBdiNUkzNzJLMcGsjaGQeC5BkaABS_0EmJzJkAQCZZCSF";
const std::string second_seq_couchdb =
    "2-g1AAAACLeJzLYWBgYMpgTmEQT84vTc5ISYo3MbEwM3UwNDLXMwBCwxyQgkSGpPr___"
    "9nZTAnMuUCBdiNUkzNzJLMcGsjaGQeC5BkaABS_0EmJzJkAQCZviSG";

} // namespace

TEST_SUITE_BEGIN("feed_parser");

TEST_CASE("every continuous recording reads the same whole, cut in two anywhere, or byte by byte")
{
    for (const auto& expected : continuous_recordings) {
        CAPTURE(expected.server);
        CAPTURE(expected.name);
        const std::string body = load_recording(expected.server, expected.name).body;
        const Collector whole = feed_whole(body);
        CHECK(whole.changes.size() == expected.changes);
        CHECK(whole.ends.size() == expected.ends);
        CHECK(whole.heartbeats == expected.heartbeats);

        std::size_t first_bad_cut = body.size() + 1;
        for (std::size_t cut = 0; cut <= body.size() && first_bad_cut > body.size(); ++cut) {
            if (feed_in_two(body, cut).summary() != whole.summary()) {
                first_bad_cut = cut;
            }
        }
        CHECK(first_bad_cut == body.size() + 1);
        CHECK(feed_bytewise(body).summary() == whole.summary());
        CHECK(feed_in_chunks(body, 7).summary() == whole.summary());
    }
}

TEST_CASE("a CouchDB continuous feed cut by limit gives string seqs and a last_seq line")
{
    const Collector feed =
        feed_whole(load_recording("couchdb-3.4.3", "changes-continuous-limit").body);
    CHECK(feed.events == "cceh");
    REQUIRE(feed.changes.size() == 2);
    CHECK(feed.changes[0].id == "_design/process");
    CHECK(feed.changes[0].seq.json() == in_quotes(design_seq_couchdb));
    CHECK(feed.changes[0].seq.to_query() == design_seq_couchdb);
    CHECK(feed.changes[0].revs == std::vector<std::string>{"1-3231639588ec870dfb8cdbd395519810"});
    CHECK_FALSE(feed.changes[0].deleted);
    CHECK_FALSE(feed.changes[0].doc);
    CHECK(feed.changes[1].id == "ma22a000_000");
    CHECK(feed.changes[1].seq.json() == in_quotes(second_seq_couchdb));
    REQUIRE(feed.ends.size() == 1);
    CHECK(feed.ends[0].last_seq == feed.changes[1].seq);
    CHECK(feed.ends[0].pending == 2U);
}

TEST_CASE("a pouchdb-server continuous feed gives integer seqs and no last_seq line")
{
    const Collector feed =
        feed_whole(load_recording("pouchdb-server-4.2.0", "changes-continuous-limit").body);
    CHECK(feed.events == "cccchhh");
    REQUIRE(feed.changes.size() == 4);
    const std::vector<std::string> ids = {"_design/process", "ma22a000_000", "ma22a000_001",
                                          "ma22a000_002"};
    for (std::size_t i = 0; i < ids.size(); ++i) {
        CHECK(feed.changes[i].id == ids[i]);
        CHECK(feed.changes[i].seq.json() == std::to_string(i + 1));
        CHECK(feed.changes[i].seq.to_query() == std::to_string(i + 1));
    }
    CHECK(feed.changes[3].revs == std::vector<std::string>{"1-023f643b58124cb897ad6d13ff835914"});
}

TEST_CASE("a cluster feed during a node failure gives its docs, heartbeats and no end")
{
    edw::ContinuousFeedParser parser;
    Collector feed;
    parser.feed(
        load_recording("couchdb-3.4.3-cluster3", "changes-continuous-during-node-failure").body,
        feed);
    CHECK_FALSE(parser.has_partial_line());
    CHECK(feed.events == "cchhchhhhhhhh");
    REQUIRE(feed.changes.size() == 3);
    const std::vector<std::string> ids = {"ma22a000_001", "ma22a000_003", "ma22a000_009"};
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto& change = feed.changes[i];
        CHECK(change.id == ids[i]);
        CHECK(change.seq.json().rfind("\"", 0) == 0);
        REQUIRE(change.doc);
        CHECK(change.doc->parse()["_id"] == ids[i]);
        CHECK(change.doc->parse()["_rev"] == change.revs.at(0));
        CHECK(change.doc->parse()["status"] == "good");
        CHECK(change.doc->parse()["process"] == nlohmann::json::array());
        CHECK(change.doc->parse()["conditions"]["temperature"] == 0.0151);
        CHECK(change.doc->parse()["conditions"]["volts"]["detector_a"] ==
              nlohmann::json::array({8, -8, 2, -2}));
        CHECK(change.doc->parse()["original_file"] == "/mnt/data/" + ids[i] + ".root");
    }
    CHECK(feed.changes[0].seq.to_query().rfind("4-", 0) == 0);
    CHECK(feed.changes[2].seq.to_query().rfind("7-", 0) == 0);
}

TEST_CASE("lines may end in CRLF and carry trailing whitespace")
{
    const Collector feed =
        feed_whole("{\"seq\":\"1-a\",\"id\":\"a\",\"changes\":[{\"rev\":\"1-x\"}]}"
                   " \t \r\n\r\n   \r\n"
                   "  {\"last_seq\":\"1-a\"}  \n");
    CHECK(feed.events == "chhe");
    REQUIRE(feed.changes.size() == 1);
    CHECK(feed.changes[0].id == "a");
    CHECK(feed.ends.at(0).last_seq.json() == "\"1-a\"");
    CHECK_FALSE(feed.ends.at(0).pending);
}

TEST_CASE("a line waits for its newline, even after its carriage return")
{
    edw::ContinuousFeedParser parser;
    Collector feed;
    parser.feed("{\"seq\":1,\"id\":\"a\",\"changes\":[]}\r", feed);
    CHECK(feed.events.empty());
    CHECK(parser.has_partial_line());
    parser.feed("\n", feed);
    CHECK(feed.events == "c");
    CHECK_FALSE(parser.has_partial_line());
}

TEST_CASE("buffered whitespace alone is not a partial line")
{
    edw::ContinuousFeedParser parser;
    Collector feed;
    CHECK_FALSE(parser.has_partial_line());
    parser.feed(" \r", feed);
    CHECK_FALSE(parser.has_partial_line());
    parser.feed("\n{", feed);
    CHECK(feed.events == "h");
    CHECK(parser.has_partial_line());
}

TEST_CASE("reset drops a partial line so that a new connection starts clean")
{
    edw::ContinuousFeedParser parser;
    Collector feed;
    parser.feed("{\"seq\":\"1-a\",\"id\":\"a\",\"chan", feed);
    CHECK(parser.has_partial_line());
    parser.reset();
    CHECK_FALSE(parser.has_partial_line());
    parser.feed("{\"seq\":\"2-b\",\"id\":\"b\",\"changes\":[]}\n", feed);
    CHECK(feed.events == "c");
    CHECK(feed.changes.at(0).id == "b");
}

TEST_CASE("a change without seq or id is refused with the line")
{
    edw::ContinuousFeedParser parser;
    Collector feed;
    CHECK_THROWS_WITH_AS(parser.feed("{\"id\":\"a\",\"changes\":[]}\n", feed),
                         "changes feed line without seq: {\"id\":\"a\",\"changes\":[]}",
                         edw::JsonError);
    CHECK_THROWS_WITH_AS(parser.feed("{\"seq\":1,\"changes\":[]}\n", feed),
                         "changes feed line without id: {\"seq\":1,\"changes\":[]}",
                         edw::JsonError);
    CHECK(feed.events.empty());
}

TEST_CASE("an error object in the feed is refused with its error and reason")
{
    edw::ContinuousFeedParser parser;
    Collector feed;
    CHECK_THROWS_WITH_AS(
        parser.feed("{\"error\":\"not_found\",\"reason\":\"Database does not exist.\"}\n", feed),
        "changes feed reported an error: not_found: Database does not exist.", edw::JsonError);
}

TEST_CASE("a malformed line is refused with its text and the parser goes on after reset")
{
    edw::ContinuousFeedParser parser;
    Collector feed;
    CHECK_THROWS_WITH_AS(parser.feed("<html>502 Bad Gateway</html>\r\n", feed),
                         "malformed changes feed line: <html>502 Bad Gateway</html>",
                         edw::JsonError);
    parser.reset();
    parser.feed("{\"seq\":\"3-c\",\"id\":\"c\",\"changes\":[{\"rev\":\"1-c\"}]}\n", feed);
    CHECK(feed.events == "c");
}

TEST_CASE("lines received after a malformed one are parsed by the next feed")
{
    edw::ContinuousFeedParser parser;
    Collector feed;
    CHECK_THROWS_AS(parser.feed("{\"seq\":1,\"id\":\"a\",\"changes\":[]}\n"
                                "{\"seq\":2,\n"
                                "{\"seq\":3,\"id\":\"c\",\"changes\":[]}\n"
                                "{\"seq\":4,",
                                feed),
                    edw::JsonError);
    CHECK(feed.events == "c");
    parser.feed("", feed);
    CHECK(feed.events == "cc");
    CHECK(feed.changes.at(1).id == "c");
    CHECK(parser.has_partial_line());
}

TEST_CASE("the message quotes only the first 200 characters of a long malformed line")
{
    edw::ContinuousFeedParser parser;
    Collector feed;
    const std::string line = "{" + std::string(300, 'x');
    CHECK_THROWS_WITH_AS(parser.feed(line + "\n", feed),
                         ("malformed changes feed line: " + line.substr(0, 200)).c_str(),
                         edw::JsonError);
}

TEST_CASE("lines that are not exactly one complete JSON object are malformed")
{
    const std::vector<std::string> lines = {
        "[1]",
        "\"seq\"",
        "42",
        "{\"seq\":1,\"id\":\"a\",\"changes\":[]} {\"seq\":2}",
        "{\"seq\":1,\"id\":\"a\",\"changes\":[{\"rev\":\"1-a\"}]",
        "{\"seq\":1,\"id\":\"a\",\"changes\":[],\"x\":{\"y\":1}",
        "{\"seq\":1,\"id\":\"a\",\"changes\":[{\"rev\":1}]}",
        "{\"seq\":1,\"id\":\"a\",\"changes\":[{}]}",
        "{\"seq\":1,\"id\":7,\"changes\":[]}",
        "{\"seq\":1,\"id\":\"a\",\"changes\":[],\"deleted\":\"yes\"}",
        "{\"seq\":1,\"id\":\"a\",\"changes\":[],\"doc\":[1]}",
        "{\"seq\":1,\"id\":\"a\xff\",\"changes\":[]}",
        "{\"last_seq\":\"1-a\",\"pending\":-1}",
    };
    for (const auto& line : lines) {
        CAPTURE(line);
        edw::ContinuousFeedParser parser;
        Collector feed;
        CHECK_THROWS_AS(parser.feed(line + "\n", feed), edw::JsonError);
        CHECK(feed.events.empty());
    }
}

TEST_CASE("a doc that is not JSON is that doc's own error, found when it is parsed")
{
    // The parser only checks the doc's brackets, so that reading a feed builds no document
    // tree; the listener parses the docs it needs and leaves a bad one where it is.
    edw::ContinuousFeedParser parser;
    Collector feed;
    parser.feed("{\"seq\":1,\"id\":\"a\",\"changes\":[],\"doc\":{\"a\":tru}}\n"
                "{\"seq\":2,\"id\":\"b\",\"changes\":[],\"doc\":{\"a\":true}}\n",
                feed);
    REQUIRE(feed.changes.size() == 2);
    REQUIRE(feed.changes[0].doc);
    CHECK_THROWS_WITH_AS(feed.changes[0].doc->parse(),
                         doctest::Contains("malformed document: {\"a\":tru}"), edw::JsonError);
    CHECK(feed.changes[1].doc->parse()["a"] == true);
}

TEST_CASE("a seq that is neither a string nor an unsigned integer is malformed")
{
    for (const std::string seq :
         {"-1", "1.5", "1e400", "123456789012345678901234567890", "true", "[1]", "{\"a\":1}"}) {
        CAPTURE(seq);
        edw::ContinuousFeedParser parser;
        Collector feed;
        CHECK_THROWS_WITH_AS(
            parser.feed("{\"seq\":" + seq + ",\"id\":\"a\",\"changes\":[]}\n", feed),
            doctest::Contains("malformed changes feed line"), edw::JsonError);
    }
}

TEST_CASE("a numeric seq stays a number and a string seq stays a string")
{
    const Collector feed = feed_whole("{\"seq\":42,\"id\":\"a\",\"changes\":[]}\n"
                                      "{\"seq\":\"42\",\"id\":\"b\",\"changes\":[]}\n"
                                      "{\"last_seq\":18446744073709551615,\"pending\":0}\n");
    REQUIRE(feed.changes.size() == 2);
    CHECK(feed.changes[0].seq.json() == "42");
    CHECK(feed.changes[0].seq.to_query() == "42");
    CHECK(feed.changes[1].seq.json() == "\"42\"");
    CHECK(feed.changes[1].seq.to_query() == "42");
    CHECK(feed.changes[0].seq != feed.changes[1].seq);
    CHECK(feed.ends.at(0).last_seq.json() == "18446744073709551615");
    CHECK(feed.ends.at(0).pending == 0U);
}

TEST_CASE("a null seq takes the last seq seen, or since=0 before any")
{
    edw::ContinuousFeedParser parser;
    Collector feed;
    parser.feed("{\"seq\":null,\"id\":\"a\",\"changes\":[]}\n"
                "{\"seq\":\"7-g\",\"id\":\"b\",\"changes\":[]}\n"
                "{\"seq\":null,\"id\":\"c\",\"changes\":[]}\n"
                "{\"seq\":null,\"id\":\"d\",\"changes\":[]}\n",
                feed);
    parser.reset();
    parser.feed("{\"seq\":null,\"id\":\"e\",\"changes\":[]}\n", feed);
    REQUIRE(feed.changes.size() == 5);
    CHECK(feed.changes[0].seq == edw::Seq());
    CHECK(feed.changes[1].seq.json() == "\"7-g\"");
    CHECK(feed.changes[2].seq.json() == "\"7-g\"");
    CHECK(feed.changes[3].seq.json() == "\"7-g\"");
    CHECK(feed.changes[4].seq == edw::Seq()); // reset() forgets: the new connection may differ
}

TEST_CASE("deleted rows and all_docs revs are reported")
{
    const Collector feed = feed_whole(
        "{\"seq\":\"9-d\",\"id\":\"gone\",\"changes\":[{\"rev\":\"2-b\"}],\"deleted\":true}\n"
        "{\"seq\":\"10-e\",\"id\":\"both\",\"changes\":[{\"rev\":\"2-x\"},{\"rev\":\"2-y\"}],"
        "\"deleted\":false}\n");
    REQUIRE(feed.changes.size() == 2);
    CHECK(feed.changes[0].deleted);
    CHECK(feed.changes[0].revs == std::vector<std::string>{"2-b"});
    CHECK_FALSE(feed.changes[1].deleted);
    CHECK(feed.changes[1].revs == std::vector<std::string>{"2-x", "2-y"});
}

TEST_CASE("an included doc keeps its contents, escapes and large numbers")
{
    const std::string line =
        R"({"id":"caf\u00e9","changes":[{"rev":"1-a"}],"doc":{"_id":"caf\u00e9","_rev":"1-a",)"
        R"("n":[1,-2,2.5,null,true,"\"q\""],"big":123456789012345678901234567890,)"
        R"("nested":{"deep":{"deeper":[{}]}}},"seq":5})";
    const Collector whole = feed_whole(line + "\n");
    CHECK(feed_bytewise(line + "\n").summary() == whole.summary()); // cut inside "é" too
    REQUIRE(whole.changes.size() == 1);
    const auto& change = whole.changes[0];
    CHECK(change.id == "caf\xc3\xa9");
    CHECK(change.seq.json() == "5");
    REQUIRE(change.doc);
    CHECK(change.doc->parse()["_id"] == "caf\xc3\xa9");
    CHECK(change.doc->parse()["n"] == nlohmann::json::parse(R"([1,-2,2.5,null,true,"\"q\""])"));
    CHECK(change.doc->parse()["big"].is_number_float());
    CHECK(change.doc->parse()["nested"]["deep"]["deeper"][0] == nlohmann::json::object());
}

TEST_CASE("a doc of null is left absent")
{
    const Collector feed =
        feed_whole("{\"seq\":1,\"id\":\"a\",\"changes\":[{\"rev\":\"1-a\"}],\"doc\":null}\n");
    REQUIRE(feed.changes.size() == 1);
    CHECK_FALSE(feed.changes[0].doc);
}

TEST_CASE("a line longer than any chunk is assembled from all of them")
{
    const std::string text(100000, 'z');
    const std::string line =
        "{\"seq\":\"1-a\",\"id\":\"big\",\"changes\":[],\"doc\":{\"text\":\"" + text + "\"}}\n";
    const Collector feed = feed_in_chunks(line + line, 4096);
    REQUIRE(feed.changes.size() == 2);
    CHECK(feed.changes[1].doc->parse()["text"] == text);
}

TEST_CASE("many lines in odd-sized chunks come out complete and in order")
{
    std::string body;
    for (int i = 0; i < 1000; ++i) {
        body += "{\"seq\":\"" + std::to_string(i) + "-x\",\"id\":\"doc" + std::to_string(i) +
                "\",\"changes\":[{\"rev\":\"1-a\"}]}\n";
        if (i % 100 == 0) {
            body += "\n";
        }
    }
    for (const std::size_t chunk_size : {1U, 7U, 64U, 4096U, 65536U}) {
        CAPTURE(chunk_size);
        const Collector feed = feed_in_chunks(body, chunk_size);
        REQUIRE(feed.changes.size() == 1000);
        CHECK(feed.heartbeats == 10);
        CHECK(feed.changes[0].id == "doc0");
        CHECK(feed.changes[999].id == "doc999");
        CHECK(feed.changes[999].seq.json() == "\"999-x\"");
    }
}

TEST_CASE("a moved parser keeps its partial line")
{
    edw::ContinuousFeedParser first;
    Collector feed;
    first.feed("{\"seq\":1,\"id\":\"a\",", feed);
    edw::ContinuousFeedParser second(std::move(first));
    CHECK(second.has_partial_line());
    edw::ContinuousFeedParser third;
    third = std::move(second);
    third.feed("\"changes\":[]}\n", feed);
    CHECK(feed.events == "c");
}

TEST_CASE("a line whose handler throws is consumed and the next feed goes on")
{
    struct StopAtFirst : Collector {
        void on_change(edw::Change&& change) override
        {
            Collector::on_change(std::move(change));
            if (changes.size() == 1) {
                throw std::runtime_error("handler failed");
            }
        }
    };
    edw::ContinuousFeedParser parser;
    StopAtFirst feed;
    CHECK_THROWS_AS(parser.feed("{\"seq\":1,\"id\":\"a\",\"changes\":[]}\n"
                                "{\"seq\":2,\"id\":\"b\",\"changes\":[]}\n",
                                feed),
                    std::runtime_error);
    parser.feed("", feed);
    CHECK(feed.events == "cc");
}

TEST_CASE("normal pages of every server give their rows and end")
{
    for (const char* server : {"couchdb-3.4.3", "couchdb-3.4.3-cluster3", "pouchdb-server-4.2.0"}) {
        CAPTURE(server);
        const auto page = edw::parse_changes_page(load_recording(server, "changes-normal").body);
        REQUIRE(page.results.size() == 4);
        CHECK(page.results[0].id == "_design/process");
        CHECK(page.results[1].id == "ma22a000_000");
        CHECK(page.results[2].id == "ma22a000_001");
        CHECK(page.results[3].id == "ma22a000_002");
        CHECK(page.end.last_seq == page.results[3].seq);
        for (const auto& change : page.results) {
            CHECK(change.revs.size() == 1);
            CHECK_FALSE(change.deleted);
            CHECK_FALSE(change.doc);
        }
    }
    const auto couchdb =
        edw::parse_changes_page(load_recording("couchdb-3.4.3", "changes-normal").body);
    CHECK(couchdb.results[0].seq.json() == in_quotes(design_seq_couchdb));
    CHECK(couchdb.end.pending == 0U);
    const auto pouchdb =
        edw::parse_changes_page(load_recording("pouchdb-server-4.2.0", "changes-normal").body);
    CHECK(pouchdb.results[0].seq.json() == "1");
    CHECK(pouchdb.end.last_seq.json() == "4");
    CHECK_FALSE(pouchdb.end.pending);
}

TEST_CASE("a filtered page with include_docs gives the doc")
{
    for (const char* server : {"couchdb-3.4.3", "couchdb-3.4.3-cluster3", "pouchdb-server-4.2.0"}) {
        CAPTURE(server);
        const auto page = edw::parse_changes_page(
            load_recording(server, "changes-normal-include-docs-filter").body);
        REQUIRE(page.results.size() == 1);
        const auto& change = page.results[0];
        CHECK(change.id == "ma22a000_002");
        REQUIRE(change.doc);
        CHECK(change.doc->parse()["_id"] == "ma22a000_002");
        CHECK(change.doc->parse()["_rev"] == change.revs.at(0));
        CHECK(change.doc->parse()["process"][0]["name"] == "move_to_sps");
        CHECK(change.doc->parse()["conditions"]["temperature"] == 0.0151);
    }
}

TEST_CASE("a selector page ends at a last_seq past its last row")
{
    const auto page =
        edw::parse_changes_page(load_recording("couchdb-3.4.3", "changes-selector").body);
    REQUIRE(page.results.size() == 2);
    CHECK(page.results[1].id == "ma22a000_003");
    CHECK(page.results[1].doc);
    CHECK(page.end.last_seq.to_query().rfind("6-", 0) == 0);
    CHECK(page.end.last_seq != page.results[1].seq);
}

TEST_CASE("a CouchDB longpoll that timed out is an empty page after heartbeat newlines")
{
    for (const char* server : {"couchdb-3.4.3", "couchdb-3.4.3-cluster3"}) {
        CAPTURE(server);
        const auto page =
            edw::parse_changes_page(load_recording(server, "changes-longpoll-timeout").body);
        CHECK(page.results.empty());
        CHECK(page.end.last_seq.to_query().rfind("4-", 0) == 0);
        CHECK(page.end.pending == 0U);
    }
}

TEST_CASE("a pouchdb-server longpoll cut short is truncated JSON")
{
    const auto body = load_recording("pouchdb-server-4.2.0", "changes-longpoll-timeout").body;
    CHECK(body == "{\"results\":[\n");
    CHECK_THROWS_WITH_AS(edw::parse_changes_page(body),
                         "malformed changes response: {\"results\":[", edw::JsonError);
}

TEST_CASE("every truncation of a page is refused")
{
    const auto body = load_recording("couchdb-3.4.3", "changes-normal-include-docs-filter").body;
    const auto complete = body.find_last_not_of("\r\n ") + 1;
    for (std::size_t cut = 0; cut < complete; ++cut) {
        CAPTURE(cut);
        CHECK_THROWS_AS(edw::parse_changes_page(std::string_view(body).substr(0, cut)),
                        edw::JsonError);
    }
    CHECK(edw::parse_changes_page(std::string_view(body).substr(0, complete)).results.size() == 1);
}

TEST_CASE("a page may start with heartbeat newlines")
{
    const auto page =
        edw::parse_changes_page("\n\n\r\n{\"results\":[],\"last_seq\":\"5-a\",\"pending\":0}");
    CHECK(page.results.empty());
    CHECK(page.end.last_seq.json() == "\"5-a\"");
}

TEST_CASE("a page that is an error object is refused with its error and reason")
{
    CHECK_THROWS_WITH_AS(
        edw::parse_changes_page(load_recording("couchdb-3.4.3", "db-missing").body),
        "changes response reported an error: not_found: Database does not exist.", edw::JsonError);
}

TEST_CASE("a page without results or last_seq, or with trailing text, is malformed")
{
    for (const std::string body :
         {"{\"results\":[]}", "{\"last_seq\":1}", "{\"results\":[],\"last_seq\":1} x",
          "{\"results\":[],\"last_seq\":1}{}", "[]", "",
          "{\"results\":[{\"last_seq\":1}],\"last_seq\":1}"}) {
        CAPTURE(body);
        CHECK_THROWS_AS(edw::parse_changes_page(body), edw::JsonError);
    }
}

TEST_CASE("a bad row in a page is quoted from where it starts")
{
    CHECK_THROWS_WITH_AS(
        edw::parse_changes_page("{\"results\":[{\"seq\":1,\"id\":\"a\",\"changes\":[]},\n"
                                "{\"id\":\"b\",\"changes\":[]}],\"last_seq\":2}"),
        doctest::Contains("changes response row without seq: {\"id\":\"b\""), edw::JsonError);
}

TEST_CASE("null seqs in a page take the seq of the row before")
{
    const auto page = edw::parse_changes_page(
        "{\"results\":[{\"seq\":null,\"id\":\"a\",\"changes\":[]},"
        "{\"seq\":\"2-b\",\"id\":\"b\",\"changes\":[]},{\"seq\":null,\"id\":\"c\",\"changes\":[]}],"
        "\"last_seq\":\"3-c\",\"pending\":null}");
    REQUIRE(page.results.size() == 3);
    CHECK(page.results[0].seq == edw::Seq());
    CHECK(page.results[2].seq.json() == "\"2-b\"");
    CHECK(page.end.last_seq.json() == "\"3-c\"");
    CHECK_FALSE(page.end.pending);
}

TEST_SUITE_END();
