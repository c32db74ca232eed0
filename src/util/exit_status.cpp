// ExitStatus: mapping of errors to exit statuses.
#include "edw/util/exit_status.hpp"

#include <edw/util/error.hpp>
#include <edw/util/log.hpp>
#include <edw/util/url.hpp>

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
        if (http->is_unauthorized() || http->is_forbidden()) {
            return exit_no_permission;
        }
        // The server refused what we sent as bad data (a design doc that does not compile, a
        // doc it will not store): the input must change, not the connection.
        if (http->error() == "compilation_error" || http->error() == "invalid_design_doc" ||
            http->error() == "doc_validation") {
            return exit_data;
        }
        return exit_protocol;
    }
    return exit_failure;
}

int report_failure(std::string_view program, const std::exception& error)
{
    std::cerr << program << ": " << redact_credentials(error.what()) << std::endl;
    return exit_status_for(error);
}

} // namespace edw
