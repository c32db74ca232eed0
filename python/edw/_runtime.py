"""What the C++ runtime calls: the step trampoline and the log stream for print()."""

import io
import sys
import threading
import traceback

from . import _core

# The step and doc a thread's callback is working on, for the lines it prints.
_context = threading.local()

# A traceback tail recorded on a doc: the end of it says what went wrong and where.
_DETAIL_LIMIT = 2048


def failure_of(error):
    """(message, detail) of an exception: its last line, and the end of its traceback."""
    message = "".join(traceback.format_exception_only(type(error), error)).strip()
    detail = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    if len(detail) > _DETAIL_LIMIT:
        detail = "..." + detail[-_DETAIL_LIMIT:]
    return message.splitlines()[-1] if message else type(error).__name__, detail


def make_invoke(step_name, function):
    """The callable the runtime calls per doc: (True, result) or (False, message, detail)."""

    def invoke(doc):
        _context.where = "step %s on doc %s: " % (step_name, doc.get("_id", "?"))
        try:
            return (True, function(doc))
        except Exception as error:  # any failure of the step is the doc's, never the daemon's
            message, detail = failure_of(error)
            return (False, message, detail)
        finally:
            # A line printed without its end (print(..., end="")) is logged with this doc.
            for stream in (sys.stdout, sys.stderr):
                if type(stream) is LogStream:
                    stream.flush()
            _context.where = ""

    return invoke


def make_task_invoke(function):
    """A periodic task: its exceptions logged (with the traceback) by the runtime."""

    def invoke():
        try:
            function()
        except Exception as error:
            message, detail = failure_of(error)
            _core.log("error", detail.rstrip())
            raise

    return invoke


class LogStream(io.TextIOBase):
    """sys.stdout / sys.stderr while steps run: each line printed becomes a log line, naming
    the step and doc when printed from a callback, and never reaches a step's result."""

    def __init__(self, level):
        super().__init__()
        self._level = level
        self._pending = threading.local()

    def writable(self):
        return True

    def write(self, text):
        pending = getattr(self._pending, "text", "") + text
        *lines, rest = pending.split("\n")
        self._pending.text = rest
        where = getattr(_context, "where", "")
        for line in lines:
            _core.log(self._level, where + line)
        return len(text)

    def flush(self):
        rest = getattr(self._pending, "text", "")
        if rest:
            self._pending.text = ""
            _core.log(self._level, getattr(_context, "where", "") + rest)
