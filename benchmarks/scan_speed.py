"""Counting and encoding speed (MB/s of text) on 1 and 2 threads, against an older checkout.

    python benchmarks/scan_speed.py --corpus /tmp/wiki8-lines.txt --old /path/to/old/checkout --repeat 3
    python benchmarks/scan_speed.py --corpus /tmp/wiki8-lines.txt --spool /tmp      # the ids to a file, as w2v train
    python benchmarks/scan_speed.py --corpus /tmp/wiki8-lines.txt --given-vocab      # encoding alone, as --read-vocab

Each run is a child process that loads Numba's cached kernels (timed on its own), builds the
vocabulary (min count 5) and encodes the corpus in memory, timing counting and encoding apart (a
version with ``w2v.scan.count_and_spool`` reads the text once: "counting" is that reading and the
vocabulary, "encoding" the remapping of the spool), and prints a digest of the words, counts, ids and
offsets, so the runs also show that every version and thread count gives the same result. Runs
alternate. ``--given-vocab`` times the pass that ``w2v train --read-vocab`` (or a pruned count) makes
instead: the vocabulary is built first, untimed, and the text is then encoded with it
(``w2v.encode.encode_corpus``, a second parse of the text); MB/s are then of that pass alone.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from timing import result_name, write_result  # noqa: E402

CHILD = r"""
import hashlib, inspect, json, sys, time
sys.path.insert(0, sys.argv[1])
from w2v.corpus import Corpus
from w2v.encode import encode_corpus
from w2v.vocab import build_vocabulary
try:  # one reading of the text: counted and spooled, then the spool remapped
    from w2v.scan import count_and_spool
    from w2v.encode import encode_spooled
    try:
        from w2v.vocab import vocabulary_and_entry_ids
    except ImportError:  # older: the entries' word ids looked up after the vocabulary
        from w2v.encode import entry_word_ids
        from w2v.vocab import vocabulary_from_count

        def vocabulary_and_entry_ids(count, min_count):
            vocab, summary = vocabulary_from_count(count, min_count=min_count)
            return vocab, summary, entry_word_ids(count, vocab)
except ImportError:
    count_and_spool = None
corpus_path, threads, warm, spool, given = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] or None, sys.argv[6] == "1"
threaded = "threads" in inspect.signature(build_vocabulary).parameters
kw = {"threads": threads} if threaded else {}


def passes(path):
    if given or count_and_spool is None:  # the vocabulary first ("counting"), then the text encoded with it
        vocab, _ = build_vocabulary(Corpus([path]), min_count=5, **kw)
        counted = time.perf_counter()
        return vocab, counted, encode_corpus(Corpus([path]), vocab, **kw, **({"cache_dir": spool} if given else {}))
    count, spooled = count_and_spool(Corpus([path]), 10_000_000, threads, spool)
    vocab, _, word_ids = vocabulary_and_entry_ids(count, min_count=5)
    counted = time.perf_counter()
    return vocab, counted, encode_spooled(spooled, word_ids, threads=threads)


start0 = time.perf_counter()
if threaded:  # load Numba and the text kernels first (w2v train loads them for training anyway)
    encode_corpus(Corpus([warm]), build_vocabulary(Corpus([warm]), min_count=1, **kw)[0], **kw)
    passes(warm)
