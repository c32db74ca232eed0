// RandomId: ids nobody else will pick, for new docs and replication sessions.
#pragma once

#include <string>

namespace edw {

/// 32 random lower-case hex digits (128 bits), as CouchDB's uuids look.
[[nodiscard]] std::string random_hex_id();

} // namespace edw
