"""The training kernel (and the kernels a count needs after it) made ready before the corpus is read: loaded
from Numba's cache, or, when it is not there, compiled in a second process while this one reads the corpus.

A first ``w2v train`` (a new install, or a new version of :mod:`w2v.kernels`) compiled the counting kernels
and then the training kernel, one after the other: Numba compiles one function at a time in a process
(under one lock, mostly holding the GIL), and each set takes about as long as the other
(benchmarks/README.md, "First run"). The training kernel depends on the options only (the model,
hierarchical softmax or negative sampling, the row length) and on the types of its arguments, never on the
corpus, so :func:`start` tries to load it before the corpus is read, on stand-in arguments of those types
(:func:`stand_in`). When it is not in the cache (found without compiling it: :func:`load_cached`), a helper
process (:func:`main`) compiles it into the cache, after the kernels that make the tables (the noise's alias
table, the Huffman tree), while this process compiles the kernels that read the corpus (counting, or encoding
with a vocabulary given) and reads it, and training loads it from there once the helper is done
(:meth:`Helper.wait`). A model trained further on text (``--init``, ``--resume``,
:meth:`w2v.model.Model.train`) does the same while the text is encoded (with ``--update-vocab``, from the
count of its new words on), and so does a Dask worker from its first task, counting or encoding
(:func:`w2v.distributed._start_kernel`). It is the same kernel: the helper builds the same stand-ins and
calls the same compile path (the kernels' LLVM options included) with this process's CPU name and
features, which Numba keys its cache by.

The commands that count without training do the same for the kernels they compile after counting:
``w2v vocab`` the vocabulary's (4-5 s on a first run) and ``w2v phrases`` the pairs' (5-6 s), which
a helper compiles (:func:`passes_aside`, ``python -m w2v.precompile '["vocabulary"]' TARGET``) while this
process compiles the counting kernels and counts; :func:`w2v.scan.prepare` then waits for it and loads them.

No helper is started with one thread (the user's share of the machine), when the kernels are not cached
(:data:`w2v.kernels.CACHED`: the helper's work would be lost), or when the process could not be started.
If the helper fails, or this process does not find its kernel in the cache afterwards, training compiles
the kernel itself, as without a helper. The helper ends when this process does, however it ends: it reads
its standard input, a pipe only this process holds, and exits when that pipe closes.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from typing import Callable, Iterator, Optional, Sequence, Tuple

import numpy as np

from .model import Model, kernel_args, kernel_function, padded_dim
from .options import TrainOptions
from .vocab import Vocabulary

__all__ = ["Helper", "start", "passes_aside", "stand_in", "stand_in_args", "load_cached"]

#: Seconds to wait for a helper before compiling in this process instead (the kernel compiles in 10-30 s).
HELPER_TIMEOUT = 900.0


#: The vocabulary of the stand-in model (two words at least, for hierarchical softmax).
_STAND_IN_WORDS = Vocabulary(["a", "b", "c"], [3, 2, 1], 6, distinct=True)


class _NotCached(Exception):
    """Raised to end a compile before it starts (:func:`load_cached`)."""


def stand_in(options: TrainOptions) -> Tuple[object, tuple]:
    """The training kernel of ``options`` (resolved) and :func:`stand_in_args` for it."""
    return kernel_function(options.kernel_name, padded_dim(options.dim)), stand_in_args(options)


def stand_in_args(options: TrainOptions) -> tuple:
    """Arguments of the types training calls the kernel of ``options`` (resolved) with: the stand-in
    weights and tables of a model of three words (:meth:`w2v.model.Model.stand_in_weights`,
    :meth:`~w2v.model.Model.stand_in_tables`: nothing compiled is run to make them, so a helper starts at
    once) and no text. Only the types matter to Numba."""
    from . import kernels
    model = Model.new(_STAND_IN_WORDS, options)
    return kernel_args(model.kernel_name, model.stand_in_weights(), model.stand_in_tables(), np.zeros(0, np.int32),
                       np.zeros(1, np.int64), 0, 0, model.kernel_settings(options.threads), 0.0, 0.0,
                       kernels.seed_state(0))


def load_cached(kernel, args: tuple) -> bool:
    """Load ``kernel`` for ``args``' types from Numba's cache, or find that it is not there without compiling
    it. Returns whether it is ready (loaded now, or before). Other dispatchers, compiled meanwhile by other
    threads of the process, are left alone."""
    return _ready_without_compiling(lambda: kernel(*args),
                                    lambda started: (started.data or {}).get("dispatcher") is kernel)


def _ready_without_compiling(load: Callable[[], object], stops: Callable[[object], bool]) -> bool:
    """Run ``load`` (calls of kernels), ending it at the first compile that ``stops(event)`` picks: Numba's
    ``numba:compile`` event comes after a cache miss, before compiling, so raising there ends that compile (a
    load from the cache goes on). Returns whether ``load`` ran to its end, every kernel it called ready."""
    from numba.core import event

    class StopCompiling(event.Listener):
        def on_start(self, started) -> None:
            if stops(started):
                raise _NotCached()

        def on_end(self, ended) -> None:
            pass

    try:
        with event.install_listener("numba:compile", StopCompiling()):
            load()
    except _NotCached:
        return False
    return True


class Helper:
    """A helper process compiling the training kernel into Numba's cache (:func:`start`)."""

    def __init__(self, process: subprocess.Popen, errors):
        self.process, self.errors, self.closed = process, errors, False

    def wait(self) -> Tuple[Optional[float], str, float]:
        """Wait for the helper: (its seconds compiling, or None when it did not compile the kernel; then the
        last line it wrote to standard error; the seconds waited here). A helper that fails or is not done
        within :data:`HELPER_TIMEOUT` is stopped; training then compiles the kernel itself."""
        waited = time.perf_counter()
        seconds, problem = None, ""
        try:
            self.process.wait(timeout=HELPER_TIMEOUT)  # (not communicate: its stdin must stay open, see main)
            if self.process.returncode == 0:
                seconds = float(json.loads(self.process.stdout.read().strip().splitlines()[-1])["seconds"])
            else:
                self.errors.seek(0)
                lines = self.errors.read().decode("utf-8", "replace").strip().splitlines()
                problem = lines[-1] if lines else f"exit code {self.process.returncode}"
        except subprocess.TimeoutExpired:
            problem = f"not done in {HELPER_TIMEOUT:.0f} s"
        except (ValueError, IndexError, KeyError, TypeError):
            problem = "no answer"
        finally:
            self.close()
        return seconds, problem, time.perf_counter() - waited

    def close(self) -> None:
        """Stop the helper if it still runs, and let go of its pipes and error file (once)."""
        if self.closed:
            return
        self.closed = True
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdin.close()
        self.process.stdout.close()
        self.errors.close()


