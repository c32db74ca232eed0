// edw.open(): a Database for scripts, on either backend; edw.status() and edw.metadata_make().
// Python values are converted with the GIL held; requests run with it released.
#include "python_bindings.hpp"
#include "python_json.hpp"

#include <edw/app/open_database.hpp>
#include <edw/db/database.hpp>
#include <edw/status/pipeline_status.hpp>
#include <edw/util/error.hpp>
#include <edw/util/settings.hpp>
#include <edw/workflow/metadata.hpp>

#include <pybind11/stl.h>

#include <chrono>
#include <memory>
#include <optional>

namespace py = pybind11;

namespace edw::python {
namespace {

/// The database a settings file names, and those settings (for the design doc's name).
struct OpenDatabase {
    Settings settings;
    std::shared_ptr<Database> database;
};

OpenDatabase open_from(const std::optional<std::string>& config)
{
    OpenDatabase opened;
    opened.settings = load_settings(config.value_or(""), process_environment());
    opened.database = open_database(opened.settings);
    return opened;
}

Seq seq_of(const py::handle& since)
{
    if (py::isinstance<py::str>(since) && since.cast<std::string>() == "now") {
        return Seq::now();
    }
    return Seq::from_json(to_json(since, "since"));
}

// CouchDB's query options, named as in its API, from keyword arguments.
ViewQuery view_query(const py::kwargs& options)
{
    ViewQuery query;
    for (const auto& [key, value] : options) {
        const std::string name = key.cast<std::string>();
        if (name == "key") {
            query.key = to_json(value, name);
        } else if (name == "keys") {
            query.keys = to_json(value, name).get<std::vector<nlohmann::json>>();
        } else if (name == "startkey" || name == "start_key") {
            query.startkey = to_json(value, name);
        } else if (name == "endkey" || name == "end_key") {
            query.endkey = to_json(value, name);
        } else if (name == "startkey_docid") {
            query.startkey_docid = value.cast<std::string>();
        } else if (name == "endkey_docid") {
            query.endkey_docid = value.cast<std::string>();
        } else if (name == "inclusive_end") {
            query.inclusive_end = value.cast<bool>();
        } else if (name == "include_docs") {
            query.include_docs = value.cast<bool>();
        } else if (name == "descending") {
            query.descending = value.cast<bool>();
        } else if (name == "limit") {
            query.limit = value.cast<std::uint64_t>();
        } else if (name == "skip") {
            query.skip = value.cast<std::uint64_t>();
        } else if (name == "reduce") {
            query.reduce = value.cast<bool>();
        } else if (name == "group") {
            query.group = value.cast<bool>();
        } else if (name == "group_level") {
            query.group_level = value.cast<int>();
        } else if (name == "update") {
            query.update = value.cast<bool>();
        } else if (name == "stable") {
            query.stable = value.cast<bool>();
        } else {
            throw ConfigError("unknown query option " + name);
        }
    }
    return query;
}

nlohmann::json view_result_json(const ViewResult& result)
{
    nlohmann::json out = nlohmann::json::object();
    if (result.total_rows) {
        out["total_rows"] = *result.total_rows;
    }
    if (result.offset) {
        out["offset"] = *result.offset;
    }
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : result.rows) {
        nlohmann::json entry = {{"key", row.key}, {"value", row.value}};
        if (!row.id.empty()) {
            entry["id"] = row.id;
        }
        if (row.doc) {
            entry["doc"] = *row.doc;
        }
        rows.push_back(std::move(entry));
    }
    out["rows"] = std::move(rows);
    return out;
}

// Collects the rows of one _changes request, ending a longpoll at its deadline even on a
// server that does not honour `timeout` (pouchdb-server).
class ChangesCollector : public ChangesHandler {
public:
    explicit ChangesCollector(std::optional<std::chrono::steady_clock::time_point> deadline)
        : m_deadline(deadline)
    {}

    bool keep_going() override
    {
        return !m_deadline || std::chrono::steady_clock::now() < *m_deadline;
    }

    /// The seq of the last row read; nothing when none came.
    [[nodiscard]] const std::optional<Seq>& last_row_seq() const { return m_last_seq; }

