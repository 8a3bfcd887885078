"""A/B test of two versions of the training kernels in one process, alternating timing by timing.

    git worktree add --detach /tmp/old HEAD          # the version to compare against
    python benchmarks/kernel_ab.py /tmp/old/w2v/kernels.py w2v/kernels.py
    python benchmarks/kernel_ab.py /tmp/old/w2v/kernels.py w2v/kernels.py --threads 2 --rounds 16

On a shared VM the speed of a whole process drifts by +-30% from one run to the next, so two
kernel_bench.py runs differ by more than most kernel changes do. This script loads both
``kernels.py`` files (each imports only NumPy, Numba and llvmlite) as separate modules, builds
one model per version from this tree's w2v, and times the two kernels on the same slice of the
corpus one after the other, in alternating order, ``--rounds`` times. Each round gives a ratio
B/A measured seconds apart; it prints both versions' median words/s, the median and mean of the
ratios, and in how many rounds B was ahead. The two versions' weights are trained separately
from the same start, so neither trains on what the other has learned.

Both versions are compiled afresh into a temporary Numba cache: a file loaded under another
module name must not meet the cache entries of the package's own import of the same file.
It takes the options of kernel_bench.py (``--kernel``, ``--hs``, ``--negative``, ...).
"""
from __future__ import annotations

import importlib.util
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import numba_cache_of_its_own  # noqa: E402

numba_cache_of_its_own("w2v-kernel-ab-cache-")

from compare import BadArgument, OneLineParser, run_in_one_line  # noqa: E402
from kernel_bench import encoded_corpus, make_parser, train_options  # noqa: E402
from w2v import kernels  # noqa: E402
from w2v.model import Model, kernel_args  # noqa: E402


def load_kernels(path, name, kernel):
    """The module in the file ``path`` (a kernels.py), imported under ``name``; it must define ``kernel``."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BadArgument(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # any failure to import it is the user's file's fault: say so in one line
        raise BadArgument(f"{path}: cannot be imported ({type(error).__name__}: {error})") from None
    if not callable(getattr(module, kernel, None)):
        raise BadArgument(f"{path}: defines no kernel {kernel}")
    return module


def training_kernel(module, name, width):
    """The kernel training runs for rows of ``width`` floats: ``module.kernel_for(name, width)``, or the kernel
    ``name`` itself in a version without ``kernel_for`` (before kernels were compiled for a fixed row length)."""
    if hasattr(module, "kernel_for"):
        return module.kernel_for(name, width)
    return getattr(module, name)


def main(argv=None):
    parser = make_parser(__doc__.splitlines()[0], OneLineParser)
    parser.add_argument("a", help="kernels.py of version A (the reference)")
    parser.add_argument("b", help="kernels.py of version B")
    parser.add_argument("--threads", type=int, default=1, help="threads at once, each on its own --sentences")
    parser.add_argument("--rounds", type=int, default=20, help="timings of each version, alternating")
    parser.set_defaults(sentences=60)
    args = parser.parse_args(argv)
    if args.threads < 1 or args.rounds < 1:
        parser.error("--threads and --rounds must be at least 1")
    for path in (args.a, args.b, args.corpus):
        if not os.path.isfile(path):
            parser.error(f"no such file: {path}")
    versions = [load_kernels(args.a, "kernels_a", args.kernel), load_kernels(args.b, "kernels_b", args.kernel)]
    vocab, ids, offsets = encoded_corpus(args)
    if 1 + args.rounds * args.threads * args.sentences >= len(offsets):
        parser.error(f"the corpus has {len(offsets) - 1} sentences; lower --sentences or --rounds")
    options = train_options(args, args.threads)
    models = []
    for _ in versions:
        model = Model.new(vocab, options)
        model.initialize()
        models.append(model)

    def timed(v, slices):
        """Seconds for version v to train ``slices`` (one (s_begin, s_end) per thread) at once."""
        model = models[v]
        kernel = training_kernel(versions[v], args.kernel, model.weights.syn0.shape[1])
        tables, settings = model.tables(), model.kernel_settings(args.threads)

        def work(s_begin, s_end):
            kernel(*kernel_args(args.kernel, model.weights, tables, ids, offsets, s_begin, s_end, settings,
                                0.025, 0.02, kernels.seed_state(1, s_begin)))
        workers = [threading.Thread(target=work, args=piece) for piece in slices]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return time.perf_counter() - start

    for v in range(2):
        timed(v, [(0, 1)])  # compile
    speeds = [[], []]
    n, first = args.sentences, 1
    for r in range(args.rounds):
        slices = [(first + t * n, first + (t + 1) * n) for t in range(args.threads)]
        first += args.threads * n
        words = int(offsets[slices[-1][1]] - offsets[slices[0][0]])
        for v in ((0, 1) if r % 2 == 0 else (1, 0)):
            speeds[v].append(words / timed(v, slices))
    ratios = [b / a for a, b in zip(*speeds)]
    print(f"{args.kernel}{' hs' if args.hs else ''} negative {args.negative}, {args.threads} thread(s), "
          f"{args.rounds} rounds of {n} sentences a thread")
    print(f"A {args.a}: median {statistics.median(speeds[0]):,.0f} words/s")
    print(f"B {args.b}: median {statistics.median(speeds[1]):,.0f} words/s")
    print(f"B/A per round: median {statistics.median(ratios):.3f}, mean {statistics.mean(ratios):.3f}, "
          f"B ahead in {sum(x > 1 for x in ratios)} of {len(ratios)}")


if __name__ == "__main__":
    run_in_one_line(main, "kernel_ab")
