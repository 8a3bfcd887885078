"""Vectors at scale: time to the first `similar` answer and peak memory, w2v against gensim.

    python benchmarks/vectors_scale.py --words 1000000 --dim 300 --repeat 2 [--text-words 200000]

Writes a synthetic matrix (standard normal float32, words ``w0 .. w{N-1}``) as word2vec binary and
as w2v's native ``.npz`` (and gensim's native ``.kv`` with its ``.npy``), then times, as child
processes measured by ``/usr/bin/time`` (wall seconds and peak resident memory):

* ``w2v similar vectors.bin w5`` and ``w2v similar vectors.npz w5`` (the native file is memory-mapped);
* gensim: ``KeyedVectors.load_word2vec_format(binary=True)`` then ``most_similar``, and
  ``KeyedVectors.load(mmap='r')`` then ``most_similar``;
* with ``--text-words N``, the first N rows also as word2vec text (``%.9g``, as ``w2v`` writes it):
  ``w2v similar vectors.txt w5`` against gensim's ``load_word2vec_format(binary=False)``.

With ``--glove`` (and ``--text-words``), the same text rows without the header line too, as GloVe's files are:
``w2v similar glove.txt w5`` against gensim's ``load_word2vec_format(binary=False, no_header=True)``.

With ``--gz``, the word2vec files also gzip-compressed by w2v's writer (as GoogleNews-vectors-negative300.bin.gz
is downloaded): ``w2v similar vectors.bin.gz w5`` against gensim's ``load_word2vec_format`` of the same file.

With ``--old PATH`` (an older checkout), its ``w2v similar`` on the word2vec files runs too, right after
ours, to compare two versions of the readers.

With ``--cold``, every file is dropped from the page cache (``posix_fadvise(DONTNEED)``) before each timed
run, so each reads from the disk, and the time to read each file's bytes alone (4 MB at a time, nothing
done with them) is timed too: what "bound by the disk" means on this machine.

The files are flushed to disk before the first timed run and deleted afterwards. Results go to
``results/vectors-scale.md`` (``--name``: another name).
"""
from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from compare import BadArgument, OneLineParser, check_old, run_in_one_line  # noqa: E402
from timing import result_name, time_command, write_result  # noqa: E402

GENSIM_BIN = ("import sys; from gensim.models import KeyedVectors as K; "
              "kv = K.load_word2vec_format(sys.argv[1], binary=True); print(kv.most_similar('w5', topn=10)[0])")
GENSIM_TEXT = ("import sys; from gensim.models import KeyedVectors as K; "
               "kv = K.load_word2vec_format(sys.argv[1], binary=False); print(kv.most_similar('w5', topn=10)[0])")
READ_BYTES = ("import sys\nf = open(sys.argv[1], 'rb', buffering=0)\nb = bytearray(1 << 22)\nn = 0\n"
              "while True:\n    k = f.readinto(b)\n    if not k:\n        break\n    n += k\nprint(n)")
GENSIM_GLOVE = ("import sys; from gensim.models import KeyedVectors as K; "
                "kv = K.load_word2vec_format(sys.argv[1], binary=False, no_header=True); "
                "print(kv.most_similar('w5', topn=10)[0])")
GENSIM_KV = ("import sys; from gensim.models import KeyedVectors as K; "
             "kv = K.load(sys.argv[1], mmap='r'); print(kv.most_similar('w5', topn=10)[0])")


def measure(command):
    seconds, mib, out = time_command(command)
    return seconds, mib, out.splitlines()[0] if out else ""


