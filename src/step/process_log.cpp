// ProcessLog: the `process` array rules shared by the view, the filter and the runtime.
#include "edw/step/process_log.hpp"

#include <edw/util/error.hpp>

#include <simdjson.h>

namespace edw {

nlohmann::json StepPosition::key_prefix() const
{
    return is_new_document() ? nlohmann::json(0) : nlohmann::json(m_step);
}

std::string StepPosition::filter_value() const
{
    return is_new_document() ? "0" : m_step;
}

std::optional<nlohmann::json> lastproc_key(const nlohmann::json& doc)
{
    // JavaScript truthiness of `doc.conditions`: present and not null/false/0/"".
    const auto truthy = [](const nlohmann::json& value) {
        return !(value.is_null() || (value.is_boolean() && !value.get<bool>()) ||
                 (value.is_number() && value.get<double>() == 0) ||
                 (value.is_string() && value.get_ref<const std::string&>().empty()));
    };
    if (!doc.is_object() || doc.value("_deleted", false)) {
        return std::nullopt;
    }
    const auto status = doc.find("status");
    const auto conditions = doc.find("conditions");
    const auto process = doc.find("process");
    const auto id = doc.find("_id");
    if (status == doc.end() || *status != "good" || conditions == doc.end() ||
        !truthy(*conditions) || process == doc.end() || !process->is_array() || id == doc.end()) {
        return std::nullopt;
    }
    if (process->empty()) {
        return nlohmann::json::array({0, *id});
    }
    const auto& last = process->back();
    if (!last.is_object()) {
        return std::nullopt;
    }
    const auto name = last.find("name");
    if (name == last.end() || !truthy(*name)) {
        return std::nullopt;
    }
    return nlohmann::json::array({*name, *id});
}

bool is_waiting_at(const nlohmann::json& doc, const StepPosition& position)
{
    const auto key = lastproc_key(doc);
    return key && (*key)[0] == position.key_prefix();
}

bool may_be_waiting_at(std::string_view doc_json, const StepPosition& position)
{
    return text_position(doc_json).may_be(position);
}

bool TextPosition::may_be(const StepPosition& position) const
{
    switch (kind) {
    case Kind::unknown:
        return true; // not JSON, or numbers simdjson refuses: nlohmann decides
    case Kind::nowhere:
        return false;
    case Kind::new_document:
        return position.is_new_document();
    case Kind::after:
        return !position.is_new_document() && step == position.step();
    }
    return true;
}

TextPosition text_position(std::string_view doc_json)
{
    // One parser per thread, reused: its buffers grow to the largest doc and stay.
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(doc_json.data(), doc_json.size()).get(doc) != simdjson::SUCCESS) {
        return {};
    }
    simdjson::dom::array process;
    if (doc["process"].get(process) != simdjson::SUCCESS) {
        return {TextPosition::Kind::nowhere, {}}; // no process array: in no step's queue
    }
    simdjson::dom::element last;
    bool empty = true;
    for (const auto entry : process) {
        last = entry;
        empty = false;
    }
    if (empty) {
        return {TextPosition::Kind::new_document, {}};
    }
    std::string_view name;
    if (last["name"].get(name) != simdjson::SUCCESS) {
        return {TextPosition::Kind::nowhere, {}};
    }
    return {TextPosition::Kind::after, std::string(name)};
}

bool has_step(const nlohmann::json& doc, std::string_view step)
{
    const auto process = doc.find("process");
    if (process == doc.end() || !process->is_array()) {
        return false;
    }
    for (const auto& entry : *process) {
        if (entry.is_object()) {
            const auto name = entry.find("name");
            if (name != entry.end() && name->is_string() &&
                name->get_ref<const std::string&>() == step) {
                return true;
            }
        }
    }
    return false;
}

nlohmann::json append_step(nlohmann::json doc, std::string_view step, const nlohmann::json& result,
                           std::string_view date, std::string_view version)
{
    if (!result.is_object()) {
        throw JsonError("the result of step " + std::string(step) + " must be a JSON object, not " +
                        result.dump().substr(0, 100));
    }
    auto process = doc.find("process");
    if (process == doc.end() || !process->is_array()) {
        throw JsonError("doc " + doc.value("_id", std::string("?")) +
                        " has no process array to record step " + std::string(step) + " in");
    }
    // The name goes first so that a person reading the doc sees which step an entry is.
    nlohmann::json entry = nlohmann::json::object();
    entry["name"] = step;
    for (const auto& [field, value] : result.items()) {
        if (field != "name" && field != "date" && field != step_version_field) {
            entry[field] = value;
        }
    }
    if (!version.empty()) {
        entry[step_version_field] = version;
    }
    entry["date"] = date;
    process->push_back(std::move(entry));
    return doc;
}

ConflictDecision decide_after_conflict(const std::optional<nlohmann::json>& fresh,
                                       std::string_view step, const StepPosition& position)
{
    if (!fresh) {
        return ConflictDecision::no_longer_waiting;
    }
    if (is_waiting_at(*fresh, position)) {
        return ConflictDecision::reapply;
    }
    if (has_step(*fresh, step)) {
        return ConflictDecision::already_recorded;
    }
    return ConflictDecision::no_longer_waiting;
}

} // namespace edw
