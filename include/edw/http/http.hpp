// Http: the request/response types and the transport seam between edw and the network.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edw {

enum class HttpMethod { get, head, put, post, del };

/// The name of a method as sent on the wire, e.g. "DELETE".
std::string_view method_name(HttpMethod method) noexcept;

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

/// True when two header names are the same, ignoring case.
bool same_header_name(std::string_view a, std::string_view b) noexcept;

/// Finds a header by case-insensitive name; empty when absent.
std::string_view find_header(const HttpHeaders& headers, std::string_view name) noexcept;

struct HttpRequest {
    HttpMethod method = HttpMethod::get;
    std::string url; ///< Full URL without credentials; credentials travel in headers.
    HttpHeaders headers;
    std::string body;
    /// Whole-request limit; zero means none (used by streaming feeds, which end on their own).
    std::chrono::milliseconds timeout{0};
    /// The longest time with no byte received; zero means none. Shorter than `timeout`: a
    /// connection that a firewall or load balancer silently dropped is given up this soon.
    std::chrono::milliseconds silence_limit{0};
};

struct HttpResponse {
    int status = 0;
    HttpHeaders headers;
    std::string body;
    [[nodiscard]] std::string_view header(std::string_view name) const noexcept
    {
        return find_header(headers, name);
    }
};

/// Receives a streamed response as it arrives (a continuous changes feed).
class StreamHandler {
public:
    virtual ~StreamHandler() = default;
    /// Called once the status and headers are in. Returning false stops the transfer; the body
    /// of a non-2xx answer is then still collected into the returned HttpResponse.
    virtual bool on_headers(int status, const HttpHeaders& headers) = 0;
    /// Called with each piece of body as received. Returning false stops the transfer.
    virtual bool on_data(std::string_view bytes) = 0;
    /// Polled about every 100 ms, even when no byte arrives. Returning false stops the
    /// transfer: this is how a silent connection or a shutdown request ends a feed.
    virtual bool keep_going() = 0;
};

/// Sends HTTP requests. Implementations must be safe to call from several threads at once.
class HttpTransport {
public:
    virtual ~HttpTransport() = default;
    /// Sends one request and returns the whole response, whatever its status.
    /// Throws TransportError when no response arrived (refused, reset, TLS, DNS, timeout).
    virtual HttpResponse perform(const HttpRequest& request) = 0;
    /// Sends one request and hands a 2xx body to `handler` piece by piece. The returned response
    /// carries the status and headers, and the body only when the status is not 2xx.
    /// Throws TransportError when the connection fails; returns normally when the handler stops it.
    virtual HttpResponse stream(const HttpRequest& request, StreamHandler& handler) = 0;
    /// Closes the kept-alive connections, and those in use once their request ends: a silence
    /// seen on one connection to a server (a dropped route) is likely on the others too.
    virtual void drop_idle_connections() {}
};

} // namespace edw