def drop_from_page_cache(folder: str) -> None:
    """Ask Linux to drop the (clean) cached pages of every file in ``folder``."""
    for name in os.listdir(folder):
        fd = os.open(os.path.join(folder, name), os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--text-words", type=int, default=0, help="also time word2vec text of the first N rows")
    parser.add_argument("--cold", action="store_true", help="drop the files from the page cache before each run, "
                        "and time reading each file's bytes alone")
    parser.add_argument("--glove", action="store_true", help="with --text-words: the text rows without the header "
                        "line too (GloVe's layout)")
    parser.add_argument("--gz", action="store_true", help="also the word2vec files gzip-compressed (.bin.gz, .txt.gz)")
    parser.add_argument("--folder", default=tempfile.gettempdir())
    parser.add_argument("--old", help="an older checkout: its w2v similar on the word2vec files too")
    parser.add_argument("--name", type=result_name, default="vectors-scale", help="results/NAME.md")
    args = parser.parse_args(argv)
    if args.words < 10:
        raise BadArgument(f"--words {args.words}: must be at least 10 (the query asks about w5)")
    if args.dim < 1 or args.repeat < 1:
        raise BadArgument(f"--dim {args.dim}, --repeat {args.repeat}: each must be at least 1")
    if not 0 <= args.text_words <= args.words or 0 < args.text_words < 10:
        raise BadArgument(f"--text-words {args.text_words}: 0 (no text file) or 10 to --words ({args.words})")
    if args.glove and not args.text_words:
        raise BadArgument("--glove needs --text-words N (the rows to write without the header line)")
    check_old(args.old)
    if not os.path.isdir(args.folder):
        raise BadArgument(f"--folder {args.folder}: no such folder")
    sys.path.insert(0, ROOT)
    from w2v.formats import write_vectors
    folder = tempfile.mkdtemp(dir=args.folder, prefix="w2v-scale-")
    words = [f"w{i}" for i in range(args.words)]
    matrix = np.random.default_rng(0).standard_normal((args.words, args.dim), dtype=np.float32)
    paths = {"bin": os.path.join(folder, "v.bin"), "npz": os.path.join(folder, "v.npz"),
             "kv": os.path.join(folder, "v.kv")}
    write_vectors(paths["bin"], words, matrix)
    write_vectors(paths["npz"], words, matrix)
    if args.text_words:
        paths["txt"] = os.path.join(folder, "v.txt")
        write_vectors(paths["txt"], words[:args.text_words], matrix[:args.text_words])
    if args.glove:
        paths["glove"] = os.path.join(folder, "glove.txt")
        with open(paths["txt"], "rb") as source, open(paths["glove"], "wb") as glove:
            source.readline()  # the header
            while True:
                block = source.read(1 << 22)
                if not block:
                    break
                glove.write(block)
    if args.gz:
        paths["bin.gz"] = os.path.join(folder, "v.bin.gz")
        write_vectors(paths["bin.gz"], words, matrix)
        if args.text_words:
            paths["txt.gz"] = os.path.join(folder, "v.txt.gz")
            write_vectors(paths["txt.gz"], words[:args.text_words], matrix[:args.text_words])
    from gensim.models import KeyedVectors
    kv = KeyedVectors(vector_size=args.dim, count=args.words)
    kv.add_vectors(words, matrix)
    kv.save(paths["kv"])
    del kv, matrix
    os.sync()  # the files' write-back would otherwise run during the first timed runs
    w2v = [sys.executable, os.path.join(ROOT, "cli.py"), "similar"]
    systems = {"w2v, word2vec binary": w2v + [paths["bin"], "w5"],
               **({"w2v (old), word2vec binary": [sys.executable, os.path.join(args.old, "cli.py"), "similar",
                                                  paths["bin"], "w5"]} if args.old else {}),
               "w2v, native .npz (memory-mapped)": w2v + [paths["npz"], "w5"],
               "gensim, word2vec binary": [sys.executable, "-c", GENSIM_BIN, paths["bin"]],
               "gensim, native .kv (mmap='r')": [sys.executable, "-c", GENSIM_KV, paths["kv"]]}
    if args.text_words:
        systems[f"w2v, word2vec text ({args.text_words:,} rows)"] = w2v + [paths["txt"], "w5"]
        if args.old:
            systems[f"w2v (old), word2vec text ({args.text_words:,} rows)"] = [
                sys.executable, os.path.join(args.old, "cli.py"), "similar", paths["txt"], "w5"]
        systems[f"gensim, word2vec text ({args.text_words:,} rows)"] = [sys.executable, "-c", GENSIM_TEXT, paths["txt"]]
    if args.glove:
        systems[f"w2v, text without a header ({args.text_words:,} rows)"] = w2v + [paths["glove"], "w5"]
        systems[f"gensim, text without a header ({args.text_words:,} rows)"] = [sys.executable, "-c", GENSIM_GLOVE,
                                                                                paths["glove"]]
    if args.gz:
        systems["w2v, word2vec binary .gz"] = w2v + [paths["bin.gz"], "w5"]
        systems["gensim, word2vec binary .gz"] = [sys.executable, "-c", GENSIM_BIN, paths["bin.gz"]]
        if args.text_words:
            systems[f"w2v, word2vec text .gz ({args.text_words:,} rows)"] = w2v + [paths["txt.gz"], "w5"]
            systems[f"gensim, word2vec text .gz ({args.text_words:,} rows)"] = [sys.executable, "-c", GENSIM_TEXT,
                                                                                paths["txt.gz"]]
    if args.cold:
        for kind in ("bin", "txt", "bin.gz", "txt.gz"):
            if kind in paths:
                systems[f"the bytes of the .{kind} alone"] = [sys.executable, "-c", READ_BYTES, paths[kind]]
    rows = []
    try:
        for rep in range(args.repeat):
            for name, command in systems.items():
                if args.cold:
                    drop_from_page_cache(folder)
                seconds, mib, first = measure(command)
                rows.append((name, rep + 1, seconds, mib, first))
                print(rows[-1], flush=True)
    finally:
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)
    matrix_mib = args.words * args.dim * 4 / 2 ** 20
    text = (f"# Vectors at scale: {args.words:,} × {args.dim} (matrix {matrix_mib:,.0f} MiB)\n\n"
            f"`python benchmarks/vectors_scale.py --words {args.words} --dim {args.dim} --repeat {args.repeat}"
            f"{f' --text-words {args.text_words}' if args.text_words else ''}{' --gz' if args.gz else ''}"
            f"{' --glove' if args.glove else ''}{' --cold' if args.cold else ''}"
            f"{f' --old {args.old}' if args.old else ''}"
            f"{'' if args.name == 'vectors-scale' else ' --name ' + args.name}`: "
            f"time from start to the first answer of a 10-neighbour query, and peak memory, each a child "
            f"process (`/usr/bin/time`), runs alternating; "
            f"{'every file dropped from the page cache before each run' if args.cold else 'files in the page cache after the first round'}"
            f".\n\n"
            "| system | run | seconds | peak MiB | first answer |\n|---|---|---|---|---|\n"
            + "".join(f"| {n} | {r} | {s:.2f} | {m:,.0f} | {a} |\n" for n, r, s, m, a in rows))
    write_result(args.name, text)


if __name__ == "__main__":
    run_in_one_line(main, "vectors_scale")
