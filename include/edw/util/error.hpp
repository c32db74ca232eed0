// Error: the exceptions edw throws, one leaf type per thing a caller branches on.
#pragma once

#include <stdexcept>
#include <string>

namespace edw {

/// The base of everything edw throws.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A settings file, environment variable or command-line value that cannot be used.
class ConfigError : public Error {
public:
    using Error::Error;
};

/// Text that should be JSON (a document, a feed line, a seq) and is not, or has the wrong shape.
class JsonError : public Error {
public:
    using Error::Error;
};

/// The server answered with an HTTP error status. Carries CouchDB's `error` and `reason`.
class HttpError : public Error {
public:
    HttpError(const std::string& what, int status, std::string error, std::string reason)
        : Error(what)
        , m_status(status)
        , m_error(std::move(error))
        , m_reason(std::move(reason))
    {}

    [[nodiscard]] int status() const noexcept { return m_status; }
    /// CouchDB's error token, such as "not_found" or "unauthorized"; empty when the body had none.
    [[nodiscard]] const std::string& error() const noexcept { return m_error; }
    /// CouchDB's human-readable reason; empty when the body had none.
    [[nodiscard]] const std::string& reason() const noexcept { return m_reason; }

    [[nodiscard]] bool is_not_found() const noexcept { return m_status == 404; }
    [[nodiscard]] bool is_conflict() const noexcept { return m_status == 409; }
    [[nodiscard]] bool is_unauthorized() const noexcept { return m_status == 401; }
    [[nodiscard]] bool is_forbidden() const noexcept { return m_status == 403; }
    [[nodiscard]] bool is_bad_request() const noexcept { return m_status == 400; }

private:
    int m_status;
    std::string m_error;
    std::string m_reason;
};

/// The server could not be reached or the connection broke (DNS, refused, TLS, timeout, reset).
class TransportError : public Error {
public:
    /// `retryable` is false for failures that trying again cannot mend, such as a server
    /// certificate that does not verify.
    explicit TransportError(const std::string& what, bool retryable = true)
        : Error(what)
        , m_retryable(retryable)
    {}

    [[nodiscard]] bool is_retryable() const noexcept { return m_retryable; }

private:
    bool m_retryable;
};

/// A local store or file (pid file, lock, log file, embedded database) failed.
class StoreError : public Error {
public:
    using Error::Error;
};

} // namespace edw
