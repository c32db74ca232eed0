"""Python steps run as listener processes on the C++ runtime: exactly once, failures recorded
and retried, print() to the log, SIGTERM and kill -9, several workers, options and help."""

import os
import re
import signal
import subprocess
import sys

import pytest

import edw
from conftest import BACKEND, BIN, EXAMPLES, SCRIPTS, Pipeline, step_names, wait_until


def count_at(pipeline, names):
    return sum(1 for doc in pipeline.docs().values() if step_names(doc) == names)


def test_help_version_and_bad_options():
    script = os.path.join(EXAMPLES, "edelweiss.py")
    shown = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True)
    assert shown.returncode == 0
    for option in ("--config", "--jobs", "--lease", "--shard", "--since", "--daemon",
                   "--pidfile", "--log-file", "--metrics-port", "--step-timeout"):
        assert option in shown.stdout, option
    assert "move_to_sps, signal_processing" in shown.stdout
    version = subprocess.run([sys.executable, script, "--version"], capture_output=True,
                             text=True)
    assert version.returncode == 0 and "edelweiss (edw) 0." in version.stdout
    bad = subprocess.run([sys.executable, script, "--jobs", "0"], capture_output=True, text=True)
    assert bad.returncode == 2


def test_edelweiss_in_python_matches_the_cpp_listeners_exactly_once(tmp_path):
    # The same docs in two databases: the C++ listeners process one, Python the other.
    (tmp_path / "cpp").mkdir()
    (tmp_path / "py").mkdir()
    cpp, python = Pipeline(tmp_path / "cpp"), Pipeline(tmp_path / "py")
    try:
        cpp.edw("metadata", "make", "40")
        docs = [{k: v for k, v in doc.items() if k != "_rev"} for doc in cpp.docs().values()]
        assert all(r["ok"] for r in edw.open(python.config).bulk(docs))

        listeners = os.path.join(BIN, "listeners")
        for program in ("listen_newfiles", "listen_analysis1"):
            cpp.processes.append(subprocess.Popen(
                [os.path.join(listeners, program), "--config", cpp.config, "--lock-dir",
                 cpp.folder, "--log-file", os.path.join(cpp.folder, program + ".log")],
                cwd=cpp.folder))
        listener = python.start(os.path.join(EXAMPLES, "edelweiss.py"), "--jobs", "2")
        both = ["move_to_sps", "signal_processing"]
        wait_until(lambda: count_at(python, both) == 40, what="40 docs through Python")
        wait_until(lambda: count_at(cpp, both) == 40, what="40 docs through C++")
        assert python.stop(listener) == 0
        for process in cpp.processes:
            assert cpp.stop(process) == 0
        assert "starting steps move_to_sps, signal_processing" in python.log()

        by_cpp, by_python = cpp.docs(), python.docs()
        for doc_id, doc in by_python.items():
            assert step_names(doc) == both, doc_id
            for ours, theirs in zip(doc["process"], by_cpp[doc_id]["process"]):
                ours, theirs = dict(ours), dict(theirs)
                assert ours.pop("date") and theirs.pop("date")
                assert ours == theirs
    finally:
        cpp.close()
        python.close()


def test_a_callback_that_raises_is_recorded_then_retried(pipeline):
    pipeline.edw("metadata", "make", "10")
    listener = pipeline.start(os.path.join(SCRIPTS, "flaky.py"), "--retry-delay", "0.2",
                              "--max-attempts", "3", "--jobs", "2")
    wait_until(lambda: count_at(pipeline, ["move_to_sps"]) == 10, what="10 docs retried")
    assert pipeline.stop(listener) == 0
    for doc in pipeline.docs().values():
        assert doc["process"][0]["attempt"] == 2
        failures = doc["edw_failures"]
        assert len(failures) == 1
        assert re.search(r"ValueError: first attempt at \S+ fails", failures[0]["message"])
        assert "Traceback (most recent call last)" in failures[0]["detail"]
        assert "flaky.py" in failures[0]["detail"]
        assert doc["status"] == "good"


