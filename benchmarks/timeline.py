"""Where one `w2v train` run's wall time goes: start-up, counting, training and writing, by timestamps.

    python benchmarks/timeline.py --corpus /tmp/wiki8-lines.txt --repeat 3
    python benchmarks/timeline.py --corpus /tmp/wiki8-lines.txt --repeat 3 -- --epochs 5 --threads 2

Each run is a child process that runs ``w2v train CORPUS -o OUT -q --force`` through ``w2v.cli.main``
(``--epochs 1 --threads 2`` unless other options follow ``--``), with timestamps taken around the
steps of a run and around every call of the counting and training kernels, in each thread. Not a
profiler: nothing is sampled, and the stamps cost microseconds a call (some 200 calls a run). It says

* when each step ended, from the child's start: the command line imported (NumPy, click), Numba
  imported, the counting kernels loaded (Numba readies its typing and target registries the first
  time a cached function loads), the counting pass, the training kernel loaded, training, writing;
* how busy the threads were in the counting pass (counting, merging, copying to the spool) and in
  training (each thread's time in the kernel, and what it waited between its chunks and at the end).

The wall time of the whole child, timed from outside, is beside them; the difference to the last
stamp is the interpreter's start before the child's first line, and its exit. Python's bytecode of
``w2v`` is written first (``compileall``), as ``pip install`` does. The stamps hook private names of
``w2v`` (the test of this script runs it on the sample corpus, so a renaming is caught there).
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from timing import result_name, write_result  # noqa: E402

CHILD = r"""
import json, sys, threading, time
T0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
stamps, calls = {}, []  # step -> seconds from T0; (thread, kind, start, end)


def now():
    return time.perf_counter() - T0


def stamped(owner, name, step):
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        finally:
            stamps.setdefault(step, now())
    setattr(owner, name, wrapper)


def timed(owner, name, kind):
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = now()
        try:
            return original(*args, **kwargs)
        finally:
            calls.append((threading.get_ident(), kind, start, now()))
    setattr(owner, name, wrapper)


import w2v.cli as cli
stamps["command line imported"] = now()
from w2v import encode, kernels, scan, training, vectors
stamped(cli, "_numba_without_scipy_blas", "Numba imported")
stamped(scan, "prepare", "counting kernels loaded")
stamped(training, "count_and_spool_vocabulary", "counted (vocabulary built)")
stamped(training, "_prepare_kernel", "training kernel loaded")
stamped(vectors.Vectors, "save", "vectors written")
timed(kernels, "count_tokens_ids", "count")
timed(kernels, "table_merge_map", "merge")
timed(kernels, "table_merge_shard", "merge")  # from four threads up (w2v.scan.SHARDED_FROM_THREADS), on the
timed(kernels, "table_join_shard", "merge")  # shards' own threads too, which the counting threads then include
timed(encode._Sink, "fill_mapped", "spool")
submit = training._Run._submit


def submit_timed(self, pool, epoch, i):
    kernel = self.kernel

    def chunk(*args):
        start = now()
        try:
            return kernel(*args)
        finally:
            calls.append((threading.get_ident(), "train", start, now()))
    self.kernel = chunk
    try:
        return submit(self, pool, epoch, i)
    finally:
        self.kernel = kernel


training._Run._submit = submit_timed
sys.argv = ["w2v", "train", sys.argv[2], "-o", sys.argv[3], "-q", "--force"] + json.loads(sys.argv[4])
try:
    cli.main()
except SystemExit as stop:
    if stop.code:
        raise
