// Http: small helpers shared by every transport.
#include "edw/http/http.hpp"

#include <algorithm>
#include <cctype>

namespace edw {

std::string_view method_name(HttpMethod method) noexcept
{
    switch (method) {
    case HttpMethod::get:
        return "GET";
    case HttpMethod::head:
        return "HEAD";
    case HttpMethod::put:
        return "PUT";
    case HttpMethod::post:
        return "POST";
    case HttpMethod::del:
        return "DELETE";
    }
    return "GET";
}

bool same_header_name(std::string_view a, std::string_view b) noexcept
{
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    });
}

std::string_view find_header(const HttpHeaders& headers, std::string_view name) noexcept
{
    for (const auto& [key, value] : headers) {
        if (same_header_name(key, name)) {
            return value;
        }
    }
    return {};
}

} // namespace edw
