"""The trained state: vocabulary, options, weights and training position; save, load, continue.

A :class:`Model` is what training changes and what a checkpoint holds:

* ``vocab`` (:class:`w2v.vocab.Vocabulary`) and ``options`` (resolved :class:`w2v.options.TrainOptions`);
* the weights (:class:`Weights`): ``syn0`` input vectors float32[V, P], ``syn1neg`` negative-sampling
  outputs float32[V or 0, P], ``syn1`` hierarchical-softmax inner nodes float32[V-1 or 0, P], with rows
  padded by zeros to P = :func:`padded_dim` (``dim`` rounded up to a multiple of 8: LLVM's vectorised
  row loops then have no scalar remainder; the padding stays zero under every update);
* the training position (:class:`Position`): where in its learning-rate schedule the model is, down
  to the chunk, with the unfinished epoch's tallies, so that a run stopped and resumed with one
  thread and a seed gives the same bytes as one that was not stopped.

This module is also the one place that turns a model into a kernel's arguments (:func:`kernel_args`):
training, the benchmarks and the tests all call it. Numba is imported only when a kernel is asked for.

Example::

    >>> from w2v.model import Model
    >>> model = Model.load("model.w2vm")                     # doctest: +SKIP
    >>> model.vectors.most_similar("king", topn=3)           # doctest: +SKIP
    >>> model.train(["more.txt"], epochs=2)                  # doctest: +SKIP
    >>> model.save("model.w2vm")                             # doctest: +SKIP
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from .modelfile import read_model_file, write_model_file
from .options import TrainOptions, default_threads
from .vectors import Vectors
from .vocab import Vocabulary

__all__ = ["Model", "Weights", "Tables", "KernelSettings", "Position", "kernel_args", "kernel_function",
           "padded_dim", "ROW_PAD", "aligned_zeros", "ALIGN_BYTES"]

#: Rows are padded with zeros to a multiple of ROW_PAD floats (see the module docstring). On one thread
#: (``kernel_bench.py --dim N``) skip-gram HS ran 15% faster at dim 104 than at 100, NS 5-13%.
ROW_PAD = 8


def padded_dim(dim: int) -> int:
    """``dim`` rounded up to a multiple of :data:`ROW_PAD`."""
    return -(-dim // ROW_PAD) * ROW_PAD


#: The weights' first row starts at a multiple of this many bytes (a cache line).
ALIGN_BYTES = 64


def aligned_zeros(shape: Tuple[int, int]) -> np.ndarray:
    """float32 zeros of ``shape`` whose data starts at a multiple of :data:`ALIGN_BYTES`.

    NumPy's large arrays start 16 bytes into a cache line (the allocator's header), so with rows of a
    multiple of 8 floats half the kernels' 32-byte vector loads straddle two cache lines; aligned, none
    does (two threads of sg-ns trained ~4% more words a second: benchmarks/README.md)."""
    rows, cols = shape
    raw = np.zeros(rows * cols + ALIGN_BYTES // 4, dtype=np.float32)
    skip = (-raw.ctypes.data % ALIGN_BYTES) // 4
    return raw[skip:skip + rows * cols].reshape(rows, cols)


#: Bytes of random numbers :meth:`Model.initialize` draws at a time: under
#: :data:`w2v.memory.LARGE_BLOCK`, so each block reuses the heap's pages instead of a fresh mapping.
INIT_BLOCK_BYTES = 1 << 19


class Weights(NamedTuple):
    """The trained matrices, rows padded (see the module docstring)."""
    syn0: np.ndarray
    syn1neg: np.ndarray
    syn1: np.ndarray


class Tables(NamedTuple):
    """What the kernels read but never change, all derived from the vocabulary and options.

    keep float32[V] subsampling keep-probabilities; alias_prob float32[V] and alias_index int32[V] the
    noise distribution; codes uint8[V, L], points int32[V, L], code_lengths int32[V] the Huffman tree
    (zeros, lengths 0, without hierarchical softmax); sigmoid float32[2, T+1] the σ and log σ tables.
    """
    keep: np.ndarray
    alias_prob: np.ndarray
    alias_index: np.ndarray
    codes: np.ndarray
    points: np.ndarray
    code_lengths: np.ndarray
    sigmoid: np.ndarray


class KernelSettings(NamedTuple):
    """The scalar settings of a kernel call (see :mod:`w2v.kernels`)."""
    window: int
    negative: int
    cbow_mean: bool = True
    hs_group: int = 1
    hs_private: int = 0
    hs_sync: int = 1024
    private_words: int = 0
    private_sync: int = 1024


def kernel_function(name: str, width: int = 0):
    """The kernel itself for a kernel name (``sg_batched``, ``sg_exact``, ``cbow_exact``) and rows of ``width``
    floats (:func:`w2v.kernels.kernel_for`: compiled for that width when it is a common one; 0: rows of any
    length); loads Numba."""
    from . import kernels
    return kernels.kernel_for(name, width)


def kernel_args(name: str, weights: Weights, tables: Tables, ids: np.ndarray, offsets: np.ndarray, s_begin: int,
                s_end: int, settings: KernelSettings, alpha_begin: float, alpha_end: float, seed) -> tuple:
    """The positional arguments of kernel ``name`` for sentences ``s_begin .. s_end`` of (ids, offsets)."""
    args = (weights.syn0, weights.syn1neg, weights.syn1, ids, offsets, s_begin, s_end, tables.keep,
            tables.alias_prob, tables.alias_index, tables.codes, tables.points, tables.code_lengths,
            tables.sigmoid, settings.window, settings.negative, np.float32(alpha_begin), np.float32(alpha_end), seed)
    if name == "cbow_exact":
        return args + (settings.cbow_mean,)
    if name == "sg_batched":
        return args + (settings.hs_group, settings.hs_private, settings.hs_sync, settings.private_words,
                       settings.private_sync)
    return args


@dataclass
class Position:
    """Where a model is in its learning-rate schedule (all JSON-able, saved in checkpoints).

    The schedule trains ``epochs`` passes over a corpus of ``corpus["words"]`` words; the rate falls
    linearly with ``words_done`` (words handed to the kernels) from ``alpha`` over ``total_words``.
    ``epoch`` epochs are finished, and ``chunk`` chunks of the next one (every chunk before it);
    ``loss``, ``predictions``, ``trained`` and ``words`` are that unfinished epoch's tallies, and
    ``history`` the finished epochs' statistics (dicts of :class:`w2v.training.EpochStats`).
    """
    epochs: int = 0
    epoch: int = 0
    chunk: int = 0
    words_done: int = 0
    total_words: int = 0
    alpha: float = 0.0
    loss: float = 0.0
    predictions: int = 0
    trained: int = 0
    words: int = 0
    corpus: Dict[str, Any] = field(default_factory=dict)
    history: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def started(self) -> bool:
        return self.total_words > 0

    @property
    def finished(self) -> bool:
        return self.started and self.epoch >= self.epochs

    def alpha_at(self, done: int, min_ratio: float) -> float:
        """The learning rate after ``done`` words of the schedule: linear from ``alpha`` at the start to
        ``alpha * min_ratio`` at the end (gensim's ``min_alpha``, as a fraction), never below it.

        word2vec.c falls towards 0 and stops at ``alpha * 1e-4``: ``max(alpha * 1e-4, alpha * (1 - t))``;
        with ``min_ratio`` 1e-4 the two differ by at most ``alpha * 1e-4``."""
        progress = min(1.0, done / self.total_words)
        return self.alpha * max(min_ratio, 1.0 - (1.0 - min_ratio) * progress)

    def start(self, corpus: Dict[str, Any], epochs: int, alpha: float) -> None:
        """Begin a new schedule of ``epochs`` passes over ``corpus`` from rate ``alpha``."""
        fresh = Position(epochs=epochs, total_words=int(corpus["words"]) * epochs, alpha=float(alpha),
                         corpus=dict(corpus))
        self.__dict__.update(fresh.__dict__)

    def finish_epoch(self, stats: Dict[str, Any]) -> None:
        self.history.append(stats)
        self.epoch += 1
        self.chunk = 0
        self.loss, self.predictions, self.trained, self.words = 0.0, 0, 0, 0

    @classmethod
    def from_dict(cls, data: Dict[str, Any], where: str) -> "Position":
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or not set(data) <= names:
            raise ValueError(f"{where}: a damaged w2v model file (its training position is malformed)")
        position = cls(**data)
        ints = (position.epochs, position.epoch, position.chunk, position.words_done, position.total_words)
        if not all(isinstance(x, int) and x >= 0 for x in ints) or position.epoch > position.epochs:
            raise ValueError(f"{where}: a damaged w2v model file (its training position is inconsistent)")
        return position


def check_start_dimension(name: str, found: int, dim: int) -> None:
    """Vectors of dimension ``found`` (``name``: a file's, for the message) can start a model of dimension
    ``dim`` only if the two are equal (:meth:`Model.start_from`): else one ``ValueError`` saying which to give."""
    if found != dim:
        raise ValueError(f"{name}: its vectors have dimension {found}, the model {dim}: train with dim={found} "
                         f"(--dim {found}) to start from them")


class Model:
    """A word2vec model: vocabulary, options, weights and training position (module docstring)."""

    def __init__(self, vocab: Vocabulary, options: TrainOptions, weights: Optional[Weights] = None,
                 position: Optional[Position] = None, meta: Optional[Dict[str, Any]] = None):
        self.vocab = vocab
        self.options = options.resolved()
        self.weights = weights
        self.position = position or Position()
        self.meta = dict(meta or {})
        self._tables: Optional[Tables] = None
        #: A distributed run of three or more workers: the direction of each row's last combined change, int8
        #: arrays of the weights' shapes unpadded ([rows, dim]), or None (:mod:`w2v.distributed`'s combine). Saved
        #: in checkpoints of a run not finished, so that a resumed run combines its next sync as one that never
        #: stopped; dropped when the vocabulary changes and by training on one machine.
        self.last_changes: Optional[tuple] = None
        #: Input vectors to start some words from, ``(rows int64[K], values float32[K, dim])``, written over the
        #: random start by :meth:`initialize` (:meth:`start_from`); None: every word starts at random.
        self.start_vectors: Optional[Tuple[np.ndarray, np.ndarray]] = None

    @classmethod
    def new(cls, vocab: Vocabulary, options: Optional[TrainOptions] = None) -> "Model":
        """A model to train from scratch; the weights are made by :meth:`initialize` (training does it
        after loading the kernels, so the process's peak memory holds one, not both)."""
        if options is not None and options.hs and len(vocab) < 2:
            raise ValueError("hierarchical softmax needs at least 2 words in the vocabulary")
        return cls(vocab, options or TrainOptions())

    # -- weights ------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return self.options.dim

    def _shapes(self):
        v, rows = len(self.vocab), padded_dim(self.dim)
        return (v, rows), (v if self.options.negative > 0 else 0, rows), (v - 1 if self.options.hs else 0, rows)

    def start_from(self, vectors: Vectors) -> int:
        """Start the input vectors of this new model's words that ``vectors`` holds (trained elsewhere:
        GoogleNews, GloVe, another run) from those, the other words at random as usual (:meth:`initialize`);
        the output weights start at zero either way. gensim's ``intersect_word2vec_format``, without its
        locking. The rows are copied now, so ``vectors`` (a large file's) can be let go. Returns how many
        words were found (exact matches). Raises ``ValueError`` when the dimensions differ or the model has
        weights already."""
        if self.weights is not None:
            raise ValueError("the model has weights already: start vectors are for a new model")
        check_start_dimension("the start vectors", vectors.dim, self.dim)
        index = vectors.index
        pairs = [(i, index[w]) for i, w in enumerate(self.vocab.words) if w in index]
        rows = np.array([i for i, _ in pairs], dtype=np.int64)
        values = np.asarray(vectors.matrix[np.array([j for _, j in pairs], dtype=np.int64)], dtype=np.float32)
        if not np.isfinite(values).all():
            raise ValueError("the start vectors hold a value that is not finite")
        self.start_vectors = (rows, values.reshape(len(rows), self.dim))
        return len(rows)

    def initialize(self) -> None:
        """word2vec.c's start: input vectors uniform in [-0.5, 0.5) / dim (from the seed), outputs zero; then
        the rows of :attr:`start_vectors` (:meth:`start_from`) over their words' random start.

        The numbers are those of one draw of the whole V x dim matrix from ``np.random.default_rng(seed)``,
        drawn a block of rows at a time (:data:`INIT_BLOCK_BYTES`) and written into the weights, without a
        V x dim temporary to allocate and fault in beside the weights (27 MB on wiki8). The options' threads
        (0: every CPU) draw consecutive runs of blocks at once, each from its own generator
        moved ahead to its first number (PCG64's ``advance``: a step gives two float32s, and every run
        starts on an even number), so the numbers do not depend on the threads; NumPy releases the GIL while
        it draws (benchmarks/README.md, "Vocabularies of millions of words")."""
        if self.weights is not None:
            return
        syn0, syn1neg, syn1 = (aligned_zeros(shape) for shape in self._shapes())
        dim = self.dim
        rows = max(2, INIT_BLOCK_BYTES // (4 * dim))
        rows += rows % 2  # an even number of rows a block: each block starts on a whole step of the generator
        blocks = list(range(0, len(syn0), rows))
        threads = self.options.threads or default_threads()
        share = -(-len(blocks) // max(1, min(threads, len(blocks))))

        def draw(firsts: List[int]) -> None:
            bits = np.random.PCG64(self.options.seed)
            bits.advance(firsts[0] * dim // 2)
            rng = np.random.Generator(bits)
            for first in firsts:
                block = rng.random((min(rows, len(syn0) - first), dim), dtype=np.float32)
                block -= np.float32(0.5)
                block /= np.float32(dim)
                syn0[first:first + len(block), :dim] = block

        runs = [blocks[i:i + share] for i in range(0, len(blocks), share)]
        if len(runs) <= 1:
            for run in runs:
                draw(run)
        else:
            with concurrent.futures.ThreadPoolExecutor(len(runs)) as pool:
                for done in [pool.submit(draw, run) for run in runs]:
                    done.result()
        if self.start_vectors is not None:
            rows, values = self.start_vectors
            syn0[rows, :dim] = values
            self.start_vectors = None
        self.weights = Weights(syn0, syn1neg, syn1)

    def stand_in_weights(self) -> Weights:
        """Weights of the right types and at most one row each, to load a kernel before the real ones exist."""
        return Weights(*(np.zeros((min(n, 1), rows), dtype=np.float32) for n, rows in self._shapes()))

    @property
    def vectors(self) -> Vectors:
        """The input vectors as :class:`w2v.Vectors`: a view of the weights, not a copy."""
        if self.weights is None:
            raise ValueError("the model has not been trained yet: it has no vectors")
        meta = {"options": asdict(self.options), "kernel": self.kernel_name,
                "losses": [e["loss"] for e in self.position.history],
                "corpus_words": int(self.position.corpus.get("words", 0))}
        meta.update(self.meta)
        return Vectors(self.vocab.words, self.weights.syn0[:, :self.dim], counts=self.vocab.counts, meta=meta,
                       distinct=True)

    # -- what the kernels read ------------------------------------------------------------
    @property
    def kernel_name(self) -> str:
        return self.options.kernel_name

    def tables(self) -> Tables:
        """The kernels' read-only tables (computed once per vocabulary)."""
        if self._tables is None:
            from .kernels import make_tables
            vocab, options = self.vocab, self.options
            if options.hs:
                tree = vocab.huffman()
                codes, points, lengths = tree.codes, tree.points, tree.lengths
            else:
                codes = np.zeros((len(vocab), 1), dtype=np.uint8)
                points = np.zeros((len(vocab), 1), dtype=np.int32)
                lengths = np.zeros(len(vocab), dtype=np.int32)
            alias_prob, alias_index = vocab.noise_alias(options.ns_exponent)
            self._tables = Tables(vocab.keep_probabilities(options.sample), alias_prob, alias_index, codes, points,
                                  lengths, make_tables())
        return self._tables

    def kernel_settings(self, threads: int) -> KernelSettings:
        """The kernel's scalar settings; with one thread no Huffman node and no word's rows are kept private
        (nothing to wait for)."""
        o = self.options
        several = threads > 1
        return KernelSettings(o.window, o.negative, o.cbow_mean, o.hs_group, o.hs_private_nodes if several else 0,
                              o.hs_sync_words, o.private_words if several else 0, o.private_sync_words)

    def stand_in_tables(self) -> Tables:
        """Tables of the types :meth:`tables` makes (:class:`Tables`), a row each and not computed (no compiled
        code runs): with :meth:`stand_in_weights`, to load or compile a kernel before the vocabulary is
        known (:mod:`w2v.precompile`)."""
        from .kernels import make_tables
        return Tables(np.ones(1, np.float32), np.ones(1, np.float32), np.zeros(1, np.int32),
                      np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.int32), np.zeros(1, np.int32), make_tables())

    # -- training -----------------------------------------------------------------------------
    def train(self, corpus, epochs: Optional[int] = None, alpha: Optional[float] = None, **kwargs):
        """Train further on ``corpus`` (paths, or a :class:`w2v.encode.EncodedCorpus`): a new schedule of
        ``epochs`` passes (default: the options') from rate ``alpha`` (default: a new run's), or, for a
        model stopped in the middle of its schedule, the rest of it. See :func:`w2v.training.train_model`."""
        from .training import train_model
        return train_model(self, corpus, epochs=epochs, alpha=alpha, **kwargs)

    def check_vocabulary_update(self) -> None:
        """Raise ValueError when new words cannot be added: with hierarchical softmax new words change the
        Huffman tree, so the trained inner nodes would no longer belong to the codes they were trained for
        (gensim rebuilds the tree and keeps the old rows, silently mixing them up). Callers check before
        counting the new words."""
        if self.options.hs:
            raise ValueError("--update-vocab cannot extend a hierarchical-softmax model: new words change every "
                             "word's Huffman code, so the trained inner nodes would belong to other codes; "
                             "continue without --update-vocab (new words are then ignored) or train a new model")

    def update_vocabulary(self, counted: Vocabulary) -> int:
        """Merge a new corpus's vocabulary (counted with this model's ``min_count``): known words add
        the new counts to theirs, new words get fresh vectors (word2vec.c's start) and zero output rows,
        and rows are put back in frequency order. Returns the number of new words.

        Refused with hierarchical softmax (:meth:`check_vocabulary_update`).
        """
        self.check_vocabulary_update()
        self.initialize()
        old = self.vocab
        merged = {w: int(c) for w, c in zip(old.words, old.counts.tolist())}
        added = []
        for w, c in zip(counted.words, counted.counts.tolist()):
            if w in merged:
                merged[w] += int(c)
            else:
                merged[w] = int(c)
                added.append(w)
        order = sorted(merged, key=lambda w: (-merged[w], w))
        vocab = Vocabulary(order, [merged[w] for w in order], old.total_tokens + counted.total_tokens)
        rows = np.array([old.index.get(w, -1) for w in order], dtype=np.int64)
        fresh = rows < 0
        syn0 = aligned_zeros((len(order), self.weights.syn0.shape[1]))
        syn0[~fresh] = self.weights.syn0[rows[~fresh]]
        rng = np.random.default_rng([self.options.seed, len(old)])
        syn0[fresh, :self.dim] = (rng.random((int(fresh.sum()), self.dim), dtype=np.float32) - np.float32(0.5)) \
            / np.float32(self.dim)
        syn1neg = self.weights.syn1neg
        if len(syn1neg):
            syn1neg = aligned_zeros(syn0.shape)
            syn1neg[~fresh] = self.weights.syn1neg[rows[~fresh]]
        self.vocab, self.weights, self._tables = vocab, Weights(syn0, syn1neg, self.weights.syn1), None
        self.last_changes = None
        return len(added)

    # -- files --------------------------------------------------------------------------------
    def save(self, path: str, force: bool = False) -> None:
        """Write the whole state to a model file (:mod:`w2v.modelfile`), atomically."""
        self.initialize()
        w, dim = self.weights, self.dim
        state = asdict(self.position)
        state["total_tokens"] = self.vocab.total_tokens
        last = None if self.position.finished else self.last_changes
        write_model_file(path, self.vocab.words, self.vocab.counts, w.syn0[:, :dim], w.syn1neg[:, :dim],
                         w.syn1[:, :dim], asdict(self.options), state, self.meta, force=force, last_changes=last)

    @classmethod
    def load(cls, path: str, mmap: bool = False) -> "Model":
        """Read a model file. ``mmap=True`` maps the weights read-only (for queries: ``model.vectors``
        answers at once); training copies them into padded, writable arrays first."""
        data = read_model_file(path, mmap=mmap)
        try:
            options = TrainOptions(**data.options).resolved()
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: a damaged w2v model file (its options: {error})") from None
        state = dict(data.state)
        total_tokens = state.pop("total_tokens", 0)
        position = Position.from_dict(state, path)
        try:
            vocab = Vocabulary(data.words, data.counts, total_tokens if isinstance(total_tokens, int) else 0)
        except ValueError as error:
            raise ValueError(f"{path}: a damaged w2v model file ({error})") from None
        if data.syn0.shape != (len(vocab), options.dim):
            raise ValueError(f"{path}: a damaged w2v model file (syn0 is {data.syn0.shape}, options say "
                             f"{len(vocab)} words of dimension {options.dim})")
        if (len(data.syn1neg) > 0) != (options.negative > 0) or (len(data.syn1) > 0) != (options.hs and len(vocab) > 1):
            raise ValueError(f"{path}: a damaged w2v model file (its output layers do not match its options)")
        model = cls(vocab, options, position=position, meta=data.meta)
        model.weights = Weights(data.syn0, data.syn1neg, data.syn1) if mmap else model._padded(data)
        model.last_changes = data.last_changes  # (mapped with mmap: a run copies them to write)
        return model

    def _padded(self, data) -> Weights:
        rows = padded_dim(self.dim)
        padded = []
        for array in (data.syn0, data.syn1neg, data.syn1):
            out = aligned_zeros((len(array), rows))
            out[:, :self.dim] = array
            padded.append(out)
        return Weights(*padded)

    def writable(self) -> None:
        """Make memory-mapped (read-only, unpadded) weights padded and writable, for training."""
        if self.weights is not None and (self.weights.syn0.shape[1] != padded_dim(self.dim)
                                         or not self.weights.syn0.flags.writeable):
            self.weights = self._padded(self.weights)
