// CheckedCopy: POSIX copies through a temporary file, fsync and rename, with the MD5 on the way.
#include "edw/workflow/checked_copy.hpp"

#include <edw/util/error.hpp>
#include <edw/util/md5.hpp>
#include <edw/util/random_id.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <optional>
#include <system_error>
#include <utility>

namespace edw::edelweiss {
namespace {

constexpr std::size_t buffer_size = std::size_t{1} << 20U;

std::string reason_of(int error_number)
{
    std::string reason = std::generic_category().message(error_number);
    if (!reason.empty() && reason.front() >= 'A' && reason.front() <= 'Z') {
        reason.front() = static_cast<char>(reason.front() - 'A' + 'a');
    }
    if (error_number == ENOSPC) {
        reason += " (the disk is full)";
    } else if (error_number == EDQUOT) {
        reason += " (the disk quota is used up)";
    }
    return reason;
}

// A file descriptor, closed when it goes out of scope.
class Descriptor {
public:
    explicit Descriptor(int fd)
        : m_fd(fd)
    {}
    Descriptor(Descriptor&& other) noexcept
        : m_fd(std::exchange(other.m_fd, -1))
    {}
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    Descriptor& operator=(Descriptor&&) = delete;
    ~Descriptor()
    {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }

    [[nodiscard]] int get() const noexcept { return m_fd; }
    [[nodiscard]] bool is_open() const noexcept { return m_fd >= 0; }
    // Closes now, for close's own error (NFS reports a failed write there).
    [[nodiscard]] int close() { return ::close(std::exchange(m_fd, -1)); }

private:
    int m_fd;
};

Descriptor open_for_reading(const std::filesystem::path& path, const std::string& what)
{
    Descriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file.is_open()) {
        throw StoreError("cannot read " + what + " " + path.string() + ": " + reason_of(errno));
    }
    return file;
}

// Up to `size` bytes; 0 at the end of the file.
std::size_t read_some(const Descriptor& file, char* data, std::size_t size,
                      const std::filesystem::path& path, const std::string& what)
{
    for (;;) {
        const ssize_t count = ::read(file.get(), data, size);
        if (count >= 0) {
            return static_cast<std::size_t>(count);
        }
        if (errno != EINTR) {
            throw StoreError("cannot read " + what + " " + path.string() + ": " + reason_of(errno));
        }
    }
}

// The target's directory, flushed so that a rename in it survives a crash.
void sync_directory(const std::filesystem::path& target)
{
    const auto directory = target.parent_path();
    const Descriptor handle(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!handle.is_open() || ::fsync(handle.get()) != 0) {
        throw StoreError("cannot flush directory " + directory.string() + " after writing " +
                         target.filename().string() + ": " + reason_of(errno));
    }
}

// A hidden file beside the target, given the target's name only by commit(), removed otherwise:
// a reader of the target sees the old file or the whole new one.
class TemporaryFile {
public:
    explicit TemporaryFile(std::filesystem::path target)
        : m_target(std::move(target))
        , m_path(m_target.parent_path() /
                 ("." + m_target.filename().string() + ".part-" + random_hex_id().substr(0, 12)))
        , m_file(::open(m_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644))
    {
        if (!m_file.is_open()) {
            throw StoreError("cannot write " + m_target.string() + ": cannot create a file in " +
                             m_target.parent_path().string() + ": " + reason_of(errno));
        }
    }
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;
    ~TemporaryFile()
    {
        if (!m_is_committed) {
            ::unlink(m_path.c_str());
        }
    }

    void write(std::string_view bytes)
    {
        while (!bytes.empty()) {
            const ssize_t count = ::write(m_file.get(), bytes.data(), bytes.size());
            if (count < 0 && errno == EINTR) {
                continue;
            }
            if (count <= 0) {
                // A write of 0 bytes on a regular file means no room is left.
                fail(count == 0 ? ENOSPC : errno);
            }
            bytes.remove_prefix(static_cast<std::size_t>(count));
        }
    }

    // Flushed to disk before the rename, so that the final name never points at lost blocks.
    void commit()
    {
        if (::fsync(m_file.get()) != 0 || m_file.close() != 0) {
            fail(errno);
        }
        if (::rename(m_path.c_str(), m_target.c_str()) != 0) {
            fail(errno);
        }
        m_is_committed = true;
        sync_directory(m_target);
    }

private:
    [[noreturn]] void fail(int error_number) const
    {
        throw StoreError("cannot write " + m_target.string() + ": " + reason_of(error_number));
    }

    std::filesystem::path m_target;
    std::filesystem::path m_path;
    Descriptor m_file;
    bool m_is_committed = false;
};

// The MD5 of the file at `path`, or nothing when there is no such file.
std::optional<std::string> md5_if_exists(const std::filesystem::path& path)
{
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0) {
        if (errno == ENOENT) {
            return std::nullopt;
        }
        throw StoreError("cannot read " + path.string() + ": " + reason_of(errno));
    }
    return md5_file_hex(path);
}

} // namespace

CopiedFile copy_checked(const std::filesystem::path& source, const std::filesystem::path& directory,
                        const std::string& expected_md5)
{
    CopiedFile copied;
    copied.path = directory / source.filename();
    const auto existing_md5 = md5_if_exists(copied.path);
    if (existing_md5 && !expected_md5.empty() && *existing_md5 == expected_md5) {
        // Copied before, by a run whose result was not recorded (a crash, a lost write).
        copied.md5 = *existing_md5;
        copied.bytes = std::filesystem::file_size(copied.path);
        copied.was_in_place = true;
        return copied;
    }

    const Descriptor input = open_for_reading(source, "raw file");
    TemporaryFile output(copied.path);
    Md5 md5(source.string());
    std::string buffer(buffer_size, '\0');
    for (;;) {
        const std::size_t count =
            read_some(input, buffer.data(), buffer.size(), source, "raw file");
        if (count == 0) {
            break;
        }
        const std::string_view piece(buffer.data(), count);
        md5.update(piece);
        output.write(piece);
        copied.bytes += count;
    }
    copied.md5 = md5.hex_digest();
    if (!expected_md5.empty() && copied.md5 != expected_md5) {
        throw StoreError("checksum mismatch copying " + source.string() + " to " +
                         copied.path.string() + ": the file has md5 " + copied.md5 +
                         ", the doc's md5sum is " + expected_md5 + "; the copy was removed");
    }
    if (existing_md5 && *existing_md5 != copied.md5) {
        throw StoreError("cannot copy " + source.string() + " to " + copied.path.string() +
                         ": a different file is there already (md5 " + *existing_md5 +
                         ", the copy's is " + copied.md5 + "); it is left as it is");
    }
    output.commit();
    return copied;
}

void write_file_atomically(const std::filesystem::path& target, std::string_view bytes)
{
    TemporaryFile output(target);
    output.write(bytes);
    output.commit();
}

FileContent read_file_checked(const std::filesystem::path& path, const std::string& what,
                              std::uintmax_t max_bytes)
{
    const Descriptor input = open_for_reading(path, what);
    FileContent content;
    std::array<char, std::size_t{64} * 1024> buffer{};
    for (;;) {
        const std::size_t count = read_some(input, buffer.data(), buffer.size(), path, what);
        if (count == 0) {
            break;
        }
        if (content.bytes.size() + count > max_bytes) {
            throw StoreError("cannot read " + what + " " + path.string() + ": larger than " +
                             std::to_string(max_bytes) + " bytes, too large for this step");
        }
        content.bytes.append(buffer.data(), count);
    }
    content.md5 = md5_hex(content.bytes);
    return content;
}

} // namespace edw::edelweiss
