"""edw: processing steps written in Python, run by edw's C++ runtime.

A step is a function that takes a document (a dict, as read from the database) and returns
the fields its step records on it::

    import edw

    @edw.step("checksum", after="signal_processing")
    def checksum(doc):
        return {"md5sum": md5_of(doc["process"][-1]["file"])}

    if __name__ == "__main__":
        edw.run(checksum)

``python3 checksum.py --help`` lists the listener's options: the same as the C++ listeners'
(``--config``, ``--jobs``, ``--lease``, ``--shard``, ``--since``, ``--daemon``, ...), with the
same guarantees: catch-up after downtime, each doc's step recorded once, failures recorded
on the doc and retried, then parked.

For scripts: :func:`open` gives a :class:`Database` (``get``, ``put``, ``bulk``,
``all_docs``, ``view``, ``changes``); :func:`status` and :func:`metadata_make` do what
``edw status --json`` and ``edw metadata make`` do. Errors are :class:`edw.Error`
subclasses (see :mod:`edw.errors`) that carry the command-line ``exit_status``.
"""

import os
import sys

from . import _core
from ._runtime import LogStream, make_invoke, make_task_invoke
from .errors import (
    Conflict,
    ConfigError,
    DataError,
    Error,
    HttpError,
    NotFound,
    StoreError,
    UnavailableError,
)

__all__ = [
    "Step", "Task", "Database", "step", "periodic", "run", "open", "status", "metadata_make",
    "Error", "ConfigError", "DataError", "UnavailableError", "StoreError", "HttpError",
    "NotFound", "Conflict", "__version__",
]

__version__ = _core.version

if "EDW_JS" not in os.environ:
    # Installed: the embedded store's JavaScript engine sits in the prefix's bin/.
    try:
        from ._where import EDW_JS as _installed_edw_js

        if os.path.exists(_installed_edw_js):
            os.environ["EDW_JS"] = _installed_edw_js
    except ImportError:  # the build tree: the library knows where it built edw-js
        pass


class Task:
    """Timed work beside the steps (reload a definitions file, re-queue late items): runs once
    before the steps start, then every ``every`` seconds. Made by :func:`periodic`."""

    def __init__(self, function, every, name=None):
        if every <= 0:
            raise ConfigError("periodic task %s: every must be above 0 seconds" % name)
        self.function = function
        self.every = float(every)
        self.name = name or function.__name__
        self.invoke = make_task_invoke(function)

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)

    def __repr__(self):
        return "<edw.Task %s every %g s>" % (self.name, self.every)


class Step:
    """One processing step: what :func:`step` makes of a function. Calling it calls the
    function, so a step can be tested like any function: ``checksum({"_id": ...})``."""

    def __init__(self, function, name, after=None, selector=None, states=None, history=None,
                 by=None, periodic=(), version=None):
        if not name or not isinstance(name, str):
            raise ConfigError("a step needs a name (a non-empty string)")
        chosen = [what for what, given in (("after", after), ("selector", selector))
                  if given is not None]
        if len(chosen) > 1:
            raise ConfigError("step %s: give after or selector, not both" % name)
        if states is not None and history is not None:
            raise ConfigError("step %s: give states or history, not both" % name)
        if (states is not None or history is not None) and selector is None:
            raise ConfigError("step %s: states and history need a selector (which docs the "
                              "step takes)" % name)
        self.function = function
        self.name = name
        self.after = after
        self.selector = selector
        self.states = states
        self.history = history
        self.by = by
        self.periodic = list(periodic)
        self.version = str(version) if version is not None else package_version(function)
        self.invoke = make_invoke(name, function)
        self.__doc__ = function.__doc__
        self.__name__ = getattr(function, "__name__", name)

    def __call__(self, doc):
        return self.function(doc)

    def __repr__(self):
        where = ("after " + self.after if self.after else
                 "docs matching %r" % (self.selector,) if self.selector else "new docs")
        return "<edw.Step %s: %s>" % (self.name, where)


def package_version(function):
    """The ``__version__`` of the module defining ``function``, or of its top-level package:
    what a step records as its version when given none. None when neither has one."""
    module_name = getattr(function, "__module__", None) or ""
    for name in (module_name, module_name.split(".")[0]):
        version = getattr(sys.modules.get(name), "__version__", None)
        if version is not None:
            return str(version)
    return None


def step(name, after=None, *, selector=None, states=None, history=None, by=None, periodic=(),
         version=None):
    """Makes a function a processing step named ``name``.

    Which docs the step takes:
      - ``after="signal_processing"``: docs whose ``process`` array ends with that step;
      - neither ``after`` nor ``selector``: new docs (an empty ``process``), like
        ``move_to_sps``;
      - ``selector={"state": "ReadyForProcessing"}``: docs a Mango selector matches (ALMA,
        SKA, Gemini kinds of workflow).

    How its result is written:
      - by default the returned dict becomes the fields of a new entry
        ``{"name": name, ...result, "date": ...}`` at the end of the doc's ``process`` array
        (returning ``None`` records an entry with no fields of its own);
      - ``states=<definition>`` (a dict: ``field``, ``history``, ``initial``, ``states``; see
        the README): the result ``{"to": STATE, "changes": {...}, "note": ...}`` moves the doc
        to STATE, checked against the definition and recorded in its history;
      - ``history="updates"``: the result's fields are set on the doc and
        ``{step, changes, date, by}`` is appended to the array ``updates``.
    ``by`` names who made the move in those histories (default: the step's name).
    ``periodic``: :class:`Task` objects (see :func:`periodic`) run beside this step.
    ``version``: recorded as ``step_version`` in each ``process`` entry the step writes, so
    that ``edw rerun STEP --version V`` can run again what version V processed. Default: the
    ``__version__`` of the function's module or package, else edw's version; the listener's
    ``--step-version`` wins over both.

    The function gets the doc as a dict and returns a dict (JSON values: dict, list, str,
    int, float, bool, None; numpy arrays and scalars are turned into lists and numbers).
    Raising an exception fails the doc: the exception and the end of its traceback are
    recorded on it (``edw_failures``), it is tried again later, and parked as
    ``failed:<step>`` after the last attempt (``edw failed`` lists it, ``edw retry`` puts it
    back). ``print()`` inside it writes to the listener's log.
    """

    def decorate(function):
        return Step(function, name, after=after, selector=selector, states=states,
                    history=history, by=by, periodic=periodic, version=version)

    return decorate


