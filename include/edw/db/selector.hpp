// Selector: CouchDB Mango selectors, checked once and then matched against documents locally.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <memory>

namespace edw {

namespace detail {
struct SelectorNode;
} // namespace detail

/// A Mango selector, as `_find` and `_changes?filter=_selector` take it, compiled so that
/// documents can be matched without asking the server
/// (https://docs.couchdb.org/en/stable/api/database/find.html#selector-syntax).
///
/// Matching follows CouchDB 3's mango_selector.erl, quirks included:
/// - Values compare by view collation (collate()), so {"$gt": 5} holds for every string. `_id`
///   compares by code point, as CouchDB compares document ids, and sorts after non-strings.
///   Objects compare with their members in key order, the only order nlohmann::json keeps.
/// - A missing field fails every condition except {"$exists": false}. CouchDB pushes $not and $nor
///   down onto single field conditions, so a missing field fails {"$not": {"a": 1}} and
///   {"a": {"$ne": 1}} alike.
/// - A path that steps into a number, string, boolean or null, or past the end of an array, fails
///   every condition, {"$exists": false} included. A path step that is an integer indexes an
///   array: "tags.0" is the first tag.
/// - An empty $and or $or holds. A {} nested inside a selector means "equals {}".
/// - $all compares with JSON equality (==), close to CouchDB's exact term match, not collation.
///
/// $regex searches with ICU's regular expressions, whose Perl syntax is close to the PCRE that
/// CouchDB uses: "(?i)" and the other inline flags work. As in CouchDB, a search that gives up (a
/// pattern that backtracks without end) counts as no match. $beginsWith (CouchDB 3.4) and
/// $keyMapMatch are supported; $text, which needs a text index, is not.
///
/// Selectors are immutable, so copies share the compiled form and can be used from several
/// threads at once.
class Selector {
public:
    /// Checks and compiles `selector`, a JSON object; {} matches every document.
    /// Throws JsonError, with a message starting "invalid selector: " that names the offending
    /// operator, for an unknown or unsupported operator, an argument of the wrong type, a $regex
    /// that does not compile, or a condition with no field to apply to.
    explicit Selector(const nlohmann::json& selector);

    /// Whether `doc` satisfies the selector. Only {} matches a doc that is not a JSON object.
    /// Throws only as collate() does, which JSON from a parser never makes it do.
    [[nodiscard]] bool matches(const nlohmann::json& doc) const;

private:
    std::shared_ptr<const detail::SelectorNode> m_root; ///< Null for {}, which matches anything.
};

} // namespace edw
