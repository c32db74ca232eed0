// TestServer: per-test databases and fixtures.
#include "test_server.hpp"

#include <edw/app/open_database.hpp>
#include <edw/design/design_doc.hpp>
#include <edw/util/error.hpp>

#include <cstdlib>

#ifndef EDW_SOURCE_DIR
#define EDW_SOURCE_DIR "."
#endif

edw::Settings test_settings(const std::string& name)
{
    const char* url = std::getenv("EDW_TEST_URL");
    edw::Settings settings;
    settings.server = edw::Url::parse(url != nullptr ? url : "http://127.0.0.1:15984");
    settings.database = name;
    const char* user = std::getenv("EDW_TEST_USER");
    const char* password = std::getenv("EDW_TEST_PASSWORD");
    settings.username = user != nullptr ? user : "edw-admin";
    settings.password = password != nullptr ? password : "edw-test-password";
    settings.auth = edw::AuthMethod::basic;
    settings.heartbeat = std::chrono::milliseconds(1000);
    settings.source = "test";
    return settings;
}

bool server_is_couchdb()
{
    static const bool couchdb =
        edw::open_database(test_settings("_users"))->server_welcome().value("couchdb", "") ==
        "Welcome";
    return couchdb;
}

std::unique_ptr<edw::Database> fresh_database(const std::string& name)
{
    auto database = edw::open_database(test_settings(name));
    try {
        database->destroy();
    } catch (const edw::HttpError& error) {
        if (!error.is_not_found()) {
            throw;
        }
    }
    database->create();
    return database;
}

void push_process_design(edw::Database& database)
{
    const auto saved =
        database.save(edw::build_design_doc(std::string(EDW_SOURCE_DIR) + "/design-docs/process"));
    if (saved.is_conflict()) {
        throw edw::Error("design doc already there");
    }
}

nlohmann::json new_metadata_doc(const std::string& id)
{
    return {{"_id", id},
            {"status", "good"},
            {"run", id.substr(0, id.find('_'))},
            {"md5sum", "977f5c2288038a593d04eb35b08670b2"},
            {"conditions", {{"temperature", 0.0151}}},
            {"original_file", "/mnt/data/" + id + ".root"},
            {"process", nlohmann::json::array()}};
}
