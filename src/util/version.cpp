// version: which edw this is, for --version and the logs.
#include "edw/util/version.hpp"

namespace edw {

std::string version()
{
    const std::string commit = EDW_GIT_COMMIT;
    return std::string(EDW_VERSION) + (commit.empty() ? "" : " (git " + commit + ")");
}

std::string version_line(const std::string& program)
{
    return program == "edw" ? "edw " + version() : program + " (edw) " + version();
}

} // namespace edw
