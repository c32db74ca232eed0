// SqliteDatabase changes feed: rows in seq order, filtered by ids, design-doc JavaScript or a
// Mango selector, and live modes that wake on any process's write.
#include "sqlite_connection.hpp"
#include "sqlite_database.hpp"

#include <edw/db/selector.hpp>
#include <edw/util/error.hpp>
#include <edw/util/log.hpp>

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

namespace edw {

// Waits for any process's write to the store, by watching its directory for changes to the WAL.
class WalWatch {
public:
    explicit WalWatch(const std::filesystem::path& store)
        : m_wal_name(store.filename().string() + "-wal")
    {
        m_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (m_fd < 0) {
            throw StoreError("cannot watch " + store.string() +
                             ": inotify: " + std::strerror(errno));
        }
        const auto directory =
            store.has_parent_path() ? store.parent_path() : std::filesystem::path(".");
        if (inotify_add_watch(m_fd, directory.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
            ::close(m_fd);
            throw StoreError("cannot watch " + directory.string() + ": " + std::strerror(errno));
        }
    }
    ~WalWatch() { ::close(m_fd); }
    WalWatch(const WalWatch&) = delete;
    WalWatch& operator=(const WalWatch&) = delete;

    /// Waits up to `limit` for a write; true when one happened.
    bool wait(std::chrono::milliseconds limit)
    {
        pollfd watched{m_fd, POLLIN, 0};
        if (::poll(&watched, 1, static_cast<int>(limit.count())) <= 0) {
            return false;
        }
        bool written = false;
        alignas(inotify_event) char buffer[4096];
        for (;;) {
            const ssize_t got = ::read(m_fd, buffer, sizeof buffer);
            if (got <= 0) {
                break;
            }
            for (ssize_t at = 0; at < got;) {
                const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
                if (event->len > 0 && m_wal_name == event->name) {
                    written = true;
                }
                at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
            }
        }
        return written;
    }

private:
    std::string m_wal_name;
    int m_fd = -1;
};

// A watch from the store's idle ones (or a new one), given back when the request ends. A kept
// watch may hold events of writes made since; they only cause one more read.
class BorrowedWatch {
public:
    explicit BorrowedWatch(SqliteDatabase& store)
        : m_store(store)
    {
        {
            const std::lock_guard lock(store.m_watches_mutex);
            if (!store.m_idle_watches.empty()) {
                m_watch = std::move(store.m_idle_watches.back());
                store.m_idle_watches.pop_back();
            }
        }
        if (!m_watch) {
            m_watch = std::make_shared<WalWatch>(store.m_path);
        }
    }
    ~BorrowedWatch()
    {
        const std::lock_guard lock(m_store.m_watches_mutex);
        if (m_store.m_idle_watches.size() < 8) {
            m_store.m_idle_watches.push_back(std::move(m_watch));
        }
    }
    BorrowedWatch(const BorrowedWatch&) = delete;
    BorrowedWatch& operator=(const BorrowedWatch&) = delete;

    WalWatch* operator->() const { return m_watch.get(); }

private:
    SqliteDatabase& m_store;
    std::shared_ptr<WalWatch> m_watch;
};

namespace {

using Clock = std::chrono::steady_clock;

// A stored body (the doc without `_id` and `_rev`, as nlohmann wrote it) with `_id` and `_rev`
// put in front, as text: the feed hands docs on without parsing them.
DocText stored_doc_text(const std::string& id, const std::string& rev, bool deleted,
                        std::string_view body)
{
    std::string text = "{\"_id\":" + nlohmann::json(id).dump() + ",\"_rev\":\"" + rev + "\"";
    if (deleted) {
        text += ",\"_deleted\":true}";
        return DocText(std::move(text));
    }
    // The body is an object: "{}" or "{...}".
    if (body.size() > 2) {
        text.reserve(text.size() + body.size());
        text += ',';
        text.append(body.substr(1));
    } else {
        text += '}';
    }
    return DocText(std::move(text));
}

// Rows read per statement: a filtered feed reads on until it has `limit` rows that pass.
constexpr std::int64_t feed_chunk = 500;

// What decides whether a feed row is sent.
struct FeedFilter {
    bool by_ids = false;
    std::set<std::string> ids;
    bool design_only = false;
    std::optional<Selector> selector;
    std::optional<int> function; ///< A design-doc filter in the JavaScript engine.
    std::string function_name;
    nlohmann::json request;

