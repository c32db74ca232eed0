// BoundedQueue: a blocking queue of fixed capacity between the stages of a listener.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <iterator>
#include <mutex>
#include <optional>
#include <vector>

namespace edw {

/// A multi-producer, multi-consumer queue. A full queue makes producers wait, which is how a
/// busy listener stops reading its feed instead of buffering without limit. close() wakes all.
template <typename T> class BoundedQueue {
public:
    explicit BoundedQueue(std::size_t capacity)
        : m_capacity(capacity)
    {}

    /// Makes room for more items (never fewer).
    void raise_capacity(std::size_t capacity)
    {
        const std::lock_guard lock(m_mutex);
        if (capacity > m_capacity) {
            m_capacity = capacity;
            m_not_full.notify_all();
        }
    }

    /// Waits for room; returns false (dropping `item`) when the queue was closed.
    bool push(T item)
    {
        std::unique_lock lock(m_mutex);
        m_not_full.wait(lock, [&] { return m_closed || m_items.size() < m_capacity; });
        if (m_closed) {
            return false;
        }
        m_items.push_back(std::move(item));
        m_not_empty.notify_one();
        return true;
    }

    /// Adds `item` only if there is room now; false (dropping it) when full or closed.
    bool try_push(T& item)
    {
        const std::lock_guard lock(m_mutex);
        if (m_closed || m_items.size() >= m_capacity) {
            return false;
        }
        m_items.push_back(std::move(item));
        m_not_empty.notify_one();
        return true;
    }

    /// Waits for an item; empty once the queue is closed and drained.
    std::optional<T> pop()
    {
        std::unique_lock lock(m_mutex);
        m_not_empty.wait(lock, [&] { return m_closed || !m_items.empty(); });
        if (m_items.empty()) {
            return std::nullopt;
        }
        T item = std::move(m_items.front());
        m_items.pop_front();
        m_not_full.notify_one();
        return item;
    }

    /// Waits for at least one item, then takes up to `most` without waiting further. Empty once
    /// the queue is closed and drained.
    std::vector<T> pop_some(std::size_t most)
    {
        std::unique_lock lock(m_mutex);
        m_not_empty.wait(lock, [&] { return m_closed || !m_items.empty(); });
        return take_up_to(most);
    }

    /// As pop_some, but waits at most `wait` for the first item: empty on a timeout too.
    template <typename Rep, typename Period>
    std::vector<T> pop_some_for(std::size_t most, std::chrono::duration<Rep, Period> wait)
    {
        std::unique_lock lock(m_mutex);
        m_not_empty.wait_for(lock, wait, [&] { return m_closed || !m_items.empty(); });
        return take_up_to(most);
    }

    /// Waits at most `wait` for the queue to hold fewer than `level` items (or to be closed);
    /// returns how many it holds.
    template <typename Rep, typename Period>
    std::size_t wait_below(std::size_t level, std::chrono::duration<Rep, Period> wait)
    {
        std::unique_lock lock(m_mutex);
        m_not_full.wait_for(lock, wait, [&] { return m_closed || m_items.size() < level; });
        return m_items.size();
    }

    /// Closes the queue and takes what is left in it: later pops return empty at once.
    std::vector<T> close_and_take()
    {
        const std::lock_guard lock(m_mutex);
        m_closed = true;
        std::vector<T> items(std::make_move_iterator(m_items.begin()),
                             std::make_move_iterator(m_items.end()));
        m_items.clear();
        m_not_full.notify_all();
        m_not_empty.notify_all();
        return items;
    }

    [[nodiscard]] bool closed() const
    {
        const std::lock_guard lock(m_mutex);
        return m_closed;
    }

    /// Ends the queue: pushes fail, pops drain what is left and then return empty.
    void close()
    {
        const std::lock_guard lock(m_mutex);
        m_closed = true;
        m_not_full.notify_all();
        m_not_empty.notify_all();
    }

    [[nodiscard]] std::size_t size() const
    {
        const std::lock_guard lock(m_mutex);
        return m_items.size();
    }

private:
    // With m_mutex held.
    std::vector<T> take_up_to(std::size_t most)
    {
        std::vector<T> items;
        while (!m_items.empty() && items.size() < most) {
            items.push_back(std::move(m_items.front()));
            m_items.pop_front();
        }
        m_not_full.notify_all();
        return items;
    }

    std::size_t m_capacity;
    mutable std::mutex m_mutex;
    std::condition_variable m_not_full;
    std::condition_variable m_not_empty;
    std::deque<T> m_items;
    bool m_closed = false;
};

} // namespace edw
