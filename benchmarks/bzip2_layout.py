"""Finding the blocks of one large .bz2 file cut among n Dask workers: the whole file scanned by each
worker (as each did alone), against each worker scanning its share and the client laying them out.

    python benchmarks/bzip2_layout.py --file /tmp/wiki8x8.txt.bz2 --workers 2,4,8,16 --repeat 5

In this process, the file read once first (so the page cache holds it: the scan's own speed, not the
disk's). Each round times :func:`w2v.bzip2.blocks_of` on the whole file, then for each ``n`` every
share :func:`w2v.corpus.bzip2_scan_share` ``(path, k, n)`` one after the other and
:func:`w2v.bzip2.layout_of` of all their marks (the client's part). On a cluster the shares run at once,
one a worker, so a worker's time is its share's; the longest share is reported, and the layout is
checked equal to the whole scan's. The seconds of sending the shares' marks to the client and the
layout back to the workers are not in it (a mark is a small tuple; a 20 GB file has some 25,000 blocks).
"""
from __future__ import annotations

import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from compare import OneLineParser, at_least_one, existing_file, positive_ints, run_in_one_line  # noqa: E402
from timing import result_name, write_result  # noqa: E402


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=existing_file, required=True, help="a .bz2 file")
    parser.add_argument("--workers", default="2,4,8", help="comma-separated numbers of workers")
    parser.add_argument("--repeat", type=at_least_one, default=3)
    parser.add_argument("--name", type=result_name, default="bzip2-layout", help="results/NAME.md")
    args = parser.parse_args(argv)
    workers = positive_ints("--workers", args.workers)
    from w2v import bzip2
    from w2v.corpus import bzip2_scan_share
    with open(args.file, "rb") as raw:
        if raw.read(3) != b"BZh":
            parser.error(f"--file {args.file}: not a bzip2 file")
        while raw.read(1 << 24):  # into the page cache
            pass
        whole = bzip2.blocks_of(raw)
    if whole is None:
        parser.error(f"--file {args.file}: its layout is not certain (cut, damaged, or a mark by chance)")
    size = os.path.getsize(args.file)
    rows = []
    for run in range(1, args.repeat + 1):
        with open(args.file, "rb") as raw:
            started = time.perf_counter()
            bzip2.blocks_of(raw)
            rows.append(("whole file, each worker", 1, run, time.perf_counter() - started, 0.0))
        for n in workers:
            shares, seconds = [], []
            for k in range(n):
                started = time.perf_counter()
                shares.append(bzip2_scan_share(args.file, k, n))
                seconds.append(time.perf_counter() - started)
            started = time.perf_counter()
            blocks = bzip2.layout_of(shares[0][2], [mark for *_, marks in shares for mark in marks])
            client = time.perf_counter() - started
            if blocks != whole:
                raise SystemExit(f"the layout from {n} shares differs from the whole file's")
            rows.append(("a share each", n, run, max(seconds), client))
        print(rows[-1], flush=True)
    lines = [f"# The layout of one .bz2 file among workers ({size / 1e6:.1f} MB, {len(whole):,} blocks)", "",
             f"`python benchmarks/bzip2_layout.py --file {args.file} --workers {args.workers} --repeat {args.repeat}` "
             f"(one process, the file in the page cache; a worker's seconds: the whole scan, or its longest "
             f"share; the client's: laying out the shares' marks)", "",
             "| scan | workers | run | a worker's s | the client's s |", "|---|---|---|---|---|"]
    lines += [f"| {what} | {n} | {run} | {s:.3f} | {c:.3f} |" for what, n, run, s, c in rows]
    lines.append("")
    for what, n in [("whole file, each worker", 1)] + [("a share each", n) for n in workers]:
        mine = [(s, c) for w, m, _, s, c in rows if (w, m) == (what, n)]
        worker = statistics.median(s for s, _ in mine)
        lines.append(f"- {what}{'' if n == 1 else f', {n} workers'}: median {worker:.3f} s a worker "
                     f"({size / 1e6 / worker:.0f} MB/s of the file)"
                     + ("" if n == 1 else f", the client {statistics.median(c for _, c in mine):.3f} s"))
    write_result(args.name, lines)


if __name__ == "__main__":
    run_in_one_line(main, "bzip2_layout")
