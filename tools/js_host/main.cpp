// edw-js: runs design-document JavaScript (map and filter functions) for the embedded store.
//
// A separate process, as CouchDB's couchjs is, for two reasons: Debian's duktape is built
// without an interrupt hook, so the only sure way to stop a function that loops forever is to end
// the process running it; and a crash in the engine cannot take a listener with it.
//
// Protocol: one JSON array per line on stdin, one JSON answer per line on stdout.
//   ["compile", source]            -> {"ok": id} | {"error": "compilation_error", "reason": ...}
//   ["map", [ids], [docs]]         -> per doc, per function: [[key, value], ...] | {"error": ...}
//   ["filter", id, req, [docs]]    -> per doc: true | false | {"error": ...}
//   ["reset"]                      -> true (forgets every compiled function)
// A function that runs longer than --timeout-ms ends the process after writing
// {"timeout": {"doc": N, "function": ID}}; the caller starts a new one.
#include <duktape.h>
#include <sys/time.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

namespace {

// The helpers every design function may call, as CouchDB's JavaScript environment provides
// them. Docs are frozen deeply before each call, so that one function cannot change what the
// next one sees.
constexpr const char* prelude = R"js(
var __funs = [];
var __emitted = null;
function emit(key, value) {
  if (__emitted === null) { throw new Error("emit() called outside a map function"); }
  __emitted.push([key === undefined ? null : key, value === undefined ? null : value]);
}
function log(message) {
  __log(typeof message === "string" ? message : JSON.stringify(message));
}
function sum(values) {
  var total = 0;
  for (var i = 0; i < values.length; i++) { total += values[i]; }
  return total;
}
function isArray(value) { return Array.isArray(value); }
function toJSON(value) { return JSON.stringify(value); }
function __freeze(value) {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (var name in value) { __freeze(value[name]); }
  }
  return value;
}
)js";

char timeout_line[128];
size_t timeout_line_size = 0;
long timeout_ms = 5000;

// Runs in the signal handler: only write(2) and _exit(2), which are async-signal-safe.
void on_alarm(int)
{
    [[maybe_unused]] const auto written = ::write(STDOUT_FILENO, timeout_line, timeout_line_size);
    ::_exit(3);
}

void arm_timeout(std::size_t doc, long function)
{
    timeout_line_size = static_cast<size_t>(
        std::snprintf(timeout_line, sizeof timeout_line,
                      "{\"timeout\":{\"doc\":%zu,\"function\":%ld}}\n", doc, function));
    itimerval timer{};
    timer.it_value.tv_sec = timeout_ms / 1000;
    timer.it_value.tv_usec = (timeout_ms % 1000) * 1000;
    setitimer(ITIMER_REAL, &timer, nullptr);
}

void disarm_timeout()
{
    itimerval timer{};
    setitimer(ITIMER_REAL, &timer, nullptr);
}

duk_ret_t native_log(duk_context* ctx)
{
    std::fprintf(stderr, "edw-js: log: %s\n", duk_safe_to_string(ctx, 0));
    return 0;
}

// Replaces the error at the top of the stack with {"error": "<message>\n<stack>"}.
void error_to_object(duk_context* ctx)
{
    std::string message = duk_safe_to_string(ctx, -1);
    if (duk_is_error(ctx, -1)) {
        duk_get_prop_string(ctx, -1, "stack");
        const std::string stack = duk_is_string(ctx, -1) ? duk_get_string(ctx, -1) : "";
        if (stack.rfind(message, 0) == 0) {
            message = stack;
        } else if (!stack.empty()) {
            message += "\n" + stack;
        }
        duk_pop(ctx);
    }
    duk_pop(ctx);
    duk_push_object(ctx);
    duk_push_string(ctx, message.c_str());
    duk_put_prop_string(ctx, -2, "error");
}

// Calls __funs[id] with the `argc` values on top of the stack; leaves the result, or an error
// object, in their place. Returns false when the function threw.
bool call_function(duk_context* ctx, long id, int argc, std::size_t doc)
{
    duk_get_global_string(ctx, "__funs");
    duk_get_prop_index(ctx, -1, static_cast<duk_uarridx_t>(id));
    duk_remove(ctx, -2);
    duk_insert(ctx, -(argc + 1));
    arm_timeout(doc, id);
    const bool ok = duk_pcall(ctx, argc) == DUK_EXEC_SUCCESS;
    disarm_timeout();
    if (!ok) {
        error_to_object(ctx);
    }
    return ok;
}

