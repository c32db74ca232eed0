// Step: one processing step of a pipeline, as a listener runs it.
#pragma once

#include <edw/process_log.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace edw {

/// A processing step: takes documents waiting at `follows`, runs `run` on each, and records its
/// result as a `process` entry named `name`, which moves the document on to the next step.
struct Step {
    std::string name;
    StepPosition follows = StepPosition::new_document();
    /// The work. Gets the document as read, returns the fields of its `process` entry as a JSON
    /// object. Throwing leaves the document where it is; the reason is logged.
    std::function<nlohmann::json(const nlohmann::json& doc)> run;
};

} // namespace edw
