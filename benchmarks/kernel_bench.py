"""Microbenchmark of one training kernel, for A/B comparisons of kernel changes.

    python benchmarks/kernel_bench.py --corpus ../shared/data/wiki8.txt.gz --kernel sg_batched
    python benchmarks/kernel_bench.py --kernel sg_batched --hs --negative 0
    python benchmarks/kernel_bench.py --hs --negative 0 --threads 2 --sentences 150   # Hogwild, 2 threads

It encodes the corpus once and builds the weights as training does (rows padded to a multiple
of 8 floats, :mod:`w2v.model`), then trains ``--sentences`` sentences per timing
``--repeat`` times on fresh slices, and reports every timing's words/s and the best: corpus words/s,
trained centre words/s, predictions per centre word, and GFLOP/s, counting
6·D flops per prediction (one dot product and two axpys of length D).
Machine noise on shared VMs is large, so alternate runs of the two versions
being compared, and compare medians.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from w2v import kernels  # noqa: E402
from w2v.corpus import Corpus  # noqa: E402
from w2v.encode import encode_corpus  # noqa: E402
from w2v.model import Model, kernel_args, kernel_function  # noqa: E402
from w2v.options import TrainOptions  # noqa: E402
from w2v.vocab import build_vocabulary  # noqa: E402


def make_parser(description, parser_class=argparse.ArgumentParser):
    """The options shared by this benchmark, ``profile_kernel.py`` and ``kernel_ab.py``."""
    parser = parser_class(description=description)
    parser.add_argument("--corpus", default=os.path.join(os.path.dirname(ROOT), "shared", "data", "wiki8.txt.gz"))
    parser.add_argument("--kernel", choices=["sg_batched", "sg_exact", "cbow_exact"], default="sg_batched")
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--negative", type=int, default=5)
    parser.add_argument("--hs", action="store_true")
    parser.add_argument("--hs-group", type=int, default=TrainOptions().hs_group,
                        help="sg_batched: context words per Huffman-path update (0: the whole window; "
                             "default: training's)")
    parser.add_argument("--hs-private", type=int, default=None,
                        help="sg_batched: top Huffman nodes kept private per thread (default: training's choice "
                             "for --threads)")
    parser.add_argument("--hs-sync", type=int, default=None,
                        help="sg_batched: centre words between merges of the private nodes (default: training's)")
    parser.add_argument("--private-words", type=int, default=None,
                        help="sg_batched: most frequent words whose rows are kept private per thread (default: "
                             "training's choice for --threads)")
    parser.add_argument("--private-sync", type=int, default=None,
                        help="sg_batched: centre words between merges of those rows (default: training's)")
    parser.add_argument("--sentences", type=int, default=300, help="sentences per timing (wiki8: 10,000 words each)")
    parser.add_argument("--repeat", type=int, default=4)
    return parser


def encoded_corpus(args):
    """(vocab, ids, offsets) of ``--corpus``, as training encodes it."""
    corpus = Corpus([args.corpus])
    vocab, _ = build_vocabulary(corpus)
    encoded = encode_corpus(corpus, vocab)
    return vocab, encoded.ids, encoded.offsets


def train_options(args, threads):
    """The TrainOptions the parsed options (:func:`make_parser`) ask for, on ``threads`` threads."""
    defaults = TrainOptions()
    return TrainOptions(dim=args.dim, window=args.window, negative=args.negative, hs=args.hs,
                        hs_group=args.hs_group, threads=threads, seed=1,
                        model="cbow" if args.kernel == "cbow_exact" else "sg", exact=args.kernel == "sg_exact",
                        hs_private_nodes=defaults.hs_private_nodes if args.hs_private is None else args.hs_private,
                        hs_sync_words=defaults.hs_sync_words if args.hs_sync is None else args.hs_sync,
                        private_words=defaults.private_words if args.private_words is None else args.private_words,
                        private_sync_words=(defaults.private_sync_words if args.private_sync is None
                                            else args.private_sync))


def setup(args):
    """Encode the corpus and build the model; returns (call(s_begin, s_end), offsets, kernel)."""
    vocab, ids, offsets = encoded_corpus(args)
    threads = getattr(args, "threads", 1)
    model = Model.new(vocab, train_options(args, threads))
    model.initialize()
    kernel = kernel_function(args.kernel, model.weights.syn0.shape[1])
    tables, settings = model.tables(), model.kernel_settings(threads)

    def call(s_begin, s_end):
        return kernel(*kernel_args(args.kernel, model.weights, tables, ids, offsets, s_begin, s_end, settings,
                                   0.025, 0.02, kernels.seed_state(1)))

    call(0, 1)  # compile or load from the cache
    return call, offsets, kernel


def main(argv=None):
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="threads at once, each on its own --sentences")
    args = parser.parse_args(argv)
    call, offsets, _ = setup(args)
    dim = args.dim
    n = args.sentences
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    if (args.repeat * args.threads * n + 1) >= len(offsets):
        parser.error(f"the corpus has {len(offsets) - 1} sentences; lower --sentences or --repeat")
    best = None
    speeds = []
    for rep in range(args.repeat):
        # each thread trains its own n sentences at once (the kernels release the GIL), as training's workers do
        slices = [(1 + (rep * args.threads + t) * n, 1 + (rep * args.threads + t + 1) * n) for t in range(args.threads)]
        results = [None] * args.threads

        def work(t):
            results[t] = call(*slices[t])
        workers = [threading.Thread(target=work, args=(t,)) for t in range(args.threads)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        seconds = time.perf_counter() - start
        words = sum(int(offsets[end] - offsets[begin]) for begin, end in slices)
        speeds.append(words / seconds)
        trained = sum(r[2] for r in results)
        predictions = sum(r[1] for r in results)
        if best is None or seconds < best[0]:
            best = (seconds, words, trained, predictions)
    seconds, words, trained, predictions = best
    print(f"{args.kernel}{' hs' if args.hs else ''} negative {args.negative}: {words / seconds:,.0f} words/s, "
          f"{trained / seconds:,.0f} centre words/s, {predictions / max(trained, 1):.1f} predictions per centre word, "
          f"{6 * dim * predictions / seconds / 1e9:.2f} GFLOP/s ({args.threads} thread(s), best of {args.repeat}; "
          f"each: {', '.join(f'{s:,.0f}' for s in speeds)} words/s)")


if __name__ == "__main__":
    main()
