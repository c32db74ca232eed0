// CouchServer: request building, authentication, retries and error mapping.
#include "edw/couch/couch_server.hpp"

#include "couch_database.hpp"

#include <edw/http/curl_transport.hpp>
#include <edw/util/error.hpp>
#include <edw/util/log.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

namespace edw {
namespace {

std::string base64(std::string_view bytes)
{
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                        reinterpret_cast<const unsigned char*>(bytes.data()),
                                        static_cast<int>(bytes.size()));
    out.resize(static_cast<size_t>(written));
    return out;
}

// The request timeline at debug level: a line when a request leaves and one when its answer is
// in, so a log shows which requests were in flight while a listener seemed idle.
class RequestTimeline {
public:
    RequestTimeline(HttpMethod method, std::string_view path_and_query)
        : m_on(log_enabled(LogLevel::debug))
    {
        if (m_on) {
            m_what = std::string(method_name(method)) + " " + std::string(path_and_query);
            m_start = std::chrono::steady_clock::now();
            log_debug("http> " + m_what);
        }
    }
    void done(const HttpResponse& response) const
    {
        if (m_on) {
            log_debug("http< " + std::to_string(response.status) + " " + m_what + " " + elapsed() +
                      ", " + std::to_string(response.body.size()) + " bytes");
        }
    }
    void failed(const std::exception& error) const
    {
        if (m_on) {
            log_debug("http< failed " + m_what + " " + elapsed() + ": " + error.what());
        }
    }

private:
    [[nodiscard]] std::string elapsed() const
    {
        const std::chrono::duration<double, std::milli> took =
            std::chrono::steady_clock::now() - m_start;
        char text[32];
        std::snprintf(text, sizeof text, "%.1f ms", took.count());
        return text;
    }
    bool m_on;
    std::string m_what;
    std::chrono::steady_clock::time_point m_start;
};

bool is_retryable(int status)
{
    return status == 429 || status >= 500;
}

// Retry-After is either seconds or an HTTP date; CouchDB and Cloudant send seconds.
std::optional<std::chrono::milliseconds> retry_after(const HttpResponse& response)
{
    const auto value = response.header("Retry-After");
    if (value.empty()) {
        return std::nullopt;
    }
    char* end = nullptr;
    const std::string text(value);
    const double seconds = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || seconds < 0 || seconds > 3600) {
        return std::nullopt;
    }
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

} // namespace

CouchServer::CouchServer(ServerOptions options, std::shared_ptr<HttpTransport> transport)
    : m_options(std::move(options))
    , m_transport(std::move(transport))
{
    if (!m_options.retry.sleep) {
        m_options.retry.sleep = [](std::chrono::milliseconds wait) {
            std::this_thread::sleep_for(wait);
        };
    }
}

HttpRequest CouchServer::make_request(HttpMethod method, std::string_view path_and_query,
                                      std::string body)
{
    HttpRequest request;
    request.method = method;
    request.url = m_options.url.str() + std::string(path_and_query);
    request.headers.emplace_back("Accept", "application/json");
    if (!body.empty()) {
        // Some servers ignore a body without this header; CouchDB answers 415.
        request.headers.emplace_back("Content-Type", "application/json");
    }
    request.body = std::move(body);
    request.timeout = m_options.request_timeout;
    const bool may_wait_for_index = path_and_query.find("/_view/") != std::string_view::npos ||
                                    path_and_query.find("/_find") != std::string_view::npos;
    if (!may_wait_for_index) {
        request.silence_limit = m_options.silence_limit;
    }
    return request;
}

void CouchServer::add_credentials(HttpRequest& request)
{
    switch (m_options.auth) {
    case AuthMethod::none:
        return;
    case AuthMethod::basic:
        request.headers.emplace_back(
            "Authorization", "Basic " + base64(m_options.username + ":" + m_options.password));
        return;
    case AuthMethod::cookie: {
        std::string cookie;
        {
            const std::lock_guard lock(m_cookie_mutex);
            cookie = m_cookie;
        }
        if (cookie.empty()) {
            log_in();
            const std::lock_guard lock(m_cookie_mutex);
            cookie = m_cookie;
        }
        request.headers.emplace_back("Cookie", cookie);
        return;
    }
    }
}

// CouchDB renews the cookie on any response once a tenth of its life has passed, so every
// response, the streamed feed included, may carry the one to use from now on.
void CouchServer::remember_cookie(const HttpResponse& response)
{
    for (const auto& [name, value] : response.headers) {
        if (!same_header_name(name, "Set-Cookie") || value.rfind("AuthSession=", 0) != 0) {
            continue;
        }
        const auto end = value.find(';');
        const std::lock_guard lock(m_cookie_mutex);
        m_cookie = value.substr(0, end);
    }
}

void CouchServer::log_in()
{
    const nlohmann::json credentials = {{"name", m_options.username},
                                        {"password", m_options.password}};
    HttpRequest request = make_request(HttpMethod::post, "/_session", credentials.dump());
    const std::string action = "log in to " + m_options.url.str() + " as " + m_options.username;
    HttpResponse response;
    try {
        response = m_transport->perform(request);
    } catch (const TransportError& error) {
        throw TransportError("cannot " + action + ": " + error.what());
    }
    refuse_without_password(response, "log in to " + m_options.url.str());
    throw_if_error(response, action);
    remember_cookie(response);
    const std::lock_guard lock(m_cookie_mutex);
    if (m_cookie.empty()) {
        throw HttpError("cannot " + action + ": the server sent no AuthSession cookie",
                        response.status, "unauthorized", "no AuthSession cookie");
    }
}

