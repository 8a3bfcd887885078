"""Reading several compressed files: MB/s of text out of the reading stage with 1, 2, ... reader threads.

    python benchmarks/read_speed.py --corpus /tmp/wiki8.txt --files 4 --readers 1,2 --repeat 3
    python benchmarks/read_speed.py --corpus /tmp/wiki8.txt --files 4 --compression bz2 --name read-speed-bz2

Cuts ``--corpus`` (plain text) at line ends into ``--files`` gzip (or bzip2) files in a new folder inside
``--folder`` (deleted afterwards), then times :func:`w2v.scan.pieces` over them, which reads and
decompresses, with each number of readers (one file each at a time, :func:`w2v.scan.read_sources`),
runs alternating. Nothing is counted, so this is the rate the passes could be fed at; on a machine
with more cores than this stage needs, it is what bounds the counting pass on compressed input. A
digest of the pieces shows every run read the same text.
"""
from __future__ import annotations

import bz2
import gzip
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from compare import (OneLineParser, at_least_one, existing_file, existing_folder, positive_ints,  # noqa: E402
                     run_in_one_line)
from timing import result_name, write_result  # noqa: E402


def split_compressed(corpus: str, files: int, folder: str, compression: str = "gz") -> list:
    """``corpus`` cut at line ends into ``files`` compressed files of about equal size in ``folder``."""
    opener = {"gz": gzip.open, "bz2": bz2.open}[compression]
    size = os.path.getsize(corpus)
    paths = []
    with open(corpus, "rb") as source:
        for i in range(files):
            path = os.path.join(folder, f"part{i:03d}.txt.{compression}")
            with opener(path, "wb") as out:
                want = size * (i + 1) // files - source.tell()
                out.write(source.read(max(0, want)))
                out.write(source.readline())  # to the end of the line
            paths.append(path)
    return paths


def read_once(paths: list, readers: int):
    from w2v import scan
    from w2v.corpus import Corpus
    digest, total = hashlib.sha1(), 0
    start = time.perf_counter()
    for piece in scan.pieces(Corpus(paths), "reading", readers=readers):
        total += len(piece)
        digest.update(piece[:64].tobytes())
    return time.perf_counter() - start, total, digest.hexdigest()[:12]


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=existing_file, required=True)
    parser.add_argument("--files", type=at_least_one, default=4)
    parser.add_argument("--readers", default="1,2")
    parser.add_argument("--repeat", type=at_least_one, default=3)
    parser.add_argument("--compression", choices=["gz", "bz2"], default="gz")
    parser.add_argument("--folder", type=existing_folder, default=tempfile.gettempdir())
    parser.add_argument("--name", type=result_name, default="read-speed")
    args = parser.parse_args(argv)
    readers = positive_ints("--readers", args.readers)
    sys.path.insert(0, ROOT)
    folder = tempfile.mkdtemp(dir=args.folder, prefix="w2v-read-")
    try:
        paths = split_compressed(args.corpus, args.files, folder, args.compression)
        compressed = sum(os.path.getsize(p) for p in paths)
        rows = []
        for rep in range(args.repeat):
            for r in readers:
                seconds, total, digest = read_once(paths, r)
                rows.append((r, rep + 1, seconds, total, digest))
                print(rows[-1], flush=True)
    finally:
        shutil.rmtree(folder)
    lines = ["# Reading several compressed files", "",
             f"`python benchmarks/read_speed.py --corpus {args.corpus} --files {args.files} --readers {args.readers} "
             f"--repeat {args.repeat} --compression {args.compression}` ({args.files} {args.compression} files, {compressed / 1e6:.1f} MB compressed, "
             f"{rows[0][3] / 1e6:.1f} MB of text; `w2v.scan.pieces`, reading and decompressing only; runs alternate)", "",
             "| readers | run | seconds | MB/s of text | digest |", "|---|---|---|---|---|"]
    lines += [f"| {r} | {rep} | {s:.2f} | {t / s / 1e6:.1f} | {d} |" for r, rep, s, t, d in rows]
    lines.append("")
    for r in readers:
        mb_s = [t / s / 1e6 for rr, _, s, t, _ in rows if rr == r]
        lines.append(f"- {r} reader(s): median {statistics.median(mb_s):.1f} MB/s")
    lines.append(f"- digests: {sorted({row[4] for row in rows})}")
    write_result(args.name, lines)


if __name__ == "__main__":
    run_in_one_line(main, "read_speed")
