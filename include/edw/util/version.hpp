// version: which edw this is, for --version and the logs.
#pragma once

#include <string>

namespace edw {

/// The release and, for a build from a git checkout, its commit: "0.1.0 (git 3da8958)".
[[nodiscard]] std::string version();

/// What `--version` prints for `program`: "listen_newfiles (edw) 0.1.0 (git 3da8958)".
[[nodiscard]] std::string version_line(const std::string& program);

} // namespace edw
