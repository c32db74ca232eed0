// Url: parsing, printing without credentials, percent-encoding and redaction of URLs in text.
#include "edw/util/url.hpp"

#include <edw/util/error.hpp>

#include <algorithm>
#include <charconv>
#include <optional>

namespace edw {

namespace {

constexpr std::string_view hex_digits = "0123456789ABCDEF";

// ASCII only, whatever the locale: URLs are ASCII.
bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool is_unreserved(char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// RFC 3986 section 3.3: what a path may hold besides percent escapes.
bool is_path_char(char c)
{
    return is_unreserved(c) || std::string_view("!$&'()*+,;=:@/").find(c) != std::string_view::npos;
}

// Where a URL in free text ends: white space or any other control character.
bool is_space(char c)
{
    return static_cast<unsigned char>(c) <= 0x20 || c == '\x7f';
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

std::string lower(std::string_view text)
{
    std::string result(text);
    std::transform(result.begin(), result.end(), result.begin(), [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return result;
}

// Decodes escapes, or returns nothing at a bad one, so that callers can word the error without
// quoting text that may be a password.
std::optional<std::string> try_decode(std::string_view text)
{
    std::string result;
    result.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            result += text[i];
            continue;
        }
        if (i + 2 >= text.size()) {
            return std::nullopt;
        }
        const int high = hex_value(text[i + 1]);
        const int low = hex_value(text[i + 2]);
        if (high < 0 || low < 0) {
            return std::nullopt;
        }
        result += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return result;
}

// A printable name for a byte in an error message: the character itself, or its hex code when it
// would not show.
std::string describe(char c)
{
    const auto byte = static_cast<unsigned char>(c);
    if (byte > 0x20 && byte < 0x7f) {
        return std::string("'") + c + "'";
    }
    return std::string("byte 0x") + hex_digits[byte >> 4] + hex_digits[byte & 0xf];
}

// The text of a URL that failed to parse, safe to print. redact_credentials() finds credentials
// after a `://`; without one (`u:p@host`, `https:u:p@host`) anything before the last `@` may still
// be a password, so that goes too.
std::string redact_bad_url(std::string_view text)
{
    if (text.find("://") == std::string_view::npos) {
        const auto at = text.rfind('@');
        if (at != std::string_view::npos) {
            return "***" + std::string(text.substr(at));
        }
    }
    return redact_credentials(text);
}

// The whole text being parsed, a type of its own so that it is not mixed up with a part of it.
struct Whole {
    std::string_view text;
};

[[noreturn]] void fail(Whole whole, const std::string& why)
{
    throw ConfigError("bad URL '" + redact_bad_url(whole.text) + "': " + why);
}

int parse_port(Whole whole, std::string_view digits)
{
    if (digits.empty()) {
        fail(whole, "no port after ':'");
    }
    if (!std::all_of(digits.begin(), digits.end(), is_digit)) {
        fail(whole, "port '" + std::string(digits) + "' is not a number");
    }
    int port = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (error != std::errc() || end != digits.data() + digits.size() || port < 1 || port > 65535) {
        fail(whole, "port " + std::string(digits) + " is out of range (1-65535)");
    }
    return port;
}

enum class HostKind { name, ipv6 };

void check_host(Whole whole, std::string_view host, HostKind kind)
{
    const bool is_ipv6 = kind == HostKind::ipv6;
    if (host.empty()) {
        fail(whole, "no host");
    }
    for (const char c : host) {
        const bool is_allowed =
            is_ipv6 ? (hex_value(c) >= 0 || c == ':' || c == '.') : is_unreserved(c);
        if (!is_allowed) {
            fail(whole, "bad character " + describe(c) + " in host");
        }
    }
    if (is_ipv6 && host.find(':') == std::string_view::npos) {
        fail(whole, "'[" + std::string(host) + "]' is not an IPv6 address");
    }
}

void check_path(Whole whole, std::string_view path)
{
    for (std::size_t i = 0; i < path.size(); ++i) {
        const char c = path[i];
        if (c == '?') {
            fail(whole, "a server URL takes no query ('?')");
        }
        if (c == '#') {
            fail(whole, "a server URL takes no fragment ('#')");
        }
        if (c == '%') {
            if (i + 2 >= path.size() || hex_value(path[i + 1]) < 0 || hex_value(path[i + 2]) < 0) {
                fail(whole, "bad percent escape in path ('%' must be followed by two hex digits)");
            }
            continue;
        }
        if (!is_path_char(c)) {
            fail(whole, describe(c) + " in path must be percent-encoded");
        }
    }
}

} // namespace

Url Url::parse(std::string_view text)
{
    const Whole whole{text};
    const auto colon = text.find(':');
    const auto scheme_text = text.substr(0, colon);
    const bool has_scheme =
        colon != std::string_view::npos && !scheme_text.empty() && is_alpha(scheme_text.front()) &&
        std::all_of(scheme_text.begin(), scheme_text.end(), [](char c) {
            return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
        });
    if (!has_scheme) {
        fail(whole, "no scheme (expected http://, https:// or file:)");
    }

    Url url;
    url.m_scheme = lower(scheme_text);
    auto rest = text.substr(colon + 1);
    const bool has_slashes = rest.substr(0, 2) == "//";

    if (url.m_scheme == "file") {
        // file:relative/x.db is not RFC 8089, but it is the one way to write a relative path, and
        // the form the settings file uses for the embedded store.
        if (has_slashes) {
            rest.remove_prefix(2);
            const auto slash = rest.find('/');
            const auto host = rest.substr(0, slash);
            if (slash == std::string_view::npos || (!host.empty() && lower(host) != "localhost")) {
                fail(whole,
                     "a file URL names no host: write file:relative/x.db or file:///abs/x.db");
            }
            rest.remove_prefix(slash);
        }
        if (rest.empty()) {
            fail(whole, "no file path");
        }
        url.m_path = rest;
        return url;
    }

    if (url.m_scheme != "http" && url.m_scheme != "https") {
        if (!has_slashes) {
            fail(whole, "no scheme (expected http://, https:// or file:)");
        }
        fail(whole, "unknown scheme '" + url.m_scheme + "'");
    }
    if (!has_slashes) {
        fail(whole, "expected '//' after '" + url.m_scheme + ":'");
    }
    rest.remove_prefix(2);

    const auto authority_end = rest.find_first_of("/?#");
    auto authority = rest.substr(0, authority_end);
    const auto tail =
        authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
    // An `@` past the host is most likely a password holding an unencoded `/`, `?` or `#`. Refused
    // before anything else, so that no other message quotes a piece of that password.
    if (tail.find('@') != std::string_view::npos) {
        fail(whole, "'@' after the host: percent-encode '/', '?', '#' and '@' in a user name or "
                    "password (as %2F, %3F, %23 and %40)");
    }

    const auto at = authority.rfind('@');
    if (at != std::string_view::npos) {
        const auto userinfo = authority.substr(0, at);
        const auto separator = userinfo.find(':');
        auto username = try_decode(userinfo.substr(0, separator));
        auto password = separator == std::string_view::npos
                            ? std::optional<std::string>("")
                            : try_decode(userinfo.substr(separator + 1));
        if (!username || !password) {
            fail(whole, "bad percent escape in the user name or password");
        }
        if (username->empty()) {
            fail(whole, "empty user name before '@'");
        }
        url.m_username = std::move(*username);
        url.m_password = std::move(*password);
        authority.remove_prefix(at + 1);
    }

    std::string_view port_text;
    bool has_port = false;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            fail(whole, "no ']' after the IPv6 address");
        }
        check_host(whole, authority.substr(1, close - 1), HostKind::ipv6);
        url.m_host = lower(authority.substr(1, close - 1));
        const auto after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') {
            fail(whole, "unexpected text after ']'");
        }
        has_port = !after.empty();
        port_text = has_port ? after.substr(1) : std::string_view();
    } else {
        const auto port_colon = authority.find(':');
        check_host(whole, authority.substr(0, port_colon), HostKind::name);
        url.m_host = lower(authority.substr(0, port_colon));
        has_port = port_colon != std::string_view::npos;
        port_text = has_port ? authority.substr(port_colon + 1) : std::string_view();
    }
    url.m_port = has_port ? parse_port(whole, port_text) : (url.m_scheme == "https" ? 443 : 80);