void compile(duk_context* ctx, duk_idx_t command)
{
    duk_get_prop_index(ctx, command, 1);
    const char* source = duk_get_string(ctx, -1);
    if (source == nullptr) {
        duk_pop(ctx);
        duk_push_string(ctx, R"({"error":"compilation_error","reason":"not a string"})");
        return;
    }
    // Compiled as an expression in parentheses, so a function expression (the form design docs
    // store) yields the function itself; a trailing ';' is allowed, as CouchDB allows it.
    std::string wrapped = std::string("(") + source + "\n)";
    for (auto at = wrapped.size() - 2; at > 0; --at) {
        const char c = wrapped[at];
        if (c == ';') {
            wrapped[at] = ' ';
            break;
        }
        if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
            break;
        }
    }
    duk_pop(ctx);
    duk_push_string(ctx, "design function");
    if (duk_pcompile_lstring_filename(ctx, DUK_COMPILE_EVAL, wrapped.data(), wrapped.size()) != 0 ||
        duk_pcall(ctx, 0) != DUK_EXEC_SUCCESS) {
        const std::string reason = duk_safe_to_string(ctx, -1);
        duk_pop(ctx);
        duk_push_object(ctx);
        duk_push_string(ctx, "compilation_error");
        duk_put_prop_string(ctx, -2, "error");
        duk_push_string(ctx, reason.c_str());
        duk_put_prop_string(ctx, -2, "reason");
        duk_json_encode(ctx, -1);
        return;
    }
    if (!duk_is_function(ctx, -1)) {
        duk_pop(ctx);
        duk_push_string(
            ctx,
            R"({"error":"compilation_error","reason":"the source is not a function expression"})");
        return;
    }
    duk_get_global_string(ctx, "__funs");
    const auto id = duk_get_length(ctx, -1);
    duk_swap_top(ctx, -2);
    duk_put_prop_index(ctx, -2, static_cast<duk_uarridx_t>(id));
    duk_pop(ctx);
    duk_push_sprintf(ctx, "{\"ok\":%lu}", static_cast<unsigned long>(id));
}

// Freezes the doc at `index` (deeply), so that functions share one copy safely.
void freeze(duk_context* ctx, duk_idx_t index)
{
    duk_get_global_string(ctx, "__freeze");
    duk_dup(ctx, index);
    duk_pcall(ctx, 1);
    duk_pop(ctx);
}

void map(duk_context* ctx, duk_idx_t command)
{
    duk_get_prop_index(ctx, command, 1);
    const duk_idx_t ids = duk_get_top_index(ctx);
    duk_get_prop_index(ctx, command, 2);
    const duk_idx_t docs = duk_get_top_index(ctx);
    const auto doc_count = duk_get_length(ctx, docs);
    const auto fun_count = duk_get_length(ctx, ids);
    duk_push_array(ctx);
    const duk_idx_t results = duk_get_top_index(ctx);
    for (duk_size_t d = 0; d < doc_count; ++d) {
        duk_get_prop_index(ctx, docs, static_cast<duk_uarridx_t>(d));
        const duk_idx_t doc = duk_get_top_index(ctx);
        freeze(ctx, doc);
        duk_push_array(ctx);
        for (duk_size_t f = 0; f < fun_count; ++f) {
            duk_get_prop_index(ctx, ids, static_cast<duk_uarridx_t>(f));
            const long id = static_cast<long>(duk_get_int(ctx, -1));
            duk_pop(ctx);
            duk_push_array(ctx);
            duk_dup_top(ctx);
            duk_put_global_string(ctx, "__emitted");
            duk_dup(ctx, doc);
            if (!call_function(ctx, id, 1, d)) {
                duk_swap_top(ctx, -2); // the error replaces what was emitted before the throw
            }
            duk_pop(ctx);
            duk_put_prop_index(ctx, -2, static_cast<duk_uarridx_t>(f));
        }
        duk_push_null(ctx);
        duk_put_global_string(ctx, "__emitted");
        duk_put_prop_index(ctx, results, static_cast<duk_uarridx_t>(d));
        duk_pop(ctx);
    }
    duk_json_encode(ctx, results);
}

