// ProcessCpu: CPU seconds of a process and its children, and the process behind a local port.
#pragma once

#include <edw/util/url.hpp>

#include <sys/types.h>

#include <optional>

namespace edw::tools {

/// The process listening on `url`'s port when the host is this machine (127.0.0.1, localhost,
/// ::1), found through /proc/net/tcp{,6} and the processes' open sockets; nothing when the host
/// is elsewhere or the listener is not visible (another user's process without privileges).
std::optional<pid_t> local_server_pid(const Url& url);

/// User plus system CPU seconds of `pid` and all its live descendants (CouchDB's couchjs
/// children), from /proc/<pid>/stat; 0 when it is gone.
double process_tree_cpu_seconds(pid_t pid);

} // namespace edw::tools
