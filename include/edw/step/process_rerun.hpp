// ProcessRerun: sending a doc back to wait at a step again, keeping what the step wrote before.
#pragma once

#include <edw/db/selector.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace edw {

/// The field keeping a doc's earlier runs: an array of {campaign, step, date, reason, by,
/// entries}, one per rerun that sent the doc back, `entries` being the `process` entries it took
/// out (the step's and those after it), oldest rerun first.
inline constexpr const char* reruns_field = "edw_reruns";

/// Which docs a rerun sends back to `step`: those with an entry of `step` in `process` that every
/// criterion given also chooses (the entry is the first of `step`, the one the rerun takes out).
// The optional members say `= std::nullopt` so that designated initializers may leave them out
// without GCC's -Wmissing-field-initializers (an error under -Werror).
struct RerunCriteria {
    std::string step;
    std::optional<nlohmann::json> selector = std::nullopt; ///< A Mango selector the doc must match.
    std::optional<std::set<std::string>> ids = std::nullopt;
    /// The step's entry is dated before this: ISO 8601 UTC text, any prefix of
    /// "YYYY-MM-DDTHH:MM:SS.sssZ" from the day on ("2026-12-01" means before that day began).
    std::optional<std::string> processed_before = std::nullopt;
    /// The step's entry was written by this version: its `step_version` is it, or starts with it
    /// and a space ("1.2" chooses "1.2 (git 3da8958)").
    std::optional<std::string> version = std::nullopt;

    /// The criteria as stored in a campaign record, and back. from_json throws JsonError naming
    /// what is wrong (a bad selector, a date that is not one).
    [[nodiscard]] nlohmann::json to_json() const;
    static RerunCriteria from_json(const nlohmann::json& criteria);
};

/// RerunCriteria compiled once (the selector), to judge many docs from several threads.
class RerunChooser {
public:
    /// Throws JsonError for an invalid selector or date, ConfigError for an empty step name.
    explicit RerunChooser(RerunCriteria criteria);

    [[nodiscard]] const RerunCriteria& criteria() const noexcept { return m_criteria; }
    /// Whether the criteria choose `doc` (a design or deleted doc never).
    [[nodiscard]] bool chooses(const nlohmann::json& doc) const;

private:
    RerunCriteria m_criteria;
    std::optional<Selector> m_selector;
};

/// The date given to --processed-before, checked and made comparable with entry dates: a
/// prefix of "YYYY-MM-DDTHH:MM:SS.sssZ" from the day on, without the final Z. Throws JsonError.
std::string normalize_rerun_date(std::string_view text);

/// Who sent a doc back, when and why, as its `edw_reruns` item says.
struct RerunMark {
    std::string campaign;
    std::string step;
    std::string date; ///< ISO 8601.
    std::string reason;
    std::string by;
};

/// True when an `edw_reruns` item of `doc` names `campaign`: that rerun sent it back already.
bool has_rerun_mark(const nlohmann::json& doc, std::string_view campaign);

/// The index of the first `process` entry named `step`, if any.
std::optional<std::size_t> first_entry_of(const nlohmann::json& doc, std::string_view step);

/// `doc` sent back to wait at `mark.step`: its `process` entries from the first of that step on
/// are moved into a new `edw_reruns` item, so the step and those after it run again. Its open
/// failures are marked retried (each step gets all its attempts again), a parked doc is put back
/// (it was parked at a step after those entries, which will run again), and a worker's claim is
/// dropped (its write will meet a 409 and find the doc elsewhere). Nothing when `doc` has no
/// entry of the step. Throws JsonError when the doc's `edw_reruns` is not an array.
std::optional<nlohmann::json> send_back(nlohmann::json doc, const RerunMark& mark);

} // namespace edw
