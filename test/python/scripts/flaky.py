"""move_to_sps that fails each doc's first attempt, then succeeds: a retry must record it."""
import edw


@edw.step("move_to_sps")
def move_to_sps(doc):
    if not doc.get("edw_failures"):
        raise ValueError("first attempt at %s fails" % doc["_id"])
    return {"file": doc["original_file"], "attempt": 2}


if __name__ == "__main__":
    edw.run(move_to_sps)
