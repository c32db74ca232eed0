// StepGroup: a shared feed per database, a thread for each, and the first error brought back.
#include <edw/util/log.hpp>
#include <edw/util/stop_signals.hpp>
#include <edw/workflow/step_group.hpp>

#include <exception>
#include <mutex>
#include <thread>

namespace edw {

void StepGroup::add(Database& database, Step step, RunnerOptions options)
{
    SharedFeed* feed = nullptr;
    for (auto& candidate : m_feeds) {
        if (&candidate->database() == &database) {
            feed = candidate.get();
        }
    }
    if (feed == nullptr) {
        m_feeds.push_back(std::make_unique<SharedFeed>(database, m_name));
        feed = m_feeds.back().get();
    }
    feed->add(std::move(step), std::move(options));
    m_steps.emplace_back(feed, feed->size() - 1);
}

void StepGroup::run(std::stop_token stop)
{
    if (m_feeds.size() == 1) {
        m_feeds.front()->run(std::move(stop));
        return;
    }
    std::stop_source all;
    const std::stop_callback forward(stop, [&all] { all.request_stop(); });
    std::mutex mutex;
    std::exception_ptr first_error;
    {
        std::vector<std::jthread> threads;
        for (auto& feed : m_feeds) {
            threads.emplace_back([&, feed = feed.get()] {
                try {
                    feed->run(all.get_token());
                } catch (...) {
                    {
                        const std::lock_guard lock(mutex);
                        if (!first_error) {
                            first_error = std::current_exception();
                        }
                    }
                    all.request_stop(); // the others stop too: no half-running daemon
                }
            });
        }
    } // joined here
    if (first_error) {
        std::rethrow_exception(first_error);
    }
}

void StepGroup::run_until_signal()
{
    std::stop_source stop;
    const StopSignals signals(stop);
    run(stop.get_token());
}

} // namespace edw
