// md5: MD5 digests through OpenSSL's EVP interface.
#include "edw/util/md5.hpp"

#include <edw/util/error.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>
#include <utility>

namespace edw {

namespace {

struct DigestContextDeleter {
    void operator()(EVP_MD_CTX* context) const noexcept { EVP_MD_CTX_free(context); }
};

struct FileCloser {
    void operator()(std::FILE* file) const noexcept { std::fclose(file); }
};

// OpenSSL keeps its reasons in a per-thread queue; the newest one says most.
std::string openssl_reason()
{
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) {
        return "unknown OpenSSL error";
    }
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    return text.data();
}

std::string system_reason(int error_number)
{
    std::string reason = std::generic_category().message(error_number);
    if (!reason.empty() && reason.front() >= 'A' && reason.front() <= 'Z') {
        reason.front() = static_cast<char>(reason.front() - 'A' + 'a');
    }
    return reason;
}

std::string to_hex(const unsigned char* bytes, unsigned int size)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(std::size_t{size} * 2);
    for (unsigned int i = 0; i < size; ++i) {
        hex += digits[bytes[i] >> 4];
        hex += digits[bytes[i] & 0x0f];
    }
    return hex;
}

[[noreturn]] void fail_digest(const std::string& what)
{
    throw StoreError("cannot compute the MD5 of " + what + ": " + openssl_reason());
}

} // namespace

struct Md5::Context {
    std::unique_ptr<EVP_MD_CTX, DigestContextDeleter> digest{EVP_MD_CTX_new()};
};

Md5::Md5(std::string what)
    : m_what(std::move(what))
    , m_context(std::make_unique<Context>())
{
    if (!m_context->digest || EVP_DigestInit_ex(m_context->digest.get(), EVP_md5(), nullptr) != 1) {
        fail_digest(m_what);
    }
}

Md5::~Md5() = default;
Md5::Md5(Md5&&) noexcept = default;
Md5& Md5::operator=(Md5&&) noexcept = default;

void Md5::update(std::string_view bytes)
{
    if (EVP_DigestUpdate(m_context->digest.get(), bytes.data(), bytes.size()) != 1) {
        fail_digest(m_what);
    }
}

std::string Md5::hex_digest()
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(m_context->digest.get(), digest.data(), &size) != 1) {
        fail_digest(m_what);
    }
    return to_hex(digest.data(), size);
}

std::string md5_hex(std::string_view bytes)
{
    Md5 md5("a buffer");
    md5.update(bytes);
    return md5.hex_digest();
}

std::string md5_file_hex(const std::filesystem::path& path)
{
    // stdio rather than iostreams, because fopen and fread leave the reason in errno.
    const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
        throw StoreError("cannot read " + path.string() + ": " + system_reason(errno));
    }
    Md5 md5(path.string());
    std::array<char, std::size_t{64} * 1024> buffer{};
    for (;;) {
        const std::size_t count = std::fread(buffer.data(), 1, buffer.size(), file.get());
        // Checked before anything else runs, while errno still holds fread's reason.
        if (std::ferror(file.get()) != 0) {
            throw StoreError("cannot read " + path.string() + ": " + system_reason(errno));
        }
        md5.update(std::string_view(buffer.data(), count));
        if (count < buffer.size()) {
            return md5.hex_digest();
        }
    }
}

} // namespace edw
