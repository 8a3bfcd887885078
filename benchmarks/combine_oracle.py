"""How close does each combine rule come to one machine training both workers' text? (an experiment)

    python benchmarks/combine_oracle.py --corpus /tmp/wiki8.txt --seed 1

Two shards of the corpus (as ``--scheduler local:2`` cuts it) train one round each from the same
weights ``W``, in process, with :func:`w2v.distributed._train_round` (one thread, the workers' own
chunks and random streams): changes ``Δ_A`` and ``Δ_B``. The reference is one machine making both
rounds' updates one after the other, in both orders (``A`` then ``B`` from ``W``, and ``B`` then
``A``), averaged: ``Δ* = (Δ_AB + Δ_BA) / 2``; half their difference is how much the order alone
moves the result, the floor no rule can beat. Each rule's combined change ``C`` is scored per matrix
and band of word ranks by its relative squared error ``Σ ‖C − Δ*‖² / Σ ‖Δ*‖²``, and the best single
factor of the sum for the band, ``F* = Σ ⟨Δ*, S⟩ / Σ ‖S‖²`` (``S = Δ_A + Δ_B``), is shown beside
the mean factor of the counts' rule (what two workers use).

States: the first round of a run (fresh weights, ``alpha`` 0.025) and a round after one epoch of
one-machine training (``alpha`` 0.02, a 5-epoch schedule's rate after its first epoch). Results
go to ``results/<--name>.md``.
"""
from __future__ import annotations

import datetime
import os
import sys
import types
from dataclasses import asdict

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from compare import BadArgument, OneLineParser, run_in_one_line  # noqa: E402
from timing import invocation, result_name, write_result  # noqa: E402

BANDS = [(0, 100), (100, 1_000), (1_000, 10_000), (10_000, None)]
MATRICES = ("syn0", "syn1neg")


def dense(change, shape) -> np.ndarray:
    """A worker's change of one matrix, ``(rows or None, values, scale)`` as it crosses the network
    (``w2v.distributed.pack_change``), as float64[shape]."""
    from w2v.distributed import unpack_change
    rows, values, scale = change
    delta = unpack_change(values, scale, shape[1])
    out = np.zeros(shape, dtype=np.float64)
    if rows is None:
        out[...] = delta
    elif len(rows):
        out[rows] = delta
    return out


def combined(old, deltas, updates, eta, guard_workers) -> np.ndarray:
    """``w2v.distributed.combine`` of the dense changes ``deltas`` (float64[V, P] each), with the guard
    ``‖Δ_k‖/‖row‖`` on rows that ``guard_workers`` or more workers changed (1: every row; more than the
    workers: the counts alone), as float64. (The rule guards only rows whose change turned against their last
    combined change; a last change pointing against every row's sum makes that every row, as here.)"""
    from w2v import distributed
    saved = distributed.GUARD_WORKERS
    distributed.GUARD_WORKERS = guard_workers
    try:
        changes = [(None, d.astype(np.float32)) for d in deltas]
        turned = (-127 * np.sign(sum(deltas))).astype(np.int8)
        return distributed.combine(old, changes, updates, eta, last=turned).astype(np.float64)
    finally:
        distributed.GUARD_WORKERS = saved


