// TcpProxy: a loopback TCP forwarder that a test can cut, to drop connections mid-stream.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

/// Listens on 127.0.0.1 (a free port) and forwards every connection to 127.0.0.1:`target_port`.
class TcpProxy {
public:
    explicit TcpProxy(int target_port);
    ~TcpProxy();
    TcpProxy(const TcpProxy&) = delete;
    TcpProxy& operator=(const TcpProxy&) = delete;

    [[nodiscard]] int port() const noexcept { return m_port; }
    /// Closes every open connection at once, both sides, as a network failure would.
    void cut_all();
    /// How many connections were accepted so far.
    [[nodiscard]] int connections() const noexcept { return m_accepted; }
    /// Holds every chunk from the server this long before passing it on (zero: no delay).
    void set_delay(std::chrono::milliseconds delay) noexcept { m_delay_ms = delay.count(); }
    /// The next `count` chunks from the server are passed on cut in half, and their connection
    /// closed: truncated responses.
    void truncate_next(int count) noexcept { m_truncate = count; }
    [[nodiscard]] int truncated() const noexcept { return m_truncated; }
    /// Stops relaying on every connection open now, both ways, with their sockets kept open:
    /// what a firewall or load balancer that drops idle connections does. New connections are
    /// relayed.
    void silence_open_connections() noexcept { m_silenced_below = m_accepted.load(); }

private:
    void accept_loop();
    void forward(int client, int server, int number);

    int m_target_port;
    int m_listener = -1;
    int m_port = 0;
    std::atomic<bool> m_stopping{false};
    std::atomic<int> m_accepted{0};
    std::atomic<long> m_delay_ms{0};
    std::atomic<int> m_truncate{0};
    std::atomic<int> m_truncated{0};
    std::atomic<int> m_silenced_below{0}; ///< Connections numbered below this are black holes.
    std::mutex m_mutex;
    std::vector<int> m_sockets;
    std::vector<std::thread> m_threads;
    std::thread m_acceptor;
};
