// shipped_files: finding the files that come with edw, from a checkout, the build tree or an
// installation.
#include "shipped_files.hpp"

#include <edw/util/error.hpp>

#include <string_view>
#include <vector>

namespace edw::tools {

namespace fs = std::filesystem;

namespace {

bool is_inside(const fs::path& path, const fs::path& folder)
{
    const auto relative = path.lexically_relative(folder);
    return !relative.empty() && *relative.begin() != "..";
}

} // namespace

fs::path find_shipped_design_doc(const std::string& name)
{
    std::error_code error;
    const fs::path program = fs::read_symlink("/proc/self/exe", error);
    std::vector<fs::path> candidates{fs::path("design-docs") / name};
    if (!error && is_inside(program, EDW_BUILD_DIR)) {
        candidates.push_back(fs::path(EDW_SOURCE_DIR) / "design-docs" / name);
    }
    if (!error) {
        candidates.push_back(program.parent_path().parent_path() / "share/edw/design-docs" / name);
    }
    candidates.push_back(fs::path(EDW_INSTALLED_DATA_DIR) / "design-docs" / name);
    std::string looked;
    for (const auto& candidate : candidates) {
        if (fs::is_directory(candidate, error)) {
            return candidate.lexically_normal();
        }
        looked += (looked.empty() ? "" : ", ") + candidate.lexically_normal().string();
    }
    throw ConfigError("cannot find the " + name + " design doc folder (looked in " + looked +
                      "); give its path");
}

} // namespace edw::tools
