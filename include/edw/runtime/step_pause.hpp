// StepPause: a step paused by `edw pause`, for every worker of it, stored in the database.
#pragma once

#include <edw/db/database.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace edw {

/// A pause in force: when, by whom, why.
struct StepPause {
    std::string since; ///< ISO 8601.
    std::string by;    ///< user@host of the command that paused it.
    std::string reason;
};

/// The `_local` doc holding a step's pause. `_local`: never in a feed, a view or a replication,
/// and read by id by every worker of the step, on any machine.
std::string pause_doc_id(std::string_view step);

/// The pause of `step`, or nothing when it runs. Throws what the read throws.
std::optional<StepPause> read_pause(Database& database, std::string_view step);

/// Pauses `step` (`pause` set) or resumes it (empty) in its `_local` doc, written again after
/// a 409. Returns false when it was already so. Throws what the write throws.
bool write_pause(Database& database, std::string_view step, const std::optional<StepPause>& pause);

} // namespace edw
