"""Phrases on wiki8: w2v phrases against word2phrase.c and gensim's Phrases, speed, memory, agreement.

    python benchmarks/phrases_bench.py --corpus /tmp/wiki8-lines.txt

One pass, threshold 100, min-count 5 for all three. word2phrase.c is compiled from the PyPI
``word2vec`` package's source (as seeded_word2vec_c.py fetches it) into a temporary folder; gensim
runs ``Phrases(LineSentence(corpus), min_count=5, threshold=100)`` then ``FrozenPhrases`` and writes
the text. Each run is timed by ``/usr/bin/time`` (wall seconds, peak memory). Agreement: the distinct
phrases (tokens holding "_", which wiki8's own text never has) each system wrote, and how many of
w2v's word2phrase.c wrote too.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from compare import BadArgument, OneLineParser, run_in_one_line  # noqa: E402
from seeded_word2vec_c import CFLAGS, fetch_source  # noqa: E402
from timing import time_command, write_result  # noqa: E402

GENSIM = ("import sys; from gensim.models.phrases import Phrases, FrozenPhrases; "
          "from gensim.models.word2vec import LineSentence; "
          "p = FrozenPhrases(Phrases(LineSentence(sys.argv[1]), min_count=5, threshold=100)); "
          "out = open(sys.argv[2], 'w'); "
          "[out.write(' '.join(p[s]) + '\\n') for s in LineSentence(sys.argv[1])]")


def phrases_of(path):
    found = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            for token in line.split():
                if "_" in token:
                    found[token] = found.get(token, 0) + 1
    return found


def pairs_across_line_ends(path):
    """{(last word of a line, first word of the next line): count}: the pairs word2phrase.c counts and w2v
    does not (word2phrase.c's LearnVocabFromTrainFile clears its start-of-sentence flag before testing it,
    so a line's first word is paired with the previous line's last; it never joins them, though)."""
    found, last = {}, None
    with open(path, "rb") as f:
        for line in f:
            words = line.split()
            if not words:
                continue
            if last is not None:
                pair = (last.decode("utf-8", "replace"), words[0].decode("utf-8", "replace"))
                found[pair] = found.get(pair, 0) + 1
            last = words[-1]
    return found


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each system, alternating; the median is shown")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.corpus):
        raise BadArgument(f"--corpus {args.corpus}: no such file")
    if args.repeat < 1:
        raise BadArgument(f"--repeat {args.repeat}: must be at least 1")
    with tempfile.TemporaryDirectory(prefix="w2v-phrases-bench-") as work:
        source = fetch_source(work).replace("word2vec.c", "word2phrase.c")
        word2phrase = os.path.join(work, "word2phrase")
        subprocess.run(["gcc", source, "-o", word2phrase] + CFLAGS, check=True)
        names = ("w2v", "w2v (1 thread)", "word2phrase.c", "gensim")
        outputs = {name: os.path.join(work, f"out{i}.txt") for i, name in enumerate(names)}
        w2v = [sys.executable, os.path.join(ROOT, "cli.py"), "phrases", args.corpus, "-q", "--min-count", "5",
               "--threshold", "100"]
        commands = {
            "w2v": w2v + ["-o", outputs["w2v"]],
            "w2v (1 thread)": w2v + ["-o", outputs["w2v (1 thread)"], "--threads", "1"],
            "word2phrase.c": [word2phrase, "-train", args.corpus, "-output", outputs["word2phrase.c"],
                              "-min-count", "5", "-threshold", "100", "-debug", "0"],
            "gensim": [sys.executable, "-c", GENSIM, args.corpus, outputs["gensim"]],
        }
        warm = os.path.join(work, "warm.txt")  # Numba compiles (or loads its cache) here, not in the timed runs
        with open(warm, "w") as f:
            f.write("new york times\n" * 50)
        subprocess.run(w2v[:3] + [warm, "-o", warm + ".out", "-q"], check=True)
        timings = {name: [] for name in names}
        for _ in range(args.repeat):
            for name, command in commands.items():
                timings[name].append(time_command(command)[:2])
                print(name, timings[name][-1], flush=True)
        rows = []
        for name in names:
            seconds = sorted(s for s, _ in timings[name])[len(timings[name]) // 2]
            found = phrases_of(outputs[name])
            rows.append((name, seconds, max(m for _, m in timings[name]), len(found), sum(found.values()), found))
    ours, theirs = rows[0][5], rows[2][5]
    assert rows[1][5] == ours, "w2v wrote other phrases with one thread"
    both = set(ours) & set(theirs)
    across = pairs_across_line_ends(args.corpus)
    theirs_only = set(theirs) - both
    straddling = [p for p in theirs_only if tuple(p.split("_", 1)) in across]
    size = os.path.getsize(args.corpus)
    text = (f"# Phrases: wiki8, one pass, threshold 100, min-count 5\n\n`python benchmarks/phrases_bench.py "
            f"--corpus {args.corpus} --repeat {args.repeat}` ({size / 1e6:.0f} MB of text; `/usr/bin/time`, the median "
            f"of {args.repeat} alternating runs; w2v on all {os.cpu_count()} CPUs and on one, word2phrase.c and gensim "
            "on one, as they are)\n\n"
            "| system | seconds | MB/s | peak MiB | distinct phrases | phrase tokens |\n|---|---|---|---|---|---|\n"
            + "".join(f"| {n} | {s:.1f} | {size / 1e6 / s:.1f} | {m:,.0f} | {d:,} | {t:,} |\n"
                      for n, s, m, d, t, _ in rows)
            + f"\nw2v and word2phrase.c wrote {len(both):,} phrases in common; {len(set(ours) - both):,} only "
              f"w2v's, {len(set(theirs) - both):,} only word2phrase.c's. Examples of w2v's only: "
              f"{', '.join(sorted(set(ours) - both)[:8])}; of word2phrase.c's only: "
              f"{', '.join(sorted(set(theirs) - both)[:8])}.\n"
            + f"\n{len(straddling):,} of the {len(theirs_only):,} phrases only word2phrase.c wrote also occur across a "
              "line end of the input (a line's last word, the next line's first): word2phrase.c counts those pairs "
              "(its start-of-sentence flag is cleared before it is tested) but never joins across a line, so they "
              "raise the pair's score; w2v counts pairs within sentences only.\n")
    write_result("phrases", text)


if __name__ == "__main__":
    run_in_one_line(main, "phrases_bench")