    void on_change(Change&& change) override
    {
        m_last_seq = change.seq;
        nlohmann::json row = {{"seq", change.seq.to_json()}, {"id", change.id}};
        nlohmann::json revs = nlohmann::json::array();
        for (const auto& rev : change.revs) {
            revs.push_back({{"rev", rev}});
        }
        row["changes"] = std::move(revs);
        if (change.deleted) {
            row["deleted"] = true;
        }
        if (change.doc) {
            row["doc"] = change.doc->parse();
        }
        m_rows.push_back(std::move(row));
    }
    nlohmann::json take() { return std::move(m_rows); }

private:
    std::optional<std::chrono::steady_clock::time_point> m_deadline;
    std::optional<Seq> m_last_seq;
    nlohmann::json m_rows = nlohmann::json::array();
};

// Runs `request` with the GIL released, converting its answer once it is held again.
template <typename Request> py::object released(Request&& request)
{
    nlohmann::json answer;
    {
        const py::gil_scoped_release release;
        answer = request();
    }
    return to_python(answer);
}

class PythonDatabase {
public:
    explicit PythonDatabase(const std::optional<std::string>& config)
        : m_opened(open_from(config))
    {}

    [[nodiscard]] Database& database() const { return *m_opened.database; }
    [[nodiscard]] const Settings& settings() const { return m_opened.settings; }

    py::object get(const std::string& id)
    {
        std::optional<nlohmann::json> doc;
        {
            const py::gil_scoped_release release;
            doc = database().get(id);
        }
        return doc ? to_python(*doc) : py::none();
    }

    py::object put(const py::handle& doc)
    {
        const nlohmann::json body = to_json(doc, "the doc");
        if (!body.is_object() || !body.contains("_id") || !body["_id"].is_string()) {
            throw JsonError("put: the doc must be a dict with a string _id");
        }
        return released([&] {
            const SaveResult saved = database().save(body);
            if (saved.is_conflict()) {
                throw HttpError("put " + saved.id +
                                    ": conflict: the doc's _rev is not its "
                                    "latest revision (read it again)",
                                409, "conflict", "Document update conflict.");
            }
            return nlohmann::json{{"ok", true}, {"id", saved.id}, {"rev", saved.rev}};
        });
    }

    py::object remove(const std::string& id, const std::string& rev)
    {
        return released([&] {
            const SaveResult saved = database().remove(id, rev);
            if (saved.is_conflict()) {
                throw HttpError("delete " + id + ": conflict: " + rev +
                                    " is not the doc's latest revision",
                                409, "conflict", "Document update conflict.");
            }
            return nlohmann::json{{"ok", true}, {"id", saved.id}, {"rev", saved.rev}};
        });
    }

    py::object bulk(const py::handle& docs)
    {
        const nlohmann::json list = to_json(docs, "the docs");
        if (!list.is_array()) {
            throw JsonError("bulk: give a list of docs");
        }
        const std::vector<nlohmann::json> batch = list.get<std::vector<nlohmann::json>>();
        return released([&] {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& result : database().bulk_save(batch)) {
                if (result.ok()) {
                    out.push_back({{"ok", true}, {"id", result.id}, {"rev", result.rev}});
                } else {
                    out.push_back(
                        {{"id", result.id}, {"error", result.error}, {"reason", result.reason}});
                }
            }
            return out;
        });
    }

    py::object all_docs(const py::kwargs& options)
    {
        const ViewQuery query = view_query(options);
        return released([&] { return view_result_json(database().all_docs(query)); });
    }

    py::object view(const std::string& design, const std::string& name, const py::kwargs& options)
    {
        const ViewQuery query = view_query(options);
        return released([&] { return view_result_json(database().query(design, name, query)); });
    }

    py::object changes(const py::handle& since, std::optional<std::uint64_t> limit,
                       bool include_docs, const py::handle& selector,
                       std::optional<std::string> filter, std::optional<double> timeout)
    {
        ChangesQuery query;
        query.since = seq_of(since);
        query.limit = limit;
        query.include_docs = include_docs;
        if (!selector.is_none()) {
            query.selector = to_json(selector, "the selector");
            query.filter = "_selector";
        }
        query.filter = filter ? filter : query.filter;
        if (timeout) {
            // A longpoll: wait up to `timeout` seconds for a first change.
            query.feed = Feed::longpoll;
            query.timeout = std::chrono::milliseconds(static_cast<long>(*timeout * 1000));
        }
        return released([&] {
            // A second past the server's own timeout, the request is ended here.
            ChangesCollector rows(timeout ? std::optional(std::chrono::steady_clock::now() +
                                                          *query.timeout + std::chrono::seconds(1))
                                          : std::nullopt);
            const auto end = database().changes(query, rows);
            nlohmann::json out = {{"results", rows.take()}};
            if (end) {
                out["last_seq"] = end->last_seq.to_json();
                if (end->pending) {
                    out["pending"] = *end->pending;
                }
            } else {
                // Ended here: the feed stands at its last row, or where it was asked from.
                out["last_seq"] = rows.last_row_seq().value_or(query.since).to_json();
            }
            return out;
        });
    }

