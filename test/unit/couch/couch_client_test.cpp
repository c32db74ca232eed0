#include "couch/couch_database.hpp"
#include "fake_transport.hpp"
#include "recording.hpp"

#include <edw/couch/couch_server.hpp>
#include <edw/util/error.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <memory>

TEST_SUITE_BEGIN("couch client");

namespace {

struct Client {
    std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
    std::vector<std::chrono::milliseconds> waits;
    std::shared_ptr<edw::CouchServer> server;
    std::unique_ptr<edw::Database> db;

    explicit Client(edw::AuthMethod auth = edw::AuthMethod::basic,
                    std::chrono::milliseconds silence_limit = std::chrono::milliseconds(0),
                    std::string password = "s3cret-pass")
    {
        edw::ServerOptions options;
        options.silence_limit = silence_limit;
        options.url = edw::Url::parse("http://127.0.0.1:5984");
        options.username = "admin";
        options.password = std::move(password);
        options.auth = auth;
        options.retry.sleep = [this](std::chrono::milliseconds wait) { waits.push_back(wait); };
        server = std::make_shared<edw::CouchServer>(options, transport);
        db = server->database("edw test");
    }
};

struct Rows final : edw::ChangesHandler {
    std::vector<edw::Change> changes;
    void on_change(edw::Change&& change) override { changes.push_back(std::move(change)); }
};

} // namespace

TEST_CASE("a saved doc goes out as a PUT with JSON content type and its id encoded")
{
    Client client;
    client.transport->answer(load_recording("couchdb-3.4.3", "put-ok"));
    const auto saved = client.db->save({{"_id", "run a/1"}, {"status", "good"}});
    CHECK(saved.status == edw::SaveStatus::ok);
    CHECK_FALSE(saved.rev.empty());
    const auto& sent = client.transport->requests.at(0);
    CHECK(sent.url == "http://127.0.0.1:5984/edw%20test/run%20a%2F1");
    CHECK(sent.method == edw::HttpMethod::put);
    CHECK(edw::find_header(sent.headers, "Content-Type") == "application/json");
    CHECK(edw::find_header(sent.headers, "Authorization").substr(0, 6) == "Basic ");
}

TEST_CASE("doc reads and writes give up on a silent connection sooner, view queries do not")
{
    Client client(edw::AuthMethod::basic, std::chrono::milliseconds(13500));
    client.transport->answer(load_recording("couchdb-3.4.3", "put-ok"));
    client.transport->answer(load_recording("couchdb-3.4.3", "bulk-docs-mixed"));
    client.transport->answer(load_recording("couchdb-3.4.3", "view-lastproc-reduce-false"));
    (void)client.db->save({{"_id", "a"}});
    (void)client.db->bulk_save({{{"_id", "a"}}, {{"_id", "b"}}});
    edw::ViewQuery query;
    query.reduce = false;
    (void)client.db->query("process", "lastproc", query);
    REQUIRE(client.transport->requests.size() == 3);
    CHECK(client.transport->requests[0].silence_limit == std::chrono::milliseconds(13500));
    CHECK(client.transport->requests[1].silence_limit == std::chrono::milliseconds(13500));
    CHECK(client.transport->requests[0].timeout == std::chrono::milliseconds(30000));
    // A view query may wait, silent, while the server builds the index.
    CHECK(client.transport->requests[2].silence_limit == std::chrono::milliseconds(0));
    CHECK(client.transport->requests[2].timeout == std::chrono::milliseconds(30000));
}

TEST_CASE("design and local doc ids keep their slash in the path")
{
    CHECK(edw::encode_doc_id("_design/process") == "_design/process");
    CHECK(edw::encode_doc_id("_local/edw-checkpoint-x") == "_local/edw-checkpoint-x");
    CHECK(edw::encode_doc_id("a/b") == "a%2Fb");
}

