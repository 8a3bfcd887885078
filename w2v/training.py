"""Training: options, weights, epochs, learning-rate schedule, threads, progress, loss.

Python owns the outer loops; the kernels in :mod:`w2v.kernels` own the inner
one. The encoded corpus is cut into chunks of about ``chunk_words`` words
(whole sentences); worker threads take chunks in order and train them
lock-free on shared weights (Hogwild), with the GIL released. The learning
rate falls linearly with the words claimed so far, over all epochs and all
threads, from ``alpha`` to ``alpha * 1e-4`` (word2vec.c's schedule). Each chunk
gets its own RNG state from (seed, epoch, chunk), so one thread with a seed
gives identical weights on every run.

Example::

    >>> import w2v
    >>> result = w2v.train(["corpora/sample.txt"], dim=50, epochs=3, seed=1)   # doctest: +SKIP
    >>> result.vectors.most_similar("king", topn=3)                           # doctest: +SKIP
"""
from __future__ import annotations

import concurrent.futures
import math
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from .corpus import STDIN, Corpus
from .encode import EncodedCorpus, encode_corpus
from .files import check_free_space
from .formats import check_words
from .memory import release_compiler_pages
from .options import KERNELS, TrainOptions, default_threads
from .vectors import Vectors
from .vocab import Vocabulary, build_vocabulary
from .words import MAX_WORD_BYTES

__all__ = ["TrainOptions", "TrainResult", "train", "train_encoded", "KERNELS", "default_threads"]


#: Batched skip-gram with hierarchical softmax and several threads: each thread trains its own copy of the
#: top HS_PRIVATE_NODES Huffman nodes and merges it every HS_SYNC_WORDS centre words (see
#: :func:`w2v.kernels.sg_batched`): every path starts at the root, and threads that all write the same rows
#: wait on each other's caches.
HS_PRIVATE_NODES = 64
HS_SYNC_WORDS = 1024


#: The weights' rows are padded with zeros to a multiple of ROW_PAD floats. LLVM vectorises the kernels'
#: loops over a row in blocks of 8 or 16 floats and finishes with remainder loops (the profile showed
#: xmm and scalar epilogues at dim 100); on one thread (``kernel_bench.py --dim N``) skip-gram HS ran 15%
#: faster at dim 104 than at dim 100, and NS 5-13%, although each row is 4% longer. The padding stays
#: exactly zero (every update adds multiples of rows whose padding is zero), so it changes no result
#: beyond the order of float additions, and it is cut off before the vectors are returned.
ROW_PAD = 8


