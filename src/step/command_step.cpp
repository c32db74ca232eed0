// CommandStep: one child process per doc, fed and drained through pipes with poll().
#include "edw/step/command_step.hpp"

#include "pipes.hpp"

#include <edw/util/child_process.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace edw {
namespace {

using Clock = std::chrono::steady_clock;

nlohmann::json run_command(const CommandStepOptions& options, const nlohmann::json& doc)
{
    const std::string id = doc.value("_id", "?");
    const std::string what = "step " + options.name + " on doc " + id + ": the command";
    Pipe in;
    Pipe out;
    Pipe err;
    open_pipe(in, options.name);
    open_pipe(out, options.name);
    open_pipe(err, options.name);

    // Its own process group: a timeout ends the command and everything it started.
    pid_t child = -1;
    const int spawned = spawn_child(child, {"/bin/sh", "-c", options.command}, in.read, out.write,
                                    err.write, {"EDW_STEP=" + options.name, "EDW_DOC_ID=" + id});
    if (spawned != 0) {
        throw StepFailure(what + " cannot start: " + std::strerror(spawned), "");
    }
    in.close_read();
    out.close_write();
    err.close_write();
    ::fcntl(in.write, F_SETFL, O_NONBLOCK);

    const std::string input = doc.dump();
    std::size_t written = 0;
    std::string output;
    std::string errors;
    bool too_much = false;
    const auto deadline = Clock::now() + options.timeout;
    bool timed_out = false;
    while (out.read >= 0 || err.read >= 0) {
        std::vector<pollfd> watched;
        if (in.write >= 0) {
            watched.push_back({in.write, POLLOUT, 0});
        }
        if (out.read >= 0) {
            watched.push_back({out.read, POLLIN, 0});
        }
        if (err.read >= 0) {
            watched.push_back({err.read, POLLIN, 0});
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        if (::poll(watched.data(), watched.size(), static_cast<int>(left.count())) < 0 &&
            errno != EINTR) {
            break;
        }
        for (const auto& entry : watched) {
            if (entry.revents == 0) {
                continue;
            }
            if (entry.fd == in.write) {
                const auto sent = ::write(in.write, input.data() + written, input.size() - written);
                if (sent > 0) {
                    written += static_cast<std::size_t>(sent);
                }
                // Done, or the command stopped reading: either way it gets end of input.
                if (written == input.size() || (sent < 0 && errno != EAGAIN && errno != EINTR)) {
                    in.close_write();
                }
                continue;
            }
            char bytes[65536];
            const auto got = ::read(entry.fd, bytes, sizeof bytes);
            if (got <= 0) {
                if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
                    continue;
                }
                (entry.fd == out.read ? out : err).close_read();
                continue;
            }
            if (entry.fd == out.read) {
                if (output.size() + static_cast<std::size_t>(got) > options.max_output) {
                    too_much = true;
                } else {
                    output.append(bytes, static_cast<std::size_t>(got));
                }
            } else {
                errors.append(bytes, static_cast<std::size_t>(got));
                if (errors.size() > 2 * stderr_tail) {
                    keep_tail(errors, stderr_tail);
                }
            }
        }
    }
    if (timed_out) {
        ::kill(-child, SIGKILL);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    keep_tail(errors, stderr_tail);
    if (timed_out) {
        throw StepFailure(what + " ran longer than " + std::to_string(options.timeout.count()) +
                              " ms and was killed",
                          errors);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw StepFailure(what + " " + describe_end(status), errors);
    }
    if (too_much) {
        throw StepFailure(what + " wrote more than " + std::to_string(options.max_output) +
                              " bytes to stdout",
                          errors);
    }
    auto result = nlohmann::json::parse(output, nullptr, false);
    if (!result.is_object()) {
        throw StepFailure(what + " wrote no JSON object to stdout: " + output.substr(0, 200),
                          errors);
    }
    return result;
}

} // namespace

Step command_step(CommandStepOptions options)
{
    // A command that exits before reading its input makes our write fail with EPIPE, which
    // must not end the listener.
    ignore_sigpipe();
    Step step;
    step.name = options.name;
    step.follows = options.follows;
    step.run = [options = std::move(options)](const nlohmann::json& doc) {
        return run_command(options, doc);
    };
    return step;
}

} // namespace edw
