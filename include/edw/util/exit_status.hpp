// ExitStatus: the exit status and the one-line message of a program that failed.
#pragma once

#include <exception>
#include <string_view>

namespace edw {

/// Exit statuses of every edw program (sysexits.h where one fits).
enum ExitStatus : int {
    exit_ok = 0,
    exit_failure = 1,        ///< Something failed that is none of the below.
    exit_usage = 2,          ///< Bad command line or settings file.
    exit_data = 65,          ///< EX_DATAERR: bad input data (a JSON file, a design doc).
    exit_unavailable = 69,   ///< EX_UNAVAILABLE: the server cannot be reached.
    exit_io = 74,            ///< EX_IOERR: a local file (log, pid file) failed.
    exit_locked = 75,        ///< EX_TEMPFAIL: another instance holds the lock.
    exit_protocol = 76,      ///< EX_PROTOCOL: the server answered with an error.
    exit_no_permission = 77, ///< EX_NOPERM: the server refused the credentials.
};

/// The exit status for `error` (an edw::Error or any other exception).
int exit_status_for(const std::exception& error) noexcept;

/// Prints `<program>: <message>` to standard error (credentials masked) and returns the exit
/// status for `error`. For use in the one catch of each main().
int report_failure(std::string_view program, const std::exception& error);

} // namespace edw
