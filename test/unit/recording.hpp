// Recording: a real server response kept in test/data, for tests that cannot reach a server.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// One recorded HTTP response: its status, its headers as received and its body bytes exactly
/// (chunked transfer decoding already applied).
struct Recording {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    /// The value of the first header called `name`, compared case-insensitively; empty when absent.
    [[nodiscard]] std::string header(std::string_view name) const;
};

/// Loads `<server>/<name>.http` from EDW_TEST_DATA_DIR, such as ("couchdb-3.4.3", "db-missing").
/// Throws std::runtime_error when the file cannot be read or does not start with a status line.
Recording load_recording(const std::string& server, const std::string& name);
