"""Word classes on wiki8: w2v classes against word2vec.c's -classes, time, memory and sense.

    python benchmarks/classes_bench.py --corpus /tmp/wiki8-lines.txt --word2vec-bin /tmp/word2vec-seeded -k 500

word2vec.c computes its classes at the end of a training run, so it is run twice on the same settings
(1 epoch, sg-ns, 2 threads, seed 1): with ``-classes K`` and without; the difference of the wall times
is its k-means (and it writes classes instead of vectors). w2v trains once, writes the vectors, and
``w2v classes`` clusters them (timed alone, `/usr/bin/time`). Sense: of WordSim-353's pairs rated 8 or
more (close in meaning), how many land in one class, against the share expected by chance
(Σ class size² / V², over the words of the pairs).
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

from timing import time_command, write_result  # noqa: E402


def read_pairs(path):
    pairs = []
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        a, b, score = line.split("\t")[:3]
        if float(score) >= 8:
            pairs.append((a.lower(), b.lower()))
    return pairs


def agreement(classes: dict, pairs):
    known = [(a, b) for a, b in pairs if a in classes and b in classes]
    same = sum(classes[a] == classes[b] for a, b in known)
    sizes = {}
    for label in classes.values():
        sizes[label] = sizes.get(label, 0) + 1
    chance = sum(s * s for s in sizes.values()) / len(classes) ** 2
    return same, len(known), chance


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--word2vec-bin", required=True)
    parser.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    parser.add_argument("-k", type=int, default=500)
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    from w2v.classes import read_classes
    folder = tempfile.mkdtemp(prefix="w2v-classes-")
    c = [args.word2vec_bin, "-train", args.corpus, "-size", "100", "-window", "5", "-sample", "1e-3",
         "-negative", "5", "-hs", "0", "-cbow", "0", "-min-count", "5", "-threads", "2", "-iter", "1", "-binary", "1"]
    c_plain, _, _ = time_command(c + ["-output", os.path.join(folder, "c.bin")])
    c_classes, c_mib, _ = time_command(c + ["-output", os.path.join(folder, "c-classes.txt"), "-classes",
                                            str(args.k)])
    vectors = os.path.join(folder, "w.bin")
    subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), "train", args.corpus, "-o", vectors, "-q",
                    "--threads", "2", "--epochs", "1", "--seed", "1"], check=True)
    ours = os.path.join(folder, "w-classes.txt")
    w_seconds, w_mib, _ = time_command([sys.executable, os.path.join(ROOT, "cli.py"), "classes", vectors, "-k",
                                        str(args.k), "-o", ours])
    pairs = read_pairs(os.path.join(args.data, "wordsim353.tsv"))
    rows = [("word2vec.c -classes", c_classes - c_plain, c_mib, *agreement(read_classes(
                os.path.join(folder, "c-classes.txt")), pairs)),
            ("w2v classes", w_seconds, w_mib, *agreement(read_classes(ours), pairs))]
    for name in os.listdir(folder):
        os.unlink(os.path.join(folder, name))
    os.rmdir(folder)
    text = (f"# Word classes: wiki8, K = {args.k}\n\n`python benchmarks/classes_bench.py --corpus {args.corpus} "
            f"--word2vec-bin {args.word2vec_bin} -k {args.k}` (both on 1-epoch sg-ns vectors of their own, "
            f"2 threads; word2vec.c's time is its run with -classes minus its run without: {c_classes:.1f} - "
            f"{c_plain:.1f} s)\n\n"
            "| system | k-means seconds | peak MiB (whole process) | WS353 pairs rated >= 8 in one class | by chance |\n"
            "|---|---|---|---|---|\n"
            + "".join(f"| {n} | {s:.1f} | {m:,.0f} | {same} of {known} ({same / max(known, 1):.0%}) | {chance:.1%} |\n"
                      for n, s, m, same, known, chance in rows))
    write_result("classes", text)


if __name__ == "__main__":
    main()
