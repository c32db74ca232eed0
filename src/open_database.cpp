// OpenDatabase: backend choice by URL scheme.
#include "edw/open_database.hpp"

#include <edw/couch_server.hpp>
#include <edw/error.hpp>

namespace edw {

std::unique_ptr<Database> open_database(const Settings& settings)
{
    if (settings.server.is_file()) {
        throw ConfigError(settings.source + ": url: " + settings.server.str() +
                          " names an embedded store, which this version of edw cannot open "
                          "(use an http:// or https:// CouchDB-compatible server)");
    }
    return connect_server(settings)->database(settings.database);
}

} // namespace edw
