// ListenerMetrics: a listener's counters in the Prometheus text format, and the server for them.
#pragma once

#include <edw/db/seq.hpp>
#include <edw/runtime/step_runner.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace edw {

/// What one scrape reports, read from the runner and the database at that moment.
struct ListenerSnapshot {
    std::string listener;
    std::string step;
    const RunnerCounts* counts = nullptr;
    std::optional<Seq> handled_seq; ///< Every change up to it is handled.
    std::optional<Seq> update_seq;  ///< The database's; nothing when it could not be read.
    std::chrono::duration<double> feed_lag{0}; ///< The oldest unhandled change's wait.
};

/// The snapshot as Prometheus text format 0.0.4: edw_docs_done_total, edw_docs_failed_total,
/// edw_docs_retried_total, edw_docs_parked_total, edw_docs_in_flight, edw_feed_lag_seqs (when
/// both seqs give a number), edw_feed_lag_seconds, edw_callback_duration_seconds (histogram),
/// edw_feed_rows_total, edw_conflicts_total, edw_database_up; labelled with listener and step.
std::string prometheus_text(const ListenerSnapshot& snapshot);
/// Several steps of one process: each family once, with a line per step.
std::string prometheus_text(const std::vector<ListenerSnapshot>& snapshots);

/// Serves GET /metrics with what `render` returns, from a thread of its own, until destroyed.
class MetricsServer {
public:
    /// Binds `address`:`port` (0: any free port). Throws Error when it cannot.
    MetricsServer(const std::string& address, int port, std::function<std::string()> render);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    [[nodiscard]] int port() const noexcept { return m_port; }

private:
    class Impl;
    std::unique_ptr<Impl> m_impl;
    int m_port = 0;
};

} // namespace edw
