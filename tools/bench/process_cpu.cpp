// ProcessCpu: /proc readings for the bench's CPU figures.
#include "process_cpu.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace edw::tools {
namespace {

namespace fs = std::filesystem;

// The inode of the socket listening on `port` in /proc/net/tcp or tcp6 (state 0A is LISTEN).
std::optional<std::string> listening_inode(int port)
{
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(table);
        std::string line;
        std::getline(in, line); // the header
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
            fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
                timeout >> inode;
            const auto colon = local.rfind(':');
            if (state == "0A" && colon != std::string::npos &&
                std::strtol(local.c_str() + colon + 1, nullptr, 16) == port) {
                return inode;
            }
        }
    }
    return std::nullopt;
}

struct Stat {
    pid_t parent = 0;
    double cpu_seconds = 0;
};

// /proc/<pid>/stat: the parent (field 4) and utime + stime (fields 14 and 15), after the
// command name, which may hold spaces and is closed by the last ')'.
std::optional<Stat> read_stat(const fs::path& path)
{
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close == std::string::npos) {
        return std::nullopt;
    }
    std::istringstream fields(text.substr(close + 2));
    std::vector<std::string> values;
    for (std::string value; fields >> value && values.size() < 13;) {
        values.push_back(value);
    }
    if (values.size() < 13) {
        return std::nullopt;
    }
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    return Stat{
        static_cast<pid_t>(std::strtol(values[1].c_str(), nullptr, 10)),
        (std::strtod(values[11].c_str(), nullptr) + std::strtod(values[12].c_str(), nullptr)) /
            ticks};
}

} // namespace

std::optional<pid_t> local_server_pid(const Url& url)
{
    const auto& host = url.host();
    if (host != "127.0.0.1" && host != "localhost" && host != "::1") {
        return std::nullopt;
    }
    const auto inode = listening_inode(url.port());
    if (!inode) {
        return std::nullopt;
    }
    const std::string wanted = "socket:[" + *inode + "]";
    std::error_code error;
    for (const auto& process : fs::directory_iterator("/proc", error)) {
        const auto name = process.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::error_code unreadable;
        for (const auto& fd : fs::directory_iterator(process.path() / "fd", unreadable)) {
            std::error_code gone;
            if (fs::read_symlink(fd.path(), gone).string() == wanted) {
                return static_cast<pid_t>(std::strtol(name.c_str(), nullptr, 10));
            }
        }
    }
    return std::nullopt;
}

double process_tree_cpu_seconds(pid_t pid)
{
    std::map<pid_t, Stat> stats;
    std::error_code error;
    for (const auto& process : fs::directory_iterator("/proc", error)) {
        const auto name = process.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        if (const auto stat = read_stat(process.path() / "stat")) {
            stats[static_cast<pid_t>(std::strtol(name.c_str(), nullptr, 10))] = *stat;
        }
    }
    // Descendants: walk each process's parents up to `pid`.
    double seconds = 0;
    for (const auto& [candidate, stat] : stats) {
        for (pid_t at = candidate; at > 1;) {
            if (at == pid) {
                seconds += stat.cpu_seconds;
                break;
            }
            const auto parent = stats.find(at);
            at = parent == stats.end() ? 0 : parent->second.parent;
        }
    }
    return seconds;
}

} // namespace edw::tools
