"""Reading several compressed files: MB/s of text out of the reading stage with 1, 2, ... reader threads.

    python benchmarks/read_speed.py --corpus /tmp/wiki8.txt --files 4 --readers 1,2 --repeat 3
    python benchmarks/read_speed.py --corpus /tmp/wiki8.txt --files 4 --compression bz2 --name read-speed-bz2
    python benchmarks/read_speed.py --corpus /tmp/wiki8.txt --files 10 --compression bz2 --bz2-readers blocks,standard

Cuts ``--corpus`` (plain text) at white space into ``--files`` gzip (or bzip2) files in a new folder inside
``--folder`` (deleted afterwards), then times :func:`w2v.scan.pieces` over them, which reads and
decompresses, with each number of readers (one file each at a time, :func:`w2v.scan.read_sources`),
runs alternating; with ``--bz2-readers blocks,standard``, each with w2v's block reader
(:mod:`w2v.bzip2`) and with the standard library's (one thread a file). Nothing is counted, so this is the rate the passes could be fed at; on a machine
with more cores than this stage needs, it is what bounds the counting pass on compressed input. A
digest of the pieces shows every run read the same text.
"""
from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import lzma
import os
import re
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from bzip2_blocks import standard_library_bzip2  # noqa: E402
from compare import (BadArgument, OneLineParser, at_least_one, existing_file, existing_folder,  # noqa: E402
                     positive_ints, run_in_one_line)
from timing import result_name, write_result  # noqa: E402


def _to_white_space(source) -> bytes:
    """The bytes of ``source`` (a binary file) up to and including its next white space, or to its end."""
    taken = b""
    while True:
        chunk = source.read(1 << 12)
        space = re.search(rb"\s", chunk)
        if space is None:
            taken += chunk
            if not chunk:
                return taken
            continue
        source.seek(space.end() - len(chunk), os.SEEK_CUR)
        return taken + chunk[:space.end()]


class XzBlocksWriter:
    """A writable binary file that writes an .xz file of one-block streams of :data:`XZ_BLOCK` bytes of text
    each (the standard library cannot write a stream of several blocks; w2v lays out and cuts both alike,
    :func:`w2v.xz.blocks_of`)."""

    def __init__(self, path: str, mode: str = "wb"):
        self._out, self._pending = open(path, mode), bytearray()

    def write(self, data: bytes) -> None:
        self._pending += data
        while len(self._pending) >= XZ_BLOCK:
            self._out.write(lzma.compress(bytes(self._pending[:XZ_BLOCK])))
            del self._pending[:XZ_BLOCK]

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self._pending:
            self._out.write(lzma.compress(bytes(self._pending)))
        self._out.close()


#: Text a block of :class:`XzBlocksWriter` (``xz -T2 --block-size=2MiB``'s).
XZ_BLOCK = 2 << 20


def split_compressed(corpus: str, files: int, folder: str, compression: str = "gz"):
    """``corpus`` cut at white space (a corpus of one line, as wiki8 is, too) into ``files`` compressed
    files of about equal size in ``folder``: (their paths, the bytes of text each holds). ``xz``: files
    of 2 MiB blocks (:class:`XzBlocksWriter`)."""
    opener = {"gz": gzip.open, "bz2": bz2.open, "xz": XzBlocksWriter}[compression]
    size = os.path.getsize(corpus)
    paths, texts = [], []
    with open(corpus, "rb") as source:
        for i in range(files):
            path = os.path.join(folder, f"part{i:03d}.txt.{compression}")
            start = source.tell()
            with opener(path, "wb") as out:
                want = size * (i + 1) // files - start
                out.write(source.read(max(0, want)))
                out.write(_to_white_space(source))
            paths.append(path)
            texts.append(source.tell() - start)
    return paths, texts


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
    parser.add_argument("--bz2-readers", default="blocks",
                        help="with --compression bz2: blocks (w2v.bzip2), standard (the standard library) or both, "
                             "comma-separated")
    parser.add_argument("--name", type=result_name, default="read-speed")
    args = parser.parse_args(argv)
    readers = positive_ints("--readers", args.readers)
    ways = args.bz2_readers.split(",")
    if not ways or any(way not in ("blocks", "standard") for way in ways) or len(set(ways)) < len(ways):
        raise BadArgument(f"--bz2-readers: {args.bz2_readers!r} is not blocks, standard or "
                                         f"blocks,standard")
    if ways != ["blocks"] and args.compression != "bz2":
        raise BadArgument("--bz2-readers needs --compression bz2")
    sys.path.insert(0, ROOT)
    folder = tempfile.mkdtemp(dir=args.folder, prefix="w2v-read-")
    try:
        paths, texts = split_compressed(args.corpus, args.files, folder, args.compression)
        compressed = sum(os.path.getsize(p) for p in paths)
        rows = []
        for rep in range(args.repeat):
            for r in readers:
                for way in ways:
                    with standard_library_bzip2() if way == "standard" else contextlib.nullcontext():
                        seconds, total, digest = read_once(paths, r)
                    rows.append((r, way, rep + 1, seconds, total, digest))
                    print(rows[-1], flush=True)
    finally:
        shutil.rmtree(folder)
    lines = ["# Reading several compressed files", "",
             f"`python benchmarks/read_speed.py --corpus {args.corpus} --files {args.files} --readers {args.readers} "
             f"--repeat {args.repeat} --compression {args.compression} --bz2-readers {args.bz2_readers}` "
             f"({args.files} {args.compression} files, {compressed / 1e6:.1f} MB compressed, "
             f"{rows[0][4] / 1e6:.1f} MB of text, {min(texts) / 1e6:.2f}-{max(texts) / 1e6:.2f} MB a file; `w2v.scan.pieces`, reading and decompressing only; "
             f"{os.cpu_count()} CPUs; runs alternate)", "",
             "| readers | bz2 reader | run | seconds | MB/s of text | digest |", "|---|---|---|---|---|---|"]
    lines += [f"| {r} | {way if args.compression == 'bz2' else ''} | {rep} | {s:.2f} | {t / s / 1e6:.1f} | {d} |"
              for r, way, rep, s, t, d in rows]
    lines.append("")
    for r in readers:
        for way in ways:
            mb_s = [t / s / 1e6 for rr, w, _, s, t, _ in rows if rr == r and w == way]
            named = f", {way}" if args.compression == "bz2" else ""
            lines.append(f"- {r} reader(s){named}: median {statistics.median(mb_s):.1f} MB/s")
    lines.append(f"- digests: {sorted({row[5] for row in rows})}")
    write_result(args.name, lines)


if __name__ == "__main__":
    run_in_one_line(main, "read_speed")
