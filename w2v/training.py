"""Training: the learning-rate schedule, epochs, threads, progress, loss, checkpoints.

Python owns the outer loops; the kernels in :mod:`w2v.kernels` own the inner
one. The encoded corpus is cut into chunks of about ``chunk_words`` words
(whole sentences; with several threads smaller where the corpus is small for
them, :func:`chunk_words_for`; the plan is kept with the schedule's position).
Every epoch takes the chunks in a random order of its own (:func:`chunk_order`;
in the corpus's order with ``exact`` or ``shuffle=False``). The main thread
hands them out in that order to a pool of worker threads, with several threads
two chunks per thread at a time (:data:`HANDED_OUT_PER_THREAD`: the next one
waits in the pool's queue); the workers train them lock-free on shared
weights (Hogwild), with the GIL released. The learning rate falls linearly
with the words handed out so far, over all epochs and threads, from
``alpha`` to ``alpha * min_alpha_ratio`` (word2vec.c: ``alpha * 1e-4``).
Each chunk gets its own RNG state from (seed, epoch, chunk), so one thread
with a seed gives identical weights on every run.

Checkpoints are taken where no chunk is in flight: after every epoch, and
with ``checkpoint_every`` seconds also between chunks (the main thread stops
handing out chunks until the ones in flight are done). The model then holds
its exact position (:class:`w2v.model.Position`), so a run stopped there and
resumed from the checkpoint with one thread gives the same bytes as one that
was not stopped. Ctrl-C, SIGTERM or a ``stop_event`` stop handing out chunks,
wait for those in flight, write a last checkpoint (when one was asked for)
and raise :class:`TrainingInterrupted`. A signal only asks for that stop
(:func:`stop_at_chunk_ends`): wherever it lands, in the middle of a chunk's
tally, an epoch's close or a checkpoint's write, nothing is cut short, so the
last checkpoint is always consistent; a second signal interrupts at once.

Example::

    >>> import w2v
    >>> result = w2v.train(["corpora/sample.txt"], dim=50, epochs=3, seed=1)   # doctest: +SKIP
    >>> result.vectors.most_similar("king", topn=3)                           # doctest: +SKIP
    >>> result.model.save("sample.w2vm")                                       # doctest: +SKIP
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import math
import os
import queue
import signal
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .corpus import Corpus, source_name
from .encode import EncodedCorpus, encode_corpus, encode_spooled
from .errors import TrainingDiverged, TrainingInterrupted
from .files import check_free_space
from .formats import check_words
from .memory import release_compiler_pages
from .model import Model, Position, check_start_dimension, kernel_args, kernel_function, padded_dim
from .options import KERNELS, TOKEN_BYTES_PER_LIMIT, TrainOptions, default_threads
from .precompile import Helper, stand_in_args
from .precompile import start as start_kernel
from .progress import ProgressBar
from .vectors import Vectors
from .vocab import Vocabulary, build_vocabulary, too_long_phrase, vocabulary_and_entry_ids, vocabulary_from_count

__all__ = ["TrainOptions", "TrainResult", "EpochStats", "train", "train_model", "train_encoded", "KERNELS",
           "default_threads", "TrainingDiverged", "TrainingInterrupted", "plan_chunks"]


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
    """What training returns: the vectors, this run's per-epoch history and totals, and the model."""
    vectors: Vectors
    history: List[EpochStats] = field(default_factory=list)
    seconds: float = 0.0
    compile_seconds: float = 0.0
    options: Optional[TrainOptions] = None
    model: Optional[Model] = None
    words: int = 0       # corpus words trained by this call (a resumed run's earlier words not included)
    syncs: List[Any] = field(default_factory=list)  # distributed runs: one w2v.distributed.SyncStats a sync
    threads: int = 0     # the threads that trained (fewer than asked where the corpus has fewer chunks); 0: unknown

    @property
    def losses(self) -> List[float]:
        return [e.loss for e in self.history]

    @property
    def words_per_second(self) -> float:
        return self.words / self.seconds if self.seconds > 0 else 0.0


#: With several threads each gets at least this many chunks an epoch, the chunks made smaller than
#: ``chunk_words`` where the corpus is small for the threads (but not below MIN_CHUNK_WORDS): an epoch
#: ends when its last chunk does, so with C chunks on T threads only C / (T·⌈C/T⌉) of the threads' time
#: is used (wiki8's 167 chunks of 100,000 words on 64 threads: 0.87; benchmarks/README.md, "Many threads").
CHUNKS_PER_THREAD = 8
MIN_CHUNK_WORDS = 10_000
#: With several threads, chunks handed out at a time per thread: one being trained, the next waiting in the
#: pool's queue, so a worker that finishes one starts the next at once instead of idling while the main
#: thread wakes, tallies and hands out (measured in benchmarks/README.md, "Many threads"). With one thread,
#: one: the main thread then sees every chunk's end with none in flight (the exact positions
#: ``chunk_callback`` and the checkpoints get). A chunk's learning rate depends only on the words handed out
#: before it, so the rates are the same either way.
HANDED_OUT_PER_THREAD = 2


