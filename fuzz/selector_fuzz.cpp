// Fuzz target: Mango selectors and the docs they match, both untrusted JSON.
#include <edw/db/selector.hpp>
#include <edw/util/error.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    // The input is two JSON texts separated by a newline: a selector and a doc.
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto newline = text.find('\n');
    const auto selector = nlohmann::json::parse(text.substr(0, newline), nullptr, false);
    const auto doc = nlohmann::json::parse(
        newline == std::string_view::npos ? std::string_view("{}") : text.substr(newline + 1),
        nullptr, false);
    if (selector.is_discarded() || doc.is_discarded()) {
        return 0;
    }
    try {
        const edw::Selector compiled(selector);
        (void)compiled.matches(doc);
    } catch (const edw::JsonError&) {
    }
    return 0;
}
