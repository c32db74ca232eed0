// CommandWorker: a step run by long-running programs, one line of JSON in and one out per doc.
#pragma once

#include <edw/step/command_step.hpp>

namespace edw {

/// The step keeps `options.command` running (by /bin/sh -c, in a process group of its own, with
/// EDW_STEP and EDW_WORKER=1 in its environment) as workers, one per call running at a time:
/// a call takes an idle worker or starts one, and gives it back when done.
///
/// A doc goes to the worker's stdin as one line of compact JSON; the answer is one line on its
/// stdout, a JSON object: the fields of the `process` entry. An answer holding `"edw_error"` (and
/// optionally `"detail"`) fails that doc with that message and keeps the worker. A worker that
/// ends or closes stdout before answering, answers with a line that is not a JSON object or is
/// longer than `max_output`, or takes longer than `timeout`, fails the doc with StepFailure
/// (detail: the last 2 KiB of its stderr during that doc); its process group is killed and the
/// next call starts another. Every line a worker writes to stderr is logged, as
/// `worker <pid> of step <name>: <line>`. When the last copy of the Step goes, the workers get end
/// of input, then 2 s to exit, then SIGKILL.
Step command_worker_step(CommandStepOptions options);

} // namespace edw
