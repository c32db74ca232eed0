// CouchServer: one CouchDB-compatible server over HTTP(S): auth, retries and typed errors.
#pragma once

#include <edw/db/database.hpp>
#include <edw/http/http.hpp>
#include <edw/util/backoff.hpp>
#include <edw/util/settings.hpp>
#include <edw/util/url.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace edw {

/// When and how often a request that failed for a passing reason is sent again.
struct RetryPolicy {
    int max_attempts = 6; ///< Tries in all, the first included.
    Backoff::Options backoff{};
    /// How to wait between tries; a seam so unit tests do not sleep.
    std::function<void(std::chrono::milliseconds)> sleep;
};

struct ServerOptions {
    Url url; ///< Without credentials.
    std::string username;
    std::string password;
    AuthMethod auth = AuthMethod::none;
    std::chrono::milliseconds request_timeout{30000};
    /// How long a request other than a view query may receive nothing before it is given up
    /// and sent again (zero: only request_timeout). A view query may wait that long, silent,
    /// while the server builds its index.
    std::chrono::milliseconds silence_limit{0};
    RetryPolicy retry{};
};

/// A CouchDB, Cloudant or other CouchDB-compatible server.
///
/// Requests carry basic auth or a `_session` cookie. Connection errors, 5xx and 429 are retried
/// with exponential backoff and jitter (429 and 503 honour `Retry-After`); a 401 with cookie auth
/// logs in again once. Everything else comes back to the caller as a status to branch on.
class CouchServer : public std::enable_shared_from_this<CouchServer> {
public:
    CouchServer(ServerOptions options, std::shared_ptr<HttpTransport> transport);

    /// The server's welcome document (`GET /`): version, vendor.
    nlohmann::json info();
    /// A database on this server (whether or not it exists yet).
    std::unique_ptr<Database> database(std::string name);

    /// Sends a request to `path_and_query` (already encoded, starting with '/'), retrying as above.
    /// `action` says what edw was doing, for messages ("read doc x of http://h/db").
    /// Returns the final response whatever its status; throws TransportError when no response came.
    HttpResponse send(HttpMethod method, std::string_view path_and_query, std::string body,
                      std::string_view action);
    /// Like send(), but streams a 2xx body to `handler` and never retries: feeds resume themselves.
    HttpResponse stream(HttpMethod method, std::string_view path_and_query, std::string body,
                        StreamHandler& handler);

    [[nodiscard]] const Url& url() const noexcept { return m_options.url; }
    /// Closes the kept-alive connections (see HttpTransport::drop_idle_connections).
    void drop_idle_connections() { m_transport->drop_idle_connections(); }

private:
    HttpRequest make_request(HttpMethod method, std::string_view path_and_query, std::string body);
    void add_credentials(HttpRequest& request);
    void remember_cookie(const HttpResponse& response);
    void log_in();
    void refuse_without_password(const HttpResponse& response, std::string_view action);
    void wait_before_retry(Backoff& backoff, const HttpResponse* response, std::string_view why);

    ServerOptions m_options;
    std::shared_ptr<HttpTransport> m_transport;
    std::mutex m_cookie_mutex;
    std::string m_cookie; ///< "AuthSession=..." once logged in with cookie auth.
};

/// Throws HttpError for a status of 400 or more, naming `action` and CouchDB's error and reason:
/// "cannot read doc x of http://h/db: HTTP 404 not_found: missing".
void throw_if_error(const HttpResponse& response, std::string_view action);

/// Builds the server for `settings`, with libcurl as the transport.
std::shared_ptr<CouchServer> connect_server(const Settings& settings);

} // namespace edw
