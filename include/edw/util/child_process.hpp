// ChildProcess: starting a helper program the way edw's child processes need it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace edw {

/// Starts `argv[0]` (looked up on PATH unless it holds a '/') with `input`, `output` and `errors`
/// as its standard streams (-1: inherit ours), `environment` added to ours (replacing ours of the
/// same name), an empty signal mask and default signal handling (a listener blocks signals for its
/// signal thread; a child must not inherit that), in a process group of its own (a terminal's
/// Ctrl-C does not reach it, and a timeout can end it with everything it started). Returns 0 and
/// sets `pid`, or the error number of the failure.
int spawn_child(pid_t& pid, const std::vector<std::string>& argv, int input, int output, int errors,
                const std::vector<std::string>& environment = {});

/// Ignores SIGPIPE unless the program set its own handler: writing to a child that has ended
/// then fails with EPIPE instead of ending the program.
void ignore_sigpipe();

} // namespace edw
