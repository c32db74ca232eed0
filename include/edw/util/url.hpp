// Url: a server or file URL, with its credentials kept apart so they never reach a log line.
#pragma once

#include <string>
#include <string_view>

namespace edw {

/// An `http://`, `https://` or `file:` URL.
///
/// The user name and password are split off when parsing and kept apart from the rest, because the
/// URL is printed in logs and error messages and the password must never be. str() is the only
/// printable form, and it has no credentials.
class Url {
public:
    Url() = default; ///< An empty URL: every part empty, port 0.

    /// Parses `http://[user[:password]@]host[:port][/path]`, the same with `https://`, or a file
    /// URL: `file:relative/x.db`, `file:/abs/x.db` or `file:///abs/x.db`. The scheme and host are
    /// lower-cased, the user name and password percent-decoded. A file path is taken as written.
    /// Throws ConfigError("bad URL '<text>': <why>") with the credentials in the text replaced by
    /// `***`, for a missing or unknown scheme, a missing host, a port that is not a number in
    /// 1-65535, a query or fragment, or a character that must be percent-encoded.
    static Url parse(std::string_view text);

    /// `http`, `https` or `file`; empty for an empty URL.
    [[nodiscard]] const std::string& scheme() const noexcept { return m_scheme; }
    /// The host name or address, lower-case; an IPv6 literal without its brackets (`::1`).
    [[nodiscard]] const std::string& host() const noexcept { return m_host; }
    /// The explicit port, else 80 for http and 443 for https; 0 for a file URL.
    [[nodiscard]] int port() const noexcept { return m_port; }
    /// The percent-encoded path without a trailing slash, "" for the root. For a file URL, the
    /// file's path: `file:edw-data/x.db` gives `edw-data/x.db`, `file:///abs/x.db` gives
    /// `/abs/x.db`.
    [[nodiscard]] const std::string& path() const noexcept { return m_path; }
    /// The decoded user name; empty when the URL had none.
    [[nodiscard]] const std::string& username() const noexcept { return m_username; }
    /// The decoded password; empty when the URL had none.
    [[nodiscard]] const std::string& password() const noexcept { return m_password; }
    [[nodiscard]] bool is_file() const noexcept { return m_scheme == "file"; }

    /// `scheme://host[:port]/path` without credentials, the only form that may be logged or
    /// shown. The port is left out when it is the scheme's default. A file URL prints as
    /// `file:relative/x.db` or `file:///abs/x.db`. Empty for an empty URL.
    [[nodiscard]] std::string str() const;

    /// This URL with one more path segment, percent-encoded: a database named `a/b` gives `/a%2Fb`.
    [[nodiscard]] Url with_segment(std::string_view segment) const;
    /// This URL with `raw_suffix` appended to the path unchanged, such as `/_changes?feed=normal`.
    /// The caller has percent-encoded it.
    [[nodiscard]] Url with_path(std::string_view raw_suffix) const;
    /// This URL with the user name and password removed.
    [[nodiscard]] Url without_credentials() const;

    friend bool operator==(const Url&, const Url&) = default;

private:
    std::string m_scheme;
    std::string m_host;
    int m_port = 0;
    std::string m_path;
    std::string m_username;
    std::string m_password;
};

/// Percent-encodes `text` for a URL path segment or query value. Only RFC 3986's unreserved
/// characters (A-Z a-z 0-9 - . _ ~) are kept; every other byte becomes `%XX`.
[[nodiscard]] std::string url_encode(std::string_view text);

/// Appends `name=value` (value percent-encoded) to a query string, starting it with '?' when it
/// is empty and joining with '&' otherwise.
void append_query_parameter(std::string& query, std::string_view name, std::string_view value);

/// Decodes `%XX` escapes; `+` stays `+`. Throws ConfigError when a `%` is not followed by two hex
/// digits. The message does not quote the text, because the text may be a password.
[[nodiscard]] std::string url_decode(std::string_view text);

/// Replaces the credentials of every URL in free text with `***`: `see https://u:p@h/db` gives
/// `see https://***@h/db`, and `https://u@h` gives `https://***@h`. For a log line or an error
/// message that might quote a URL. A URL runs from its `://` to the next white space or `://`, and
/// all of it before its last `@` counts as credentials: that hides a password holding an unencoded
/// `/` or quote too, at the price of hiding more than needed when a path holds an `@`.
[[nodiscard]] std::string redact_credentials(std::string_view text);

} // namespace edw
