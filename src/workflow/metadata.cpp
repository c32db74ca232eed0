// Metadata documents: run names, ids and the EDELWEISS-shaped document for one data file.
#include "edw/workflow/metadata.hpp"

#include <edw/util/md5.hpp>
#include <edw/workflow/checked_copy.hpp>
#include <edw/workflow/trace_file.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cassert>
#include <cstdint>

namespace edw {

namespace {

constexpr std::string_view first_run = "ma22a000";
constexpr std::size_t min_digits = 3;

bool is_ascii_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool is_ascii_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string zero_padded(std::string digits)
{
    if (digits.size() < min_digits) {
        digits.insert(0, min_digits - digits.size(), '0');
    }
    return digits;
}

// Adds one to a run of decimal digits as text, so that no counter is too long for an integer.
std::string incremented(std::string digits)
{
    for (auto digit = digits.rbegin(); digit != digits.rend(); ++digit) {
        if (*digit != '9') {
            ++*digit;
            return digits;
        }
        *digit = '0';
    }
    return "1" + digits;
}

// A double in [0, 1) from the top 53 bits of one draw. std::uniform_real_distribution is not
// used because each standard library computes it its own way, and a seeded rng must give the
// same document everywhere.
double unit_interval(std::uint64_t draw)
{
    return static_cast<double>(draw >> 11) * 0x1.0p-53;
}

} // namespace

bool is_metadata_id(std::string_view id)
{
    const auto underscore = id.find('_');
    if (underscore == std::string_view::npos) {
        return false;
    }
    const std::string_view run = id.substr(0, underscore);
    const std::string_view file_number = id.substr(underscore + 1);
    return !run.empty() && is_ascii_letter(run.front()) && is_ascii_digit(run.back()) &&
           std::all_of(run.begin(), run.end(),
                       [](char c) { return is_ascii_letter(c) || is_ascii_digit(c); }) &&
           !file_number.empty() &&
           std::all_of(file_number.begin(), file_number.end(), is_ascii_digit);
}

std::string next_run_name(const std::optional<std::string>& highest_existing_id)
{
    if (!highest_existing_id || !is_metadata_id(*highest_existing_id)) {
        return std::string(first_run);
    }
    const std::string run = highest_existing_id->substr(0, highest_existing_id->find('_'));
    // is_metadata_id promised a letter first and a digit last, so the split leaves both parts.
    const auto counter_start = run.find_last_not_of("0123456789") + 1;
    return run.substr(0, counter_start) + zero_padded(incremented(run.substr(counter_start)));
}

nlohmann::json make_metadata_doc(const std::string& run, int file_number, double datecreated,
                                 std::mt19937_64& rng)
{
    assert(file_number >= 0 && "file numbers count from 0");
    const std::string id = run + "_" + zero_padded(std::to_string(file_number));

    // One draw per random field, always in this order, so that a seed fixes the whole document.
    const double temperature = 0.015 + 0.001 * unit_interval(rng());
    // There is no data file here; the checksum stands for the MD5 of one, different for each doc.
    const std::string content = id + ":" + std::to_string(rng());

    return {
        {"_id", id},
        {"status", "good"},
        {"md5sum", md5_hex(content)},
        {"run", run},
        {"datecreated", datecreated},
        {"process", nlohmann::json::array()},
        {"conditions",
         {
             {"volts",
              {
                  {"detector_a", {8, -8, 2, -2}},
                  {"detector_b", {4, -4, 1.5, -1.5}},
              }},
             {"temperature", temperature},
         }},
        {"original_file", "/mnt/data/" + id + ".root"},
    };
}

void attach_raw_file(nlohmann::json& doc, const std::filesystem::path& directory)
{
    const std::string id = doc.at("_id").get<std::string>();
    const std::string bytes = edelweiss::encode_traces(edelweiss::synthetic_traces(id));
    const auto path =
        std::filesystem::absolute(directory / (id + std::string(edelweiss::trace_extension)))
            .lexically_normal();
    edelweiss::write_file_atomically(path, bytes);
    doc["original_file"] = path.string();
    doc["md5sum"] = md5_hex(bytes);
}

} // namespace edw
