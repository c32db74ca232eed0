// Design docs: building them from a folder of JavaScript files, loading and comparing them.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <filesystem>

namespace edw {

/// Builds the design doc `_design/<folder name>` from a folder laid out as couchapp lays it out:
///
///     views/<view>/map.js, views/<view>/reduce.js (optional)
///     filters/<name>.js, updates/<name>.js, shows/<name>.js, lists/<name>.js
///     validate_doc_update.js
///     language (optional text file, "javascript" when absent)
///     _id      (optional text file replacing `_design/<folder name>`; must start with `_design/`)
///
/// Each function is stored as the file's text with surrounding whitespace trimmed, after
/// check_javascript has accepted it and edw-js (the embedded store's engine) has compiled it. A
/// reduce.js may instead name a built-in reduce: `_count`,
/// `_sum`, `_stats` or `_approx_count_distinct`. Dotfiles, dot-folders and README files are
/// skipped; any other file is refused, so that a misspelt folder cannot silently drop a function.
///
/// Throws JsonError (exit 65) for a function that does not check ("<file>:<line>: <what>") or
/// compile ("<file>: does not compile: SyntaxError: ..."), and ConfigError with a message naming
/// the folder or file when the folder is missing, holds no function at all, or holds a
/// file in a place no design doc field comes from.
[[nodiscard]] nlohmann::json build_design_doc(const std::filesystem::path& folder);

/// Loads a design doc from a folder (see build_design_doc) or from a `.json` file holding the
/// document itself. The file must hold an object whose `_id` starts with `_design/`; its `_rev`
/// is dropped, and when its language is JavaScript its functions are checked and compiled as in
/// a folder. Throws ConfigError naming the path when it cannot be read or does not hold a design
/// doc, JsonError when it is not valid JSON or a function does not check or compile.
[[nodiscard]] nlohmann::json load_design_doc(const std::filesystem::path& path);

/// True when `a` and `b` hold the same design doc: every field equal apart from `_rev`. Decides
/// whether a push is needed, since saving an unchanged design doc makes the server rebuild every
/// view in it.
[[nodiscard]] bool same_design_content(const nlohmann::json& a, const nlohmann::json& b);

} // namespace edw
