// The calcache worker: which calibrations of its night a file is associated with, kept in its
// calcache doc so that nobody has to work it out at search time.
#include "gemini.hpp"

#include <edw/workflow/update_document.hpp>

#include <algorithm>
#include <thread>

namespace gemini {
namespace {

// The calibration types a file needs: science frames need biases and flats, flats need biases.
std::vector<std::string> needed(const std::string& obstype)
{
    if (obstype == "OBJECT") {
        return {"BIAS", "FLAT"};
    }
    if (obstype == "FLAT") {
        return {"BIAS"};
    }
    return {};
}

// The file docs of the night of `name`: Gemini names start with the UT date ("N20240301S0001"),
// so one _all_docs range holds them.
std::vector<nlohmann::json> same_night(edw::Database& database, const std::string& name,
                                       const std::string& night)
{
    const auto s = name.find('S');
    const std::string prefix = file_doc_id(s == std::string::npos ? "" : name.substr(0, s + 1));
    edw::ViewQuery query;
    query.startkey = prefix;
    query.endkey = prefix + "\xef\xbf\xb0"; // U+FFF0, after any name
    query.include_docs = true;
    std::vector<nlohmann::json> docs;
    for (auto& row : database.all_docs(query).rows) {
        if (row.doc && row.doc->is_object() && row.doc->value("type", "") == "file" &&
            row.doc->value("night", "") == night) {
            docs.push_back(std::move(*row.doc));
        }
    }
    return docs;
}

// Overwrites the calcache doc of a file: the newest association wins.
void save_calcache(edw::Database& database, const nlohmann::json& doc)
{
    edw::update_document(
        database, doc["_id"].get<std::string>(),
        [&doc](const std::optional<nlohmann::json>&) { return std::optional(doc); });
}

} // namespace

edw::Step calcache_step(edw::Database& database, const WorkerOptions& options)
{
    return queue_step("calcache", options.name, [&database, options](const nlohmann::json& item) {
        const std::string name = item.at("file").get<std::string>();
        const auto source = options.dir / name;
        if (auto result = superseded(source, item)) {
            return *result;
        }
        const auto header = read_header(source);
        const auto types = needed(header.obstype);
        nlohmann::json associations = nlohmann::json::array();
        if (!types.empty()) {
            for (const auto& doc : same_night(database, name, header.night)) {
                const std::string obstype = doc.value("obstype", "");
                if (std::find(types.begin(), types.end(), obstype) != types.end()) {
                    associations.push_back({{"name", doc.value("name", "")}, {"obstype", obstype}});
                }
            }
        }
        std::this_thread::sleep_for(options.work);
        save_calcache(database, {{"_id", calcache_doc_id(name)},
                                 {"type", "calcache"},
                                 {"name", name},
                                 {"md5", item.at("md5")},
                                 {"night", header.night},
                                 {"obstype", header.obstype},
                                 {"associations", associations},
                                 {"computed", edw::utc_now_iso8601()}});
        return nlohmann::json{
            {"to", "done"},
            {"changes", {{"action", "cached"}, {"associations", associations.size()}}}};
    });
}

} // namespace gemini
