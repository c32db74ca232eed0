// bench_common: test data, JavaScript driver, timing and memory helpers for both engine benchmarks.
//
// Both programs run the same JS driver on the same docs and print one line of key=value figures,
// so that scripts/compare-js-engines can put them side by side and check that the rows agree.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

// The same helpers edw-js's prelude defines (emit, deep freeze), plus the per-doc round trip it
// does: decode the doc's JSON text, freeze it, run the function, encode what it emitted. Run in
// JS in both engines, so neither gets a hand-tuned native path the other lacks.
constexpr const char* driver = R"js(
var __emitted = null;
var __map = null;
var __filter = null;
var __req = null;
function emit(key, value) {
  if (__emitted === null) { throw new Error("emit() called outside a map function"); }
  __emitted.push([key === undefined ? null : key, value === undefined ? null : value]);
}
function __freeze(value) {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (var name in value) { __freeze(value[name]); }
  }
  return value;
}
function __run_map(text) {
  var doc = __freeze(JSON.parse(text));
  __emitted = [];
  __map(doc);
  var rows = __emitted;
  __emitted = null;
  return JSON.stringify(rows);
}
function __run_filter(text) {
  return !!__filter(__freeze(JSON.parse(text)), __req);
}
__req = __freeze(JSON.parse('{"query":{"last":"move_to_sps"}}'));
)js";

inline constexpr int runs = 3;

inline std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", path.c_str());
        std::exit(2);
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// As edw-js compiles design functions: an expression in parentheses, so that the function
// expression design docs store yields the function itself; a trailing ';' is dropped.
inline std::string wrap_function(const std::string& source)
{
    std::string wrapped = "(" + source + "\n)";
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
    return wrapped;
}

// EDELWEISS-like docs: a third untouched (process []), a third with one step, a third with
// two, so the map emits under both the number 0 and step names, and the filter passes a third.
inline std::vector<std::string> make_docs(int count)
{
    std::string notes;
    while (notes.size() < 500) {
        notes += "run conditions nominal, heat-and-light cycle done, see logbook page 17; ";
    }
    notes.resize(500);
    const char* step1 = R"({"name":"move_to_sps","date":"2026-11-29T00:00:00Z","ok":true})";
    const char* step2 = R"({"name":"signal_processing","date":"2026-11-30T00:00:00Z","ok":true})";
    std::vector<std::string> docs;
    docs.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        std::string process;
        switch (i % 3) {
        case 0:
            process = "[]";
            break;
        case 1:
            process = std::string("[") + step1 + "]";
            break;
        default:
            process = std::string("[") + step1 + "," + step2 + "]";
            break;
        }
        char id[32];
        std::snprintf(id, sizeof id, "ma22a000_%05d", i);
        docs.push_back(std::string(R"({"_id":")") + id +
                       R"(","_rev":"1-abc","status":"good","conditions":{"temperature":0.02,)"
                       R"("voltage":[1,2,3]},"process":)" +
                       process + R"(,"notes":")" + notes + "\"}");
    }
    return docs;
}

inline double now_ms()
{
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// CPU time of every thread of the process: SpiderMonkey compiles and collects garbage on helper
// threads, which wall-clock docs/s alone would hide on a 2-core machine.
inline double cpu_ms()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// A field of /proc/self/status in kB, e.g. "VmHWM" (peak resident set) or "VmRSS".
inline long status_kb(const char* field)
{
    std::ifstream in("/proc/self/status");
    std::string line;
    const std::string prefix = std::string(field) + ":";
    while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) == 0) {
            return std::strtol(line.c_str() + prefix.size(), nullptr, 10);
        }
    }
    return -1;
}

// FNV-1a over every result, and the number of emitted rows, so that the two engines' outputs
// can be compared without keeping them.
struct Digest {
    std::uint64_t hash = 1469598103934665603ULL;
    long rows = 0;

    void add(std::string_view text)
    {
        for (const char c : text) {
            hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
        }
        hash = (hash ^ '\n') * 1099511628211ULL;
    }

