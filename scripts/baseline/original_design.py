#!/usr/bin/env python3
"""The design edw replaces, rebuilt for side-by-side measurements (scripts/measure-python).

Each step is a thread that follows the continuous _changes feed from "now" through the
design doc's JavaScript filter (process/with_process, last=<previous step>), and for every
change asks the lastproc view for that doc (key=[previous step, _id], include_docs=true),
runs the step's function, appends its entry to the doc's process array and PUTs the doc: one
view query and one write per change, no batching, no checkpoint. Python standard library only.

Usage: original_design.py URL DB USER PASSWORD COUNT
Prints "ready" once both feeds are open, and "done" once COUNT docs got signal_processing.
"""

import base64
import hashlib
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request

URL, DB, USER, PASSWORD, COUNT = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
AUTH = "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
HOST = socket.gethostname()
finished = threading.Semaphore(0)
ready = threading.Barrier(3)


def request(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(URL + "/" + DB + path, data=data, method=method)
    req.add_header("Authorization", AUTH)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:
        if error.code == 409:
            return None  # another change of the doc is on its way through the feed
        raise


def move_to_sps(doc):
    moved = "/sps/edelweiss/data/" + os.path.basename(doc["original_file"])
    return {"hostname": HOST, "file": moved, "md5sum": doc.get("md5sum"),
            "log": "copied %s to %s:%s" % (doc["original_file"], HOST, moved)}


def signal_processing(doc):
    moved = doc["process"][-1]["file"]
    amplitudes = moved[:-5] + ".amp.root" if moved.endswith(".root") else moved + ".amp.root"
    md5 = hashlib.md5((amplitudes + "\n" + json.dumps(doc["process"][-1].get("md5sum")))
                      .encode()).hexdigest()
    return {"hostname": HOST, "file": amplitudes, "md5sum": md5,
            "log": "pulse amplitudes of %s written to %s" % (moved, amplitudes)}


def listen(step_name, previous, function, since):
    query = urllib.parse.urlencode({"feed": "continuous", "filter": "process/with_process",
                                    "last": previous, "since": since, "heartbeat": 5000})
    req = urllib.request.Request(URL + "/" + DB + "/_changes?" + query)
    req.add_header("Authorization", AUTH)
    with urllib.request.urlopen(req, timeout=120) as feed:
        ready.wait()
        for line in feed:
            if not line.strip():
                continue
            change = json.loads(line)
            if "id" not in change:
                continue
            key = json.dumps([0 if previous == "0" else previous, change["id"]])
            rows = request("GET", "/_design/process/_view/lastproc?reduce=false&include_docs=true"
                           "&key=" + urllib.parse.quote(key))["rows"]
            for row in rows:
                doc = row["doc"]
                entry = dict(function(doc), name=step_name,
                             date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
                doc["process"].append(entry)
                if request("PUT", "/" + urllib.parse.quote(doc["_id"], safe=""), doc) and \
                        step_name == "signal_processing":
                    finished.release()


def main():
    since = request("GET", "")["update_seq"]
    for args in (("move_to_sps", "0", move_to_sps), ("signal_processing", "move_to_sps",
                                                     signal_processing)):
        threading.Thread(target=listen, args=args + (since,), daemon=True).start()
    ready.wait()
    print("ready", flush=True)
    for _ in range(COUNT):
        finished.acquire()
    print("done", flush=True)


if __name__ == "__main__":
    main()
