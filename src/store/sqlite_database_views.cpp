// SqliteDatabase views: design docs compiled in the JavaScript engine, view indexes kept in the
// store and brought up to date from its feed, and view queries with CouchDB's options.
#include "sqlite_connection.hpp"
#include "sqlite_database.hpp"
#include "view_groups.hpp"
#include "view_reduce.hpp"

#include <edw/db/collation.hpp>
#include <edw/util/error.hpp>
#include <edw/util/log.hpp>
#include <edw/util/md5.hpp>

#include <unicode/uversion.h>

namespace edw {
namespace {

// Docs mapped per round trip to the engine and per write transaction: large enough to make the
// round trip cheap, small enough that other writers wait only briefly for the lock.
constexpr std::int64_t index_batch = 500;

HttpError not_found(const std::string& what, const std::string& reason)
{
    return HttpError(what + ": HTTP 404 not_found: " + reason, 404, "not_found", reason);
}

HttpError bad_request(const std::string& what, const std::string& error, const std::string& reason)
{
    return HttpError(what + ": HTTP 400 " + error + ": " + reason, 400, error, reason);
}

const std::string& after_everything()
{
    static const std::string bytes(1, '\xFF'); // above every sort key's first byte
    return bytes;
}

} // namespace

struct SqliteDatabase::Design {
    std::string id; ///< "_design/name"
    std::string signature;
    std::vector<std::string> views;
    std::vector<int> maps; ///< Engine function ids, by view.
    std::vector<std::optional<BuiltinReduce>> reduces;