    [[nodiscard]] bool needs_doc() const { return selector || function; }
};

} // namespace

std::optional<FeedEnd> SqliteDatabase::changes(const ChangesQuery& query, ChangesHandler& handler)
{
    const std::string action = "cannot read the changes feed of " + describe();
    FeedFilter filter;
    filter.by_ids =
        query.filter == "_doc_ids" || (!query.filter && !query.selector && !query.doc_ids.empty());
    filter.ids.insert(query.doc_ids.begin(), query.doc_ids.end());
    filter.design_only = query.filter == "_design";
    if (query.selector || query.filter == "_selector") {
        if (!query.selector) {
            throw HttpError(action + ": filter=_selector needs a selector", 400, "bad_request",
                            "Selector must be specified in POST payload");
        }
        try {
            filter.selector.emplace(*query.selector);
        } catch (const JsonError& error) {
            throw HttpError(action + ": " + error.what(), 400, "bad_request", error.what());
        }
    } else if (query.filter && !filter.by_ids && !filter.design_only) {
        const auto slash = query.filter->find('/');
        if (slash == std::string::npos || query.filter->front() == '_') {
            throw HttpError(action + ": unknown filter " + *query.filter, 400, "bad_request",
                            "filter parameter must be of the form `designname/filtername`");
        }
        const std::string design = "_design/" + query.filter->substr(0, slash);
        filter.function_name = query.filter->substr(slash + 1);
        const auto doc = get(design);
        if (!doc) {
            throw HttpError(action + ": " + design + " is missing", 404, "not_found", "missing");
        }
        const auto filters = doc->find("filters");
        if (filters == doc->end() || !filters->is_object() ||
            !filters->contains(filter.function_name) ||
            !(*filters)[filter.function_name].is_string()) {
            throw HttpError(action + ": " + design + " has no filter " + filter.function_name, 404,
                            "not_found", "missing json key: " + filter.function_name);
        }
        try {
            filter.function =
                m_engine->compile((*filters)[filter.function_name].get<std::string>());
        } catch (const JsonError& error) {
            throw HttpError(action + ": filter " + *query.filter +
                                " does not compile: " + error.what(),
                            400, "compilation_error", error.what());
        }
        // The request object CouchDB hands a filter: query values arrive as strings.
        nlohmann::json values = query.filter_parameters;
        values["filter"] = *query.filter;
        filter.request = {{"query", values}, {"method", "GET"}, {"id", nullptr}};
    }

    std::int64_t position = 0;
    {
        const std::lock_guard lock(m_mutex);
        auto& connection = open_existing();
        if (query.since.is_now()) {
            auto& last = connection.statement("SELECT COALESCE(MAX(seq), 0) FROM docs");
            last.step();
            position = last.integer(0);
            last.reset();
        } else {
            const auto since = query.since.to_json();
            if (!since.is_number_integer()) {
                throw HttpError(action + ": since " + query.since.json() +
                                    " is not a seq of this store",
                                400, "bad_request", "Malformed since");
            }
            position = since.get<std::int64_t>();
        }
    }
    // Watch before reading, so that a write between the read and the wait still wakes us.
    std::optional<BorrowedWatch> watch;
    if (query.feed != Feed::normal) {
        watch.emplace(*this);
    }
    const std::uint64_t wanted = query.limit ? std::max<std::uint64_t>(*query.limit, 1) : 0;
    const auto started = Clock::now();
    auto last_beat = started;
    // A writer's last WAL write comes just before its commit is published in shared memory, which
    // no inotify event reports. So after a wake-up that found nothing new, look again after 1, 2,
    // 4 ... 128 ms even without a new event: eight reads in a quarter of a second, then none until
    // the next write.
    std::chrono::milliseconds recheck{0};
    std::uint64_t delivered = 0;
    for (;;) {
        bool limit_reached = false;
        for (;;) {
            std::vector<Change> rows;
            {
                const std::lock_guard lock(m_mutex);
                auto& connection = open_existing();
                auto& read = connection.statement("SELECT seq, id, rev, deleted, body FROM docs "
                                                  "WHERE seq > ? ORDER BY seq LIMIT ?");
                read.bind(1, position).bind(2, feed_chunk);
                while (read.step()) {
                    Change change;
                    change.seq = Seq::from_number(static_cast<std::uint64_t>(read.integer(0)));
                    change.id = read.text(1);
                    if ((filter.by_ids && filter.ids.count(change.id) == 0) ||
                        (filter.design_only && change.id.rfind("_design/", 0) != 0)) {
                        position = read.integer(0);
                        continue;
                    }
                    change.revs = {read.text(2)};
                    change.deleted = read.integer(3) != 0;
                    if (query.style == ChangesStyle::all_docs) {
                        // Every leaf, the winner first, as CouchDB lists them for replicators.
                        for (auto& leaf : leaves_of(change.id)) {
                            if (leaf.rev != change.revs.front()) {
                                change.revs.push_back(std::move(leaf.rev));
                            }
                        }
                    }
                    if (query.include_docs || filter.needs_doc()) {
                        change.doc = stored_doc_text(change.id, change.revs.front(), change.deleted,
                                                     read.text_view(4));
                    }
                    rows.push_back(std::move(change));
                }
                read.reset();
            }
            if (rows.empty()) {
                break;
            }
            // Design-doc functions run outside the lock: other threads keep using the store.
            std::vector<bool> passes(rows.size(), true);
            if (filter.selector) {
                for (std::size_t i = 0; i < rows.size(); ++i) {
                    passes[i] = filter.selector->matches(rows[i].doc->parse());
                }
            } else if (filter.function) {
                std::vector<nlohmann::json> parsed;
                parsed.reserve(rows.size());
                std::vector<const nlohmann::json*> docs;
                for (const auto& row : rows) {
                    docs.push_back(&parsed.emplace_back(row.doc->parse()));
                }
                const auto outcomes = m_engine->filter(*filter.function, filter.request, docs);
                for (std::size_t i = 0; i < rows.size(); ++i) {
                    passes[i] = outcomes[i].passed;
                    if (!outcomes[i].error.empty()) {
                        // As CouchDB 3 does, the request fails (500), and so will every request
                        // that reaches this doc until the filter or the doc is fixed. CouchDB
                        // says only {"error":"Error","reason":"{[]}"}; this names both.
                        throw HttpError(action + ": filter " + *query.filter + " threw on doc " +
                                            rows[i].id + ": " + outcomes[i].error,
                                        500, "Error", outcomes[i].error);
                    }
                }
            }
            for (std::size_t i = 0; i < rows.size() && !limit_reached; ++i) {
                position = std::stoll(rows[i].seq.json());
                if (!passes[i]) {
                    continue;
                }
                if (!query.include_docs) {
                    rows[i].doc.reset();
                }
                handler.on_change(std::move(rows[i]));
                ++delivered;
                limit_reached = query.limit && delivered >= wanted;
            }
            if (limit_reached || rows.size() < static_cast<std::size_t>(feed_chunk)) {
                break;
            }
        }
        const bool answered = query.feed == Feed::normal ||
                              (query.feed == Feed::longpoll && delivered > 0) || limit_reached;
        if (answered) {
            FeedEnd end{Seq::from_number(static_cast<std::uint64_t>(position)), std::nullopt};
            if (!limit_reached) {
                // Read to the end: nothing is left. After a limit the count would cost a walk of
                // the seq index (a second on a long backlog, at every page), so it is left out,
                // as servers before CouchDB 2 leave it out.
                end.pending = 0;
            }
            return end;
        }
        // Wait for a write, in slices, so that a stop request, a heartbeat and the timeout are
        // all noticed in time.
        for (;;) {
            if (!handler.keep_going()) {
                return std::nullopt;
            }
            const auto now = Clock::now();
            if (query.timeout && now - started >= *query.timeout) {
                return FeedEnd{Seq::from_number(static_cast<std::uint64_t>(position)), 0};
            }
            if (query.heartbeat.count() > 0 && now - last_beat >= query.heartbeat) {
                handler.on_activity(); // the embedded feed's heartbeat: it is alive
                last_beat = now;
            }
            const bool settling = recheck.count() > 0;
            if ((*watch)->wait(settling ? recheck : std::chrono::milliseconds(100))) {
                recheck = std::chrono::milliseconds(1);
                break;
            }
            if (settling) {
                recheck = recheck * 2 > std::chrono::milliseconds(128)
                              ? std::chrono::milliseconds(0)
                              : recheck * 2;
                break;
            }
        }
    }
}

} // namespace edw
