// ListenerProcess: one listener process of `edw bench pipeline`, and the counts it reports.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace edw::tools {

/// A listener process of the synthetic pipeline (`edw bench step`, or its Python twin), its
/// standard input held open (closing it stops the listener) and its reports read as they come.
class ListenerProcess {
public:
    /// Starts `argv` with `environment`, its standard error going to the file `log`. Throws
    /// StoreError when it cannot.
    ListenerProcess(const std::vector<std::string>& argv,
                    const std::vector<std::string>& environment, const std::filesystem::path& log);

    ~ListenerProcess() { stop(); }

    ListenerProcess(const ListenerProcess&) = delete;
    ListenerProcess& operator=(const ListenerProcess&) = delete;

    // Waits until the count reaches `count`; false when the listener ended first or reported
    // nothing new for `silence`.
    bool wait_for(long count, std::chrono::seconds silence);

    bool wait_ready(std::chrono::seconds limit);

    long recorded();

    /// The peak resident set (VmHWM) in MB, while it runs.
    [[nodiscard]] double peak_rss_mb() const;

    /// Closes its standard input, which stops it, and returns its exit status once it has ended
    /// and all it printed is read.
    int stop();

    /// The feed rows it read, known once it has stopped; -1 when it did not say.
    long feed_rows();

    /// CPU seconds (user + system) it has used so far; 0 once it has ended.
    [[nodiscard]] double cpu_seconds() const;

    [[nodiscard]] const std::filesystem::path& log() const { return m_log; }

private:
    void read_reports(int fd);

    std::filesystem::path m_log;
    pid_t m_pid = -1;
    int m_input = -1;
    int m_status = 0;
    std::thread m_reader;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    bool m_ready = false;
    bool m_ended = false;
    long m_recorded = 0;
    long m_feed_rows = -1;
};

} // namespace edw::tools
