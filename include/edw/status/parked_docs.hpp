// ParkedDocs: finding the docs parked after their last failed attempt, and putting them back.
#pragma once

#include <edw/db/database.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace edw {

/// Every doc parked (at `step`, or at any step when it is empty), read through the design doc's
/// `status` view: a parked doc's status is "failed:<step>", and the view is keyed by status.
/// A database without that view (a workflow of states, with only `_design/states`) is read
/// whole, a page at a time.
std::vector<nlohmann::json> parked_docs(Database& database, const std::string& design,
                                        const std::string& step);

/// Puts `doc` (as read) back into the pipeline and saves it, reading it again after a 409 (a
/// listener or another tool wrote it). False when it is not parked (at `step`, when given).
/// Throws HttpError when it keeps changing, and what the writes throw.
bool put_back_parked(Database& database, nlohmann::json doc, const std::string& step);

} // namespace edw