TEST_CASE("a 409 on save is an answer, not an exception, on every recorded server")
{
    for (const char* server : {"couchdb-3.4.3", "couchdb-3.4.3-cluster3", "pouchdb-server-4.2.0"}) {
        Client client;
        client.transport->answer(load_recording(server, "put-conflict"));
        const auto saved = client.db->save({{"_id", "ma22a000_000"}, {"_rev", "1-x"}});
        CHECK(saved.is_conflict());
    }
}

TEST_CASE("a missing doc is empty but a missing database is an error")
{
    Client client;
    client.transport->answer(load_recording("couchdb-3.4.3", "doc-missing"));
    CHECK_FALSE(client.db->get("nope").has_value());
    client.transport->answer(load_recording("couchdb-3.4.3", "db-missing"));
    CHECK_THROWS_AS(client.db->get("nope"), edw::HttpError);
    client.transport->answer(load_recording("pouchdb-server-4.2.0", "db-missing"));
    CHECK_THROWS_AS(client.db->info(), edw::HttpError);
}

TEST_CASE("a username without a password: the 401 says that no password is set")
{
    for (const auto auth : {edw::AuthMethod::basic, edw::AuthMethod::cookie}) {
        Client client(auth, std::chrono::milliseconds(0), "");
        client.transport->answer(load_recording("couchdb-3.4.3", "unauthorized"));
        try {
            client.db->info();
            FAIL("expected an HttpError");
        } catch (const edw::HttpError& error) {
            CHECK(error.is_unauthorized());
            CHECK(std::string(error.what()).find("no password is set (EDW_PASSWORD is unset") !=
                  std::string::npos);
        }
    }
}

TEST_CASE("a wrong password gives an unauthorized error that names the action and not the password")
{
    Client client;
    client.transport->answer(load_recording("couchdb-3.4.3", "unauthorized"));
    try {
        client.db->info();
        FAIL("expected an HttpError");
    } catch (const edw::HttpError& error) {
        CHECK(error.is_unauthorized());
        CHECK(error.error() == "unauthorized");
        const std::string message = error.what();
        CHECK(message.find("read database info of http://127.0.0.1:5984/edw%20test") !=
              std::string::npos);
        CHECK(message.find("HTTP 401") != std::string::npos);
        CHECK(message.find("s3cret-pass") == std::string::npos);
    }
}

TEST_CASE("bulk results report each doc on its own, a conflict beside a success")
{
    for (const char* server : {"couchdb-3.4.3", "pouchdb-server-4.2.0"}) {
        Client client;
        client.transport->answer(load_recording(server, "bulk-docs-mixed"));
        const auto results =
            client.db->bulk_save({{{"_id", "ma22a000_003"}}, {{"_id", "ma22a000_001"}}});
        REQUIRE(results.size() == 2);
        CHECK(results[0].ok());
        CHECK(results[1].is_conflict());
        CHECK(results[1].id == "ma22a000_001");
    }
}

TEST_CASE("bulk results sent in another order are paired with their docs by id")
{
    Client client;
    client.transport->answer(
        201, R"([{"ok":true,"id":"a","rev":"1-x"},{"ok":true,"id":"c","rev":"1-y"},)"
             R"({"id":"b","error":"conflict","reason":"Document update conflict."}])");
    const auto results = client.db->bulk_save({{{"_id", "a"}}, {{"_id", "b"}}, {{"_id", "c"}}});
    REQUIRE(results.size() == 3);
    CHECK(results[0].id == "a");
    CHECK(results[1].id == "b");
    CHECK(results[1].is_conflict());
    CHECK(results[2].id == "c");
    CHECK(results[2].rev == "1-y");
}

TEST_CASE("5xx and connection errors are retried with growing waits, 4xx are not")
{
    Client client;
    client.transport->fail("connection refused");
    client.transport->answer(503, R"({"error":"unavailable"})");
    client.transport->answer(load_recording("couchdb-3.4.3", "db-info"));
    CHECK(client.db->info().contains("update_seq"));
    CHECK(client.transport->requests.size() == 3);
    CHECK(client.waits.size() == 2);

    Client refused;
    refused.transport->answer(load_recording("couchdb-3.4.3", "bad-json"));
    CHECK_THROWS_AS(refused.db->save({{"_id", "x"}}), edw::HttpError);
    CHECK(refused.waits.empty());
}

