// UpdateDocument: read, change, write, and again after a 409, for programs that edit a doc
// others may edit at the same time.
#pragma once

#include <edw/db/database.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>

namespace edw {

/// What to write given the doc as read now (nothing when it does not exist): the whole doc (its
/// `_rev` is set from what was read), or nothing to write nothing.
using DocumentChange =
    std::function<std::optional<nlohmann::json>(const std::optional<nlohmann::json>& current)>;

/// Reads doc `id`, writes what `change` makes of it, and on a 409 (another program wrote it
/// meanwhile) reads it again and asks `change` again. Returns the doc as saved, with its new
/// `_rev`, or nothing when `change` wrote nothing. Throws HttpError 409 after `attempts`
/// conflicts in a row, and what `change` and the database throw.
std::optional<nlohmann::json> update_document(Database& database, const std::string& id,
                                              const DocumentChange& change, int attempts = 100);

} // namespace edw
