// TcpProxy: one thread per connection copying bytes both ways with poll().
#include "tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

TcpProxy::TcpProxy(int target_port)
    : m_target_port(target_port)
{
    m_listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    if (::bind(m_listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(m_listener, 64) != 0) {
        throw std::runtime_error("tcp proxy: cannot listen");
    }
    socklen_t length = sizeof address;
    ::getsockname(m_listener, reinterpret_cast<sockaddr*>(&address), &length);
    m_port = ntohs(address.sin_port);
    m_acceptor = std::thread([this] { accept_loop(); });
}

TcpProxy::~TcpProxy()
{
    m_stopping = true;
    ::shutdown(m_listener, SHUT_RDWR);
    ::close(m_listener);
    m_acceptor.join();
    cut_all();
    for (auto& thread : m_threads) {
        thread.join();
    }
}

void TcpProxy::cut_all()
{
    const std::lock_guard lock(m_mutex);
    for (const int socket : m_sockets) {
        ::shutdown(socket, SHUT_RDWR);
    }
}

void TcpProxy::accept_loop()
{
    while (!m_stopping) {
        const int client = ::accept(m_listener, nullptr, nullptr);
        if (client < 0) {
            continue;
        }
        const int server = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in target{};
        target.sin_family = AF_INET;
        target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        target.sin_port = htons(static_cast<uint16_t>(m_target_port));
        if (::connect(server, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
            ::close(client);
            ::close(server);
            continue;
        }
        const int number = m_accepted++;
        const std::lock_guard lock(m_mutex);
        m_sockets.push_back(client);
        m_sockets.push_back(server);
        m_threads.emplace_back([this, client, server, number] { forward(client, server, number); });
    }
}

void TcpProxy::forward(int client, int server, int number)
{
    pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    char buffer[16384];
    for (;;) {
        if (m_stopping || (fds[0].fd < 0 && fds[1].fd < 0) || ::poll(fds, 2, 200) < 0) {
            break;
        }
        bool closed = false;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                const ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
                if (number < m_silenced_below.load()) {
                    // A black hole: bytes are swallowed and a close is not passed on either
                    // (the server's keep-alive timeout would otherwise tell the client).
                    if (got <= 0) {
                        fds[i].fd = -1; // poll() skips it from now on
                    }
                    continue;
                }
                if (got > 0 && i == 1) { // from the server
                    if (const long delay = m_delay_ms.load(); delay > 0) {
                        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
                    }
                    if (got > 1 && m_truncate.fetch_sub(1) > 0) {
                        ++m_truncated;
                        [[maybe_unused]] const auto sent =
                            ::send(fds[0].fd, buffer, static_cast<size_t>(got / 2), MSG_NOSIGNAL);
                        closed = true;
                        continue;
                    }
                    if (m_truncate.load() < 0) {
                        m_truncate = 0;
                    }
                }
                // MSG_NOSIGNAL: a peer that already closed must not end the test with SIGPIPE.
                if (got <= 0 ||
                    ::send(fds[1 - i].fd, buffer, static_cast<size_t>(got), MSG_NOSIGNAL) != got) {
                    closed = true;
                }
            }
        }
        if (closed) {
            break;
        }
    }
    ::shutdown(client, SHUT_RDWR);
    ::shutdown(server, SHUT_RDWR);
    const std::lock_guard lock(m_mutex);
    std::erase(m_sockets, client);
    std::erase(m_sockets, server);
    ::close(client);
    ::close(server);
}
