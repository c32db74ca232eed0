// ListenerProcess: the process, its pipes, its reports and its /proc figures.
#include "listener_process.hpp"

#include "process_cpu.hpp"

#include <edw/util/child_process.hpp>
#include <edw/util/error.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace edw::tools {

ListenerProcess::ListenerProcess(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& environment,
                                 const std::filesystem::path& log)
    : m_log(log)
{
    int input[2];
    int output[2];
    if (::pipe2(input, O_CLOEXEC) != 0 || ::pipe2(output, O_CLOEXEC) != 0) {
        throw StoreError(std::string("cannot make a pipe: ") + std::strerror(errno));
    }
    const int errors = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (errors < 0) {
        throw StoreError("cannot write " + log.string() + ": " + std::strerror(errno));
    }
    const int failed = spawn_child(m_pid, argv, input[0], output[1], errors, environment);
    ::close(input[0]);
    ::close(output[1]);
    ::close(errors);
    if (failed != 0) {
        ::close(input[1]);
        ::close(output[0]);
        throw StoreError("cannot start " + argv[0] + ": " + std::strerror(failed));
    }
    m_input = input[1];
    m_reader = std::thread([this, fd = output[0]] { read_reports(fd); });
}

bool ListenerProcess::wait_for(long count, std::chrono::seconds silence)
{
    std::unique_lock lock(m_mutex);
    long seen = m_recorded;
    for (;;) {
        if (m_recorded >= count) {
            return true;
        }
        if (m_ended) {
            return false;
        }
        if (!m_changed.wait_for(lock, silence, [&] {
                return m_recorded != seen || m_ended || m_recorded >= count;
            })) {
            return false;
        }
        seen = m_recorded;
    }
}

bool ListenerProcess::wait_ready(std::chrono::seconds limit)
{
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, limit, [&] { return m_ready || m_ended; }) && m_ready;
}

long ListenerProcess::recorded()
{
    const std::lock_guard lock(m_mutex);
    return m_recorded;
}

double ListenerProcess::peak_rss_mb() const
{
    std::ifstream status("/proc/" + std::to_string(m_pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
        }
    }
    return 0;
}

int ListenerProcess::stop()
{
    if (m_input >= 0) {
        ::close(m_input);
        m_input = -1;
    }
    if (m_pid > 0) {
        int status = 0;
        while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
        }
        m_pid = -1;
        m_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (m_reader.joinable()) {
        m_reader.join();
    }
    return m_status;
}

long ListenerProcess::feed_rows()
{
    const std::lock_guard lock(m_mutex);
    return m_feed_rows;
}

void ListenerProcess::read_reports(int fd)
{
    std::string buffer;
    char chunk[4096];
    for (;;) {
        const ssize_t got = ::read(fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        buffer.append(chunk, static_cast<std::size_t>(got));
        std::size_t end = 0;
        while ((end = buffer.find('\n')) != std::string::npos) {
            const std::string line = buffer.substr(0, end);
            buffer.erase(0, end + 1);
            const std::lock_guard lock(m_mutex);
            if (line == "ready") {
                m_ready = true;
            } else if (line.rfind("recorded ", 0) == 0) {
                m_recorded = std::strtol(line.c_str() + 9, nullptr, 10);
            } else if (line.rfind("feed_rows ", 0) == 0) {
                m_feed_rows = std::strtol(line.c_str() + 10, nullptr, 10);
            }
            m_changed.notify_all();
        }
    }
    ::close(fd);
    const std::lock_guard lock(m_mutex);
    m_ended = true;
    m_changed.notify_all();
}

double ListenerProcess::cpu_seconds() const
{
    return m_pid > 0 ? process_tree_cpu_seconds(m_pid) : 0;
}

} // namespace edw::tools
