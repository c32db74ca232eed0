// FeedFilter: how a listener on a server is sent only the changes that concern its step.
#pragma once

#include <edw/step/process_log.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace edw {

/// Which changes a server sends a step that takes docs at a `process` position.
enum class FeedFilter {
    automatic, ///< Chosen from what the server says it is (`GET /`): see choose_feed_filter.
    design,    ///< The design doc's filter function, run by the server in JavaScript per change.
    selector,  ///< A Mango selector (`filter=_selector`), matched natively by CouchDB 2+.
    all,       ///< No filter: every change with its doc; the runner's own rule picks.
};

/// "auto", "design", "selector" or "all". Throws ConfigError for anything else.
FeedFilter parse_feed_filter(std::string_view text);
std::string_view feed_filter_name(FeedFilter filter) noexcept;

/// The filter for a server whose `GET /` answered `welcome`. CouchDB 2 and later (Cloudant too)
/// say `"couchdb": "Welcome"` with their version and match a selector in Erlang, with no
/// JavaScript process per change. Other servers (pouchdb-server, which a `_selector` feed
/// crashes, and CouchDB 1, which has none) get the design doc's filter.
FeedFilter choose_feed_filter(const nlohmann::json& welcome);

/// The server a welcome names, for logs: "couchdb 3.4.3 (The Apache Software Foundation)".
std::string describe_server(const nlohmann::json& welcome);

/// A Mango selector that passes the docs the `lastproc` view files at `position` (status "good",
/// conditions, a process array ending there). Mango has no "last element", so the selector
/// names the last index for each array length up to a bound, and past it passes every doc with
/// an entry of that name: a few extra docs, which the runner's own rule then leaves.
nlohmann::json waiting_selector(const StepPosition& position);

/// A selector that passes the docs waiting at any of `positions` (one feed for several steps):
/// one alternative per array length, naming every step at once.
nlohmann::json waiting_selector(const std::vector<StepPosition>& positions);

/// The design doc filter, and its `steps` parameter, that pass the docs waiting at any of
/// `positions`: "at_any_step" with a JSON array of `lastproc` key prefixes ("0" for new docs).
/// (For one position, "with_process" with `last` does the same.)
inline constexpr std::string_view any_step_filter = "at_any_step";
std::string any_step_filter_parameter(const std::vector<StepPosition>& positions);

} // namespace edw