loaded = time.perf_counter()
start = loaded
vocab, counted, encoded = passes(corpus_path)
done = time.perf_counter()
digest = hashlib.sha1()
digest.update("\n".join(vocab.words).encode()); digest.update(vocab.counts.tobytes())
ids = encoded.ids if encoded.ids is not None else encoded.chunk(0, len(encoded.offsets) - 1)[0]  # spooled: read back
digest.update(ids.tobytes()); digest.update(encoded.offsets.tobytes())
print(json.dumps({"load_s": loaded - start0, "count_s": counted - start, "encode_s": done - counted, "digest": digest.hexdigest()[:12],
                  "words": len(vocab), "tokens": int(encoded.n_words)}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--old", help="an older checkout to compare with (its root folder)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--name", type=result_name, default="scan-speed")
    parser.add_argument("--one-core", action="store_true",
                        help="also run 1 thread pinned to one core (Linux): one thread alone still has the file "
                             "read beside it on a second core, so the pinned run is 'one core' in the strict sense")
    parser.add_argument("--spool", metavar="FOLDER",
                        help="spool the ids to a file in FOLDER, as `w2v train` does, instead of in memory")
    parser.add_argument("--given-vocab", action="store_true",
                        help="time encoding with a vocabulary built beforehand (untimed), as `w2v train --read-vocab`")
    args = parser.parse_args(argv)
    if args.spool and not os.path.isdir(args.spool):
        parser.error(f"--spool {args.spool}: no such folder")
    size = (sum(os.path.getsize(os.path.join(folder, name)) for folder, _, names in os.walk(args.corpus)
                for name in names) if os.path.isdir(args.corpus) else os.path.getsize(args.corpus))
    versions = [("now", ROOT, 1), ("now", ROOT, 2)] + ([("old", args.old, 1), ("old", args.old, 2)] if args.old else [])
    if args.one_core:
        if not hasattr(os, "sched_setaffinity"):
            parser.error("--one-core needs Linux (os.sched_setaffinity)")
        versions.insert(0, ("now", ROOT, "1 (one core)"))
    rows = []
    for rep in range(args.repeat):
        for name, root, threads in versions:
            pinned = isinstance(threads, str)
            one_core = min(os.sched_getaffinity(0)) if pinned else None
            done = subprocess.run([sys.executable, "-c", CHILD, root, args.corpus, str(1 if pinned else threads),
                                   os.path.join(ROOT, "corpora", "sample.txt"), args.spool or "",
                                   "1" if args.given_vocab else "0"],
                                  capture_output=True, text=True, check=True,
                                  preexec_fn=(lambda: os.sched_setaffinity(0, {one_core})) if pinned else None)
            row = {"version": name, "threads": threads, "run": rep + 1, **json.loads(done.stdout.splitlines()[-1])}
            row["MB/s"] = size / 1e6 / (row["encode_s"] + (0 if args.given_vocab else row["count_s"]))
            rows.append(row)
            print(row, flush=True)
    what = "encoding" if args.given_vocab else "counting + encoding"
    lines = [f"# {'Encoding with a given vocabulary' if args.given_vocab else 'Counting and encoding'} speed\n\n"
             f"`python benchmarks/scan_speed.py --corpus {args.corpus}"
             f"{' --old ' + args.old if args.old else ''} --repeat {args.repeat}"
             f"{' --spool ' + args.spool if args.spool else ''}{' --one-core' if args.one_core else ''}"
             f"{' --given-vocab' if args.given_vocab else ''}` "
             f"({size / 1e6:.0f} MB of "
             f"{'compressed text: MB/s are of the file' if args.corpus.endswith(('.gz', '.bz2', '.xz')) else 'text'}; "
             f"{'ids spooled to a file, as w2v train does' if args.spool else 'in-memory encoding'}; runs alternate)\n",
             "Loading Numba and the compiled text kernels (from its cache) is timed apart, before the passes: "
             "`w2v train` loads them for training in any case."
             + (" The vocabulary is built first (\"counting\", not in MB/s), then the text encoded with it, "
                "as `w2v train --read-vocab` does." if args.given_vocab else "") + "\n",
             f"| version | threads | run | loading s | counting s | encoding s | MB/s ({what}) | digest |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['version']} | {r['threads']} | {r['run']} | {r['load_s']:.2f} | {r['count_s']:.2f} | "
                     f"{r['encode_s']:.2f} | "
                     f"{r['MB/s']:.1f} | {r['digest']} |")
    lines.append("")
    medians = {}
    for name, _, threads in versions:
        group = sorted(r["MB/s"] for r in rows if r["version"] == name and r["threads"] == threads)
        medians[name, threads] = group[len(group) // 2]
        lines.append(f"- {name}, {threads} thread(s): median {medians[name, threads]:.1f} MB/s")
    for one in ([1, "1 (one core)"] if args.one_core else [1]):
        lines.append(f"- now, 2 threads against {one} thread(s): {medians['now', 2] / medians['now', one]:.2f}x")
    lines.append(f"- digests: {sorted(set(r['digest'] for r in rows))} (one digest: the same words, counts, ids "
                 f"and offsets everywhere)")
    write_result(args.name, lines)


if __name__ == "__main__":
    main()
