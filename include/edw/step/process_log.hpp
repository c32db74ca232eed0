// ProcessLog: reading and extending a document's `process` array, the record of its steps.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace edw {

/// Where a step picks documents up: after another step, or as new documents (`[0, _id]`).
class StepPosition {
public:
    /// The position of new documents, whose `process` is empty.
    static StepPosition new_document() { return StepPosition(std::string()); }
    /// The position of documents whose last `process` entry is `step`.
    static StepPosition after(std::string step) { return StepPosition(std::move(step)); }

    [[nodiscard]] bool is_new_document() const noexcept { return m_step.empty(); }
    [[nodiscard]] const std::string& step() const noexcept { return m_step; }
    /// The first element of this position's `lastproc` keys: 0, or the step name.
    [[nodiscard]] nlohmann::json key_prefix() const;
    /// The `last` parameter of the `with_process` filter: "0" or the step name.
    [[nodiscard]] std::string filter_value() const;

private:
    explicit StepPosition(std::string step)
        : m_step(std::move(step))
    {}
    std::string m_step;
};

/// The key the `lastproc` view emits for `doc`: `[0, _id]`, `[last step name, _id]`, or nothing
/// when the view leaves the doc out (status not "good", no conditions, no process array, a last
/// entry without a name, a deleted doc). Mirrors design-docs/process/views/lastproc/map.js.
std::optional<nlohmann::json> lastproc_key(const nlohmann::json& doc);

/// True when `doc` is in the `lastproc` view at `position`: the step after it should run.
bool is_waiting_at(const nlohmann::json& doc, const StepPosition& position);

/// A first, cheap look at a doc's JSON text, with no document tree built: false only when the
/// doc cannot be waiting at `position` because its `process` array does not end there (the rule
/// of the with_process filter). A listener reading an unfiltered feed skips most docs with it;
/// is_waiting_at on the parsed doc still decides for the others. Text that does not parse gives
/// true, so that the parse reports it.
bool may_be_waiting_at(std::string_view doc_json, const StepPosition& position);

/// Where a doc's JSON text says it may wait, read as may_be_waiting_at reads it, once for all
/// the steps a shared feed serves: `unknown` when the text does not parse (the full check
/// decides), `nowhere` when no position fits (no process array, a last entry without a name).
struct TextPosition {
    enum class Kind { unknown, nowhere, new_document, after };
    Kind kind = Kind::unknown;
    std::string step; ///< With `after`: the last entry's name.

    /// Whether a doc at this position may wait at `position` (true when unknown).
    [[nodiscard]] bool may_be(const StepPosition& position) const;
};
TextPosition text_position(std::string_view doc_json);

/// True when any entry of `doc`'s process array is named `step`.
bool has_step(const nlohmann::json& doc, std::string_view step);

/// The field of a `process` entry naming the version of the step that wrote it.
inline constexpr const char* step_version_field = "step_version";

/// `doc` with `{"name": step, ...result, "step_version": version, "date": date}` appended to its
/// `process` array (`step_version` only when `version` is not empty). The result's own `name`,
/// `step_version` and `date`, if any, are replaced. Throws JsonError when `result` is not an
/// object or `doc` has no `process` array.
nlohmann::json append_step(nlohmann::json doc, std::string_view step, const nlohmann::json& result,
                           std::string_view date, std::string_view version = {});

/// What to do with a step's result after its write met a 409 and the doc was read again.
enum class ConflictDecision {
    reapply,           ///< Still waiting at the step: append the result to the fresh doc.
    already_recorded,  ///< Another writer recorded this step: drop our result.
    no_longer_waiting, ///< The doc moved elsewhere (edited, reset, bad status): drop our result.
};

/// Decides from the doc as it is now (`fresh`, empty when it was deleted).
ConflictDecision decide_after_conflict(const std::optional<nlohmann::json>& fresh,
                                       std::string_view step, const StepPosition& position);

} // namespace edw