    /// Whether view `index` keeps its reductions (ViewGroups): `_count` and `_sum`.
    [[nodiscard]] bool keeps_groups_of(std::size_t index) const
    {
        return index < reduces.size() && reduces[index] &&
               (*reduces[index] == BuiltinReduce::count || *reduces[index] == BuiltinReduce::sum);
    }
    [[nodiscard]] bool keeps_groups_of(const std::string& view) const
    {
        const auto found = std::find(views.begin(), views.end(), view);
        return found != views.end() &&
               keeps_groups_of(static_cast<std::size_t>(found - views.begin()));
    }
    [[nodiscard]] bool keeps_groups() const
    {
        for (std::size_t index = 0; index < views.size(); ++index) {
            if (keeps_groups_of(index)) {
                return true;
            }
        }
        return false;
    }
};

// Compiles every function of a design doc. Throws HttpError 400 invalid_design_doc naming the
// function and the engine's reason.
void SqliteDatabase::check_design(const nlohmann::json& doc)
{
    const std::string id = doc.value("_id", std::string());
    const auto invalid = [&](const std::string& reason) {
        return bad_request("cannot save " + id + " to " + describe(), "invalid_design_doc", reason);
    };
    const std::string language = doc.value("language", std::string("javascript"));
    if (language != "javascript") {
        throw invalid("the embedded store runs only javascript design docs, not " + language);
    }
    const auto compile = [&](const nlohmann::json& source, const std::string& where) {
        if (!source.is_string()) {
            throw invalid(where + " must be a string of JavaScript");
        }
        try {
            m_engine->compile(source.get<std::string>());
        } catch (const JsonError& error) {
            // CouchDB's own token for this refusal.
            throw bad_request("cannot save " + id + " to " + describe(), "compilation_error",
                              where + " failed: " + error.what());
        }
    };
    if (doc.contains("views")) {
        if (!doc["views"].is_object()) {
            throw invalid("views must be an object");
        }
        for (const auto& [name, view] : doc["views"].items()) {
            if (!view.is_object() || !view.contains("map")) {
                throw invalid("views." + name + " has no map function");
            }
            // CouchDB's words for it, which name the view.
            compile(view["map"], "Compilation of the map function in the '" + name + "' view");
            if (view.contains("reduce")) {
                if (!view["reduce"].is_string() ||
                    !parse_builtin_reduce(view["reduce"].get<std::string>())) {
                    throw invalid("views." + name +
                                  ".reduce: the embedded store runs the built-in reduces "
                                  "_count, _sum and _stats, not JavaScript ones");
                }
            }
        }
    }
    for (const char* section : {"filters", "validate_doc_update"}) {
        if (!doc.contains(section)) {
            continue;
        }
        if (std::string(section) == "validate_doc_update") {
            compile(doc[section], "Compilation of validate_doc_update");
            continue;
        }
        if (!doc[section].is_object()) {
            throw invalid(std::string(section) + " must be an object");
        }
        for (const auto& [name, source] : doc[section].items()) {
            compile(source, "Compilation of the filter function " + name);
        }
    }
}

SqliteDatabase::Design SqliteDatabase::load_design(std::string_view design)
{
    Design loaded;
    loaded.id = "_design/" + std::string(design);
    const auto doc = get(loaded.id);
    if (!doc) {
        throw not_found("cannot query " + loaded.id + " of " + describe(), "missing");
    }
    // The signature covers everything that decides the rows, ICU's version included: its sort
    // keys are what the index is ordered by.
    // "groups 1": indexes from before the kept reductions (view_groups) are built again.
    std::string signature_text = std::string("icu ") + U_ICU_VERSION + "\ngroups 1\n";
    if (doc->contains("views") && (*doc)["views"].is_object()) {
        for (const auto& [name, view] : (*doc)["views"].items()) {
            if (!view.is_object() || !view.contains("map") || !view["map"].is_string()) {
                continue;
            }
            const auto source = view["map"].get<std::string>();
            loaded.views.push_back(name);
            try {
                loaded.maps.push_back(m_engine->compile(source));
            } catch (const JsonError& error) {
                throw bad_request("cannot query " + loaded.id + " of " + describe(),
                                  "invalid_design_doc",
                                  "views." + name + ".map does not compile: " + error.what());
            }
            loaded.reduces.push_back(view.contains("reduce") && view["reduce"].is_string()
                                         ? parse_builtin_reduce(view["reduce"].get<std::string>())
                                         : std::nullopt);
            if (view.contains("reduce") && !loaded.reduces.back()) {
                throw bad_request("cannot query " + loaded.id + " of " + describe(),
                                  "invalid_design_doc",
                                  "views." + name +
                                      ".reduce: the embedded store runs only _count, _sum and "
                                      "_stats");
            }
            signature_text += name + "\n" + source + "\n";
        }
    }
    loaded.signature = md5_hex(signature_text);
    return loaded;
}

void SqliteDatabase::update_view_index(const Design& design)
{
    struct Pending {
        std::string id;
        bool deleted = false;
        nlohmann::json doc;
    };
    // As CouchDB does, the index is brought up to the database's seq when the query starts, not
    // beyond: on a busy store, chasing writes made meanwhile would keep the query going, and its
    // mapping competing with the writers, for as long as they write.
    std::int64_t target = 0;
    {
        const std::lock_guard lock(m_mutex);
        auto& newest = open_existing().statement("SELECT COALESCE(MAX(seq), 0) FROM docs");
        newest.step();
        target = newest.integer(0);
        newest.reset();
    }
    for (;;) {
        std::int64_t from = 0;
        std::int64_t to = 0;
        std::vector<Pending> batch;
        {
            const std::lock_guard lock(m_mutex);
            auto& connection = open_existing();
            auto& state =
                connection.statement("SELECT signature, seq FROM view_indexes WHERE ddoc = ?");
            state.bind(1, design.id);
            const bool known = state.step();
            const bool current = known && state.text(0) == design.signature;
            from = current ? state.integer(1) : 0;
            state.reset();
            if (!current) {
                WriteTransaction rebuild(connection);
                connection.statement("DELETE FROM view_rows WHERE ddoc = ?")
                    .bind(1, design.id)
                    .run();
                ViewGroups::clear(connection, design.id);
                connection.statement("INSERT OR REPLACE INTO view_indexes VALUES (?, ?, 0)")
                    .bind(1, design.id)
                    .bind(2, design.signature)
                    .run();
                rebuild.commit();
            }
            auto& read = connection.statement(
                "SELECT seq, id, rev, deleted, body FROM docs WHERE seq > ? AND seq <= ? ORDER BY "
                "seq LIMIT ?");
            read.bind(1, from).bind(2, target).bind(3, index_batch);
            while (read.step()) {
                Pending pending;
                to = read.integer(0);
                pending.id = read.text(1);
                pending.deleted = read.integer(3) != 0;
                if (!pending.deleted && pending.id.rfind("_design/", 0) != 0) {
                    pending.doc = nlohmann::json::parse(read.text(4));
                    pending.doc["_id"] = pending.id;
                    pending.doc["_rev"] = read.text(2);
                }
                batch.push_back(std::move(pending));
            }
            read.reset();
        }
        if (batch.empty()) {
            return;
        }
        // Map outside the lock: other threads keep using the store meanwhile.
        std::vector<const nlohmann::json*> docs;
        std::vector<std::size_t> mapped_at(batch.size(), SIZE_MAX);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (!batch[i].doc.is_null()) {
                mapped_at[i] = docs.size();
                docs.push_back(&batch[i].doc);
            }
        }
        const auto outcomes = docs.empty() || design.maps.empty()
                                  ? std::vector<std::vector<MapOutcome>>()
                                  : m_engine->map(design.maps, docs);

        const std::lock_guard lock(m_mutex);
        auto& connection = open_existing();
        WriteTransaction write(connection);
        // Another process or thread may have indexed this range meanwhile; then start over.
        auto& state =
            connection.statement("SELECT signature, seq FROM view_indexes WHERE ddoc = ?");
        state.bind(1, design.id);
        const bool unchanged =
            state.step() && state.text(0) == design.signature && state.integer(1) == from;
        state.reset();
        if (!unchanged) {
            continue;
        }
        auto& remove = connection.statement("DELETE FROM view_rows WHERE ddoc = ? AND doc_id = ?");
        auto& insert = connection.statement("INSERT INTO view_rows VALUES (?, ?, ?, ?, ?, ?, ?)");
        auto& previous =
            connection.statement("SELECT view, key, value FROM view_rows WHERE ddoc = ? AND "
                                 "doc_id = ?");
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (design.keeps_groups()) {
                // The doc's rows leave their groups before they leave the index.
                previous.bind(1, design.id).bind(2, batch[i].id);
                while (previous.step()) {
                    const std::string view = previous.text(0);
                    if (design.keeps_groups_of(view)) {
                        ViewGroups::apply(connection, design.id, view,
                                          nlohmann::json::parse(previous.text_view(1)),
                                          nlohmann::json::parse(previous.text_view(2)), -1);
                    }
                }
                previous.reset();
            }
            remove.bind(1, design.id).bind(2, batch[i].id).run();
            if (mapped_at[i] == SIZE_MAX || outcomes.empty()) {
                continue;
            }
            const std::string id_order = sort_key(nlohmann::json(batch[i].id));
            const auto& per_view = outcomes[mapped_at[i]];
            for (std::size_t v = 0; v < per_view.size() && v < design.views.size(); ++v) {
                if (!per_view[v].error.empty()) {
                    // As CouchDB does: the doc is left out of this view, the rest goes on.
                    log_warning("the map function of " + design.id + " view " + design.views[v] +
                                " threw on doc " + batch[i].id +
                                ", which is left out of that view: " + per_view[v].error);
                    continue;
                }
                for (const auto& [key, value] : per_view[v].rows) {
                    insert.bind(1, design.id)
                        .bind(2, design.views[v])
                        .bind_blob(3, sort_key(key))
                        .bind_blob(4, id_order)
                        .bind(5, batch[i].id)
                        .bind(6, key.dump())
                        .bind(7, value.dump())
                        .run();
                    if (design.keeps_groups_of(v)) {
                        ViewGroups::apply(connection, design.id, design.views[v], key, value, 1);
                    }
                }
            }
        }
        connection.statement("UPDATE view_indexes SET seq = ? WHERE ddoc = ?")
            .bind(1, to)
            .bind(2, design.id)
            .run();
        write.commit();
    }
}