def test_a_callback_that_always_raises_is_parked_and_shown_by_edw_failed(pipeline):
    pipeline.edw("metadata", "make", "3")
    listener = pipeline.start(os.path.join(SCRIPTS, "always_fails.py"), "--max-attempts", "1")
    wait_until(lambda: sum(1 for d in pipeline.docs().values()
                           if d.get("status") == "failed:move_to_sps") == 3, what="3 parked")
    assert pipeline.stop(listener) == 0
    doc = next(iter(pipeline.docs().values()))
    assert "KeyError" in doc["edw_failures"][-1]["message"]
    assert "read_detector" in doc["edw_failures"][-1]["detail"]
    failed = pipeline.edw("failed")
    assert "3 docs parked" in failed
    assert "KeyError" in failed


def test_print_goes_to_the_log_never_into_the_result(pipeline):
    pipeline.edw("metadata", "make", "5")
    listener = pipeline.start(os.path.join(SCRIPTS, "printing.py"))
    wait_until(lambda: count_at(pipeline, ["move_to_sps"]) == 5, what="5 docs")
    assert pipeline.stop(listener) == 0
    out, err = listener.communicate()
    log = pipeline.log()
    for doc_id, doc in pipeline.docs().items():
        entry = doc["process"][0]
        assert set(entry) == {"name", "printed", "step_version", "date"}
        assert entry["step_version"] == edw.__version__  # none of its own: edw's
        assert "info: step move_to_sps on doc %s: looking at %s" % (doc_id, doc_id) in log
        assert "warning: step move_to_sps on doc %s: a warning about %s" % (doc_id, doc_id) in log
    assert "looking at" not in out


def test_a_step_records_its_version_and_step_version_overrides_it(pipeline):
    pipeline.edw("metadata", "make", "4")
    script = os.path.join(SCRIPTS, "versioned.py")
    listener = pipeline.start(script)
    wait_until(lambda: count_at(pipeline, ["move_to_sps"]) == 4, what="4 docs")
    assert pipeline.stop(listener) == 0
    assert {d["process"][0]["step_version"] for d in pipeline.docs().values()} == {"2.5"}
    assert "4 of" in pipeline.edw("rerun", "move_to_sps", "--version", "2.5", "--dry-run")

    pipeline.edw("rerun", "move_to_sps", "--all", "--reason", "3.0 is out")
    listener = pipeline.start(script, "--step-version", "3.0")
    wait_until(lambda: all(d["process"] and d["process"][0]["step_version"] == "3.0"
                           for d in pipeline.docs().values()), what="4 docs by 3.0")
    assert pipeline.stop(listener) == 0
    for doc in pipeline.docs().values():
        assert [e["step_version"] for e in doc["edw_reruns"][0]["entries"]] == ["2.5"]
        assert doc["edw_reruns"][0]["reason"] == "3.0 is out"


def test_jobs_run_callbacks_at_once_on_several_threads(pipeline):
    pipeline.edw("metadata", "make", "24")
    listener = pipeline.start(os.path.join(SCRIPTS, "concurrent.py"), "--jobs", "4")
    wait_until(lambda: count_at(pipeline, ["move_to_sps"]) == 24, what="24 docs")
    assert pipeline.stop(listener) == 0
    entries = [doc["process"][0] for doc in pipeline.docs().values()]
    assert max(entry["running_at_start"] for entry in entries) >= 2
    assert len({entry["thread"] for entry in entries}) >= 2


def test_sigterm_mid_run_stops_cleanly_and_a_restart_finishes_each_doc_once(pipeline):
    pipeline.edw("metadata", "make", "80")
    script = os.path.join(SCRIPTS, "slow.py")
    first = pipeline.start(script, "--jobs", "2")
    wait_until(lambda: count_at(pipeline, ["move_to_sps"]) >= 10, what="10 docs done")
    assert pipeline.stop(first) == 0
    assert "got SIGTERM" in pipeline.log()
    assert count_at(pipeline, ["move_to_sps"]) < 80, "stopped too late to test anything"
    second = pipeline.start(script, "--jobs", "2")
    wait_until(lambda: count_at(pipeline, ["move_to_sps"]) == 80, what="80 docs done")
    assert pipeline.stop(second) == 0
    assert all(step_names(doc) == ["move_to_sps"] for doc in pipeline.docs().values())


