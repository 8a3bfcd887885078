"""Training with many threads: does the main thread (chunks handed out, tallied, the progress bar)
keep 64 or more threads busy? Measurable on 2 cores by standing in for the kernel.

    python benchmarks/thread_overhead.py --corpus corpora/sample.txt

w2v's main thread hands out chunks to the pool threads (with several, two a thread at a time) and
tallies each as it ends (``w2v.training``).
Here the real ``train`` runs, with the real chunk plan, learning-rate schedule, pool and tqdm bar,
but the kernel is replaced by one that sleeps ``--chunk-ms`` milliseconds with the GIL released, as
the real kernel does while it trains (a chunk of 100,000 words takes about 100 ms on one thread of
this machine for sg-ns, 40 ms for CBOW). Sleeping threads need no core, so 64 or 256 of them run on
2 cores, and only the main thread's work competes for the CPU: the measured chunks a second against
``threads / chunk`` is how far the main thread alone lets training scale.

Also measured: the real kernel's cost per call that holds the GIL (Numba's dispatch of ~20
arguments, on an empty chunk), which every thread pays once a chunk; and with ``--tail-corpus``
(e.g. wiki8), whole epochs with each chunk sleeping for its words at ``--words-per-second`` a thread,
with w2v's chunk plan and with fixed chunks of 100,000 words, to show the epoch's tail: an epoch
ends when its last chunk does.

    python benchmarks/thread_overhead.py --tail-corpus /tmp/wiki8.txt --tail-threads 16,64
Results go to ``results/<--name>.md``.
"""
from __future__ import annotations

import datetime
import itertools
import math
import os
import sys
import time
from typing import Tuple

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from compare import BadArgument, OneLineParser, positive_ints, run_in_one_line  # noqa: E402
from timing import invocation, result_name, write_result  # noqa: E402


class SleepingKernel:
    """Stands in for a kernel: sleeps ``seconds`` (the GIL released) and reports nothing trained;
    counts its calls."""

    class stats:  # what the kernel preparation reads
        cache_misses: dict = {}

    def __init__(self, seconds: float, seconds_a_word: float = 0.0):
        self.seconds, self.seconds_a_word, self.calls = seconds, seconds_a_word, itertools.count()

    def __call__(self, *args):
        next(self.calls)
        time.sleep(self.seconds + self.seconds_a_word * len(args[3]))  # args[3]: the chunk's word ids
        return 0.0, 0, 0


def dispatch_microseconds(corpus: str, calls: int = 2000) -> float:
    """The real sg-ns kernel's microseconds a call on an empty chunk (the part of a chunk that holds the GIL)."""
    import w2v
    from w2v import kernels
    from w2v.model import kernel_args, kernel_function
    model = w2v.train([corpus], dim=100, epochs=1, threads=1, seed=1).model
    kernel = kernel_function(model.kernel_name, model.weights.syn0.shape[1])
    args = kernel_args(model.kernel_name, model.weights, model.tables(), np.zeros(0, np.int32),
                       np.zeros(1, np.int64), 0, 0, model.kernel_settings(1), 0.025, 0.025, kernels.seed_state(0))
    kernel(*args)
    start = time.perf_counter()
    for _ in range(calls):
        kernel(*args)
    return (time.perf_counter() - start) / calls * 1e6


def emulated(corpus: str, threads: int, chunk_words: int, chunk_seconds: float) -> tuple:
    """(chunks, seconds) of one epoch of the real training loop over a sleeping kernel."""
    import w2v
    from w2v import training
    real, kernel = training.kernel_function, SleepingKernel(chunk_seconds)
    training.kernel_function = lambda name, width=0: kernel
    try:
        result = w2v.train([corpus], dim=8, epochs=1, threads=threads, chunk_words=chunk_words, progress=True)
    finally:
        training.kernel_function = real
    return next(kernel.calls) - 1, result.history[-1].seconds  # one call prepared the kernel


