// ServiceManager: sd_notify through libsystemd when edw was built with it.
#include "edw/app/service_manager.hpp"

#include <edw/util/log.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>

#ifdef EDW_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace edw {
namespace {

bool started_by_systemd()
{
    const char* socket = std::getenv("NOTIFY_SOCKET");
    return socket != nullptr && *socket != '\0';
}

void notify(const char* state)
{
#ifdef EDW_HAVE_LIBSYSTEMD
    // 0: keep NOTIFY_SOCKET, which the watchdog thread still needs.
    const int sent = ::sd_notify(0, state);
    if (sent < 0) {
        log_warning(std::string("cannot tell systemd ") + state + ": error " +
                    std::to_string(-sent));
    }
#else
    (void)state;
#endif
}

} // namespace

ServiceManager::ServiceManager()
{
    if (!started_by_systemd()) {
        return;
    }
    if (!supported()) {
        log_warning("systemd waits for word from this listener (Type=notify), but edw was built "
                    "without libsystemd-dev: use Type=exec in its unit, or rebuild edw with it");
        return;
    }
#ifdef EDW_HAVE_LIBSYSTEMD
    std::uint64_t usec = 0;
    if (::sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        const auto period = std::chrono::microseconds(usec / 2);
        m_watchdog = std::jthread([period](std::stop_token stop) {
            std::mutex mutex;
            std::condition_variable_any wake;
            std::unique_lock lock(mutex);
            while (!wake.wait_for(lock, stop, period, [&stop] { return stop.stop_requested(); })) {
                notify("WATCHDOG=1");
            }
        });
    }
#endif
}

ServiceManager::~ServiceManager() = default;

void ServiceManager::ready()
{
    if (started_by_systemd()) {
        notify("READY=1");
    }
}

void ServiceManager::stopping()
{
    if (started_by_systemd()) {
        notify("STOPPING=1");
    }
}

bool ServiceManager::supported() noexcept
{
#ifdef EDW_HAVE_LIBSYSTEMD
    return true;
#else
    return false;
#endif
}

} // namespace edw
