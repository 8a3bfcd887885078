"""Training across the workers of a Dask cluster: the same model, the same kernels, several machines.

Install with ``pip install 'w2v[distributed]'``. This is the only module that imports Dask, and only
when it is used. Every worker must read the corpus under the same path as the client (a shared
filesystem) and run the same w2v (its :data:`WIRE` format); :func:`train` and :func:`train_model` check
both first (:func:`_check_workers`) and name the worker and the file that fail.

How a run goes (the split of xgboost.dask and lightgbm.dask: the single-machine trainer stays the
core, Dask carries the work and the results):

1. **Parts.** The corpus is cut into one part per worker (:class:`w2v.corpus.CorpusPart`: byte ranges
   of large plain files, and ranges of the text of .xz files of several blocks, cut where tokens start;
   compressed and small files dealt whole by size, or, for a compressed file too large to deal evenly,
   its bzip2 blocks cut into ranges (a .bz2 file) or its text's blocks dealt round-robin), so every
   token lies in exactly one part. The blocks of such a .bz2 file are found by the workers together,
   each scanning its share of the file for their marks; the client lays them out and gives every
   worker the layout (:func:`_lay_out_bzip2`).
2. **Vocabulary.** Each worker counts its part with the compiled counting pass, writing down each token's
   entry in its count as it goes (:func:`w2v.scan.count_and_spool`, spooled on the worker), and sends back
   its token table; the client merges the tables in part order with the same pruning rule
   (:func:`w2v.scan.merge_mapped`, which also says where each part's entries went), taking each when the merge
   comes to it (:func:`_each_gathered`: one part's table held at a time) and keeps the vocabulary
   as a single machine does (:func:`w2v.vocab.vocabulary_and_entry_ids`). Without pruning (fewer distinct
   tokens than ``--count-limit``, 21 million) the vocabulary is identical to the single-machine one.
   A model trained further with new words (``--init --update-vocab``) is counted the same way, and the
   new words are merged into its vocabulary here (:func:`_count_on` with ``into``). With phrases, each
   pass is counted first in the same way, the tokens and then the pairs that may join
   (:func:`_count_pairs_part`), and every worker then reads its part through the pairs that join
   (:func:`_phrases_on`, :func:`_read_part`); a pair that straddles two parts is neither counted nor joined.
3. **Shards.** Each worker encodes its part with that vocabulary and keeps it for the whole run: from its
   count's spool, each entry mapped to its word (:func:`w2v.encode.encode_spooled`, as one machine does),
   or by reading the part again (:func:`w2v.encode.encode_corpus`) when its count or the merge pruned, or
   the shard opens on another worker than the one that counted the part. A worker of two threads or more whose Numba
   cache lacks the training kernel has it compiled by a helper process from its first task on (counting,
   or encoding), as one machine does (:mod:`w2v.precompile`); its first round waits for it
   (:func:`_start_kernel`, :func:`_kernel_ready`).
4. **Rounds.** An epoch is cut into rounds of at most ``sync_words`` words of the largest shard, each
   the same share of every shard (:func:`round_plan`; a schedule's first epoch starts with warm-up
   rounds of ``sync_words / 64`` words doubling up to ``sync_words``); in a round every worker trains
   the chunks of its share with the multithreaded kernels on its own copy of the weights (local
   SGD). With one thread a worker, a seed gives the same weights every time, on any number of workers
   (the client then adds the changes in a fixed order: :class:`_SumOrder`). The
   learning rate follows one schedule over
   all workers' words: a round starts at the rate of the words all workers finished before it, ends
   at the rate after it, and each worker interpolates between the two over its own share.
5. **Combine.** After each round the client merges the workers' changes row by row (:func:`combine`):
   ``new = old + F · Σ_k Δ_k`` with ``F = (1 − Π_k (1 − s_k)) / Σ_k s_k``, where ``s_k`` is the share
   of the way to where its updates lead that worker ``k`` moved the row: estimated from how many
   updates the worker is expected to have made to it (the counts of each word in its round's text,
   :func:`expected_updates`, and the pull of one update, :func:`contraction`), and for a row that
   three or more workers changed and whose summed change turned against its last combined change (the
   sum had moved it past its target) also from how far the row moved against its length; the client
   keeps each row's last combined change as int8 directions (its checkpoints too). A row only
   one worker updated keeps that worker's change whole (``F = 1``); rows with few updates a round
   get the sum of the changes, as one machine would have made them (plain averaging would shrink
   rare and middling words' changes by the number of workers); rows that every worker pulled all
   the way get the mean (plain summing, as Spark MLlib's Word2Vec does once per iteration, would
   move them the number of workers times too far, and diverges with many partitions, SPARK-24666). The combined
   change of the rows that changed goes back to every worker (all rows when that is smaller to describe);
   workers send back only the rows they changed, or the whole matrix when most rows changed. Changes
   cross the network both ways as int16 steps of each row's largest value (:func:`pack_change`, half
   the bytes of float32, within 1/65534 of the row's largest); the client adds to its weights exactly
   what the workers add to theirs, so every copy stays equal bit for bit.

What we took from the literature: Ji et al. (2016, "Parallelizing Word2Vec in Shared and Distributed
Memory"; their pWord2Vec MPI code) train each node on its own shard with its own model replica, the
learning rate following the global progress, and synchronise the replicas by plain averaging
(an all-reduce sum divided by the number of nodes) every 0.1 s, the most frequent words at every
sync and rarer ones exponentially less often. We took the replicas, the global schedule and the
frequent syncs; we combine per row instead of averaging (a plain average divides the change of
every word all nodes saw by the number of nodes; see benchmarks/results/distributed-*.md). Ordentlich et al. (2016,
"Network-Efficient Distributed Word2vec Training System for Large Vocabularies", Yahoo) instead
shard the *columns* of every vector over parameter servers and compute dot products where the
vectors live, for vocabularies of hundreds of millions of words that fit no single machine; we did
not take that: it needs a parameter server, and a vocabulary that fits one worker's memory twice
(the worker keeps its last synced copy to find what it changed) is the case we serve.

Faults: every round's task is a function of the weights after the previous sync and the shard, so a
round lost with its worker is run again elsewhere. Dask re-runs a task whose worker died; the new
worker has neither the shard nor the weights, so it answers "stale", and the client sends it the
full weights with the task again (it encodes the shard from the shared files). When Dask gives up
(the task killed its workers three times, ``distributed.scheduler.allowed-failures``), the run stops
with one clear error and, with a checkpoint file, a checkpoint of the last sync; the vectors are
never written partly. So does a round that fails on its worker with an exception of its own (its memory,
its disk), saying which shard and what; and so does a run whose client loses the scheduler (Dask closes
the client once it has tried to reconnect for ``CONNECT_SECONDS``), or cannot send the weights to any
worker. A combined change
that reaches no worker is not lost: it is in the client's weights, and the next round sends them whole.
What a run keeps on a worker is keyed by its client's id (:func:`_run_key`), and every run first has the
workers drop what runs of clients no longer connected left there (:func:`_drop_orphans`): a command that was
killed or cut off never said it was done. Before the shards open, a worker whose Dask memory limit cannot hold
what training puts on it is named (:func:`_check_worker_memory`) rather than restarted by its nanny round after
round. The worker processes of a local cluster never see the stop signals that a terminal's Ctrl-C or a batch
system sends the whole process group (:func:`_stop_signals_kept_from_workers`): the command stops the run.

Checkpoints are written after every epoch, every ``checkpoint_every`` seconds between rounds, and
when stopped; the position counts rounds (``Position.chunk``), and the checkpoint records the number
of shards and the sync interval, so a run stopped between rounds resumes only with the same ones
(at an epoch's end, with any).

Example::

    >>> from w2v import distributed
    >>> result = distributed.train(["corpus.txt"], dim=100, epochs=5,
    ...                            scheduler="local:2", threads=1)     # doctest: +SKIP
    >>> result.vectors.save("vectors.bin")                            # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import math
import operator
import os
import tempfile
import threading
import time
import uuid
from concurrent.futures import CancelledError, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .corpus import Corpus, CorpusPart
from .files import check_free_space
from .formats import check_words
from .model import Model, Weights, aligned_zeros, kernel_args, kernel_function, padded_dim
from .options import MIN_SYNC_WORDS, TrainOptions, default_threads
from .progress import ProgressBar
from .training import (STOP_SIGNALS, EpochStats, TrainingDiverged, TrainingInterrupted, TrainResult,
                       check_start_vectors, finish_epoch, plan_chunks, say_count_notes, start_from_file)
from .vocab import Vocabulary

__all__ = ["train", "train_model", "connect", "combine", "expected_updates", "contraction", "default_sync_words", "SyncStats"]

#: Words a single worker trains between syncs by default (it misses nothing: as many as two workers train in
#: all between syncs at their default). Quality falls with the words trained apart, and more so the more
#: workers there are (benchmarks/results/distributed-sync*.md).
DEFAULT_SYNC_WORDS_TOTAL = 2_000_000
#: From two workers up, the words of the other workers' updates that each copy of the weights misses
#: between two syncs, ``(N - 1) · sync_words``, are held at the two-worker default's (1,000,000).
DEFAULT_MISSED_WORDS = 1_000_000


def default_sync_words(workers: int) -> int:
    """Words each of ``workers`` workers trains between syncs by default (at least ``MIN_SYNC_WORDS``): 2,000,000 for
    one worker, ``1,000,000 / (N - 1)`` from two up (1,000,000 on two, 333,333 on four). Holding the
    words a copy misses, rather than the words trained apart in all (``2,000,000 / N`` until 2026-12-07),
    leaves two workers as they were and scored better on four, at the cost of more syncs the more workers
    there are (benchmarks/README.md, "Distributed training")."""
    if workers <= 1:
        return DEFAULT_SYNC_WORDS_TOTAL
    return max(MIN_SYNC_WORDS, DEFAULT_MISSED_WORDS // (workers - 1))


def checked_sync_words(sync_words) -> Optional[int]:
    """``sync_words`` as a Python int (any integer, NumPy's too: checkpoints record it as JSON), or None (the
    default); ``ValueError`` unless it is at least ``MIN_SYNC_WORDS``."""
    if sync_words is None:
        return None
    try:
        value = operator.index(sync_words)
    except TypeError:
        value = None
    if value is None or value < MIN_SYNC_WORDS:
        raise ValueError(f"sync_words must be an integer >= {MIN_SYNC_WORDS:,} (a sync costs about as much as "
                         f"a worker training tens of thousands of words), got {sync_words!r}")
    return value


#: Sending data to a worker may take this many seconds, and one more for every
#: SEND_BYTES_PER_SECOND bytes; a worker that has not taken it by then is skipped.
SEND_SECONDS = 20
SEND_BYTES_PER_SECOND = 20e6
#: What one worker process of a local cluster takes at least, before any data: ``local:N`` asking for more
#: than the machine has available is refused before any starts (its start would take minutes and then fail).
#: Measured: a worker's unique memory (USS) 114-115 MiB after a small run, 44 MiB idle before it.
LOCAL_WORKER_BYTES = 128 << 20
#: Seconds closing the client and a local cluster may take.
CLOSE_SECONDS = 20
#: A scheduler that had no workers at a run's start: once one joins, the run waits for the others starting with
#: it until none has joined for this many seconds.
SETTLE_SECONDS = 2.0
#: Seconds connecting to a scheduler (``tcp://HOST:PORT``) may take before it is reported unreachable; also how long
#: the client tries to reconnect to it when the connection drops (Dask uses its timeout for both).
CONNECT_SECONDS = 10.0
#: Seconds the command waits for a tiny piece of data sent straight to a worker before it moves all data
#: through the scheduler instead (:func:`_reach_workers`).
REACH_SECONDS = 10.0
#: A round's rows go as (rows, values) when fewer than this share of a matrix's rows changed.
SPARSE_SHARE = 0.5
#: Rows that at least this many workers changed in a round, and whose summed change turned against their
#: last combined change, take the guard ``‖Δ_k‖/‖row‖`` in the combine (:func:`combine`); other rows take the
#: shares from the counts alone.
GUARD_WORKERS = 3
#: A shard's round whose data was lost with a worker is sent again at most this many times a round.
ROUND_RETRIES = 3
#: The format of what the client and the workers send each other, raised when it changes (2: syncs packed
#: as int16 steps, :func:`pack_change`); every worker must run the client's (:func:`_check_workers`).
WIRE = 2


# -- the cluster ------------------------------------------------------------------------------------
def _dask():
    try:
        import distributed
    except ImportError:
        raise ValueError("distributed training needs Dask: pip install 'w2v[distributed]'") from None
    return distributed


def _gather(client, futures, doing: str) -> list:
    """``client.gather(futures)`` of a step before training (no checkpoint of it to keep), with Dask giving
    up on a task (its workers kept dying: ``distributed.scheduler.allowed-failures``) or losing one, or a task
    failing on its worker other than with a ValueError or OSError (which say what to do), as one ``OSError``
    saying what the cluster was ``doing``, not Dask's exception."""
    try:
        return client.gather(futures)
    except _dask().KilledWorker:
        raise OSError(f"Dask workers kept dying while {doing}; nothing was written (the workers' logs say "
                      f"why)") from None
    except CancelledError:
        raise OSError(f"the Dask cluster lost a task while {doing} (a worker died); nothing was written") from None
    except (ValueError, OSError):  # (a worker's user error, worded for the user: a file it cannot read)
        raise
    except Exception as error:  # noqa: BLE001 - raised by a task on its worker (its memory, a bug)
        raise OSError(f"a Dask worker failed while {doing} ({type(error).__name__}: {_first_line(error)}); "
                      f"nothing was written") from None


