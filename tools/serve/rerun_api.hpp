// RerunRunner: the reruns `edw serve` starts from the status page, each on a thread of its own.
#pragma once

#include <edw/db/database.hpp>
#include <edw/runtime/rerun_campaign.hpp>
#include <edw/util/settings.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

namespace httplib {
struct Request;
struct Response;
} // namespace httplib

namespace edw::tools {

/// Answers `POST /api/rerun` (a dry run at once, or a campaign started on a thread: 202) and
/// `POST /api/rerun/<id>/resume`. Each running campaign has its own database connection and
/// saves its record as it goes; `progressed` is called after each batch and at its end, so that
/// the status is read again (`_local` records are not in the changes feed).
class RerunRunner {
public:
    RerunRunner(const Settings& settings, Database& database, std::function<void()> progressed);
    ~RerunRunner();
    RerunRunner(const RerunRunner&) = delete;
    RerunRunner& operator=(const RerunRunner&) = delete;

    void answer_start(const httplib::Request& request, httplib::Response& response);
    void answer_resume(const httplib::Request& request, httplib::Response& response);
    /// Asks every running campaign to stop (each ends as "interrupted", resumable) and waits for
    /// them; refuses new ones from then on.
    void stop_all();

private:
    struct Run {
        std::jthread thread;
        std::shared_ptr<std::atomic<bool>> over = std::make_shared<std::atomic<bool>>(false);
    };
    /// Starts `campaign` on a thread; false when one by that id runs here already.
    bool start(RerunCampaign campaign);

    Settings m_settings;
    Database& m_database;
    std::function<void()> m_progressed;
    std::stop_source m_stop; ///< For dry runs, which run on the request's thread.
    std::mutex m_mutex;      ///< Guards the two below.
    std::map<std::string, Run> m_runs;
    bool m_stopped = false;
};

} // namespace edw::tools
