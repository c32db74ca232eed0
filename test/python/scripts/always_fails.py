"""move_to_sps that always fails, deep in a helper: the traceback must name it."""
import edw


def read_detector(doc):
    raise KeyError("detector_c missing in " + doc["_id"])


@edw.step("move_to_sps")
def move_to_sps(doc):
    return {"volts": read_detector(doc)}


if __name__ == "__main__":
    edw.run(move_to_sps)
