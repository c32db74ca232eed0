#include "edw/util/settings.hpp"

#include "scratch_directory.hpp"

#include <edw/util/error.hpp>

#include <doctest/doctest.h>

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace {

using namespace std::chrono_literals;

// An environment made of the given variables only.
edw::Environment fake_environment(std::map<std::string, std::string> variables = {})
{
    return [variables = std::move(variables)](const std::string& name) {
        const auto found = variables.find(name);
        return found == variables.end() ? std::nullopt : std::optional<std::string>(found->second);
    };
}

edw::Settings parse(std::string_view text, std::map<std::string, std::string> variables = {})
{
    return edw::parse_settings(text, "edw.ini", fake_environment(std::move(variables)));
}

// The message parse() throws, so that a test can check what it does not contain.
std::string error_of(std::string_view text, std::map<std::string, std::string> variables = {})
{
    try {
        (void)parse(text, std::move(variables));
    } catch (const edw::ConfigError& error) {
        return error.what();
    }
    return "no exception";
}

using TemporaryDirectory = edw::test::ScratchDirectory;
using edw::test::WorkingDirectory;

constexpr std::string_view legacy_file = R"([Cloudant]
server=https://account.cloudant.com
dbname=dbname
username=username
password=password
viewname=_design/process/_view/lastproc
)";

} // namespace

TEST_SUITE_BEGIN("settings");

TEST_CASE("a [database] section gives every setting")
{
    const auto settings = parse(R"(
# The EDELWEISS database.
[database]
url = http://127.0.0.1:5984/
name = edelweiss
username = admin
password = s3cr;et # not a comment
auth = cookie
ca_file = /etc/edw/ca.pem
verify_tls = no
design = _design/steps
view = pending
timeout_ms = 5000
heartbeat_ms = 2500
)");
    CHECK(settings.server.str() == "http://127.0.0.1:5984");
    CHECK(settings.database == "edelweiss");
    CHECK(settings.username == "admin");
    CHECK(settings.password == "s3cr;et # not a comment");
    CHECK(settings.auth == edw::AuthMethod::cookie);
    CHECK(settings.ca_file == "/etc/edw/ca.pem");
    CHECK_FALSE(settings.verify_tls);
    CHECK(settings.design == "steps");
    CHECK(settings.view == "pending");
    CHECK(settings.request_timeout == 5000ms);
    CHECK(settings.heartbeat == 2500ms);
    CHECK(settings.source == "edw.ini");
}

TEST_CASE("settings not given take their defaults")
{
    const auto settings = parse("[database]\nurl=http://h\nname=db\n");
    CHECK(settings.username.empty());
    CHECK(settings.password.empty());
    CHECK(settings.auth == edw::AuthMethod::none);
    CHECK(settings.ca_file.empty());
    CHECK(settings.verify_tls);
    CHECK(settings.design == "process");
    CHECK(settings.view == "lastproc");
    CHECK(settings.request_timeout == 30000ms);
    CHECK(settings.heartbeat == 10000ms);
}

TEST_CASE("the three key-value separators, case-insensitive names and comments are accepted")
{
    const auto settings = parse("\xEF\xBB\xBF; made by hand\r\n"
                                "  [DataBase]  \r\n"
                                "  URL: https://h:6984  \r\n"
                                "# a comment\r\n"
                                "Name=edelweiss\r\n"
                                "USERNAME  =  reader\r\n");
    CHECK(settings.server.str() == "https://h:6984");
    CHECK(settings.database == "edelweiss");
    CHECK(settings.username == "reader");
    CHECK(settings.auth == edw::AuthMethod::basic);
}

TEST_CASE("the legacy [Cloudant] file of the original scripts loads unchanged")
{
    const auto settings = parse(legacy_file);
    CHECK(settings.server.str() == "https://account.cloudant.com");
    CHECK(settings.database == "dbname");
    CHECK(settings.username == "username");
    CHECK(settings.password == "password");
    CHECK(settings.auth == edw::AuthMethod::basic);
    CHECK(settings.design == "process");
    CHECK(settings.view == "lastproc");
}

TEST_CASE("[database] wins over [Cloudant] key by key")
{
    const auto settings = parse(std::string(legacy_file) + R"(
[database]
name = edelweiss
view = other
)");
    CHECK(settings.server.str() == "https://account.cloudant.com");
    CHECK(settings.database == "edelweiss");
    CHECK(settings.username == "username");
    CHECK(settings.design == "process");
    CHECK(settings.view == "other");
}

TEST_CASE("other sections are ignored, unknown keys included")
{
    const auto settings = parse("[listener]\nwhatever = 1\n[database]\nurl=http://h\nname=db\n"
                                "[logging]\nlevel: debug\n");
    CHECK(settings.database == "db");
}