def chunk_words_for(n_words: int, threads: int, chunk_words: int) -> int:
    """Words a chunk for a corpus of ``n_words`` on ``threads`` threads: ``chunk_words``, or with several
    threads fewer, so that each gets :data:`CHUNKS_PER_THREAD` chunks an epoch, down to
    :data:`MIN_CHUNK_WORDS` (each chunk costs the main thread a hand-out and a tally, ~0.2 ms)."""
    if threads <= 1:
        return chunk_words
    return min(chunk_words, max(MIN_CHUNK_WORDS, -(-n_words // (threads * CHUNKS_PER_THREAD))))


def plan_chunks(offsets: np.ndarray, chunk_words: int) -> List[Tuple[int, int]]:
    """Sentence ranges ``(s_begin, s_end)`` of about ``chunk_words`` words each, whole sentences."""
    n_words = int(offsets[-1])
    targets = np.arange(chunk_words, n_words, chunk_words, dtype=np.int64)
    bounds = np.unique(np.concatenate([[0], np.searchsorted(offsets, targets), [len(offsets) - 1]]))
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


def chunk_order(n_chunks: int, seed: int, epoch: int, shuffle: bool) -> np.ndarray:
    """The order in which epoch ``epoch`` (0-based) hands out the plan's ``n_chunks`` chunks: int64[n_chunks],
    a permutation of the chunk indexes.

    With ``shuffle`` a random permutation drawn from ``(seed, epoch)`` (NumPy's PCG64), a new one every
    epoch; without, the corpus's order, as word2vec.c and gensim train. Shuffling is the random reshuffling
    of stochastic gradient descent: the text trained last in an epoch, at its lowest learning rates, is then
    no particular part of the corpus, and no part always comes first or last. Measured on wiki8 (5 epochs,
    2 threads, paired seeds, benchmarks/README.md "The order of the chunks"): analogy accuracy higher
    (CBOW by about a point, hierarchical softmax 0.7, skip-gram with negative sampling 0.6), SimLex-999 the
    same or higher; WordSim-353 about 0.006 lower with skip-gram and negative sampling, within noise for
    the others. The order is a function of the seed and the epoch, so one thread with a seed still gives
    the same bytes on every run, and a resumed run takes the same chunks."""
    if not shuffle:
        return np.arange(n_chunks, dtype=np.int64)
    return np.random.default_rng([seed, epoch]).permutation(n_chunks).astype(np.int64)


def _prepare_kernel(model: Model, say, helper: Optional[Helper] = None, seconds_before: float = 0.0) -> float:
    """Load (or compile) the model's kernel on stand-in arguments of the same types
    (:func:`w2v.precompile.stand_in_args`), once ``helper``, if any, has compiled it into the cache, then hand
    LLVM's pages back (:mod:`w2v.memory`): the process's peak is then the larger of the two moments, not
    their sum. Returns the seconds it took, with ``seconds_before`` (a load before the corpus was read)."""
    from . import kernels
    say("preparing kernels (compiled on the first run, then loaded from Numba's cache)...")
    # the real tables, made now and not in the first chunk's time; some of it is compiled code, compiled
    # while a helper, if any, finishes
    model.tables()
    helper_seconds, problem, waited = helper.wait() if helper is not None else (None, "", 0.0)
    if helper is not None and helper_seconds is None:
        say(f"note: the helper process did not compile the training kernel ({problem}); compiling it here")
    kernel, args = kernel_function(model.kernel_name, padded_dim(model.dim)), stand_in_args(model.options)
    start = time.perf_counter()
    misses = sum(kernel.stats.cache_misses.values())
    kernel(*args)
    seconds = time.perf_counter() - start
    compiled = not kernels.CACHED or sum(kernel.stats.cache_misses.values()) > misses
    release_compiler_pages()
    if helper_seconds is not None and not compiled:
        say(f"kernels compiled in a second process in {helper_seconds:.1f} s while the corpus was read "
            f"(waited {waited:.1f} s for it)")
    else:
        say(f"kernels {'compiled' if compiled else 'loaded from the cache'} in {seconds_before + seconds:.1f} s")
    if not kernels.CACHED:
        say(f"note: no writable folder for Numba's cache ({kernels.CACHE_PROBLEM}); the kernels were compiled "
            f"in memory and will be compiled again next time (set NUMBA_CACHE_DIR to a writable folder)")
    return seconds_before + waited + seconds


class _Run:
    """One call of :func:`train_model`: hands out chunks, tallies them, takes checkpoints."""

    def __init__(self, model: Model, encoded: EncodedCorpus, threads: int, *, bar, stop: threading.Event,
                 checkpoint: Optional[str], checkpoint_every: Optional[float], force: bool,
                 chunk_callback, say):
        self.model, self.encoded, self.position = model, encoded, model.position
        self.plan = plan_chunks(encoded.offsets, model.position.corpus["chunk_words"])
        self.chunks = self.plan  # in the order of the epoch being trained (run_epoch)
        self.threads = threads
        self.handed_out_at_most = threads * HANDED_OUT_PER_THREAD if threads > 1 else 1
        self.kernel = kernel_function(model.kernel_name, padded_dim(model.dim))
        self.settings = model.kernel_settings(threads)
        self.bar, self.stop, self.say = bar, stop, say
        self.checkpoint, self.checkpoint_every, self.force = checkpoint, checkpoint_every, force
        self.chunk_callback = chunk_callback
        self.last_checkpoint = time.monotonic()
        self.diverged = False

    def alpha_at(self, done: int) -> float:
        return self.position.alpha_at(done, self.model.options.min_alpha_ratio)

    def _submit(self, pool, epoch: int, i: int):
        from .kernels import seed_state
        s_begin, s_end = self.chunks[i]
        offsets = self.encoded.offsets
        words = int(offsets[s_end] - offsets[s_begin])
        done = self.position.words_done
        ids, chunk_offsets = self.encoded.chunk(s_begin, s_end)
        args = kernel_args(self.model.kernel_name, self.model.weights, self.model.tables(), ids, chunk_offsets, 0,
                           s_end - s_begin, self.settings, self.alpha_at(done), self.alpha_at(done + words),
                           seed_state(self.model.options.seed, epoch, i))
        future = pool.submit(self.kernel, *args)
        self.position.words_done += words  # only once the chunk is surely on its way
        return future, words

    def _tally(self, result, words: int) -> None:
        loss, predictions, trained = result
        p = self.position
        p.loss += loss
        p.predictions += predictions
        p.trained += trained
        p.words += words
        if not math.isfinite(loss):
            self.diverged = True
            self.stop.set()
        self.bar.update(words)
        self.bar.set_postfix_str(f"epoch {p.epoch + 1}/{p.epochs} alpha {self.alpha_at(p.words_done):.3g} "
                                 f"loss {p.loss / max(p.predictions, 1):.4f}", refresh=False)

    def _drain(self, in_flight: Dict) -> None:
        """Wait for every chunk in flight and tally it (also when the main thread is interrupted again)."""
        for future, words in list(in_flight.items()):
            self._tally(future.result(), words)
            del in_flight[future]

    def run_epoch(self, pool) -> None:
        """Train the rest of epoch ``position.epoch`` from chunk ``position.chunk``; on return no chunk is in
        flight and the position is exact. Raises on a stop or a divergence."""
        p = self.position
        epoch, next_chunk = p.epoch, p.chunk
        order = chunk_order(len(self.plan), self.model.options.seed, epoch, p.corpus["shuffle"])
        self.chunks = [self.plan[i] for i in order]
        in_flight: Dict = {}
        # each chunk's future puts itself here when done: the main thread waits on this queue, O(1) a chunk,
        # where concurrent.futures.wait would set up a waiter on every future in flight at each call
        done: "queue.SimpleQueue" = queue.SimpleQueue()
        if self.chunk_callback is not None and self.chunk_callback(p):  # also at the epoch's start
            self.stop.set()
        saved_at = next_chunk  # where this call began, then where it last took a checkpoint
        try:
            while True:
                # a checkpoint that is due pauses the hand-out until the chunks in flight are done: with
                # several threads there is otherwise always one in flight, and never an exact position
                pausing = self._checkpoint_due(saved_at, next_chunk)
                while (not pausing and not self.stop.is_set() and next_chunk < len(self.chunks)
                       and len(in_flight) < self.handed_out_at_most):
                    future, words = self._submit(pool, epoch, next_chunk)
                    in_flight[future] = words
                    future.add_done_callback(done.put)
                    next_chunk += 1
                if not in_flight:
                    if pausing and not self.stop.is_set():  # (the position was set where in_flight emptied)
                        self.save_checkpoint()
                        saved_at = next_chunk
                        continue
                    break
                try:  # (a timeout, so that the main thread stays responsive to signals)
                    finished = [done.get(timeout=0.25)]
                except queue.Empty:
                    continue
                while not done.empty():
                    finished.append(done.get())
                for future in finished:
                    self._tally(future.result(), in_flight.pop(future))
                if not in_flight:  # nothing in flight: the position is exact here
                    p.chunk = next_chunk
                    if self.chunk_callback is not None and self.chunk_callback(p):
                        self.stop.set()
        except KeyboardInterrupt:
            self.stop.set()
            self._drain(in_flight)
            p.chunk = next_chunk
            raise
        p.chunk = next_chunk
        if self.diverged:
            raise TrainingDiverged(f"training diverged in epoch {epoch + 1}: the loss is "
                                   f"{p.loss / max(p.predictions, 1)}; lower the learning rate (alpha {p.alpha} now)")

    def _checkpoint_due(self, saved_at: int, next_chunk: int) -> bool:
        """Whether a checkpoint between chunks is due: ``checkpoint_every`` seconds since the last one, a chunk
        handed out since ``saved_at`` (where this epoch's call began or last took one), and some left."""
        return (bool(self.checkpoint) and self.checkpoint_every is not None
                and saved_at < next_chunk < len(self.chunks)
                and time.monotonic() - self.last_checkpoint >= self.checkpoint_every)

    def save_checkpoint(self) -> None:
        if self.checkpoint:
            self.model.save(self.checkpoint, force=self.force)
            self.last_checkpoint = time.monotonic()


def _corpus_description(corpus: Optional[Corpus], encoded: EncodedCorpus) -> Dict:
    description = {"words": encoded.n_words, "sentences": encoded.n_sentences}
    if corpus is not None:
        description["files"] = corpus.fingerprint()
        if getattr(corpus, "phrase_settings", None):  # what a resumed run reads the corpus through
            description["phrases"] = corpus.phrase_settings
    return description


def _check_same_corpus(model: Model, corpus: Optional[Corpus], encoded: Optional[EncodedCorpus],
                       allow_other_corpus: bool) -> None:
    """A resumed schedule must see the corpus it was trained on (size and a cheap fingerprint)."""
    expected = model.position.corpus
    if allow_other_corpus or not expected:
        return
    if encoded is None:
        if corpus is not None and expected.get("files") and corpus.fingerprint() not in (None, expected["files"]):
            differs = "its files differ in size or content"
        else:
            return
    elif encoded.n_words != expected.get("words") or (
            not expected.get("shards") and encoded.n_sentences != expected.get("sentences")):
        # a distributed run cuts a line where its parts meet, so only its words are compared
        differs = (f"it has {encoded.n_words:,} words in {encoded.n_sentences:,} sentences, the checkpoint's "
                   f"had {expected.get('words', 0):,} in {expected.get('sentences', 0):,}")
    else:
        return
    raise ValueError(f"this is not the corpus the checkpoint was trained on ({differs}); resume on the same "
                     f"corpus, or pass --allow-other-corpus (allow_other_corpus=True) to go on with this one")


def train_model(model: Model, corpus, *, epochs: Optional[int] = None, alpha: Optional[float] = None,
                progress: bool = False, log: Optional[Callable[[str], None]] = None,
                callback: Optional[Callable[[EpochStats], Optional[bool]]] = None,
                stop_event: Optional[threading.Event] = None, checkpoint: Optional[str] = None,
                checkpoint_every: Optional[float] = None, force: bool = False,
                chunk_callback: Optional[Callable[[Position], Optional[bool]]] = None,
                cache_dir: Optional[str] = None, in_memory: bool = False,
                allow_other_corpus: bool = False, update_vocab: bool = False,
                reserve: Optional[Reserve] = None, save_vocab: Optional[str] = None) -> TrainResult:
    """Train ``model`` on ``corpus`` (paths, a :class:`w2v.corpus.Corpus` or a phrased one from
    :func:`w2v.phrases.phrased`, or an :class:`w2v.encode.EncodedCorpus` of its vocabulary).

    A model in the middle of its schedule (a checkpoint) goes on with it when ``epochs`` and ``alpha``
    are None, on the same corpus unless ``allow_other_corpus``; otherwise a new schedule of ``epochs``
    passes (default: the options') starts from ``alpha`` (default: the options', which a new run
    resolves to 0.025 skip-gram and 0.05 CBOW). ``checkpoint``: a model file written after every epoch, every ``checkpoint_every`` seconds
    between chunks, and when stopped. ``callback(epoch_stats)`` runs after each epoch and may return True
    to end the schedule there; ``chunk_callback(position)`` runs at the start of each epoch and between
    chunks where none is in flight (with one thread after every chunk; with several, where a due
    checkpoint pauses the hand-out) and may return True to stop as ``stop_event`` does
    (:class:`TrainingInterrupted`, after the checkpoint).
    A schedule that went on phrased text (its position records the phrase settings) goes on reading
    paths through the same phrases. Text is encoded with the model's vocabulary; meanwhile the training
    kernel is loaded, or on a first run compiled by a helper process (:mod:`w2v.precompile`), as in
    :func:`train`. ``update_vocab`` (a new schedule on text): first add the corpus's words that reach the
    options' ``min_count`` to the model's vocabulary (:func:`count_new_words`; the text is read once, its
    tokens spooled while counted, as :func:`train` reads it; the kernel starts before the count).
    ``reserve`` and ``save_vocab`` as :func:`train`'s, once the vocabulary is known.
    """
    say = log or (lambda message: None)
    resuming = model.position.started and not model.position.finished and epochs is None and alpha is None
    shards = model.position.corpus.get("shards")
    if resuming and shards and model.position.chunk:
        raise ValueError(f"this checkpoint stopped between syncs of a distributed run of {shards} shards; resume it "
                         f"with --scheduler ({shards} workers) and --sync-words "
                         f"{model.position.corpus.get('sync_words')}")
    if update_vocab and (resuming or isinstance(corpus, EncodedCorpus)):
        raise ValueError("update_vocab adds the words of a text corpus for a new schedule: give a text corpus "
                         "and epochs or alpha")
    model.last_changes = None  # (a distributed run's last combined changes: one machine's rounds are not syncs)
    source = None

    def vocabulary_known() -> None:
        """What the vocabulary decides, checked and written before the text is encoded (and trained on)."""
        check_free_space(list(reserve(model.vocab)) if reserve is not None else [])
        if save_vocab:
            model.vocab.save(save_vocab, force=force)

    with contextlib.ExitStack() as cleanup:
        helper, kernel_seconds = None, 0.0
        if isinstance(corpus, EncodedCorpus):
            encoded = corpus
            vocabulary_known()
        else:
            if hasattr(corpus, "blocks"):
                source = corpus
            else:
                source = Corpus([corpus] if isinstance(corpus, str) else list(corpus),
                                lowercase=model.options.lowercase, progress=progress, keep_fingerprint=True)
                recorded = model.position.corpus.get("phrases") if resuming else None
                if recorded:
                    from .phrases import phrased
                    source = phrased(source, threads=model.options.threads, **recorded)
            if resuming:
                _check_same_corpus(model, source, None, allow_other_corpus)
            # loaded now, or compiled by a helper process while this one counts and encodes
            helper, kernel_seconds = _closing_helper(cleanup, start_kernel(model.options, say))
            spooled = None
            if update_vocab:
                added, spooled = count_new_words(model, source, say, cache_dir=cache_dir, in_memory=in_memory)
                if spooled is not None:
                    cleanup.callback(spooled[0].close)
                say(f"vocabulary: {added:,} new words, {len(model.vocab):,} in all")
            vocabulary_known()
            if spooled is not None:
                encoded = encode_spooled(spooled[0], spooled[1], model.options.max_sentence_length,
                                         model.options.threads)
            else:
                spool = None if in_memory else (cache_dir or tempfile.gettempdir())
                encoded = encode_corpus(source, model.vocab, model.options.max_sentence_length, cache_dir=spool,
                                        threads=model.options.threads)
            cleanup.callback(encoded.close)
        if encoded.offsets.dtype != np.int64 or (encoded.ids is not None and encoded.ids.dtype != np.int32):
            raise ValueError("encoded corpus must hold int32 ids and int64 offsets")
        if resuming:
            _check_same_corpus(model, None, encoded, allow_other_corpus)
        else:
            model.position.start(_corpus_description(source, encoded), epochs or model.options.epochs,
                                 alpha if alpha is not None else model.options.alpha)
        return _train(model, encoded, progress=progress, say=say, callback=callback, stop_event=stop_event,
                      checkpoint=checkpoint, checkpoint_every=checkpoint_every, force=force,
                      chunk_callback=chunk_callback, helper=helper, kernel_seconds=kernel_seconds)


def _closing_helper(cleanup: contextlib.ExitStack, started: Tuple[Optional[Helper], float]):
    """``started`` (:func:`w2v.precompile.start`'s answer: the helper or None, seconds), its helper closed when
    ``cleanup`` ends, however training ends."""
    if started[0] is not None:
        cleanup.callback(started[0].close)
    return started


#: The signals that stop training at the next chunk's end (when Python handles them, as it does Ctrl-C).
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


@contextlib.contextmanager
def stop_at_chunk_ends(stop: threading.Event):
    """While training in the main thread, a signal of :data:`STOP_SIGNALS` with a Python handler sets
    ``stop`` instead of raising where it lands, and training stops at the next chunk's end.

    Python runs a signal's handler in the main thread between two bytecodes, so Ctrl-C's
    KeyboardInterrupt (or the CLI's, for SIGTERM and SIGHUP) could cut short a chunk's tally, an epoch's
    close or the checkpoint written after it, and the run would stop without its last checkpoint or
    with a position that is not exact. Here the handler only sets ``stop`` (the run's stop event: the
    caller's ``stop_event`` when given); the signal's own handler is still called, its KeyboardInterrupt
    swallowed, so what it records (the CLI: which signal, for the exit status) is kept. A second signal
    calls the handler as it is: interrupting at once stays possible. Yields the list of the signals
    received; handlers are restored on exit. Outside the main thread (where Python cannot set
    handlers) it does nothing."""
    received: List[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    handlers = {}

    def deferred(signum, frame):
        if received:  # a second signal: at once
            return handlers[signum](signum, frame)
        received.append(signum)
        stop.set()
        try:
            handlers[signum](signum, frame)
        except KeyboardInterrupt:
            pass

    for name in STOP_SIGNALS:
        signum = getattr(signal, name, None)
        handler = signal.getsignal(signum) if signum is not None else None
        if callable(handler):
            handlers[signum] = handler
            signal.signal(signum, deferred)
    try:
        yield received
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def _train(model: Model, encoded: EncodedCorpus, *, progress, say, callback, stop_event, checkpoint,
           checkpoint_every, force, chunk_callback, helper: Optional[Helper] = None,
           kernel_seconds: float = 0.0) -> TrainResult:
    options, p = model.options, model.position
    # the chunk plan is the schedule's, so that a position (epoch, chunk) means the same text when a
    # run resumes, whatever its threads
    if "chunk_words" not in p.corpus:  # a schedule begun before plans were kept used chunk_words as it is
        p.corpus["chunk_words"] = (options.chunk_words if p.words_done else
                                   chunk_words_for(encoded.n_words, options.threads, options.chunk_words))
    if "shuffle" not in p.corpus:  # a schedule begun before the order was kept took the corpus's order
        p.corpus["shuffle"] = bool(options.shuffle) if not p.words_done else False
    threads = max(1, min(options.threads, len(plan_chunks(encoded.offsets, p.corpus["chunk_words"]))))
    compile_seconds = _prepare_kernel(model, say, helper, kernel_seconds)
    model.initialize()
    model.writable()
    stop = stop_event or threading.Event()
    with stop_at_chunk_ends(stop) as signals:
        resumed = f" from epoch {p.epoch + 1}" if p.epoch or p.chunk else ""
        say(f"training {options.model}{' (batched)' if model.kernel_name == 'sg_batched' else ''} "
            f"{'hs ' if options.hs else ''}{f'negative {options.negative} ' if options.negative else ''}"
            f"on {encoded.n_words:,} words, vocabulary {len(model.vocab):,}, dim {options.dim}, "
            f"{p.epochs} epoch{'s' if p.epochs != 1 else ''}{resumed}, {threads} thread{'s' if threads != 1 else ''}")
        history: List[EpochStats] = []
        start_all, words_before = time.perf_counter(), p.words_done
        with ProgressBar(total=p.total_words, initial=p.words_done, unit="w", unit_scale=True, desc="training",
                         disable=not progress, dynamic_ncols=True, smoothing=0.1) as bar, \
                concurrent.futures.ThreadPoolExecutor(threads) as pool:
            run = _Run(model, encoded, threads, bar=bar, stop=stop, checkpoint=checkpoint,
                       checkpoint_every=checkpoint_every, force=force, chunk_callback=chunk_callback, say=say)
            while not p.finished:
                epoch_start = time.perf_counter()
                try:
                    run.run_epoch(pool)
                except KeyboardInterrupt:  # a second signal, or a KeyboardInterrupt of the caller's own
                    run.save_checkpoint()
                    raise TrainingInterrupted(_stopped_message(checkpoint)) from None
                if p.chunk < len(run.chunks):  # stopped between chunks
                    run.save_checkpoint()
                    raise TrainingInterrupted(_stopped_message(checkpoint))
                stats = finish_epoch(model, epoch_start, run.alpha_at(p.words_done))
                history.append(stats)
                run.save_checkpoint()
                if callback is not None and callback(stats):
                    say(f"stopped by the callback after epoch {stats.epoch}")
                    break
        if signals:  # the signal came as the last chunks were trained: the run still stops
            raise TrainingInterrupted(_stopped_message(checkpoint, finished=p.finished))
    return TrainResult(model.vectors, history, time.perf_counter() - start_all, compile_seconds, options, model,
                       p.words_done - words_before, threads=threads)


def finish_epoch(model: Model, epoch_start: float, alpha_end: float) -> EpochStats:
    """Close the model's current epoch: check the weights are finite (a sample of rows), record the
    epoch's statistics in its position and return them."""
    p = model.position
    sample = model.weights.syn0[:: max(1, len(model.vocab) // 1000)]
    if not np.isfinite(sample).all():
        raise TrainingDiverged(f"training diverged in epoch {p.epoch + 1}; lower the learning rate "
                               f"(alpha {p.alpha} now)")
    stats = EpochStats(p.epoch + 1, p.loss / max(p.predictions, 1), p.words, p.trained,
                       time.perf_counter() - epoch_start, alpha_end)
    p.finish_epoch(asdict(stats))
    return stats


def _stopped_message(checkpoint: Optional[str], finished: bool = False) -> str:
    if checkpoint and finished:
        return (f"stopped as training finished; the checkpoint {checkpoint} holds the trained model "
                f"(w2v convert {checkpoint} vectors.bin writes its vectors)")
    if checkpoint:
        return f"training stopped; the checkpoint {checkpoint} holds it up to here (resume with --resume {checkpoint})"
    return "training interrupted; nothing was written"


#: What a run will write, given its vocabulary: [(folder, bytes, what)] (see :func:`train`'s ``reserve``).
Reserve = Callable[[Vocabulary], List[Tuple[str, int, str]]]


def train(corpus_paths: Sequence[str], options: Optional[TrainOptions] = None, *,
          progress: bool = False, log: Optional[Callable[[str], None]] = None,
          callback: Optional[Callable[[EpochStats], Optional[bool]]] = None,
          vocab: Optional[Vocabulary] = None, save_vocab: Optional[str] = None,
          cache_dir: Optional[str] = None, in_memory: bool = False,
          reserve: Optional[Reserve] = None, force: bool = False, checkpoint: Optional[str] = None,
          checkpoint_every: Optional[float] = None, stop_event: Optional[threading.Event] = None,
          chunk_callback=None, phrases: int = 0, phrase_thresholds: Sequence[float] = (100.0,),
          phrase_table: Optional[str] = None, keep_words: bool = False, init_vectors: Optional[str] = None,
          **option_values) -> TrainResult:
    """Train word vectors from text files (or ``-`` for stdin): the one-call API.

    ``options`` or keyword options (see :class:`TrainOptions`); ``vocab`` skips
    counting; ``save_vocab`` writes the vocabulary (``word count`` lines) there
    (``force``: even over a read-only file). The encoded corpus (4 bytes a
    word) goes to an unlinked temporary file in ``cache_dir`` (default: the
    system's temporary folder) and is read back a chunk at a time, so it takes
    page cache, not process memory; ``in_memory=True`` keeps it in RAM instead.
    The text is read once: counting also spools each token's entry of the
    count there, and once the vocabulary is known the spool becomes the word
    ids (:func:`w2v.encode.encode_spooled`; a pruned count reads the text
    again). Before that, the words are checked (what the writers would
    refuse) and the free disk space for what ``reserve(vocab)`` lists (the
    caller's outputs), so a problem is found before training, not after; a
    disk that fills while spooling is one error naming the folder. The rest
    (``checkpoint``, ``callback`` ...) is :func:`train_model`'s. ``phrases``
    passes of word2phrase (thresholds ``phrase_thresholds``, min count the
    vocabulary's), or a saved ``phrase_table``, join phrases as the corpus is
    read, without writing a phrased copy (:class:`w2v.phrases.PhrasedCorpus`); with ``keep_words`` each
    epoch trains on the text as it is and then on its phrased copy (:class:`w2v.phrases.WithWordsCorpus`).
    ``init_vectors``: a vectors file (word2vec, GloVe's text, native) whose words start from its vectors
    (:meth:`w2v.model.Model.start_from`); its dimension is checked before the corpus is read.
    Returns a :class:`TrainResult` whose ``model`` can be saved and trained further.
    """
    if options is None:
        options = TrainOptions(**option_values)
    elif option_values:
        raise ValueError("give options either as TrainOptions or as keywords, not both")
    options = options.resolved()
    say = log or (lambda message: None)
    if init_vectors is not None:
        check_start_vectors(init_vectors, options.dim)
    corpus = Corpus(corpus_paths, lowercase=options.lowercase, progress=progress, keep_fingerprint=True)
    if phrases or phrase_table:
        from .phrases import phrased
        corpus = phrased(corpus, phrases, tuple(phrase_thresholds), options.min_count, table=phrase_table,
                         threads=options.threads, keep_words=keep_words)
    elif keep_words:
        raise ValueError("keep_words goes with phrases or phrase_table")
    spool = None if in_memory else (cache_dir or tempfile.gettempdir())
    if spool is not None and not os.path.isdir(spool):
        raise OSError(f"{spool}: the cache folder does not exist")
    counted_here = vocab is None
    spooled = None
    with contextlib.ExitStack() as cleanup:
        # the training kernel loaded now, or compiled by a helper process while this one reads the corpus
        helper, kernel_seconds = _closing_helper(cleanup, start_kernel(options, say))
        try:
            if vocab is None:  # one reading of the text: counted, and each token's entry spooled
                on_prune = _cannot_read_again(corpus, options) if corpus.read_once else None
                vocab, spooled, word_ids = count_and_spool_vocabulary(corpus, options, say, spool, on_prune=on_prune)
            model = Model.new(vocab, options)
            if not counted_here:  # what the writers would refuse after training, refused now (a count's words
                check_words(vocab.words)  # are words by construction: distinct, valid UTF-8, short, no white space)
            needs = list(reserve(vocab)) if reserve is not None else []
            if spool is not None and counted_here and spooled is None:  # the counts add up to the ids to spool
                needs.append((spool, 4 * int(vocab.counts.sum()), "the encoded corpus"))
            check_free_space(needs)
            if init_vectors is not None:
                start_from_file(model, init_vectors, say)
            if save_vocab:
                vocab.save(save_vocab, force=force)
            if spooled is not None:
                encoded = encode_spooled(spooled, word_ids, options.max_sentence_length, options.threads)
            else:
                encoded = encode_corpus(corpus, vocab, options.max_sentence_length, cache_dir=spool,
                                        threads=options.threads)
        finally:
            if spooled is not None:
                spooled.close()  # nothing left to close once encode_spooled has taken the spool
        cleanup.callback(encoded.close)
        model.position.start(_corpus_description(corpus, encoded), options.epochs, options.alpha)
        return _train(model, encoded, progress=progress, say=say, callback=callback, stop_event=stop_event,
                      checkpoint=checkpoint, checkpoint_every=checkpoint_every, force=force,
                      chunk_callback=chunk_callback, helper=helper, kernel_seconds=kernel_seconds)


def check_start_vectors(path: str, dim: int) -> None:
    """That the vectors file ``path`` can start a model of dimension ``dim`` (:func:`start_from_file`): its
    header and first row read (a ``ValueError`` or ``OSError`` naming it), before anything costly runs."""
    from .formats import read_vectors
    check_start_dimension(path, read_vectors(path, limit=1, mmap=True, unicode_errors="replace").vectors.shape[1], dim)


def start_from_file(model: Model, path: str, say: Callable[[str], None]) -> None:
    """Start ``model``'s words that the vectors file ``path`` holds from its vectors (:meth:`Model.start_from`;
    a word2vec file's words that are not UTF-8 read as the query commands read them), and say how many."""
    from .vectors import Vectors
    found = model.start_from(Vectors.load(path, mmap=True, unicode_errors="replace"))
    say(f"{found:,} of the {len(model.vocab):,} words start from the vectors of {path}")


def _cannot_read_again(corpus: Corpus, options: TrainOptions, read_vocab: bool = True) -> Callable[[], None]:
    """What a count of a corpus read once only does when it has to be pruned: the spool is then dropped and
    encoding would read the text again, which it cannot, so the count stops there with this error (not
    after reading the rest: a pipe of many GB). ``read_vocab``: suggest a vocabulary file (a new run)."""
    def stop() -> None:
        limit = options.count_limit
        instead = "save it to a file, give a vocabulary file (--read-vocab)," if read_vocab else "save it to a file"
        raise ValueError(f"{corpus.read_once} holds more distinct tokens than --count-limit allows ({limit:,} tokens, "
                         f"{TOKEN_BYTES_PER_LIMIT * limit:,} bytes of them), so its count was pruned and encoding "
                         f"would need to read it again; {instead} or raise --count-limit")
    return stop


def count_and_spool_vocabulary(corpus: Corpus, options: TrainOptions, say, folder: Optional[str],
                               on_prune: Optional[Callable[[], None]] = None):
    """The corpus's vocabulary (as :func:`count_vocabulary`) from one reading of the text that also spools
    each token's entry (:func:`w2v.scan.count_and_spool`, in ``folder`` or in memory, and its ``on_prune``):
    (vocabulary, spool or None when the count was pruned, each entry's word id or None)."""
    def vocabulary(counted, names, spooled):
        if spooled is not None:
            vocab, summary, word_ids = vocabulary_and_entry_ids(counted, options.min_count, options.max_vocab, names,
                                                                threads=options.threads)
        else:  # the count was pruned: encoding reads the text again, without the entries' ids
            (vocab, summary), word_ids = vocabulary_from_count(counted, options.min_count, options.max_vocab,
                                                               names, threads=options.threads), None
        say_count_notes(summary, say)
        return vocab, word_ids

    spooled, (vocab, word_ids) = _spooled_count(corpus, options, folder, on_prune, vocabulary)
    return vocab, spooled, word_ids


def count_new_words(model: Model, corpus: Corpus, say, cache_dir: Optional[str] = None, in_memory: bool = False):
    """``--update-vocab`` from one reading of the new text: its vocabulary (counted with the model's
    options, as :func:`count_vocabulary`) merged into the model's (:meth:`w2v.model.Model.update_vocabulary`),
    with each token's entry spooled as :func:`count_and_spool_vocabulary` spools it. The merged vocabulary
    is not made from this count alone (its rows follow the merged counts, and a known word rarer than
    ``min_count`` in the new text is still a word), so each entry is looked up in it
    (:func:`w2v.scan.entry_ids`). The spool goes where :func:`train` puts it (``cache_dir``, ``in_memory``).
    Returns (new words, None or, unless the count was pruned, (spool, each entry's word id)), which
    :func:`w2v.encode.encode_spooled` encodes; a pruned count of a corpus read once (standard input) stops with an
    error, as in :func:`train`. Refused with hierarchical softmax
    (:meth:`w2v.model.Model.check_vocabulary_update`) before the text is read."""
    from .scan import entry_ids
    model.check_vocabulary_update()
    options = model.options
    folder = None if in_memory else (cache_dir or tempfile.gettempdir())
    on_prune = _cannot_read_again(corpus, options, read_vocab=False) if corpus.read_once else None

    def merged(counted, names, spooled):
        vocab, summary = vocabulary_from_count(counted, options.min_count, options.max_vocab, names,
                                               threads=options.threads)
        say_count_notes(summary, say)
        added = model.update_vocabulary(vocab)
        return added, None if spooled is None else entry_ids(counted, model.vocab.words)

    spooled, (added, word_ids) = _spooled_count(corpus, options, folder, on_prune, merged)
    return added, None if spooled is None else (spooled, word_ids)


def _spooled_count(corpus: Corpus, options: TrainOptions, folder: Optional[str],
                   on_prune: Optional[Callable[[], None]], then: Callable):
    """Count ``corpus`` with a spool (:func:`w2v.scan.count_and_spool`) and return (spool or None, ``then(counted,
    the files' names, spool or None)``); the spool is closed when ``then`` fails."""
    from .scan import count_and_spool
    counted, spooled = count_and_spool(corpus, options.count_limit, options.threads, folder, on_prune)
    try:
        return spooled, then(counted, ", ".join(map(source_name, corpus.files)), spooled)
    except BaseException:
        if spooled is not None:
            spooled.close()
        raise


def count_vocabulary(corpus: Corpus, options: TrainOptions, say) -> Vocabulary:
    """The corpus's vocabulary under ``options`` (min_count, max_vocab), with its notes said."""
    vocab, counted = build_vocabulary(corpus, min_count=options.min_count, max_size=options.max_vocab,
                                      prune_at=options.count_limit, threads=options.resolved().threads)
    say_count_notes(counted, say)
    return vocab  # the raw counts (every distinct token of the corpus) are dropped before training


def say_count_notes(summary, say) -> None:
    """Say what a counting pass's :class:`w2v.vocab.CountSummary` holds that the user should know."""
    if summary.invalid_bytes:
        n = summary.invalid_bytes
        say(f"warning: {n:,} {'byte' if n == 1 else 'bytes'} of invalid UTF-8 {'was' if n == 1 else 'were'} "
            f"replaced by U+FFFD")
    if summary.too_long:
        say(f"note: {too_long_phrase(summary.too_long)} and {'was' if summary.too_long == 1 else 'were'} left out")
    if summary.pruned_below:
        say(pruned_note(summary.pruned_below))


def pruned_note(pruned_below: int) -> str:
    """What a user whose count was pruned should know, and what to do about it."""
    return (f"note: the count held more distinct tokens than --count-limit allows (or more than "
            f"{TOKEN_BYTES_PER_LIMIT} bytes of them a token allowed), so tokens seen at most {pruned_below} times "
            f"were pruned while counting (as word2vec.c does): some rare words may be missing or undercounted; "
            f"raise --count-limit (55-85 bytes a token) for exact counts")


def train_encoded(encoded: EncodedCorpus, vocab: Vocabulary, options: TrainOptions, *,
                  progress: bool = False, log: Optional[Callable[[str], None]] = None,
                  callback: Optional[Callable[[EpochStats], Optional[bool]]] = None,
                  stop_event: Optional[threading.Event] = None) -> TrainResult:
    """Train a new model on an already encoded corpus (see :func:`train`)."""
    return train_model(Model.new(vocab, options), encoded, progress=progress, log=log, callback=callback,
                       stop_event=stop_event)
