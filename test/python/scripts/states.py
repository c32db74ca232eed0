"""A workflow of states (ALMA's kind): docs in state Ready move to Processed, with a periodic
task that writes a marker file once before the steps start and then every 0.2 s."""
import os
import sys

import edw

MACHINE = {
    "field": "state",
    "history": "state_history",
    "initial": ["Ready"],
    "states": {"Ready": ["Processed"], "Processed": []},
}
MARKER = os.path.join(os.getcwd(), "task-ran")


@edw.periodic(every=0.2)
def heartbeat():
    with open(MARKER, "a") as marker:
        marker.write("x")


@edw.step("process", selector={"state": "Ready"}, states=MACHINE, by="states-test")
def process(doc):
    return {"to": "Processed", "changes": {"size": len(doc["_id"])}, "note": "done"}


if __name__ == "__main__":
    edw.run(process, heartbeat)
