// FeedFilter: parsing, the choice from a server's welcome, and the selector of a step position.
#include <edw/feed/feed_filter.hpp>
#include <edw/util/error.hpp>

#include <cstdlib>

namespace edw {
namespace {

// Process arrays up to this length are matched exactly by the selector. EDELWEISS docs have
// two or three entries; reprocessing adds more, rarely this many.
constexpr int exact_process_length = 8;

} // namespace

FeedFilter parse_feed_filter(std::string_view text)
{
    for (const auto filter :
         {FeedFilter::automatic, FeedFilter::design, FeedFilter::selector, FeedFilter::all}) {
        if (text == feed_filter_name(filter)) {
            return filter;
        }
    }
    throw ConfigError("unknown feed filter '" + std::string(text) +
                      "' (expected auto, design, selector or all)");
}

std::string_view feed_filter_name(FeedFilter filter) noexcept
{
    switch (filter) {
    case FeedFilter::automatic:
        return "auto";
    case FeedFilter::design:
        return "design";
    case FeedFilter::selector:
        return "selector";
    case FeedFilter::all:
        return "all";
    }
    return "auto";
}

FeedFilter choose_feed_filter(const nlohmann::json& welcome)
{
    if (!welcome.is_object() || welcome.value("couchdb", "") != "Welcome") {
        return FeedFilter::design;
    }
    const auto version = welcome.value("version", "");
    // "2.1.1", "3.4.3": only the major number matters; a version we cannot read is not trusted.
    char* end = nullptr;
    const long major = std::strtol(version.c_str(), &end, 10);
    return end != version.c_str() && major >= 2 ? FeedFilter::selector : FeedFilter::design;
}

std::string describe_server(const nlohmann::json& welcome)
{
    if (!welcome.is_object()) {
        return "a server with no welcome";
    }
    std::string name = "an unnamed server";
    for (const auto& [key, value] : welcome.items()) {
        // CouchDB says "couchdb": "Welcome", pouchdb-server "express-pouchdb": "Welcome!".
        if (value.is_string() && value.get<std::string>().rfind("Welcome", 0) == 0) {
            name = key;
        }
    }
    if (welcome.contains("version") && welcome["version"].is_string()) {
        name += " " + welcome["version"].get<std::string>();
    }
    const auto vendor = welcome.find("vendor");
    if (vendor != welcome.end() && vendor->is_object() && vendor->contains("name") &&
        (*vendor)["name"].is_string()) {
        name += " (" + (*vendor)["name"].get<std::string>() + ")";
    }
    return name;
}

nlohmann::json waiting_selector(const StepPosition& position)
{
    return waiting_selector(std::vector<StepPosition>{position});
}

nlohmann::json waiting_selector(const std::vector<StepPosition>& positions)
{
    nlohmann::json selector = {{"status", "good"}, {"conditions", {{"$exists", true}}}};
    nlohmann::json names = nlohmann::json::array();
    bool new_documents = false;
    for (const auto& position : positions) {
        if (position.is_new_document()) {
            new_documents = true;
        } else {
            names.push_back(position.step());
        }
    }
    if (names.empty()) {
        selector["process"] = {{"$size", 0}};
        return selector;
    }
    // One name is matched as itself, several with $in: the same work for CouchDB's matcher.
    const nlohmann::json name = names.size() == 1 ? names[0] : nlohmann::json{{"$in", names}};
    nlohmann::json any_of = nlohmann::json::array();
    if (new_documents) {
        any_of.push_back({{"process", {{"$size", 0}}}});
    }
    for (int length = 1; length <= exact_process_length; ++length) {
        any_of.push_back({{"process", {{"$size", length}}},
                          {"process." + std::to_string(length - 1) + ".name", name}});
    }
    any_of.push_back({{"process." + std::to_string(exact_process_length), {{"$exists", true}}},
                      {"process", {{"$elemMatch", {{"name", name}}}}}});
    selector["$or"] = std::move(any_of);
    return selector;
}

std::string any_step_filter_parameter(const std::vector<StepPosition>& positions)
{
    nlohmann::json values = nlohmann::json::array();
    for (const auto& position : positions) {
        values.push_back(position.filter_value());
    }
    return values.dump();
}

} // namespace edw
