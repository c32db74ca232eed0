// StatusServer: `edw serve`'s web page and its JSON API for one database.
#pragma once

#include <edw/db/database.hpp>
#include <edw/util/settings.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace httplib {
class Server;
struct Request;
struct Response;
} // namespace httplib

namespace edw::tools {

class RerunRunner;

struct ServeOptions {
    std::string address = "127.0.0.1";
    int port = 8484; ///< 0: any free port (see StatusServer::port).
    /// Asked of every request when set (Bearer header, edw_token cookie, or ?token= once).
    /// Required for an address other than loopback.
    std::string token;
    /// The status is computed again at most this often, however many pages are open.
    std::chrono::milliseconds min_refresh{1000};
    /// Also serve the embedded store to replicators under /<database name>/ (replication_api.hpp).
    bool replication_api = false;
};

/// True for 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach.
bool is_loopback(const std::string& address);

/// Serves the status page (tools/web) and `/api/`: status, pages of waiting and failed docs, a
/// doc, retry, and reruns (rerun_api.hpp). The status is read from the steps view only when the
/// changes feed (followed in a thread of its own) shows a write, at most once per `min_refresh` and
/// no more often than ten times its last cost, so open pages do not load the database however often
/// they ask.
class StatusServer {
public:
    /// Opens the database twice (requests, feed). Throws ConfigError when the address is not
    /// loopback and no token is set.
    StatusServer(const Settings& settings, ServeOptions options);
    ~StatusServer();
    StatusServer(const StatusServer&) = delete;
    StatusServer& operator=(const StatusServer&) = delete;

    /// Binds the port; throws Error when it cannot (in use, no permission).
    void bind();
    /// The port bound: the one asked for, or the one chosen for port 0.
    [[nodiscard]] int port() const noexcept { return m_port; }
    /// Serves until stop(); starts following the feed.
    void run();
    /// Ends run(); safe from another thread.
    void stop();

private:
    void add_routes();
    bool is_authorized(const httplib::Request& request) const;
    nlohmann::json status();
    void follow_feed(std::stop_token stop);
    void answer_step_list(const httplib::Request& request, httplib::Response& response);
    void answer_doc(const httplib::Request& request, httplib::Response& response);
    void answer_retry(const httplib::Request& request, httplib::Response& response);

    Settings m_settings;
    ServeOptions m_options;
    std::unique_ptr<Database> m_database;
    std::unique_ptr<Database> m_feed_database;
    std::unique_ptr<Database> m_replication_database; ///< With replication_api only.
    std::unique_ptr<httplib::Server> m_server;
    std::unique_ptr<RerunRunner> m_reruns;
    int m_port = 0;
    std::atomic<bool> m_stopping{false};

    std::atomic<std::uint64_t> m_version{1}; ///< Bumped by every change the feed shows.
    std::mutex m_feed_mutex;
    std::string m_feed_error; ///< Why the feed stopped, when it did.

    std::mutex m_status_mutex; ///< One computation at a time; guards the cache below.
    nlohmann::json m_status;
    std::uint64_t m_status_version = 0;
    std::chrono::steady_clock::time_point m_status_time;
    std::chrono::steady_clock::duration m_status_cost{}; ///< How long the last read took.

    std::jthread m_feed_thread;
};

} // namespace edw::tools
