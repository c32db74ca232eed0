// StatusServer: routes, access token, the status cache and the feed that invalidates it.
#include "status_server.hpp"

#include "replication_api.hpp"
#include "rerun_api.hpp"
#include "web_assets.hpp"

#include <edw/app/open_database.hpp>
#include <edw/feed/changes_follower.hpp>
#include <edw/status/parked_docs.hpp>
#include <edw/status/pipeline_status.hpp>
#include <edw/util/error.hpp>
#include <edw/util/log.hpp>
#include <edw/util/url.hpp>

#include <openssl/crypto.h>

#include <httplib.h>

#include <algorithm>

namespace edw::tools {
namespace {

constexpr std::uint64_t most_rows_per_page = 500;
constexpr auto longest_cache = std::chrono::seconds(5); // claims expire, waiting ages grow

void answer_json(httplib::Response& response, int status, const nlohmann::json& body)
{
    response.status = status;
    response.set_header("Cache-Control", "no-store");
    response.set_content(body.dump(), "application/json");
}

void answer_error(httplib::Response& response, int status, const std::string& error,
                  const std::string& reason)
{
    answer_json(response, status, {{"error", error}, {"reason", redact_credentials(reason)}});
}

// Equal texts, in a time that does not depend on where they differ.
bool same_secret(const std::string& given, const std::string& expected)
{
    return given.size() == expected.size() &&
           CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

std::string cookie_value(const std::string& cookies, const std::string& name)
{
    std::size_t at = 0;
    while (at < cookies.size()) {
        const auto end = std::min(cookies.find(';', at), cookies.size());
        auto pair = cookies.substr(at, end - at);
        pair.erase(0, pair.find_first_not_of(' '));
        if (pair.starts_with(name + "=")) {
            return pair.substr(name.size() + 1);
        }
        at = end + 1;
    }
    return "";
}

std::uint64_t number_parameter(const httplib::Request& request, const char* name,
                               std::uint64_t fallback)
{
    if (!request.has_param(name)) {
        return fallback;
    }
    const auto text = request.get_param_value(name);
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
        text.size() > 12) {
        throw ConfigError(std::string(name) + " must be a whole number, not '" + text + "'");
    }
    return std::stoull(text);
}

} // namespace

bool is_loopback(const std::string& address)
{
    return address == "localhost" || address == "::1" || address.starts_with("127.");
}

StatusServer::StatusServer(const Settings& settings, ServeOptions options)
    : m_settings(settings)
    , m_options(std::move(options))
{
    if (!is_loopback(m_options.address) && m_options.token.empty()) {
        throw ConfigError("edw serve on " + m_options.address +
                          " would let anyone who can reach it retry docs: set an access token "
                          "(EDW_SERVE_TOKEN or --token-file), or bind to 127.0.0.1");
    }
    if (m_options.replication_api && !m_settings.server.is_file()) {
        throw ConfigError("--replication-api serves the embedded store, and the settings name the "
                          "server " +
                          m_settings.server.str() + ", which replicators can reach by themselves");
    }
    m_database = open_database(m_settings);
    m_feed_database = open_database(m_settings);
    if (m_options.replication_api) {
        m_replication_database = open_database(m_settings);
    }
    // A rerun's record is a _local doc, which the changes feed does not show: its progress
    // makes the status be read again.
    m_reruns = std::make_unique<RerunRunner>(m_settings, *m_database, [this] { ++m_version; });
    m_server = std::make_unique<httplib::Server>();
    // httplib's default also sets SO_REUSEPORT, which would let a second edw serve share the port
    // and take half the requests; SO_REUSEADDR alone allows a restart while old sockets linger.
    m_server->set_socket_options([](socket_t socket) {
        int yes = 1;
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    // A replicator keeps its connections for many requests; httplib would close each after 5
    // (its default), and CouchDB's replicator may already be sending the next one on it. Each
    // open connection holds one of httplib's threads until it has been idle for 5 s, and
    // CouchDB's replicator opens up to 20: with httplib's 8 threads its requests waited seconds.
    m_server->set_keep_alive_max_count(10000);
    m_server->new_task_queue = [] { return new httplib::ThreadPool(48); };
    add_routes();
}

StatusServer::~StatusServer()
{
    stop();
}

void StatusServer::bind()
{
    if (m_options.port == 0) {
        m_port = m_server->bind_to_any_port(m_options.address);
    } else if (m_server->bind_to_port(m_options.address, m_options.port)) {
        m_port = m_options.port;
    }
    if (m_port <= 0) {
        throw Error("cannot listen on " + m_options.address + ":" + std::to_string(m_options.port) +
                    ": the port is in use, or the address is not this machine's");
    }
}

void StatusServer::run()
{
    if (m_stopping) {
        return; // stopped before it started: httplib's stop() does nothing then
    }
    m_feed_thread = std::jthread([this](std::stop_token stop) { follow_feed(stop); });
    m_server->listen_after_bind();
}

void StatusServer::stop()
{
    m_stopping = true;
    if (m_server) {
        m_server->stop();
    }
    // Running reruns end as "interrupted" (resumable) before the server exits.
    if (m_reruns) {
        m_reruns->stop_all();
    }
    if (m_feed_thread.joinable()) {
        m_feed_thread.request_stop();
        m_feed_thread.join();
    }
}

bool StatusServer::is_authorized(const httplib::Request& request) const
{
    if (m_options.token.empty()) {
        return true;
    }
    const auto header = request.get_header_value("Authorization");
    return (header.starts_with("Bearer ") && same_secret(header.substr(7), m_options.token)) ||
           same_secret(cookie_value(request.get_header_value("Cookie"), "edw_token"),
                       m_options.token) ||
           same_secret(request.get_param_value("token"), m_options.token);
}

void StatusServer::add_routes()
{
    auto& server = *m_server;
    server.set_pre_routing_handler(
        [this](const httplib::Request& request, httplib::Response& response) {
            if (is_authorized(request)) {
                // The page is opened once as /?token=...; the cookie carries the token from then
                // on.
                if (!m_options.token.empty() && request.has_param("token")) {
                    response.set_header("Set-Cookie", "edw_token=" + m_options.token +
                                                          "; Path=/; HttpOnly; SameSite=Strict");
                }
                return httplib::Server::HandlerResponse::Unhandled;
            }
            response.set_header("WWW-Authenticate", "Bearer");
            answer_error(response, 401, "unauthorized",
                         "this edw serve needs its access token: open /?token=<token>, or send "
                         "Authorization: Bearer <token>");
            return httplib::Server::HandlerResponse::Handled;
        });
    server.set_exception_handler(
        [](const httplib::Request&, httplib::Response& response, std::exception_ptr error) {
            try {
                std::rethrow_exception(error);
            } catch (const ConfigError& config) {
                answer_error(response, 400, "bad_request", config.what());
            } catch (const std::exception& other) {
                log_warning(std::string("edw serve: ") + redact_credentials(other.what()));
                answer_error(response, 502, "database", other.what());
            }
        });

    // Errors cpp-httplib answers by itself (a request it cannot read) get a JSON body too, like
    // every other answer of the API, instead of an empty one.
    server.set_error_handler([](const httplib::Request& request, httplib::Response& response) {
        log_debug("edw serve: " + request.method + " " + request.target + ": " +
                  std::to_string(response.status));
        if (!response.body.empty()) {
            return;
        }
        if (response.status == 400 && request.method == "POST") {
            answer_error(response, 400, "bad_request",
                         "the request could not be read: a POST needs a body and its "
                         "Content-Length; send {} with Content-Type: application/json");
            return;
        }
        answer_error(response, response.status, "error", "HTTP " + std::to_string(response.status));
    });

    for (const auto& asset : web_assets()) {
        const std::string path = asset.path == "/index.html" ? "/" : std::string(asset.path);
        server.Get(path, [&asset](const httplib::Request&, httplib::Response& response) {
            response.set_header("Cache-Control", "no-cache");
            response.set_content(std::string(asset.body), std::string(asset.content_type));
        });
    }
    if (m_replication_database) {
        add_replication_routes(server, *m_replication_database, m_settings.database, m_stopping);
    }
    server.Get("/api/status", [this](const httplib::Request&, httplib::Response& response) {
        answer_json(response, 200, status());
    });
    server.Get(R"(/api/steps/([^/]+)/(waiting|failed|retrying))",
               [this](const httplib::Request& request, httplib::Response& response) {
                   answer_step_list(request, response);
               });
    server.Post("/api/rerun", [this](const httplib::Request& request, httplib::Response& response) {
        m_reruns->answer_start(request, response);
    });
    server.Post(R"(/api/rerun/([^/]+)/resume)",
                [this](const httplib::Request& request, httplib::Response& response) {
                    m_reruns->answer_resume(request, response);
                });
    server.Post(R"(/api/docs/(.+)/retry)",
                [this](const httplib::Request& request, httplib::Response& response) {
                    answer_retry(request, response);
                });
    server.Get(R"(/api/docs/(.+))",
               [this](const httplib::Request& request, httplib::Response& response) {
                   answer_doc(request, response);
               });
    server.Get(R"(/api/.*)", [](const httplib::Request& request, httplib::Response& response) {
        answer_error(response, 404, "not_found", "no API at " + request.path);
    });
}

nlohmann::json StatusServer::status()
{
    const std::lock_guard lock(m_status_mutex);
    const auto now = std::chrono::steady_clock::now();
    const auto age = now - m_status_time;
    // Reading the status costs the database work (on the embedded store, bringing the steps
    // view up to date runs its map function on every changed doc, in this process, and writes
    // the index into the file the listeners write to). So it is read again at most once per
    // min_refresh, and no more often than every ten times its last cost: at most a tenth of
    // the time goes to it however busy the pipeline is.
    const auto wait =
        std::max<std::chrono::steady_clock::duration>(m_options.min_refresh, 10 * m_status_cost);
    const bool unchanged = m_status_version == m_version.load() && age < longest_cache;
    if (!m_status.is_null() && (unchanged || age < wait)) {
        return m_status;
    }
    const std::uint64_t version = m_version.load();
    auto status = to_json(
        read_pipeline_status(*m_database, m_settings.design, std::chrono::system_clock::now()));
    m_status_cost = std::chrono::steady_clock::now() - now;
    status["version"] = version;
    {
        const std::lock_guard feed_lock(m_feed_mutex);
        status["feed_error"] =
            m_feed_error.empty() ? nlohmann::json() : nlohmann::json(m_feed_error);
    }
    m_status = std::move(status);
    m_status_version = version;
    m_status_time = now;
    return m_status;
}

void StatusServer::follow_feed(std::stop_token stop)
{
    class Bump : public FollowHandler {
    public:
        explicit Bump(std::atomic<std::uint64_t>& version)
            : m_version(version)
        {}
        void on_change(Change&&) override { ++m_version; }
        void on_feed_end(const Seq&) override {}

    private:
        std::atomic<std::uint64_t>& m_version;
    };
    FollowOptions options;
    options.since = Seq::now();
    options.feed = Feed::longpoll;
    options.include_docs = false;
    options.heartbeat = m_settings.heartbeat;
    Bump bump(m_version);
    try {
        ChangesFollower(*m_feed_database, options).follow(stop, bump);
    } catch (const std::exception& error) {
        // The page keeps working from the views; it says that live updates stopped, and why.
        const std::string reason = redact_credentials(error.what());
        log_error("edw serve: stopped following the changes feed: " + reason);
        const std::lock_guard lock(m_feed_mutex);
        m_feed_error = reason;
    }
}

void StatusServer::answer_step_list(const httplib::Request& request, httplib::Response& response)
{
    const std::string name = request.matches[1];
    const std::string which = request.matches[2];
    const auto skip = number_parameter(request, "skip", 0);
    const auto limit = std::min(number_parameter(request, "limit", 50), most_rows_per_page);
    const auto current = status();
    const auto& steps = current["steps"];
    const auto found = std::find_if(steps.begin(), steps.end(), [&](const nlohmann::json& step) {
        return step["name"] == name;
    });
    if (found == steps.end()) {
        answer_error(response, 404, "not_found", "no step " + name + " in this pipeline");
        return;
    }
    const PipelineStep step{.name = name, .after = (*found)["after"]};
    const auto list = which == "waiting"  ? DocList::waiting
                      : which == "failed" ? DocList::failed
                                          : DocList::retrying;
    if (list == DocList::waiting && step.after.is_null()) {
        answer_json(response, 200, to_json(DocPage{}));
        return;
    }
    auto page = to_json(list_docs(*m_database, m_settings.design, step, list, skip, limit));
    page["skip"] = skip;
    page["limit"] = limit;
    answer_json(response, 200, page);
}

void StatusServer::answer_doc(const httplib::Request& request, httplib::Response& response)
{
    const std::string id = request.matches[1];
    const auto doc = m_database->get(id);
    if (!doc) {
        answer_error(response, 404, "not_found", "no document " + id);
        return;
    }
    answer_json(response, 200, *doc);
}

void StatusServer::answer_retry(const httplib::Request& request, httplib::Response& response)
{
    // A JSON content type cannot be sent cross-site without a CORS preflight, which this server
    // never grants: another web page in the operator's browser cannot press retry.
    if (!request.get_header_value("Content-Type").starts_with("application/json")) {
        answer_error(response, 415, "bad_content_type", "send Content-Type: application/json");
        return;
    }
    const std::string id = request.matches[1];
    auto doc = m_database->get(id);
    if (!doc) {
        answer_error(response, 404, "not_found", "no document " + id);
        return;
    }
    if (!put_back_parked(*m_database, std::move(*doc), "")) {
        answer_error(response, 409, "not_parked", "doc " + id + " is not parked after a failure");
        return;
    }
    log_info("edw serve: put back " + id + " (retry from " + request.remote_addr + ")");
    ++m_version;
    answer_json(response, 200, {{"ok", true}, {"id", id}});
}

} // namespace edw::tools
