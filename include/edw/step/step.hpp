// Step: one processing step of a pipeline, as a listener runs it.
#pragma once

#include <edw/step/periodic_task.hpp>
#include <edw/step/process_log.hpp>
#include <edw/step/state_machine.hpp>
#include <edw/step/step_selection.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edw {

/// Writes a step's result on the doc (as read, or as read again after a conflict) at `date`.
using StepRecorder = std::function<nlohmann::json(nlohmann::json doc, const nlohmann::json& result,
                                                  std::string_view date)>;

/// Other documents a step's doc waits on (SKA: a batch block waits for the blocks it depends on).
/// The doc runs only when `ready` says so; until then the runner re-evaluates it whenever one of
/// the docs `ids` names changes (or is deleted). Only for steps chosen by a selector or a
/// predicate, whose runner sees every change in the feed.
struct Dependencies {
    std::function<std::vector<std::string>(const nlohmann::json& doc)> ids;
    /// `dependencies[i]` is the doc named by `ids(doc)[i]`, or nothing when it does not exist.
    std::function<bool(const nlohmann::json& doc,
                       const std::vector<std::optional<nlohmann::json>>& dependencies)>
        ready;
};

/// A processing step: takes the documents waiting at it, runs `run` on each, and records its
/// result, which moves the document on: by default as a `process` entry named `name` (the
/// EDELWEISS way), or as `record` writes it (a state move, a field update).
struct Step {
    std::string name;
    /// The version of the step's code, recorded as `step_version` in each `process` entry it
    /// writes, so that `edw rerun --version` can find what a given version processed. Empty: the
    /// listener program fills in `--step-version` or its own version.
    std::string version;
    StepPosition follows = StepPosition::new_document();
    /// Which docs wait at the step; unset means those whose process array ends at `follows`.
    std::optional<StepSelection> selection;
    /// The work. Gets the document as read, returns the result as a JSON object: the fields of
    /// its `process` entry by default. Throwing leaves the document where it is; the failure is
    /// recorded on it and retried.
    std::function<nlohmann::json(const nlohmann::json& doc)> run;
    /// How the result is written; unset appends `{name, ...result, date}` to `process`. What it
    /// writes must take the doc out of the step's selection, or the step would run again.
    StepRecorder record;
    /// Docs this step's docs wait on; unset: none.
    std::optional<Dependencies> dependencies;
    /// Timed work beside the step: each task runs once before the catch-up (a definitions file
    /// is loaded before the first doc is judged by it), then on its timer, on a thread of its own.
    std::vector<PeriodicTask> periodic;

    /// `selection`, or the docs after `follows`.
    [[nodiscard]] StepSelection selection_or_position() const
    {
        return selection ? *selection : StepSelection::at(follows);
    }
};

/// A recorder for steps that move docs through `machine`: the callback's result is
/// `{"to": "<state>", "changes": {...}, "note": ...}` (changes and note optional), applied with
/// StateMachine::apply as `by` (the worker). A move the workflow does not allow throws
/// TransitionRefused, which the runner records as the doc's failure. (A doc another worker moved
/// meanwhile never gets here: after a 409 the runner re-reads it and writes only when the step
/// still selects it.)
StepRecorder record_state_move(StateMachine machine, std::string by);

/// A recorder for steps that update fields: the callback's result (an object) is set on the doc
/// at the top level, and `{step, changes, date, by}` appended to the array `history`. A result
/// of `{"_deleted": true}` deletes the doc (a tombstone, as CouchDB writes one). Throws
/// TransitionRefused for a result that is not an object or that sets `_id`, `_rev` or `history`.
StepRecorder record_field_update(std::string step, std::string history, std::string by);

} // namespace edw