def _each_gathered(client, futures: list, doing: str):
    """The results of ``futures`` one at a time, in order, as :func:`_gather` gives them: each is fetched once
    the one before is done with, and its future let go, so that the client holds one worker's answer at a
    time (a part's token or pair count: up to a few hundred MB each on a web-scale corpus) instead of all of
    them. The list is emptied as it goes: the caller keeps no other reference to its futures."""
    while futures:
        future = futures.pop(0)
        result = _gather(client, [future], doing)[0]
        del future
        yield result
        del result


def _scheduler_workers(client) -> Dict[str, Dict[str, Any]]:
    """What the scheduler knows of each of its workers, by address: all of them. ``Client.scheduler_info()``
    lists only five by default in distributed 2025.4 to 2026.6 (dask/distributed#9045, undone by #9308), which
    would have a run on ten workers train on five; ``n_workers=-1`` asks for all where it is known."""
    import inspect
    if "n_workers" in inspect.signature(client.scheduler_info).parameters:
        return client.scheduler_info(n_workers=-1)["workers"]
    return client.scheduler_info()["workers"]


class Cluster:
    """A Dask client, and the local cluster it started (if any): close it when done (a context manager)."""

    def __init__(self, client, local=None):
        self.client, self.local = client, local

    @property
    def workers(self) -> List[str]:
        return sorted(_scheduler_workers(self.client))

    def close(self) -> None:
        """Close the client, and the local cluster it started, within bounded time (a worker that is
        restarting must not keep the command from ending)."""
        try:
            if self.client is not None:
                self.client.close(timeout=CLOSE_SECONDS)
        except Exception:  # noqa: BLE001 - closing a client whose scheduler is gone
            pass
        finally:
            if self.local is not None:
                try:
                    self.local.close(timeout=CLOSE_SECONDS)
                except Exception:  # noqa: BLE001 - and a cluster that is half down
                    pass

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _first_line(error: BaseException) -> str:
    """An error's message for a one-line report: its first line (at most 200 characters), or its type's name
    when it has none."""
    return (str(error).splitlines() or [""])[0][:200] or type(error).__name__


def connect(scheduler: str) -> Cluster:
    """A :class:`Cluster` for ``scheduler``: ``tcp://HOST:PORT`` (an existing ``dask scheduler``) or
    ``local:N`` (a new ``LocalCluster`` of N worker processes on this machine, one Dask thread each: the
    kernels bring their own threads; the client moves data to and from them directly, as
    :func:`_reach_workers` decides for a scheduler's workers). Raises ``ValueError``/``OSError`` with one line.

    A local cluster's scheduler and workers log only critical messages: the command reports what befalls a run
    in its own lines, and Dask's errors with their tracebacks would come on top of them on its standard error
    when it stops: a worker whose heartbeat meets the scheduler already closed after a good run
    (dask/distributed#7105), one sending the client a result when a Ctrl-C cancels the fetch ("failed during
    get data"), the scheduler losing a worker's data. Its worker processes never see a stop signal
    (:func:`_stop_signals_kept_from_workers`)."""
    distributed = _dask()
    import logging
    if scheduler.startswith("local:"):
        try:
            n = int(scheduler[len("local:"):])
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"--scheduler {scheduler}: local:N needs a number of workers N >= 1")
        import psutil  # (Dask's own dependency)
        from distributed.system import MEMORY_LIMIT  # (the machine's, or its container's cgroup or rlimit)
        available = min(psutil.virtual_memory().available, MEMORY_LIMIT)
        if n * LOCAL_WORKER_BYTES > available:
            raise ValueError(f"--scheduler {scheduler}: {n:,} worker processes take at least "
                             f"{n * LOCAL_WORKER_BYTES / 2**30:,.1f} GiB before any data (about "
                             f"{LOCAL_WORKER_BYTES >> 20} MiB each), more than the {available / 2**30:,.1f} GiB "
                             f"this machine (or its container) has available; give fewer workers")
        opened = Cluster(None)
        try:
            with _stop_signals_kept_from_workers():
                opened.local = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                        dashboard_address=":0", silence_logs=logging.CRITICAL)
                opened.client = distributed.Client(opened.local, direct_to_workers=True)
            return opened
        except BaseException as error:  # (also a stop signal taken once the cluster had started: as it is)
            opened.close()
            if isinstance(error, (OSError, RuntimeError, TimeoutError)):
                raise OSError(f"could not start a local Dask cluster of {n} workers ({_first_line(error)})") from None
            raise
    if "://" not in scheduler and ":" not in scheduler:
        raise ValueError(f"--scheduler {scheduler}: give an address such as tcp://HOST:8786, or local:N")
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError) as error:
        raise OSError(f"cannot reach the Dask scheduler at {scheduler} ({_first_line(error)}); "
                      f"start one with 'dask scheduler' and workers with 'dask worker {scheduler}', "
                      f"or use --scheduler local:N") from None
    return Cluster(client)


@contextlib.contextmanager
def _stop_signals_kept_from_workers():
    """A local cluster's worker processes never see SIGINT, SIGTERM or SIGHUP; a stop signal the command
    gets while the cluster starts is taken once it has started.

    Ctrl-C at a terminal signals every process of the foreground group, and a batch system's stop (Slurm's,
    systemd's) every process of the job: each worker used to print a KeyboardInterrupt traceback onto the
    command's standard error, or die, its scheduler and multiprocessing's resource tracker then logging errors
    and leaked semaphores, while the command stops the run with its own line and closes the cluster itself.
    Here the signals are blocked in this thread while the cluster starts, and so in the threads it starts then
    (its event loop's, which start the worker processes, also a worker its nanny starts again later): a thread
    is born with its creator's signal mask and a process keeps it across ``exec``. The nannies stop their
    workers with a message, then SIGKILL; a worker whose command died exits on its own (Dask watches the
    parent), so nothing is lost by it.

    multiprocessing's resource tracker is started first: the thread that starts it unblocks SIGINT and SIGTERM
    afterwards whatever its mask was before (CPython 3.11's ``resource_tracker.ensure_running``), and Dask
    would start it from its event loop's thread with the first worker, unblocking them there for the workers
    after. In the main thread the command's handlers of these signals are set aside meanwhile and the first
    signal that came is raised again at the end: Dask's cluster cut off mid-start closes only with
    tracebacks. Only where the platform has ``pthread_sigmask`` (not Windows)."""
    import signal
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    from multiprocessing import resource_tracker
    resource_tracker.ensure_running()
    signums = {getattr(signal, name) for name in STOP_SIGNALS if hasattr(signal, name)}
    received: List[int] = []
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        for signum in signums:
            handler = signal.getsignal(signum)
            if callable(handler):
                handlers[signum] = handler
                signal.signal(signum, lambda signum, frame: received.append(signum))
    before = signal.pthread_sigmask(signal.SIG_BLOCK, signums)
    try:
        yield
    finally:
        try:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
        finally:  # (a signal still pending for this thread goes to its own handler as it is unblocked)
            signal.pthread_sigmask(signal.SIG_SETMASK, before)
        if received:
            signal.raise_signal(received[0])


def _counted(n: int, noun: str) -> str:
    """``1 worker``, ``2 workers``."""
    return f"{n:,} {noun}{'s' if n != 1 else ''}"


def _wait_for_workers(cluster: Cluster, say, timeout: float = 60.0, settle: float = SETTLE_SECONDS) -> List[str]:
    """The scheduler's workers. When it has none yet (a cluster still starting), says so and waits up to
    ``timeout`` seconds for one, else OSError; then for the others starting with it, until none has joined
    for ``settle`` seconds (``dask worker --nworkers 4`` registers its workers one by one: the run would
    otherwise take the first alone), at most ``timeout`` seconds more (a cluster that keeps growing)."""
    workers = cluster.workers
    if not workers:
        say(f"the Dask scheduler has no workers yet: waiting up to {timeout:.0f} s for one...")
        try:
            cluster.client.wait_for_workers(1, timeout=timeout)
        except (TimeoutError, OSError):
            raise OSError(f"the Dask scheduler has no workers (waited {timeout:.0f} s); start some with "
                          f"'dask worker ADDRESS'") from None
        workers, quiet_since = cluster.workers, time.monotonic()
        until = quiet_since + timeout
        while time.monotonic() - quiet_since < settle and time.monotonic() < until:
            time.sleep(min(0.25, settle))
            joined = cluster.workers
            if len(joined) != len(workers):
                workers, quiet_since = joined, time.monotonic()
        say(f"{_counted(len(workers), 'worker')} joined")
    return workers


def _unreadable(files: Sequence[str]) -> List[Tuple[str, str]]:
    """(file, reason) for every file this process cannot read (runs on the workers)."""
    problems = []
    for path in files:
        try:
            with open(path, "rb") as f:
                f.read(1)
        except OSError as error:
            problems.append((path, error.strerror or str(error)))
    return problems


def _prepare_parts(cluster: Cluster, workers: List[str], files: Sequence[str], say) -> None:
    """Before the workers read their parts: the split's roles, found once here (every part finds the
    same), name the compressed files every worker inflates (:func:`_say_shared_files`) and let the
    workers lay out the .bz2 files cut by their blocks together (:func:`_lay_out_bzip2`)."""
    roles = CorpusPart(files, 0, len(workers)).roles
    _say_shared_files(files, roles, len(workers), say)
    _lay_out_bzip2(cluster, workers, files, roles)


def _say_shared_files(files: Sequence[str], roles: Sequence[int], workers: int, say) -> None:
    """Name each compressed file that every worker will inflate whole (:data:`w2v.corpus.SHARED` among
    ``roles``, :attr:`w2v.corpus.CorpusPart.roles`): a slow start on a large .gz, .zst or one-block .xz
    file, which the user can avoid by giving several files."""
    from .corpus import SHARED
    for path, role in zip(files, roles):
        if role == SHARED:
            say(f"{path}: each of the {workers} workers inflates all of this compressed file to take its share; "
                f"several files, a .bz2 file, or an .xz file of several blocks (xz -T) are split among them instead")


def _lay_out_bzip2(cluster: Cluster, workers: List[str], files: Sequence[str], roles: Sequence[int]) -> None:
    """Find the layout of each .bz2 file cut among the workers by its blocks (:data:`w2v.corpus.BLOCKS`)
    with the workers together: worker ``k`` scans byte range ``k`` of the file for its marks
    (:func:`w2v.corpus.bzip2_scan_share`), the client lays out the blocks from all of them
    (:func:`w2v.bzip2.layout_of`) and gives the layout to every worker (:func:`w2v.corpus.keep_bzip2_layout`).
    Each worker so reads ``1/n`` of the file to find it, where alone it would read the whole file (which
    on many workers takes longer than inflating its share). Shares that saw the file at different sizes or
    times (it changed) give nothing: every worker then scans the file itself, as it would alone."""
    from . import bzip2
    from .corpus import BLOCKS, bzip2_scan_share, keep_bzip2_layout
    n, client = len(workers), cluster.client
    cut = [path for path, role in zip(files, roles) if role == BLOCKS]
    scans = {path: [client.submit(bzip2_scan_share, path, k, n, workers=[workers[k]], allow_other_workers=True,
                                  pure=False) for k in range(n)] for path in cut}
    for path, futures in scans.items():
        shares = _gather(client, futures, f"finding the blocks of {path}")
        if len({(size, mtime_ns) for size, mtime_ns, _, _ in shares}) == 1:
            size, mtime_ns, head, _ = shares[0]
            blocks = bzip2.layout_of(head, [mark for *_, marks in shares for mark in marks])
            client.run(keep_bzip2_layout, path, size, mtime_ns, blocks)


def _wire_on_worker() -> int:
    """This process's :data:`WIRE` (runs on the workers)."""
    return WIRE