stamps["done"] = now()
print(json.dumps({"stamps": stamps, "calls": calls}))
"""

#: The steps in the order a run takes them, as the child names them.
STEPS = ["command line imported", "Numba imported", "counting kernels loaded", "counted (vocabulary built)",
         "training kernel loaded", "trained", "vectors written", "done"]


def summarise(stamps: dict, calls: list) -> dict:
    """One run's numbers: the steps' ends, and the threads' busy time in the counting pass and training."""
    row = dict(stamps)
    loaded = stamps.get("counting kernels loaded", 0.0)  # (loading them calls them once on a few bytes)
    row.update(passes([c for c in calls if c[2] >= loaded], ("count", "merge", "spool"), "counting"))
    row.update(passes(calls, ("train",), "training"))
    if "training last end" in row:
        row["trained"] = row["training last end"]
    return row


def passes(calls: list, kinds: tuple, label: str) -> dict:
    """For the calls of ``kinds``: the first start, the last end, each thread's busy seconds (per kind
    and in all), and how long the threads waited in the span (the span times the threads, minus busy)."""
    mine = [c for c in calls if c[1] in kinds]
    if not mine:
        return {}
    threads = sorted({c[0] for c in mine})
    first, last = min(c[2] for c in mine), max(c[3] for c in mine)
    out = {f"{label} first start": first, f"{label} last end": last, f"{label} threads": len(threads),
           f"{label} calls": len(mine)}
    for kind in kinds if len(kinds) > 1 else ():
        out[f"{label} {kind} s"] = sum(c[3] - c[2] for c in mine if c[1] == kind)
    busy = [sum(c[3] - c[2] for c in mine if c[0] == t) for t in threads]
    out[f"{label} busy s"] = sum(busy)
    out[f"{label} waited s"] = len(threads) * (last - first) - sum(busy)
    ends = sorted(max(c[3] for c in mine if c[0] == t) for t in threads)
    out[f"{label} end spread s"] = ends[-1] - ends[0]  # the first thread done waits this long for the last
    return out


def run_child(corpus: str, out: str, options: list) -> dict:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, ROOT, corpus, out, json.dumps(options)],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"timeline: the run failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    row = summarise(result["stamps"], result["calls"])
    row["wall s (from outside)"] = wall
    return row


def markdown(rows: list, command: str, options: list) -> list:
    lines = [f"# {__doc__.splitlines()[0]}", "",
             f"`{command}` (`w2v train CORPUS -o OUT -q {' '.join(options)}`; seconds from the child's first line; "
             f"{len(rows)} runs)", "",
             "| step ended at (s) | " + " | ".join(f"run {i + 1}" for i in range(len(rows))) + " | median |",
             "|---" * (len(rows) + 2) + "|"]
    keys = [k for k in STEPS if any(k in r for r in rows)] + ["wall s (from outside)"]
    keys += [k for k in rows[0] if k not in keys]
    for key in keys:
        values = [r.get(key) for r in rows]
        known = [v for v in values if v is not None]
        if not known:
            continue
        cells = ["" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v)) for v in values]
        median = statistics.median(known)
        integers = all(isinstance(v, int) for v in known)
        median = f"{median:g}" if integers else f"{median:.3f}"
        lines.append(f"| {key} | " + " | ".join(cells) + f" | {median} |")
    return lines


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    command = "python benchmarks/timeline.py " + " ".join(argv)
    options = ["--epochs", "1", "--threads", "2"]
    if "--" in argv:
        options, argv = argv[argv.index("--") + 1:], argv[:argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--name", type=result_name, default="timeline")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.corpus):
        parser.error(f"--corpus {args.corpus}: no such file")
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat}: must be at least 1")
    compileall.compile_dir(os.path.join(ROOT, "w2v"), quiet=1)
    rows = []
    with tempfile.TemporaryDirectory(prefix="w2v-timeline-") as folder:
        out = os.path.join(folder, "v.bin")
        run_child(os.path.join(ROOT, "corpora", "sample.txt"), out, options)  # kernels into Numba's cache, untimed
        for _ in range(args.repeat):
            rows.append(run_child(args.corpus, out, options))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    write_result(args.name, markdown(rows, command, options))
    return rows


if __name__ == "__main__":
    main()
