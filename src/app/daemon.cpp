// Daemon: detaching from the terminal, and telling the starter once the daemon is up.
#include "edw/app/daemon.hpp"

#include <edw/util/error.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace edw {
namespace {

[[noreturn]] void fail_to_fork()
{
    throw StoreError(std::string("cannot fork: ") + std::strerror(errno));
}

// The starter's side: the first byte read is the exit status, the rest a message; nothing at
// all means the daemon died before it could say anything.
[[noreturn]] void wait_for_word(int fd, pid_t child)
{
    std::string received;
    char buffer[512];
    for (;;) {
        const ssize_t count = ::read(fd, buffer, sizeof buffer);
        if (count > 0) {
            received.append(buffer, static_cast<std::size_t>(count));
        } else if (count == 0 || errno != EINTR) {
            break;
        }
    }
    int ignored = 0;
    ::waitpid(child, &ignored, 0);
    if (received.empty()) {
        std::fputs("the daemon stopped before it had started; its log file says why\n", stderr);
        std::_Exit(1);
    }
    const int status = static_cast<unsigned char>(received[0]);
    if (received.size() > 1) {
        std::fprintf(stderr, "%s\n", received.c_str() + 1);
    }
    std::_Exit(status);
}

} // namespace

Daemon Daemon::detach()
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw StoreError(std::string("cannot make a pipe: ") + std::strerror(errno));
    }
    const pid_t first = ::fork();
    if (first < 0) {
        fail_to_fork();
    }
    if (first > 0) {
        ::close(fds[1]);
        wait_for_word(fds[0], first);
    }
    ::close(fds[0]);
    ::setsid();
    const pid_t second = ::fork();
    if (second < 0) {
        const std::string message = std::string("cannot fork: ") + std::strerror(errno);
        Daemon(fds[1]).failed(1, message);
        std::_Exit(1);
    }
    if (second > 0) {
        std::_Exit(0);
    }
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
        ::dup2(null, STDIN_FILENO);
        ::dup2(null, STDOUT_FILENO);
        ::dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO) {
            ::close(null);
        }
    }
    return Daemon(fds[1]);
}

Daemon::Daemon(Daemon&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1))
{}

Daemon::~Daemon()
{
    if (m_fd >= 0) {
        ::close(m_fd); // the starter reads nothing and says the daemon stopped
    }
}

void Daemon::started()
{
    report(0, {});
}

void Daemon::failed(int status, std::string_view message)
{
    report(status == 0 ? 1 : status, message);
}

void Daemon::report(int status, std::string_view message)
{
    if (m_fd < 0) {
        return;
    }
    std::string word(1, static_cast<char>(status));
    word.append(message);
    std::size_t sent = 0;
    while (sent < word.size()) {
        const ssize_t count = ::write(m_fd, word.data() + sent, word.size() - sent);
        if (count < 0 && errno == EINTR) {
            continue;
        }
        if (count <= 0) {
            break;
        }
        sent += static_cast<std::size_t>(count);
    }
    ::close(std::exchange(m_fd, -1));
}

void write_pidfile(const std::filesystem::path& path)
{
    const std::filesystem::path temporary = path.string() + ".tmp-" + std::to_string(::getpid());
    const std::string text = std::to_string(::getpid()) + "\n";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw StoreError("cannot write pid file " + path.string() + ": " + std::strerror(errno));
    }
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const int saved_errno = errno;
    ::close(fd);
    if (!written || std::rename(temporary.c_str(), path.c_str()) != 0) {
        const int error = written ? errno : saved_errno;
        ::unlink(temporary.c_str());
        throw StoreError("cannot write pid file " + path.string() + ": " + std::strerror(error));
    }
}

} // namespace edw
