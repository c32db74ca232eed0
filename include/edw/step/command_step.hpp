// CommandStep: a step that runs an external program, so steps can be written in any language.
#pragma once

#include <edw/step/step.hpp>
#include <edw/util/error.hpp>

#include <chrono>
#include <string>

namespace edw {

/// A failed step with more to say than its message: a command's stderr tail, a traceback.
class StepFailure : public Error {
public:
    StepFailure(const std::string& what, std::string detail)
        : Error(what)
        , m_detail(std::move(detail))
    {}
    [[nodiscard]] const std::string& detail() const noexcept { return m_detail; }

private:
    std::string m_detail;
};

struct CommandStepOptions {
    std::string name;                                    ///< The step's name.
    StepPosition follows = StepPosition::new_document(); ///< Where its docs wait.
    std::string command;                                 ///< Run by /bin/sh -c.
    std::chrono::milliseconds timeout{std::chrono::hours(1)};
    std::size_t max_output = 16 * 1024 * 1024; ///< Largest stdout taken as a result.
};

/// The step runs `command` once per doc: the doc goes to its stdin as JSON, and its stdout must
/// be one JSON object, the fields of the `process` entry. A non-zero exit, a signal, output that
/// is not a JSON object, or a run longer than `timeout` (the command's whole process group is
/// then killed) throws StepFailure with the last 2 KiB of stderr as detail. The command gets
/// EDW_STEP and EDW_DOC_ID in its environment.
Step command_step(CommandStepOptions options);

} // namespace edw
