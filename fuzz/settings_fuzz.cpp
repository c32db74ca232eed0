// Fuzz target: the edw.ini parser, fed any text a user (or a broken editor) might save.
#include <edw/error.hpp>
#include <edw/settings.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const edw::Environment no_environment = [](const std::string&) {
        return std::optional<std::string>();
    };
    try {
        const auto settings = edw::parse_settings(text, "fuzz.ini", no_environment);
        // Whatever was accepted must print without its password.
        if (!settings.password.empty() &&
            settings.server.str().find(settings.password) != std::string::npos &&
            settings.password.size() > 3) {
            __builtin_trap();
        }
    } catch (const edw::ConfigError&) {
        // Refusing bad text with a message is the expected answer.
    }
    return 0;
}
