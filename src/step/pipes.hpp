// Pipes: the pipe ends and exit descriptions shared by command steps and command workers.
#pragma once

#include <edw/step/command_step.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace edw {

/// How much of a command's stderr a failure keeps as its detail.
inline constexpr std::size_t stderr_tail = 2048;

/// Both ends of a pipe, each closed once, at the latest when the Pipe goes.
struct Pipe {
    int read = -1;
    int write = -1;

    Pipe() = default;
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    ~Pipe()
    {
        close_read();
        close_write();
    }
    void close_read()
    {
        if (read >= 0) {
            ::close(read);
            read = -1;
        }
    }
    void close_write()
    {
        if (write >= 0) {
            ::close(write);
            write = -1;
        }
    }
};

/// Opens `pipe` close-on-exec, so that no other child inherits its ends. Throws StepFailure.
inline void open_pipe(Pipe& pipe, const std::string& step)
{
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) {
        throw StepFailure("step " + step + ": cannot make a pipe: " + std::strerror(errno), "");
    }
    pipe.read = ends[0];
    pipe.write = ends[1];
}

/// How a child ended, as waitpid's `status` says: "exited with status 3", "was killed by ...".
inline std::string describe_end(int status)
{
    if (WIFEXITED(status)) {
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        return std::string("was killed by signal ") + ::strsignal(WTERMSIG(status));
    }
    return "ended oddly";
}

/// Drops all but the last `size` bytes of `text`.
inline void keep_tail(std::string& text, std::size_t size)
{
    if (text.size() > size) {
        text.erase(0, text.size() - size);
    }
}

} // namespace edw
