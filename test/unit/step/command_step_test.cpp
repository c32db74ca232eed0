// CommandStep: a step run as an external command, doc on stdin, entry on stdout.
#include <edw/step/command_step.hpp>

#include <doctest/doctest.h>

TEST_SUITE_BEGIN("command step");

namespace {

const nlohmann::json doc = {{"_id", "ma22a000_001"}, {"run", "ma22a000"}, {"process", {}}};

edw::Step step(const std::string& command,
               std::chrono::milliseconds timeout = std::chrono::seconds(10))
{
    return edw::command_step({.name = "export",
                              .follows = edw::StepPosition::new_document(),
                              .command = command,
                              .timeout = timeout,
                              .max_output = 1024});
}

std::string detail_of(const edw::Step& s)
{
    try {
        s.run(doc);
    } catch (const edw::StepFailure& failure) {
        return std::string(failure.what()) + " | " + failure.detail();
    }
    return "no failure";
}

} // namespace

TEST_CASE("the doc goes to stdin, stdout is the entry, and the command knows the step and doc")
{
    // The doc arrives as compact JSON, so sed can pick a field out of it.
    const auto result =
        step(
            R"cmd(run=$(sed 's/.*"run":"\([^"]*\)".*/\1/'); printf '{"run": "%s", "step": "%s", "id": "%s"}' "$run" "$EDW_STEP" "$EDW_DOC_ID")cmd")
            .run(doc);
    CHECK(result["run"] == "ma22a000");
    CHECK(result["step"] == "export");
    CHECK(result["id"] == "ma22a000_001");
}

TEST_CASE("a non-zero exit is a failure carrying the end of stderr")
{
    const auto text = detail_of(step("cat >/dev/null; echo 'no such detector' >&2; exit 3"));
    CHECK(text.find("exited with status 3") != std::string::npos);
    CHECK(text.find("| no such detector") != std::string::npos);
}

TEST_CASE("output that is not one JSON object, or too much of it, is a failure")
{
    CHECK(detail_of(step("cat >/dev/null; echo '[1, 2]'")).find("no JSON object") !=
          std::string::npos);
    CHECK(
        detail_of(step("cat >/dev/null; head -c 5000 /dev/zero | tr '\\0' x")).find("more than") !=
        std::string::npos);
}

TEST_CASE("a command that runs too long is killed with everything it started")
{
    const auto started = std::chrono::steady_clock::now();
    const auto text = detail_of(step("sleep 30 & sleep 30", std::chrono::milliseconds(200)));
    CHECK(text.find("ran longer than 200 ms") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
}

TEST_CASE("a command that does not read its input does not end the listener")
{
    const auto result = step("echo '{\"ok\": true}'").run(doc); // exits before reading stdin
    CHECK(result["ok"] == true);
}

TEST_SUITE_END();
