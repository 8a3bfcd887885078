r"""End-to-end wall time, what users feel: from the command's start to the written file, counting included.

    python benchmarks/seeded_word2vec_c.py -o /tmp/word2vec-seeded          # or the pip build of word2vec.c
    zcat ../shared/data/wiki8.txt.gz | python -c "import sys; w = sys.stdin.buffer.read().split(); \
        sys.stdout.buffer.write(b''.join(b' '.join(w[i:i + 1000]) + b'\\n' for i in range(0, len(w), 1000)))" \
        > /tmp/wiki8-lines.txt                                               # 1,000-word lines, as measured
    python benchmarks/end_to_end.py --corpus /tmp/wiki8-lines.txt --word2vec-bin /tmp/word2vec-seeded

Use the 1,000-word lines (the other benchmarks' ``/tmp/wiki8-lines.txt`` too): gensim's ``corpus_file``
mode treats wiki8 as shipped, one 100 MB line, differently (results/end-to-end-5epoch-dec02-newvm.md), so
the comparison would not be like for like.

sg-ns, dim 100, window 5, negative 5, sample 1e-3, min-count 5, 2 threads. Each run is timed by
``/usr/bin/time`` (wall seconds, peak resident memory), runs alternate:

* 1 epoch: ``w2v train`` against word2vec.c (``-train ... -iter 1``; it learns its vocabulary in the
  same run);
* 5 epochs: ``w2v train`` against gensim's ``corpus_file`` mode (``Word2Vec(corpus_file=...)``, which
  builds its vocabulary and trains, then ``save_word2vec_format``).

Before the timed runs, w2v trains once on the shipped sample corpus, untimed: the first run after
installing compiles the kernels into Numba's cache (~20 s), which a user pays once, not every run.
And the package's Python files are compiled to bytecode, as ``pip install`` does: in a checkout run with
``PYTHONDONTWRITEBYTECODE=1`` (this workplace sets it) every run would otherwise compile w2v's sources
again, ~55 ms a run that no installed copy pays (gensim's bytecode was written when pip installed it).
"""
from __future__ import annotations

import argparse
import compileall
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from quality_time import command  # noqa: E402
from timing import result_name, time_command, write_result  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--word2vec-bin", required=True)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--epochs", type=int, nargs="+", choices=[1, 5], default=[1, 5],
                        help="which comparisons: 1 (against word2vec.c), 5 (against gensim), or both")
    parser.add_argument("--name", type=result_name, default="end-to-end", help="results/NAME.md")
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="w2v-e2e-")
    out = os.path.join(folder, "v.bin")

    def whole(system, epochs):  # sg-ns, seed 1, word2vec.c without -seed (its own start)
        return command(system, "sg-ns", epochs, args.corpus, out, 1, args.word2vec_bin, False)

    runs = {(1, "w2v"): whole("w2v", 1), (1, "word2vec.c"): whole("word2vec-c", 1),
            (5, "w2v"): whole("w2v", 5), (5, "gensim corpus_file"): whole("gensim-file", 5)}
    runs = {key: run for key, run in runs.items() if key[0] in args.epochs}
    rows = []
    try:
        warm_up = command("w2v", "sg-ns", 1, os.path.join(ROOT, "corpora", "sample.txt"), out, 1, args.word2vec_bin,
                          False)
        time_command(warm_up)  # fills Numba's cache if this install has not trained yet
        compileall.compile_dir(os.path.join(ROOT, "w2v"), quiet=1)  # writes bytecode whatever PYTHONDONTWRITEBYTECODE
        for rep in range(args.repeat):
            for (epochs, system), run in runs.items():
                seconds, mib, _ = time_command(run)
                rows.append((epochs, system, rep + 1, seconds, mib))
                print(rows[-1], flush=True)
    finally:
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)
    lines = [f"# End-to-end wall time: wiki8, sg-ns, 2 threads\n\n`python benchmarks/end_to_end.py --corpus "
             f"{args.corpus} --word2vec-bin {args.word2vec_bin} --repeat {args.repeat}"
             f"{' --epochs ' + ' '.join(map(str, args.epochs)) if args.epochs != [1, 5] else ''}` (counting, encoding, "
             f"training and writing; `/usr/bin/time`; runs alternate; w2v's kernels compiled before, by an untimed "
             f"run on the sample corpus, and its Python files to bytecode, as pip install does)\n",
             "| epochs | system | run | wall s | peak MiB |", "|---|---|---|---|---|"]
    lines += [f"| {e} | {s} | {r} | {w:.1f} | {m:,.0f} |" for e, s, r, w, m in rows]
    lines.append("")
    for epochs, peer in [(e, p) for e, p in ((1, "word2vec.c"), (5, "gensim corpus_file")) if e in args.epochs]:
        ours = statistics.median(w for e, s, _, w, _ in rows if e == epochs and s == "w2v")
        theirs = statistics.median(w for e, s, _, w, _ in rows if e == epochs and s == peer)
        lines.append(f"- {epochs} epoch(s): w2v median {ours:.1f} s, {peer} {theirs:.1f} s: {theirs / ours:.1f}x")
        # and each round's ratio: its two runs ran back to back, so these show how much the ratio itself swings
        ours_by_round = {r: w for e, s, r, w, _ in rows if e == epochs and s == "w2v"}
        pairs = [w / ours_by_round[r] for e, s, r, w, _ in rows if e == epochs and s == peer and r in ours_by_round]
        lines.append(f"  - per round: {', '.join(f'{x:.1f}x' for x in pairs)} (median {statistics.median(pairs):.1f}x)")
    write_result(args.name, lines)


if __name__ == "__main__":
    main()
