"""The exceptions edw raises.

Every one is an :class:`edw.Error` and carries ``exit_status``: the status an ``edw`` command
would exit with for the same trouble (2 bad settings, 65 bad data, 69 server unreachable,
74 local file, 76 server error, 77 credentials refused), so a script can end with
``sys.exit(error.exit_status)``.
"""


class Error(Exception):
    """Base of every edw error. ``exit_status``: what a command exits with for it."""

    exit_status = 1


class ConfigError(Error):
    """Settings (edw.ini, EDW_* variables) or arguments that cannot be used."""

    exit_status = 2


class DataError(Error):
    """JSON that is not JSON, or a document of the wrong shape."""

    exit_status = 65


class UnavailableError(Error):
    """The server could not be reached, or the connection broke."""

    exit_status = 69


class StoreError(Error):
    """A local file failed: the embedded store, a log file, a lock, a full disk."""

    exit_status = 74


class HttpError(Error):
    """The server answered with an error: ``status`` (HTTP), ``error`` and ``reason`` (CouchDB's)."""

    exit_status = 76
    status = 0
    error = ""
    reason = ""


class NotFound(HttpError):
    """404: no such database, document, design doc or view."""


class Conflict(HttpError):
    """409: the document changed since it was read; read it again and redo the change."""
