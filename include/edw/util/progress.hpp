// Progress: a progress bar on a terminal, periodic log lines elsewhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace edw {

/// Reports progress of long work (`total` units of `unit`): a bar with rate and ETA, redrawn in
/// place on standard error when it is a terminal, or a log line every few seconds when it is not
/// (under systemd, or redirected to a file).
class Progress {
public:
    Progress(std::string label, std::uint64_t total, std::string unit);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    /// Adds `count` finished units and redraws when due.
    void advance(std::uint64_t count);
    /// Draws the final state and ends the line.
    void finish();

private:
    void draw(bool final);

    std::string m_label;
    std::uint64_t m_total;
    std::string m_unit;
    std::uint64_t m_done = 0;
    bool m_terminal;
    bool m_finished = false;
    std::chrono::steady_clock::time_point m_start;
    std::chrono::steady_clock::time_point m_last_draw;
};

} // namespace edw