TEST_CASE("the environment wins over the file")
{
    const auto settings = parse(legacy_file, {{"EDW_URL", "http://[::1]:5984"},
                                              {"EDW_DB", "edelweiss"},
                                              {"EDW_USERNAME", "ops"},
                                              {"EDW_PASSWORD", "from-env"},
                                              {"EDW_AUTH", "cookie"},
                                              {"EDW_CA_FILE", "/ca.pem"}});
    CHECK(settings.server.str() == "http://[::1]:5984");
    CHECK(settings.database == "edelweiss");
    CHECK(settings.username == "ops");
    CHECK(settings.password == "from-env");
    CHECK(settings.auth == edw::AuthMethod::cookie);
    CHECK(settings.ca_file == "/ca.pem");
}

TEST_CASE("an environment variable set to the empty string counts as unset")
{
    const auto settings =
        parse(legacy_file, {{"EDW_URL", ""}, {"EDW_DB", ""}, {"EDW_PASSWORD", ""}});
    CHECK(settings.server.str() == "https://account.cloudant.com");
    CHECK(settings.database == "dbname");
    CHECK(settings.password == "password");
}

TEST_CASE("credentials in the URL become the username and password")
{
    const auto settings = parse("[database]\nurl = https://ad%40min:p%3Ass@h/\nname = db\n");
    CHECK(settings.server.str() == "https://h");
    CHECK(settings.server.username().empty());
    CHECK(settings.server.password().empty());
    CHECK(settings.username == "ad@min");
    CHECK(settings.password == "p:ss");
    CHECK(settings.auth == edw::AuthMethod::basic);
}

TEST_CASE("username and password keys win over credentials in the URL")
{
    const auto settings =
        parse("[database]\nurl = https://u:p@h\nname = db\npassword = from-key\n");
    CHECK(settings.username == "u");
    CHECK(settings.password == "from-key");
}

TEST_CASE("credentials in EDW_URL win over the file's username and password")
{
    const auto settings = parse(legacy_file, {{"EDW_URL", "https://ops:from-env@h"}});
    CHECK(settings.username == "ops");
    CHECK(settings.password == "from-env");
}

TEST_CASE("a file without a [database] or [Cloudant] section is refused")
{
    CHECK(error_of("[other]\nurl = http://h\n") == "edw.ini: no [database] or [Cloudant] section");
    CHECK(error_of("") == "edw.ini: no [database] or [Cloudant] section");
}

TEST_CASE("a missing database name is refused naming the key")
{
    CHECK(error_of("[database]\nurl = http://h\n") ==
          "edw.ini: [database] name: missing (the database name)");
    CHECK(error_of("[Cloudant]\nserver = http://h\n") ==
          "edw.ini: [Cloudant] dbname: missing (the database name)");
}

TEST_CASE("with no server URL the embedded store is used, in a file named after the database")
{
    const auto named = parse("[database]\nname = db\n");
    CHECK(named.server.is_file());
    CHECK(named.server.str() == "file:edw-data/db.db");
    CHECK(named.database == "db");
    const auto unnamed = parse("[database]\nheartbeat_ms = 500\n");
    CHECK(unnamed.server.str() == "file:edw-data/edw.db");
    CHECK(unnamed.database == "edw");
    CHECK(error_of("[database]\nname = Bad\n").find("not a CouchDB database name") !=
          std::string::npos);
}

TEST_CASE("a malformed line is refused with its number and without its text")
{
    CHECK(error_of("[database]\nurl = http://h\nhunter2\n") ==
          "edw.ini: line 3: expected 'key = value' or '[section]'");
    CHECK(error_of("[database\n") == "edw.ini: line 1: expected 'key = value' or '[section]'");
    CHECK(error_of("[database]\n= value\n") ==
          "edw.ini: line 2: expected 'key = value' or '[section]'");
}

TEST_CASE("a key before any section is refused")
{
    CHECK(error_of("url = http://h\n[database]\n") ==
          "edw.ini: line 1: 'url' comes before any [section]");
}

TEST_CASE("a bad URL is refused naming the section and key")
{
    CHECK(error_of("[database]\nurl = htp://x\nname = db\n") ==
          "edw.ini: [database] url: bad URL 'htp://x': unknown scheme 'htp'");
    CHECK(error_of("[Cloudant]\nserver = https://h:x\ndbname = db\n") ==
          "edw.ini: [Cloudant] server: bad URL 'https://h:x': port 'x' is not a number");
    CHECK(error_of("[database]\nname = db\n", {{"EDW_URL", "ftp://h"}}) ==
          "environment variable EDW_URL: bad URL 'ftp://h': unknown scheme 'ftp'");
}

