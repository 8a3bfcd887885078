"""A synthetic corpus with a very large vocabulary, for memory benchmarks.

    python benchmarks/zipf_corpus.py /tmp/zipf.txt            # 10M tokens, ~3.5M distinct
    python benchmarks/compare.py --corpus /tmp/zipf.txt --data none --configs cbow-ns \\
        --epochs 1 --repeat 1 --threads 1 --no-compile-time --name zipf-memory

Token ids are drawn from a Zipf law with exponent 1.08, so most distinct
tokens are seen once or twice and about 78,000 reach min-count 5: a small
kept vocabulary (like wiki8's 71,000) counted out of millions of types, as in
a large web or Wikipedia dump. Counting, not training, sets the peak here.
Lines of 1000 tokens ``w<id>``.
"""
from __future__ import annotations

import argparse

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--tokens", type=int, default=10_000_000)
    parser.add_argument("--exponent", type=float, default=1.08)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    ids = np.random.default_rng(args.seed).zipf(args.exponent, args.tokens)
    with open(args.output, "w") as f:
        for i in range(0, len(ids), 1000):
            f.write(" ".join(f"w{x}" for x in ids[i:i + 1000].tolist()) + "\n")
    distinct, counts = np.unique(ids, return_counts=True)
    print(f"{args.output}: {len(ids):,} tokens, {len(distinct):,} distinct, {(counts >= 5).sum():,} seen 5 times or more")


if __name__ == "__main__":
    main()
