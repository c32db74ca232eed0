"""move_to_sps noting how many of its callbacks run at once: with --jobs N, callbacks that wait
outside Python (time.sleep here, numpy or file reads in real steps) must overlap."""
import threading
import time

import edw

lock = threading.Lock()
running = 0


@edw.step("move_to_sps")
def move_to_sps(doc):
    global running
    with lock:
        running += 1
        now = running
    time.sleep(0.1)  # releases the GIL, as numpy and I/O do
    with lock:
        running -= 1
    return {"running_at_start": now, "thread": threading.get_ident()}


if __name__ == "__main__":
    edw.run(move_to_sps)
