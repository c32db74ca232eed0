// FeedCheckpoint: the `_local` doc of a feed's position, read at start and saved as it moves.
#include "feed_checkpoint.hpp"

#include <edw/runtime/step_runner.hpp>
#include <edw/util/error.hpp>
#include <edw/util/log.hpp>
#include <edw/util/utc_time.hpp>

namespace edw {

FeedCheckpoint::FeedCheckpoint(Database& database, std::chrono::milliseconds interval)
    : m_database(database)
    , m_interval(interval)
{}

void FeedCheckpoint::set_owner(std::string listener, std::string steps)
{
    const std::lock_guard lock(m_mutex);
    m_listener = std::move(listener);
    m_steps = std::move(steps);
}

std::optional<Seq> FeedCheckpoint::read()
{
    const std::lock_guard lock(m_mutex);
    const auto saved = m_database.get(StepRunner::checkpoint_id(m_listener));
    if (!saved) {
        return std::nullopt;
    }
    m_rev = saved->value("_rev", "");
    if (!saved->contains("seq")) {
        return std::nullopt;
    }
    return Seq::from_json((*saved)["seq"]);
}

void FeedCheckpoint::save(bool now)
{
    const std::lock_guard lock(m_mutex);
    const auto clock = std::chrono::steady_clock::now();
    if (!now && clock - m_last_save < m_interval) {
        return;
    }
    const auto seq = tracker.take_new_checkpoint();
    if (!seq) {
        return;
    }
    m_last_save = clock;
    const std::string id = StepRunner::checkpoint_id(m_listener);
    try {
        for (int attempt = 0; attempt < 3; ++attempt) {
            nlohmann::json doc = {{"_id", id},
                                  {"seq", seq->to_json()},
                                  {"step", m_steps},
                                  {"updated", utc_now_iso8601()}};
            if (!m_rev.empty()) {
                doc["_rev"] = m_rev;
            }
            const auto saved = m_database.save(doc);
            if (!saved.is_conflict()) {
                m_rev = saved.rev;
                return;
            }
            // Another process (an older run, or a tool) wrote it: take its rev and win.
            const auto current = m_database.get(id);
            m_rev = current ? current->value("_rev", "") : "";
        }
        log_warning("cannot save checkpoint: it keeps changing under us");
    } catch (const Error& error) {
        log_warning(std::string("cannot save checkpoint: ") + error.what());
    }
}

} // namespace edw
