"""move_to_sps that prints to stdout and stderr: both must reach the log, not the result."""
import sys

import edw


@edw.step("move_to_sps")
def move_to_sps(doc):
    print("looking at", doc["_id"])
    print("a warning about", doc["_id"], file=sys.stderr)
    return {"printed": True}


if __name__ == "__main__":
    edw.run(move_to_sps)
