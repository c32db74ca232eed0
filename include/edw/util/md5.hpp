// md5: the MD5 digests that metadata documents carry in `md5sum`.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace edw {

/// One MD5 digest computed over bytes given in pieces, as a file is read or copied.
class Md5 {
public:
    /// `what` names the input in error messages ("/data/ma22a000_000.edwtrace").
    /// Throws StoreError when OpenSSL cannot compute MD5.
    explicit Md5(std::string what);
    ~Md5();
    Md5(Md5&&) noexcept;
    Md5& operator=(Md5&&) noexcept;
    Md5(const Md5&) = delete;
    Md5& operator=(const Md5&) = delete;

    /// Adds the next piece of the input. Throws StoreError when OpenSSL fails.
    void update(std::string_view bytes);
    /// The digest of everything given, as 32 lower-case hex digits; call it once, last.
    /// Throws StoreError when OpenSSL fails.
    [[nodiscard]] std::string hex_digest();

private:
    struct Context;
    std::string m_what;
    std::unique_ptr<Context> m_context;
};

/// The MD5 digest of `bytes` as 32 lower-case hex digits.
/// Throws StoreError when OpenSSL cannot compute MD5 (a FIPS-only configuration, for one).
[[nodiscard]] std::string md5_hex(std::string_view bytes);

/// The MD5 digest of the file at `path` as 32 lower-case hex digits. The file is read in chunks,
/// so its size does not matter. Throws StoreError naming the path when it cannot be read.
[[nodiscard]] std::string md5_file_hex(const std::filesystem::path& path);

} // namespace edw