def one_state(label, model, corpus, options, sync_words, alpha, begin, seed_epoch):
    from w2v import distributed
    from w2v.model import Weights
    n = 2
    chunk_words = max(1000, min(model.options.chunk_words, sync_words >> distributed.WARMUP_STEPS))
    run = f"oracle-{label}"
    starts = [distributed._describe_shard(run, k, n, [corpus], model.vocab, options, None, chunk_words)[0]
              for k in range(n)]
    shard_words = max(int(s[-1]) for s in starts)
    end = min(1.0, begin + sync_words / shard_words)
    w0 = Weights(*(m.copy() for m in model.weights))

    def round_from(k, weights, version):
        result = distributed._train_round(run, k, n, [corpus], model.vocab, options, None, chunk_words, version,
                                          None, tuple(weights), seed_epoch, begin, end, alpha, alpha)
        changes, occurrences = result[0], result[1]
        return [dense(c, m.shape) for c, m in zip(changes, weights)], occurrences

    version = [0]

    def next_version():
        version[0] += 1
        return version[0]

    own, occurrences = [], []
    for k in range(n):
        d, occ = round_from(k, w0, next_version())
        own.append(d)
        occurrences.append(occ)
    orders = []
    for first, second in ((0, 1), (1, 0)):
        after = Weights(*(m + d.astype(np.float32) for m, d in zip(w0, own[first])))
        d2, _ = round_from(second, after, next_version())
        orders.append([a.astype(np.float64) - m + b for a, m, b in zip(after, w0, d2)])
    fake = types.SimpleNamespace(model=model)
    etas = distributed._DistributedRun._contractions(fake, alpha)
    expected = [distributed.expected_updates(model, occ) for occ in occurrences]
    rows = []
    for i, name in enumerate(MATRICES):
        old = w0[i]
        if not len(old):
            continue
        target = (orders[0][i] + orders[1][i]) / 2
        floor = (orders[0][i] - orders[1][i]) / 2
        deltas = [own[k][i] for k in range(n)]
        total = deltas[0] + deltas[1]
        updates = [expected[k][i] for k in range(n)]
        rules = {
            "sum": total,
            "mean": total / 2,
            "guard all": combined(old, deltas, updates, etas[i], 1),
            "counts": combined(old, deltas, updates, etas[i], n + 1),
            "eta x0.5": combined(old, deltas, updates, etas[i] * 0.5, 1),
            "eta x2": combined(old, deltas, updates, etas[i] * 2, 1),
        }
        for lo, hi in BANDS:
            band = slice(lo, hi)
            t, s = target[band], total[band]
            reference = float(np.sum(t * t))
            if reference == 0:
                continue
            row = {"state": label, "matrix": name, "ranks": f"{lo:,}–{hi:,}" if hi else f"{lo:,}–",
                   "order floor": float(np.sum(floor[band] ** 2)) / reference,
                   "F*": float(np.sum(t * s) / max(np.sum(s * s), 1e-300))}
            for rule, change in rules.items():
                row[rule] = float(np.sum((change[band] - t) ** 2)) / reference
                if rule == "counts":  # C = F·S row by row, so this is F's mean weighted by ‖S‖²
                    row["F counts"] = float(np.sum(change[band] * s) / max(float(np.sum(s * s)), 1e-300))
            rows.append(row)
    return rows


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--sync-words", type=int, default=1_000_000, help="words a worker trains in the round")
    parser.add_argument("--name", type=result_name, default="distributed-combine-oracle")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.corpus):
        raise BadArgument(f"--corpus {args.corpus}: no such file")
    if not 1 <= args.dim <= 10_000 or args.seed < 0 or args.sync_words < 1000:
        raise BadArgument(f"--dim {args.dim} --seed {args.seed} --sync-words {args.sync_words}: the dimension "
                          f"must be 1 to 10,000, the seed not negative, the round at least 1,000 words")
    import w2v
    from w2v.model import Model
    settings = dict(seed=args.seed, threads=1, dim=args.dim)
    trained = w2v.train([args.corpus], epochs=1, **settings).model
    options = asdict(trained.options)
    fresh = Model(trained.vocab, trained.options)
    fresh.initialize()
    rows = one_state("start", fresh, args.corpus, options, args.sync_words, 0.025, 0.0, 0)
    rows += one_state("after 1 epoch", trained, args.corpus, options, args.sync_words, 0.02, 0.3, 1)
    keys = ["state", "matrix", "ranks", "order floor", "sum", "mean", "guard all", "counts", "eta x0.5", "eta x2",
            "F*", "F counts"]
    lines = [f"# Combine rules against one machine training both rounds ({datetime.date.today()})", "",
             f"`{invocation(__file__, argv)}`", "",
             f"Two shards of {os.path.basename(args.corpus)}, one round of {args.sync_words:,} words each, one "
             f"thread, seed {args.seed}, dim "
             f"{args.dim}. Cells: relative squared error of each rule's combined change against one machine "
             f"making both rounds (both orders, averaged); `order floor`: what the order alone moves; `F*`: "
             f"the best single factor of the sum for the band; `F counts`: the mean factor of the rule two "
             f"workers use (the counts' shares; weighted by ‖S‖²). `guard all`: the guard ‖Δ‖/‖row‖ on every "
             f"row; "
             f"`eta x…`: that rule with the counts' pull scaled.", "",
             "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        lines.append("| " + " | ".join(row[k] if isinstance(row[k], str) else f"{row[k]:.4f}" for k in keys) + " |")
    write_result(args.name, lines)


if __name__ == "__main__":
    run_in_one_line(main, "combine_oracle")