    py::object info()
    {
        return released([&] { return database().info(); });
    }

    bool create()
    {
        const py::gil_scoped_release release;
        return database().create();
    }

private:
    OpenDatabase m_opened;
};

} // namespace

void bind_database(py::module_& module)
{
    py::class_<PythonDatabase>(module, "Database")
        .def(py::init<std::optional<std::string>>(), py::arg("config") = py::none(),
             "The database the settings file `config` (default ./edw.ini) names; EDW_* "
             "environment variables override it.")
        .def(
            "describe", [](const PythonDatabase& self) { return self.database().describe(); },
            "Where the database is, without credentials: http://host:5984/db or file:...")
        .def("info", &PythonDatabase::info, "GET /db: doc_count, update_seq, ...")
        .def("create", &PythonDatabase::create,
             "Creates the database; False when it already existed.")
        .def("get", &PythonDatabase::get, py::arg("id"),
             "The doc as a dict, or None when it is missing or deleted.")
        .def("put", &PythonDatabase::put, py::arg("doc"),
             "Writes a doc with an _id (and the _rev it replaces); {ok, id, rev}. Raises "
             "edw.Conflict when _rev is not the latest.")
        .def("delete", &PythonDatabase::remove, py::arg("id"), py::arg("rev"),
             "Deletes revision `rev` of a doc (a tombstone); raises edw.Conflict when it is not "
             "the latest.")
        .def("bulk", &PythonDatabase::bulk, py::arg("docs"),
             "_bulk_docs: one {ok, id, rev} or {id, error, reason} per doc, in order; each doc "
             "succeeds or fails on its own.")
        .def("all_docs", &PythonDatabase::all_docs,
             "_all_docs with CouchDB's options as keywords (startkey, endkey, limit, skip, "
             "include_docs, descending, keys, ...): {total_rows, offset, rows}.")
        .def("view", &PythonDatabase::view, py::arg("design"), py::arg("view"),
             "A view of _design/<design>, with CouchDB's options as keywords (key, startkey, "
             "endkey, reduce, group_level, include_docs, update, ...): {total_rows, offset, "
             "rows}.")
        .def("changes", &PythonDatabase::changes, py::arg("since") = 0,
             py::arg("limit") = py::none(), py::arg("include_docs") = false,
             py::arg("selector") = py::none(), py::arg("filter") = py::none(),
             py::arg("timeout") = py::none(),
             "One _changes request: {results, last_seq}. Seqs are opaque: pass last_seq back "
             "as `since` (0: the start, 'now': the end). `selector` filters with a Mango "
             "selector, `filter` names a design filter ('ddoc/name'); `timeout` (seconds) waits "
             "that long for a first change (a longpoll).")
        .def(
            "status",
            [](PythonDatabase& self) {
                return released([&] {
                    return to_json(read_pipeline_status(self.database(), self.settings().design,
                                                        std::chrono::system_clock::now()));
                });
            },
            "Where the docs are, per step: what `edw status --json` prints.")
        .def(
            "metadata_make",
            [](PythonDatabase& self, int count, std::optional<std::string> run, int batch) {
                return released([&] {
                    const MetadataRun made =
                        make_metadata_run(self.database(), run.value_or(""), count, batch);
                    return nlohmann::json{
                        {"run", made.run}, {"created", made.created}, {"refused", made.refused}};
                });
            },
            py::arg("count"), py::arg("run") = py::none(), py::arg("batch") = 500,
            "Creates `count` EDELWEISS metadata docs of `run` (default: the next free run): "
            "{run, created, refused}. Raises edw.ConfigError when `run` already has docs.");
}

} // namespace edw::python
