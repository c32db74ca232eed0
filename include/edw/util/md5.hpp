// md5: the MD5 digests that metadata documents carry in `md5sum`.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace edw {

/// The MD5 digest of `bytes` as 32 lower-case hex digits.
/// Throws StoreError when OpenSSL cannot compute MD5 (a FIPS-only configuration, for one).
[[nodiscard]] std::string md5_hex(std::string_view bytes);

/// The MD5 digest of the file at `path` as 32 lower-case hex digits. The file is read in chunks,
/// so its size does not matter. Throws StoreError naming the path when it cannot be read.
[[nodiscard]] std::string md5_file_hex(const std::filesystem::path& path);

} // namespace edw
