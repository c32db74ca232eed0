// OpenDatabase: backend choice by URL scheme.
#include "edw/app/open_database.hpp"

#include <edw/couch/couch_server.hpp>
#include <edw/store/embedded_store.hpp>

namespace edw {

std::unique_ptr<Database> open_database(const Settings& settings)
{
    if (settings.server.is_file()) {
        // The embedded store's functions get the time CouchDB gives its JavaScript processes.
        return open_embedded_store(settings.server.path(),
                                   std::chrono::milliseconds(settings.js_timeout),
                                   settings.database);
    }
    return connect_server(settings)->database(settings.database);
}

} // namespace edw
