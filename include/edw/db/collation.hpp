// Collation: the order CouchDB gives view keys and document ids, and byte keys that keep it.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>

namespace edw {

/// Compares two JSON values as CouchDB orders view keys: null < false < true < numbers < strings
/// < arrays < objects (https://docs.couchdb.org/en/stable/ddocs/views/collation.html).
///
/// Numbers compare by value as doubles, so 3 equals 3.0 and -0.0 equals 0.0; a NaN or infinite
/// double counts as null, which is what it becomes once written as JSON. Strings compare by the
/// Unicode Collation Algorithm with ICU's root collator, as CouchDB does, so "a" < "A" < "aa" <
/// "b"; strings that differ only in ignorable characters (such as controls) compare equal. Arrays
/// compare element by element, a prefix first. Objects compare member by member in iteration
/// order, key (as a string) then value, fewer members first. A `nlohmann::json` object iterates
/// its members sorted by key, which loses the member order CouchDB compares; pass
/// `nlohmann::ordered_json` to keep it.
///
/// Returns -1, 0 or 1. Throws JsonError when either value is a binary or discarded value, which
/// JSON cannot express, and StoreError when ICU's collator cannot be opened.
int collate(const nlohmann::json& a, const nlohmann::json& b);
/// Compares as above, taking objects' members in the order they were inserted or parsed.
int collate(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b);

/// Compares two strings as CouchDB's raw collation does for `_all_docs` ids: by Unicode code
/// point, which for UTF-8 is byte order, a prefix first. Returns -1, 0 or 1.
int collate_raw(std::string_view a, std::string_view b) noexcept;

/// A byte string whose order under memcmp (a prefix first) is the order of collate(), for use as
/// an index key in a BLOB column: values that collate equal get equal keys.
///
/// ICU sort keys depend on the ICU version, so keys must be rebuilt when ICU's major version
/// changes. Throws as collate() does.
std::string sort_key(const nlohmann::json& value);
/// The key for a value whose objects keep their member order.
std::string sort_key(const nlohmann::ordered_json& value);

} // namespace edw
