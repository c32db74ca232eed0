// CurlTransport: the HttpTransport that talks to real servers, over libcurl.
#pragma once

#include <edw/http/http.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace edw {

struct TransportOptions {
    std::string ca_file;    ///< Extra CA bundle; empty uses the system's.
    bool verify_tls = true; ///< Certificate and host-name checks; off only on explicit request.
    std::chrono::milliseconds connect_timeout{10000};
};

/// A transport over libcurl that keeps connections open between requests (HTTP/1.1 keep-alive)
/// and may be used from several threads at once.
std::unique_ptr<HttpTransport> make_curl_transport(const TransportOptions& options);

} // namespace edw
