// EdelweissSteps: simulated file transfer and signal processing, with the original's fields.
#include "edw/workflow/edelweiss_steps.hpp"

#include <edw/util/error.hpp>
#include <edw/util/md5.hpp>

#include <unistd.h>

namespace edw::edelweiss {
namespace {

std::string this_host()
{
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) {
        return "localhost";
    }
    return name;
}

std::string host_or_default(const SiteOptions& site)
{
    return site.hostname.empty() ? this_host() : site.hostname;
}

const std::string& string_field(const nlohmann::json& object, const char* field,
                                const std::string& what)
{
    const auto it = object.find(field);
    if (it == object.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
        throw JsonError(what + " has no " + field + " string");
    }
    return it->get_ref<const std::string&>();
}

std::string base_name(const std::string& path)
{
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

} // namespace

Step move_to_sps(const SiteOptions& site)
{
    Step step;
    step.name = "move_to_sps";
    step.follows = StepPosition::new_document();
    step.run = [hostname = host_or_default(site),
                directory = site.data_directory](const nlohmann::json& doc) {
        const std::string what = "doc " + doc.value("_id", std::string("?"));
        const std::string& original = string_field(doc, "original_file", what);
        const std::string moved = directory + "/" + base_name(original);
        // A move keeps the bytes, so the checksum recorded at the source still holds.
        const auto md5 = doc.find("md5sum");
        return nlohmann::json{{"hostname", hostname},
                              {"file", moved},
                              {"md5sum", md5 != doc.end() ? *md5 : nlohmann::json(nullptr)},
                              {"log", "copied " + original + " to " + hostname + ":" + moved}};
    };
    return step;
}

Step signal_processing(const SiteOptions& site)
{
    Step step;
    step.name = "signal_processing";
    step.follows = StepPosition::after("move_to_sps");
    step.run = [hostname = host_or_default(site)](const nlohmann::json& doc) {
        const std::string what = "doc " + doc.value("_id", std::string("?"));
        const auto& process = doc.at("process");
        const nlohmann::json& moved_entry = process.back();
        const std::string& moved = string_field(moved_entry, "file", what + " move_to_sps entry");
        std::string amplitudes = moved;
        const std::string suffix = ".root";
        if (amplitudes.size() >= suffix.size() &&
            amplitudes.compare(amplitudes.size() - suffix.size(), suffix.size(), suffix) == 0) {
            amplitudes.resize(amplitudes.size() - suffix.size());
        }
        amplitudes += ".amp.root";
        // Stands for the checksum of the new file's content, which depends on its input.
        const std::string input_md5 = moved_entry.value("md5sum", nlohmann::json()).dump();
        return nlohmann::json{
            {"hostname", hostname},
            {"file", amplitudes},
            {"md5sum", md5_hex(amplitudes + "\n" + input_md5)},
            {"log", "pulse amplitudes of " + moved + " written to " + amplitudes}};
    };
    return step;
}

} // namespace edw::edelweiss
