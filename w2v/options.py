"""Training options and their limits: the one source of truth for the library and the CLI.

:data:`LIMITS` gives every numeric option's type and range; the CLI builds
its click types from it (``w2v/cli.py``) and :meth:`TrainOptions.validate`
checks the same table, so a value the command line accepts is a value
training accepts. :meth:`TrainOptions.validate` only checks;
:meth:`TrainOptions.resolved` returns a copy with the defaults that depend on
other options or on the machine filled in (``alpha``: 0.025 skip-gram, 0.05
CBOW, as word2vec.c; ``min_alpha_ratio``: see :data:`CBOW_MIN_ALPHA_RATIO`;
``threads`` 0: every CPU this process may use; ``shuffle``: on unless
``exact``).

No Numba here.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Dict, NamedTuple, Optional

__all__ = ["TrainOptions", "LIMITS", "Limit", "default_threads", "KERNELS", "CBOW_MIN_ALPHA_RATIO",
           "WORD2VEC_MIN_ALPHA_RATIO", "MIN_SYNC_WORDS"]


class Limit(NamedTuple):
    """An option's type and range: ``low``/``high`` None is unbounded; ``*_open`` excludes the bound."""
    kind: type
    low: Optional[float]
    high: Optional[float]
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            where = f"in {left}{self.low:g}, {self.high:g}{right}"
        elif self.low is not None:
            where = f"{'>' if self.low_open else '>='} {self.low:g}"
        else:
            where = f"{'<' if self.high_open else '<='} {self.high:g}"
        return f"must be {'an integer' if self.kind is int else 'a number'} {where}"

    def admits(self, value) -> bool:
        if self.kind is int and (not isinstance(value, int) or isinstance(value, bool)):
            return False
        if self.kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))
                                   or not math.isfinite(value)):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            return False
        return True


#: Where the learning rate ends, as a fraction of ``alpha``, for skip-gram and for ``exact`` CBOW:
#: word2vec.c's ``alpha * 0.0001``.
WORD2VEC_MIN_ALPHA_RATIO = 1e-4
#: Where CBOW's learning rate ends by default. CBOW scored higher when its rate stops well above zero:
#: on wiki8 (5 epochs, alpha 0.05) ending at 0.2 × alpha gained about a point of analogy accuracy over
#: word2vec.c's 1e-4 at the same speed (benchmarks/README.md, "CBOW's learning rate"). gensim's
#: ``corpus_file`` mode ends higher than word2vec.c too, by accident: each of its threads measures its
#: progress against the whole corpus, so with 2 threads every epoch ends half-way down.
CBOW_MIN_ALPHA_RATIO = 0.2

#: Distinct tokens a vocabulary count holds before it prunes the rarest (word2vec.c's ReduceVocab): 21
#: million, where word2vec.c prunes (0.7 of its 30 million hash slots), so a corpus with more distinct
#: tokens keeps the words word2vec.c keeps; 55-85 bytes each, so counting stays at about 1.1 GiB,
#: less than word2vec.c's own count (1.6 GiB) (benchmarks/README.md, "Scale: hundreds of millions of tokens").
COUNT_LIMIT = 21_000_000
#: A count holds at most this many bytes of tokens for each token its limit allows; past that it prunes as
#: it does past the limit (:func:`w2v.scan._prune`). The distinct tokens of natural text average 8-10 bytes
#: (wiki8's 7.8), so this does not bind there; it bounds the count of a text with few spaces (minified code,
#: base64, a binary file), whose tokens, up to a read block (~1 MB) each and nearly all distinct, were all
#: held: 1.2 GB of memory for 1 GB of such text.
TOKEN_BYTES_PER_LIMIT = 32

#: The fewest words a worker of a distributed run may train between syncs (``--sync-words``; also the
#: floor of :func:`w2v.distributed.default_sync_words`). A sync costs about as much as a worker training
#: tens of thousands of words (on wiki8, two one-thread workers trained 17M words in 10.9 s and synced 14
#: times in 0.09 s each: 70,000 words' time), so shorter rounds spend most of their time syncing;
#: ``--sync-words 1`` made the 400,000-word sample corpus an hour of one-word rounds.
MIN_SYNC_WORDS = 10_000

#: Every numeric option's type and range.
LIMITS: Dict[str, Limit] = {
    "dim": Limit(int, 1, 10_000),
    "window": Limit(int, 1, 1000),
    "negative": Limit(int, 0, 1000),
    "sample": Limit(float, 0, 1),
    "min_count": Limit(int, 1, None),
    "max_vocab": Limit(int, 1, None),
    # a count holds the limit and a piece's new tokens; a token table numbers at most 2**31 - 1
    # (w2v.kernels.MAX_ENTRIES: int32 ids in the spool)
    "count_limit": Limit(int, 1, 2_000_000_000),
    "epochs": Limit(int, 1, 10_000),
    "alpha": Limit(float, 0, 10, low_open=True, high_open=True),
    "min_alpha_ratio": Limit(float, 0, 1),
    "threads": Limit(int, 0, 1024),
    "seed": Limit(int, 0, 2 ** 63 - 1),
    # count ** exponent must stay a usable distribution; the table is also checked when it is built
    "ns_exponent": Limit(float, -10, 10),
    "max_sentence_length": Limit(int, 1, None),
    "chunk_words": Limit(int, 1, None),
    "hs_group": Limit(int, 0, None),
    "hs_private_nodes": Limit(int, 0, None),
    "hs_sync_words": Limit(int, 1, None),
    "private_words": Limit(int, 0, None),
    "private_sync_words": Limit(int, 1, None),
}