def _check_workers(cluster: Cluster, files: Sequence[str]) -> None:
    """Before any work: every worker runs this w2v's wire format (:data:`WIRE`) and can read every file;
    else OSError naming the worker."""
    try:
        wires = cluster.client.run(_wire_on_worker)
    except Exception as error:  # noqa: BLE001 - Dask hands a worker's failure over wrapped as Exception(repr)
        text = _first_line(error)
        if "w2v" in text:  # no w2v there ("No module named 'w2v'"), or one older than _wire_on_worker
            raise OSError(f"a Dask worker cannot run this machine's w2v ({text}); install the same w2v on every "
                          f"worker") from None
        raise OSError(f"could not ask the Dask workers which w2v they run ({type(error).__name__}: {text})") from None
    for worker, wire in sorted(wires.items()):
        if wire != WIRE:
            raise OSError(f"worker {worker} runs another w2v (wire format {wire}, this machine's {WIRE}); install "
                          f"the same w2v on every worker")
    answers = cluster.client.run(_unreadable, list(files))
    for worker, problems in sorted(answers.items()):
        if problems:
            path, reason = problems[0]
            raise OSError(f"worker {worker} cannot read {path} ({reason}); every worker must see the corpus "
                          f"under the same path (a shared filesystem)")


def _scatter_each(client, data, workers: Sequence[str], seconds: float, **options) -> Dict[str, Dict[str, Any]]:
    """Scatter ``data`` to each of ``workers`` at once, each in a daemon thread (which cannot keep the process
    alive) waited for at most ``seconds`` in all: a dict, by worker, of ``{"future": ...}`` for a copy it took,
    ``{"error": ...}`` for one that failed, or ``{}`` for one that had not answered by then. ``options`` go to
    ``Client.scatter``."""
    boxes: Dict[str, Dict[str, Any]] = {worker: {} for worker in workers}

    def scatter(worker, box):
        try:
            box["future"] = client.scatter(data, workers=[worker], hash=False, **options)
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = error

    threads = [threading.Thread(target=scatter, args=item, daemon=True) for item in boxes.items()]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return boxes


def _reach_workers(cluster: Cluster, workers: List[str], say) -> None:
    """Move the run's data (the weights at every sync, the workers' changes) straight between this process
    and the workers when it can reach all of them, not through the scheduler, which Dask does by default
    (``direct_to_workers``) because a client outside the workers' network may not reach them. Relayed, every
    byte crosses two links and the scheduler's one Python process (on ``local:2`` and wiki8, a sync's sends
    took 0.10-0.23 s relayed against 0.03-0.08 s direct). Decided once a client, by sending each worker a
    few bytes directly (waited for ``REACH_SECONDS``); a client made with ``direct_to_workers`` set is left
    as it is. A worker that joins later is not probed: :meth:`_DistributedRun._send` sends it nothing (it
    holds no shard), and should it take a shard over out of reach, Dask's gathers fall back to the scheduler
    by themselves."""
    client = cluster.client
    if client.direct_to_workers is not None:
        return
    boxes = _scatter_each(client, b"w2v", workers, REACH_SECONDS, direct=True)
    for worker, box in sorted(boxes.items()):
        if "future" not in box:
            reason = _first_line(box["error"]) if "error" in box else f"no answer in {REACH_SECONDS:g} s"
            client.direct_to_workers = False
            say(f"this machine cannot reach worker {worker} directly ({reason}); the weights go through the "
                f"scheduler, which is slower")
            return
    client.direct_to_workers = True


def _run_key(client) -> str:
    """A new key for a run's shards or a count's spools on the workers: the client's id, then a random part, so
    that a worker can tell whose they are (:func:`_forget_orphans`)."""
    return f"{client.id}/{uuid.uuid4().hex}"


def _clients_on_scheduler(dask_scheduler) -> List[str]:
    """The ids of the clients connected to the scheduler (runs on the scheduler)."""
    return list(dask_scheduler.clients)


async def _forget_orphans(live: List[str]) -> int:
    """Drop the shards and count spools of runs whose client is not among ``live`` (runs on every worker, in its
    event loop): a command that was killed, or lost its scheduler, never told the workers to drop them
    (:func:`_forget`), and a run's shard holds its part and two copies of the weights. Returns how many."""
    def orphan(key: str) -> bool:
        return "/" in key and key.split("/", 1)[0] not in live
    with _LOCK:
        runs = {key[0] for key in _SHARDS if orphan(key[0])}
        counts = {key[0] for key in _SPOOLED if orphan(key[0])}
        _SPOOLS_DROPPED.update(counts)
    for run in runs:
        await _forget(run)
    for key in counts:
        await _forget_spools(key)
    return len(runs) + len(counts)


def _drop_orphans(cluster: Cluster, say) -> None:
    """Have the workers drop what runs of commands no longer connected left on them (:func:`_forget_orphans`);
    says how many workers did. Best effort: a scheduler or a worker that does not answer leaves them."""
    try:
        live = cluster.client.run_on_scheduler(_clients_on_scheduler)
        dropped = cluster.client.run(_forget_orphans, live)
    except Exception:  # noqa: BLE001 - cleaning up after others never stops this run
        return
    freed = sorted(worker for worker, n in dropped.items() if n)
    if freed:
        say(f"{_counted(len(freed), 'worker')} dropped the shards or counts of runs whose "
            f"command is gone")


def _workers_ready(cluster: Cluster, files: Sequence[str], say) -> List[str]:
    """Before any work of a run: the workers (waited for), checked (:func:`_check_workers`), cleared of what dead
    runs left (:func:`_drop_orphans`), reached directly
    where they can be (:func:`_reach_workers`) and told how the files split into parts (:func:`_prepare_parts`)."""
    workers = _wait_for_workers(cluster, say)
    _check_workers(cluster, files)
    _drop_orphans(cluster, say)
    _reach_workers(cluster, workers, say)
    _prepare_parts(cluster, workers, files, say)
    return workers


# -- state on the workers ----------------------------------------------------------------------------
@dataclass
class _Shard:
    """What a worker keeps of one shard between rounds: the encoded part, its chunks, its weights."""
    model: Model
    encoded: Any
    chunks: List[Tuple[int, int]]
    chunk_starts: np.ndarray     # int64[C+1] the shard's words before each chunk (and all of them, last)
    version: int = -1            # the sync whose weights ``model.weights`` started this round from
    synced: Optional[Weights] = None
    pool: Any = None


#: (run, shard) -> _Shard, in each worker process.
_SHARDS: Dict[Tuple[str, int], _Shard] = {}
#: (count, part) -> the part's count spooled (:class:`w2v.scan.Spooled`) until its shard opens, in each worker
#: process (:func:`_count_part`).
_SPOOLED: Dict[Tuple[str, int], Any] = {}
#: The counts whose spools were dropped (:func:`_forget_spools`): a part still counting keeps none.
_SPOOLS_DROPPED: set = set()
_LOCK = threading.Lock()
#: (kernel name, row length) -> the helper compiling that training kernel, or None once it is ready (loaded,
#: or compiled by a helper that was waited for), in each worker process (:func:`_start_kernel`).
_KERNELS: Dict[Tuple[str, int], Any] = {}


def _start_kernel(options: Dict[str, Any]) -> None:
    """Make the training kernel of ``options`` (resolved :class:`TrainOptions` as a dict) ready on this worker
    before it trains (runs on a worker): loaded from Numba's cache, or compiled by a helper process while the
    worker counts and encodes (:func:`w2v.precompile.start`: none for one thread). Once a process."""
    from . import precompile
    opts = TrainOptions(**options)
    key = (opts.kernel_name, padded_dim(opts.dim))
    with _LOCK:
        if key in _KERNELS:
            return
        _KERNELS[key] = None
    helper, _ = precompile.start(opts)
    if helper is not None:
        with _LOCK:
            _KERNELS[key] = helper


def _kernel_ready(options: TrainOptions) -> None:
    """Wait for the helper compiling the training kernel of ``options``, if this worker started one (runs on
    a worker, before its first round's kernel call, which then loads the kernel from the cache; if the
    helper failed, that call compiles it)."""
    key = (options.kernel_name, padded_dim(options.dim))
    with _LOCK:
        helper = _KERNELS.get(key)
        _KERNELS[key] = None
    if helper is not None:
        helper.wait()


def _read_part(files, k: int, n: int, lowercase: bool, threads: int, phrasing: Optional[tuple] = None):
    """Part ``k`` of ``n`` of ``files`` (:class:`w2v.corpus.CorpusPart`), read through the run's phrases when
    ``phrasing`` (:func:`w2v.phrases.joined_tokens`'s answer) is given (:func:`w2v.phrases.phrased_by_tokens`)."""
    part = CorpusPart(files, k, n, lowercase=lowercase)
    if phrasing is None:
        return part
    from .phrases import phrased_by_tokens
    return phrased_by_tokens(part, *phrasing, threads=threads)


def _count_part(files, lowercase: bool, k: int, n: int, prune_at: Optional[int], threads: int,
                options: Optional[Dict[str, Any]] = None, spool: Optional[Tuple[str, Optional[str]]] = None,
                phrasing: Optional[tuple] = None):
    """Count part ``k`` of ``n`` (runs on a worker): ``(compact table, tokens, pruned_below)``. With the run's
    ``options`` (a dict), the training kernel is made ready first (:func:`_start_kernel`). With ``spool``
    (``(key, cache_dir)``), each token's entry is written down as it is counted (:func:`w2v.scan.count_and_spool`,
    in an unlinked file in the cache folder) and kept under ``(key, k)``, so that :func:`_open_shard` encodes
    the part without reading its text again; a count that pruned keeps none (pruning renumbers the entries).
    ``phrasing``: the run's phrases, joined as the part is read (:func:`_read_part`)."""
    from . import scan
    if options is not None:
        _start_kernel(options)
    part = _read_part(files, k, n, lowercase, threads, phrasing)
    if spool is None:
        counted = scan.count(part, prune_at, threads)
    else:
        key, cache_dir = spool
        counted, spooled = scan.count_and_spool(part, prune_at, threads, _cache_folder(cache_dir))
        if spooled is not None:
            with _LOCK:
                if key in _SPOOLS_DROPPED:  # the count was given up (the command failed) while this part counted
                    old = spooled
                else:  # (an older spool: the same part counted again here, a task run twice)
                    old, _SPOOLED[(key, k)] = _SPOOLED.get((key, k)), spooled
            if old is not None:
                old.close()
    return counted.compact(), counted.total_tokens, counted.pruned_below


def _same(value):
    return value


def _shared(client, data):
    """``data`` as one future that every task can take (Dask copies it to the workers that need it),
    instead of the data itself, which Dask would put into every task's graph (and warn from 10 MB on). It
    is made by a task that returns it, so a copy lost with its worker is made again from that task; a
    scattered copy would be lost for good, and every task needing it would fail."""
    import warnings
    with warnings.catch_warnings():  # (its one task's graph holds the data: this is the one copy)
        warnings.filterwarnings("ignore", message="Sending large graph")
        return client.submit(_same, data, pure=False)


def _count_pairs_part(files, lowercase: bool, k: int, n: int, prune_at: Optional[int], threads: int,
                      phrasing: Optional[tuple], settings: tuple):
    """Count the pairs of part ``k`` of ``n`` (read through the passes before, ``phrasing``) that may join
    under ``settings`` (:func:`w2v.phrases.pair_settings` of the merged token count; runs on a worker):
    :func:`w2v.phrases.count_pairs`'s answer, its table cut to the rows it uses (about a third of it)."""
    from .phrases import count_pairs
    pairs, n_pairs, pruned = count_pairs(_read_part(files, k, n, lowercase, threads, phrasing), settings, prune_at,
                                         threads)
    return pairs[pairs[:, 0] != 0], n_pairs, pruned


def _cache_folder(cache_dir: Optional[str]) -> str:
    """Where a worker spools: the run's cache folder when this worker has it, else its temporary folder."""
    return cache_dir if cache_dir and os.path.isdir(cache_dir) else tempfile.gettempdir()


async def _forget_spools(key: str) -> int:
    """Drop the spools a count left under ``key`` (runs on every worker, in its event loop, as :func:`_forget`):
    those of parts whose shards opened on another worker, or never opened."""
    with _LOCK:
        _SPOOLS_DROPPED.add(key)
        keys = [spool_key for spool_key in _SPOOLED if spool_key[0] == key]
        spools = [_SPOOLED.pop(spool_key) for spool_key in keys]
    for spooled in spools:
        spooled.close()
    return len(spools)


def _drop_spools(client, key: str) -> None:
    """Ask every worker to drop the spools of the count ``key``, without waiting for the answers (as
    :meth:`_DistributedRun.close`)."""
    try:
        client.run(_forget_spools, key, wait=False)
    except Exception:  # noqa: BLE001 - a dead cluster leaves nothing to clean
        pass


def _aligned_copy(matrix: np.ndarray) -> np.ndarray:
    """A writable float32 copy of ``matrix`` starting on a cache line (:func:`w2v.model.aligned_zeros`)."""
    copy = aligned_zeros(matrix.shape)
    copy[...] = matrix
    return copy


