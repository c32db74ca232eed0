// CheckedCopy: file copies and writes that a crash never leaves half done under the final name.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace edw::edelweiss {

/// What copy_checked did.
struct CopiedFile {
    std::filesystem::path path; ///< The copy: the directory and the source's file name.
    std::string md5;            ///< The MD5 of its bytes, 32 lower-case hex digits.
    std::uintmax_t bytes = 0;   ///< Its size.
    bool was_in_place = false;  ///< It was there already with the expected MD5: nothing copied.
};

/// Copies `source` into `directory` under its own file name, computing the MD5 as it reads.
///
/// The bytes go to a temporary file in `directory`, which is flushed to disk (fsync) and renamed
/// to the final name, and the directory is flushed: a crash leaves the old file or the whole new
/// one, never a part. When `expected_md5` is given (not empty), a copy whose MD5 differs is
/// removed and refused, and a target that already holds those bytes is kept as it is (a step run
/// again after a crash), even when the source is gone. A target that holds other bytes is never
/// replaced. Throws StoreError naming the file and the cause: a source that is missing or
/// unreadable, a checksum mismatch (both sums), a target with other content, a full disk, a
/// directory that cannot be written.
CopiedFile copy_checked(const std::filesystem::path& source, const std::filesystem::path& directory,
                        const std::string& expected_md5);

/// Writes `bytes` to `target` the same crash-safe way (temporary file, fsync, rename, directory
/// fsync), replacing any file of that name. Throws StoreError naming the file and the cause.
void write_file_atomically(const std::filesystem::path& target, std::string_view bytes);

/// A file's bytes and their MD5.
struct FileContent {
    std::string bytes;
    std::string md5; ///< 32 lower-case hex digits.
};

/// The whole content of `path` with its MD5. `what` says what the file is in messages ("moved
/// file"). Throws StoreError naming the file and the cause (a missing file, one that cannot be
/// read, one over `max_bytes`).
[[nodiscard]] FileContent read_file_checked(const std::filesystem::path& path,
                                            const std::string& what, std::uintmax_t max_bytes);

} // namespace edw::edelweiss