#: The kernel for each (architecture, exact?): the variant is picked once, here, never in the inner loop.
#: CBOW has only word2vec.c's updates. Skip-gram is batched unless ``exact`` is True (see
#: :mod:`w2v.kernels`).
KERNELS = {("sg", False): "sg_batched", ("sg", True): "sg_exact", ("cbow", True): "cbow_exact"}


def default_threads() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class TrainOptions:
    """Hyper-parameters; defaults are word2vec.c's (``alpha`` None: 0.025 skip-gram, 0.05 CBOW) but for
    CBOW's ``min_alpha_ratio`` (None: :data:`CBOW_MIN_ALPHA_RATIO`, or word2vec.c's 1e-4 with ``exact``)."""
    model: str = "sg"
    dim: int = 100
    window: int = 5
    negative: int = 5
    hs: bool = False
    sample: float = 1e-3
    min_count: int = 5
    max_vocab: Optional[int] = None
    count_limit: int = COUNT_LIMIT  # distinct tokens held while counting before the rarest are pruned
    epochs: int = 5
    alpha: Optional[float] = None
    min_alpha_ratio: Optional[float] = None  # the rate falls linearly from alpha to alpha * this
    threads: int = 0            # 0: all available CPUs
    seed: int = 1
    cbow_mean: bool = True
    ns_exponent: float = 0.75
    exact: Optional[bool] = None  # skip-gram: True word2vec.c's pair-by-pair updates; False or None batched
    hs_group: int = 1           # batched skip-gram with hs: context words per update of the Huffman path (0: all)
    # batched skip-gram with hs and several threads: each thread trains its own copy of the top
    # hs_private_nodes Huffman nodes and merges it every hs_sync_words centre words (w2v.kernels.sg_batched):
    # every path starts at the root, and threads that all write the same rows wait on each other's caches
    hs_private_nodes: int = 64
    hs_sync_words: int = 1024
    # batched skip-gram with negative sampling and several threads: each thread trains its own copy of the
    # rows of the private_words most frequent words (syn0 and syn1neg) and merges it every
    # private_sync_words centre words (w2v.kernels.sg_batched): those rows are in nearly every window
    private_words: int = 64
    private_sync_words: int = 1024
    lowercase: bool = False
    max_sentence_length: int = 10_000
    chunk_words: int = 100_000
    # each epoch takes its chunks in a random order drawn from (seed, epoch) instead of the corpus's
    # (None: shuffled unless exact; see w2v.training.chunk_order)
    shuffle: Optional[bool] = None

    def validate(self) -> "TrainOptions":
        """Raise ``ValueError`` naming the first bad option; changes nothing. Returns self."""
        if self.model not in ("sg", "cbow"):
            raise ValueError(f"model must be 'sg' (skip-gram) or 'cbow', got {self.model!r}")
        for name, limit in LIMITS.items():
            value = getattr(self, name)
            if value is None and name in ("alpha", "min_alpha_ratio", "max_vocab"):
                continue
            if limit.kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not limit.admits(value):
                raise ValueError(f"{name} {limit.describe()}, got {getattr(self, name)!r}")
        if self.negative == 0 and not self.hs:
            raise ValueError("negative is 0 and hs is off: nothing would be trained; "
                             "use negative sampling (negative > 0) or hierarchical softmax (hs)")
        if self.exact not in (None, True, False):
            raise ValueError(f"exact must be True, False or None (batched), got {self.exact!r}")
        if self.shuffle not in (None, True, False):
            raise ValueError(f"shuffle must be True, False or None (unless exact), got {self.shuffle!r}")
        for name in ("hs", "cbow_mean", "lowercase"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        return self

    def resolved(self) -> "TrainOptions":
        """A validated copy with ``alpha``, ``min_alpha_ratio`` and ``threads`` filled in (see the module
        docstring)."""
        self.validate()
        alpha = self.alpha if self.alpha is not None else (0.05 if self.model == "cbow" else 0.025)
        ratio = self.min_alpha_ratio
        if ratio is None:
            ratio = CBOW_MIN_ALPHA_RATIO if self.model == "cbow" and not self.exact else WORD2VEC_MIN_ALPHA_RATIO
        threads = self.threads or default_threads()
        shuffle = self.shuffle if self.shuffle is not None else not self.exact
        return dataclasses.replace(self, alpha=float(alpha), min_alpha_ratio=float(ratio), threads=threads,
                                   shuffle=shuffle)

    @property
    def kernel_name(self) -> str:
        return KERNELS[(self.model, bool(self.exact) or self.model == "cbow")]
