// JavaScriptEngine: talks to the edw-js child, one JSON line each way per request.
#include "edw/javascript/javascript_engine.hpp"

#include <edw/util/child_process.hpp>
#include <edw/util/error.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace edw {
namespace {

using Clock = std::chrono::steady_clock;

// How long a whole request may take beyond its functions' own time limits: the child enforces
// each call's limit itself, this only catches a child that stopped answering altogether.
constexpr auto request_slack = std::chrono::seconds(30);

std::string doc_name(const nlohmann::json& doc)
{
    return doc.is_object() && doc.contains("_id") && doc["_id"].is_string()
               ? doc["_id"].get<std::string>()
               : std::string("(a doc without _id)");
}

} // namespace

struct JavaScriptEngine::Child {
    pid_t pid = -1;
    int to_child = -1;
    int from_child = -1;
    std::string buffer; ///< Bytes read past the last answer's newline.

    ~Child()
    {
        if (to_child >= 0) {
            ::close(to_child);
        }
        if (from_child >= 0) {
            ::close(from_child);
        }
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
};

JavaScriptEngine::JavaScriptEngine(std::chrono::milliseconds timeout)
    : m_timeout(timeout)
{}

JavaScriptEngine::~JavaScriptEngine() = default;

std::string JavaScriptEngine::host_path()
{
    if (const char* given = std::getenv("EDW_JS"); given != nullptr && *given != '\0') {
        return given;
    }
    std::error_code error;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
    if (!error) {
        const auto beside = self.parent_path() / "edw-js";
        if (std::filesystem::exists(beside, error)) {
            return beside.string();
        }
    }
#ifdef EDW_JS_BUILD_PATH
    if (std::filesystem::exists(EDW_JS_BUILD_PATH, error)) {
        return EDW_JS_BUILD_PATH;
    }
#endif
    return "edw-js";
}

void JavaScriptEngine::start()
{
    int input[2];
    int output[2];
    if (::pipe2(input, O_CLOEXEC) != 0) {
        throw StoreError(std::string("cannot start edw-js: pipe: ") + std::strerror(errno));
    }
    if (::pipe2(output, O_CLOEXEC) != 0) {
        ::close(input[0]);
        ::close(input[1]);
        throw StoreError(std::string("cannot start edw-js: pipe: ") + std::strerror(errno));
    }
    auto child = std::make_unique<Child>();
    child->to_child = input[1];
    child->from_child = output[0];

    // The child needs SIGALRM (its timeout) and a process group of its own, so that a
    // terminal's Ctrl-C does not end it while the caller finishes the work in hand.
    const std::string program = host_path();
    const int spawned =
        spawn_child(child->pid, {program, "--timeout-ms", std::to_string(m_timeout.count())},
                    input[0], output[1], -1);
    ::close(input[0]);
    ::close(output[1]);
    if (spawned != 0) {
        child->pid = -1;
        throw StoreError("cannot start the JavaScript engine " + program + ": " +
                         std::strerror(spawned) + " (build edw-js, or set EDW_JS to its path)");
    }
    ignore_sigpipe(); // a child that died makes our writes fail with EPIPE, not end us
    m_child = std::move(child);
    for (const auto& source : m_sources) {
        const auto answer =
            send(nlohmann::json::array({"compile", source}).dump(), std::chrono::seconds(30));
        if (!answer.contains("ok")) {
            fail("edw-js could not compile again a function it compiled before");
        }
    }
}

void JavaScriptEngine::fail(const std::string& what)
{
    m_child.reset();
    throw StoreError(what);
}

nlohmann::json JavaScriptEngine::send(const std::string& line, std::chrono::milliseconds patience)
{
    if (!m_child) {
        start();
    }
    auto& child = *m_child;
    const std::string message = line + "\n";
    for (std::size_t at = 0; at < message.size();) {
        const auto written = ::write(child.to_child, message.data() + at, message.size() - at);
        if (written < 0 && errno == EINTR) {
            continue;
        }
        if (written <= 0) {
            fail("the JavaScript engine (edw-js) has ended unexpectedly; see its messages above");
        }
        at += static_cast<std::size_t>(written);
    }
    const auto deadline = Clock::now() + patience + request_slack;
    for (;;) {
        const auto newline = child.buffer.find('\n');
        if (newline != std::string::npos) {
            auto answer = nlohmann::json::parse(child.buffer.substr(0, newline), nullptr, false);
            child.buffer.erase(0, newline + 1);
            if (answer.is_discarded()) {
                fail("the JavaScript engine (edw-js) answered something that is not JSON");
            }
            if (answer.is_object() && answer.contains("timeout")) {
                m_child.reset(); // it has ended itself; the next call starts a new one
            }
            return answer;
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            fail("the JavaScript engine (edw-js) stopped answering and was ended");
        }
        pollfd readable{child.from_child, POLLIN, 0};
        const int ready = ::poll(&readable, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            continue;
        }
        char bytes[65536];
        const auto got = ::read(child.from_child, bytes, sizeof bytes);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            fail("the JavaScript engine (edw-js) has ended unexpectedly; see its messages above");
        }
        child.buffer.append(bytes, static_cast<std::size_t>(got));
    }
}