def periodic(every, name=None):
    """Makes a function timed work: ``@edw.periodic(every=300)`` runs it once before the
    steps start, then every 300 seconds after its last run ended, on a thread of its own.
    An exception is logged with its traceback and the task runs again at its next time.
    Pass the task to :func:`run` (or to a step's ``periodic``)."""

    def decorate(function):
        return Task(function, every, name)

    return decorate


def run(*steps, argv=None, summary=None):
    """Runs the steps as a listener until SIGINT or SIGTERM, then exits the process with the
    listener's exit status (0 after a clean stop).

    The command line (``argv``, default ``sys.argv``) takes the C++ listeners' options:
    ``--config``, ``--name``, ``--jobs``, ``--since``, ``--lease``, ``--shard``,
    ``--step-timeout``, ``--max-attempts``, ``--retry-delay``, ``--daemon``, ``--pidfile``,
    ``--log-file``, ``--log-level``, ``--metrics-port``, ``--help``, ``--version``, ...
    The listener's name (its lock and checkpoint) defaults to the script's name without
    ``.py``. Several steps run in one process on one changes feed (one checkpoint), each on its
    own threads.
    ``--jobs N`` runs N callbacks of each step at once on N threads: Python code takes
    turns on the GIL, code that releases it (numpy, I/O) runs in parallel.
    :class:`Task` objects given here run beside the first step.
    """
    step_list = [s for s in steps if isinstance(s, Step)]
    tasks = [s for s in steps if isinstance(s, Task)]
    others = [s for s in steps if not isinstance(s, (Step, Task))]
    if others:
        raise ConfigError("edw.run takes steps made by @edw.step and tasks made by "
                          "@edw.periodic, not %r" % (others[0],))
    if not step_list:
        raise ConfigError("edw.run needs at least one step")
    names = [s.name for s in step_list]
    if len(set(names)) != len(names):
        raise ConfigError("edw.run: two steps are named alike: %s" % ", ".join(names))
    arguments = list(sys.argv if argv is None else argv)
    script = os.path.basename(arguments[0]) if arguments and arguments[0] else "edw-python"
    if script.endswith(".py"):
        script = script[:-3]
    arguments[0:1] = [script]
    if tasks:
        first = step_list[0]
        step_list[0] = Step(first.function, first.name, after=first.after,
                            selector=first.selector, states=first.states, history=first.history,
                            by=first.by, periodic=list(first.periodic) + tasks,
                            version=first.version)
    summary = summary or "Runs the Python step%s %s on edw's runtime" % (
        "s" if len(names) > 1 else "", ", ".join(names))
    sys.stdout.flush()
    sys.stderr.flush()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = LogStream("info"), LogStream("warning")
    try:
        status = _core.run_listener(arguments, summary, step_list)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = saved
    sys.exit(status)


class Database(_core.Database):
    """A CouchDB-style database: the one a settings file names (``config``, default
    ``./edw.ini``; ``EDW_*`` environment variables override it), on a server or in the
    embedded store. Safe to use from several threads.

    Methods (their keyword options are CouchDB's, e.g. ``include_docs=True``, ``limit=10``):
      - ``get(id)`` -> the doc as a dict, or None when missing or deleted;
      - ``put(doc)`` -> ``{"ok", "id", "rev"}``; raises :class:`Conflict` when ``_rev`` is
        not the latest;
      - ``delete(id, rev)``; ``bulk(docs)`` -> one ``{"ok", "id", "rev"}`` or
        ``{"id", "error", "reason"}`` per doc, in order;
      - ``all_docs(**query)``, ``view(design, view, **query)`` -> ``{"total_rows",
        "offset", "rows": [{"id", "key", "value", "doc"?}]}``;
      - ``changes(since=0, limit=None, include_docs=False, selector=None, filter=None,
        timeout=None)`` -> ``{"results": [...], "last_seq": ...}``; a seq is an opaque
        value: pass ``last_seq`` back as ``since``; ``timeout`` (seconds) waits for a change
        (longpoll);
      - ``info()``, ``create()``, ``describe()``, ``status()``, ``metadata_make(count)``.
    """


def open(config=None):  # noqa: A001 - edw.open reads as it should
    """The :class:`Database` that ``config`` (default ``./edw.ini``) names."""
    return Database(config)


def status(config=None):
    """Where the docs are, per step: what ``edw status --json`` prints, as a dict."""
    return open(config).status()


def metadata_make(count, run=None, config=None, batch=500):
    """Creates ``count`` EDELWEISS metadata docs for ``run`` (default: the run after the
    highest existing one), as ``edw metadata make`` does; returns ``{"run", "created",
    "refused"}``. Raises :class:`ConfigError` when ``run`` already has docs."""
    return open(config).metadata_make(count, run, batch)
