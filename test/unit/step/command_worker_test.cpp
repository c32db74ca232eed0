// CommandWorker: long-running workers, one JSON line in and one out per doc, in a pool.
#include <edw/step/command_worker.hpp>
#include <edw/util/log.hpp>

#include <doctest/doctest.h>

#include <signal.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

TEST_SUITE_BEGIN("command worker");

namespace {

using namespace std::chrono_literals;

nlohmann::json doc(const std::string& id)
{
    return {{"_id", id}, {"run", "ma22a000"}, {"process", nlohmann::json::array()}};
}

edw::Step workers(const std::string& command, std::chrono::milliseconds timeout = 10s)
{
    return edw::command_worker_step({.name = "export",
                                     .follows = edw::StepPosition::new_document(),
                                     .command = command,
                                     .timeout = timeout,
                                     .max_output = 1024});
}

// "message | detail" of the failure of `s` on `d`.
std::string failure_of(const edw::Step& s, const nlohmann::json& d)
{
    try {
        s.run(d);
    } catch (const edw::StepFailure& failure) {
        return std::string(failure.what()) + " | " + failure.detail();
    }
    return "no failure";
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

// Reaped, not merely ended: a zombie would still answer kill(pid, 0).
bool is_gone(pid_t pid)
{
    return ::kill(pid, 0) != 0 && errno == ESRCH;
}

pid_t pid_of(const nlohmann::json& answer)
{
    return answer.at("pid").get<pid_t>();
}

// A worker that answers with its pid and the number of docs it has seen; a doc whose id says
// so makes it crash, hang, write garbage, or report a failure.
const std::string counting_worker = R"sh(
n=0
while IFS= read -r doc; do
    n=$((n + 1))
    case "$doc" in
    *crash*) echo "reading calibration" >&2; echo "bad detector" >&2; exit 3 ;;
    *hang*) sleep 30 ;;
    *garbage*) echo '[1, 2]' ;;
    *refused*) echo '{"edw_error": "no such detector", "detail": "line 3"}' ;;
    *quiet*) echo 'detector off' >&2; echo '{"edw_error": "no data"}' ;;
    *) id=$(printf '%s' "$doc" | sed 's/.*"_id":"\([^"]*\)".*/\1/')
       echo "{\"pid\": $$, \"count\": $n, \"id\": \"$id\", \"step\": \"$EDW_STEP\", \"worker\": \"$EDW_WORKER\"}" ;;
    esac
done)sh";

} // namespace

TEST_CASE("one worker answers many docs, a line of JSON each, and knows its step")
{
    const auto step = workers(counting_worker);
    const auto first = step.run(doc("ma22a000_001"));
    const auto second = step.run(doc("ma22a000_002"));
    const auto third = step.run(doc("ma22a000_003"));
    CHECK(first["count"] == 1);
    CHECK(second["count"] == 2);
    CHECK(third["count"] == 3);
    CHECK(third["id"] == "ma22a000_003");
    CHECK(pid_of(first) == pid_of(third));
    CHECK(first["step"] == "export");
    CHECK(first["worker"] == "1");
}

TEST_CASE("a worker that crashes fails the doc with its stderr, and the next doc gets a new one")
{
    const auto step = workers(counting_worker);
    const auto before = pid_of(step.run(doc("ma22a000_001")));
    const auto text = failure_of(step, doc("crash_002"));
    CHECK(contains(text, "step export on doc crash_002: the worker exited with status 3 before "
                         "answering | reading calibration\nbad detector\n"));
    CHECK(is_gone(before));
    const auto after = step.run(doc("ma22a000_003"));
    CHECK(pid_of(after) != before);
    CHECK(after["count"] == 1);
}

TEST_CASE("a line that is not a JSON object fails the doc, and the worker is replaced")
{
    const auto step = workers(counting_worker);
    const auto before = pid_of(step.run(doc("ma22a000_001")));
    CHECK(
        contains(failure_of(step, doc("garbage_002")),
                 "on doc garbage_002: the worker wrote a line that is not a JSON object: [1, 2]"));
    CHECK(is_gone(before));
    CHECK(pid_of(step.run(doc("ma22a000_003"))) != before);
}

TEST_CASE("a line longer than max_output fails the doc, and the worker is replaced")
{
    const auto step = workers("while IFS= read -r doc; do head -c 5000 /dev/zero | tr '\\0' x; "
                              "echo; done");
    CHECK(contains(failure_of(step, doc("ma22a000_001")),
                   "the worker wrote a line longer than 1024 bytes"));
}

TEST_CASE("a worker that gives no answer in time is killed with everything it started")
{
    const auto step = workers(counting_worker, 300ms);
    const auto before = pid_of(step.run(doc("ma22a000_001")));
    const auto started = std::chrono::steady_clock::now();
    const auto text = failure_of(step, doc("hang_002"));
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(
        contains(text, "on doc hang_002: the worker gave no answer within 300 ms and was killed"));
    CHECK(took >= 300ms);
    CHECK(took < 5s);
    CHECK(is_gone(before));
    CHECK(step.run(doc("ma22a000_003"))["count"] == 1);
}

