// ListenerLock: one running instance per listener name and store.
#include "edw/app/listener_lock.hpp"

#include <edw/util/md5.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace edw {
namespace {

std::string safe_file_part(std::string text)
{
    for (char& c : text) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
            c = '_';
        }
    }
    return text;
}

// What the file says of its holder, read for the message that names it.
std::string holder_of(const std::filesystem::path& path)
{
    std::ifstream in(path);
    std::string pid;
    std::getline(in, pid);
    return pid;
}

} // namespace

std::string store_identity(const Settings& settings)
{
    if (settings.server.is_file()) {
        // The real path: `edw-data/x.db`, `./edw-data/x.db` and a symlink to it are one store.
        std::error_code error;
        const auto real = std::filesystem::weakly_canonical(
            std::filesystem::absolute(settings.server.path()), error);
        return "file:" +
               (error ? std::filesystem::absolute(settings.server.path()) : real).string();
    }
    std::string server = settings.server.str();
    while (!server.empty() && server.back() == '/') {
        server.pop_back();
    }
    return server + "/" + settings.database;
}

std::filesystem::path default_lock_dir()
{
    if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime != nullptr && *runtime) {
        return std::filesystem::path(runtime) / "edw";
    }
    if (::geteuid() == 0) {
        return "/run/edw";
    }
    return std::filesystem::temp_directory_path() / ("edw-" + std::to_string(::geteuid()));
}

ListenerLock::ListenerLock(const std::filesystem::path& directory, const std::string& store,
                           const std::string& listener)
    : m_path(directory / (safe_file_part(listener) + "-" + md5_hex(store).substr(0, 16) + ".lock"))
    , m_store(store)
    , m_listener(listener)
{
    // Private to the user where the folder is new: lock files say which stores are in use.
    std::error_code ignored;
    std::filesystem::create_directories(directory.parent_path(), ignored);
    ::mkdir(directory.c_str(), 0700);
    m_fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (m_fd < 0) {
        throw StoreError("cannot open lock file " + m_path.string() + ": " + std::strerror(errno));
    }
    if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
        const std::string pid = holder_of(m_path);
        ::close(m_fd);
        throw AlreadyRunning("another listener named " + listener + " is already running on " +
                             store + (pid.empty() ? std::string() : " (pid " + pid + ")") +
                             "; its lock is " + m_path.string());
    }
    record_owner();
}

ListenerLock::~ListenerLock()
{
    // The file stays: removing it would let a third process lock a new file of the same name
    // while a second one still waits on the old. It lives in a runtime folder, emptied at boot.
    ::close(m_fd);
}

void ListenerLock::record_owner()
{
    const std::string text = std::to_string(::getpid()) + "\n" + m_listener + "\n" + m_store + "\n";
    if (::ftruncate(m_fd, 0) == 0) {
        // Best effort: the lock itself is the flock, the text only tells users who holds it.
        [[maybe_unused]] const auto written = ::pwrite(m_fd, text.data(), text.size(), 0);
    }
}

} // namespace edw
