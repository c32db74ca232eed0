"""Benchmarks of Python steps (``python3 -m edw.bench --help``).

  step      one listener of ``edw bench pipeline --python``'s synthetic pipeline, with a
            trivial Python callback; run by the bench, not by hand
  overhead  what a Python callback costs per doc, beside a C++ one, through the runtime's
            own call path (doc into Python, the call, the result back, the GIL); prints JSON
"""

import argparse
import json
import sys

from . import Step, _core

# An EDELWEISS doc after move_to_sps: what signal_processing gets.
EDELWEISS_DOC = {
    "_id": "ma22a000_000", "_rev": "2-8f3c9d0a1b2c3d4e5f60718293a4b5c6", "status": "good",
    "run": "ma22a000", "datecreated": 1765000000.5, "md5sum": "0" * 32,
    "original_file": "/mnt/data/ma22a000_000.root",
    "conditions": {"volts": {"detector_a": [8, -8, 2, -2], "detector_b": [4, -4, 1.5, -1.5]},
                   "temperature": 0.0153},
    "process": [{"name": "move_to_sps", "hostname": "ccage", "md5sum": "0" * 32,
                 "file": "/sps/edelweiss/data/ma22a000_000.root",
                 "log": "copied /mnt/data/ma22a000_000.root to ccage", "date": "2026-12-07T04:00:00Z"}],
}


def trivial(doc):
    """The bench's work: nothing, so that what is measured is edw and the database."""
    return {"bench": True}


def run_step(arguments):
    # One step, or several in a chain ("step3,step4") on one feed.
    steps = []
    after = arguments.follows or None
    for name in arguments.name.split(","):
        steps.append(Step(trivial, name, after=after))
        after = name
    return _core.bench_listener(arguments.config, steps, arguments.jobs, arguments.batch_size,
                                arguments.feed_filter, arguments.log_level)


def run_overhead(arguments):
    step = Step(trivial, "bench")
    figures = {"bench": "python-callback", "docs": arguments.count}
    for threads in sorted({1, arguments.threads}):
        python = _core.time_python_step(step, EDELWEISS_DOC, arguments.count, threads)
        cpp = _core.time_cpp_step(EDELWEISS_DOC, arguments.count, threads)
        figures["threads_%d" % threads] = {
            "python_us_per_doc": round(python / arguments.count * 1e6, 2),
            "cpp_us_per_doc": round(cpp / arguments.count * 1e6, 2),
            "python_overhead_us_per_doc": round((python - cpp) / arguments.count * 1e6, 2),
        }
    print(json.dumps(figures))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m edw.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    step = commands.add_parser("step", help="one listener of the synthetic pipeline")
    step.add_argument("--config")
    step.add_argument("--name", required=True)
    step.add_argument("--follows", default="")
    step.add_argument("--jobs", type=int, default=1)
    step.add_argument("--batch-size", type=int, default=200)
    step.add_argument("--feed-filter", default="auto")
    step.add_argument("--log-level", default="info")
    overhead = commands.add_parser("overhead", help="a Python callback's cost per doc")
    overhead.add_argument("-n", "--count", type=int, default=200000, help="calls (200000)")
    overhead.add_argument("--threads", type=int, default=2, help="threads calling (2)")
    arguments = parser.parse_args(argv)
    if arguments.command == "step":
        return run_step(arguments)
    return run_overhead(arguments)


if __name__ == "__main__":
    sys.exit(main())
