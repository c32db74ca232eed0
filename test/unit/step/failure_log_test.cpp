// FailureLog: failed attempts recorded on the doc, backoff, parking and putting back.
#include "edw/step/failure_log.hpp"

#include <edw/runtime/retry_schedule.hpp>
#include <edw/step/process_log.hpp>
#include <edw/util/utc_time.hpp>

#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>
#include <vector>

TEST_SUITE_BEGIN("failure log");

namespace {

nlohmann::json waiting_doc()
{
    return {{"_id", "ma22a000_001"},
            {"status", "good"},
            {"conditions", {{"t", 1}}},
            {"process", {{{"name", "move_to_sps"}}}}};
}

const edw::Failure failure{.step = "signal_processing",
                           .worker = "host:1/listen_analysis1",
                           .message = "no field 'file'",
                           .detail = "stderr tail"};

edw::RetryPolicy policy(int attempts)
{
    edw::RetryPolicy retry;
    retry.max_attempts = attempts;
    retry.first_delay = std::chrono::seconds(10);
    retry.max_delay = std::chrono::seconds(60);
    return retry;
}

} // namespace

TEST_CASE("the delay doubles per attempt up to its cap")
{
    const auto retry = policy(10);
    CHECK(retry.delay_after(1) == std::chrono::seconds(10));
    CHECK(retry.delay_after(2) == std::chrono::seconds(20));
    CHECK(retry.delay_after(3) == std::chrono::seconds(40));
    CHECK(retry.delay_after(4) == std::chrono::seconds(60));
    CHECK(retry.delay_after(40) == std::chrono::seconds(60));
}

TEST_CASE("a failure is recorded with its attempt and retry time, and lastproc is unchanged")
{
    const auto now = std::chrono::system_clock::now();
    const auto doc = edw::record_failure(waiting_doc(), failure, now, policy(3));
    CHECK(edw::lastproc_key(doc) == edw::lastproc_key(waiting_doc()));
    CHECK(edw::is_waiting_at(doc, edw::StepPosition::after("move_to_sps")));
    REQUIRE(doc[edw::failures_field].size() == 1);
    const auto& entry = doc[edw::failures_field][0];
    CHECK(entry["step"] == "signal_processing");
    CHECK(entry["worker"] == "host:1/listen_analysis1");
    CHECK(entry["attempt"] == 1);
    CHECK(entry["message"] == "no field 'file'");
    CHECK(entry["detail"] == "stderr tail");
    CHECK(entry["time"] == edw::iso8601(now));
    CHECK(entry["retry_at"] == edw::iso8601(now + std::chrono::seconds(10)));
    CHECK(edw::failed_attempts(doc, "signal_processing") == 1);
    CHECK(edw::failed_attempts(doc, "move_to_sps") == 0);
    CHECK(edw::retry_at(doc, "signal_processing") == entry["retry_at"].get<std::string>());
    CHECK_FALSE(edw::is_parked(doc));
}

TEST_CASE("a retry time in the past lets the doc run now")
{
    const auto long_ago = std::chrono::system_clock::now() - std::chrono::hours(1);
    const auto doc = edw::record_failure(waiting_doc(), failure, long_ago, policy(3));
    CHECK_FALSE(edw::retry_at(doc, "signal_processing").has_value());
}

