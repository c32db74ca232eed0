// UpdateDocument: the read-change-write loop with 409 handling.
#include <edw/util/error.hpp>
#include <edw/workflow/update_document.hpp>

namespace edw {

std::optional<nlohmann::json> update_document(Database& database, const std::string& id,
                                              const DocumentChange& change, int attempts)
{
    for (int attempt = 0; attempt < attempts; ++attempt) {
        const auto current = database.get(id);
        auto updated = change(current);
        if (!updated) {
            return std::nullopt;
        }
        (*updated)["_id"] = id;
        if (current) {
            (*updated)["_rev"] = (*current)["_rev"];
        } else {
            updated->erase("_rev");
        }
        const auto saved = database.save(*updated);
        if (!saved.is_conflict()) {
            (*updated)["_rev"] = saved.rev;
            return updated;
        }
    }
    throw HttpError("cannot update doc " + id + " in " + database.describe() +
                        ": it keeps changing",
                    409, "conflict", "Document update conflict.");
}

} // namespace edw