    check_path(whole, tail);
    auto path = tail;
    while (!path.empty() && path.back() == '/') {
        path.remove_suffix(1);
    }
    url.m_path = path;
    return url;
}

std::string Url::str() const
{
    if (m_scheme.empty()) {
        return {};
    }
    if (is_file()) {
        // An absolute path needs the empty authority, or `file://abs` would name a host.
        return (m_path.starts_with('/') ? "file://" : "file:") + m_path;
    }
    std::string result = m_scheme + "://";
    result += m_host.find(':') == std::string::npos ? m_host : "[" + m_host + "]";
    if (m_port != (m_scheme == "https" ? 443 : 80)) {
        result += ":" + std::to_string(m_port);
    }
    return result + m_path;
}

Url Url::with_segment(std::string_view segment) const
{
    Url url = *this;
    url.m_path += "/" + url_encode(segment);
    return url;
}

Url Url::with_path(std::string_view raw_suffix) const
{
    Url url = *this;
    url.m_path += raw_suffix;
    return url;
}

Url Url::without_credentials() const
{
    Url url = *this;
    url.m_username.clear();
    url.m_password.clear();
    return url;
}

std::string url_encode(std::string_view text)
{
    std::string result;
    result.reserve(text.size());
    for (const char c : text) {
        if (is_unreserved(c)) {
            result += c;
        } else {
            const auto byte = static_cast<unsigned char>(c);
            result += '%';
            result += hex_digits[byte >> 4];
            result += hex_digits[byte & 0xf];
        }
    }
    return result;
}

std::string url_decode(std::string_view text)
{
    auto result = try_decode(text);
    if (!result) {
        throw ConfigError("bad percent escape: '%' must be followed by two hex digits");
    }
    return std::move(*result);
}

std::string redact_credentials(std::string_view text)
{
    std::string result;
    std::size_t copied = 0;
    for (auto start = text.find("://"); start != std::string_view::npos;) {
        start += 3;
        const auto next = text.find("://", start);
        auto end = start;
        while (end < text.size() && end != next && !is_space(text[end])) {
            ++end;
        }
        const auto at = text.substr(start, end - start).rfind('@');
        if (at != std::string_view::npos) {
            result += text.substr(copied, start - copied);
            result += "***";
            copied = start + at;
        }
        start = next;
    }
    result += text.substr(copied);
    return result;
}

void append_query_parameter(std::string& query, std::string_view name, std::string_view value)
{
    query += query.empty() ? '?' : '&';
    query += name;
    query += '=';
    query += url_encode(value);
}

} // namespace edw
