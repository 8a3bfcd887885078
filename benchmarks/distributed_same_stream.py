"""Are distributed rounds exact? One Dask worker against one machine, given the same chunks and
random streams.

    python benchmarks/distributed_same_stream.py --corpus /tmp/wiki8.txt --seed 4

With ``--scheduler local:1`` the combine keeps the worker's change whole, so a single worker should
train what one machine trains. Two things differ by design: the worker's chunks
(``sync_words >> WARMUP_STEPS`` words, 31,250 by default) and its random streams (salted with the
shard's number). This trains one epoch three ways, one thread each: ``local:1``; one machine with the
worker's chunk size and salt (``kernels.seed_state`` patched to add the shard number 0); and one
machine as it is. It reports how far the input vectors of each lie from the worker's (cosine per
row) and the losses. Results go to ``results/<--name>.md``.
"""
from __future__ import annotations

import datetime
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from compare import BadArgument, OneLineParser, run_in_one_line  # noqa: E402
from timing import invocation, result_name, write_result  # noqa: E402


def cosines(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cosine of each row of ``x`` with the same row of ``y`` (float64)."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    return np.sum(x * y, 1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1) + 1e-30)


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--name", type=result_name, default="distributed-same-stream")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.corpus):
        raise BadArgument(f"--corpus {args.corpus}: no such file")
    if not 1 <= args.dim <= 10_000 or args.seed < 0:
        raise BadArgument(f"--dim {args.dim} --seed {args.seed}: the dimension must be 1 to 10,000, the seed "
                          f"not negative")
    import w2v
    from w2v import distributed, kernels
    options = dict(epochs=1, seed=args.seed, threads=1, dim=args.dim)
    sync_words = distributed.default_sync_words(1)
    chunk_words = max(1000, min(w2v.TrainOptions().chunk_words, sync_words >> distributed.WARMUP_STEPS))
    with distributed.connect("local:1") as cluster:
        worker = distributed.train([args.corpus], cluster=cluster, sync_words=sync_words, **options)
    salted = kernels.seed_state
    kernels.seed_state = lambda seed, *salt: salted(seed, salt[0], 0, *salt[1:]) if len(salt) == 2 else \
        salted(seed, *salt)
    try:
        same = w2v.train([args.corpus], chunk_words=chunk_words, **options)
    finally:
        kernels.seed_state = salted
    own = w2v.train([args.corpus], **options)
    rows = []
    reference = worker.model.weights.syn0[:, :args.dim]
    for label, result in (("one machine, the worker's chunks and streams", same), ("one machine as it is", own)):
        c = cosines(result.model.weights.syn0[:, :args.dim], reference)
        rows.append((label, float(np.median(c)), float(c.min()), result.history[0].loss))
    lines = [f"# One Dask worker against one machine ({datetime.date.today()})", "",
             f"`{invocation(__file__, argv)}`",
             "", f"One epoch, one thread, seed {args.seed}, dim {args.dim}; the worker (`local:1`, sync every "
             f"{sync_words:,} words, warm-up rounds included) trained in chunks of {chunk_words:,} words; loss "
             f"{worker.history[0].loss:.8f}. Cosine of each input vector with the worker's:", "",
             "| run | median cosine | smallest cosine | loss |", "|---|---|---|---|"]
    lines += [f"| {label} | {median:.8f} | {low:.7f} | {loss:.8f} |" for label, median, low, loss in rows]
    write_result(args.name, lines)


if __name__ == "__main__":
    run_in_one_line(main, "distributed_same_stream")
