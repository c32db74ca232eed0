// Database: helpers every backend shares, built on the interface alone.
#include "edw/db/database.hpp"

#include <edw/util/error.hpp>

namespace edw {

Seq update_seq_of(Database& database)
{
    const auto info = database.info();
    if (!info.contains("update_seq")) {
        throw JsonError("the info of " + database.describe() + " has no update_seq");
    }
    return Seq::from_json(info["update_seq"]);
}

} // namespace edw
