// Daemon: detaching from the terminal, and telling the starter once the daemon is up.
#pragma once

#include <filesystem>
#include <string_view>

namespace edw {

/// A process detached from its terminal whose starter waits for word from it.
///
/// The command that started it returns only once the daemon has said `started()` (exit 0) or
/// `failed()` (that status, the message on its standard error), or has died (exit 1): systemd's
/// `Type=forking` and init scripts read the pid file as soon as the command returns.
class Daemon {
public:
    /// Forks twice (the daemon is no session leader and never gets a terminal back) and returns
    /// in the daemon, with standard input and output on /dev/null. Throws StoreError when it
    /// cannot fork. The starting process never returns from here.
    [[nodiscard]] static Daemon detach();

    Daemon(Daemon&& other) noexcept;
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;
    Daemon& operator=(Daemon&&) = delete;
    ~Daemon();

    /// The daemon is up: the starter exits with 0.
    void started();
    /// The daemon could not start: the starter prints `message` and exits with `status`.
    void failed(int status, std::string_view message);
    /// Whether started() or failed() was said.
    [[nodiscard]] bool has_reported() const noexcept { return m_fd < 0; }

private:
    explicit Daemon(int fd)
        : m_fd(fd)
    {}
    void report(int status, std::string_view message);
    int m_fd;
};

/// Writes this process's pid to `path` atomically (a file beside it, then renamed), so that a
/// reader finds the old content or the new, never an empty or half-written file. Throws
/// StoreError when it cannot.
void write_pidfile(const std::filesystem::path& path);

} // namespace edw
