// Recording: reads the status line, headers and body of a recorded response.
#include "recording.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <stdexcept>

#ifndef EDW_TEST_DATA_DIR
#define EDW_TEST_DATA_DIR "test/data"
#endif

namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b)
{
    const auto lower = [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    };
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [&](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view text)
{
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

// Takes the next line, without its "\n" or "\r\n", off the front of `text`.
std::string_view take_line(std::string_view& text)
{
    const auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    return line;
}

} // namespace

std::string Recording::header(std::string_view name) const
{
    for (const auto& [header_name, value] : headers) {
        if (equal_ignoring_case(header_name, name)) {
            return value;
        }
    }
    return {};
}

Recording load_recording(const std::string& server, const std::string& name)
{
    const std::string path = std::string(EDW_TEST_DATA_DIR) + "/" + server + "/" + name + ".http";
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        throw std::runtime_error("cannot read recording " + path);
    }
    const std::string content{std::istreambuf_iterator<char>(file),
                              std::istreambuf_iterator<char>()};
    std::string_view rest = content;

    // "HTTP/1.1 200 OK": the status is the second word.
    const std::string_view status_line = take_line(rest);
    const auto space = status_line.find(' ');
    Recording recording;
    if (status_line.substr(0, 5) != "HTTP/" || space == std::string_view::npos) {
        throw std::runtime_error("cannot read recording " + path + ": no status line");
    }
    try {
        recording.status = std::stoi(std::string(status_line.substr(space + 1, 3)));
    } catch (const std::logic_error&) {
        throw std::runtime_error("cannot read recording " + path + ": no status in " +
                                 std::string(status_line));
    }
    while (!rest.empty()) {
        const std::string_view line = take_line(rest);
        if (line.empty()) {
            break; // the body follows, byte for byte
        }
        const auto colon = line.find(':');
        recording.headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                       colon == std::string_view::npos
                                           ? std::string()
                                           : std::string(trim(line.substr(colon + 1))));
    }
    recording.body = std::string(rest);
    return recording;
}
