#include "edw/util/url.hpp"

#include <edw/util/error.hpp>

#include <doctest/doctest.h>

#include <string>

TEST_SUITE_BEGIN("url");

TEST_CASE("an http URL gives its parts, port 80 and a path without trailing slash")
{
    const auto url = edw::Url::parse("http://Couch.Example.org/prefix/");
    CHECK(url.scheme() == "http");
    CHECK(url.host() == "couch.example.org");
    CHECK(url.port() == 80);
    CHECK(url.path() == "/prefix");
    CHECK(url.username().empty());
    CHECK(url.password().empty());
    CHECK_FALSE(url.is_file());
    CHECK(url.str() == "http://couch.example.org/prefix");
}

TEST_CASE("an https URL defaults to port 443 and the root path is empty")
{
    const auto url = edw::Url::parse("HTTPS://account.cloudant.com/");
    CHECK(url.scheme() == "https");
    CHECK(url.port() == 443);
    CHECK(url.path() == "");
    CHECK(url.str() == "https://account.cloudant.com");
}

TEST_CASE("an explicit port is kept and printed unless it is the default")
{
    CHECK(edw::Url::parse("http://127.0.0.1:5984").port() == 5984);
    CHECK(edw::Url::parse("http://127.0.0.1:5984").str() == "http://127.0.0.1:5984");
    CHECK(edw::Url::parse("https://h:443/db").str() == "https://h/db");
}

TEST_CASE("an IPv6 literal host parses without brackets and prints with them")
{
    const auto url = edw::Url::parse("http://[::1]:5984/");
    CHECK(url.host() == "::1");
    CHECK(url.port() == 5984);
    CHECK(url.str() == "http://[::1]:5984");
    CHECK(edw::Url::parse("https://[2001:DB8::7]").host() == "2001:db8::7");
    CHECK(edw::Url::parse("https://[2001:db8::7]").port() == 443);
}

TEST_CASE("a relative file URL gives the path as written")
{
    const auto url = edw::Url::parse("file:edw-data/x.db");
    CHECK(url.is_file());
    CHECK(url.scheme() == "file");
    CHECK(url.host() == "");
    CHECK(url.port() == 0);
    CHECK(url.path() == "edw-data/x.db");
    CHECK(url.str() == "file:edw-data/x.db");
}

TEST_CASE("an absolute file URL gives the absolute path and round-trips")
{
    CHECK(edw::Url::parse("file:///abs/x.db").path() == "/abs/x.db");
    CHECK(edw::Url::parse("file:/abs/x.db").path() == "/abs/x.db");
    CHECK(edw::Url::parse("file://localhost/abs/x.db").path() == "/abs/x.db");
    CHECK(edw::Url::parse("file:///abs/x.db").str() == "file:///abs/x.db");
    CHECK(edw::Url::parse(edw::Url::parse("file:///abs/x.db").str()) ==
          edw::Url::parse("file:///abs/x.db"));
}

TEST_CASE("a file path that looks like a URL with user info is a path, kept as written")
{
    // Found by the settings fuzzer: a file name may hold "://u:p@"; it names no user and no host.
    const auto url = edw::Url::parse("file:dir/x:tims://p:u@h.db");
    CHECK(url.is_file());
    CHECK(url.username().empty());
    CHECK(url.path() == "dir/x:tims://p:u@h.db");
    CHECK(url.str() == "file:dir/x:tims://p:u@h.db");
}

TEST_CASE("credentials are split off and percent-decoded")
{
    const auto url = edw::Url::parse("https://ad%40min:p%3Ass%2Fw%40rd@h.example:6984/db");
    CHECK(url.username() == "ad@min");
    CHECK(url.password() == "p:ss/w@rd");
    CHECK(url.host() == "h.example");
    CHECK(url.port() == 6984);
    CHECK(url.path() == "/db");
}

TEST_CASE("a user name without a password leaves the password empty")
{
    const auto url = edw::Url::parse("http://reader@h");
    CHECK(url.username() == "reader");
    CHECK(url.password().empty());
    CHECK(url.str() == "http://h");
}

TEST_CASE("str never shows the user name or password")
{
    const auto url = edw::Url::parse("https://admin:s3cret@h/db");
    CHECK(url.str() == "https://h/db");
    CHECK(url.str().find("s3cret") == std::string::npos);
    CHECK(url.str().find("admin") == std::string::npos);
}

TEST_CASE("without_credentials keeps everything but the user name and password")
{
    const auto url = edw::Url::parse("https://admin:s3cret@h:6984/db").without_credentials();
    CHECK(url.username().empty());
    CHECK(url.password().empty());
    CHECK(url == edw::Url::parse("https://h:6984/db"));
}

TEST_CASE("with_segment percent-encodes one segment and with_path appends text unchanged")
{
    const auto server = edw::Url::parse("http://u:p@h:5984/");
    const auto db = server.with_segment("a/b c");
    CHECK(db.path() == "/a%2Fb%20c");
    CHECK(db.str() == "http://h:5984/a%2Fb%20c");
    CHECK(db.password() == "p");
    CHECK(db.with_path("/_changes?feed=normal").str() ==
          "http://h:5984/a%2Fb%20c/_changes?feed=normal");
}

