// ListenerLock: one running instance per listener name and store.
#pragma once

#include <edw/util/error.hpp>
#include <edw/util/settings.hpp>

#include <filesystem>
#include <string>

namespace edw {

/// Another process holds the lock: its own exit status (75), so that scripts and systemd can tell
/// "already running" from a failure.
class AlreadyRunning : public StoreError {
public:
    using StoreError::StoreError;
};

/// What a store is, whichever way the settings spell it: the server URL (no credentials) and the
/// database for a server, `file:` and the store file's real path for the embedded store. Two
/// listeners clash only when this and their name are the same.
[[nodiscard]] std::string store_identity(const Settings& settings);

/// Where lock files belong: `$XDG_RUNTIME_DIR/edw`, else `/run/edw` for root, else
/// `<temp>/edw-<uid>` (made private to the user).
[[nodiscard]] std::filesystem::path default_lock_dir();

/// An exclusive lock held for the life of the process, and released by the kernel when the
/// process dies, so that a crash never leaves a stale lock behind. The file is named for the
/// listener and a digest of the store's identity, and holds the pid, the listener and the store,
/// so that a user can tell which instance holds it.
class ListenerLock {
public:
    /// Takes the lock in `directory` (created when missing). Throws AlreadyRunning when another
    /// process holds it, StoreError when the file cannot be made.
    ListenerLock(const std::filesystem::path& directory, const std::string& store,
                 const std::string& listener);
    ~ListenerLock();
    ListenerLock(const ListenerLock&) = delete;
    ListenerLock& operator=(const ListenerLock&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }
    /// Writes the current pid into the file: a daemon calls it again once it has forked.
    void record_owner();

private:
    std::filesystem::path m_path;
    std::string m_store;
    std::string m_listener;
    int m_fd = -1;
};

} // namespace edw