TEST_CASE("a failure that cannot mend, such as a certificate that does not verify, is not retried")
{
    Client client;
    client.transport->fail_permanently("SSL certificate problem: self-signed certificate");
    CHECK_THROWS_WITH_AS(client.db->info(), doctest::Contains("self-signed"), edw::TransportError);
    CHECK(client.transport->requests.size() == 1);
    CHECK(client.waits.empty());
}

TEST_CASE("a 429 waits as long as Retry-After says")
{
    Client client;
    client.transport->answer(429, R"({"error":"too_many_requests"})", {{"Retry-After", "2"}});
    client.transport->answer(load_recording("couchdb-3.4.3", "db-info"));
    client.db->info();
    REQUIRE(client.waits.size() == 1);
    CHECK(client.waits[0] == std::chrono::milliseconds(2000));
}

TEST_CASE("retries end with a transport error naming the action")
{
    Client client;
    for (int i = 0; i < 6; ++i) {
        client.transport->fail("Connection refused");
    }
    CHECK_THROWS_WITH_AS(client.db->info(), doctest::Contains("cannot read database info"),
                         edw::TransportError);
}

TEST_CASE("cookie auth logs in once, sends the cookie, and logs in again after a 401")
{
    Client client(edw::AuthMethod::cookie);
    const auto login = load_recording("couchdb-3.4.3", "session-login");
    client.transport->answer(login);
    client.transport->answer(load_recording("couchdb-3.4.3", "db-info"));
    client.db->info();
    REQUIRE(client.transport->requests.size() == 2);
    CHECK(client.transport->requests[0].url == "http://127.0.0.1:5984/_session");
    CHECK(client.transport->requests[0].body.find("s3cret-pass") != std::string::npos);
    CHECK(edw::find_header(client.transport->requests[1].headers, "Cookie").substr(0, 12) ==
          "AuthSession=");

    // The cookie expired: the server answers 401, the client logs in again and repeats.
    client.transport->answer(load_recording("couchdb-3.4.3", "unauthorized"));
    client.transport->answer(login);
    client.transport->answer(load_recording("couchdb-3.4.3", "db-info"));
    client.db->info();
    CHECK(client.transport->requests.size() == 5);
    CHECK(client.transport->requests[3].url == "http://127.0.0.1:5984/_session");
}

TEST_CASE("a wrong password at cookie login is an unauthorized error")
{
    Client client(edw::AuthMethod::cookie);
    client.transport->answer(load_recording("couchdb-3.4.3", "wrong-password"));
    CHECK_THROWS_WITH_AS(client.db->info(), doctest::Contains("Name or password is incorrect"),
                         edw::HttpError);
}

TEST_CASE("view keys are JSON in the query string and keys lists go in a POST body")
{
    Client client;
    client.transport->answer(load_recording("couchdb-3.4.3", "view-lastproc-reduce-false"));
    edw::ViewQuery query;
    query.startkey = nlohmann::json::array({"move_to_sps"});
    query.endkey = nlohmann::json::array({"move_to_sps", nlohmann::json::object()});
    query.reduce = false;
    const auto result = client.db->query("process", "lastproc", query);
    CHECK(result.rows.size() == 2);
    CHECK(client.transport->requests[0].url ==
          "http://127.0.0.1:5984/edw%20test/_design/process/_view/lastproc"
          "?startkey=%5B%22move_to_sps%22%5D&endkey=%5B%22move_to_sps%22%2C%7B%7D%5D&reduce=false");

    client.transport->answer(load_recording("couchdb-3.4.3", "view-lastproc-reduce-false"));
    edw::ViewQuery keyed;
    keyed.keys = std::vector<nlohmann::json>{nlohmann::json::array({0, "ma22a000_000"})};
    client.db->query("process", "lastproc", keyed);
    CHECK(client.transport->requests[1].method == edw::HttpMethod::post);
    CHECK(client.transport->requests[1].body == R"({"keys":[[0,"ma22a000_000"]]})");
}

