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

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from seeded_word2vec_c import CFLAGS, fetch_source  # noqa: E402
from timing import time_command  # noqa: E402

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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="w2v-phrases-bench-") as work:
        source = fetch_source(work).replace("word2vec.c", "word2phrase.c")
        word2phrase = os.path.join(work, "word2phrase")
        subprocess.run(["gcc", source, "-o", word2phrase] + CFLAGS, check=True)
        outputs = {name: os.path.join(work, name + ".txt") for name in ("w2v", "word2phrase.c", "gensim")}
        commands = {
            "w2v": [sys.executable, os.path.join(ROOT, "cli.py"), "phrases", args.corpus, "-o", outputs["w2v"],
                    "-q", "--min-count", "5", "--threshold", "100"],
            "word2phrase.c": [word2phrase, "-train", args.corpus, "-output", outputs["word2phrase.c"],
                              "-min-count", "5", "-threshold", "100", "-debug", "0"],
            "gensim": [sys.executable, "-c", GENSIM, args.corpus, outputs["gensim"]],
        }
        rows = []
        for name, command in commands.items():
            seconds, mib, _ = time_command(command)
            found = phrases_of(outputs[name])
            rows.append((name, seconds, mib, len(found), sum(found.values()), found))
            print(rows[-1][:5], flush=True)
    ours, theirs = rows[0][5], rows[1][5]
    both = set(ours) & set(theirs)
    across = pairs_across_line_ends(args.corpus)
    theirs_only = set(theirs) - both
    straddling = [p for p in theirs_only if tuple(p.split("_", 1)) in across]
    size = os.path.getsize(args.corpus)
    text = (f"# Phrases: wiki8, one pass, threshold 100, min-count 5\n\n`python benchmarks/phrases_bench.py "
            f"--corpus {args.corpus}` ({size / 1e6:.0f} MB of text; `/usr/bin/time`)\n\n"
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
    with open(os.path.join(HERE, "results", "phrases.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
