"""One .bz2 corpus read by the standard library (one thread) and by w2v's block reader (several threads).

    python benchmarks/bzip2_blocks.py --corpus /tmp/wiki8-lines.txt --repeat 3

Compresses ``--corpus`` (plain text) with bzip2 at level 9 (the tool's default) into a temporary folder
inside ``--folder`` (deleted afterwards), then, runs alternating, times: reading the whole text
(in this process), ``w2v vocab`` and a 1-epoch ``w2v train`` (each in a child under ``/usr/bin/time``:
wall seconds and peak memory), with the standard library's reader (:data:`STANDARD_PATCH` run in the
child) and with the default, :mod:`w2v.bzip2`. The plain file's ``w2v vocab`` and
``w2v train`` are timed beside them. The texts' digests and the vocabularies are checked equal.
"""
from __future__ import annotations

import bz2
import contextlib
import filecmp
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

from compare import OneLineParser, at_least_one, existing_file, existing_folder, run_in_one_line  # noqa: E402
from timing import result_name, time_command, write_result  # noqa: E402

#: Makes w2v read .bz2 files with the standard library (one thread): every reader of a compressed file
#: goes through ``w2v.compression.READERS`` (:func:`w2v.compression.decompressing`).
STANDARD_PATCH = ("import bz2; from w2v import compression; "
                  "compression.READERS['.bz2'] = lambda raw, threads=None: bz2.open(raw)")
#: The ``w2v`` command line of this checkout in a child (whatever w2v is installed), and the same with
#: bzip2 read by the standard library.
W2V = f"import sys; sys.path.insert(0, {ROOT!r}); from w2v.cli import main; sys.argv[0] = 'w2v'; main()"
STANDARD_LIBRARY = W2V.replace("from w2v.cli", f"{STANDARD_PATCH}; from w2v.cli")


@contextlib.contextmanager
def standard_library_bzip2():
    """In this process, w2v reads .bz2 files with the standard library while in this (:data:`STANDARD_PATCH`)."""
    from w2v import compression
    block_reader = compression.READERS[".bz2"]
    exec(STANDARD_PATCH, {})
    try:
        yield
    finally:
        compression.READERS[".bz2"] = block_reader


def read_all(path: str, reader: str):
    """(seconds, bytes, digest) of reading ``path`` whole with ``reader`` ("standard" or "blocks")."""
    from w2v import bzip2
    digest, total = hashlib.sha1(), 0
    start = time.perf_counter()
    with open(path, "rb") as raw:
        f = bz2.open(raw) if reader == "standard" else bzip2.open_read(raw)
        with f:
            while True:
                text = f.read(1 << 20)
                if not text:
                    break
                total += len(text)
                digest.update(text)
    return time.perf_counter() - start, total, digest.hexdigest()[:12]


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=existing_file, required=True)
    parser.add_argument("--repeat", type=at_least_one, default=3)
    parser.add_argument("--threads", type=at_least_one, default=2, help="w2v train's --threads")
    parser.add_argument("--folder", type=existing_folder, default=tempfile.gettempdir())
    parser.add_argument("--name", type=result_name, default="bzip2-blocks")
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    folder = tempfile.mkdtemp(dir=args.folder, prefix="w2v-bzip2-")
    try:
        packed = os.path.join(folder, os.path.basename(args.corpus) + ".bz2")
        with open(args.corpus, "rb") as source, bz2.open(packed, "wb", compresslevel=9) as out:
            shutil.copyfileobj(source, out, 1 << 20)
        w2v = [sys.executable, "-c", W2V]
        ways = {"standard library": [sys.executable, "-c", STANDARD_LIBRARY], "w2v.bzip2": w2v}
        time_command(w2v + ["vocab", os.path.join(ROOT, "corpora", "sample.txt"), "-o",
                            os.path.join(folder, "warm.vocab"), "-q"])  # Numba's cache, Python's bytecode
        rows, digests = [], set()
        for run in range(1, args.repeat + 1):
            for way, reader in (("standard library", "standard"), ("w2v.bzip2", "blocks")):
                seconds, total, digest = read_all(packed, reader)
                digests.add(digest)
                rows.append(("read the text", way, run, seconds, None))
                print(rows[-1], total, digest, flush=True)
            for way, command in list(ways.items()) + [("plain text", w2v)]:
                corpus = args.corpus if way == "plain text" else packed
                vocab = os.path.join(folder, f"{way.replace(' ', '-')}.vocab")
                seconds, mib, _ = time_command(command + ["vocab", corpus, "-o", vocab, "-q"])
                rows.append(("w2v vocab", way, run, seconds, mib))
                print(rows[-1], flush=True)
                seconds, mib, _ = time_command(command + ["train", corpus, "-o", os.path.join(folder, "v.bin"), "-q",
                                                          "--epochs", "1", "--threads", str(args.threads),
                                                          "--force"])
                rows.append(("w2v train, 1 epoch", way, run, seconds, mib))
                print(rows[-1], flush=True)
        vocabs = [os.path.join(folder, f"{way.replace(' ', '-')}.vocab") for way in ("standard library", "w2v.bzip2",
                                                                                     "plain text")]
        same_vocab = all(filecmp.cmp(vocabs[0], v, shallow=False) for v in vocabs[1:])
        compressed = os.path.getsize(packed)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    lines = [f"# {__doc__.splitlines()[0]}", "",
             f"`python benchmarks/bzip2_blocks.py --corpus {args.corpus} --repeat {args.repeat} --threads {args.threads}` "
             f"({os.path.getsize(args.corpus) / 1e6:.1f} MB of text, {compressed / 1e6:.1f} MB compressed at level 9; "
             f"{os.cpu_count()} CPUs; runs alternate)", "",
             "| measurement | reader | run | wall s | peak MiB |", "|---|---|---|---|---|"]
    for what, way, run, seconds, mib in rows:
        lines.append(f"| {what} | {way} | {run} | {seconds:.2f} | {'' if mib is None else f'{mib:.0f}'} |")
    lines.append("")
    for what in ("read the text", "w2v vocab", "w2v train, 1 epoch"):
        medians = {way: statistics.median(r[3] for r in rows if r[0] == what and r[1] == way)
                   for way in ("standard library", "w2v.bzip2", "plain text")
                   if any(r[0] == what and r[1] == way for r in rows)}
        text = ", ".join(f"{way} {m:.2f} s" for way, m in medians.items())
        lines.append(f"- {what}, medians: {text} (standard library / w2v.bzip2: "
                     f"{medians['standard library'] / medians['w2v.bzip2']:.2f}x)")
    lines.append(f"- digests of the text: {sorted(digests)} (one: both readers gave the same text)")
    lines.append(f"- vocabularies byte for byte the same (both readers and the plain text): {'yes' if same_vocab else 'NO'}")
    write_result(args.name, lines)


if __name__ == "__main__":
    run_in_one_line(main, "bzip2_blocks.py")