def start(options: TrainOptions, say=None) -> Tuple[Optional[Helper], float]:
    """Make the training kernel of ``options`` (resolved) ready before the corpus is read (module
    docstring): (the helper compiling it, or None when it is loaded or no helper could be started; the
    seconds this took here)."""
    from . import kernels
    begun = time.perf_counter()
    kernel, args = stand_in(options)
    if load_cached(kernel, args):
        return None, time.perf_counter() - begun
    if options.threads < 2 or not kernels.CACHED:
        return None, time.perf_counter() - begun
    helper = _start_helper(json.dumps(asdict(options)))
    if helper is not None and say is not None:
        say("compiling the training kernel in a second process while the corpus is read (a first run only)...")
    return helper, time.perf_counter() - begun


def _passes_loaded(names: Sequence[str]) -> bool:
    """Load the kernels of the passes ``names`` from Numba's cache (:func:`w2v.scan.prepare`), or find one
    that is not there without compiling it (:func:`_ready_without_compiling`; this thread's compiles only)."""
    from . import scan
    this_thread = threading.get_ident()

    def load() -> None:
        for name in names:
            scan.prepare(name)

    return _ready_without_compiling(load, lambda started: threading.get_ident() == this_thread)


@contextlib.contextmanager
def passes_aside(names: Sequence[str], threads: int, say=None) -> Iterator[None]:
    """Within the block, the kernels of the passes ``names`` (:data:`w2v.scan.PASSES`) are loaded from the
    cache at once, or, when one is not there, compiled by a helper process that :func:`w2v.scan.prepare`
    waits for (module docstring). No helper with one thread. It is stopped when the block ends."""
    from . import kernels, scan
    scan.check_passes(names)
    helper = None
    if threads >= 2 and kernels.CACHED and not _passes_loaded(names):
        helper = _start_helper(json.dumps(list(names)))
    if helper is None:
        yield
        return
    if say is not None:
        say(f"compiling the {' and '.join(names)} kernels in a second process while the corpus is counted "
            f"(a first run only)...")
    waited = []

    def wait() -> None:
        if not waited:  # one helper for all the passes: waited for once
            waited.append(helper.wait())
            problem = waited[0][1]
            if problem and say is not None:
                say(f"note: the helper process did not compile the {' and '.join(names)} kernels ({problem}); "
                    f"compiling them here")

    for name in names:
        scan._aside[name] = wait
    try:
        yield
    finally:
        for name in names:
            scan._aside.pop(name, None)
        helper.close()