def test_kill_9_of_one_of_two_workers_sharing_a_step_loses_and_repeats_nothing(pipeline):
    pipeline.edw("metadata", "make", "100")
    script = os.path.join(SCRIPTS, "slow.py")
    one = pipeline.start(script, "--lease", "2", "--jobs", "2", "--name", "worker1",
                         log="worker1.log")
    two = pipeline.start(script, "--lease", "2", "--jobs", "2", "--name", "worker2",
                         log="worker2.log")
    wait_until(lambda: count_at(pipeline, ["move_to_sps"]) >= 20, what="20 docs done")
    one.send_signal(signal.SIGKILL)
    one.wait()
    wait_until(lambda: count_at(pipeline, ["move_to_sps"]) == 100, timeout=120,
               what="100 docs done after the kill")
    assert pipeline.stop(two) == 0
    docs = pipeline.docs()
    assert all(step_names(doc) == ["move_to_sps"] for doc in docs.values())
    assert all("edw_claim" not in doc for doc in docs.values())
    pids = {doc["process"][0]["pid"] for doc in docs.values()}
    assert pids == {one.pid, two.pid}, "both workers did some of the docs"


def test_a_workflow_of_states_with_a_periodic_task(pipeline):
    db = edw.open(pipeline.config)
    db.bulk([{"_id": "ous-%d" % i, "state": "Ready"} for i in range(6)] +
            [{"_id": "other", "state": "Elsewhere"}])
    listener = pipeline.start(os.path.join(SCRIPTS, "states.py"))
    wait_until(lambda: all(db.get("ous-%d" % i)["state"] == "Processed" for i in range(6)),
               what="6 docs moved")
    marker = os.path.join(pipeline.folder, "task-ran")
    wait_until(lambda: os.path.exists(marker) and len(open(marker).read()) >= 2,
               what="the periodic task ran twice")
    assert pipeline.stop(listener) == 0
    moved = db.get("ous-1")
    assert moved["size"] == len("ous-1")
    history = moved["state_history"][-1]
    assert (history["from"], history["to"], history["by"], history["note"]) == (
        "Ready", "Processed", "states-test", "done")
    assert db.get("other")["state"] == "Elsewhere"


@pytest.mark.skipif(BACKEND != "embedded", reason="installing once is enough")
def test_the_installed_package_imports_from_another_folder(tmp_path):
    prefix = tmp_path / "prefix"
    installed = subprocess.run(["cmake", "--install", BIN, "--prefix", str(prefix)],
                               capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    packages = list(prefix.glob("lib/python3*/dist-packages"))
    assert len(packages) == 1
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "edw.ini").write_text("[database]\nurl = file:data/store.db\nname = x\n")
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EDW_JS")}
    environment["PYTHONPATH"] = str(packages[0])
    subprocess.run([str(prefix / "bin" / "edw"), "db", "create"], cwd=elsewhere, check=True,
                   env=environment, capture_output=True)
    subprocess.run([str(prefix / "bin" / "edw"), "design", "push"], cwd=elsewhere, check=True,
                   env=environment, capture_output=True)
    check = ("import edw, os; print(edw.__file__); print(os.environ['EDW_JS']); "
             "edw.metadata_make(3); "
             "print(len(edw.open().view('process', 'lastproc', reduce=False)['rows']))")
    ran = subprocess.run([sys.executable, "-c", check], cwd=elsewhere, env=environment,
                         capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.split()
    assert lines[0].startswith(str(packages[0]))
    assert lines[1] == str(prefix / "bin" / "edw-js")
    assert lines[2] == "3"
