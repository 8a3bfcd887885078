"""Run ``w2v`` with a variant of the distributed combine rule (an experiment, not an option of w2v).

    python benchmarks/combine_variants.py VARIANT train CORPUS -o OUT.bin --scheduler local:2 ...

The combine runs in the client (the ``w2v train`` process), so patching :mod:`w2v.distributed` here
changes it for the whole run; the workers are untouched. Variants (see ``w2v.distributed.combine``
for the rule they alter):

* ``chosen``: the rule as it is (the guard for rows three or more workers changed whose summed change
  turned against their last combined change; ``reversal`` in ``results/distributed-variants-reversal-*.md``.
  The runs of ``chosen`` before those were made with the guard on every row three or more workers changed,
  ``guard-all`` now, and those in ``results/distributed-variants-seeds1-4.md`` and ``-cap10-*.md`` when the
  rule guarded every row, ``guard-all`` with ``guard:1``; their ``eta:C`` rows vary that rule);
* ``eta:C``: every matrix's pull per update ``η`` times ``C`` (so the shares from the counts,
  ``1 − exp(−η n)``, are larger for ``C > 1``: more rows get the mean, fewer the sum);
* ``counts``: the shares from the counts alone, without the guard ``‖Δ‖/‖row‖`` (on two workers the
  same as ``chosen`` now);
* ``cap:C``: the guard ``‖Δ‖/‖row‖`` believed only up to the share ``1 − exp(−C η n)`` (the counts' pull
  underestimated at most ``C`` times), so rows with few updates keep the counts' share;
* ``guard:K``: the guard only for rows that at least ``K`` workers changed (the counts' shares for
  the rest): ``w2v.distributed.GUARD_WORKERS`` set to ``K``;
* ``guard-only:M``: the rule as it is for matrix ``M`` (``syn0``, or ``syn1neg``, with ``syn1`` beside it),
  the counts' shares alone for the other (which matrix needs the guard on three or more workers).
* ``guard-all``: the rule before the guard looked at the last combined change: the guard for every row
  three or more workers changed, whatever its last change, in the first round too.
* ``turned-mean``: the rows the rule guards (three or more workers changed them and their change turned
  back) get the plain mean of the changes instead of the guard's shares (a row that overshot is taken as
  pulled all the way by every worker).

The other variants alter the rule as it is now; their runs in ``results/`` were made on the rule of their
day (``guard-all``'s, and before it the guard on every row, ``guard-all`` with ``guard:1``).

Used by ``distributed_runs.py variants``; the results are in ``results/distributed-variants*.md``.
"""
from __future__ import annotations

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

VARIANTS = ("chosen", "eta:C", "counts", "cap:C", "guard:K", "guard-only:M", "guard-all", "turned-mean")


def apply_variant(name: str) -> None:
    """Patch :mod:`w2v.distributed` for variant ``name`` (one of :data:`VARIANTS`, ``eta:C`` with a number)."""
    from w2v import distributed
    if name == "chosen":
        return
    if name.startswith("eta:"):
        factor = float(name[4:])
        if not factor > 0:
            raise SystemExit(f"combine_variants.py: eta:C needs C > 0, not {name[4:]!r}")
        original = distributed.contraction

        def scaled(*args, **kwargs):
            return factor * original(*args, **kwargs)
        distributed.contraction = scaled
        return
    if name == "counts":
        distributed.GUARD_WORKERS = sys.maxsize
        return
    if name.startswith("cap:"):
        cap = float(name[4:])
        if not cap > 0:
            raise SystemExit(f"combine_variants.py: cap:C needs C > 0, not {name[4:]!r}")
        distributed.GUARD_WORKERS = 1
        original_add = distributed._Combiner.add

        def add(self, change, updates):
            """The library's add, then the guarded share capped at 1 − exp(−C η n) (never below the counts')."""
            shares, guarded_stay, guarded_shares = (self.shares.copy(), self.guarded_stay.copy(),
                                                    self.guarded_shares.copy())
            original_add(self, change, updates)
            counted, guarded = self.shares - shares, self.guarded_shares - guarded_shares
            capped = np.maximum(counted, np.minimum(guarded, -np.expm1(-cap * self.eta * updates)))
            self.guarded_stay, self.guarded_shares = guarded_stay + np.log1p(-capped), guarded_shares + capped
        distributed._Combiner.add = add
        return
    if name.startswith("guard:"):
        try:
            distributed.GUARD_WORKERS = int(name[6:])
        except ValueError:
            raise SystemExit(f"combine_variants.py: guard:K needs a whole number, not {name[6:]!r}") from None
        return
    if name.startswith("guard-only:"):
        guarded = name[len("guard-only:"):]
        if guarded not in ("syn0", "syn1neg"):
            raise SystemExit(f"combine_variants.py: guard-only:M needs syn0 or syn1neg, not {guarded!r}")
        original_init, original_factor = distributed._Combiner.__init__, distributed._Combiner.factor
        made = [0]

        def init(self, *args, **kwargs):
            """A round makes one combiner a matrix, in the order of w2v.model.Weights: syn0, syn1neg, syn1."""
            original_init(self, *args, **kwargs)
            self.is_syn0 = made[0] % 3 == 0
            made[0] += 1

        def factor(self):
            if self.is_syn0 == (guarded == "syn0"):
                return original_factor(self)
            kept, distributed.GUARD_WORKERS = distributed.GUARD_WORKERS, sys.maxsize
            try:
                return original_factor(self)
            finally:
                distributed.GUARD_WORKERS = kept
        distributed._Combiner.__init__, distributed._Combiner.factor = init, factor
        return
    if name == "guard-all":
        from w2v import kernels
        original_init = distributed._Combiner.__init__

        def init(self, *args, **kwargs):
            """Every round a last change to look at, also the first (the guard then applies there too)."""
            original_init(self, *args, **kwargs)
            if self.last is None:
                self.last = np.zeros((len(self.matrix), self.dim), dtype=np.int8)

        def every_row_turned(direction, total, rows, dim, out):
            out[:] = True
        distributed._Combiner.__init__, kernels.reversed_rows = init, every_row_turned
        return
    if name == "turned-mean":
        from w2v import kernels

        def factor(self):
            """The rule's factor, with the mean (1 / the workers that changed it) on every row it guards."""
            many = self.touched >= distributed.GUARD_WORKERS
            rows = np.flatnonzero(many)
            turned = np.zeros(len(rows), dtype=np.bool_)
            if len(rows) and self.last is not None:
                kernels.reversed_rows(self.last, self.total, rows, self.dim, turned)
            many[rows] = turned
            result = np.ones(len(self.matrix), dtype=np.float64)
            moved = self.shares > 1e-12
            result[moved] = -np.expm1(self.stay[moved]) / self.shares[moved]
            result[many] = 1.0 / self.touched[many]
            return result.astype(np.float32)
        distributed._Combiner.factor = factor
        return
    raise SystemExit(f"combine_variants.py: unknown variant {name!r}; one of {', '.join(VARIANTS)}")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        raise SystemExit("usage: combine_variants.py VARIANT W2V-ARGUMENTS...")
    apply_variant(argv[0])
    from w2v.cli import main as w2v_main
    w2v_main(argv[1:])


if __name__ == "__main__":
    main()