int JavaScriptEngine::compile(const std::string& source)
{
    const std::lock_guard lock(m_mutex);
    for (std::size_t id = 0; id < m_sources.size(); ++id) {
        if (m_sources[id] == source) {
            return static_cast<int>(id);
        }
    }
    const auto answer =
        send(nlohmann::json::array({"compile", source}).dump(), std::chrono::seconds(30));
    if (!answer.is_object() || !answer.contains("ok")) {
        throw JsonError(
            (answer.is_object() ? answer.value("reason", answer.dump()) : answer.dump()));
    }
    const int id = answer["ok"].get<int>();
    if (id != static_cast<int>(m_sources.size())) {
        fail("the JavaScript engine (edw-js) numbered a function out of order");
    }
    m_sources.push_back(source);
    return id;
}

std::vector<std::vector<MapOutcome>>
JavaScriptEngine::map(const std::vector<int>& functions,
                      const std::vector<const nlohmann::json*>& docs)
{
    const std::lock_guard lock(m_mutex);
    nlohmann::json command = nlohmann::json::array({"map", functions, nlohmann::json::array()});
    for (const auto* doc : docs) {
        command[2].push_back(*doc);
    }
    const auto answer = send(command.dump(), m_timeout * static_cast<long>(docs.size()));
    if (answer.is_object() && answer.contains("timeout")) {
        const auto at = answer["timeout"].value("doc", std::size_t{0});
        throw StoreError("a map function ran longer than " + std::to_string(m_timeout.count()) +
                         " ms on doc " + (at < docs.size() ? doc_name(*docs[at]) : "?") +
                         " and was stopped");
    }
    if (!answer.is_array() || answer.size() != docs.size()) {
        throw StoreError("the JavaScript engine (edw-js) could not map: " + answer.dump());
    }
    std::vector<std::vector<MapOutcome>> outcomes(docs.size());
    for (std::size_t d = 0; d < docs.size(); ++d) {
        for (const auto& per_function : answer[d]) {
            MapOutcome outcome;
            if (per_function.is_object()) {
                outcome.error = per_function.value("error", std::string("unknown error"));
            } else {
                for (const auto& pair : per_function) {
                    outcome.rows.emplace_back(pair[0], pair[1]);
                }
            }
            outcomes[d].push_back(std::move(outcome));
        }
    }
    return outcomes;
}

std::vector<FilterOutcome> JavaScriptEngine::filter(int function, const nlohmann::json& request,
                                                    const std::vector<const nlohmann::json*>& docs)
{
    const std::lock_guard lock(m_mutex);
    nlohmann::json command =
        nlohmann::json::array({"filter", function, request, nlohmann::json::array()});
    for (const auto* doc : docs) {
        command[3].push_back(*doc);
    }
    const auto answer = send(command.dump(), m_timeout * static_cast<long>(docs.size()));
    if (answer.is_object() && answer.contains("timeout")) {
        const auto at = answer["timeout"].value("doc", std::size_t{0});
        throw StoreError("a filter function ran longer than " + std::to_string(m_timeout.count()) +
                         " ms on doc " + (at < docs.size() ? doc_name(*docs[at]) : "?") +
                         " and was stopped");
    }
    if (!answer.is_array() || answer.size() != docs.size()) {
        throw StoreError("the JavaScript engine (edw-js) could not filter: " + answer.dump());
    }
    std::vector<FilterOutcome> outcomes;
    outcomes.reserve(docs.size());
    for (const auto& value : answer) {
        FilterOutcome outcome;
        if (value.is_object()) {
            outcome.error = value.value("error", std::string("unknown error"));
        } else {
            outcome.passed = value.is_boolean() && value.get<bool>();
        }
        outcomes.push_back(std::move(outcome));
    }
    return outcomes;
}

} // namespace edw
