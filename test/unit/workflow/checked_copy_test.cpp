#include "edw/workflow/checked_copy.hpp"

#include "scratch_directory.hpp"

#include <edw/util/error.hpp>
#include <edw/util/md5.hpp>

#include <doctest/doctest.h>

#include <string>

TEST_SUITE_BEGIN("checked copy");

TEST_CASE("a copy lands under the source's name with the source's md5 and no temporary file")
{
    const edw::test::ScratchDirectory scratch;
    const std::string bytes(3 << 20, 'x'); // more than one read
    const auto source = scratch.write("raw.edwtrace", bytes);
    const auto data = scratch.directory("data");
    const auto copied = edw::edelweiss::copy_checked(source, data, edw::md5_hex(bytes));
    CHECK(copied.path == data / "raw.edwtrace");
    CHECK(copied.md5 == edw::md5_hex(bytes));
    CHECK(copied.bytes == bytes.size());
    CHECK_FALSE(copied.was_in_place);
    CHECK(edw::test::file_bytes(copied.path) == bytes);
    CHECK(edw::test::listing(data) == "raw.edwtrace");
}

TEST_CASE("without an md5 to compare with, the copy is made and its md5 given")
{
    const edw::test::ScratchDirectory scratch;
    const auto source = scratch.write("a.bin", "abc");
    const auto copied = edw::edelweiss::copy_checked(source, scratch.directory("data"), "");
    CHECK(copied.md5 == "900150983cd24fb0d6963f7d28e17f72");
    CHECK(edw::test::file_bytes(copied.path) == "abc");
}

TEST_CASE("a missing source fails naming the file and the cause")
{
    const edw::test::ScratchDirectory scratch;
    const auto data = scratch.directory("data");
    const auto missing = scratch.path() / "gone.edwtrace";
    CHECK_THROWS_WITH_AS(
        edw::edelweiss::copy_checked(missing, data, "0123"),
        ("cannot read raw file " + missing.string() + ": no such file or directory").c_str(),
        edw::StoreError);
    CHECK(edw::test::listing(data).empty());
}

TEST_CASE("a checksum mismatch fails with both sums and leaves no file behind")
{
    const edw::test::ScratchDirectory scratch;
    const auto source = scratch.write("a.bin", "abc");
    const auto data = scratch.directory("data");
    const std::string wrong = "ffffffffffffffffffffffffffffffff";
    CHECK_THROWS_WITH_AS(edw::edelweiss::copy_checked(source, data, wrong),
                         ("checksum mismatch copying " + source.string() + " to " +
                          (data / "a.bin").string() +
                          ": the file has md5 900150983cd24fb0d6963f7d28e17f72, the doc's md5sum "
                          "is " +
                          wrong + "; the copy was removed")
                             .c_str(),
                         edw::StoreError);
    CHECK(edw::test::listing(data).empty());
}

TEST_CASE("a target that holds the expected bytes already is kept, even with its source gone")
{
    const edw::test::ScratchDirectory scratch;
    const auto data = scratch.directory("data");
    const auto target = scratch.write("data/a.bin", "abc");
    const auto copied = edw::edelweiss::copy_checked(scratch.path() / "a.bin", data,
                                                     "900150983cd24fb0d6963f7d28e17f72");
    CHECK(copied.was_in_place);
    CHECK(copied.path == target);
    CHECK(copied.bytes == 3);
}

TEST_CASE("a target that holds other bytes is never replaced")
{
    const edw::test::ScratchDirectory scratch;
    const auto source = scratch.write("a.bin", "abc");
    const auto data = scratch.directory("data");
    const auto target = scratch.write("data/a.bin", "other run's data");
    CHECK_THROWS_WITH_AS(edw::edelweiss::copy_checked(source, data, ""),
                         doctest::Contains("a different file is there already"), edw::StoreError);
    CHECK_THROWS_WITH_AS(
        edw::edelweiss::copy_checked(source, data, "900150983cd24fb0d6963f7d28e17f72"),
        doctest::Contains("it is left as it is"), edw::StoreError);
    CHECK(edw::test::file_bytes(target) == "other run's data");
    CHECK(edw::test::listing(data) == "a.bin");
}

TEST_CASE("copying into a directory that does not exist fails naming it")
{
    const edw::test::ScratchDirectory scratch;
    const auto source = scratch.write("a.bin", "abc");
    CHECK_THROWS_WITH_AS(
        edw::edelweiss::copy_checked(source, scratch.path() / "nowhere", ""),
        doctest::Contains(("cannot create a file in " + (scratch.path() / "nowhere").string() +
                           ": no such file or directory")
                              .c_str()),
        edw::StoreError);
}

TEST_CASE("an atomic write replaces the file whole and leaves no temporary file")
{
    const edw::test::ScratchDirectory scratch;
    const auto target = scratch.path() / "result.json";
    edw::edelweiss::write_file_atomically(target, "first");
    edw::edelweiss::write_file_atomically(target, "second");
    CHECK(edw::test::file_bytes(target) == "second");
    CHECK(edw::test::listing(scratch.path()) == "result.json");
}

TEST_CASE("a file is read with its md5, and refused past the size limit")
{
    const edw::test::ScratchDirectory scratch;
    const auto path = scratch.write("a.bin", "abc");
    const auto content = edw::edelweiss::read_file_checked(path, "moved file", 3);
    CHECK(content.bytes == "abc");
    CHECK(content.md5 == "900150983cd24fb0d6963f7d28e17f72");
    CHECK_THROWS_WITH_AS((void)edw::edelweiss::read_file_checked(path, "moved file", 2),
                         doctest::Contains("larger than 2 bytes"), edw::StoreError);
    CHECK_THROWS_WITH_AS(
        (void)edw::edelweiss::read_file_checked(scratch.path() / "b.bin", "moved file", 9),
        ("cannot read moved file " + (scratch.path() / "b.bin").string() +
         ": no such file or directory")
            .c_str(),
        edw::StoreError);
}

TEST_SUITE_END();
