// TestServer: databases on the test server that the CTest fixture started on 127.0.0.1.
#pragma once

#include <edw/db/database.hpp>
#include <edw/util/settings.hpp>

#include <memory>
#include <string>

/// Settings for database `name` on the test server (EDW_TEST_URL, default port 15984).
edw::Settings test_settings(const std::string& name);

/// True when the test server says it is CouchDB (`GET /`), not pouchdb-server: asked once.
bool server_is_couchdb();

/// A new, empty database `name` on the test server (deleted first if it exists).
std::unique_ptr<edw::Database> fresh_database(const std::string& name);

/// Uploads design-docs/process from the source tree to `database`.
void push_process_design(edw::Database& database);

/// A new EDELWEISS-shaped metadata doc with an empty process array.
nlohmann::json new_metadata_doc(const std::string& id);
