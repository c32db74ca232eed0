// ScratchDirectory: a directory of a test's own, removed when the test ends.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace edw::test {

class ScratchDirectory {
public:
    // The process id and a counter keep apart the tests CTest runs at once, each a process.
    ScratchDirectory()
        : m_path(std::filesystem::temp_directory_path() /
                 ("edw-unit-test-" + std::to_string(::getpid()) + "-" +
                  std::to_string(next_number()++)))
    {
        std::filesystem::remove_all(m_path);
        std::filesystem::create_directories(m_path);
    }
    ScratchDirectory(const ScratchDirectory&) = delete;
    ScratchDirectory& operator=(const ScratchDirectory&) = delete;
    ~ScratchDirectory() { std::filesystem::remove_all(m_path); }

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }

    // A subdirectory, made.
    [[nodiscard]] std::filesystem::path directory(const std::string& name) const
    {
        std::filesystem::create_directories(m_path / name);
        return m_path / name;
    }

    std::filesystem::path write(const std::string& name, std::string_view bytes) const
    {
        std::ofstream(m_path / name, std::ios::binary) << bytes;
        return m_path / name;
    }

private:
    static std::atomic<int>& next_number()
    {
        static std::atomic<int> number{0};
        return number;
    }

    std::filesystem::path m_path;
};

// Runs the rest of a test in another working directory, and goes back at its end.
class WorkingDirectory {
public:
    explicit WorkingDirectory(const std::filesystem::path& path)
        : m_previous(std::filesystem::current_path())
    {
        std::filesystem::current_path(path);
    }
    WorkingDirectory(const WorkingDirectory&) = delete;
    WorkingDirectory& operator=(const WorkingDirectory&) = delete;
    ~WorkingDirectory() { std::filesystem::current_path(m_previous); }

private:
    std::filesystem::path m_previous;
};

// The whole file, as bytes.
inline std::string file_bytes(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The names in `directory`, temporary files included, sorted.
inline std::string listing(const std::filesystem::path& directory)
{
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(directory)) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    std::string text;
    for (const auto& name : names) {
        text += (text.empty() ? "" : " ") + name;
    }
    return text;
}

} // namespace edw::test
