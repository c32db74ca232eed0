#include "edw/util/md5.hpp"

#include <edw/util/error.hpp>

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#ifndef EDW_SOURCE_DIR
#define EDW_SOURCE_DIR "."
#endif

namespace {

// A file in the temporary folder, removed at the end of the test. The process id keeps tests
// that run in parallel apart.
class TemporaryFile {
public:
    TemporaryFile(const std::string& name, const std::string& content)
        : m_path(std::filesystem::temp_directory_path() /
                 ("edw-md5-test-" + std::to_string(getpid()) + "-" + name))
    {
        std::ofstream out(m_path, std::ios::binary);
        out << content;
        REQUIRE(out);
    }
    ~TemporaryFile() { std::filesystem::remove(m_path); }
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }

private:
    std::filesystem::path m_path;
};

} // namespace

TEST_SUITE_BEGIN("md5");

TEST_CASE("an MD5 fed in pieces equals the MD5 of the whole")
{
    edw::Md5 md5("pieces");
    md5.update("message ");
    md5.update("");
    md5.update("digest");
    CHECK(md5.hex_digest() == "f96b697d7cb7938d525a2f31aaf161d0");
}

TEST_CASE("md5_hex gives the RFC 1321 digests")
{
    CHECK(edw::md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
    CHECK(edw::md5_hex("a") == "0cc175b9c0f1b6a831c399e269772661");
    CHECK(edw::md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
    CHECK(edw::md5_hex("message digest") == "f96b697d7cb7938d525a2f31aaf161d0");
    CHECK(edw::md5_hex("The quick brown fox jumps over the lazy dog") ==
          "9e107d9d372bb6826bd81d3542a419d6");
}

TEST_CASE("md5_hex hashes every byte, including zeros")
{
    const std::string with_zero("a\0b", 3);
    CHECK(edw::md5_hex(with_zero) != edw::md5_hex("ab"));
    CHECK(edw::md5_hex(with_zero).size() == 32);
}

TEST_CASE("md5_file_hex gives the digest of the file's bytes")
{
    const TemporaryFile file("small", "message digest");
    CHECK(edw::md5_file_hex(file.path()) == "f96b697d7cb7938d525a2f31aaf161d0");
    const TemporaryFile empty("empty", "");
    CHECK(edw::md5_file_hex(empty.path()) == "d41d8cd98f00b204e9800998ecf8427e");
}

TEST_CASE("md5_file_hex reads a file larger than its buffer")
{
    const TemporaryFile file("million", std::string(1000000, 'a'));
    CHECK(edw::md5_file_hex(file.path()) == "7707d6ae4e027c70eea2a935c2296f21");
    const TemporaryFile exact("chunk", std::string(64 * 1024, 'x'));
    CHECK(edw::md5_file_hex(exact.path()) == edw::md5_hex(std::string(64 * 1024, 'x')));
}

TEST_CASE("md5_file_hex of a missing file is refused with its path")
{
    CHECK_THROWS_WITH_AS(
        edw::md5_file_hex("/nonexistent/edw/ma22a000_000.root"),
        "cannot read /nonexistent/edw/ma22a000_000.root: no such file or directory",
        edw::StoreError);
}

TEST_CASE("md5_file_hex of a folder is refused with its path")
{
    const auto folder = std::filesystem::path(EDW_SOURCE_DIR) / "test";
    CHECK_THROWS_WITH_AS(edw::md5_file_hex(folder),
                         doctest::Contains(("cannot read " + folder.string()).c_str()),
                         edw::StoreError);
}

TEST_SUITE_END();
