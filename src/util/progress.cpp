// Progress: drawing of the bar and of the periodic lines.
#include "edw/util/progress.hpp"

#include <edw/util/log.hpp>

#include <unistd.h>

#include <cstdio>

namespace edw {

Progress::Progress(std::string label, std::uint64_t total, std::string unit)
    : m_label(std::move(label))
    , m_total(total)
    , m_unit(std::move(unit))
    , m_terminal(::isatty(STDERR_FILENO) == 1)
    , m_start(std::chrono::steady_clock::now())
    , m_last_draw(m_start)
{}

Progress::~Progress()
{
    if (!m_finished && m_terminal && m_done > 0) {
        std::fputc('\n', stderr); // leave the shell prompt on a line of its own
    }
}

void Progress::advance(std::uint64_t count)
{
    m_done += count;
    const auto now = std::chrono::steady_clock::now();
    const auto every =
        m_terminal ? std::chrono::milliseconds(100) : std::chrono::milliseconds(5000);
    if (now - m_last_draw >= every) {
        m_last_draw = now;
        draw(false);
    }
}

void Progress::finish()
{
    if (!m_finished) {
        draw(true);
        m_finished = true;
    }
}

void Progress::draw(bool final)
{
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    const double rate = seconds > 0 ? static_cast<double>(m_done) / seconds : 0.0;
    const double left =
        rate > 0 && m_total > m_done ? static_cast<double>(m_total - m_done) / rate : 0.0;
    char numbers[160];
    std::snprintf(numbers, sizeof numbers, "%llu/%llu %s, %.0f %s/s, %s %.0f s",
                  static_cast<unsigned long long>(m_done), static_cast<unsigned long long>(m_total),
                  m_unit.c_str(), rate, m_unit.c_str(), final ? "took" : "ETA",
                  final ? seconds : left);
    if (!m_terminal) {
        log_info(m_label + ": " + numbers);
        return;
    }
    constexpr int width = 30;
    const int filled =
        m_total == 0
            ? width
            : static_cast<int>(width * static_cast<double>(m_done) / static_cast<double>(m_total));
    std::string bar(static_cast<std::size_t>(std::min(filled, width)), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r%s [%s] %s\033[K%s", m_label.c_str(), bar.c_str(), numbers,
                 final ? "\n" : "");
    std::fflush(stderr);
}

} // namespace edw