TEST_CASE("the last attempt parks the doc, and put_back brings it back with all its attempts")
{
    const auto now = std::chrono::system_clock::now();
    auto doc = waiting_doc();
    for (int i = 0; i < 3; ++i) {
        doc = edw::record_failure(doc, failure, now, policy(3));
    }
    CHECK(doc["status"] == "failed:signal_processing");
    CHECK(edw::is_parked(doc));
    CHECK(edw::is_parked(doc, std::string_view("signal_processing")));
    CHECK_FALSE(edw::is_parked(doc, std::string_view("move_to_sps")));
    CHECK_FALSE(edw::lastproc_key(doc).has_value()); // out of the pipeline
    CHECK(doc[edw::failures_field][2]["parked"] == true);
    CHECK_FALSE(doc[edw::failures_field][2].contains("retry_at"));

    CHECK_FALSE(edw::put_back(doc, "t", std::string_view("move_to_sps")).has_value());
    const auto back = edw::put_back(doc, "2026-11-30T00:00:00.000Z");
    REQUIRE(back.has_value());
    CHECK((*back)["status"] == "good");
    CHECK(edw::lastproc_key(*back) == edw::lastproc_key(waiting_doc()));
    CHECK(edw::failed_attempts(*back, "signal_processing") == 0);
    CHECK((*back)[edw::failures_field].size() == 3); // the history stays visible
    CHECK((*back)[edw::failures_field][0]["retried"] == "2026-11-30T00:00:00.000Z");
    CHECK_FALSE(edw::put_back(*back, "t").has_value());
}

TEST_CASE("parking keeps a state doc's own status, or its lack of one, for put_back")
{
    const auto now = std::chrono::system_clock::now();
    nlohmann::json with_status = {{"_id", "pb-1-state"}, {"status", "WAITING"}};
    nlohmann::json without_status = {{"_id", "ous-1"}, {"state", "Verified"}};
    for (int i = 0; i < 2; ++i) {
        with_status = edw::record_failure(with_status, failure, now, policy(2));
        without_status = edw::record_failure(without_status, failure, now, policy(2));
    }
    CHECK(edw::is_parked(with_status));
    CHECK(edw::is_parked(without_status));
    const auto back = edw::put_back(with_status, "t");
    REQUIRE(back.has_value());
    CHECK((*back)["status"] == "WAITING");
    CHECK_FALSE(back->contains("edw_status_before_parking"));
    const auto back_without = edw::put_back(without_status, "t");
    REQUIRE(back_without.has_value());
    CHECK_FALSE(back_without->contains("status"));
    CHECK_FALSE(back_without->contains("edw_status_before_parking"));
    CHECK((*back_without)["state"] == "Verified");
}

TEST_CASE("a doc that keeps failing keeps only its 20 latest failures")
{
    auto doc = waiting_doc();
    for (int i = 0; i < 50; ++i) {
        doc = edw::record_failure(doc, failure, std::chrono::system_clock::now(), policy(1000));
    }
    CHECK(doc[edw::failures_field].size() == 20);
    CHECK(doc[edw::failures_field].back()["attempt"] == 50);
}

TEST_CASE("iso8601 and parse_iso8601 round-trip to the millisecond")
{
    const auto now =
        std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
    CHECK(edw::parse_iso8601(edw::iso8601(now)) == now);
    CHECK_FALSE(edw::parse_iso8601("yesterday").has_value());
    CHECK_FALSE(edw::parse_iso8601("2026-11-30T00:00:00Z").has_value());
}

TEST_CASE("RetrySchedule calls back once per id, earliest first, the latest time winning")
{
    std::mutex mutex;
    std::condition_variable called;
    std::vector<std::string> order;
    edw::RetrySchedule schedule([&](const std::string& id) {
        const std::lock_guard lock(mutex);
        order.push_back(id);
        called.notify_all();
    });
    const auto now = edw::RetrySchedule::Clock::now();
    schedule.schedule("late", now + std::chrono::milliseconds(60));
    schedule.schedule("early", now + std::chrono::milliseconds(20));
    schedule.schedule("moved", now + std::chrono::milliseconds(10));
    schedule.schedule("moved", now + std::chrono::milliseconds(40)); // replaces the 10 ms
    std::unique_lock lock(mutex);
    REQUIRE(called.wait_for(lock, std::chrono::seconds(5), [&] { return order.size() == 3; }));
    CHECK(order == std::vector<std::string>{"early", "moved", "late"});
}

TEST_SUITE_END();
