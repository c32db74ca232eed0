#include <edw/util/log.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

TEST_SUITE_BEGIN("log");

TEST_CASE("a log line has a timestamp, the program and level, and no password")
{
    const auto path = std::filesystem::temp_directory_path() / "edw_log_test.log";
    std::filesystem::remove(path);
    edw::configure_log({.program = "listen_test", .level = edw::LogLevel::info, .file = path});
    edw::log_debug("not shown");
    edw::log_warning("cannot reach https://admin:hunter2@db.example.org/edw");
    edw::configure_log({});
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    const std::string line = text.str();
    CHECK(line.find("listen_test warning: cannot reach https://") != std::string::npos);
    CHECK(line.find("hunter2") == std::string::npos);
    CHECK(line.find("not shown") == std::string::npos);
    CHECK(line[4] == '-');
    std::filesystem::remove(path);
}

TEST_CASE("an unknown log level is a config error")
{
    CHECK_THROWS(edw::parse_log_level("loud"));
    CHECK(edw::parse_log_level("debug") == edw::LogLevel::debug);
}

TEST_SUITE_END();