def _open_shard(run: str, k: int, n: int, files, vocab: Vocabulary, options: Dict[str, Any], cache_dir,
                chunk_words: int, spool: Optional[Tuple[str, np.ndarray]] = None, phrasing: Optional[tuple] = None):
    """Encode part ``k`` of ``n`` with ``vocab`` and keep it for the run (runs on a worker). With ``spool``
    (``(key, word_ids)``: the count's key and each of this part's entries' word id) and this worker's spool
    of the part's count (:func:`_count_part`), the spool is remapped (:func:`w2v.encode.encode_spooled`) instead
    of the text read again: the same ids and offsets. ``phrasing``: as :func:`_count_part`'s."""
    from .encode import encode_corpus, encode_spooled
    with _LOCK:
        shard = _SHARDS.get((run, k))
    if shard is not None:
        return shard
    _start_kernel(options)
    opts = TrainOptions(**options)
    part = _read_part(files, k, n, opts.lowercase, opts.threads, phrasing)
    spooled = None
    if spool is not None and spool[1] is not None:
        with _LOCK:
            spooled = _SPOOLED.pop((spool[0], k), None)
    try:
        if spooled is not None:
            encoded = encode_spooled(spooled, spool[1], opts.max_sentence_length, opts.threads)
        else:
            encoded = encode_corpus(part, vocab, opts.max_sentence_length, cache_dir=_cache_folder(cache_dir),
                                    threads=opts.threads)
    except ValueError as error:
        if "nothing to train on" not in str(error):
            raise
        from .encode import EncodedCorpus
        encoded = EncodedCorpus(np.zeros(0, np.int32), np.zeros(1, np.int64), None)
    finally:
        if spooled is not None:
            spooled.close()  # nothing left to close once encode_spooled has taken the spool
    chunks = plan_chunks(encoded.offsets, chunk_words) if encoded.n_words else []
    starts = [int(encoded.offsets[b]) for b, _ in chunks] + [encoded.n_words]
    shard = _Shard(Model(vocab, opts), encoded, chunks, np.asarray(starts, dtype=np.int64))
    with _LOCK:
        _SHARDS[(run, k)] = shard
    return shard


def _describe_shard(run: str, k: int, n: int, files, vocab, options, cache_dir, chunk_words: int, spool=None,
                    phrasing=None):
    """Open the shard (runs on a worker, with the count's ``spool`` and the run's ``phrasing`` as
    :func:`_open_shard`); returns its chunk starts (``_Shard.chunk_starts``) and its sentences."""
    shard = _open_shard(run, k, n, files, vocab, options, cache_dir, chunk_words, spool, phrasing)
    return shard.chunk_starts, shard.encoded.n_sentences


#: The first epoch starts with rounds of sync_words / 2^WARMUP_STEPS words a worker, doubling up to
#: sync_words: replicas that start from the same random weights and train long apart break the
#: symmetry of the start in different ways, and combining them then mixes two different solutions.
WARMUP_STEPS = 6


def round_plan(shard_words: int, sync_words: int, warmup: bool) -> List[float]:
    """The rounds of an epoch as shares of each shard's words, ``[0, f_1, ..., 1]``: rounds of at most
    ``sync_words`` words of the largest shard (``shard_words``), after warm-up rounds of
    ``sync_words / 2^WARMUP_STEPS``, ``... / 2^(WARMUP_STEPS-1)`` ... words when ``warmup``."""
    sizes = [sync_words / 2 ** j for j in range(WARMUP_STEPS, 0, -1)] if warmup else []
    ends, done = [], 0.0
    for size in sizes:
        if done + size >= shard_words:
            break
        done += size
        ends.append(done)
    rest = max(1, math.ceil((shard_words - done) / sync_words))
    ends += [done + (shard_words - done) * (i + 1) / rest for i in range(rest)]
    return [0.0] + [min(1.0, e / shard_words) for e in ends[:-1]] + [1.0]


def round_chunks(chunk_starts: np.ndarray, begin: float, end: float) -> Tuple[int, int]:
    """The chunks ``first .. last-1`` of the round that covers shares ``begin .. end`` of a shard's
    words (``chunk_starts``: int64[C+1], the words before each chunk, then all of them): the chunks
    starting in it (the last round, ``end`` 1, takes every chunk left)."""
    total = int(chunk_starts[-1])
    bounds = np.searchsorted(chunk_starts[:-1], [total * begin, total * end], side="left")
    return int(bounds[0]), int(bounds[1]) if end < 1.0 else len(chunk_starts) - 1


def pack_change(delta: np.ndarray, dim: int) -> Tuple[np.ndarray, np.ndarray]:
    """A change of rows (float32[r, P], P ≥ ``dim``) as it crosses the network: its first ``dim``
    columns (the rest is the rows' padding, always zero) as int16 steps of each row's largest magnitude
    / 32767 (int16[r, dim]), and those magnitudes (float32[r]). Half the bytes of float32; each value
    comes back (:func:`unpack_change`) within half a step, 1/65534 of its row's largest, far below what
    one round of SGD moves a row by chance. Scaling by row keeps the small changes of rare words and of
    the end of the schedule. (float16 would err up to 2^-12 of the row's largest, and numpy converts
    to it at a tenth of the kernels' speed.) The kernels (:func:`w2v.kernels.pack_scaled`,
    :func:`~w2v.kernels.pack_difference`, :func:`~w2v.kernels.add_unpacked`) pack and unpack in place;
    this and :func:`unpack_change` are their plain forms."""
    from .kernels import pack_scaled
    values, scale = _packed(len(delta), dim)
    pack_scaled(delta, np.ones(len(delta), dtype=np.float32), np.arange(len(delta)), dim, values, scale)
    return values, scale


def unpack_change(values: np.ndarray, scale: np.ndarray, width: int) -> np.ndarray:
    """The float32[r, width] change that :func:`pack_change`'s ``values`` and ``scale`` stand for (zero
    padding)."""
    from .kernels import add_unpacked
    out = np.zeros((len(values), width), dtype=np.float32)
    add_unpacked(out, np.arange(len(values)), values, scale)
    return out


def _packed(rows: int, dim: int) -> Tuple[np.ndarray, np.ndarray]:
    """Room for ``rows`` packed rows: int16[rows, dim] values and float32[rows] scales."""
    return np.empty((rows, dim), dtype=np.int16), np.empty(rows, dtype=np.float32)


_SYNC_KERNELS_READY: Dict[str, bool] = {}


def _sync_kernels_ready(side: str) -> None:
    """Load (or, on a first run, compile) the kernels that pack and unpack a sync on this ``side``
    ("worker" or "client") with the arrays they are called with, once a process: a worker does it before its
    first round waits for its training kernel, the client while the workers encode."""
    from . import kernels
    with _LOCK:
        if _SYNC_KERNELS_READY.get(side):
            return
        _SYNC_KERNELS_READY[side] = True
    matrix, other = np.zeros((2, 8), dtype=np.float32), np.ones((2, 8), dtype=np.float32)
    rows, (values, scale) = np.arange(2), _packed(2, 8)
    kernels.add_unpacked(matrix, rows, values, scale)
    if side == "worker":
        kernels.pack_difference(other, matrix, kernels.changed_rows(other, matrix, 8), 8, values, scale)
    else:
        kernels.pack_scaled(other, np.ones(2, dtype=np.float32), rows, 8, values, scale)
        kernels.accumulate_unpacked(matrix, rows, values, scale, np.zeros(2, dtype=np.float64))
        direction = np.zeros((2, 8), dtype=np.int8)
        kernels.keep_directions(direction, rows, values)
        kernels.reversed_rows(direction, matrix, rows, 8, np.zeros(2, dtype=np.bool_))


def _rows_to_send(changed: np.ndarray, n: int) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """The rows of a matrix of ``n`` rows to pack when ``changed`` changed, and how they are named on the
    network: every row (None) when :data:`SPARSE_SHARE` or more of them changed, which is shorter to say,
    else ``changed`` itself."""
    if len(changed) >= SPARSE_SHARE * n:
        return np.arange(n), None
    return changed, changed


#: Rows a thread takes at least when a sync's arithmetic is split among threads (:func:`_in_blocks`).
BLOCK_ROWS = 4096


