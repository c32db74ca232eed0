// ServiceManager: what a listener tells systemd about itself (the sd_notify protocol).
#pragma once

#include <thread>

namespace edw {

/// Tells systemd, for a `Type=notify` unit: READY=1 once the listener has reached its database,
/// STOPPING=1 when a stop begins, and WATCHDOG=1 every half `WatchdogSec` while it runs.
/// Does nothing when the process was not started by systemd (no NOTIFY_SOCKET). Built without
/// libsystemd, it says so once in the log when systemd is waiting for word.
class ServiceManager {
public:
    ServiceManager();
    ~ServiceManager();
    ServiceManager(const ServiceManager&) = delete;
    ServiceManager& operator=(const ServiceManager&) = delete;

    void ready();
    void stopping();

    /// Whether edw was built with libsystemd (libsystemd-dev found by CMake).
    static bool supported() noexcept;

private:
    std::jthread m_watchdog;
};

} // namespace edw