def _start_helper(job: str) -> Optional[Helper]:
    """A helper process (:func:`main`) for ``job`` (JSON), or None when it could not be started."""
    from numba.core import config
    from numba.core.codegen import get_host_cpu_features
    target = {"cpu_name": config.CPU_NAME, "cpu_features": config.CPU_FEATURES or get_host_cpu_features()}
    # the helper must import this very w2v (Numba keys its cache by the source file): run in the folder that
    # holds it, which ``-m`` puts first on the helper's path (a checkout's w2v in the working folder would
    # otherwise win over the installed one this process runs)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    errors = tempfile.TemporaryFile()
    try:
        process = subprocess.Popen([sys.executable, "-m", "w2v.precompile", job, json.dumps(target)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, cwd=package_root,
                                   text=True)
    except OSError:
        errors.close()
        return None
    return Helper(process, errors)


def _exit_when_parent_goes() -> None:
    """The helper's watch: its standard input is a pipe its parent holds; when it closes, the parent is gone."""
    try:  # (os.read, not sys.stdin's buffered reader: a daemon thread holding its lock at exit is fatal)
        while os.read(0, 1 << 12):
            pass
    finally:
        os._exit(1)


def _compile(job) -> None:
    """The helper's work (:func:`main`): the kernels of the passes ``job`` (a list), or for training options
    first the kernels that make the tables (the noise's alias table, and with hierarchical softmax the Huffman
    tree: this process's parent makes them after counting, by when they are in the cache), then the training
    kernel."""
    from . import scan
    if isinstance(job, list):
        for name in job:
            scan.prepare(name)
        return
    Model.new(_STAND_IN_WORDS, job).tables()
    kernel, args = stand_in(job)
    kernel(*args)


def main(argv) -> None:
    """The helper: ``python -m w2v.precompile JOB TARGET`` (JSON: :class:`w2v.options.TrainOptions`' fields,
    or a list of :data:`w2v.scan.PASSES`; the parent's Numba CPU name and features) compiles the options'
    training kernel, or the passes' kernels, into Numba's cache, prints ``{"seconds": ...}`` and ends the
    process (exit status 0)."""
    from . import scan
    try:
        if len(argv) != 2:
            raise ValueError(f"two arguments expected, got {len(argv)}")
        job, target = json.loads(argv[0]), json.loads(argv[1])
        if isinstance(job, list):
            if not job or not all(isinstance(name, str) and name in scan.PASSES for name in job):
                raise ValueError(f"the passes are {', '.join(scan.PASSES)}, got {argv[0]}")
        else:
            job = TrainOptions(**job).resolved()
        cpu_name, cpu_features = target["cpu_name"], target["cpu_features"]
    except (ValueError, TypeError, KeyError) as error:  # run by hand: one line, not a traceback
        sys.exit(f"python -m w2v.precompile: {error} (this is w2v's helper: JOB and TARGET as JSON)")
    threading.Thread(target=_exit_when_parent_goes, daemon=True).start()
    from numba.core import config
    config.CPU_NAME, config.CPU_FEATURES = cpu_name, cpu_features  # before w2v.kernels
    begun = time.perf_counter()
    _compile(job)
    print(json.dumps({"seconds": time.perf_counter() - begun}), flush=True)
    # the kernel is in the cache (Numba has written and closed its files) and the answer is out: end here,
    # without the interpreter's last garbage collection over the compiler's objects (a second or more)
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
