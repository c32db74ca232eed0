// WebAssets: the files of `edw serve`'s page (tools/web), compiled into the binary.
#pragma once

#include <string_view>
#include <vector>

namespace edw::tools {

struct WebAsset {
    std::string_view path; ///< As requested: "/index.html".
    std::string_view content_type;
    std::string_view body;
};

/// Every file of tools/web, generated at build time by cmake/embed_web_assets.cmake.
const std::vector<WebAsset>& web_assets();

} // namespace edw::tools