ViewResult SqliteDatabase::query(std::string_view design, std::string_view view,
                                 const ViewQuery& query)
{
    const auto loaded = load_design(design);
    std::size_t index = 0;
    while (index < loaded.views.size() && loaded.views[index] != view) {
        ++index;
    }
    if (index == loaded.views.size()) {
        throw not_found("cannot query " + loaded.id + "/_view/" + std::string(view) + " of " +
                            describe(),
                        "missing_named_view");
    }
    // update=false, as on CouchDB: the index as it is, which is what lets a reader make several
    // queries see one state of the database.
    if (query.update) {
        update_view_index(loaded);
    }
    return read_view(loaded, index, query);
}

ViewResult SqliteDatabase::read_view(const Design& design, std::size_t index,
                                     const ViewQuery& query)
{
    const std::string& view = design.views[index];
    const auto reduce_function = design.reduces[index];
    const bool reducing = reduce_function && query.reduce.value_or(true);
    const std::string what = "cannot query " + design.id + "/_view/" + view + " of " + describe();
    if (!reduce_function && (query.reduce.value_or(false) || query.group || query.group_level)) {
        throw bad_request(what, "query_parse_error",
                          "Reduce is invalid for map-only views, and so is grouping.");
    }
    if (reducing && query.include_docs) {
        throw bad_request(what, "query_parse_error",
                          "`include_docs` is invalid for reduce (set reduce=false)");
    }
    if (reducing && query.keys && !query.group && !query.group_level) {
        throw bad_request(what, "query_parse_error",
                          "Multi-key fetches for reduce views must use `group=true`");
    }

    // The scan, as bounds on (key_order, id_order); descending swaps which end start* names.
    struct Bound {
        std::string key;
        std::string id;
        const char* op;
    };
    std::vector<Bound> bounds;
    const auto start = query.key ? query.key : query.startkey;
    const auto end = query.key ? query.key : query.endkey;
    const bool inclusive_end = query.key ? true : query.inclusive_end;
    const auto id_order = [](const std::optional<std::string>& id, const std::string& otherwise) {
        return id ? sort_key(nlohmann::json(*id)) : otherwise;
    };
    if (start) {
        bounds.push_back(
            query.descending
                ? Bound{sort_key(*start), id_order(query.startkey_docid, after_everything()), "<="}
                : Bound{sort_key(*start), id_order(query.startkey_docid, std::string()), ">="});
    }
    if (end) {
        const std::string end_key = sort_key(*end);
        if (query.descending) {
            bounds.push_back(
                inclusive_end
                    ? Bound{end_key, id_order(query.endkey_docid, std::string()), ">="}
                    : Bound{end_key, id_order(query.endkey_docid, after_everything()), ">"});
        } else {
            bounds.push_back(
                inclusive_end
                    ? Bound{end_key, id_order(query.endkey_docid, after_everything()), "<="}
                    : Bound{end_key, id_order(query.endkey_docid, std::string()), "<"});
        }
    }

    const std::lock_guard lock(m_mutex);
    auto& connection = open_existing();
    ViewResult result;
    if (reducing) {
        if (auto kept = ViewGroups::read(connection, design.id, view, *reduce_function, query)) {
            result.rows = std::move(*kept);
            return result;
        }
    } else {
        auto& total =
            connection.statement("SELECT COUNT(*) FROM view_rows WHERE ddoc = ? AND view = ?");
        total.bind(1, design.id).bind(2, view).step();
        result.total_rows = static_cast<std::uint64_t>(total.integer(0));
        total.reset();
    }

    const char* direction = query.descending ? " DESC" : "";
    const std::string order = std::string(" ORDER BY key_order") + direction + ", id_order" +
                              direction + ", rowid" + direction;
    // Reads the rows of one scan: the whole range, or one key of a `keys` query.
    const auto scan = [&](const std::vector<Bound>& scan_bounds, bool paged, auto&& each) {
        std::string sql = "SELECT doc_id, key, value FROM view_rows WHERE ddoc = ?1 AND view = ?2";
        int parameter = 3;
        for (const auto& bound : scan_bounds) {
            sql += " AND (key_order, id_order) " + std::string(bound.op) + " (?" +
                   std::to_string(parameter) + ", ?" + std::to_string(parameter + 1) + ")";
            parameter += 2;
        }
        sql += order;
        if (paged) {
            sql += " LIMIT ?" + std::to_string(parameter) + " OFFSET ?" +
                   std::to_string(parameter + 1);
        }
        auto& read = connection.statement(sql);
        read.bind(1, design.id).bind(2, view);
        parameter = 3;
        for (const auto& bound : scan_bounds) {
            read.bind_blob(parameter, bound.key).bind_blob(parameter + 1, bound.id);
            parameter += 2;
        }
        if (paged) {
            read.bind(parameter,
                      query.limit ? static_cast<std::int64_t>(*query.limit) : std::int64_t{-1});
            read.bind(parameter + 1, static_cast<std::int64_t>(query.skip));
        }
        while (read.step()) {
            each(read.text(0), read.text(1), read.text(2));
        }
        read.reset();
    };

    std::vector<std::vector<Bound>> scans;
    if (query.keys) {
        for (const auto& key : *query.keys) {
            const std::string key_order = sort_key(key);
            scans.push_back({Bound{key_order, std::string(), ">="},
                             Bound{key_order, after_everything(), "<="}});
        }
    } else {
        scans.push_back(bounds);
    }

    if (!reducing) {
        for (const auto& scan_bounds : scans) {
            // A `keys` query pages over all keys' rows together, so only a range query pages in
            // SQL.
            scan(scan_bounds, !query.keys,
                 [&](std::string id, const std::string& key, const std::string& value) {
                     result.rows.push_back(ViewRow{.id = std::move(id),
                                                   .key = nlohmann::json::parse(key),
                                                   .value = nlohmann::json::parse(value),
                                                   .doc = {}});
                 });
        }
        if (query.keys) {
            const auto skip = std::min<std::size_t>(query.skip, result.rows.size());
            result.rows.erase(result.rows.begin(), result.rows.begin() + static_cast<long>(skip));
            if (query.limit && result.rows.size() > *query.limit) {
                result.rows.resize(*query.limit);
            }
        }
        result.offset = query.skip;
        if (!query.keys && start) {
            // Rows before the range's first one, as CouchDB's offset counts them.
            auto& before = connection.statement(
                query.descending ? "SELECT COUNT(*) FROM view_rows WHERE ddoc = ? AND view = ? "
                                   "AND (key_order, id_order) > (?, ?)"
                                 : "SELECT COUNT(*) FROM view_rows WHERE ddoc = ? AND view = ? "
                                   "AND (key_order, id_order) < (?, ?)");
            before.bind(1, design.id)
                .bind(2, view)
                .bind_blob(3, bounds.front().key)
                .bind_blob(4, bounds.front().id);
            before.step();
            result.offset = static_cast<std::uint64_t>(before.integer(0)) + query.skip;
            before.reset();
        }
        if (query.include_docs) {
            for (auto& row : result.rows) {
                // A value {"_id": ...} links the row to another doc, as in CouchDB.
                const std::string linked = row.value.is_object() && row.value.contains("_id") &&
                                                   row.value["_id"].is_string()
                                               ? row.value["_id"].get<std::string>()
                                               : row.id;
                auto& read =
                    connection.statement("SELECT rev, body FROM docs WHERE id = ? AND deleted = 0");
                read.bind(1, linked);
                if (read.step()) {
                    auto doc = nlohmann::json::parse(read.text(1));
                    doc["_id"] = linked;
                    doc["_rev"] = read.text(0);
                    row.doc = std::move(doc);
                } else {
                    row.doc = nlohmann::json(nullptr);
                }
                read.reset();
            }
        }
        return result;
    }

    // Reduced: rows fold into groups in key order; skip and limit count groups.
    const bool grouping = query.group || query.group_level.has_value();
    std::vector<ViewRow> groups;
    for (const auto& scan_bounds : scans) {
        std::optional<nlohmann::json> current;
        std::optional<Reducer> reducer;
        const auto close = [&] {
            if (reducer) {
                groups.push_back(
                    ViewRow{.id = {}, .key = *current, .value = reducer->result(), .doc = {}});
            }
        };
        scan(scan_bounds, false,
             [&](const std::string&, const std::string& key, const std::string& value) {
                 auto grouped = group_key(nlohmann::json::parse(key), grouping && query.group,
                                          query.group_level);
                 if (!current || collate(*current, grouped) != 0) {
                     close();
                     current = std::move(grouped);
                     reducer.emplace(*reduce_function);
                 }
                 reducer->add(nlohmann::json::parse(value));
             });
        close();
    }
    const auto skip = std::min<std::size_t>(query.skip, groups.size());
    groups.erase(groups.begin(), groups.begin() + static_cast<long>(skip));
    if (query.limit && groups.size() > *query.limit) {
        groups.resize(*query.limit);
    }
    result.rows = std::move(groups);
    result.total_rows.reset();
    return result;
}

} // namespace edw
