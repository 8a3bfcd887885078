"""A synthetic corpus with a very large vocabulary, for memory benchmarks.

    python benchmarks/zipf_corpus.py /tmp/zipf.txt            # 10M tokens, ~3.5M distinct
    python benchmarks/compare.py --corpus /tmp/zipf.txt --data none --configs cbow-ns \\
        --epochs 1 --repeat 1 --threads 1 --no-compile-time --name zipf-memory

Token ids are drawn from a Zipf law with exponent 1.08, so most distinct
tokens are seen once or twice and about 78,000 reach min-count 5: a small
kept vocabulary (like wiki8's 71,000) counted out of millions of types, as in
a large web or Wikipedia dump. Counting, not training, sets the peak here.
Lines of 1000 tokens ``w<id>``, written in blocks of 10M tokens (bounded memory at any size; the
count of distinct tokens is printed up to 50M tokens, beyond which it would need all the ids at once).
"""
from __future__ import annotations

import argparse

import numpy as np


BLOCK = 10_000_000   # tokens drawn and written at a time (a multiple of the line length)
COUNT_UP_TO = 50_000_000


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--tokens", type=int, default=10_000_000)
    parser.add_argument("--exponent", type=float, default=1.08)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    kept = []
    try:
        f = open(args.output, "x")  # a corpus is made, never written over a file that is there
    except FileExistsError:
        parser.error(f"{args.output}: exists; give a new path")
    with f:
        for start in range(0, args.tokens, BLOCK):
            ids = rng.zipf(args.exponent, min(BLOCK, args.tokens - start))
            if args.tokens <= COUNT_UP_TO:
                kept.append(ids)
            f.write("".join("w" + " w".join(map(str, ids[i:i + 1000].tolist())) + "\n"
                            for i in range(0, len(ids), 1000)))
    if kept:
        distinct, counts = np.unique(np.concatenate(kept), return_counts=True)
        print(f"{args.output}: {args.tokens:,} tokens, {len(distinct):,} distinct, "
              f"{(counts >= 5).sum():,} seen 5 times or more")
    else:
        print(f"{args.output}: {args.tokens:,} tokens")


if __name__ == "__main__":
    main()
