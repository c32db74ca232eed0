// JavaScriptEngine: design-document functions (map, filter) run in an edw-js child process.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace edw {

/// What one map function made of one doc: the emitted rows, or why it threw.
struct MapOutcome {
    std::vector<std::pair<nlohmann::json, nlohmann::json>> rows;
    std::string error; ///< Set when the function threw; its rows are then dropped.
};

/// What one filter function said of one doc.
struct FilterOutcome {
    bool passed = false;
    std::string error; ///< Set when the function threw; the doc then does not pass.
};

/// Runs design-document JavaScript in a child process (`edw-js`, on duktape), as CouchDB runs
/// couchjs: the engine cannot be interrupted inside a process, so a function that runs longer
/// than the timeout ends its process, and a crash of the engine cannot take the caller down.
/// A new child is started on the next call, with every function compiled again.
///
/// The child is found through `EDW_JS` (a path), next to the running program, in the build tree
/// this library was built in, and then on PATH. Thread-safe: calls are serialised.
class JavaScriptEngine {
public:
    explicit JavaScriptEngine(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    ~JavaScriptEngine();
    JavaScriptEngine(const JavaScriptEngine&) = delete;
    JavaScriptEngine& operator=(const JavaScriptEngine&) = delete;

    /// Compiles a function expression once (the same source gives the same id). Throws
    /// JsonError with the engine's reason ("SyntaxError: ... (line 2)") when it does not compile.
    int compile(const std::string& source);

    /// Runs each function on each doc. Throws StoreError when a function runs longer than the
    /// timeout (naming the doc) or the child process fails.
    std::vector<std::vector<MapOutcome>> map(const std::vector<int>& functions,
                                             const std::vector<const nlohmann::json*>& docs);
    /// Runs a filter function `(doc, req)` on each doc. Throws as map() does.
    std::vector<FilterOutcome> filter(int function, const nlohmann::json& request,
                                      const std::vector<const nlohmann::json*>& docs);

    /// The path of the edw-js program that will be started.
    static std::string host_path();

private:
    struct Child;
    nlohmann::json send(const std::string& line, std::chrono::milliseconds patience);
    void start();
    [[noreturn]] void fail(const std::string& what);

    std::chrono::milliseconds m_timeout;
    std::mutex m_mutex;
    std::unique_ptr<Child> m_child;
    std::vector<std::string> m_sources; ///< By id; compiled again in a new child.
};

} // namespace edw