TEST_CASE("edw_error fails the doc alone: the worker stays")
{
    const auto step = workers(counting_worker);
    const auto before = pid_of(step.run(doc("ma22a000_001")));
    CHECK(failure_of(step, doc("refused_002")) ==
          "step export on doc refused_002: no such detector | line 3");
    // Without a detail of its own, the failure gets the stderr the worker wrote meanwhile.
    CHECK(failure_of(step, doc("quiet_003")) ==
          "step export on doc quiet_003: no data | detector off\n");
    const auto after = step.run(doc("ma22a000_004"));
    CHECK(pid_of(after) == before);
    CHECK(after["count"] == 4);
}

TEST_CASE("a worker that wrote unasked, or ended while idle, is replaced before the next doc")
{
    const auto step = workers(R"sh(while IFS= read -r doc; do
        case "$doc" in
        *chatty*) printf '{"pid": %s}\n{"extra": 1}\n' $$ ;; # one write: both lines at once
        *quit*) echo "{\"pid\": $$}"; exit 0 ;;
        *) echo "{\"pid\": $$}" ;;
        esac
    done)sh");
    const auto chatty = pid_of(step.run(doc("chatty_001")));
    const auto quitter = pid_of(step.run(doc("ma22a000_002")));
    CHECK(quitter != chatty); // the extra line was not taken as the answer to doc 2
    CHECK(is_gone(chatty));
    CHECK(pid_of(step.run(doc("quit_003"))) == quitter);
    // Its exit seen (a zombie until reaped), the next call must find it ended.
    for (int round = 0; round < 500; ++round) {
        std::ifstream stat("/proc/" + std::to_string(quitter) + "/stat");
        std::string pid, name, state;
        if (stat >> pid >> name >> state && state == "Z") {
            break;
        }
        std::this_thread::sleep_for(10ms);
    }
    CHECK(pid_of(step.run(doc("ma22a000_004"))) != quitter);
    CHECK(is_gone(quitter));
}

TEST_CASE("calls at the same time get a worker each")
{
    // Each worker answers only once three docs are being worked on at once: with fewer workers
    // than calls, the calls would time out.
    const auto folder =
        std::filesystem::temp_directory_path() / ("edw_worker_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(folder);
    std::filesystem::create_directories(folder);
    const auto step = workers("while IFS= read -r doc; do touch " + folder.string() +
                              "/$$; while [ $(ls " + folder.string() +
                              " | wc -l) -lt 3 ]; do sleep 0.01; done; echo \"{\\\"pid\\\": $$}\"; "
                              "done");
    std::vector<pid_t> pids(3);
    {
        std::vector<std::jthread> threads;
        for (std::size_t i = 0; i < pids.size(); ++i) {
            threads.emplace_back(
                [&, i] { pids[i] = pid_of(step.run(doc("ma22a000_00" + std::to_string(i)))); });
        }
    }
    CHECK(std::set<pid_t>(pids.begin(), pids.end()).size() == 3);
    std::filesystem::remove_all(folder);
}

TEST_CASE("when the step goes, its workers end, even one that ignores the end of its input")
{
    pid_t reader = -1;
    pid_t stubborn = -1;
    {
        const auto step = workers(counting_worker);
        reader = pid_of(step.run(doc("ma22a000_001")));
        const auto other =
            workers(R"sh(while IFS= read -r doc; do echo "{\"pid\": $$}"; done; sleep 30)sh");
        stubborn = pid_of(other.run(doc("ma22a000_002")));
        CHECK(!is_gone(reader));
        CHECK(!is_gone(stubborn));
    }
    CHECK(is_gone(reader));
    CHECK(is_gone(stubborn));
}

TEST_CASE("a worker's stderr is logged line by line with its pid and step")
{
    const auto path = std::filesystem::temp_directory_path() / "edw_command_worker_test.log";
    std::filesystem::remove(path);
    edw::configure_log({.program = "listen_test", .level = edw::LogLevel::info, .file = path});
    pid_t pid = -1;
    {
        const auto step = workers(R"sh(echo 'loading calibration' >&2
            while IFS= read -r doc; do echo "{\"pid\": $$}"; printf 'done\nwith a doc' >&2; done)sh");
        pid = pid_of(step.run(doc("ma22a000_001")));
    }
    edw::configure_log({});
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    const std::string prefix = "worker " + std::to_string(pid) + " of step export: ";
    CHECK(contains(text.str(), prefix + "loading calibration\n"));
    CHECK(contains(text.str(), prefix + "done\n"));
    CHECK(contains(text.str(), prefix + "with a doc\n")); // its last words, without a newline
    std::filesystem::remove(path);
}

TEST_CASE("a Python worker: one interpreter for many docs, and its traceback on a crash")
{
    if (!std::filesystem::exists("/usr/bin/python3")) {
        MESSAGE("skipped: no /usr/bin/python3");
        return;
    }
    const auto step = workers(R"sh(/usr/bin/python3 -c '
import json, os, sys
for line in sys.stdin:
    doc = json.loads(line)
    if doc["_id"].startswith("bad"):
        raise ValueError("bad detector")
    print(json.dumps({"pid": os.getpid(), "run": doc["run"]}), flush=True)
')sh");
    const auto first = step.run(doc("ma22a000_001"));
    CHECK(first["run"] == "ma22a000");
    CHECK(pid_of(step.run(doc("ma22a000_002"))) == pid_of(first));
    const auto text = failure_of(step, doc("bad_003"));
    CHECK(contains(text, "the worker exited with status 1 before answering | Traceback"));
    CHECK(contains(text, "ValueError: bad detector"));
}

TEST_SUITE_END();
