"""Run ``w2v`` with a variant of the distributed combine rule (an experiment, not an option of w2v).

    python benchmarks/combine_variants.py VARIANT train CORPUS -o OUT.bin --scheduler local:2 ...

The combine runs in the client (the ``w2v train`` process), so patching :mod:`w2v.distributed` here
changes it for the whole run; the workers are untouched. Variants (see ``w2v.distributed.combine``
for the rule they alter):

* ``chosen``: the rule as it is (the guard for rows three or more workers changed; the runs in
  ``results/distributed-variants-seeds1-4.md`` and ``-cap10-*.md`` were made before, when the rule
  guarded every row, ``guard:1`` now, and their ``eta:C`` rows vary that rule);
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
* ``reversal``: the guard only for the rows (three or more workers changed) whose summed change this
  round points against the row's combined change of the round before (a negative dot product), the
  counts' shares for the rest and for every row in the first round: a row the sum moved past its
  target comes back the next round, while a row still growing (the output vectors start at zero, so
  ``‖Δ‖/‖row‖`` calls every row of them pulled all the way at first) keeps its direction.

Used by ``distributed_runs.py variants``; the results are in ``results/distributed-variants*.md``.
"""
from __future__ import annotations

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

VARIANTS = ("chosen", "eta:C", "counts", "cap:C", "guard:K", "guard-only:M", "reversal")


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
    if name == "reversal":
        original_init = distributed._Combiner.__init__
        made, before = [0], {}

        def init(self, *args, **kwargs):
            """A round makes one combiner a matrix, in the order of w2v.model.Weights: syn0, syn1neg, syn1."""
            original_init(self, *args, **kwargs)
            self.which = made[0] % 3
            made[0] += 1

        def factor(self):
            """The library's factor with the guard only on rows whose sum reversed the last combined change."""
            many = self.touched >= distributed.GUARD_WORKERS
            last = before.get(self.which)
            if last is None:
                many[:] = False
            else:
                many &= np.einsum("ij,ij->i", last, self.total, dtype=np.float64) < 0
            stay = np.where(many, self.guarded_stay, self.stay)
            shares = np.where(many, self.guarded_shares, self.shares)
            result = np.ones(len(self.matrix), dtype=np.float64)
            moved = shares > 1e-12
            result[moved] = -np.expm1(stay[moved]) / shares[moved]
            result = result.astype(np.float32)
            before[self.which] = self.total * result[:, None]
            return result
        distributed._Combiner.__init__, distributed._Combiner.factor = init, factor
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