TEST_CASE("url_encode keeps only unreserved characters")
{
    CHECK(edw::url_encode("AZaz09-._~") == "AZaz09-._~");
    CHECK(edw::url_encode("a b/c?d&e=f+g%") == "a%20b%2Fc%3Fd%26e%3Df%2Bg%25");
    CHECK(edw::url_encode("\xC3\xA9") == "%C3%A9");
    CHECK(edw::url_encode("") == "");
}

TEST_CASE("url_decode reverses url_encode and keeps a plus sign")
{
    const std::string text = "p@ss w/rd+é%";
    CHECK(edw::url_decode(edw::url_encode(text)) == text);
    CHECK(edw::url_decode("a+b%2a") == "a+b*");
}

TEST_CASE("url_decode refuses a bad escape without quoting the text")
{
    for (const auto* text : {"secret%", "secret%4", "secret%zz"}) {
        CAPTURE(text);
        try {
            (void)edw::url_decode(text);
            FAIL("no exception");
        } catch (const edw::ConfigError& error) {
            CHECK(std::string(error.what()).find("secret") == std::string::npos);
        }
    }
}

TEST_CASE("redact_credentials hides the credentials of every URL in free text")
{
    CHECK(edw::redact_credentials("cannot reach https://u:p@h/db: HTTP 401, retrying "
                                  "http://admin:pw@127.0.0.1:5984 and http://reader@h2/x") ==
          "cannot reach https://***@h/db: HTTP 401, retrying http://***@127.0.0.1:5984 and "
          "http://***@h2/x");
}

TEST_CASE("redact_credentials leaves text without credentials unchanged")
{
    const std::string text = "saved to https://h/db, mail admin@example.org, file:x.db";
    CHECK(edw::redact_credentials(text) == text);
    CHECK(edw::redact_credentials("") == "");
}

TEST_CASE("redact_credentials hides a password holding a slash, a quote or another URL")
{
    CHECK(edw::redact_credentials("'https://u:pa/ss@h/db'") == "'https://***@h/db'");
    CHECK(edw::redact_credentials(R"({"url":"https://u:pa"ss@h"})") ==
          R"({"url":"https://***@h"})");
    CHECK(edw::redact_credentials("https://u:p@h/?next=https://v:q@g") ==
          "https://***@h/?next=https://***@g");
}

TEST_CASE("a URL without a known scheme is refused")
{
    CHECK_THROWS_WITH_AS(edw::Url::parse("htp://x"), "bad URL 'htp://x': unknown scheme 'htp'",
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse("127.0.0.1:5984"), doctest::Contains("no scheme"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse(""), doctest::Contains("no scheme"), edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse("http:h"), doctest::Contains("expected '//'"),
                         edw::ConfigError);
}

TEST_CASE("a URL without a host is refused")
{
    CHECK_THROWS_WITH_AS(edw::Url::parse("http://"), doctest::Contains("no host"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse("https://:5984/db"), doctest::Contains("no host"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse("https://u:p@/db"), doctest::Contains("no host"),
                         edw::ConfigError);
}

TEST_CASE("a port that is not a number in 1-65535 is refused")
{
    CHECK_THROWS_WITH_AS(edw::Url::parse("http://h:abc"),
                         "bad URL 'http://h:abc': port 'abc' is not a number", edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse("http://h:-1"), doctest::Contains("not a number"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse("http://h:65536"), doctest::Contains("out of range"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse("http://h:0"), doctest::Contains("out of range"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse("http://h:99999999999999999999"),
                         doctest::Contains("out of range"), edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse("http://h:"), doctest::Contains("no port"),
                         edw::ConfigError);
}

TEST_CASE("a malformed host, path, query or fragment is refused")
{
    CHECK_THROWS_WITH_AS(edw::Url::parse("http://[::1"), doctest::Contains("']'"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse("http://[::1]x"), doctest::Contains("after ']'"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse("http://[abc]"), doctest::Contains("IPv6"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse("http://h st/"), doctest::Contains("in host"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse("http://h/a b"), doctest::Contains("percent-encoded"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse("http://h/a%zz"), doctest::Contains("percent escape"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse("http://h/db?x=1"), doctest::Contains("query"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse("http://h/db#x"), doctest::Contains("fragment"),
                         edw::ConfigError);
}

TEST_CASE("a file URL naming a host or no path is refused")
{
    CHECK_THROWS_WITH_AS(edw::Url::parse("file://edw-data/x.db"), doctest::Contains("no host"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::Url::parse("file:"), doctest::Contains("no file path"),
                         edw::ConfigError);
}

TEST_CASE("a bad URL's message never shows its password")
{
    for (const auto* text : {
             "htp://admin:hunter2@h/db",      // unknown scheme
             "https://admin:hunter2@h:x/db",  // bad port
             "https://admin:hunter2@/db",     // no host
             "https://admin:hunter2@h/a b",   // bad path
             "https://admin:hunt/er2@h/db",   // unencoded slash in the password
             "https://admin:hunter2%zz@h/db", // bad escape in the password
             "https:admin:hunter2@h/db",      // no slashes
             "admin:hunter2@h:5984/db",       // no scheme
             "file://admin:hunter2@h/x.db",   // file URL with a host
         }) {
        CAPTURE(text);
        try {
            (void)edw::Url::parse(text);
            FAIL("no exception");
        } catch (const edw::ConfigError& error) {
            const std::string message = error.what();
            CHECK(message.find("hunter2") == std::string::npos);
            CHECK(message.find("hunt") == std::string::npos);
            CHECK(message.find("***") != std::string::npos);
        }
    }
}

TEST_SUITE_END();
