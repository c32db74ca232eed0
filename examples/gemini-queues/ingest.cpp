// The ingest worker: a queued file into its file doc, and its export, preview and calcache items
// queued; nothing at all when the file is as it was last ingested.
#include "gemini.hpp"

#include <thread>

namespace gemini {
namespace {

// What ingest knows of a file, read so that the parts belong together.
struct Reading {
    FileStamp stamp;
    std::string md5;
    Header header;
};

Reading read_file(const std::filesystem::path& path)
{
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error)) {
        throw edw::Error("cannot ingest " + path.string() + ": " +
                         (error ? error.message() : "no such file"));
    }
    const auto before = stamp_of(path);
    Reading reading{.stamp = before, .md5 = edw::md5_file_hex(path), .header = read_header(path)};
    // A file replaced while it was read would pair one content's md5 with another's mtime.
    if (stamp_of(path) != before) {
        throw edw::Error(path.string() + " changed while it was read");
    }
    return reading;
}

bool is_as_ingested(const std::optional<nlohmann::json>& doc, const std::string& mtime,
                    const std::string& md5)
{
    return doc && doc->value("mtime", "") == mtime && doc->value("md5", "") == md5;
}

} // namespace

edw::Step ingest_step(edw::Database& database, const WorkerOptions& options)
{
    return queue_step("ingest", options.name, [&database, options](const nlohmann::json& item) {
        const std::string name = item.at("file").get<std::string>();
        const auto reading = read_file(options.dir / name); // a missing file throws: retried
        const std::string mtime = reading.stamp.mtime_text();
        std::vector<std::string> queued;
        bool worked = false;
        for (;;) {
            auto doc = database.get(file_doc_id(name));
            if (is_as_ingested(doc, mtime, reading.md5) &&
                doc->value("ingest_item", "") == item.at("_id")) {
                // An earlier attempt at this very item ingested the file and died before its
                // result was written (a worker killed): its work stands, items included.
                std::vector<std::string> ids;
                for (const std::string queue : {"export", "preview", "calcache"}) {
                    ids.push_back(queued_item_id(queue, name, reading.md5));
                }
                return nlohmann::json{{"to", "done"},
                                      {"changes",
                                       {{"action", "ingested"},
                                        {"md5", reading.md5},
                                        {"ingest_count", doc->value("ingest_count", 0)},
                                        {"queued", ids}}},
                                      {"note", "ingested by an earlier attempt"}};
            }
            if (is_as_ingested(doc, mtime, reading.md5)) {
                // Gemini's null ingest: the mtime (and here the md5 too) as last ingested. After
                // a 409 below, another worker has just ingested the same content.
                nlohmann::json changes = {{"action", "unchanged"}, {"md5", reading.md5}};
                if (!queued.empty()) {
                    changes["queued"] = queued;
                }
                return nlohmann::json{
                    {"to", "done"},
                    {"changes", changes},
                    {"note", "as ingested at " + doc->value("ingested", std::string("?"))}};
            }
            if (!worked) {
                std::this_thread::sleep_for(options.work);
                worked = true;
            }
            // The items first, the file doc after: a file doc names a content only once that
            // content is queued, so a crash between the two leaves a file doc that still
            // differs, and the retry queues again (a 409: already queued) and saves it.
            std::vector<nlohmann::json> items;
            for (const std::string queue : {"export", "preview", "calcache"}) {
                items.push_back(queue_item(queued_item_id(queue, name, reading.md5), queue, name,
                                           {{"md5", reading.md5}}, options.name, "ingested"));
            }
            for (auto& id : create_items(database, items)) {
                queued.push_back(std::move(id));
            }
            const int count = doc ? doc->value("ingest_count", 0) + 1 : 1;
            nlohmann::json updated = {{"_id", file_doc_id(name)},
                                      {"type", "file"},
                                      {"name", name},
                                      {"size", reading.stamp.size},
                                      {"mtime", mtime},
                                      {"md5", reading.md5},
                                      {"night", reading.header.night},
                                      {"obstype", reading.header.obstype},
                                      {"ingested", edw::utc_now_iso8601()},
                                      {"ingest_count", count},
                                      {"ingest_item", item.at("_id")}};
            if (doc) {
                updated["_rev"] = (*doc)["_rev"];
            }
            if (database.save(updated).is_conflict()) {
                continue; // another ingest of this file wrote first: judge again by its doc
            }
            return nlohmann::json{{"to", "done"},
                                  {"changes",
                                   {{"action", "ingested"},
                                    {"md5", reading.md5},
                                    {"ingest_count", count},
                                    {"queued", queued}}}};
        }
    });
}

} // namespace gemini
