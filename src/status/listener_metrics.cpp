// ListenerMetrics: the text format written by hand (it is a few lines), served by cpp-httplib.
#include "edw/status/listener_metrics.hpp"

#include <edw/util/error.hpp>
#include <edw/util/log.hpp>

#include <httplib.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <optional>
#include <sstream>
#include <thread>

namespace edw {
namespace {

// A label value with \, " and newlines escaped, as the text format asks.
std::string label_value(const std::string& text)
{
    std::string escaped;
    for (const char c : text) {
        if (c == '\\' || c == '"') {
            escaped += '\\';
            escaped += c;
        } else if (c == '\n') {
            escaped += "\\n";
        } else {
            escaped += c;
        }
    }
    return escaped;
}

std::string number(double value)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", value);
    return text;
}

} // namespace

std::string prometheus_text(const ListenerSnapshot& snapshot)
{
    return prometheus_text(std::vector<ListenerSnapshot>{snapshot});
}

std::string prometheus_text(const std::vector<ListenerSnapshot>& snapshots)
{
    const auto labels_of = [](const ListenerSnapshot& snapshot) {
        return "listener=\"" + label_value(snapshot.listener) + "\",step=\"" +
               label_value(snapshot.step) + "\"";
    };
    std::ostringstream out;
    // One family at a time, a line per step: the text format wants each family's lines together.
    const auto metric =
        [&](const char* name, const char* type, const char* help,
            const std::function<std::optional<std::string>(const ListenerSnapshot&)>& value) {
            std::string lines;
            for (const auto& snapshot : snapshots) {
                if (const auto text = value(snapshot)) {
                    lines += std::string(name) + "{" + labels_of(snapshot) + "} " + *text + "\n";
                }
            }
            if (!lines.empty()) {
                out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type
                    << "\n"
                    << lines;
            }
        };
    const auto counter = [](std::atomic<long> RunnerCounts::*field) {
        return [field](const ListenerSnapshot& snapshot) -> std::optional<std::string> {
            return std::to_string((snapshot.counts->*field).load());
        };
    };
    metric("edw_docs_done_total", "counter", "Step results written to their docs.",
           counter(&RunnerCounts::recorded));
    metric(
        "edw_docs_failed_total", "counter",
        "Failed attempts: callbacks that threw or ran too long, results that could not be saved.",
        counter(&RunnerCounts::failed));
    metric("edw_docs_retried_total", "counter", "Failures recorded with a time to try again.",
           counter(&RunnerCounts::retries));
    metric("edw_docs_parked_total", "counter",
           "Docs parked as failed:<step> after their last attempt.",
           counter(&RunnerCounts::parked));
    metric("edw_docs_in_flight", "gauge", "Callbacks running now.",
           counter(&RunnerCounts::running));
    metric("edw_step_paused", "gauge", "1 while the step is paused (edw pause).",
           [](const ListenerSnapshot& snapshot) -> std::optional<std::string> {
               return snapshot.counts->paused.load() ? "1" : "0";
           });
    metric("edw_step_workers_live", "gauge",
           "The step's live workers, this one included, from their heartbeat records.",
           counter(&RunnerCounts::workers_live));
    metric("edw_step_workers_dead", "gauge",
           "The step's workers silent for three heartbeats (or gone) in the last day.",
           counter(&RunnerCounts::workers_dead));
    metric("edw_feed_rows_total", "counter", "Changes feed rows read, for this step or not.",
           counter(&RunnerCounts::feed_rows));
    metric("edw_conflicts_total", "counter", "Writes answered 409 and resolved by re-reading.",
           counter(&RunnerCounts::conflicts));
    metric("edw_database_up", "gauge", "1 when the database answered this scrape's info request.",
           [](const ListenerSnapshot& snapshot) -> std::optional<std::string> {
               return snapshot.update_seq ? "1" : "0";
           });
    metric("edw_feed_lag_seqs", "gauge",
           "Updates in the database after the last change this listener handled "
           "(from the numbers in the seqs; approximate on a cluster).",
           [](const ListenerSnapshot& snapshot) -> std::optional<std::string> {
               const auto handled = snapshot.handled_seq
                                        ? approximate_update_count(*snapshot.handled_seq)
                                        : std::optional<std::uint64_t>(0);
               const auto latest = snapshot.update_seq
                                       ? approximate_update_count(*snapshot.update_seq)
                                       : std::nullopt;
               if (!handled || !latest) {
                   return std::nullopt;
               }
               return std::to_string(*latest > *handled ? *latest - *handled : 0);
           });
    metric("edw_feed_lag_seconds", "gauge",
           "How long the oldest change read from the feed and not yet handled has waited.",
           [](const ListenerSnapshot& snapshot) -> std::optional<std::string> {
               return number(snapshot.feed_lag.count());
           });

    out << "# HELP edw_callback_duration_seconds How long the step's callback ran per doc.\n"
        << "# TYPE edw_callback_duration_seconds histogram\n";
    for (const auto& snapshot : snapshots) {
        const std::string labels = labels_of(snapshot);
        const auto& histogram = snapshot.counts->callback_seconds;
        for (std::size_t i = 0; i < DurationHistogram::bounds.size(); ++i) {
            out << "edw_callback_duration_seconds_bucket{" << labels << ",le=\""
                << number(DurationHistogram::bounds[i]) << "\"} " << histogram.count_at_most(i)
                << "\n";
        }
        out << "edw_callback_duration_seconds_bucket{" << labels << ",le=\"+Inf\"} "
            << histogram.count() << "\n"
            << "edw_callback_duration_seconds_sum{" << labels << "} "
            << number(histogram.sum_seconds()) << "\n"
            << "edw_callback_duration_seconds_count{" << labels << "} " << histogram.count()
            << "\n";
    }
    return out.str();
}

class MetricsServer::Impl {
public:
    httplib::Server server;
    std::thread thread;
    std::atomic<bool> done{false}; ///< listen_after_bind returned.
};

MetricsServer::MetricsServer(const std::string& address, int port,
                             std::function<std::string()> render)
    : m_impl(std::make_unique<Impl>())
{
    auto& server = m_impl->server;
    // Not httplib's default, which adds SO_REUSEPORT: a second listener must not share the port.
    server.set_socket_options([](socket_t socket) {
        int yes = 1;
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    server.new_task_queue = [] { return new httplib::ThreadPool(2); };
    server.Get("/metrics",
               [render = std::move(render)](const httplib::Request&, httplib::Response& response) {
                   response.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
               });
    if (port == 0) {
        m_port = server.bind_to_any_port(address);
    } else if (server.bind_to_port(address, port)) {
        m_port = port;
    }
    if (m_port <= 0) {
        throw ConfigError("cannot serve metrics on " + address + ":" + std::to_string(port) +
                          ": the port is in use, or the address is not this machine's");
    }
    m_impl->thread = std::thread([impl = m_impl.get()] {
        impl->server.listen_after_bind();
        impl->done = true;
    });
}

MetricsServer::~MetricsServer()
{
    // stop() does nothing before the server runs: wait until it does, or has ended.
    while (!m_impl->done && !m_impl->server.is_running()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    m_impl->server.stop();
    if (m_impl->thread.joinable()) {
        m_impl->thread.join();
    }
}

} // namespace edw