TEST_CASE("an unknown key in a known section is refused naming the file, section and key")
{
    CHECK_THROWS_WITH_AS(parse("[database]\nurl = http://h\nnmae = db\n"),
                         doctest::Contains("edw.ini: line 3: [database] nmae: unknown key"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(parse("[cloudant]\nviewnames = x\n"),
                         doctest::Contains("edw.ini: line 2: [cloudant] viewnames: unknown key"),
                         edw::ConfigError);
    // ConfigParser splits at ':' too: a line that lost its '=' reads as a key with a space.
    CHECK_THROWS_WITH_AS(parse("[database]\nurl file:edw-data/x.db\n"),
                         doctest::Contains("edw.ini: line 2: [database] url file: unknown key "
                                           "(expected 'key = value': is the '=' missing?)"),
                         edw::ConfigError);
}

TEST_CASE("a key given twice is refused with both lines")
{
    CHECK(error_of("[database]\nname = a\nurl = http://h\nNAME = b\n") ==
          "edw.ini: [database] name: given twice (lines 2 and 4)");
}

TEST_CASE("a malformed viewname is refused naming the key")
{
    for (const auto* viewname : {"process/lastproc", "_design/process/_view/", "_design//_view/v",
                                 "_design/a/b/_view/v", "_design/process/lastproc"}) {
        CAPTURE(viewname);
        CHECK(error_of(std::string("[Cloudant]\nserver = http://h\ndbname = db\nviewname = ") +
                       viewname + "\n") ==
              std::string("edw.ini: [Cloudant] viewname: expected '_design/<design>/_view/<view>', "
                          "not '") +
                  viewname + "'");
    }
}

TEST_CASE("a verify_tls that is not a boolean is refused")
{
    CHECK(error_of("[database]\nurl = http://h\nname = db\nverify_tls = maybe\n") ==
          "edw.ini: [database] verify_tls: expected true or false, not 'maybe'");
    for (const auto* word : {"true", "Yes", "1", "on"}) {
        CHECK(
            parse(std::string("[database]\nurl=http://h\nname=db\nverify_tls=") + word).verify_tls);
    }
}

TEST_CASE("a bad auth, timeout, design or database name is refused naming the key")
{
    const std::string base = "[database]\nurl = http://h\nname = db\n";
    CHECK(error_of(base + "auth = digest\n") ==
          "edw.ini: [database] auth: expected none, basic or cookie, not 'digest'");
    CHECK(error_of(base + "auth = basic\n") ==
          "edw.ini: [database] auth: 'basic' needs a username");
    CHECK(error_of(base + "timeout_ms = 10s\n") ==
          "edw.ini: [database] timeout_ms: expected a positive whole number of milliseconds, not "
          "'10s'");
    CHECK(error_of(base + "heartbeat_ms = 0\n") ==
          "edw.ini: [database] heartbeat_ms: expected a positive whole number of milliseconds, "
          "not '0'");
    CHECK(error_of(base + "design = a/b\n") ==
          "edw.ini: [database] design: expected a name without '/', not 'a/b'");
    CHECK_THROWS_WITH_AS(parse("[database]\nurl = http://h\nname = EDW\n"),
                         doctest::Contains("edw.ini: [database] name: 'EDW' is not a CouchDB"),
                         edw::ConfigError);
}

TEST_CASE("no message ever shows the password")
{
    CHECK(error_of("[database]\nurl = htp://admin:hunter2@h\nname = db\n") ==
          "edw.ini: [database] url: bad URL 'htp://***@h': unknown scheme 'htp'");
    CHECK(error_of("[Cloudant]\nserver = https://admin:hun/ter2@h\ndbname = db\n").find("hun") ==
          std::string::npos);
    CHECK(error_of("[database]\nname = db\n", {{"EDW_URL", "https://admin:hunter2@h:x"}})
              .find("hunter2") == std::string::npos);
    CHECK(error_of("[database]\nurl = http://h\nname = db\npassword hunter2\n").find("hunter2") ==
          std::string::npos);
}

TEST_CASE("[edelweiss] gives the EDELWEISS steps their directories and host, kept as written")
{
    const auto settings = parse("[database]\nname = db\n[EDELWEISS]\nData_Directory = data/\n"
                                "results_directory: /sps/results\nhostname = ccage.in2p3.fr\n");
    CHECK(settings.edelweiss.data_directory == "data/");
    CHECK(settings.edelweiss.results_directory == "/sps/results");
    CHECK(settings.edelweiss.hostname == "ccage.in2p3.fr");
    const auto defaults = parse("[database]\nname = db\n");
    CHECK(defaults.edelweiss.data_directory.empty());
    CHECK(defaults.edelweiss.results_directory.empty());
    CHECK(defaults.edelweiss.hostname.empty());
}

TEST_CASE("EDW_DATA_DIRECTORY and EDW_RESULTS_DIRECTORY win over [edelweiss]")
{
    const auto settings =
        parse("[database]\nname = db\n[edelweiss]\ndata_directory = a\nresults_directory = b\n",
              {{"EDW_DATA_DIRECTORY", "/x"}, {"EDW_RESULTS_DIRECTORY", "/y"}});
    CHECK(settings.edelweiss.data_directory == "/x");
    CHECK(settings.edelweiss.results_directory == "/y");
    CHECK(
        parse("[database]\nname = db\n", {{"EDW_DATA_DIRECTORY", "/x"}}).edelweiss.data_directory ==
        "/x");
}

TEST_CASE("a misspelt, empty or lone [edelweiss] key is refused naming it")
{
    CHECK_THROWS_WITH_AS(parse("[database]\nname = db\n[edelweiss]\ndata_dir = /x\n"),
                         doctest::Contains("edw.ini: line 4: [edelweiss] data_dir: unknown key "
                                           "(known: data_directory, hostname, results_directory)"),
                         edw::ConfigError);
    CHECK(error_of("[database]\nname = db\n[edelweiss]\ndata_directory =\n") ==
          "edw.ini: [edelweiss] data_directory: empty; give a directory, or leave the key out");
    CHECK(error_of("[database]\nname = db\n[edelweiss]\nresults_directory = /r\n") ==
          "edw.ini: [edelweiss] results_directory: needs data_directory: without it the steps "
          "only simulate and write no results");
    CHECK(error_of("[database]\nname = db\n", {{"EDW_RESULTS_DIRECTORY", "/r"}}) ==
          "environment variable EDW_RESULTS_DIRECTORY: needs data_directory: without it the steps "
          "only simulate and write no results");
}

TEST_CASE("load_settings reads the given file and names it as the source")
{
    const TemporaryDirectory directory;
    const auto file = directory.write("site.ini", legacy_file);
    const auto settings = edw::load_settings(file, fake_environment());
    CHECK(settings.database == "dbname");
    CHECK(settings.source == file.string());
}

TEST_CASE("an explicitly given file that is missing is refused")
{
    CHECK_THROWS_WITH_AS(edw::load_settings("no-such-dir/edw.ini", fake_environment()),
                         "cannot read no-such-dir/edw.ini: No such file or directory",
                         edw::ConfigError);
}

TEST_CASE("without a file, ./edw.ini is read when it exists")
{
    const TemporaryDirectory directory;
    directory.write("edw.ini", "[database]\nurl = http://h\nname = local\n");
    const WorkingDirectory working_directory(directory.path());
    const auto settings = edw::load_settings({}, fake_environment());
    CHECK(settings.database == "local");
    CHECK(settings.source == "edw.ini");
}

TEST_CASE("without a file or ./edw.ini, the environment alone gives the settings")
{
    const TemporaryDirectory directory;
    const WorkingDirectory working_directory(directory.path());
    const auto settings = edw::load_settings(
        {}, fake_environment({{"EDW_URL", "https://u:p@h"}, {"EDW_DB", "edelweiss"}}));
    CHECK(settings.server.str() == "https://h");
    CHECK(settings.database == "edelweiss");
    CHECK(settings.username == "u");
    CHECK(settings.password == "p");
    CHECK(settings.source == "environment");

    // No URL anywhere: the embedded store.
    CHECK(edw::load_settings({}, fake_environment({{"EDW_DB", "edelweiss"}})).server.str() ==
          "file:edw-data/edelweiss.db");
    CHECK(edw::load_settings({}, fake_environment({})).server.str() == "file:edw-data/edw.db");
    CHECK_THROWS_WITH_AS(edw::load_settings({}, fake_environment({{"EDW_URL", "http://h"}})),
                         doctest::Contains("EDW_DB is not set"), edw::ConfigError);
}

TEST_CASE("process_environment reads the real environment")
{
    ::setenv("EDW_SETTINGS_TEST_VARIABLE", "set", 1);
    ::unsetenv("EDW_SETTINGS_TEST_UNSET");
    const auto env = edw::process_environment();
    CHECK(env("EDW_SETTINGS_TEST_VARIABLE") == "set");
    CHECK_FALSE(env("EDW_SETTINGS_TEST_UNSET").has_value());
}

TEST_SUITE_END();