void filter(duk_context* ctx, duk_idx_t command)
{
    duk_get_prop_index(ctx, command, 1);
    const long id = static_cast<long>(duk_get_int(ctx, -1));
    duk_get_prop_index(ctx, command, 2);
    const duk_idx_t req = duk_get_top_index(ctx);
    freeze(ctx, req);
    duk_get_prop_index(ctx, command, 3);
    const duk_idx_t docs = duk_get_top_index(ctx);
    const auto doc_count = duk_get_length(ctx, docs);
    duk_push_array(ctx);
    const duk_idx_t results = duk_get_top_index(ctx);
    for (duk_size_t d = 0; d < doc_count; ++d) {
        // Not frozen, unlike a mapped doc: no other function sees this copy after the filter.
        duk_get_prop_index(ctx, docs, static_cast<duk_uarridx_t>(d));
        duk_dup(ctx, req);
        if (call_function(ctx, id, 2, d)) {
            const bool passed = duk_to_boolean(ctx, -1) != 0;
            duk_pop(ctx);
            duk_push_boolean(ctx, passed);
        }
        duk_put_prop_index(ctx, results, static_cast<duk_uarridx_t>(d));
    }
    duk_json_encode(ctx, results);
}

duk_context* new_context()
{
    duk_context* ctx = duk_create_heap_default();
    if (ctx == nullptr) {
        std::fprintf(stderr, "edw-js: cannot create a JavaScript heap\n");
        std::exit(1);
    }
    duk_push_c_function(ctx, native_log, 1);
    duk_put_global_string(ctx, "__log");
    if (duk_peval_string(ctx, prelude) != 0) {
        std::fprintf(stderr, "edw-js: prelude: %s\n", duk_safe_to_string(ctx, -1));
        std::exit(1);
    }
    duk_pop(ctx);
    return ctx;
}

// Decodes one command line and leaves its JSON answer on the stack.
void answer(duk_context* ctx, const std::string& line)
{
    duk_push_lstring(ctx, line.data(), line.size());
    duk_json_decode(ctx, -1);
    const duk_idx_t command = duk_get_top_index(ctx);
    duk_get_prop_index(ctx, command, 0);
    const std::string name = duk_is_string(ctx, -1) ? duk_get_string(ctx, -1) : "";
    duk_pop(ctx);
    if (name == "compile") {
        compile(ctx, command);
    } else if (name == "map") {
        map(ctx, command);
    } else if (name == "filter") {
        filter(ctx, command);
    } else if (name == "reset") {
        duk_push_array(ctx);
        duk_put_global_string(ctx, "__funs");
        duk_push_string(ctx, "true");
    } else {
        duk_push_string(ctx, R"({"error":"unknown_command"})");
    }
}

duk_ret_t safe_answer(duk_context* ctx, void* line)
{
    answer(ctx, *static_cast<const std::string*>(line));
    return 1;
}

} // namespace

int main(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        const std::string argument = argv[i];
        if (argument == "--timeout-ms" && i + 1 < argc) {
            timeout_ms = std::strtol(argv[++i], nullptr, 10);
        } else if (argument == "--help") {
            std::cout << "Usage: edw-js [--timeout-ms N]\n"
                         "Runs design-document JavaScript for edw's embedded store; started by "
                         "edw itself, one JSON command per line on stdin.\n";
            return 0;
        } else {
            std::cerr << "edw-js: unknown argument " << argument << "\n";
            return 2;
        }
    }
    if (timeout_ms <= 0) {
        timeout_ms = 5000;
    }
    std::signal(SIGALRM, on_alarm);
    std::ios::sync_with_stdio(false);
    duk_context* ctx = new_context();
    std::string line;
    std::string out;
    while (std::getline(std::cin, line)) {
        if (duk_safe_call(ctx, safe_answer, &line, 0, 1) != DUK_EXEC_SUCCESS) {
            // A line that is not JSON, or a command of the wrong shape.
            error_to_object(ctx);
            duk_json_encode(ctx, -1);
        }
        out.assign(duk_get_string(ctx, -1));
        duk_set_top(ctx, 0);
        out += '\n';
        for (std::size_t at = 0; at < out.size();) {
            const auto written = ::write(STDOUT_FILENO, out.data() + at, out.size() - at);
            if (written <= 0) {
                return 1; // the caller is gone
            }
            at += static_cast<std::size_t>(written);
        }
    }
    duk_destroy_heap(ctx);
    return 0;
}
