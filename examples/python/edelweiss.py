#!/usr/bin/env python3
"""The EDELWEISS pipeline's two steps in Python, on edw's runtime.

    python3 edelweiss.py --jobs 2              # both steps in one listener process
    python3 edelweiss.py --help                # the listener's options

The entries carry the original scripts' fields (hostname, file, md5sum, log), so docs
processed by the C++ listeners, the original scripts and this file stay interchangeable. Like the
C++ listeners without an [edelweiss] section in edw.ini, these steps simulate: they read and
write no file, and each entry's log says so.
"""

import hashlib
import os
import socket

import edw

HOSTNAME = socket.gethostname()
SPS_DATA = os.environ.get("EDELWEISS_SPS_DATA", "/sps/edelweiss/data")
NO_FILES = "no [edelweiss] data_directory is set: no file was read"


@edw.step("move_to_sps")
def move_to_sps(doc):
    """Moves the raw file of a new doc to the batch system (simulated: nothing is copied)."""
    original = doc["original_file"]
    moved = os.path.join(SPS_DATA, os.path.basename(original))
    return {
        "hostname": HOSTNAME,
        "file": moved,
        "md5sum": doc.get("md5sum"),  # a move keeps the bytes, and so the checksum
        "log": "simulated: %s would be copied to %s:%s (%s)" % (original, HOSTNAME, moved,
                                                                 NO_FILES),
    }


@edw.step("signal_processing", after="move_to_sps")
def signal_processing(doc):
    """Turns the moved file into its pulse amplitudes file (simulated)."""
    moved = doc["process"][-1]["file"]
    amplitudes = moved[: -len(".root")] if moved.endswith(".root") else moved
    amplitudes += ".amp.root"
    # Stands for the new file's checksum, which depends on its input's.
    source_md5 = doc["process"][-1].get("md5sum")
    md5 = hashlib.md5(("%s\n%s" % (amplitudes, _json_text(source_md5))).encode()).hexdigest()
    return {
        "hostname": HOSTNAME,
        "file": amplitudes,
        "md5sum": md5,
        "log": "simulated: pulse amplitudes of %s would be written to %s (%s)" % (
            moved, amplitudes, NO_FILES),
    }


def _json_text(value):
    # The C++ step hashes the JSON text of the checksum: '"abc..."', or 'null'.
    return "null" if value is None else '"%s"' % value


if __name__ == "__main__":
    edw.run(move_to_sps, signal_processing)
