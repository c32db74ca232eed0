// ProcessRerun: which docs a rerun chooses, and a doc sent back with its earlier entries kept.
#include "edw/step/process_rerun.hpp"

#include <edw/step/failure_log.hpp>
#include <edw/step/process_log.hpp>
#include <edw/util/error.hpp>

#include <cctype>

namespace edw {
namespace {

// The claim a leased worker writes on a doc (runtime/lease.hpp's claim_field, a part above).
constexpr const char* claim_field = "edw_claim";

const nlohmann::json* entry_field(const nlohmann::json& entry, const char* field)
{
    const auto it = entry.find(field);
    return it != entry.end() && it->is_string() ? &*it : nullptr;
}

} // namespace

std::string normalize_rerun_date(std::string_view text)
{
    std::string date(text);
    if (!date.empty() && (date.back() == 'Z' || date.back() == 'z')) {
        date.pop_back();
    }
    // Each character of the full form, '9' standing for a digit; a date is a prefix of it that
    // ends with a whole field.
    static constexpr std::string_view shape = "9999-99-99T99:99:99.999";
    const bool whole_field = date.size() == 10 || date.size() == 13 || date.size() == 16 ||
                             date.size() == 19 || date.size() == 23;
    bool fits = whole_field;
    for (std::size_t i = 0; fits && i < date.size(); ++i) {
        if (date[i] == 't' || date[i] == ' ') {
            date[i] = 'T'; // "2026-12-01 10:00" is how people write it
        }
        fits = shape[i] == '9' ? std::isdigit(static_cast<unsigned char>(date[i])) != 0
                               : date[i] == shape[i];
    }
    if (!fits) {
        throw JsonError("invalid date \"" + std::string(text) +
                        "\": expected UTC time as YYYY-MM-DD, YYYY-MM-DDTHH:MM or "
                        "YYYY-MM-DDTHH:MM:SS");
    }
    return date;
}

nlohmann::json RerunCriteria::to_json() const
{
    nlohmann::json criteria = {{"step", step}};
    if (selector) {
        criteria["selector"] = *selector;
    }
    if (ids) {
        criteria["ids"] = *ids;
    }
    if (processed_before) {
        criteria["processed_before"] = *processed_before;
    }
    if (version) {
        criteria["version"] = *version;
    }
    return criteria;
}

RerunCriteria RerunCriteria::from_json(const nlohmann::json& criteria)
{
    if (!criteria.is_object() || !criteria.contains("step") || !criteria["step"].is_string()) {
        throw JsonError("rerun criteria need a step name: " + criteria.dump().substr(0, 200));
    }
    RerunCriteria result;
    result.step = criteria["step"].get<std::string>();
    try {
        if (criteria.contains("selector")) {
            result.selector = criteria["selector"];
        }
        if (criteria.contains("ids")) {
            result.ids = criteria["ids"].get<std::set<std::string>>();
        }
        if (criteria.contains("processed_before")) {
            result.processed_before = criteria["processed_before"].get<std::string>();
        }
        if (criteria.contains("version")) {
            result.version = criteria["version"].get<std::string>();
        }
    } catch (const nlohmann::json::exception& error) {
        throw JsonError("invalid rerun criteria: " + std::string(error.what()));
    }
    return result;
}

RerunChooser::RerunChooser(RerunCriteria criteria)
    : m_criteria(std::move(criteria))
{
    if (m_criteria.step.empty()) {
        throw ConfigError("a rerun needs the name of the step to run again");
    }
    if (m_criteria.selector) {
        m_selector.emplace(*m_criteria.selector);
    }
    if (m_criteria.processed_before) {
        m_criteria.processed_before = normalize_rerun_date(*m_criteria.processed_before);
    }
}

bool RerunChooser::chooses(const nlohmann::json& doc) const
{
    if (!doc.is_object() || doc.value("_deleted", false)) {
        return false;
    }
    const auto id = doc.find("_id");
    if (id == doc.end() || !id->is_string() ||
        id->get_ref<const std::string&>().starts_with("_design/")) {
        return false;
    }
    if (m_criteria.ids && !m_criteria.ids->contains(id->get_ref<const std::string&>())) {
        return false;
    }
    const auto index = first_entry_of(doc, m_criteria.step);
    if (!index) {
        return false; // not at the step yet: it will get there on its own
    }
    const nlohmann::json& entry = doc["process"][*index];
    if (m_criteria.processed_before) {
        const auto* date = entry_field(entry, "date");
        // An entry without a date cannot be said to be before anything.
        if (date == nullptr ||
            !(date->get_ref<const std::string&>() < *m_criteria.processed_before)) {
            return false;
        }
    }
    if (m_criteria.version) {
        const auto* version = entry_field(entry, step_version_field);
        if (version == nullptr) {
            return false;
        }
        const std::string& written = version->get_ref<const std::string&>();
        const std::string& wanted = *m_criteria.version;
        if (written != wanted && !(written.starts_with(wanted) && written.size() > wanted.size() &&
                                   written[wanted.size()] == ' ')) {
            return false;
        }
    }
    return !m_selector || m_selector->matches(doc);
}

bool has_rerun_mark(const nlohmann::json& doc, std::string_view campaign)
{
    const auto reruns = doc.find(reruns_field);
    if (reruns == doc.end() || !reruns->is_array()) {
        return false;
    }
    for (const auto& item : *reruns) {
        if (item.is_object()) {
            const auto* name = entry_field(item, "campaign");
            if (name != nullptr && name->get_ref<const std::string&>() == campaign) {
                return true;
            }
        }
    }
    return false;
}

std::optional<std::size_t> first_entry_of(const nlohmann::json& doc, std::string_view step)
{
    const auto process = doc.find("process");
    if (process == doc.end() || !process->is_array()) {
        return std::nullopt;
    }
    for (std::size_t i = 0; i < process->size(); ++i) {
        const auto* name = (*process)[i].is_object() ? entry_field((*process)[i], "name") : nullptr;
        if (name != nullptr && name->get_ref<const std::string&>() == step) {
            return i;
        }
    }
    return std::nullopt;
}

std::optional<nlohmann::json> send_back(nlohmann::json doc, const RerunMark& mark)
{
    const auto index = first_entry_of(doc, mark.step);
    if (!index) {
        return std::nullopt;
    }
    const auto reruns = doc.find(reruns_field);
    if (reruns != doc.end() && !reruns->is_array()) {
        throw JsonError("doc " + doc.value("_id", std::string("?")) + " has a " + reruns_field +
                        " field that is not an array: edw keeps earlier runs there");
    }
    auto& process = doc["process"];
    nlohmann::json entries = nlohmann::json::array();
    for (std::size_t i = *index; i < process.size(); ++i) {
        entries.push_back(std::move(process[i]));
    }
    process.erase(process.begin() + static_cast<std::ptrdiff_t>(*index), process.end());

    // The doc waits at the step again, so any step it failed at since (parked, or with
    // attempts counted) lies downstream and runs afresh: each gets all its attempts again.
    if (is_parked(doc)) {
        doc = *put_back(std::move(doc), mark.date);
    }
    const auto failures = doc.find(failures_field);
    if (failures != doc.end() && failures->is_array()) {
        for (auto& failure : *failures) {
            if (failure.is_object() && !failure.contains("retried")) {
                failure["retried"] = mark.date;
            }
        }
    }
    doc.erase(claim_field);

    doc[reruns_field].push_back({{"campaign", mark.campaign},
                                 {"step", mark.step},
                                 {"date", mark.date},
                                 {"reason", mark.reason},
                                 {"by", mark.by},
                                 {"entries", std::move(entries)}});
    return doc;
}

} // namespace edw