TEST_CASE("a bad view range is a bad request error with the server's reason")
{
    Client client;
    client.transport->answer(load_recording("couchdb-3.4.3", "view-bad-range"));
    CHECK_THROWS_WITH_AS(client.db->query("process", "lastproc", {}),
                         doctest::Contains("No rows can match your key range"), edw::HttpError);
}

TEST_CASE("a continuous feed is parsed as it streams, whatever the piece size")
{
    for (std::size_t piece : {1U, 3U, 7U, 64U, 100000U}) {
        Client client;
        client.transport->stream_piece = piece;
        client.transport->answer(load_recording("couchdb-3.4.3", "changes-continuous-limit"));
        edw::ChangesQuery query;
        query.feed = edw::Feed::continuous;
        Rows rows;
        const auto end = client.db->changes(query, rows);
        REQUIRE(end.has_value());
        CHECK(rows.changes.size() == 2);
        CHECK(rows.changes[1].id == "ma22a000_000");
        CHECK(end->pending == 2U);
    }
}

TEST_CASE("a continuous feed that stops without last_seq is a dropped connection")
{
    Client client;
    client.transport->answer(200,
                             "{\"seq\":\"1-a\",\"id\":\"x\",\"changes\":[{\"rev\":\"1-b\"}]}\n\n");
    edw::ChangesQuery query;
    query.feed = edw::Feed::continuous;
    Rows rows;
    CHECK_THROWS_AS(client.db->changes(query, rows), edw::TransportError);
    CHECK(rows.changes.size() == 1);
}

TEST_CASE("a longpoll answer cut short is a dropped connection, not data")
{
    Client client;
    client.transport->answer(load_recording("pouchdb-server-4.2.0", "changes-longpoll-timeout"));
    edw::ChangesQuery query;
    query.feed = edw::Feed::longpoll;
    Rows rows;
    CHECK_THROWS_AS(client.db->changes(query, rows), edw::TransportError);
}

TEST_CASE("changes options are sent as CouchDB names them, with an opaque seq passed verbatim")
{
    edw::ChangesQuery query;
    query.feed = edw::Feed::continuous;
    query.since = edw::Seq(R"("12-g1AA+/=")");
    query.filter = "process/with_process";
    query.filter_parameters = {{"last", "0"}};
    query.include_docs = true;
    query.heartbeat = std::chrono::milliseconds(5000);
    CHECK(edw::changes_query_string(query) ==
          "?feed=continuous&since=12-g1AA%2B%2F%3D&filter=process%2Fwith_process&last=0"
          "&include_docs=true&heartbeat=5000");
}

TEST_CASE("a malformed feed line is skipped and the lines after it still arrive")
{
    Client client;
    client.transport->answer(200, "{\"seq\":1,\"id\":\"a\",\"changes\":[]}\n{oops\n"
                                  "{\"seq\":3,\"id\":\"c\",\"changes\":[]}\n{\"last_seq\":3}\n");
    edw::ChangesQuery query;
    query.feed = edw::Feed::continuous;
    Rows rows;
    const auto end = client.db->changes(query, rows);
    REQUIRE(end.has_value());
    CHECK(rows.changes.size() == 2);
    CHECK(end->last_seq == edw::Seq("3"));
}

TEST_CASE("a feed request that meets an expired cookie logs in again instead of failing")
{
    Client client(edw::AuthMethod::cookie);
    const auto login = load_recording("couchdb-3.4.3", "session-login");
    client.transport->answer(login);
    client.transport->answer(load_recording("couchdb-3.4.3", "unauthorized"));
    client.transport->answer(login);
    client.transport->answer(load_recording("couchdb-3.4.3", "changes-continuous-limit"));
    edw::ChangesQuery query;
    query.feed = edw::Feed::continuous;
    Rows rows;
    CHECK(client.db->changes(query, rows).has_value());
    CHECK(rows.changes.size() == 2);
    CHECK(client.transport->requests.size() == 4);
}

TEST_SUITE_END();
