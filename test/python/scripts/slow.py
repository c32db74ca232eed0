"""move_to_sps taking 50 ms per doc (sleep releases the GIL), for stops and kills mid-run.

A thread started before edw.run stands for a library's pool (numpy's OpenBLAS starts one at
import): it does not block SIGTERM, so a SIGTERM may reach it, and must still stop the
listener cleanly instead of ending the process."""
import os
import threading
import time

import edw


@edw.step("move_to_sps")
def move_to_sps(doc):
    time.sleep(0.05)
    return {"pid": os.getpid()}


if __name__ == "__main__":
    threading.Thread(target=lambda: time.sleep(3600), daemon=True).start()
    edw.run(move_to_sps)
