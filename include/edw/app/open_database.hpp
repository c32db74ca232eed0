// OpenDatabase: from settings to a Database, whichever backend the URL names.
#pragma once

#include <edw/db/database.hpp>
#include <edw/util/settings.hpp>

#include <memory>

namespace edw {

/// The database that `settings` describe. Throws ConfigError for a URL scheme this build cannot
/// serve. Nothing is sent to the server yet.
std::unique_ptr<Database> open_database(const Settings& settings);

} // namespace edw
