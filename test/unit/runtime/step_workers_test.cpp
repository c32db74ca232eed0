// StepWorkers: when a worker record means live, stopped or dead, and which workers may share a
// step (claims with claims, shares with other shares of one count).
#include <edw/runtime/step_workers.hpp>
#include <edw/util/utc_time.hpp>

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

TEST_SUITE_BEGIN("step workers");

namespace {

using namespace std::chrono_literals;

edw::WorkerRecord worker(const std::string& name, std::optional<double> lease = std::nullopt,
                         std::string shard = {})
{
    edw::WorkerRecord record;
    record.name = name;
    record.host = "elsewhere";
    record.pid = 4242;
    record.started = edw::utc_now_iso8601();
    record.beat = record.started;
    record.beat_every_s = 5;
    record.state = "running";
    record.lease_s = lease;
    record.shard = std::move(shard);
    return record;
}

// A pid that ran on this host and has ended.
long ended_pid()
{
    const pid_t child = ::fork();
    if (child == 0) {
        ::_exit(0);
    }
    ::waitpid(child, nullptr, 0);
    return child;
}

} // namespace

TEST_CASE("a worker is live until three beats go missing, stopped when it says so")
{
    const auto now = std::chrono::system_clock::now();
    auto record = worker("a");
    record.beat = edw::iso8601(now - 14s);
    CHECK(edw::liveness(record, now, "here") == edw::WorkerLiveness::live);
    record.beat = edw::iso8601(now - 16s);
    CHECK(edw::liveness(record, now, "here") == edw::WorkerLiveness::dead);
    record.state = "stopped";
    CHECK(edw::liveness(record, now, "here") == edw::WorkerLiveness::stopped);
    record.state = "running";
    record.beat = "not a time";
    CHECK(edw::liveness(record, now, "here") == edw::WorkerLiveness::dead);
}

TEST_CASE("on its own host, a worker whose process has ended is dead at once")
{
    const auto now = std::chrono::system_clock::now();
    auto record = worker("a");
    record.host = "here";
    record.pid = ::getpid();
    CHECK(edw::liveness(record, now, "here") == edw::WorkerLiveness::live);
    record.pid = ended_pid();
    CHECK(edw::liveness(record, now, "here") == edw::WorkerLiveness::dead);
    // Another host's pid says nothing here.
    CHECK(edw::liveness(record, now, "there") == edw::WorkerLiveness::live);
}

TEST_CASE("a lone worker runs however it was started")
{
    CHECK_FALSE(edw::decide_join(worker("me"), {}).refused);
    CHECK_FALSE(edw::decide_join(worker("me", 30), {}).refused);
    CHECK_FALSE(edw::decide_join(worker("me", {}, "1/2"), {}).refused);
}

TEST_CASE("an unleased worker is refused beside an unleased one, and says how to share")
{
    const auto decision = edw::decide_join(worker("me"), {worker("host:1/listen")});
    CHECK(decision.refused);
    CHECK(decision.why.find("host:1/listen") != std::string::npos);
    CHECK(decision.why.find("--lease") != std::string::npos);
    CHECK(decision.why.find("--shard") != std::string::npos);
}

TEST_CASE("an unleased worker joins leased ones with the longest of their leases")
{
    const auto decision = edw::decide_join(worker("me"), {worker("a", 10), worker("b", 30)});
    CHECK_FALSE(decision.refused);
    REQUIRE(decision.lease_s);
    CHECK(*decision.lease_s == 30);
    CHECK(decision.why.find("joins") != std::string::npos);
    // One unleased among them: it would run docs the others claim.
    CHECK(edw::decide_join(worker("me"), {worker("a", 10), worker("b")}).refused);
}

TEST_CASE("a leased worker joins leased ones only")
{
    CHECK_FALSE(edw::decide_join(worker("me", 5), {worker("a", 30)}).refused);
    const auto decision = edw::decide_join(worker("me", 5), {worker("a", 30), worker("b")});
    CHECK(decision.refused);
    CHECK(decision.why.find("without --lease") != std::string::npos);
    CHECK_FALSE(decision.lease_s);
}

TEST_CASE("shares split a step only as shares of one count, each its own")
{
    const auto me = worker("me", {}, "2/3");
    CHECK_FALSE(edw::decide_join(me, {worker("a", {}, "1/3"), worker("b", {}, "3/3")}).refused);
    CHECK(edw::decide_join(me, {worker("a", {}, "2/3")}).refused);
    CHECK(edw::decide_join(me, {worker("a", {}, "1/2")}).refused);
    CHECK(edw::decide_join(me, {worker("a")}).refused);
    CHECK(edw::decide_join(me, {worker("a", 30)}).refused);
    CHECK(edw::decide_join(me, {worker("a", {}, "1/3"), worker("b", {}, "1/3")}).refused);
    // A worker without a share beside shares, leased or not.
    CHECK(edw::decide_join(worker("me"), {worker("a", {}, "1/2")}).refused);
    CHECK(edw::decide_join(worker("me", 30), {worker("a", {}, "1/2")}).refused);
}

TEST_SUITE_END();