def _in_blocks(pool: Optional[ThreadPoolExecutor], n: int, work: Callable[[int, int], Any]) -> list:
    """``work(begin, end)`` over rows ``0 .. n`` cut into one block a thread of ``pool`` (none: one block here),
    each of at least :data:`BLOCK_ROWS` rows; their answers in the blocks' order. The sync kernels release the
    GIL and treat each row alone, so the blocks run at once and give the bits one call gives."""
    size = 1 if pool is None else pool._max_workers  # (a ThreadPoolExecutor's size has no public name)
    threads = min(size, max(1, n // BLOCK_ROWS))
    if threads == 1:
        return [work(0, n)]
    bounds = [n * t // threads for t in range(threads + 1)]
    futures = [pool.submit(work, begin, end) for begin, end in zip(bounds, bounds[1:])]
    return [future.result() for future in futures]


def _round_change(now: np.ndarray, before: np.ndarray, dim: int, pool: Optional[ThreadPoolExecutor] = None) -> tuple:
    """What a worker sends of a round for one matrix: ``(rows or None for all, values, scale)``, the rows
    that changed since the last sync packed (:func:`pack_change`), or every row when most changed; with the
    threads of ``pool`` (:func:`_in_blocks`)."""
    from .kernels import changed_rows, pack_difference
    found = _in_blocks(pool, len(now), lambda b, e: changed_rows(now[b:e], before[b:e], dim) + b)
    rows, sent = _rows_to_send(np.concatenate(found), len(now))
    values, scale = _packed(len(rows), dim)
    _in_blocks(pool, len(rows), lambda b, e: pack_difference(now, before, rows[b:e], dim, values[b:e], scale[b:e]))
    return sent, values, scale


def _apply(weights: Weights, synced: Weights, update, pool: Optional[ThreadPoolExecutor] = None) -> None:
    """Add a sync's combined change to the shard's last synced weights (``synced``) and make the
    trained weights those: ``update`` is one (rows or None for all, values, scale) per matrix
    (:func:`pack_change`), added and copied with the threads of ``pool`` (:func:`_in_blocks`; numpy's copies
    release the GIL too). Rows outside ``rows`` no worker changed, so they are equal in both already."""
    from .kernels import add_unpacked
    for matrix, copy, (rows, values, scale) in zip(weights, synced, update):
        index = np.arange(len(copy)) if rows is None else rows

        def add_and_copy(b: int, e: int) -> None:
            add_unpacked(copy, index[b:e], values[b:e], scale[b:e])
            if rows is None:
                matrix[b:e] = copy[b:e]
            else:
                matrix[rows[b:e]] = copy[rows[b:e]]
        _in_blocks(pool, len(index), add_and_copy)


def _train_round(run: str, k: int, n: int, files, vocab, options, cache_dir, chunk_words: int, version: int,
                 update, full, epoch: int, begin: float, end: float, alpha_begin: float, alpha_end: float,
                 phrasing=None):
    """Train the round of ``epoch`` that covers shares ``begin .. end`` of shard ``k`` (runs on a worker).

    ``update``: the combined change of sync ``version`` (applied when this shard's weights are at sync
    ``version - 1``, :func:`_apply`); ``full``: the whole weights of sync ``version`` (or None). Returns
    ``"stale"`` when neither brings the shard to sync ``version`` (a worker that took the shard over), else
    ``(changes, occurrences, loss, predictions, trained, words)``: ``changes`` one (rows or None,
    values, scale) per matrix, the rows' Δ as int16 steps (:func:`pack_change`), ``occurrences``
    int64[V] the count of each word in the round's text. A worker that
    takes the shard over opens it with the run's ``phrasing`` (:func:`_open_shard`).
    """
    import concurrent.futures
    from .kernels import seed_state
    shard = _open_shard(run, k, n, files, vocab, options, cache_dir, chunk_words, phrasing=phrasing)
    model = shard.model
    threads = model.options.threads
    if shard.pool is None:
        shard.pool = concurrent.futures.ThreadPoolExecutor(threads)
    if full is not None:
        model.weights = Weights(*(_aligned_copy(m) for m in full))
        shard.synced = Weights(*(m.copy() for m in model.weights))
    elif shard.version == version - 1 and shard.synced is not None:
        _apply(model.weights, shard.synced, update, shard.pool)
    elif shard.version != version or shard.synced is None:
        return "stale"
    shard.version = version
    texts = []  # the round's ids, to count each word once at the end
    first, last = round_chunks(shard.chunk_starts, begin, end) if shard.chunks else (0, 0)
    words_round = int(shard.chunk_starts[last] - shard.chunk_starts[first]) if shard.chunks else 0
    kernel = kernel_function(model.kernel_name, padded_dim(model.dim))
    settings, tables = model.kernel_settings(threads), model.tables()
    _sync_kernels_ready("worker")
    _kernel_ready(model.options)
    loss = 0.0
    predictions = trained = 0

    def alpha_at(words: int) -> float:
        return alpha_begin + (alpha_end - alpha_begin) * (words / words_round if words_round else 0.0)

    in_flight = []
    for i in range(first, last):
        s_begin, s_end = shard.chunks[i]
        ids, offsets = shard.encoded.chunk(s_begin, s_end)
        texts.append(ids)
        done = int(shard.chunk_starts[i] - shard.chunk_starts[first])
        words = int(shard.chunk_starts[i + 1] - shard.chunk_starts[i])
        args = kernel_args(model.kernel_name, model.weights, tables, ids, offsets, 0, s_end - s_begin, settings,
                           alpha_at(done), alpha_at(done + words), seed_state(model.options.seed, epoch, k, i))
        in_flight.append(shard.pool.submit(kernel, *args))
        while len(in_flight) >= threads:
            chunk_loss, chunk_predictions, chunk_trained = in_flight.pop(0).result()
            loss, predictions, trained = loss + chunk_loss, predictions + chunk_predictions, trained + chunk_trained
    for future in in_flight:
        chunk_loss, chunk_predictions, chunk_trained = future.result()
        loss, predictions, trained = loss + chunk_loss, predictions + chunk_predictions, trained + chunk_trained
    occurrences = np.bincount(np.concatenate(texts) if texts else np.zeros(0, np.int32),
                              minlength=len(model.vocab)).astype(np.int64)
    del texts
    changes = [_round_change(now, before, model.dim, shard.pool) for now, before in zip(model.weights, shard.synced)]
    return changes, occurrences, float(loss), int(predictions), int(trained), words_round


async def _forget(run: str) -> int:
    """Drop a run's shards (runs on every worker at the end, in its event loop: a coroutine, so that
    the client need not wait for the answers)."""
    with _LOCK:
        keys = [key for key in _SHARDS if key[0] == run]
        for key in keys:
            shard = _SHARDS.pop(key)
            if shard.pool is not None:
                shard.pool.shutdown(wait=False)
            shard.encoded.close()
    return len(keys)


# -- the combine rule -------------------------------------------------------------------------------
def expected_updates(model: Model, occurrences: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How many updates one worker is expected to make to each row of each matrix in a round whose
    text held each word ``occurrences[w]`` times (int64[V]): float64 arrays for syn0 [V], syn1neg
    [V or 0] and syn1 [V-1 or 0].

    A kept occurrence (subsampling keeps word ``w`` with probability ``keep[w]``) has on average
    ``window + 1`` context words (the window is shrunk uniformly in [1, window], both sides), so:

    * ``syn0[w]``: ``keep[w] · occurrences[w] · (window + 1)`` (as a context, for skip-gram and CBOW);
    * ``syn1neg[w]``: as a target, ``keep[w] · occurrences[w] · t`` with ``t = window + 1`` for
      skip-gram (one update a pair) and 1 for CBOW (one a centre word); as a negative sample,
      ``negative · noise[w] · Σ_u keep[u] · occurrences[u] · t``;
    * ``syn1[node]`` (hierarchical softmax): ``Σ keep[w] · occurrences[w] · t`` over the words ``w``
      whose Huffman path goes through the node.
    """
    tables, options = model.tables(), model.options
    kept = tables.keep.astype(np.float64) * occurrences
    contexts = options.window + 1.0
    per_target = contexts if options.model == "sg" else 1.0
    syn0 = kept * contexts
    syn1neg = np.zeros(0)
    if options.negative > 0:
        noise = model.vocab.counts.astype(np.float64) ** options.ns_exponent
        noise /= noise.sum()
        syn1neg = (kept + options.negative * noise * kept.sum()) * per_target
    syn1 = np.zeros(0)
    if options.hs:
        lengths = tables.code_lengths
        on_path = np.arange(tables.points.shape[1])[None, :] < lengths[:, None]
        syn1 = np.bincount(tables.points[on_path], weights=np.broadcast_to(kept[:, None], on_path.shape)[on_path],
                           minlength=len(model.vocab) - 1) * per_target
    return syn0, syn1neg, syn1


def contraction(partner: np.ndarray, alpha: float, dim: int, weights: Optional[np.ndarray] = None) -> float:
    """``η``, how far one update pulls a row towards where its updates lead, as a share of the way:
    ``alpha · σ' · E|y|² / dim`` for an update against a partner row ``y`` of ``partner`` (float32[R, P]),
    with ``σ' = 0.2`` (the logistic's slope, 0.25 at 0, less as predictions sharpen) and ``E|y|²`` the
    partner rows' mean squared norm (weighted by ``weights`` when given); one update moves the row along
    one partner direction, so per dimension the pull is ``1/dim`` of it."""
    if not len(partner):
        return 0.0
    step = max(1, len(partner) // 4096)  # a sample of rows is enough for a mean
    rows = partner[::step].astype(np.float64)
    squares = np.einsum("ij,ij->i", rows, rows)
    mean = float(np.average(squares, weights=None if weights is None else weights[::step] + 1e-300))
    return alpha * 0.2 * mean / dim


class _SumOrder:
    """The order the client adds the workers' changes of a round in (:class:`_Combiner`).

    A float sum of three or more terms depends on the order of its terms, so when a run can repeat itself
    bit for bit (``fixed``: one thread a worker) the changes are added in shard order,
    ``((Δ_0 + Δ_1) + Δ_2) + …``: the first two in whichever order they come (``a + b`` is ``b + a``, the
    shares' sums too), every later one once all before it are in. A finished round waits on its worker
    until its turn, so the client still holds one change at a time; the cost is time, when an early
    shard finishes after later ones: their changes are then taken and added one after the other (on two
    workers, none). Otherwise each change is added as it comes."""

    def __init__(self, fixed: bool):
        self.fixed = fixed
        self.done: set = set()
        self.waiting: Dict[int, Any] = {}

    def came(self, k: int, future) -> None:
        """Shard ``k``'s round finished (``future``)."""
        self.waiting[k] = future

    def turns(self):
        """``(shard, future)`` of every finished round whose turn has come, in turn. A shard's turn passes on
        once :meth:`added` says its change is in; a round sent again comes back through :meth:`came`."""
        while self.waiting:
            if self.fixed:
                turn = len(self.done)
                k = next((k for k in ((0, 1) if turn < 2 else (turn,)) if k in self.waiting), None)
                if k is None:
                    return
            else:
                k = next(iter(self.waiting))
            yield k, self.waiting.pop(k)

    def added(self, k: int) -> None:
        self.done.add(k)


def _as_completed(futures: list):
    """Dask's ``as_completed`` of ``futures`` (a name of this module, so that tests can choose the order)."""
    return _dask().as_completed(futures)


class _Combiner:
    """:func:`combine` for one matrix, taking the workers' changes one at a time (so the client holds one change
    at a time, not one per worker; in the order :class:`_SumOrder` gives), then applying the result in place."""

    def __init__(self, matrix: np.ndarray, eta: float, dim: Optional[int] = None,
                 pool: Optional[ThreadPoolExecutor] = None, last: Optional[np.ndarray] = None):
        self.matrix, self.eta, self.pool = matrix, eta, pool  # (pool: threads for the kernels, _in_blocks)
        self.dim = matrix.shape[1] if dim is None else dim
        self.last = last  # int8[rows, dim]: the direction of each row's last combined change (None: none yet)
        self.total = np.zeros(matrix.shape, dtype=np.float32)
        rows = len(matrix)
        self.stay = np.zeros(rows, dtype=np.float64)     # Σ_k log(1 - s_k), the shares from the counts
        self.shares = np.zeros(rows, dtype=np.float64)   # Σ_k s_k
        self.guarded_stay = np.zeros(rows, dtype=np.float64)    # the same with the guard ‖Δ_k‖/‖row‖
        self.guarded_shares = np.zeros(rows, dtype=np.float64)
        self.touched = np.zeros(rows, dtype=np.int32)    # how many workers changed the row
        self.norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix, dtype=np.float64))

    def add(self, change: tuple, updates: np.ndarray) -> None:
        """Take in one worker's change as it crossed the network, ``(rows or None for all, values, scale)``
        (:func:`pack_change`), with its expected updates of each row (float64[rows])."""
        from .kernels import accumulate_unpacked
        rows, values, scale = change
        if not len(self.matrix):
            return
        index = np.arange(len(self.matrix)) if rows is None else rows
        moved = np.empty(len(index), dtype=np.float64)
        _in_blocks(self.pool, len(index), lambda b, e: accumulate_unpacked(self.total, index[b:e], values[b:e],
                                                                           scale[b:e], moved[b:e]))
        self._take_shares(slice(None) if rows is None else rows, moved, updates)

    def add_float32(self, change: Tuple[Optional[np.ndarray], np.ndarray], updates: np.ndarray) -> None:
        """:meth:`add` of a change not packed, ``(rows or None for all, float32 Δ rows)``: :func:`combine`'s."""
        rows, delta = change
        if not len(self.matrix):
            return
        if rows is None:
            self.total += delta
        elif len(rows):
            self.total[rows] += delta
        moved = np.sqrt(np.einsum("ij,ij->i", delta, delta, dtype=np.float64))
        self._take_shares(slice(None) if rows is None else rows, moved, updates)

    def _take_shares(self, index, moved: np.ndarray, updates: np.ndarray) -> None:
        """The shares of a change whose rows ``index`` moved by ``moved`` (float64, their lengths)."""
        counted = np.minimum(-np.expm1(-self.eta * updates), 1.0 - 1e-9)
        guarded = counted.copy()
        guarded[index] = np.minimum(np.maximum(guarded[index], moved / np.maximum(self.norms[index], 1e-30)),
                                    1.0 - 1e-9)
        self.stay += np.log1p(-counted)
        self.shares += counted
        self.guarded_stay += np.log1p(-guarded)
        self.guarded_shares += guarded
        self.touched[index] += moved > 0

    def factor(self) -> np.ndarray:
        """``F`` of every row (float32[V]; 1 where no worker moved it)."""
        from .kernels import reversed_rows
        many = self.touched >= GUARD_WORKERS
        rows = np.flatnonzero(many)
        if len(rows):
            turned = np.zeros(len(rows), dtype=np.bool_)
            if self.last is not None:
                _in_blocks(self.pool, len(rows), lambda b, e: reversed_rows(self.last, self.total, rows[b:e], self.dim,
                                                                             turned[b:e]))
            many[rows] = turned
        stay = np.where(many, self.guarded_stay, self.stay)
        shares = np.where(many, self.guarded_shares, self.shares)
        factor = np.ones(len(self.matrix), dtype=np.float64)
        moved = shares > 1e-12
        factor[moved] = -np.expm1(stay[moved]) / shares[moved]
        return factor.astype(np.float32)

    def delta(self) -> np.ndarray:
        """The combined change, float32[V, P] (the sum of the changes, scaled in place)."""
        self.total *= self.factor()[:, None]
        return self.total

    def apply(self) -> tuple:
        """Add the combined change to the matrix as the workers will (packed, :func:`pack_change`);
        returns it as they take it, (rows or None for all, values, scale): the rows some worker changed."""
        from .kernels import add_unpacked, keep_directions, pack_scaled
        rows, sent = _rows_to_send(np.flatnonzero(self.touched), len(self.matrix))
        values, scale = _packed(len(rows), self.dim)
        factor = self.factor()
        if self.last is not None and sent is not None:
            self.last.fill(0)  # (a row no worker changed this round has no last change)

        def pack_and_add(b: int, e: int) -> None:
            pack_scaled(self.total, factor, rows[b:e], self.dim, values[b:e], scale[b:e])
            add_unpacked(self.matrix, rows[b:e], values[b:e], scale[b:e])
            if self.last is not None:
                keep_directions(self.last, rows[b:e], values[b:e])
        _in_blocks(self.pool, len(rows), pack_and_add)
        return sent, values, scale


def combine(old: np.ndarray, changes: Sequence[Tuple[Optional[np.ndarray], np.ndarray]],
            updates: Sequence[np.ndarray], eta: float, last: Optional[np.ndarray] = None) -> np.ndarray:
    """The combined change of one matrix (float32[rows, P]) whose rows are ``old`` from the workers'
    ``changes`` (rows or None for all, Δ rows) and their expected updates of each row ``updates``
    (float64[rows] each, :func:`expected_updates`), for a pull ``eta`` per update (:func:`contraction`);
    ``last``: the direction of each row's combined change of the round before (int8[rows, P], in steps of
    its largest magnitude, :func:`w2v.kernels.keep_directions`; None: the first round, no row has one).

    Model: each update pulls a row a share of the way towards where its updates lead, so worker ``k``
    moved it a share ``s_k`` of the way, and one machine making all the workers' updates one after
    the other would have moved it ``1 − Π_k (1 − s_k)`` of it. The best estimate of the way is
    ``Σ_k Δ_k / Σ_k s_k``, so the combined change is ``F · Σ_k Δ_k`` with
    ``F = (1 − Π_k (1 − s_k)) / Σ_k s_k``. The share ``s_k`` comes from the counts,
    ``1 − exp(−η n_k)`` for ``n_k`` expected updates. The counts' ``η`` assumes partners in random
    directions and underestimates the pull on the rows every worker updates thousands of times a
    round, so a row that :data:`GUARD_WORKERS` (3) or more workers changed, and whose summed change
    points against its combined change of the round before (a negative dot product with ``last``),
    takes the larger of that and the change's own measure, ``|Δ_k| / |row|`` (at most 1: a row that
    moved as far as its own length was pulled all the way). Only those rows: when the counts call a
    row that ``k`` workers pulled all the way unsaturated, the sum moves it ``x → x + k (t − x)``, past
    its target; for two workers that is the reflection ``2t − x``, which does not grow, for three or
    more the distance to ``t`` grows ``k − 1`` times a sync (four workers with the counts alone
    diverged on words of rank 100–1,000), and the next round's changes point back, against the last
    combined change: there the guard takes over. Where it is not needed the guard costs: short rows
    (rare words, and every row at the start; the output vectors start at zero) move as far as they
    are long after a few updates, and averaging their changes divides what they learn by the number
    of workers; guarding every row cost two workers 0.7 analogy points on wiki8, and on four workers
    guarding only the rows whose change turned back scored higher on every evaluation set than
    guarding every row three or more changed (benchmarks/results/distributed-variants-*.md). So:

    * a row only one worker updated keeps that worker's change whole (``F = 1``);
    * rows with few updates a round (rare and middling words; where three or more workers changed
      them and the change turned back, only while their changes are small against their length) get
      the **sum** of the changes, what one machine would have done (plain averaging would shrink them
      by the number of workers);
    * rows every worker pulled all the way (the most frequent words; where three or more workers
      changed them and the change turned back, also short rows) get the **mean** (plain summing would
      move them the number of workers times too far, and with more than two workers further away at
      every sync, as Spark's Word2Vec does, SPARK-24666).
    """
    combiner = _Combiner(old, eta, last=last)
    for change, u in zip(changes, updates):
        combiner.add_float32(change, u)
    return combiner.delta()


# -- the client ------------------------------------------------------------------------------------
@dataclass
class SyncStats:
    """One sync: seconds from the end of the round's last shard, as the client learns it, to the combined change
    sent (taking in the changes not in yet, the combine, sending), and the bytes each way."""
    seconds: float
    bytes_in: int
    bytes_out: int


class _WorkersLost(Exception):
    """Dask gave up on a round's task: the workers running it kept dying."""


def _nbytes(change) -> int:
    rows, *arrays = change
    return sum(array.nbytes for array in arrays) + (0 if rows is None else rows.nbytes)


class _DistributedRun:
    """One call of :func:`train_model` on a cluster."""

    def __init__(self, cluster: Cluster, model: Model, corpus: Corpus, workers: List[str], *, sync_words: int,
                 cache_dir, progress: bool, say, stop: threading.Event, checkpoint, checkpoint_every, force,
                 round_callback, spools: Optional[_CountSpools] = None, phrasing: Optional[tuple] = None):
        self.client, self.model, self.corpus = cluster.client, model, corpus
        address = getattr(cluster.client.scheduler, "address", None)
        self.at = f" at {address}" if isinstance(address, str) else ""  # (for messages)
        self.spools, self.phrasing = spools, phrasing
        self.workers, self.n = workers, len(workers)
        self.run = _run_key(self.client)
        self.sync_words, self.cache_dir, self.say, self.stop = sync_words, cache_dir, say, stop
        self.progress = progress
        self.checkpoint, self.checkpoint_every, self.force = checkpoint, checkpoint_every, force
        self.round_callback = round_callback
        self.options = asdict(model.options)
        self.syncs: List[SyncStats] = []
        self.version = 0
        self.vocab_copies: Dict[str, Any] = {}
        self.update_copies: Optional[Dict[str, Any]] = None
        # chunks small enough for the warm-up's first rounds
        self.chunk_words = max(1000, min(model.options.chunk_words, sync_words >> WARMUP_STEPS))
        # the combine's kernels, on this machine's CPUs (the workers wait for it): _Combiner, _in_blocks
        self.pool = ThreadPoolExecutor(default_threads(), thread_name_prefix="w2v-combine")
        self._keep_last_changes()

    def _keep_last_changes(self) -> None:
        """The directions of the rows' last combined changes (:class:`_Combiner`'s ``last``) live in the model, so
        that its checkpoints keep them: with three or more workers (:data:`GUARD_WORKERS`) the checkpoint's when
        they fit the weights (a resumed run), else none yet (zeros); with fewer the guard never applies."""
        model, last = self.model, self.model.last_changes
        if self.n < GUARD_WORKERS:
            model.last_changes = None
            return
        shapes = [(rows, model.dim) for rows, _ in model._shapes()]
        if last is None or [a.shape for a in last] != shapes or any(a.dtype != np.int8 for a in last):
            model.last_changes = tuple(np.zeros(shape, dtype=np.int8) for shape in shapes)
        else:
            model.last_changes = tuple(np.array(a) if not a.flags.writeable else a for a in last)

    def _submit(self, function, k: int, *args, **kwargs):
        return self.client.submit(function, *args, workers=[self.workers[k]], allow_other_workers=True,
                                  pure=False, **kwargs)

    def open_shards(self) -> List[np.ndarray]:
        """Have every worker encode its part (from its count's spool, when there is one) and keep it as its
        shard; returns the shards' chunk starts."""
        self.vocab_copies = self._send(self.model.vocab)
        spools = self.spools
        futures = [self._submit(_describe_shard, k, self.run, k, self.n, self.corpus.files, self._vocab_for(k),
                                self.options, self.cache_dir, self.chunk_words,
                                (spools.key, spools.word_ids[k]) if spools is not None else None, self.phrasing)
                   for k in range(self.n)]
        try:
            warming = threading.Thread(target=_sync_kernels_ready, args=("client",), daemon=True)
            warming.start()  # the client waits for the workers here: its sync kernels load meanwhile
            described = _gather(self.client, futures, "encoding the corpus")
            warming.join()
        finally:
            if spools is not None:  # the parts whose shards opened on another worker than counted them
                _drop_spools(self.client, spools.key)
                self.spools = None
        self.shard_starts = [words for words, _ in described]
        self.sentences = sum(s for _, s in described)
        return self.shard_starts

    @property
    def words(self) -> int:
        return sum(int(c[-1]) for c in self.shard_starts)

    def plan(self, epoch: int) -> List[float]:
        """The epoch's rounds (:func:`round_plan`), warming up in a schedule's first epoch."""
        return round_plan(max(int(c[-1]) for c in self.shard_starts), self.sync_words, warmup=epoch == 0)

    def alpha_at(self, done: int) -> float:
        return self.model.position.alpha_at(done, self.model.options.min_alpha_ratio)

    def _round(self, epoch: int, r: int, plan: List[float], bar) -> int:
        """Run round ``r`` of ``plan`` on every shard and combine it into the model; returns its words."""
        p = self.model.position
        begin, end = plan[r], plan[r + 1]
        planned = sum(int(c[b] - c[a]) for c in self.shard_starts for a, b in [round_chunks(c, begin, end)])
        alpha_begin, alpha_end = self.alpha_at(p.words_done), self.alpha_at(p.words_done + planned)
        full = None
        if self.update_copies is None:  # the first round: every worker gets the whole weights
            full = self._send(tuple(self.model.weights))

        def submit(k, full_copies):
            """Shard ``k``'s round, with the whole weights (``full_copies``) or the last sync's rows."""
            update = None if full_copies is not None else self._copy_for(k, self.update_copies)
            if full_copies is None and update is None:  # every copy of the rows was lost: send it all
                full_copies = self._send(tuple(self.model.weights), shard=k)
            return self._submit(_train_round, k, self.run, k, self.n, self.corpus.files, self._vocab_for(k),
                                self.options, self.cache_dir, self.chunk_words, self.version, update,
                                None if full_copies is None else self._copy_for(k, full_copies),
                                epoch, begin, end, alpha_begin, alpha_end, self.phrasing)

        distributed = _dask()
        futures = {submit(k, full): k for k in range(self.n)}
        sent = [0] * self.n
        etas = self._contractions((alpha_begin + alpha_end) / 2)
        lasts = self.model.last_changes or (None,) * len(etas)
        combiners = [_Combiner(matrix, eta, self.model.dim, self.pool, last)
                     for matrix, eta, last in zip(self.model.weights, etas, lasts)]
        last_came, bytes_in = time.perf_counter(), 0

        def take(k: int, future) -> bool:
            """Add shard ``k``'s finished round to the combine; False when it had to be sent again."""
            nonlocal bytes_in
            try:
                result = future.result()
            except distributed.KilledWorker:
                for other in futures:
                    other.cancel()
                raise _WorkersLost(f"Dask workers kept dying while training shard {k} (round {r + 1} of epoch "
                                   f"{epoch + 1}); see the workers' logs (memory limits?)") from None
            except CancelledError:  # its data was lost with a worker (Dask forgets a lost copy's dependents)
                result = "lost"
            except Exception as error:  # noqa: BLE001 - raised by the round on its worker (its memory, its disk)
                for other in futures:
                    other.cancel()
                raise _WorkersLost(f"shard {k}'s round {r + 1} of epoch {epoch + 1} failed on its worker "
                                   f"({type(error).__name__}: {_first_line(error)})") from None
            if isinstance(result, str):  # a worker took the shard over, or its data was lost: send the weights
                sent[k] += 1
                if sent[k] > ROUND_RETRIES:
                    for other in futures:
                        other.cancel()
                    raise _WorkersLost(f"the weights sent for shard {k} were lost {sent[k]} times in round "
                                       f"{r + 1} of epoch {epoch + 1}: workers keep dying (each holds at least "
                                       f"{_worker_bytes(self.model) / 2**30:,.2f} GiB while it trains: within "
                                       f"their memory limits?)")
                again = submit(k, self._send(tuple(self.model.weights), shard=k))
                futures[again] = k
                pending.add(again)
                return False
            changes, occurrences, loss, predictions, trained, words = result
            del result
            for combiner, change, updates in zip(combiners, changes, expected_updates(self.model, occurrences)):
                bytes_in += _nbytes(change)
                combiner.add(change, updates)
            del changes
            p.loss, p.predictions, p.trained, p.words = (p.loss + loss, p.predictions + predictions,
                                                         p.trained + trained, p.words + words)
            if not math.isfinite(loss):
                raise TrainingDiverged(f"training diverged in epoch {epoch + 1} (shard {k}): the loss is "
                                       f"{loss}; lower the learning rate (alpha {p.alpha} now)")
            bar.update(words)
            return True

        order = _SumOrder(fixed=self.options["threads"] == 1)
        pending = _as_completed(list(futures))
        for future in pending:
            last_came = time.perf_counter()  # (the last round's end, as this machine learns it, at the loop's end)
            order.came(futures.pop(future), future)
            for k, finished in order.turns():
                if take(k, finished):
                    order.added(k)
        update = tuple(combiner.apply() for combiner in combiners)
        self.version += 1
        try:
            self.update_copies = self._send(update)
        except OSError:  # the round is in the model: the next round sends the whole weights, or stops there
            self.update_copies = {}
        bytes_out = sum(_nbytes(u) for u in update) * len(self.update_copies)
        self.syncs.append(SyncStats(time.perf_counter() - last_came, bytes_in, bytes_out))
        return planned

    def _send(self, data, shard: Optional[int] = None) -> Dict[str, Any]:
        """A copy of ``data`` on every live worker of the run (:meth:`_live_workers`), by worker address: a
        future (a tuple of futures, one an item, for a tuple). With ``shard``, data for that shard's round
        alone (the whole weights, when its worker lost them): one copy, on its worker if that is still there,
        else on another, from where Dask moves it to the worker that runs the round.

        Not Dask's broadcast (``Client.scatter(broadcast=True)``): its replication waits for ever, and
        every later broadcast with it, when a worker dies while it runs (dask/distributed#5704, #6578).
        Each worker gets its own copy, all sent at once, each in a daemon thread (which cannot keep the
        process alive) waited for at most ``SEND_SECONDS`` (and a second a SEND_BYTES_PER_SECOND); a
        worker that has not taken it by then is skipped, and a round there fetches another worker's
        copy. No copy on any worker, three times: OSError."""
        seconds = SEND_SECONDS + sum(_nbytes(part) if isinstance(part, tuple) else getattr(part, "nbytes", 0)
                                     for part in (data if isinstance(data, tuple) else ())) / SEND_BYTES_PER_SECOND
        failure: BaseException = TimeoutError(f"no answer in {seconds:.0f} s")
        for _ in range(3):
            if self.client.status in ("closing", "closed"):  # (Dask gave up reconnecting to the scheduler)
                raise OSError(f"lost the Dask scheduler{self.at}: Dask could not reconnect to it")
            workers = self._live_workers()
            if shard is not None and workers:
                workers = [self.workers[shard] if self.workers[shard] in workers else workers[0]]
            if not workers:
                failure = OSError("no worker is left")
            boxes = _scatter_each(self.client, data, workers, seconds)
            copies = {worker: box["future"] for worker, box in boxes.items() if "future" in box}
            failure = next((box["error"] for box in boxes.values() if "error" in box), failure)
            if copies:
                return copies
            time.sleep(1.0)
        raise OSError(f"could not send the weights to the Dask workers ({_first_line(failure)})")

    def _live_workers(self) -> List[str]:
        """The workers to send the run's data to: those of the run's start that are still there, or, when none
        is, every worker the scheduler has (the shards moved there). Not a worker that joined since: it holds no
        shard, and one that takes a shard over is sent the whole weights (a round's "stale"), so a copy of every
        sync there would cost the network for nothing (and, were it out of direct reach, each send a wait)."""
        try:
            live = list(self.client.nthreads())
        except Exception:  # noqa: BLE001 - the scheduler is going away: nothing can be sent
            return []
        return [worker for worker in live if worker in self.workers] or live

    def _copy_for(self, k: int, copies: Dict[str, Any]):
        """Shard ``k``'s worker's copy of some data, else another worker's that is still held; None if none is."""
        held = {worker: copy for worker, copy in copies.items()
                if all(future.status == "finished" for future in (copy if isinstance(copy, tuple) else (copy,)))}
        return held.get(self.workers[k], next(iter(held.values()), None))

    def _vocab_for(self, k: int):
        copy = self._copy_for(k, self.vocab_copies)
        if copy is None:
            self.vocab_copies = self._send(self.model.vocab)
            copy = self._copy_for(k, self.vocab_copies)
        return copy

    def _contractions(self, alpha: float) -> Tuple[float, float, float]:
        """:func:`contraction` of each matrix's rows: syn0 rows are updated against output rows (the noise
        distribution's with negative sampling, else inner nodes), output rows against input rows (by frequency)."""
        model = self.model
        w, vocab, dim = model.weights, model.vocab, model.dim
        counts = vocab.counts.astype(np.float64)
        if len(w.syn1neg):
            noise = counts ** model.options.ns_exponent
            inputs = contraction(w.syn1neg, alpha, dim, noise / noise.sum())
        else:
            inputs = contraction(w.syn1, alpha, dim)
        outputs = contraction(w.syn0, alpha, dim, counts / counts.sum())
        return inputs, outputs, outputs

    def train(self) -> TrainResult:
        model, p = self.model, self.model.position
        rounds = len(self.plan(1)) - 1
        resumed = f" from epoch {p.epoch + 1}" if p.epoch or p.chunk else ""
        threads = model.options.threads
        self.say(f"training {model.options.model} {'hs ' if model.options.hs else ''}"
                 f"{f'negative {model.options.negative} ' if model.options.negative else ''}on {self.words:,} words "
                 f"in {_counted(self.n, 'shard')}, vocabulary {len(model.vocab):,}, dim {model.options.dim}, "
                 f"{_counted(p.epochs, 'epoch')}{resumed}, {_counted(threads, 'thread')} a worker, "
                 f"{_counted(rounds, 'sync')} an epoch (the first epoch {len(self.plan(0)) - 1:,})")
        bar = ProgressBar(total=p.total_words, initial=p.words_done, unit="w", unit_scale=True, desc="training",
                          disable=not self.progress, dynamic_ncols=True, smoothing=0.1)
        history: List[EpochStats] = []
        start_all, words_before = time.perf_counter(), p.words_done
        last_checkpoint = time.monotonic()
        try:
            while not p.finished:
                epoch_start = time.perf_counter()
                plan = self.plan(p.epoch)
                rounds = len(plan) - 1
                for r in range(p.chunk, rounds):
                    if self.stop.is_set() or (self.round_callback is not None and self.round_callback(p)):
                        self.save_checkpoint()
                        raise TrainingInterrupted(_stopped(self.checkpoint))
                    tallies = (p.loss, p.predictions, p.trained, p.words)
                    try:
                        p.words_done += self._round(p.epoch, r, plan, bar)
                    except (_WorkersLost, OSError) as lost:  # the model is as the last sync left it: keep that
                        p.loss, p.predictions, p.trained, p.words = tallies
                        self.save_checkpoint()
                        kept = (f"; the checkpoint {self.checkpoint} holds the model up to the last sync (resume "
                                f"with --resume {self.checkpoint})" if self.checkpoint else "; nothing was written")
                        raise OSError(f"{lost}{kept}") from None
                    p.chunk = r + 1
                    bar.set_postfix_str(f"epoch {p.epoch + 1}/{p.epochs} alpha {self.alpha_at(p.words_done):.3g} "
                                        f"loss {p.loss / max(p.predictions, 1):.4f}", refresh=False)
                    if (self.checkpoint_every is not None and r + 1 < rounds
                            and time.monotonic() - last_checkpoint >= self.checkpoint_every):
                        self.save_checkpoint()
                        last_checkpoint = time.monotonic()
                history.append(finish_epoch(model, epoch_start, self.alpha_at(p.words_done)))
                if p.finished:
                    model.last_changes = None  # (a new schedule starts without them, as from the saved model)
                self.save_checkpoint()
                last_checkpoint = time.monotonic()
        except KeyboardInterrupt:
            self.save_checkpoint()
            raise TrainingInterrupted(_stopped(self.checkpoint)) from None
        finally:
            bar.close()
        return TrainResult(model.vectors, history, time.perf_counter() - start_all, 0.0, model.options, model,
                           p.words_done - words_before, self.syncs)

    def save_checkpoint(self) -> None:
        if self.checkpoint:
            self.model.save(self.checkpoint, force=self.force)

    def close(self) -> None:
        """Ask every worker to drop the run's shards, without waiting for the answers: a worker that
        died or is restarting holds nothing, and must not keep the command from ending."""
        self.pool.shutdown(wait=False)
        try:
            self.client.run(_forget, self.run, wait=False)
        except Exception:  # noqa: BLE001 - a dead cluster leaves nothing to clean
            pass


def _stopped(checkpoint: Optional[str]) -> str:
    if checkpoint:
        return (f"training stopped; the checkpoint {checkpoint} holds it up to the last sync "
                f"(resume with --resume {checkpoint} and the same --scheduler workers and --sync-words)")
    return "training interrupted; nothing was written"


# -- the public calls -----------------------------------------------------------------------------------
def _threads_per_worker(cluster: Cluster, workers: List[str]) -> int:
    """For ``threads`` 0: the CPUs of each worker's machine shared among the workers on it (the fewest)."""
    cpus = cluster.client.run(default_threads)
    hosts: Dict[str, List[str]] = {}
    for worker in workers:
        hosts.setdefault(worker.rsplit(":", 1)[0], []).append(worker)
    return max(1, min(cpus[w] // len(on_host) for on_host in hosts.values() for w in on_host))


def _memory_limits(cluster: Cluster, workers: List[str]) -> Dict[str, int]:
    """Each of ``workers``' Dask memory limit in bytes (0: none), as the scheduler knows it."""
    info = _scheduler_workers(cluster.client)
    return {worker: int(info[worker].get("memory_limit") or 0) for worker in workers if worker in info}


def _worker_bytes(model: Model) -> int:
    """What a worker holds at least while it trains ``model``: three copies of the weights in its first round
    (the whole weights it was sent, which Dask keeps until the round ends, its own and the sync's,
    :func:`_train_round`) besides its process (:data:`LOCAL_WORKER_BYTES`); its shard comes on top. Measured on
    wiki8, dim 300 (weights 165 MB): a worker's peak RSS 757-774 MiB (``VmHWM``), 160-175 MiB above this (600 MiB)."""
    return 3 * sum(4 * rows * columns for rows, columns in model._shapes()) + LOCAL_WORKER_BYTES


def _check_worker_memory(cluster: Cluster, workers: List[str], model: Model) -> None:
    """Before the shards open: a worker whose Dask memory limit cannot hold :func:`_worker_bytes` is restarted
    by its nanny once it passes its share ``distributed.worker.memory.terminate`` (95%) of it, its round sent
    again until the run stops ("workers keep dying"); ValueError now instead, naming the worker and what to
    change. Limits of 0 (none) pass."""
    import dask
    terminate = dask.config.get("distributed.worker.memory.terminate", 0.95)
    if not terminate:
        return
    need = _worker_bytes(model)
    for worker, limit in sorted(_memory_limits(cluster, workers).items()):
        if limit and need > terminate * limit:
            raise ValueError(
                f"worker {worker} may use {limit / 2**30:,.2f} GiB (its Dask memory limit; its nanny restarts it "
                f"at {terminate:.0%}), and training {len(model.vocab):,} words × {model.dim} dimensions holds at "
                f"least {need / 2**30:,.2f} GiB on every worker (three copies of the weights in the first round); "
                f"give fewer words (--max-vocab, --min-count), a smaller --dim, fewer local workers, or workers "
                f"with more memory (dask worker --memory-limit)")


@dataclass
class _CountSpools:
    """What the workers spooled as they counted (:func:`_count_part`): the count's ``key``, and for each part
    int32[its entries] the word id of each (-1: not a word), or None for a part whose count pruned."""
    key: str
    word_ids: List[Optional[np.ndarray]]


def _count_on(cluster: Cluster, workers: List[str], corpus: Corpus, options: TrainOptions, say,
              cache_dir: Optional[str] = None, into: Optional[Model] = None,
              phrasing: Optional[tuple] = None) -> Tuple[Vocabulary, Optional[_CountSpools]]:
    """The vocabulary, counted part by part on the workers and merged here (module docstring, step 2);
    each part and the merge hold at most ``options.count_limit`` distinct tokens. The workers spool their
    parts' entries as they count (in ``cache_dir``, or their temporary folder), and the answer says each
    part's entries' word ids, so that they encode without reading the text again; None when the merge
    pruned (the spools are then dropped and the workers read their parts again). ``into``: a model whose
    vocabulary the count's words are merged into (``--update-vocab``, :meth:`w2v.model.Model.update_vocabulary`),
    the entries' ids looked up in the merged vocabulary (:func:`w2v.scan.entry_ids`), which is the answer.
    ``phrasing``: the run's phrases, joined as the workers read their parts (:func:`_read_part`)."""
    from . import scan
    from .vocab import vocabulary_and_entry_ids, vocabulary_from_count
    client, n = cluster.client, len(workers)
    prune_at = options.count_limit
    key = _run_key(client)
    futures = [client.submit(_count_part, corpus.files, options.lowercase, k, n, prune_at, options.threads,
                             asdict(options), (key, cache_dir), phrasing, workers=[workers[k]],
                             allow_other_workers=True, pure=False)
               for k in range(n)]
    try:
        # the merge's and the vocabulary's kernels load here while the workers count (a first run compiles
        # them, ~5 s, which the merge waited for after the workers' counts)
        scan.prepare("merge")
        scan.prepare("vocabulary")
        if into is not None:
            scan.prepare("lookup")
        pruned_parts: List[bool] = []

        def parts():  # (each part's count merged before the next is fetched)
            for part in _each_gathered(client, futures, "counting the vocabulary"):
                pruned_parts.append(part[2] > 0)
                yield part
        counted, wheres = scan.merge_mapped(parts(), prune_at)
        source = ", ".join(corpus.files)
        if into is not None:  # the new words merged into the model's, whose rows do not follow this count
            new_words, summary = vocabulary_from_count(counted, options.min_count, options.max_vocab, source,
                                                       threads=options.threads)
            into.update_vocabulary(new_words)
            vocab = into.vocab
            word_ids = None if wheres is None else scan.entry_ids(counted, vocab.words)
        elif wheres is None:
            (vocab, summary), word_ids = vocabulary_from_count(counted, options.min_count, options.max_vocab,
                                                               source), None
        else:
            vocab, summary, word_ids = vocabulary_and_entry_ids(counted, options.min_count, options.max_vocab, source,
                                                                threads=options.threads)
        if word_ids is None:
            spools = None
            _drop_spools(client, key)
        else:
            spools = _CountSpools(key, [None if pruned else word_ids[where]
                                        for where, pruned in zip(wheres, pruned_parts)])
    except BaseException:
        _drop_spools(client, key)
        raise
    say_count_notes(summary, say)
    return vocab, spools


def _cluster_for(scheduler: Optional[str], cluster: Optional[Cluster]) -> Tuple[Cluster, bool]:
    if cluster is not None:
        return cluster, False
    if not scheduler:
        raise ValueError("distributed training needs a scheduler address (tcp://HOST:PORT) or local:N")
    return connect(scheduler), True


def _corpus(corpus_paths, lowercase: bool, progress: bool) -> Corpus:
    corpus = Corpus([corpus_paths] if isinstance(corpus_paths, str) else list(corpus_paths), lowercase=lowercase,
                    progress=progress)
    if corpus.read_once:
        raise ValueError(f"distributed training reads the corpus on the workers, so it cannot read "
                         f"{corpus.read_once}; save it to a file every worker can read")
    return corpus


def train(corpus_paths: Sequence[str], options: Optional[TrainOptions] = None, *, scheduler: Optional[str] = None,
          cluster: Optional[Cluster] = None, sync_words: Optional[int] = None, progress: bool = False,
          log: Optional[Callable[[str], None]] = None, vocab: Optional[Vocabulary] = None,
          save_vocab: Optional[str] = None, cache_dir: Optional[str] = None, reserve=None, force: bool = False,
          checkpoint: Optional[str] = None, checkpoint_every: Optional[float] = None,
          stop_event: Optional[threading.Event] = None, round_callback=None, phrases: int = 0,
          phrase_thresholds: Sequence[float] = (100.0,), phrase_table: Optional[str] = None, keep_words: bool = False,
          init_vectors: Optional[str] = None, **option_values) -> TrainResult:
    """Train word vectors on a Dask cluster: :func:`w2v.training.train`'s arguments, plus ``scheduler``
    (``tcp://HOST:PORT`` or ``local:N``) or an open ``cluster`` (:func:`connect`), and ``sync_words``,
    the words each worker trains between syncs (None: :func:`default_sync_words`). ``options.threads`` are
    threads per worker (0: the CPUs of each worker's machine shared among its workers). ``round_callback(position)``
    runs before each round and may return True to stop as ``stop_event`` does. The result's ``syncs`` lists
    each sync's :class:`SyncStats`. Phrases (``phrases`` passes, or a ``phrase_table``, and ``keep_words``,
    as :func:`w2v.training.train`'s) are counted by the workers and joined as they read their parts
    (:func:`_phrases_on`). ``init_vectors``: as :func:`w2v.training.train`'s, read on this machine (the
    model starts here and its weights go to the workers)."""
    if options is None:
        options = TrainOptions(**option_values)
    elif option_values:
        raise ValueError("give options either as TrainOptions or as keywords, not both")
    options.validate()
    sync_words = checked_sync_words(sync_words)
    say = log or (lambda message: None)
    if init_vectors is not None:
        check_start_vectors(init_vectors, options.dim)
    corpus = _corpus(corpus_paths, options.lowercase, progress)
    cluster, owned = _cluster_for(scheduler, cluster)
    try:
        workers = _workers_ready(cluster, corpus.files, say)
        if not options.threads:
            import dataclasses
            options = dataclasses.replace(options, threads=_threads_per_worker(cluster, workers))
        options = options.resolved()
        phrasing = settings = None
        if phrases or phrase_table:
            from .phrases import phrase_settings
            settings = phrase_settings(phrases, tuple(phrase_thresholds), options.min_count, table=phrase_table,
                                       keep_words=keep_words)
            phrasing = _phrases_on(cluster, workers, corpus, settings, options.threads, say)
        elif keep_words:
            raise ValueError("keep_words goes with phrases or phrase_table")
        spools = None
        if vocab is None:
            say(f"counting the vocabulary on {_counted(len(workers), 'worker')}...")
            vocab, spools = _count_on(cluster, workers, corpus, options, say, cache_dir, phrasing=phrasing)
        try:
            model = Model.new(vocab, options)
            check_words(vocab.words)
            if init_vectors is not None:
                start_from_file(model, init_vectors, say)
        except BaseException:
            if spools is not None:
                _drop_spools(cluster.client, spools.key)
            raise
        return _train_on(cluster, workers, model, corpus, resuming=False, epochs=options.epochs,
                         alpha=options.alpha, sync_words=sync_words or default_sync_words(len(workers)),
                         cache_dir=cache_dir, progress=progress, say=say, stop_event=stop_event,
                         checkpoint=checkpoint, checkpoint_every=checkpoint_every, force=force,
                         round_callback=round_callback, allow_other_corpus=False, spools=spools, reserve=reserve,
                         save_vocab=save_vocab, phrasing=phrasing, phrase_settings=settings)
    finally:
        if owned:
            cluster.close()


def _phrases_on(cluster: Cluster, workers: List[str], corpus: Corpus, settings: Dict[str, Any], threads: int,
                say) -> tuple:
    """What the workers join as they read their parts (:func:`w2v.phrases.joined_tokens`'s answer) for the
    phrase ``settings`` (:func:`w2v.phrases.phrase_settings`). A saved table is read here. Counted passes are
    counted on the workers as one machine counts them (:func:`w2v.phrases.count_phrases`), each on the text
    the passes before it join: the parts' tokens (:func:`_count_part`) merged here, then the pairs that may
    join, counted by the workers with that merged token table (:func:`_count_pairs_part`) and merged here,
    each held to the same number of entries as one machine holds (40 million)."""
    from . import scan
    from .phrases import (frequent_tokens, joined_pairs, joined_tokens, merge_pairs, pair_settings, pass_thresholds,
                          phrase_counts, phrased)
    if settings.get("table"):
        return joined_tokens(phrased(corpus, threads=threads, **settings))
    client, n, prune_at = cluster.client, len(workers), 40_000_000
    min_count, scoring = settings["min_count"], settings["scoring"]
    thresholds = pass_thresholds(settings["passes"], settings["thresholds"])
    joins: List[bytes] = []
    for number, threshold in enumerate(thresholds, 1):
        say(f"counting phrases on {_counted(n, 'worker')} (pass {number} of {len(thresholds)})...")
        before = _shared(client, (list(joins), settings["delimiter"], False)) if joins else None
        words = scan.merge(_each_gathered(client, [
            client.submit(_count_part, corpus.files, corpus.lowercase, k, n, prune_at, threads, None, None, before,
                          workers=[workers[k]], allow_other_workers=True, pure=False) for k in range(n)],
                                          "counting phrases"), prune_at)
        words = frequent_tokens(words, min_count)  # (the token table each worker gets)
        at_least, (table, *counting) = pair_settings(words, min_count, threshold, scoring)
        table = _shared(client, table)
        pairs = merge_pairs(_each_gathered(client, [
            client.submit(_count_pairs_part, corpus.files, corpus.lowercase, k, n, prune_at, threads, before,
                          (table, *counting), workers=[workers[k]], allow_other_workers=True, pure=False)
            for k in range(n)], "counting phrases"), prune_at)
        del table, before
        joins.append(joined_pairs(phrase_counts(words, pairs, min_count, at_least), min_count, threshold, scoring))
        joining = joins[-1].count(b"\n")  # (a line a pair)
        say(f"phrases: {joining:,} pairs join in pass {number}")
    return joins, settings["delimiter"], bool(settings.get("keep_words"))


def train_model(model: Model, corpus_paths, *, scheduler: Optional[str] = None, cluster: Optional[Cluster] = None,
                sync_words: Optional[int] = None, epochs: Optional[int] = None, alpha: Optional[float] = None,
                progress: bool = False, log=None, stop_event=None, checkpoint=None, checkpoint_every=None,
                force: bool = False, cache_dir=None, allow_other_corpus: bool = False,
                round_callback=None, threads: Optional[int] = None, update_vocab: bool = False,
                reserve=None, save_vocab: Optional[str] = None,
                phrases: Optional[Dict[str, Any]] = None) -> TrainResult:
    """:func:`w2v.training.train_model` on a cluster: go on with a stopped run (``epochs`` and ``alpha``
    None; the same number of workers and ``sync_words`` when it stopped between syncs), or train a
    model further with a new schedule. ``sync_words`` None: the checkpoint's, else the default.
    ``update_vocab``: first add the corpus's words to the model's vocabulary, counted on the workers as a
    new run's are, each worker's spool of its part then mapped to the merged vocabulary (no second reading).
    ``reserve`` and ``save_vocab`` as :func:`train`'s, once the vocabulary is known. ``phrases``: phrase
    settings (:func:`w2v.phrases.phrase_settings`) to read the corpus through, counted on the workers
    (:func:`_phrases_on`); a schedule that went on phrased text (its position records the phrase settings)
    goes on through the same phrases, counted again, as :func:`w2v.training.train_model` does."""
    sync_words = checked_sync_words(sync_words)
    p = model.position
    resuming = p.started and not p.finished and epochs is None and alpha is None
    before = p.corpus if resuming else {}
    say = log or (lambda message: None)
    corpus = _corpus(corpus_paths, model.options.lowercase, progress)
    settings = phrases or before.get("phrases")
    cluster, owned = _cluster_for(scheduler, cluster)
    try:
        workers = _workers_ready(cluster, corpus.files, say)
        sync_words = sync_words or before.get("sync_words") or default_sync_words(len(workers))
        if threads is not None:
            import dataclasses
            model.options = dataclasses.replace(model.options, threads=threads or _threads_per_worker(cluster, workers))
        if resuming and p.chunk and (before.get("shards"), before.get("sync_words")) != (len(workers), sync_words):
            if before.get("shards"):
                why = (f"it stopped between syncs of {before['shards']} shards synced every "
                       f"{before['sync_words']:,} words; resume with {before['shards']} workers and "
                       f"--sync-words {before['sync_words']}")
            else:
                why = "it stopped in the middle of an epoch of a single-machine run; resume it without --scheduler"
            raise ValueError(f"this checkpoint cannot be resumed on {_counted(len(workers), 'worker')}: {why}")
        phrasing = _phrases_on(cluster, workers, corpus, settings, model.options.threads, say) if settings else None
        spools = None
        if update_vocab:
            if resuming:
                raise ValueError("update_vocab starts a new schedule: give epochs or alpha")
            model.check_vocabulary_update()
            known = len(model.vocab)
            say(f"counting the new words on {_counted(len(workers), 'worker')}...")
            _, spools = _count_on(cluster, workers, corpus, model.options, say, cache_dir, into=model,
                                  phrasing=phrasing)
            say(f"vocabulary: {len(model.vocab) - known:,} new words, {len(model.vocab):,} in all")
        return _train_on(cluster, workers, model, corpus, resuming=resuming, epochs=epochs or model.options.epochs,
                         alpha=alpha if alpha is not None else model.options.alpha, sync_words=sync_words,
                         cache_dir=cache_dir, progress=progress, say=say, stop_event=stop_event,
                         checkpoint=checkpoint, checkpoint_every=checkpoint_every, force=force,
                         round_callback=round_callback, allow_other_corpus=allow_other_corpus, spools=spools,
                         reserve=reserve, save_vocab=save_vocab, phrasing=phrasing, phrase_settings=settings)
    finally:
        if owned:
            cluster.close()


def _train_on(cluster: Cluster, workers: List[str], model: Model, corpus: Corpus, *, resuming: bool, epochs: int,
              alpha: float, sync_words: int, cache_dir, progress, say, stop_event, checkpoint, checkpoint_every,
              force, round_callback, allow_other_corpus: bool,
              spools: Optional[_CountSpools] = None, reserve=None, save_vocab: Optional[str] = None,
              phrasing: Optional[tuple] = None, phrase_settings: Optional[Dict[str, Any]] = None) -> TrainResult:
    """Check the free space for ``reserve(model.vocab)`` and the workers' memory (:func:`_check_worker_memory`),
    save the vocabulary (``save_vocab``), open the shards
    (from the workers' ``spools`` of their counts, when given; those not taken are dropped however this ends;
    read through the run's ``phrasing``, whose ``phrase_settings`` the checkpoints record) and train."""
    try:
        check_free_space(list(reserve(model.vocab)) if reserve is not None else [])
        _check_worker_memory(cluster, workers, model)
        if save_vocab:
            model.vocab.save(save_vocab, force=force)
        run = _DistributedRun(cluster, model, corpus, workers, sync_words=sync_words, cache_dir=cache_dir,
                              progress=progress, say=say, stop=stop_event or threading.Event(), checkpoint=checkpoint,
                              checkpoint_every=checkpoint_every, force=force, round_callback=round_callback,
                              spools=spools, phrasing=phrasing)
        try:
            say(f"encoding the corpus on {_counted(len(workers), 'worker')}...")
            # the fingerprint reads every file here (the workers read their parts), beside the workers' encoding,
            # not after it: ~6 µs a file on a local disk, a network round trip or two a file on a shared one
            with ThreadPoolExecutor(1, thread_name_prefix="w2v-fingerprint") as beside:
                fingerprint = beside.submit(corpus.fingerprint)
                run.open_shards()
                files = fingerprint.result()
            if run.words == 0:
                raise ValueError("no word of the corpus is in the vocabulary: nothing to train on")
            description = {"words": run.words, "sentences": run.sentences, "files": files,
                           "shards": len(workers), "sync_words": sync_words}
            if phrase_settings:  # what a resumed run reads the corpus through
                description["phrases"] = phrase_settings
            p = model.position
            if resuming:
                expected = p.corpus
                if not allow_other_corpus and expected and (expected.get("words") != run.words or (
                        expected.get("files") and description["files"] != expected["files"])):
                    raise ValueError(f"this is not the corpus the checkpoint was trained on (it has {run.words:,} "
                                     f"words, the checkpoint's had {expected.get('words', 0):,}); resume on the same "
                                     f"corpus, or pass --allow-other-corpus (allow_other_corpus=True) to go on with "
                                     f"this one")
                p.corpus = description
                p.total_words = run.words * p.epochs
            else:
                p.start(description, epochs, alpha)
            model.initialize()
            model.writable()
            return run.train()
        finally:
            run.close()
    finally:
        if spools is not None:  # (those the shards did not take: none once they opened)
            _drop_spools(cluster.client, spools.key)
