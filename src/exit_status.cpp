// ExitStatus: mapping of errors to exit statuses.
#include "edw/exit_status.hpp"

#include <edw/error.hpp>
#include <edw/log.hpp>
#include <edw/url.hpp>

#include <iostream>

namespace edw {

int exit_status_for(const std::exception& error) noexcept
{
    if (dynamic_cast<const ConfigError*>(&error) != nullptr) {
        return exit_usage;
    }
    if (dynamic_cast<const JsonError*>(&error) != nullptr) {
        return exit_data;
    }
    if (dynamic_cast<const TransportError*>(&error) != nullptr) {
        return exit_unavailable;
    }
    if (dynamic_cast<const StoreError*>(&error) != nullptr) {
        return exit_io;
    }
    if (const auto* http = dynamic_cast<const HttpError*>(&error)) {
        return http->is_unauthorized() || http->is_forbidden() ? exit_no_permission : exit_protocol;
    }
    return exit_failure;
}

int report_failure(std::string_view program, const std::exception& error)
{
    std::cerr << program << ": " << redact_credentials(error.what()) << std::endl;
    return exit_status_for(error);
}

} // namespace edw
