// EmbeddedStore: how the parts above the store open one, without seeing how it is made.
#pragma once

#include <edw/db/database.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

namespace edw {

/// The embedded store in the SQLite file at `path` (see SqliteDatabase): its design docs'
/// functions may run `js_timeout` each, and `name` is the database name it reports.
std::unique_ptr<Database> open_embedded_store(const std::filesystem::path& path,
                                              std::chrono::milliseconds js_timeout,
                                              const std::string& name);

} // namespace edw