def padded_dim(dim: int) -> int:
    """``dim`` rounded up to a multiple of :data:`ROW_PAD`."""
    return -(-dim // ROW_PAD) * ROW_PAD


def hs_private_nodes(threads: int) -> int:
    """How many top Huffman nodes each thread keeps private: none with one thread (nothing to wait for)."""
    return HS_PRIVATE_NODES if threads > 1 else 0


@dataclass
class EpochStats:
    epoch: int
    loss: float          # mean negative log-likelihood per prediction
    words: int           # corpus words processed (before subsampling)
    trained: int         # centre words trained (after subsampling)
    seconds: float
    alpha_end: float


@dataclass
class TrainResult:
    """What :func:`train` returns: the vectors, the per-epoch history and the totals."""
    vectors: Vectors
    history: List[EpochStats] = field(default_factory=list)
    seconds: float = 0.0
    compile_seconds: float = 0.0
    options: Optional[TrainOptions] = None

    @property
    def losses(self) -> List[float]:
        return [e.loss for e in self.history]

    @property
    def words_per_second(self) -> float:
        words = sum(e.words for e in self.history)
        return words / self.seconds if self.seconds > 0 else 0.0


class TrainingDiverged(ValueError):
    """The loss became NaN or infinite."""


class TrainingInterrupted(Exception):
    """Training was stopped (Ctrl-C or a callback); nothing is written."""


def _kernels():
    """The kernel table, imported on first use so that queries never load Numba."""
    from . import kernels
    return kernels


def _compile(kernel_name: str, args):
    """Run the kernel once on an empty chunk so compilation (or cache loading) is paid here.

    Returns (seconds, compiled): ``compiled`` is False when Numba's on-disk cache served it.
    """
    start = time.perf_counter()
    kernels = _kernels()
    kernel = getattr(kernels, kernel_name)
    misses = sum(kernel.stats.cache_misses.values())
    kernel(*args)
    compiled = not kernels.CACHED or sum(kernel.stats.cache_misses.values()) > misses
    return time.perf_counter() - start, compiled


#: What a run will write, given its vocabulary: [(folder, bytes, what)] (see :func:`train`'s ``reserve``).
Reserve = Callable[[Vocabulary], List[Tuple[str, int, str]]]


def train(corpus_paths: Sequence[str], options: Optional[TrainOptions] = None, *,
          progress: bool = False, log: Optional[Callable[[str], None]] = None,
          callback: Optional[Callable[[EpochStats], Optional[bool]]] = None,
          vocab: Optional[Vocabulary] = None, save_vocab: Optional[str] = None,
          cache_dir: Optional[str] = None, in_memory: bool = False,
          reserve: Optional[Reserve] = None, force: bool = False, **option_values) -> TrainResult:
    """Train word vectors from text files (or ``-`` for stdin).

    ``options`` or keyword options (see :class:`TrainOptions`); ``vocab`` skips
    counting; ``save_vocab`` writes the vocabulary (``word count`` lines) there
    (``force``: even over a read-only file);
    ``callback(epoch_stats)`` runs after each epoch and may return True to stop.
    The encoded corpus (4 bytes a word) goes to an unlinked temporary file in
    ``cache_dir`` (default: the system's temporary folder) and is read back a
    chunk at a time, so it takes page cache, not process memory;
    ``in_memory=True`` keeps it in RAM instead. Once the vocabulary is known and
    before the corpus is encoded, the free disk space is checked for the
    encoded corpus and for what ``reserve(vocab)`` lists (the caller's
    outputs), so a full disk is found before training, not after. Returns a
    :class:`TrainResult`.
    """
    if options is None:
        options = TrainOptions(**option_values)
    elif option_values:
        raise ValueError("give options either as TrainOptions or as keywords, not both")
    options = options.resolved()
    say = log or (lambda message: None)
    corpus = Corpus(corpus_paths, lowercase=options.lowercase, progress=progress)
    if STDIN in corpus.files and vocab is None:
        raise ValueError("training reads the corpus twice (counting, then encoding), so it cannot read "
                         "standard input; save it to a file, or give a vocabulary file")
    counted_here = vocab is None
    if vocab is None:
        vocab, counted = build_vocabulary(corpus, min_count=options.min_count, max_size=options.max_vocab)
        if counted.invalid_bytes:
            say(f"warning: {counted.invalid_bytes} bytes of invalid UTF-8 were replaced by U+FFFD")
        if counted.too_long:
            say(f"note: {counted.too_long:,} distinct tokens longer than {MAX_WORD_BYTES:,} bytes are not words "
                f"and were left out")
        del counted  # every distinct token of the corpus: not needed while training
    check_words(vocab.words)  # what the writers would refuse after training, refused now
    spool = None if in_memory else (cache_dir or tempfile.gettempdir())
    needs = list(reserve(vocab)) if reserve is not None else []
    if spool is not None and counted_here:  # then the counts add up to the ids to spool
        needs.append((spool, 4 * int(vocab.counts.sum()), "the encoded corpus"))
    check_free_space(needs)
    if save_vocab:
        vocab.save(save_vocab, force=force)
    encoded = encode_corpus(corpus, vocab, options.max_sentence_length, cache_dir=spool)
    try:
        return train_encoded(encoded, vocab, options, progress=progress, log=say, callback=callback)
    finally:
        encoded.close()



def train_encoded(encoded: EncodedCorpus, vocab: Vocabulary, options: TrainOptions, *,
                  progress: bool = False, log: Optional[Callable[[str], None]] = None,
                  callback: Optional[Callable[[EpochStats], Optional[bool]]] = None,
                  stop_event: Optional[threading.Event] = None) -> TrainResult:
    """Train on an already encoded corpus (see :func:`train`)."""
    options = options.resolved()
    say = log or (lambda message: None)
    v, dim = len(vocab), options.dim
    rows = padded_dim(dim)  # the weights' row length: dim, then zeros (see ROW_PAD)
    shapes = [(v, rows), (v if options.negative > 0 else 0, rows), (v - 1 if options.hs else 0, rows)]
    if options.hs:
        tree = vocab.huffman()
        codes, points, lengths = tree.codes, tree.points, tree.lengths
    else:
        codes = np.zeros((v, 1), dtype=np.uint8)
        points = np.zeros((v, 1), dtype=np.int32)
        lengths = np.zeros(v, dtype=np.int32)
    keep = vocab.keep_probabilities(options.sample)
    alias_prob, alias_index = vocab.noise_alias(options.ns_exponent)
    kernels = _kernels()
    tables = kernels.make_tables()
    offsets = encoded.offsets
    if offsets.dtype != np.int64 or (encoded.ids is not None and encoded.ids.dtype != np.int32):
        raise ValueError("encoded corpus must hold int32 ids and int64 offsets")

    kernel_name = options.kernel_name
    kernel = getattr(kernels, kernel_name)
    # chunks of whole sentences, about chunk_words each
    n_words = int(offsets[-1])
    targets = np.arange(options.chunk_words, n_words, options.chunk_words, dtype=np.int64)
    bounds = np.unique(np.concatenate([[0], np.searchsorted(offsets, targets), [len(offsets) - 1]]))
    chunks = list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))
    threads = max(1, min(options.threads, len(chunks)))
    extra = {"cbow_exact": (options.cbow_mean,),
             "sg_batched": (options.hs_group, hs_private_nodes(threads), HS_SYNC_WORDS)}.get(kernel_name, ())

    def args(weights, s_begin, s_end, alpha_begin, alpha_end, seed):
        ids, chunk_offsets = encoded.chunk(s_begin, s_end)  # the chunk's sentences, offsets from 0
        return tuple(weights) + (ids, chunk_offsets, 0, s_end - s_begin, keep, alias_prob, alias_index,
                                 codes, points, lengths, tables, options.window, options.negative,
                                 np.float32(alpha_begin), np.float32(alpha_end), seed) + extra

    # The kernel is loaded (or compiled) on stand-in weights of the same types, before the real weights
    # exist; then LLVM's library pages, which training never touches again, are handed back. The
    # process's peak memory is then the larger of the two moments, not their sum (w2v.memory).
    say("preparing kernels (compiled on the first run, then loaded from Numba's cache)...")
    stand_ins = [np.zeros((min(n, 1), r), dtype=np.float32) for n, r in shapes]
    compile_seconds, compiled = _compile(kernel_name, args(stand_ins, 0, 0, 0.0, 0.0, kernels.seed_state(0)))
    del stand_ins
    release_compiler_pages()
    say(f"kernels {'compiled' if compiled else 'loaded from the cache'} in {compile_seconds:.1f} s")
    if not kernels.CACHED:
        say(f"note: no writable folder for Numba's cache ({kernels.CACHE_PROBLEM}); the kernels were compiled "
            f"in memory and will be compiled again next time (set NUMBA_CACHE_DIR to a writable folder)")

    rng = np.random.default_rng(options.seed)
    # word2vec.c: input vectors uniform in [-0.5, 0.5) / dim, output vectors zero
    syn0, syn1neg, syn1 = (np.zeros(shape, dtype=np.float32) for shape in shapes)
    syn0[:, :dim] = (rng.random((v, dim), dtype=np.float32) - np.float32(0.5)) / np.float32(dim)

    total_words = n_words * options.epochs
    alpha0 = float(options.alpha)
    alpha_floor = alpha0 * options.min_alpha_ratio

    def alpha_at(done: int) -> float:
        return max(alpha_floor, alpha0 * (1.0 - done / total_words))

    say(f"training {options.model}{' (batched)' if kernel_name == 'sg_batched' else ''} "
        f"{'hs ' if options.hs else ''}{f'negative {options.negative} ' if options.negative else ''}"
        f"on {n_words:,} words, vocabulary {v:,}, dim {dim}, {options.epochs} epochs, {threads} threads")

    bar = tqdm(total=total_words, unit="w", unit_scale=True, disable=not progress, file=sys.stderr,
               dynamic_ncols=True, smoothing=0.1)
    stop = stop_event or threading.Event()
    lock = threading.Lock()
    history: List[EpochStats] = []
    claimed = [0]
    start_all = time.perf_counter()
    try:
        for epoch in range(options.epochs):
            epoch_start = time.perf_counter()
            state = {"next": 0, "loss": 0.0, "count": 0, "trained": 0, "words": 0}

            def worker():
                while not stop.is_set():
                    with lock:
                        i = state["next"]
                        if i >= len(chunks):
                            return
                        state["next"] = i + 1
                        s_begin, s_end = chunks[i]
                        words = int(offsets[s_end] - offsets[s_begin])
                        done = claimed[0]
                        claimed[0] += words
                    seed = kernels.seed_state(options.seed, epoch, i)
                    loss, count, trained = kernel(*args((syn0, syn1neg, syn1), s_begin, s_end, alpha_at(done),
                                                        alpha_at(done + words), seed))
                    with lock:
                        state["loss"] += loss
                        state["count"] += count
                        state["trained"] += trained
                        state["words"] += words
                        mean = state["loss"] / max(state["count"], 1)
                        if not math.isfinite(loss):
                            stop.set()
                            return
                        bar.update(words)
                        bar.set_postfix_str(f"epoch {epoch + 1}/{options.epochs} alpha {alpha_at(done + words):.3g} "
                                            f"loss {mean:.4f}", refresh=False)

            with concurrent.futures.ThreadPoolExecutor(threads) as pool:
                futures = [pool.submit(worker) for _ in range(threads)]
                try:
                    while True:
                        finished, pending = concurrent.futures.wait(futures, timeout=0.25)
                        if not pending:
                            break
                except KeyboardInterrupt:
                    stop.set()
                    concurrent.futures.wait(futures)
                    raise TrainingInterrupted("training interrupted; nothing was written") from None
                for f in futures:
                    f.result()
            mean = state["loss"] / max(state["count"], 1)
            if not math.isfinite(mean) or not np.isfinite(syn0[:: max(1, v // 1000)]).all():
                raise TrainingDiverged(f"training diverged in epoch {epoch + 1}: the loss is {mean}; "
                                       f"lower the learning rate (alpha {alpha0} now)")
            if stop.is_set():
                raise TrainingInterrupted("training stopped; nothing was written")
            stats = EpochStats(epoch + 1, mean, state["words"], state["trained"],
                               time.perf_counter() - epoch_start, alpha_at(claimed[0]))
            history.append(stats)
            if callback is not None and callback(stats):
                say(f"stopped by the callback after epoch {epoch + 1}")
                break
    finally:
        bar.close()
    seconds = time.perf_counter() - start_all
    meta = {"options": asdict(options), "kernel": kernel_name, "losses": [e.loss for e in history],
            "corpus_words": n_words}
    del syn1neg, syn1  # free the output weights before the unpadded copy of the input vectors is made
    vectors = Vectors(vocab.words, syn0[:, :dim], counts=vocab.counts, meta=meta)
    return TrainResult(vectors, history, seconds, compile_seconds, options)
