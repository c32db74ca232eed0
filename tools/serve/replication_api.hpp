// ReplicationApi: the embedded store behind `edw serve --replication-api`, in the subset of
// CouchDB's HTTP API that CouchDB's and PouchDB's replicators use.
#pragma once

#include <edw/db/database.hpp>

#include <atomic>
#include <string>

namespace httplib {
class Server;
}

namespace edw::tools {

/// Adds `/<name>` (info), `/<name>/_changes` (normal, longpoll, continuous), `_revs_diff`,
/// `_bulk_get`, `_bulk_docs` (`new_edits` true or false), `_local/<id>` read and write,
/// `_ensure_full_commit` and single doc reads, all answered from `database`. A feed ends when
/// `stopping` is set.
void add_replication_routes(httplib::Server& server, Database& database, const std::string& name,
                            const std::atomic<bool>& stopping);

} // namespace edw::tools
