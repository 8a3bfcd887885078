"""Writing vectors after training: word2vec binary and text files, their blocks made on one thread or several.

    python benchmarks/write_speed.py --words 200000 --dim 300 --formats txt --threads 1,2 --repeat 5
    python benchmarks/write_speed.py --words 6500000 --dim 100 --formats bin --threads 1,2 --repeat 3

``w2v train`` writes its vectors with the compiled writers of ``w2v.kernels`` (``format_text_rows``,
``binary_rows``), loaded by training; ``w2v.formats.write_vectors`` makes a file's blocks of rows on
``threads`` threads while the main thread writes the blocks before, in order. This script loads those
kernels as training does, makes a random float32 matrix (normal, scale 0.3, seeded) with words ``w0``,
``w1``, ..., and times ``write_vectors`` (checks, writing and the final fsync included) for each format
and thread count, rounds alternating the order of the thread counts. Each file's digest must be the
same for every thread count. The files go to a temporary folder (``--folder``), removed at the end.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from compare import BadArgument, OneLineParser, at_least_one, positive_ints, run_in_one_line  # noqa: E402
from timing import invocation, result_name, write_result  # noqa: E402

FORMATS = {"bin": "binary_rows", "txt": "format_text_rows"}


def file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()[:12]


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=at_least_one, default=200_000, help="rows of the matrix")
    parser.add_argument("--dim", type=at_least_one, default=300, help="columns of the matrix")
    parser.add_argument("--formats", default="bin,txt", help="comma-separated: bin, txt")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts to compare")
    parser.add_argument("--repeat", type=at_least_one, default=3, help="rounds, each timing every thread count")
    parser.add_argument("--folder", default=None, help="where the files are written (a temporary folder in it)")
    parser.add_argument("--name", type=result_name, default="write-speed")
    args = parser.parse_args(argv)
    formats = args.formats.split(",")
    if not formats or any(fmt not in FORMATS for fmt in formats) or len(set(formats)) != len(formats):
        raise BadArgument(f"--formats {args.formats}: give bin, txt or both, comma-separated")
    thread_counts = positive_ints("--threads", args.threads)
    if args.folder is not None and not os.path.isdir(args.folder):
        raise BadArgument(f"--folder {args.folder}: no such folder")

    from w2v import kernels  # the compiled writers, loaded as after training
    from w2v.formats import _compiled_rows, write_vectors
    matrix = (np.random.default_rng(0).standard_normal((args.words, args.dim)) * 0.3).astype(np.float32)
    words = [f"w{i}" for i in range(args.words)]
    compiled = {fmt: _compiled_rows(matrix, FORMATS[fmt]) is not None for fmt in formats}
    rows, digests, sizes = [], {}, {}
    scratch = tempfile.mkdtemp(prefix="w2v-write-speed-", dir=args.folder)
    try:
        warm = min(args.words, 1 << 18)
        for fmt in formats:  # the kernels loaded from Numba's cache before the first timing
            write_vectors(os.path.join(scratch, f"warm.{fmt}"), words[:warm], matrix[:warm], threads=1)
            getattr(kernels, FORMATS[fmt])
        for round_ in range(1, args.repeat + 1):
            for fmt in formats:
                for threads in (thread_counts if round_ % 2 else thread_counts[::-1]):
                    path = os.path.join(scratch, f"v.{fmt}")
                    start = time.perf_counter()
                    write_vectors(path, words, matrix, force=True, threads=threads)
                    seconds = time.perf_counter() - start
                    sizes[fmt] = os.path.getsize(path)
                    digests.setdefault((fmt, threads), file_digest(path))
                    os.remove(path)
                    rows.append((fmt, threads, round_, seconds))
                    print(f"{fmt} threads {threads} round {round_}: {seconds:.2f} s", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    lines = ["# Writing vectors: word2vec binary and text, blocks made on one thread or several", "",
             f"`{invocation(__file__, argv)}` ({args.words:,} × {args.dim} float32; `write_vectors` with the "
             f"compiled writers loaded, as after training, checks and fsync included; rounds alternate)", "",
             "| format | compiled writer | threads | round | seconds | MB/s |", "|---|---|---|---|---|---|"]
    for fmt, threads, round_, seconds in rows:
        lines.append(f"| {fmt} | {'yes' if compiled[fmt] else 'no'} | {threads} | {round_} | {seconds:.2f} | "
                     f"{sizes[fmt] / 1e6 / seconds:.0f} |")
    lines.append("")
    for fmt in formats:
        medians = {t: statistics.median(s for f, th, _, s in rows if f == fmt and th == t) for t in thread_counts}
        said = ", ".join(f"{t} thread(s) {m:.2f} s" for t, m in medians.items())
        first = thread_counts[0]
        ratios = ", ".join(f"{t} against {first}: {medians[first] / medians[t]:.2f}x"
                           for t in thread_counts[1:])
        lines.append(f"- {fmt} ({sizes[fmt] / 1e6:.0f} MB): medians {said}" + (f"; {ratios}" if ratios else ""))
        lines.append(f"  - digests: {sorted(set(d for (f, _), d in digests.items() if f == fmt))} "
                     f"(one digest: the same bytes on any number of threads)")
    write_result(args.name, lines)


if __name__ == "__main__":
    run_in_one_line(main, "write_speed.py")