// "Name or password is incorrect" hides the likelier cause when no password was given at all.
void CouchServer::refuse_without_password(const HttpResponse& response, std::string_view action)
{
    if (response.status != 401 || m_options.username.empty() || !m_options.password.empty()) {
        return;
    }
    throw HttpError("cannot " + std::string(action) + " as " + m_options.username +
                        ": HTTP 401 unauthorized: no password is set (EDW_PASSWORD is unset or "
                        "empty, and the settings file gives none)",
                    401, "unauthorized", "no password");
}

void CouchServer::wait_before_retry(Backoff& backoff, const HttpResponse* response,
                                    std::string_view why)
{
    auto wait = backoff.next();
    if (response != nullptr) {
        if (const auto asked = retry_after(*response)) {
            wait = *asked;
        }
    }
    log_warning(std::string(why) + "; trying again in " + std::to_string(wait.count()) + " ms");
    m_options.retry.sleep(wait);
}

HttpResponse CouchServer::send(HttpMethod method, std::string_view path_and_query, std::string body,
                               std::string_view action)
{
    Backoff backoff(m_options.retry.backoff);
    bool logged_in_again = false;
    for (int attempt = 1;; ++attempt) {
        HttpRequest request = make_request(method, path_and_query, body);
        add_credentials(request);
        HttpResponse response;
        const RequestTimeline timeline(method, path_and_query);
        try {
            response = m_transport->perform(request);
            timeline.done(response);
        } catch (const TransportError& error) {
            timeline.failed(error);
            if (attempt >= m_options.retry.max_attempts || !error.is_retryable()) {
                throw TransportError("cannot " + std::string(action) + ": " + error.what(),
                                     error.is_retryable());
            }
            wait_before_retry(backoff, nullptr,
                              "cannot " + std::string(action) + ": " + error.what());
            continue;
        }
        remember_cookie(response);
        if (response.status == 401 && m_options.auth == AuthMethod::cookie && !logged_in_again) {
            // The session cookie expired: log in again once, then give the 401 to the caller.
            logged_in_again = true;
            {
                const std::lock_guard lock(m_cookie_mutex);
                m_cookie.clear();
            }
            --attempt;
            continue;
        }
        refuse_without_password(response, action);
        if (is_retryable(response.status) && attempt < m_options.retry.max_attempts) {
            wait_before_retry(backoff, &response,
                              "cannot " + std::string(action) + ": HTTP " +
                                  std::to_string(response.status));
            continue;
        }
        return response;
    }
}

HttpResponse CouchServer::stream(HttpMethod method, std::string_view path_and_query,
                                 std::string body, StreamHandler& handler)
{
    for (int attempt = 0;; ++attempt) {
        HttpRequest request = make_request(method, path_and_query, body);
        request.timeout = std::chrono::milliseconds(0);
        request.silence_limit = std::chrono::milliseconds(0); // the feed watches for silence
        add_credentials(request);
        const RequestTimeline timeline(method, path_and_query);
        HttpResponse response;
        try {
            response = m_transport->stream(request, handler);
        } catch (const std::exception& error) {
            timeline.failed(error);
            throw;
        }
        timeline.done(response);
        remember_cookie(response);
        refuse_without_password(response, "read the changes feed");
        if (response.status != 401 || m_options.auth != AuthMethod::cookie || attempt > 0) {
            return response;
        }
        // The session cookie expired while the feed was idle: log in again, once.
        const std::lock_guard lock(m_cookie_mutex);
        m_cookie.clear();
    }
}

std::unique_ptr<Database> CouchServer::database(std::string name)
{
    return std::make_unique<CouchDatabase>(shared_from_this(), std::move(name));
}

nlohmann::json CouchServer::info()
{
    const std::string action = "read server info of " + m_options.url.str();
    const HttpResponse response = send(HttpMethod::get, "/", {}, action);
    throw_if_error(response, action);
    auto json = nlohmann::json::parse(response.body, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        throw JsonError("cannot " + action + ": the answer is not a JSON object");
    }
    return json;
}

void throw_if_error(const HttpResponse& response, std::string_view action)
{
    if (response.status < 400) {
        return;
    }
    std::string error;
    std::string reason;
    const auto body = nlohmann::json::parse(response.body, nullptr, false);
    if (body.is_object()) {
        if (const auto it = body.find("error"); it != body.end() && it->is_string()) {
            error = it->get<std::string>();
        }
        if (const auto it = body.find("reason"); it != body.end() && it->is_string()) {
            reason = it->get<std::string>();
        }
    }
    std::string message =
        "cannot " + std::string(action) + ": HTTP " + std::to_string(response.status);
    if (!error.empty()) {
        message += " " + error;
    }
    if (!reason.empty()) {
        message += ": " + reason;
    }
    if (response.status == 401) {
        message += " (check username and password)";
    }
    throw HttpError(message, response.status, error, reason);
}

std::shared_ptr<CouchServer> connect_server(const Settings& settings)
{
    ServerOptions options;
    options.url = settings.server;
    options.username = settings.username;
    options.password = settings.password;
    options.auth = settings.auth;
    options.request_timeout = settings.request_timeout;
    // The feed's rule: an idle server sends a heartbeat every `heartbeat`, so a connection that
    // brings nothing for a quarter longer (and a second) is dead. A write or a doc read that
    // receives nothing that long is given up and sent again, on a new connection.
    options.silence_limit =
        std::min(settings.request_timeout, settings.heartbeat * 5 / 4 + std::chrono::seconds(1));
    TransportOptions transport;
    transport.ca_file = settings.ca_file;
    transport.verify_tls = settings.verify_tls;
    return std::make_shared<CouchServer>(options, make_curl_transport(transport));
}

} // namespace edw
