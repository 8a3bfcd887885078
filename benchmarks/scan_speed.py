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

``--one-core`` adds one thread pinned to one core; ``--pair`` with it runs that pinned pass twice at
once, one on each of two cores, started together once both are loaded. Two threads can be at most
twice as fast as one core on hardware that the two cores do not share; the pair measures what they
share (caches, memory, the host's other guests) for this work, so the report gives that ceiling and
how much of it the two threads reach. With ``--one-core`` the report also gives each round's own ratio of
two threads to one core, and with ``--old`` each round's now against old (:func:`round_ratios`).

Two vCPUs need not be equally fast (a host's load may fall on one of them: ``benchmarks/README.md``,
"Two cores that need not be equal"). So with two cores ``--one-core`` also runs the pinned pass
on the second core, and the report gives two threads (and the pair's sum) against the mean of the two
cores alone, round by round (:func:`against_cores`): against the first core alone the ratio leans
whichever way the two cores differ.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from compare import BadArgument, OneLineParser, at_least_one, check_old, existing_folder, run_in_one_line  # noqa: E402
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
if sys.argv[7] == "1":  # one of --pair's two runs: both start their passes together (on the line "go")
    print("ready", flush=True)
    sys.stdin.readline()
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


#: The --one-core runs' labels: the pass on one thread pinned to the first core, and to the second.
ONE, SECOND = "1 (one core)", "1 (second core)"
#: The --pair runs' label: the pinned one-core pass, twice at once on two cores.
PAIRED = "1 (one core), two at once"


def round_ratios(rows, below, above=("now", 2)):
    """Each round's ``above`` run against its ``below`` run (each a ``(version, threads)``; MB/s over MB/s),
    in the rounds' order. A round's runs follow one another, so they share the machine's hour; the
    ratio of the medians mixes the hours of different rounds, and one core's runs swing more than two
    threads' (the report gives both). So also for ``--old``: each round's now against its old."""
    return [_speed(rows, run, *above) / _speed(rows, run, *below) for run in _rounds(rows)]


def _rounds(rows) -> list:
    """The rounds' numbers, in order."""
    return sorted({r["run"] for r in rows})


def _speed(rows, run, version, threads) -> float:
    """The MB/s of round ``run``'s (first) row of ``version`` on ``threads``."""
    return next(r["MB/s"] for r in rows if r["version"] == version and r["threads"] == threads and r["run"] == run)


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--old", help="an older checkout to compare with (its root folder)")
    parser.add_argument("--repeat", type=at_least_one, default=3)
    parser.add_argument("--name", type=result_name, default="scan-speed")
    parser.add_argument("--one-core", action="store_true",
                        help="also run 1 thread pinned to one core, and to the second core when there are two "
                             "(Linux): one thread alone still has the file read beside it on a second core, so the "
                             "pinned run is 'one core' in the strict sense")
    parser.add_argument("--pair", action="store_true",
                        help="with --one-core: also run that pinned pass twice at once, one on each of two cores, "
                             "each timed: what two cores give for this work on this machine, so the ceiling "
                             "of two threads against one core (shared caches, memory and the host's load)")
    parser.add_argument("--spool", metavar="FOLDER", type=existing_folder,
                        help="spool the ids to a file in FOLDER, as `w2v train` does, instead of in memory")
    parser.add_argument("--given-vocab", action="store_true",
                        help="time encoding with a vocabulary built beforehand (untimed), as `w2v train --read-vocab`")
    args = parser.parse_args(argv)
    if not os.path.exists(args.corpus):
        raise BadArgument(f"--corpus {args.corpus}: no such file or folder")
    check_old(args.old)
    size = (sum(os.path.getsize(os.path.join(folder, name)) for folder, _, names in os.walk(args.corpus)
                for name in names) if os.path.isdir(args.corpus) else os.path.getsize(args.corpus))
    versions = [("now", ROOT, 1), ("now", ROOT, 2)] + ([("old", args.old, 1), ("old", args.old, 2)] if args.old else [])
    if args.pair and not args.one_core:
        parser.error("--pair goes with --one-core (it runs the pinned pass twice at once)")
    if args.one_core:
        if not hasattr(os, "sched_setaffinity"):
            parser.error("--one-core needs Linux (os.sched_setaffinity)")
        versions.insert(0, ("now", ROOT, ONE))
    cores = sorted(os.sched_getaffinity(0))[:2] if args.one_core else []
    if len(cores) == 2:  # the first core's speed need not be the second's: both are run alone
        versions.insert(1, ("now", ROOT, SECOND))
    if args.pair:
        if len(cores) < 2:
            parser.error(f"--pair needs two cores to run on; this process may use {len(cores)}")
        versions.insert(2, ("now", ROOT, PAIRED))

    def child(root, threads, core=None, paired=False):
        """The child process of one run: ``threads`` threads, or one pinned to ``core``; ``paired``: it waits,
        loaded, for a line on its standard input before its passes."""
        return subprocess.Popen([sys.executable, "-c", CHILD, root, args.corpus, str(threads),
                                 os.path.join(ROOT, "corpora", "sample.txt"), args.spool or "",
                                 "1" if args.given_vocab else "0", "1" if paired else "0"],
                                stdin=subprocess.PIPE if paired else subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                preexec_fn=None if core is None else (lambda: os.sched_setaffinity(0, {core})))

    rows = []
    for rep in range(args.repeat):
        for name, root, threads in versions:
            pinned = isinstance(threads, str)
            pin = cores[1] if threads == SECOND else cores[0] if pinned else None
            # the pair's two runs start together, each on its own core, and each is a row
            runs = [child(root, 1, core, paired=True) for core in cores] if threads == PAIRED else \
                [child(root, 1 if pinned else threads, pin)]
            if threads == PAIRED:  # both loaded, then both go; if one failed to load, neither runs its pass
                ready = [run.stdout.readline().strip() == "ready" for run in runs]
                for run in runs:
                    if all(ready):
                        run.stdin.write("go\n")
                    else:
                        run.kill()
                    run.stdin.close()
                    run.stdin = None  # (communicate would flush it)
                if not all(ready):
                    failed = runs[ready.index(False)]
                    out, err = failed.communicate()
                    raise subprocess.CalledProcessError(failed.returncode, failed.args, out, err)
            for run in runs:
                out, err = run.communicate()
                if run.returncode:
                    raise subprocess.CalledProcessError(run.returncode, run.args, out, err)
                row = {"version": name, "threads": threads, "run": rep + 1, **json.loads(out.splitlines()[-1])}
                row["MB/s"] = size / 1e6 / (row["encode_s"] + (0 if args.given_vocab else row["count_s"]))
                rows.append(row)
                print(row, flush=True)
    what = "encoding" if args.given_vocab else "counting + encoding"
    lines = [f"# {'Encoding with a given vocabulary' if args.given_vocab else 'Counting and encoding'} speed\n\n"
             f"`python benchmarks/scan_speed.py --corpus {args.corpus}"
             f"{' --old ' + args.old if args.old else ''} --repeat {args.repeat}"
             f"{' --spool ' + args.spool if args.spool else ''}{' --one-core' if args.one_core else ''}"
             f"{' --pair' if args.pair else ''}"
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
    for one in ([1, ONE] if args.one_core else [1]):
        lines.append(f"- now, 2 threads against {one} thread(s): {medians['now', 2] / medians['now', one]:.2f}x")
    if args.one_core:
        lines.append(f"  - per round: {_listed(round_ratios(rows, ('now', ONE)))}")
    both = len(cores) == 2
    if both:  # the fair baseline: one core is the mean of the two
        lines.append(f"- now, 2 threads against the mean of the two cores alone (per round): "
                     f"{_listed(against_cores(rows))}; the second core alone against the first (per round): "
                     f"{_listed(round_ratios(rows, ('now', ONE), ('now', SECOND)))}")
    if args.old:
        for threads in (1, 2):
            lines.append(f"- now against old, {threads} thread(s), per round: "
                         f"{_listed(round_ratios(rows, ('old', threads), ('now', threads)))}")
    if args.pair:  # two cores' worth of this work against one core's: what two threads could reach at best
        ceiling = 2 * medians["now", PAIRED] / medians["now", ONE]
        lines.append(f"- two pinned passes at once against one alone: {ceiling:.2f}x (the ceiling of two threads; "
                     f"2 threads reach {medians['now', 2] / medians['now', ONE] / ceiling:.0%} of it)")
        if both:
            ceilings = against_cores(rows, pair_sums(rows))
            reached = [a / b for a, b in zip(against_cores(rows), ceilings)]
            lines.append(f"  - against the mean of the two cores alone, per round: {_listed(ceilings)}; "
                         f"2 threads reach {statistics.median(reached):.0%} of it (median of the rounds)")
    lines.append(f"- digests: {sorted(set(r['digest'] for r in rows))} (one digest: the same words, counts, ids "
                 f"and offsets everywhere)")
    write_result(args.name, lines)


def cores_mean(rows):
    """Each round's one-core speed as the mean of its runs pinned to the first and to the second core
    (``{run: MB/s}``). Two vCPUs need not be equally fast (a host's load on one of them): against the
    first core alone two threads could seem faster or slower than twice "one core"."""
    return {run: (_speed(rows, run, "now", ONE) + _speed(rows, run, "now", SECOND)) / 2
            for run in _rounds(rows)}


def against_cores(rows, speeds=None):
    """Each round's two threads (or ``speeds``, ``{run: MB/s}``) against its :func:`cores_mean`."""
    mean = cores_mean(rows)
    if speeds is None:
        speeds = {r["run"]: r["MB/s"] for r in rows if r["version"] == "now" and r["threads"] == 2}
    return [speeds[run] / mean[run] for run in mean]


def pair_sums(rows):
    """Each round's two passes at once (``--pair``), their speeds summed: ``{run: MB/s}``."""
    sums: dict = {}
    for r in rows:
        if r["threads"] == PAIRED:  # (only the version under test runs the pair)
            sums[r["run"]] = sums.get(r["run"], 0.0) + r["MB/s"]
    return sums


def _listed(ratios) -> str:
    return f"{', '.join(f'{x:.2f}x' for x in ratios)} (median {statistics.median(ratios):.2f}x)"


if __name__ == "__main__":
    run_in_one_line(main, "scan_speed")
