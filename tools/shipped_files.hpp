// shipped_files: finding the files that come with edw (design docs), from a checkout, the build
// tree or an installation.
#pragma once

#include <filesystem>
#include <string>

namespace edw::tools {

/// The folder of the design doc `name` that ships with edw: `design-docs/<name>` in the current
/// folder when there is one (a checkout), else the source tree's for a program run from the
/// build tree, else the installed one (`<prefix>/share/edw/design-docs/<name>`, found beside
/// the program first, so that a moved installation works too). Throws ConfigError naming the
/// places looked in when none has it.
[[nodiscard]] std::filesystem::path find_shipped_design_doc(const std::string& name);

} // namespace edw::tools
