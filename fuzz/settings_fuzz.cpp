// Fuzz target: the edw.ini parser, fed any text a user (or a broken editor) might save.
#include <edw/util/error.hpp>
#include <edw/util/settings.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const edw::Environment no_environment = [](const std::string&) {
        return std::optional<std::string>();
    };
    try {
        const auto settings = edw::parse_settings(text, "fuzz.ini", no_environment);
        // Whatever server URL was accepted prints without credentials: no user info before the
        // host. (Not "the password is nowhere in it": a password may well be a substring of a
        // host name.) A file URL has no authority, and its path may hold any text, `://u:p@`
        // included, so it is not looked at.
        const std::string printed = settings.server.str();
        const auto scheme_end = printed.find("://");
        if (!settings.server.is_file() && scheme_end != std::string::npos) {
            const auto authority = printed.substr(
                scheme_end + 3, printed.find('/', scheme_end + 3) - (scheme_end + 3));
            if (authority.find('@') != std::string::npos) {
                __builtin_trap();
            }
        }
    } catch (const edw::ConfigError&) {
        // Refusing bad text with a message is the expected answer.
    }
    return 0;
}
