"""move_to_sps that says which version of it wrote each entry."""
import edw


@edw.step("move_to_sps", version="2.5")
def move_to_sps(doc):
    return {"seen": doc["_id"]}


if __name__ == "__main__":
    edw.run(move_to_sps)
