// CommandWorker: a pool of long-running worker processes, each fed one doc at a time through
// pipes watched with poll(), so that a step in any language costs no process start per doc.
#include "edw/step/command_worker.hpp"

#include "pipes.hpp"

#include <edw/util/child_process.hpp>
#include <edw/util/log.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace edw {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A stderr line longer than this is logged in pieces: a worker that never writes a newline
// is still heard, and cannot grow our buffer without end.
constexpr std::size_t longest_log_line = 4096;

int milliseconds_until(Clock::time_point deadline)
{
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
}

class Worker {
public:
    explicit Worker(const CommandStepOptions& options);
    ~Worker() { end(Clock::now()); }

    /// Whether it can take a doc: logs what it wrote to stderr while idle, and says no (and
    /// ends) when it ended or wrote to stdout unasked meanwhile.
    bool is_ready();
    /// The answer to `doc`. Throws StepFailure: after an edw_error answer the worker goes on;
    /// after anything else it has ended (!is_running()).
    nlohmann::json answer(const nlohmann::json& doc);
    [[nodiscard]] bool is_running() const noexcept { return m_pid > 0; }
    /// End of input: a worker that reads to the end of its stdin then exits.
    void close_input() { m_in.close_write(); }
    /// Waits until `deadline` for it to exit, kills what is left of its process group and
    /// reaps it. Returns how it ended, or nothing when it had to be killed.
    std::optional<int> end(Clock::time_point deadline);

private:
    // Logs what stderr holds, line by line, keeping it for the failure of the current doc.
    void read_errors();
    void log_line(std::string_view line) const
    {
        log_info("worker " + std::to_string(m_pid) + " of step " + m_options.name + ": " +
                 std::string(line));
    }
    // Ends the worker and throws: a worker that broke the protocol is not trusted again.
    [[noreturn]] void fail(const std::string& what);

    const CommandStepOptions& m_options; // the pool's, which outlives its workers
    pid_t m_pid = -1;
    Pipe m_in;
    Pipe m_out;
    Pipe m_err;
    std::string m_output; ///< Stdout read but not yet answered.
    std::string m_line;   ///< The stderr line being written.
    std::string m_errors; ///< Stderr during the current doc.
};

Worker::Worker(const CommandStepOptions& options)
    : m_options(options)
{
    open_pipe(m_in, options.name);
    open_pipe(m_out, options.name);
    open_pipe(m_err, options.name);
    const int spawned =
        spawn_child(m_pid, {"/bin/sh", "-c", options.command}, m_in.read, m_out.write, m_err.write,
                    {"EDW_STEP=" + options.name, "EDW_WORKER=1"});
    if (spawned != 0) {
        m_pid = -1;
        throw StepFailure(
            "step " + options.name + ": cannot start a worker: " + std::strerror(spawned), "");
    }
    m_in.close_read();
    m_out.close_write();
    m_err.close_write();
    // Ours never block: poll() says when to read or write, and draining reads to EAGAIN.
    for (const int fd : {m_in.write, m_out.read, m_err.read}) {
        ::fcntl(fd, F_SETFL, O_NONBLOCK);
    }
    log_info("started worker " + std::to_string(m_pid) + " of step " + options.name);
}

void Worker::read_errors()
{
    char bytes[16384];
    while (m_err.read >= 0) {
        const auto got = ::read(m_err.read, bytes, sizeof bytes);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0 && errno == EAGAIN) {
            return;
        }
        if (got <= 0) {
            m_err.close_read(); // its last words, without a newline, are logged by end()
            return;
        }
        const std::string_view text(bytes, static_cast<std::size_t>(got));
        m_errors.append(text);
        if (m_errors.size() > 2 * stderr_tail) {
            keep_tail(m_errors, stderr_tail);
        }
        m_line.append(text);
        std::size_t start = 0;
        for (auto newline = m_line.find('\n'); newline != std::string::npos;
             newline = m_line.find('\n', start)) {
            log_line(std::string_view(m_line).substr(start, newline - start));
            start = newline + 1;
        }
        m_line.erase(0, start);
        if (m_line.size() > longest_log_line) {
            log_line(m_line);
            m_line.clear();
        }
    }
}