    // Counts the elements of the JSON array `rows_json` (top-level commas outside strings).
    void count_rows(std::string_view rows_json)
    {
        int depth = 0;
        bool in_string = false;
        bool any = false;
        long commas = 0;
        for (std::size_t i = 0; i < rows_json.size(); ++i) {
            const char c = rows_json[i];
            if (in_string) {
                if (c == '\\') {
                    ++i;
                } else if (c == '"') {
                    in_string = false;
                }
                continue;
            }
            if (c == '"') {
                in_string = true;
            } else if (c == '[' || c == '{') {
                ++depth;
            } else if (c == ']' || c == '}') {
                --depth;
            } else if (c == ',' && depth == 1) {
                ++commas;
            }
            if (depth >= 2 || (depth == 1 && c != '[')) {
                any = true;
            }
        }
        rows += any ? commas + 1 : 0;
    }
};

struct Pass {
    double wall_ms;
    double cpu_ms;
    Digest digest;
};

// Runs `one_pass` `runs` times; returns the first pass (cold: no JIT warm-up yet) and the
// fastest. Every pass must produce the same digest, or the engine is not deterministic here.
inline std::pair<Pass, Pass> first_and_best(const std::function<Digest()>& one_pass)
{
    Pass first{};
    Pass best{};
    for (int r = 0; r < runs; ++r) {
        const double wall0 = now_ms();
        const double cpu0 = cpu_ms();
        const Digest digest = one_pass();
        const Pass pass{now_ms() - wall0, cpu_ms() - cpu0, digest};
        if (r == 0) {
            first = best = pass;
        } else {
            if (pass.digest.hash != first.digest.hash) {
                std::fprintf(stderr, "pass %d gave other results than pass 1\n", r + 1);
                std::exit(1);
            }
            if (pass.wall_ms < best.wall_ms) {
                best = pass;
            }
        }
    }
    return {first, best};
}

struct Report {
    const char* engine;
    long rss_base_kb;
    double startup_ms;
    long rss_startup_kb;
    double compile_ms;
    int docs;
    std::pair<Pass, Pass> map;
    std::pair<Pass, Pass> filter;
    long rss_end_kb;
    const char* interrupt;
    double interrupt_stop_ms; // from asking to stop to stopped; negative when not measured
};

inline void print(const Report& r)
{
    const auto dps = [&](const Pass& p) { return r.docs / (p.wall_ms / 1000.0); };
    std::printf("engine=%s docs=%d rss_base_kb=%ld startup_ms=%.3f rss_startup_kb=%ld "
                "compile_ms=%.3f map_first_dps=%.0f map_best_dps=%.0f map_cpu_per_wall=%.2f "
                "filter_first_dps=%.0f filter_best_dps=%.0f filter_cpu_per_wall=%.2f "
                "rss_end_kb=%ld rows=%ld map_digest=%016llx passed=%ld filter_digest=%016llx "
                "interrupt=%s interrupt_stop_ms=%.2f\n",
                r.engine, r.docs, r.rss_base_kb, r.startup_ms, r.rss_startup_kb, r.compile_ms,
                dps(r.map.first), dps(r.map.second), r.map.second.cpu_ms / r.map.second.wall_ms,
                dps(r.filter.first), dps(r.filter.second),
                r.filter.second.cpu_ms / r.filter.second.wall_ms, r.rss_end_kb,
                r.map.second.digest.rows, static_cast<unsigned long long>(r.map.second.digest.hash),
                r.filter.second.digest.rows,
                static_cast<unsigned long long>(r.filter.second.digest.hash), r.interrupt,
                r.interrupt_stop_ms);
}

// Arguments common to both programs: <map.js> <filter.js> [N].
struct Args {
    std::string map_source;
    std::string filter_source;
    int docs = 10000;
};

inline Args parse_args(int argc, char** argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MAP.js FILTER.js [N]\n", argv[0]);
        std::exit(2);
    }
    Args args{read_file(argv[1]), read_file(argv[2]), 10000};
    if (argc > 3) {
        args.docs = std::atoi(argv[3]);
    }
    return args;
}

} // namespace bench
