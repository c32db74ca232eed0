// EdelweissSteps: file transfer and signal processing, real or simulated, with the original's
// fields.
#include "edw/workflow/edelweiss_steps.hpp"

#include <edw/runtime/step_workers.hpp>
#include <edw/util/error.hpp>
#include <edw/util/md5.hpp>
#include <edw/workflow/amplitude_statistics.hpp>
#include <edw/workflow/checked_copy.hpp>
#include <edw/workflow/trace_file.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <filesystem>
#include <system_error>

namespace edw::edelweiss {
namespace {

// Far above any trace file metadata make writes (4 KB), and a bound on what one step holds.
constexpr std::uintmax_t max_trace_bytes = std::uintmax_t{256} << 20U;

constexpr std::string_view simulated_prefix = "simulated: ";

std::string host_or_default(const SiteOptions& site)
{
    return site.hostname.empty() ? this_host_name() : site.hostname;
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

// The doc's checksum to compare with, or "" when it has none to offer.
std::string md5_field(const nlohmann::json& object)
{
    const auto it = object.find("md5sum");
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string base_name(const std::string& path)
{
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string doc_label(const nlohmann::json& doc)
{
    return "doc " + doc.value("_id", std::string("?"));
}

// A directory named in [edelweiss], absolute, checked once at start rather than failing every
// doc: an unmounted data disk should stop the listener, not park the whole run.
std::string checked_directory(const std::string& directory, const std::string& source,
                              const char* key)
{
    const std::string path = std::filesystem::absolute(directory).lexically_normal().string();
    const std::string where = source + ": [edelweiss] " + key + " " + path;
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0) {
        std::string reason = std::generic_category().message(errno);
        reason.front() =
            static_cast<char>(std::tolower(static_cast<unsigned char>(reason.front())));
        throw ConfigError(where + ": " + reason +
                          " (create the directory, or mount its disk, first)");
    }
    if (!S_ISDIR(status.st_mode)) {
        throw ConfigError(where + ": not a directory");
    }
    if (::access(path.c_str(), W_OK | X_OK) != 0) {
        throw ConfigError(where + ": cannot be written by this user");
    }
    // lexically_normal keeps a trailing slash ("/data/"), which would double in joined paths.
    return path.size() > 1 && path.back() == '/' ? path.substr(0, path.size() - 1) : path;
}

nlohmann::json simulated_move(const nlohmann::json& doc, const std::string& hostname,
                              const std::string& directory)
{
    const std::string& original = string_field(doc, "original_file", doc_label(doc));
    const std::string moved = directory + "/" + base_name(original);
    // A move keeps the bytes, so the checksum recorded at the source still holds.
    const auto md5 = doc.find("md5sum");
    return {{"hostname", hostname},
            {"file", moved},
            {"md5sum", md5 != doc.end() ? *md5 : nlohmann::json(nullptr)},
            {"log", std::string(simulated_prefix) + original + " would be copied to " + hostname +
                        ":" + moved + " (no [edelweiss] data_directory is set: no file was read)"}};
}

nlohmann::json real_move(const nlohmann::json& doc, const std::string& hostname,
                         const std::string& directory)
{
    const std::string what = doc_label(doc);
    const std::string& original = string_field(doc, "original_file", what);
    if (std::filesystem::path(original).filename().empty()) {
        throw JsonError(what + ": original_file " + original + " names a directory, not a file");
    }
    const std::string expected = md5_field(doc);
    const CopiedFile copied = copy_checked(original, directory, expected);
    std::string log;
    if (copied.was_in_place) {
        log = original + " was already at " + hostname + ":" + copied.path.string() + " with md5 " +
              copied.md5 + " (copied by an earlier attempt), not copied again";
    } else {
        log = "copied " + original + " to " + hostname + ":" + copied.path.string() + ", " +
              std::to_string(copied.bytes) + " bytes, md5 " + copied.md5 +
              (expected.empty() ? " (not checked: the doc has no md5sum)"
                                : " (matches the doc's md5sum)");
    }
    return {{"hostname", hostname},
            {"file", copied.path.string()},
            {"md5sum", copied.md5},
            {"log", log}};
}

nlohmann::json simulated_processing(const nlohmann::json& doc, const std::string& hostname)
{
    const nlohmann::json& moved_entry = doc.at("process").back();
    const std::string& moved =
        string_field(moved_entry, "file", doc_label(doc) + " move_to_sps entry");
    std::string amplitudes = moved;
    const std::string suffix = ".root";
    if (amplitudes.size() >= suffix.size() &&
        amplitudes.compare(amplitudes.size() - suffix.size(), suffix.size(), suffix) == 0) {
        amplitudes.resize(amplitudes.size() - suffix.size());
    }
    amplitudes += ".amp.root";
    // Stands for the checksum of the new file's content, which depends on its input.
    const std::string input_md5 = moved_entry.value("md5sum", nlohmann::json()).dump();
    return {{"hostname", hostname},
            {"file", amplitudes},
            {"md5sum", md5_hex(amplitudes + "\n" + input_md5)},
            {"log", std::string(simulated_prefix) + "pulse amplitudes of " + moved +
                        " would be written to " + amplitudes +
                        " (no [edelweiss] data_directory is set: no file was read)"}};
}

nlohmann::json real_processing(const nlohmann::json& doc, const std::string& hostname,
                               const std::string& directory)
{
    const std::string what = doc_label(doc);
    const nlohmann::json& moved_entry = doc.at("process").back();
    const std::string& moved = string_field(moved_entry, "file", what + " move_to_sps entry");
    const auto log = moved_entry.find("log");
    if (log != moved_entry.end() && log->is_string() &&
        log->get_ref<const std::string&>().starts_with(simulated_prefix)) {
        throw StoreError(what + ": its move_to_sps entry was simulated, so " + moved +
                         " was never copied: run both steps with [edelweiss] data_directory set, "
                         "or neither");
    }
    const FileContent input = read_file_checked(moved, "moved file", max_trace_bytes);
    const std::string expected = md5_field(moved_entry);
    if (!expected.empty() && input.md5 != expected) {
        throw StoreError("checksum mismatch reading " + moved + ": the file has md5 " + input.md5 +
                         ", the move_to_sps entry says " + expected);
    }
    const Traces traces = decode_traces(input.bytes, moved);
    const auto statistics = amplitude_statistics(traces);

    nlohmann::json channels = nlohmann::json::array();
    nlohmann::json pulses = nlohmann::json::array();
    nlohmann::json highest = nlohmann::json::array();
    int pulse_count = 0;
    for (std::size_t c = 0; c < statistics.size(); ++c) {
        channels.push_back(to_json(statistics[c], static_cast<int>(c)));
        pulses.push_back(statistics[c].pulses);
        highest.push_back(channels.back()["max_amplitude"]);
        pulse_count += statistics[c].pulses;
    }
    const nlohmann::json result = {{"format", "edw amplitudes 1"},
                                   {"source", moved},
                                   {"source_md5", input.md5},
                                   {"sample_rate_hz", traces.sample_rate_hz},
                                   {"samples_per_channel", traces.channels.front().size()},
                                   {"channels", channels}};
    const std::string text = result.dump(2) + "\n";
    const std::string target =
        directory + "/" + std::filesystem::path(moved).stem().string() + ".amplitudes.json";
    write_file_atomically(target, text);
    return {{"hostname", hostname},
            {"file", target},
            {"md5sum", md5_hex(text)},
            {"log", "amplitudes of " + moved + " (" + std::to_string(statistics.size()) +
                        " channels, " + std::to_string(pulse_count) + " pulses) written to " +
                        hostname + ":" + target},
            {"amplitudes", {{"pulses", pulses}, {"max_amplitude", highest}}}};
}

} // namespace

SiteOptions site_options(const Settings& settings)
{
    SiteOptions site;
    site.hostname = settings.edelweiss.hostname;
    if (settings.edelweiss.data_directory.empty()) {
        return site;
    }
    site.file_work = FileWork::real;
    site.data_directory =
        checked_directory(settings.edelweiss.data_directory, settings.source, "data_directory");
    site.results_directory = settings.edelweiss.results_directory.empty()
                                 ? site.data_directory
                                 : checked_directory(settings.edelweiss.results_directory,
                                                     settings.source, "results_directory");
    return site;
}

std::string describe_file_work(const SiteOptions& site, const std::string& source)
{
    if (site.file_work == FileWork::simulated) {
        return "simulating: no [edelweiss] data_directory in " + source +
               " (nor EDW_DATA_DIRECTORY), so move_to_sps and signal_processing read and write no "
               "file: their entries name where the files would be, and their logs start "
               "\"simulated:\"";
    }
    const std::string results =
        site.results_directory.empty() ? site.data_directory : site.results_directory;
    return "files: move_to_sps copies raw files into " + site.data_directory +
           " and checks their md5; signal_processing writes amplitudes into " + results;
}

std::string file_work_help()
{
    return "Files: when edw.ini has data_directory in an [edelweiss] section (or "
           "EDW_DATA_DIRECTORY is set), move_to_sps copies each doc's original_file into that "
           "directory (through a temporary file, fsync and rename) and checks its md5sum, and "
           "signal_processing reads the copy and writes <name>.amplitudes.json (per-channel "
           "baseline, noise, rms, highest amplitude, pulse count) into results_directory "
           "(EDW_RESULTS_DIRECTORY; default: the data directory). A missing or unreadable file, "
           "a checksum mismatch or a full disk fails that doc with the reason (edw failed). "
           "Without data_directory both steps only simulate: they read and write no file, their "
           "entries name where the files would be, and their logs start \"simulated:\".";
}

Step move_to_sps(const SiteOptions& site)
{
    Step step;
    step.name = "move_to_sps";
    step.follows = StepPosition::new_document();
    step.run = [hostname = host_or_default(site), directory = site.data_directory,
                work = site.file_work](const nlohmann::json& doc) {
        return work == FileWork::real ? real_move(doc, hostname, directory)
                                      : simulated_move(doc, hostname, directory);
    };
    return step;
}

Step signal_processing(const SiteOptions& site)
{
    Step step;
    step.name = "signal_processing";
    step.follows = StepPosition::after("move_to_sps");
    step.run = [hostname = host_or_default(site),
                directory =
                    site.results_directory.empty() ? site.data_directory : site.results_directory,
                work = site.file_work](const nlohmann::json& doc) {
        return work == FileWork::real ? real_processing(doc, hostname, directory)
                                      : simulated_processing(doc, hostname);
    };
    return step;
}

} // namespace edw::edelweiss