std::optional<int> Worker::end(Clock::time_point deadline)
{
    if (m_pid <= 0) {
        return std::nullopt;
    }
    m_in.close_write();
    // Waited for without reaping: the group's id stays the worker's until it is reaped, so the
    // kill below cannot reach a stranger that reused the number.
    const auto exited = [this] {
        siginfo_t info{};
        return ::waitid(P_PID, static_cast<id_t>(m_pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
               info.si_pid != 0;
    };
    bool ended = exited();
    while (!ended && Clock::now() < deadline) {
        pollfd watched{m_err.read, POLLIN, 0}; // its last stderr lines, or a short nap
        ::poll(&watched, 1, std::min(10, milliseconds_until(deadline)));
        read_errors();
        ended = exited();
    }
    ::kill(-m_pid, SIGKILL); // what it started, and the worker itself when it did not exit
    int status = 0;
    while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
    }
    read_errors();
    if (!m_line.empty()) {
        log_line(m_line);
        m_line.clear();
    }
    m_err.close_read();
    m_out.close_read();
    m_pid = -1;
    return ended ? std::optional<int>(status) : std::nullopt;
}

bool Worker::is_ready()
{
    pollfd watched[] = {{m_out.read, POLLIN, 0}, {m_err.read, POLLIN, 0}};
    ::poll(watched, 2, 0);
    read_errors();
    if (m_output.empty() && watched[0].revents == 0) {
        return true;
    }
    char bytes[200];
    const auto got = ::read(m_out.read, bytes, sizeof bytes);
    if (m_output.empty() && got < 0 && errno == EAGAIN) {
        return true;
    }
    const std::string who = "worker " + std::to_string(m_pid) + " of step " + m_options.name;
    if (m_output.empty() && got == 0) {
        const auto status = end(Clock::now() + milliseconds(500));
        log_warning(who + (status ? " " + describe_end(*status) : " closed its stdout") +
                    " while idle; another takes its place");
    } else {
        m_output.append(bytes, static_cast<std::size_t>(std::max<ssize_t>(got, 0)));
        log_warning(who + " wrote to stdout unasked: " +
                    m_output.substr(0, std::min<std::size_t>(m_output.find('\n'), 200)) +
                    "; another takes its place");
        end(Clock::now());
    }
    return false;
}

void Worker::fail(const std::string& what)
{
    end(Clock::now());
    keep_tail(m_errors, stderr_tail);
    throw StepFailure(what, m_errors);
}

nlohmann::json Worker::answer(const nlohmann::json& doc)
{
    const std::string on_doc = "step " + m_options.name + " on doc " + doc.value("_id", "?") + ": ";
    const std::string what = on_doc + "the worker";
    // Strings that are not UTF-8 cannot come from a JSON parser; replaced, they cannot throw.
    const std::string input =
        doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    const auto deadline = Clock::now() + m_options.timeout;
    std::size_t written = 0;
    m_errors.clear();
    auto newline = std::string::npos;
    while ((newline = m_output.find('\n')) == std::string::npos &&
           m_output.size() <= m_options.max_output) {
        if (Clock::now() >= deadline) {
            fail(what + " gave no answer within " + std::to_string(m_options.timeout.count()) +
                 " ms and was killed");
        }
        pollfd watched[] = {{written < input.size() ? m_in.write : -1, POLLOUT, 0},
                            {m_out.read, POLLIN, 0},
                            {m_err.read, POLLIN, 0}};
        ::poll(watched, 3, milliseconds_until(deadline)); // EINTR: round again
        if (watched[0].revents != 0) {
            const auto sent = ::write(m_in.write, input.data() + written, input.size() - written);
            if (sent > 0) {
                written += static_cast<std::size_t>(sent);
            } else if (sent < 0 && errno != EAGAIN && errno != EINTR) {
                written = input.size(); // it closed its stdin: what it says next tells why
            }
        }
        if (watched[2].revents != 0) {
            read_errors();
        }
        if (watched[1].revents == 0) {
            continue;
        }
        char bytes[65536];
        const auto got = ::read(m_out.read, bytes, sizeof bytes);
        if (got > 0) {
            m_output.append(bytes, static_cast<std::size_t>(got));
        } else if (got == 0) {
            // Its stderr may still hold the reason (a traceback): read it to its end first.
            const auto until = Clock::now() + std::chrono::seconds(1);
            while (m_err.read >= 0 && Clock::now() < until) {
                pollfd errors{m_err.read, POLLIN, 0};
                ::poll(&errors, 1, milliseconds_until(until));
                read_errors();
            }
            const auto status = end(Clock::now() + milliseconds(500));
            fail(what + (status ? " " + describe_end(*status) + " before answering"
                                : " closed its stdout before answering and was killed"));
        }
    }
    if (std::min(newline, m_output.size()) > m_options.max_output) {
        fail(what + " wrote a line longer than " + std::to_string(m_options.max_output) + " bytes");
    }
    const std::string line = m_output.substr(0, newline);
    m_output.erase(0, newline + 1);
    auto result = nlohmann::json::parse(line, nullptr, false);
    if (!result.is_object()) {
        fail(what + " wrote a line that is not a JSON object: " + line.substr(0, 200));
    }
    if (written < input.size()) {
        // Answered before reading its whole doc: the rest would be taken for the next one.
        log_warning(what + " answered before reading the whole doc; another takes its place");
        end(Clock::now());
    }
    if (const auto error = result.find("edw_error"); error != result.end()) {
        // The worker says this doc failed, and that it is fine: it stays.
        const auto detail = result.find("detail");
        keep_tail(m_errors, stderr_tail);
        throw StepFailure(on_doc + (error->is_string() ? error->get<std::string>() : error->dump()),
                          detail != result.end() && detail->is_string() ? detail->get<std::string>()
                                                                        : m_errors);
    }
    return result;
}

// The workers of one step, shared by the runner's threads. A worker is idle here or owned by
// the call it answers.
class WorkerPool {
public:
    explicit WorkerPool(CommandStepOptions options)
        : m_options(std::move(options))
    {}
    ~WorkerPool()
    {
        // All at once: each gets end of input, then they share one grace period.
        for (const auto& worker : m_idle) {
            worker->close_input();
        }
        const auto deadline = Clock::now() + std::chrono::seconds(2);
        for (const auto& worker : m_idle) {
            worker->end(deadline);
        }
    }

    nlohmann::json run(const nlohmann::json& doc)
    {
        auto worker = take();
        try {
            auto result = worker->answer(doc);
            give_back(std::move(worker));
            return result;
        } catch (const StepFailure&) {
            give_back(std::move(worker)); // when it reported the failure itself
            throw;
        }
    }

private:
    std::unique_ptr<Worker> take()
    {
        for (;;) {
            std::unique_ptr<Worker> worker;
            {
                const std::lock_guard lock(m_mutex);
                if (m_idle.empty()) {
                    break;
                }
                worker = std::move(m_idle.back());
                m_idle.pop_back();
            }
            if (worker->is_ready()) {
                return worker;
            }
        }
        return std::make_unique<Worker>(m_options);
    }
    // Keeps a worker that is still running for the next call; an ended one goes.
    void give_back(std::unique_ptr<Worker> worker)
    {
        if (!worker->is_running()) {
            return;
        }
        const std::lock_guard lock(m_mutex);
        m_idle.push_back(std::move(worker));
    }

    const CommandStepOptions m_options;
    std::mutex m_mutex;
    std::vector<std::unique_ptr<Worker>> m_idle;
};

} // namespace

Step command_worker_step(CommandStepOptions options)
{
    // A worker that has ended makes our write fail with EPIPE, which must not end the listener.
    ignore_sigpipe();
    Step step;
    step.name = options.name;
    step.follows = options.follows;
    auto pool = std::make_shared<WorkerPool>(std::move(options));
    step.run = [pool](const nlohmann::json& doc) { return pool->run(doc); };
    return step;
}

} // namespace edw
