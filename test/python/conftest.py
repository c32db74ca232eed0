"""Fixtures of the Python package's tests: a scratch folder with an edw.ini for the backend
under test, the EDELWEISS design doc pushed, and helpers to run listener scripts.

EDW_TEST_BACKEND: "embedded" (a store file in the folder) or "server" (EDW_TEST_URL, with
EDW_TEST_USER / EDW_TEST_PASSWORD: the pouchdb-server ctest starts, or CouchDB through
test/couchdb/with-couchdb). EDW_BIN: the build folder; EDW_SOURCE_DIR: the source folder.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

BIN = os.environ["EDW_BIN"]
SOURCE = os.environ["EDW_SOURCE_DIR"]
BACKEND = os.environ.get("EDW_TEST_BACKEND", "embedded")
EDW = os.path.join(BIN, "tools", "edw")
EXAMPLES = os.path.join(SOURCE, "examples", "python")
SCRIPTS = os.path.join(SOURCE, "test", "python", "scripts")


class Pipeline:
    """A database with the EDELWEISS design doc, in a scratch folder with its edw.ini."""

    def __init__(self, folder):
        self.folder = str(folder)
        self.name = "edw-py-" + uuid.uuid4().hex[:10]
        self.processes = []
        if BACKEND == "embedded":
            ini = "[database]\nurl = file:%s/store.db\nname = %s\n" % (self.folder, self.name)
        else:
            ini = ("[database]\nurl = %s\nname = %s\nusername = %s\npassword = %s\n" % (
                os.environ.get("EDW_TEST_URL", "http://127.0.0.1:15984"), self.name,
                os.environ.get("EDW_TEST_USER", "edw-admin"),
                os.environ.get("EDW_TEST_PASSWORD", "edw-test-password")))
        ini += "heartbeat_ms = 1000\n"
        self.config = os.path.join(self.folder, "edw.ini")
        with open(self.config, "w") as file:
            file.write(ini)
        self.edw("db", "create")
        self.edw("design", "push", os.path.join(SOURCE, "design-docs", "process"))

    def edw(self, *arguments):
        """Runs the edw command in the folder; its stdout. A non-zero exit fails the test."""
        done = subprocess.run([EDW, "--config", self.config, *arguments], cwd=self.folder,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, "edw %s: %s%s" % (" ".join(arguments), done.stdout,
                                                       done.stderr)
        return done.stdout

    def start(self, script, *arguments, log="listener.log"):
        """Starts a listener script (python3 SCRIPT --config ... ARGUMENTS)."""
        environment = dict(os.environ)
        environment["PYTHONUNBUFFERED"] = "1"
        process = subprocess.Popen(
            [sys.executable, script, "--config", self.config, "--lock-dir", self.folder,
             "--log-file", os.path.join(self.folder, log), *arguments],
            cwd=self.folder, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        self.processes.append(process)
        return process

    def log(self, name="listener.log"):
        path = os.path.join(self.folder, name)
        return open(path).read() if os.path.exists(path) else ""

    def docs(self):
        """Every metadata doc (design docs left out), by id."""
        import edw

        rows = edw.open(self.config).all_docs(include_docs=True)["rows"]
        return {row["id"]: row["doc"] for row in rows if not row["id"].startswith("_design/")}

    def stop(self, process, sig=signal.SIGTERM, timeout=60):
        """Sends `sig` and returns the exit status."""
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError("the listener did not stop within %s s of %s" % (timeout, sig))
        return process.returncode

    def close(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        if BACKEND != "embedded":
            subprocess.run([EDW, "--config", self.config, "db", "delete", "--yes"],
                           cwd=self.folder, capture_output=True)


def wait_until(predicate, timeout=60, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("%s was not met within %s s" % (what, timeout))


def step_names(doc):
    return [entry["name"] for entry in doc.get("process", [])]


@pytest.fixture
def pipeline(tmp_path):
    made = Pipeline(tmp_path)
    yield made
    made.close()
