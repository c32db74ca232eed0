// SqliteDatabase's revision tree: each doc's revisions with their parents, the winner CouchDB
// would pick, and what replication reads and writes (`_revs_diff`, `_bulk_get`, `new_edits=false`).
#include "sqlite_connection.hpp"
#include "sqlite_database.hpp"

#include <edw/util/error.hpp>

#include <algorithm>

namespace edw {
namespace {

// Deeper histories are cut, as CouchDB's default `_revs_limit` cuts them.
constexpr int revs_limit = 1000;

nlohmann::json doc_from(const std::string& id, const std::string& rev, bool deleted,
                        const std::string& body)
{
    auto doc = deleted ? nlohmann::json::object() : nlohmann::json::parse(body);
    doc["_id"] = id;
    doc["_rev"] = rev;
    if (deleted) {
        doc["_deleted"] = true;
    }
    return doc;
}

// CouchDB lists the losing leaves in the order it ranks them: highest generation, then hash.
bool ranks_higher(const std::string& left, const std::string& right)
{
    const auto a = parse_revision(left);
    const auto b = parse_revision(right);
    return std::tie(a.generation, a.hash) > std::tie(b.generation, b.hash);
}

} // namespace

// `body` holds the bodies of leaves that do not win (the winner's is in `docs`, and CouchDB
// keeps no bodies of replaced revisions once compacted). The primary key finds a doc's rows.
void create_revision_tree(SqliteConnection& connection)
{
    connection.execute("CREATE TABLE IF NOT EXISTS revs (doc_id TEXT NOT NULL, rev TEXT NOT "
                       "NULL, parent TEXT, deleted INTEGER NOT NULL, leaf INTEGER NOT NULL, body "
                       "TEXT, PRIMARY KEY (doc_id, rev)) WITHOUT ROWID");
}

bool SqliteDatabase::is_leaf(const std::string& id, const std::string& rev)
{
    auto& read = m_connection->statement("SELECT leaf FROM revs WHERE doc_id = ? AND rev = ?");
    const bool leaf = read.bind(1, id).bind(2, rev).step() && read.integer(0) != 0;
    read.reset();
    return leaf;
}

void SqliteDatabase::add_revision(const std::string& id, const std::string& rev,
                                  const std::string& parent, bool deleted)
{
    auto& insert = m_connection->statement(
        "INSERT INTO revs (doc_id, rev, parent, deleted, leaf, body) VALUES (?, ?, ?, ?, 1, NULL)");
    insert.bind(1, id).bind(2, rev).bind(4, static_cast<std::int64_t>(deleted ? 1 : 0));
    if (!parent.empty()) {
        insert.bind(3, parent);
    }
    insert.run();
    if (!parent.empty()) {
        m_connection
            ->statement("UPDATE revs SET leaf = 0, body = NULL WHERE doc_id = ? AND rev = ?")
            .bind(1, id)
            .bind(2, parent)
            .run();
    }
}

void SqliteDatabase::store_winner(const std::string& id, const std::string& rev, bool deleted,
                                  const std::string& body)
{
    // Each write takes the next seq, whether or not the winner changed (a new conflict is a
    // change too); replacing the row keeps one entry per doc in the feed, as CouchDB's does.
    m_connection
        ->statement("INSERT OR REPLACE INTO docs (id, rev, deleted, body, seq) VALUES (?, ?, ?, "
                    "?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM docs))")
        .bind(1, id)
        .bind(2, rev)
        .bind(3, static_cast<std::int64_t>(deleted ? 1 : 0))
        .bind(4, deleted ? std::string("{}") : body)
        .run();
    if (deleted && id.rfind("_design/", 0) == 0) {
        // A deleted design doc's indexes would never be read again; CouchDB's view cleanup.
        m_connection->statement("DELETE FROM view_rows WHERE ddoc = ?").bind(1, id).run();
        m_connection->statement("DELETE FROM view_indexes WHERE ddoc = ?").bind(1, id).run();
    }
}

std::vector<Leaf> SqliteDatabase::leaves_of(const std::string& id)
{
    auto& read =
        m_connection->statement("SELECT rev, deleted FROM revs WHERE doc_id = ? AND leaf = 1");
    read.bind(1, id);
    std::vector<Leaf> leaves;
    while (read.step()) {
        leaves.push_back(Leaf{read.text(0), read.integer(1) != 0});
    }
    read.reset();
    return leaves;
}

// After a write's revisions are in the tree: the winner goes to `docs` with its body, and the
// leaves that lost keep theirs in `revs`.
void SqliteDatabase::settle_winner(const std::string& id, const StoredDoc* before,
                                   const std::string& added, bool added_deleted,
                                   const std::string& added_body)
{
    const auto leaves = leaves_of(id);
    const auto& winner = leaves[winning_leaf(leaves)];
    const bool before_is_leaf =
        before != nullptr && std::any_of(leaves.begin(), leaves.end(),
                                         [&](const Leaf& leaf) { return leaf.rev == before->rev; });
    auto keep_body = [&](const std::string& rev, const std::string& body) {
        m_connection->statement("UPDATE revs SET body = ? WHERE doc_id = ? AND rev = ?")
            .bind(1, body)
            .bind(2, id)
            .bind(3, rev)
            .run();
    };
    std::string winner_body;
    if (winner.rev == added) {
        winner_body = added_body;
    } else if (before != nullptr && winner.rev == before->rev) {
        winner_body = before->body;
    } else {
        auto& read = m_connection->statement("SELECT body FROM revs WHERE doc_id = ? AND rev = ?");
        if (read.bind(1, id).bind(2, winner.rev).step()) {
            winner_body = read.text(0);
        }
        read.reset();
        m_connection->statement("UPDATE revs SET body = NULL WHERE doc_id = ? AND rev = ?")
            .bind(1, id)
            .bind(2, winner.rev)
            .run();
    }
    if (winner.rev != added) {
        keep_body(added, added_deleted ? std::string("{}") : added_body);
    }
    if (before_is_leaf && before->rev != winner.rev) {
        keep_body(before->rev, before->body);
    }
    store_winner(id, winner.rev, winner.deleted, winner_body.empty() ? "{}" : winner_body);
}

std::vector<std::string> SqliteDatabase::history_of(const std::string& id, const std::string& rev)
{
    auto& read = m_connection->statement(
        "WITH RECURSIVE path(rev, parent, depth) AS (SELECT rev, parent, 1 FROM revs WHERE doc_id "
        "= ?1 AND rev = ?2 UNION ALL SELECT r.rev, r.parent, p.depth + 1 FROM revs r JOIN path p "
        "ON r.doc_id = ?1 AND r.rev = p.parent WHERE p.depth < ?3) SELECT rev FROM path ORDER BY "
        "depth");
    read.bind(1, id).bind(2, rev).bind(3, static_cast<std::int64_t>(revs_limit));
    std::vector<std::string> path;
    while (read.step()) {
        path.push_back(read.text(0));
    }
    read.reset();
    return path;
}

std::optional<nlohmann::json> SqliteDatabase::get_with_history(std::string_view id)
{
    const std::lock_guard lock(m_mutex);
    auto& connection = open_existing();
    const std::string key(id);
    auto& read = connection.statement("SELECT rev, deleted, body FROM docs WHERE id = ?");
    if (!read.bind(1, key).step() || read.integer(1) != 0) {
        read.reset();
        return std::nullopt;
    }
    auto doc = doc_from(key, read.text(0), false, read.text(2));
    read.reset();
    const std::string rev = doc["_rev"];
    doc["_revisions"] = revisions_field(history_of(key, rev));
    std::vector<std::string> conflicts;
    for (const auto& leaf : leaves_of(key)) {
        if (!leaf.deleted && leaf.rev != rev) {
            conflicts.push_back(leaf.rev);
        }
    }
    if (!conflicts.empty()) {
        std::sort(conflicts.begin(), conflicts.end(), ranks_higher);
        doc["_conflicts"] = conflicts;
    }
    return doc;
}

std::map<std::string, RevsDiff>
SqliteDatabase::revs_diff(const std::map<std::string, std::vector<std::string>>& revs)
{
    const std::lock_guard lock(m_mutex);
    auto& connection = open_existing();
    std::map<std::string, RevsDiff> answer;
    auto& known = connection.statement("SELECT 1 FROM revs WHERE doc_id = ? AND rev = ?");
    for (const auto& [id, wanted] : revs) {
        RevsDiff diff;
        std::int64_t highest_missing = 0;
        for (const auto& rev : wanted) {
            const bool have = known.bind(1, id).bind(2, rev).step();
            known.reset();
            if (!have) {
                diff.missing.push_back(rev);
                try {
                    highest_missing = std::max(highest_missing, parse_revision(rev).generation);
                } catch (const JsonError&) {
                    // Not a revision id: missing, and no leaf can be its ancestor.
                }
            }
        }
        if (diff.missing.empty()) {
            continue;
        }
        for (const auto& leaf : leaves_of(id)) {
            if (parse_revision(leaf.rev).generation < highest_missing) {
                diff.possible_ancestors.push_back(leaf.rev);
            }
        }
        answer.emplace(id, std::move(diff));
    }
    return answer;
}

std::vector<RevisionRead> SqliteDatabase::bulk_get(const std::vector<RevisionRequest>& revisions)
{
    const std::lock_guard lock(m_mutex);
    auto& connection = open_existing();
    std::vector<RevisionRead> reads;
    reads.reserve(revisions.size());
    auto read_leaf = [&](const std::string& id, const std::string& rev) {
        RevisionRead answer{.id = id, .rev = rev, .doc = {}, .error = {}, .reason = {}};
        auto& winner = connection.statement("SELECT rev, deleted, body FROM docs WHERE id = ?");
        if (winner.bind(1, id).step() && winner.text(0) == rev) {
            answer.doc = doc_from(id, rev, winner.integer(1) != 0, winner.text(2));
        }
        winner.reset();
        if (!answer.doc) {
            auto& other =
                connection.statement("SELECT deleted, body FROM revs WHERE doc_id = ? AND rev = ?");
            if (other.bind(1, id).bind(2, rev).step()) {
                answer.doc = doc_from(id, rev, other.integer(0) != 0, other.text(1));
            }
            other.reset();
        }
        (*answer.doc)["_revisions"] = revisions_field(history_of(id, rev));
        reads.push_back(std::move(answer));
    };
    for (const auto& request : revisions) {
        auto& look = connection.statement("SELECT leaf FROM revs WHERE doc_id = ? AND rev = ?");
        const bool found = look.bind(1, request.id).bind(2, request.rev).step();
        const bool leaf = found && look.integer(0) != 0;
        look.reset();
        if (!found) {
            reads.push_back(RevisionRead{.id = request.id,
                                         .rev = request.rev,
                                         .doc = {},
                                         .error = "not_found",
                                         .reason = "missing"});
        } else if (leaf) {
            read_leaf(request.id, request.rev);
        } else {
            // Replaced since it was asked for (`latest=true`): the leaves that descend from it.
            for (const auto& other : leaves_of(request.id)) {
                const auto path = history_of(request.id, other.rev);
                if (std::find(path.begin(), path.end(), request.rev) != path.end()) {
                    read_leaf(request.id, other.rev);
                }
            }
        }
    }
    return reads;
}

// One replicated revision inside the caller's transaction: its missing ancestors and itself go
// into the tree below the deepest one already there (or as a new root: a conflict), and the
// winner is chosen again.
BulkResult SqliteDatabase::write_replicated(const nlohmann::json& doc)
{
    const auto id_field = doc.is_object() ? doc.find("_id") : doc.end();
    if (!doc.is_object() || id_field == doc.end() || !id_field->is_string()) {
        return BulkResult{.id = {},
                          .rev = {},
                          .error = "bad_request",
                          .reason = "Document must have a string _id"};
    }
    const std::string id = id_field->get<std::string>();
    if (auto refused = refused_fields(doc, id)) {
        return *refused;
    }
    if (id.rfind("_local/", 0) == 0) {
        return write_one(doc, true);
    }
    std::vector<std::string> path;
    try {
        path = revision_path(doc);
    } catch (const JsonError& error) {
        return BulkResult{.id = id, .rev = {}, .error = "bad_request", .reason = error.what()};
    }
    const bool deleting = doc.value("_deleted", false);
    const std::string text = deleting ? std::string("{}") : stored_body(doc);
    check_document_size(text, id, describe());

    auto& known = m_connection->statement("SELECT 1 FROM revs WHERE doc_id = ? AND rev = ?");
    std::size_t first_known = path.size();
    for (std::size_t i = 0; i < path.size(); ++i) {
        const bool have = known.bind(1, id).bind(2, path[i]).step();
        known.reset();
        if (have) {
            first_known = i;
            break;
        }
    }
    BulkResult result{.id = id, .rev = path.front(), .error = {}, .reason = {}};
    if (first_known == 0) {
        return result; // already stored: replication writes each revision once
    }
    std::optional<StoredDoc> before;
    auto& read = m_connection->statement("SELECT rev, deleted, body FROM docs WHERE id = ?");
    if (read.bind(1, id).step()) {
        before = StoredDoc{read.text(0), read.integer(1) != 0, read.text(2)};
    }
    read.reset();
    // Oldest first, so that each revision's parent is in the tree when it is added.
    for (std::size_t i = first_known; i-- > 0;) {
        const std::string parent = i + 1 < path.size() ? path[i + 1] : std::string();
        add_revision(id, path[i], parent, i == 0 && deleting); // its parent is no leaf now
    }
    settle_winner(id, before ? &*before : nullptr, path.front(), deleting, text);
    return result;
}

std::vector<BulkResult>
SqliteDatabase::bulk_save_replicated(const std::vector<nlohmann::json>& docs)
{
    std::vector<BulkResult> rejected(docs.size());
    check_designs(docs, rejected);
    const std::lock_guard lock(m_mutex);
    auto& connection = open_existing();
    std::vector<BulkResult> failures;
    WriteTransaction transaction(connection);
    for (std::size_t i = 0; i < docs.size(); ++i) {
        auto result = rejected[i].error.empty() ? write_replicated(docs[i]) : rejected[i];
        if (!result.ok()) {
            failures.push_back(std::move(result));
        }
    }
    transaction.commit();
    return failures;
}

} // namespace edw
