"""The package's API without listeners: steps as objects, JSON both ways, a Database for
scripts, status, metadata and the errors with their exit statuses."""

import math

import pytest

import edw
from conftest import BACKEND


def test_a_step_is_its_function_and_says_where_its_docs_wait():
    @edw.step("checksum", after="signal_processing")
    def checksum(doc):
        """Checks the file."""
        return {"n": len(doc["_id"])}

    assert checksum({"_id": "abc"}) == {"n": 3}
    assert checksum.name == "checksum" and checksum.after == "signal_processing"
    assert checksum.__doc__ == "Checks the file."
    assert "after signal_processing" in repr(checksum)
    assert "new docs" in repr(edw.step("move_to_sps")(lambda doc: {}))


def test_contradictory_step_definitions_are_refused():
    with pytest.raises(edw.ConfigError, match="after or selector"):
        edw.step("x", after="a", selector={"state": "b"})(lambda doc: {})
    with pytest.raises(edw.ConfigError, match="need a selector"):
        edw.step("x", states={"states": {}})(lambda doc: {})
    with pytest.raises(edw.ConfigError, match="a step needs a name"):
        edw.step("")(lambda doc: {})
    with pytest.raises(edw.ConfigError, match="above 0"):
        edw.periodic(every=0)(lambda: None)


def test_run_refuses_what_is_not_a_step():
    with pytest.raises(edw.ConfigError, match="not"):
        edw.run(lambda doc: {}, argv=["x"])
    with pytest.raises(edw.ConfigError, match="at least one step"):
        edw.run(argv=["x"])
    one = edw.step("same")(lambda doc: {})
    two = edw.step("same", after="a")(lambda doc: {})
    with pytest.raises(edw.ConfigError, match="named alike"):
        edw.run(one, two, argv=["x"])


def test_help_reads_well():
    assert "Raising an exception fails the doc" in edw.step.__doc__
    assert "--lease" in edw.run.__doc__
    assert "changes(" in edw.Database.__doc__
    assert edw.__version__.startswith("0.")


class ToList:
    """Stands for a numpy array: anything with tolist() is stored as its plain form."""

    def tolist(self):
        return [1.5, 2.5]


def test_json_values_cross_both_ways_unchanged(pipeline):
    db = edw.open(pipeline.config)
    doc = {
        "_id": "values",
        "text": "caf\u00e9 \u2713 \U0001F52D",
        # A JavaScript server (pouchdb-server) keeps numbers as doubles: exact to 2**53.
        "integers": [0, -1, 2**53 - 1] + (
            [2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1] if BACKEND == "embedded" else []),
        "floats": [1.5, -0.0, 1e-300, 6.02e23],
        "flags": [True, False, None],
        "nested": {"a": {"b": [{"c": []}, {}]}},
        "tuple": (1, "two"),
        "array": ToList(),
    }
    db.put(doc)
    back = db.get("values")
    assert back["text"] == doc["text"]
    assert back["integers"] == doc["integers"]
    assert back["floats"] == doc["floats"]
    assert back["flags"] == [True, False, None]
    assert isinstance(back["flags"][0], bool)
    assert back["nested"] == doc["nested"]
    assert back["tuple"] == [1, "two"]
    assert back["array"] == [1.5, 2.5]
    assert back["_rev"].startswith("1-")


@pytest.mark.parametrize("value, complaint", [
    (math.nan, "JSON cannot hold"),
    (math.inf, "JSON cannot hold"),
    ({1: "x"}, "keys are strings"),
    ({"s": {1, 2}}, "set, which is not JSON"),
    (2**64, "too large"),
])
def test_values_json_cannot_hold_are_refused_saying_where(pipeline, value, complaint):
    db = edw.open(pipeline.config)
    with pytest.raises(TypeError, match=complaint):
        db.put({"_id": "bad", "field": value})
    assert db.get("bad") is None


def test_documents_read_write_and_conflict(pipeline):
    db = edw.open(pipeline.config)
    assert db.get("missing") is None
    first = db.put({"_id": "d1", "n": 1})
    assert first["ok"] and first["id"] == "d1"
    with pytest.raises(edw.Conflict) as conflict:
        db.put({"_id": "d1", "n": 2})
    assert conflict.value.status == 409 and conflict.value.exit_status == 76
    assert isinstance(conflict.value, edw.HttpError) and isinstance(conflict.value, edw.Error)
    second = db.put({"_id": "d1", "_rev": first["rev"], "n": 2})
    assert db.get("d1")["n"] == 2
    db.delete("d1", second["rev"])
    assert db.get("d1") is None
    with pytest.raises(edw.DataError, match="_id"):
        db.put({"n": 3})


