// The Prometheus text of a listener, and the seq numbers its lag is estimated from.
#include <edw/status/listener_metrics.hpp>

#include <doctest/doctest.h>

#include <string>

TEST_SUITE_BEGIN("listener metrics");

TEST_CASE("the number at the front of a seq, from every server's form")
{
    CHECK(edw::approximate_update_count(edw::Seq("42")) == 42);
    CHECK(edw::approximate_update_count(edw::Seq(R"("12-g1AAAAFTeJzLYWBg")")) == 12);
    CHECK(edw::approximate_update_count(edw::Seq(R"("7")")) == 7);
    CHECK_FALSE(edw::approximate_update_count(edw::Seq(R"("g1AAAA-12")")).has_value());
    CHECK_FALSE(edw::approximate_update_count(edw::Seq(R"("12x-abc")")).has_value());
}

TEST_CASE("prometheus text: counters, gauges, lag and the callback histogram, labelled")
{
    edw::RunnerCounts counts;
    counts.recorded = 18;
    counts.failed = 4;
    counts.retries = 2;
    counts.parked = 2;
    counts.running = 1;
    counts.callback_seconds.observe(std::chrono::milliseconds(3));
    counts.callback_seconds.observe(std::chrono::milliseconds(30));
    counts.callback_seconds.observe(std::chrono::seconds(400));
    const edw::ListenerSnapshot snapshot{.listener = "listen_\"newfiles\"",
                                         .step = "move_to_sps",
                                         .counts = &counts,
                                         .handled_seq = edw::Seq(R"("90-abc")"),
                                         .update_seq = edw::Seq(R"("100-def")"),
                                         .feed_lag = std::chrono::milliseconds(1500)};
    const std::string text = edw::prometheus_text(snapshot);
    const std::string labels = R"({listener="listen_\"newfiles\"",step="move_to_sps"})";
    CHECK(text.find("# TYPE edw_docs_done_total counter\nedw_docs_done_total" + labels + " 18\n") !=
          std::string::npos);
    CHECK(text.find("edw_docs_failed_total" + labels + " 4\n") != std::string::npos);
    CHECK(text.find("edw_docs_retried_total" + labels + " 2\n") != std::string::npos);
    CHECK(text.find("edw_docs_parked_total" + labels + " 2\n") != std::string::npos);
    CHECK(text.find("# TYPE edw_docs_in_flight gauge\nedw_docs_in_flight" + labels + " 1\n") !=
          std::string::npos);
    CHECK(text.find("edw_feed_lag_seqs" + labels + " 10\n") != std::string::npos);
    CHECK(text.find("edw_feed_lag_seconds" + labels + " 1.5\n") != std::string::npos);
    CHECK(text.find("edw_database_up" + labels + " 1\n") != std::string::npos);
    const std::string bucket =
        R"(edw_callback_duration_seconds_bucket{listener="listen_\"newfiles\"",step="move_to_sps",le=)";
    CHECK(text.find(bucket + "\"0.005\"} 1\n") != std::string::npos);
    CHECK(text.find(bucket + "\"0.025\"} 1\n") != std::string::npos);
    CHECK(text.find(bucket + "\"0.05\"} 2\n") != std::string::npos);
    CHECK(text.find(bucket + "\"300\"} 2\n") != std::string::npos);
    CHECK(text.find(bucket + "\"+Inf\"} 3\n") != std::string::npos);
    CHECK(text.find("edw_callback_duration_seconds_count" + labels + " 3\n") != std::string::npos);
    CHECK(text.find("edw_callback_duration_seconds_sum" + labels + " 400.033\n") !=
          std::string::npos);
}

TEST_CASE("prometheus text when the database did not answer: up 0 and no lag in seqs")
{
    edw::RunnerCounts counts;
    edw::ListenerSnapshot snapshot;
    snapshot.listener = "l";
    snapshot.step = "s";
    snapshot.counts = &counts;
    const std::string text = edw::prometheus_text(snapshot);
    CHECK(text.find("edw_database_up{listener=\"l\",step=\"s\"} 0\n") != std::string::npos);
    CHECK(text.find("edw_feed_lag_seqs") == std::string::npos);
}

TEST_SUITE_END();

TEST_CASE("prometheus text of several steps: each family once, a line per step")
{
    edw::RunnerCounts moved;
    moved.recorded = 5;
    edw::RunnerCounts processed;
    processed.recorded = 3;
    const auto snapshot = [](const std::string& step, const edw::RunnerCounts& counts) {
        return edw::ListenerSnapshot{.listener = "edelweiss",
                                     .step = step,
                                     .counts = &counts,
                                     .handled_seq = edw::Seq("7"),
                                     .update_seq = edw::Seq("9"),
                                     .feed_lag = std::chrono::seconds(0)};
    };
    const std::string text = edw::prometheus_text(
        {snapshot("move_to_sps", moved), snapshot("signal_processing", processed)});
    CHECK(text.find("# TYPE edw_docs_done_total counter\n"
                    "edw_docs_done_total{listener=\"edelweiss\",step=\"move_to_sps\"} 5\n"
                    "edw_docs_done_total{listener=\"edelweiss\",step=\"signal_processing\"} 3\n") !=
          std::string::npos);
    // A family's HELP and TYPE lines once, whatever the number of steps.
    std::size_t types = 0;
    for (auto at = text.find("# TYPE edw_docs_done_total "); at != std::string::npos;
         at = text.find("# TYPE edw_docs_done_total ", at + 1)) {
        ++types;
    }
    CHECK(types == 1);
    CHECK(text.find("edw_feed_lag_seqs{listener=\"edelweiss\",step=\"signal_processing\"} 2\n") !=
          std::string::npos);
    CHECK(text.find("edw_callback_duration_seconds_count{listener=\"edelweiss\",step=\"move_to_"
                    "sps\"} 0\n") != std::string::npos);
}