def epoch_tail(corpus: str, threads: int, words_per_second: float, planned: bool) -> Tuple[int, float, float]:
    """(words, epoch seconds, ideal seconds) of training ``corpus`` on ``threads`` threads each training
    ``words_per_second`` (sleeping kernels); ``planned``: w2v's chunk plan (smaller chunks for many
    threads), else chunks of ``chunk_words`` whatever the threads (w2v before the plan)."""
    import w2v
    from w2v import training
    real, sizes, kernel = training.kernel_function, training.chunk_words_for, SleepingKernel(0.0, 1 / words_per_second)
    training.kernel_function = lambda name, width=0: kernel
    if not planned:
        training.chunk_words_for = lambda n_words, threads, chunk_words: chunk_words
    try:
        result = w2v.train([corpus], dim=8, epochs=1, threads=threads)
    finally:
        training.kernel_function, training.chunk_words_for = real, sizes
    words = result.model.position.corpus["words"]
    return words, result.history[-1].seconds, words / (threads * words_per_second)


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=os.path.join(ROOT, "corpora", "sample.txt"))
    parser.add_argument("--threads", default="2,8,32,64,128,256")
    parser.add_argument("--chunk-ms", default="100,40")
    parser.add_argument("--waves", type=int, default=40, help="chunks an epoch per thread (about)")
    parser.add_argument("--tail-corpus", help="also time whole epochs of this corpus (e.g. wiki8) on --tail-threads")
    parser.add_argument("--tail-threads", default="16,64")
    parser.add_argument("--words-per-second", type=float, default=1e6, help="a thread's speed in --tail-corpus runs")
    parser.add_argument("--handed-out", type=int, default=None,
                        help="chunks handed out at a time per thread (w2v.training.HANDED_OUT_PER_THREAD; default: "
                             "the library's), to compare the hand-out's depths")
    parser.add_argument("--name", type=result_name, default="thread-overhead")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.corpus):
        raise BadArgument(f"--corpus {args.corpus}: no such file")
    threads = positive_ints("--threads", args.threads)
    chunk_ms = positive_ints("--chunk-ms", args.chunk_ms)
    tail_threads = positive_ints("--tail-threads", args.tail_threads)
    if args.tail_corpus is not None and not os.path.isfile(args.tail_corpus):
        raise BadArgument(f"--tail-corpus {args.tail_corpus}: no such file")
    if args.words_per_second <= 0:
        raise BadArgument(f"--words-per-second {args.words_per_second}: must be positive")
    if args.waves < 2:
        raise BadArgument(f"--waves {args.waves}: must be at least 2")
    from w2v import training
    if args.handed_out is not None:
        if args.handed_out < 1:
            raise BadArgument(f"--handed-out {args.handed_out}: must be at least 1")
        training.HANDED_OUT_PER_THREAD = args.handed_out
    words = sum(len(line.split()) for line in open(args.corpus, encoding="utf-8", errors="replace"))
    dispatch = dispatch_microseconds(args.corpus)
    print(f"kernel dispatch: {dispatch:.1f} us a call", flush=True)
    rows = []
    for ms in chunk_ms:
        for n in threads:
            chunks, seconds = emulated(args.corpus, n, max(1, words // (args.waves * n)), ms / 1000)
            ideal = math.ceil(chunks / n) * ms / 1000  # every thread busy from start to end
            rows.append((ms, n, chunks, seconds, chunks / seconds, chunks / ideal, ideal / seconds))
            print(rows[-1], flush=True)
    lines = [f"# The main thread with many training threads ({datetime.date.today()})", "",
             f"`{invocation(__file__, argv)}`", "",
             "The real `w2v.train` loop (chunk plan, schedule, pool, tqdm bar shown) with the kernel replaced "
             "by a sleep of the chunk's time with the GIL released (see the script's docstring); one epoch of "
             f"about {args.waves} chunks a thread. Ideal: every thread busy from the start to the end "
             "(ceil(chunks / threads) chunk times); efficiency = ideal seconds / measured seconds.",
             f"Real sg-ns kernel, cost of a call on an empty chunk (GIL held): **{dispatch:.1f} µs**. "
             f"Chunks handed out at a time per thread (with several): {training.HANDED_OUT_PER_THREAD}.", "",
             "| chunk ms | threads | chunks | seconds | chunks/s | ideal chunks/s | efficiency |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {ms} | {n} | {c} | {s:.2f} | {r:,.0f} | {i:,.0f} | {e:.2f} |" for ms, n, c, s, r, i, e in rows]
    if args.tail_corpus:
        lines += ["", f"## Whole epochs of `{os.path.basename(args.tail_corpus)}`, each thread training "
                      f"{args.words_per_second:,.0f} words/s (sleeping)", "",
                  "An epoch ends when its last chunk does. Ideal: words / (threads × words/s).", "",
                  "| threads | chunks | words a chunk | epoch s | ideal s | efficiency |", "|---|---|---|---|---|---|"]
        from w2v.training import chunk_words_for
        for n in tail_threads:
            for planned in (False, True):
                words, seconds, ideal = epoch_tail(args.tail_corpus, n, args.words_per_second, planned)
                size = chunk_words_for(words, n, 100_000) if planned else 100_000
                lines.append(f"| {n} | {'plan: ' if planned else 'fixed: '}{math.ceil(words / size)} | {size:,} | "
                             f"{seconds:.3f} | {ideal:.3f} | {ideal / seconds:.2f} |")
                print(lines[-1], flush=True)
    write_result(args.name, lines)


if __name__ == "__main__":
    run_in_one_line(main, "thread_overhead")
