#!/usr/bin/env python3
"""A third EDELWEISS step a user adds: after signal_processing, check the amplitudes file.

    python3 checksum.py --jobs 2

Its docs are those whose last process entry is signal_processing; what it returns becomes
the fields of a new `checksum` entry. A raised exception fails the doc (recorded on it,
retried, then parked: `edw failed` lists it).
"""

import hashlib
import os

import edw


def md5_of(path):
    digest = hashlib.md5()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@edw.step("checksum", after="signal_processing")
def checksum(doc):
    entry = doc["process"][-1]
    path = entry["file"]
    if os.path.exists(path):
        actual = md5_of(path)
        if actual != entry["md5sum"]:
            raise ValueError("%s: md5 %s, expected %s" % (path, actual, entry["md5sum"]))
        return {"md5sum": actual, "verified": True}
    # The demo's files are simulated: there is nothing on disk to read.
    print("no file %s here: recording the checksum as given" % path)
    return {"md5sum": entry["md5sum"], "verified": False}


if __name__ == "__main__":
    edw.run(checksum)