def test_bulk_all_docs_view_and_changes(pipeline):
    db = edw.open(pipeline.config)
    results = db.bulk([{"_id": "b%d" % i, "process": [], "status": "good"} for i in range(5)])
    assert [r["id"] for r in results] == ["b%d" % i for i in range(5)]
    assert all(r["ok"] for r in results)
    again = db.bulk([{"_id": "b0"}])
    assert again[0]["error"] == "conflict"

    page = db.all_docs(startkey="b", endkey="b\uffff", include_docs=True, limit=3)
    assert [row["id"] for row in page["rows"]] == ["b0", "b1", "b2"]
    assert page["rows"][0]["doc"]["status"] == "good"

    made = db.metadata_make(4)
    rows = db.view("process", "lastproc", reduce=False, startkey=[0], endkey=[0, {}])["rows"]
    assert sorted(row["id"] for row in rows) == ["%s_%03d" % (made["run"], i) for i in range(4)]

    first = db.changes(since=0)
    ids = {row["id"] for row in first["results"]}
    assert {"b0", "b4", made["run"] + "_000"} <= ids
    assert "last_seq" in first
    later = db.changes(since=first["last_seq"])
    assert later["results"] == []
    db.put({"_id": "after"})
    newer = db.changes(since=first["last_seq"], include_docs=True)
    assert [row["id"] for row in newer["results"]] == ["after"]
    assert newer["results"][0]["doc"]["_id"] == "after"
    waited = db.changes(since=newer["last_seq"], timeout=0.3)
    assert waited["results"] == []


def test_status_and_metadata_make(pipeline):
    made = edw.metadata_make(6, config=pipeline.config)
    assert made["created"] == 6 and made["refused"] == []
    status = edw.status(pipeline.config)
    move = next(step for step in status["steps"] if step["name"] == "move_to_sps")
    assert move["waiting"] == 6 and move["done"] == 0
    with pytest.raises(edw.ConfigError, match="already has docs") as refused:
        edw.metadata_make(2, run=made["run"], config=pipeline.config)
    assert refused.value.exit_status == 2
    assert edw.metadata_make(2, config=pipeline.config)["run"] != made["run"]


def test_bad_settings_are_a_config_error(tmp_path):
    with pytest.raises(edw.ConfigError) as error:
        edw.open(str(tmp_path / "no-such.ini"))
    assert error.value.exit_status == 2
    bad = tmp_path / "bad.ini"
    bad.write_text("[database]\nurl = gopher://x\nname = d\n")
    with pytest.raises(edw.ConfigError, match="gopher"):
        edw.open(str(bad))


@pytest.mark.skipif(BACKEND != "server", reason="the embedded store has no server to lose")
def test_wrong_password_and_missing_database(pipeline, tmp_path):
    # A user of its own: CouchDB locks an account out for minutes after a few failed logins.
    wrong = tmp_path / "wrong.ini"
    text = open(pipeline.config).read()
    wrong.write_text(text.replace("username = ", "username = edw-nobody-").replace(
        "password = ", "password = wrong-"))
    with pytest.raises(edw.HttpError) as refused:
        edw.open(str(wrong)).info()
    assert refused.value.status == 401 and refused.value.exit_status == 77
    assert "wrong-" not in str(refused.value)
    missing = tmp_path / "missing.ini"
    missing.write_text(text.replace("\nname = ", "\nname = no-such-"))
    with pytest.raises(edw.NotFound) as gone:
        edw.open(str(missing)).info()
    assert gone.value.status == 404


def test_an_unreachable_server_is_an_unavailable_error(tmp_path):
    # Port 1 on loopback: nothing listens, so every try is refused at once.
    config = tmp_path / "down.ini"
    config.write_text("[database]\nurl = http://127.0.0.1:1\nname = x\ntimeout_ms = 2000\n")
    with pytest.raises(edw.UnavailableError) as down:
        edw.open(str(config)).info()
    assert down.value.exit_status == 69
    assert "127.0.0.1:1" in str(down.value)
