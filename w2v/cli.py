"""The ``w2v`` command line: train, vocab, phrases, convert, classes, similar, analogy, query, evaluate, plot.

Library errors (``ValueError``, ``OSError``, a missing word) become one-line
click errors with exit status 1; bad options exit 2; Ctrl-C exits 130, and
SIGTERM 143 and SIGHUP 129 (what ``timeout``, Slurm and ``docker stop`` send)
are handled alike: temporary files are removed and nothing half-written is
left. No command prints a traceback for a user's mistake.

Every command that writes plans its outputs first (:mod:`w2v.files`): an
output that is an input, a special file or a read-only file (without
``--force``) is refused before anything is read.
"""
from __future__ import annotations

import gc
import math
import os
import signal
import sys
import threading


def _exit_quietly(signum, frame):
    # os._exit, not sys.exit: Python runs a signal handler between any two bytecodes, also inside a finalizer
    # or a callback where a SystemExit would only be printed ("Exception ignored in ...") and loading would go
    # on; while the modules load nothing has been written that would need flushing or removing
    os._exit(128 + signum)


def _leftover_package_message(paths) -> str:
    """The one line for a ``w2v`` that Python imported as a namespace package: a folder named w2v without
    its ``__init__.py`` came first on the path. ``pip uninstall w2v`` leaves one in site-packages, holding
    the compiled kernels Numba cached there, which pip did not install (numba/numba#9312); a later
    editable install (``pip install -e .``) then finds the submodules but not the package's own code."""
    folders = [str(path) for path in paths if not os.path.exists(os.path.join(str(path), "__init__.py"))]
    return (f"w2v: cannot start: Python took the folder {', '.join(folders)} for the w2v package, but it holds "
            f"no w2v code, only files left there (`pip uninstall w2v` leaves Numba's cached kernels behind); "
            f"delete that folder and run the command again")


# Ctrl-C while the command is still loading its modules (NumPy, click: a tenth of a second) exits 130
# without a traceback; the handler that was there is put back once they are loaded.
_before_loading = signal.getsignal(signal.SIGINT)
_main_thread = threading.current_thread() is threading.main_thread()
if _main_thread and _before_loading is signal.default_int_handler:
    signal.signal(signal.SIGINT, _exit_quietly)
try:
    import contextlib
    import json
    import time
    from typing import List, Optional, Sequence

    import click

    import w2v
    if getattr(w2v, "__file__", None) is None:
        sys.exit(_leftover_package_message(w2v.__path__))
    from w2v.files import Output, check_outputs, plan_output, temporary_file
    from w2v.formats import FORMATS, estimated_size, format_for_path
    from w2v.options import COUNT_LIMIT, LIMITS, MIN_SYNC_WORDS
    from w2v.errors import TrainingInterrupted  # training's modules load when a command trains
    from w2v.vectors import MissingWordsError, Vectors
finally:
    if _main_thread and _before_loading is signal.default_int_handler:
        signal.signal(signal.SIGINT, _before_loading)

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: The signal that stopped the run (SIGINT for Ctrl-C); its exit status is 128 + its number.
_stopped_by = [signal.SIGINT]


class Interrupted(click.ClickException):
    """A run stopped by a signal: one line, exit 128 + the signal's number."""

    def __init__(self, message: str):
        super().__init__(message)
        self.exit_code = 128 + int(_stopped_by[0])

    def show(self, file=None):
        click.echo(f"w2v: {self.message}", err=True)


@contextlib.contextmanager
def user_errors(interrupted: str = "interrupted; nothing was written"):
    """Turn library errors into one-line click errors (exit 1; a signal 128 + its number)."""
    try:
        yield
    except MissingWordsError as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        raise Interrupted(interrupted) from None
    except BrokenPipeError:
        raise  # the reader (`| head`) has gone: click exits quietly, as a filter should
    except MemoryError:
        raise click.ClickException("not enough memory for this run (a smaller --max-vocab, --dim or --limit "
                                   "needs less)") from None
    except (ValueError, OSError) as error:
        raise click.ClickException(str(error)) from None
    except TrainingInterrupted as error:
        raise Interrupted(str(error)) from None


def _out(message: str = "", err: bool = False) -> None:
    """A line of a command's result on standard output (``err``: on standard error, as ``click.echo``).
    A failed write (a full disk, ``> /dev/full``) is one line naming standard output, not a traceback;
    a reader gone (``| head``) ends the command quietly, as a filter should."""
    try:
        click.echo(message, err=err)
    except BrokenPipeError:
        raise
    except OSError as error:
        raise click.ClickException(f"{'standard error' if err else 'standard output'}: cannot write "
                                   f"({error.strerror or error})") from None


def _log(quiet: bool):
    return (lambda message: None) if quiet else _say


def _say(message: str) -> None:
    """A run's message on standard error. If standard error is gone (the reader of its pipe ended, the
    terminal hung up, a full disk), the run goes on without it: its result is a file, and hours of
    training are not lost for want of a place to report them (the bars, :mod:`w2v.progress`, go quiet
    the same way). Standard error is then pointed at /dev/null, so later messages and Python's last
    flush at exit find somewhere to go; the exit status is the run's own."""
    try:
        click.echo(message, err=True)
    except (OSError, ValueError) as error:
        from w2v.progress import stream_gone  # (only now: a query never imports tqdm)
        if not stream_gone(error):
            raise
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stderr.fileno())
            os.close(null)
        except (OSError, ValueError, AttributeError):  # no descriptor: nothing to redirect
            pass


class VectorsPath(click.Path):
    """A vectors file argument: an existing file; a folder Spark saved a Word2VecModel in is named as one."""

    def __init__(self):
        super().__init__(exists=True, dir_okay=False)

    def convert(self, value, param, ctx):
        if os.path.isdir(value):
            from w2v.formats import SPARK_MODEL, is_spark_word2vec
            if is_spark_word2vec(value):
                self.fail(f"{value}: {SPARK_MODEL}", param, ctx)
        return super().convert(value, param, ctx)


#: A query whose vectors took longer than this to read says how to make a file that loads at once.
SLOW_LOAD_SECONDS = 5.0


def _load(path: str, limit: Optional[int] = None, hint: bool = True) -> Vectors:
    """The vectors of ``path`` for a command, memory-mapped where the format allows; with ``hint``, a
    slow read (a large text or binary file) ends with a note on converting it to the native format."""
    start = time.perf_counter()
    with user_errors("interrupted"):
        # native and model files: mapped, ready at once; a word2vec file's words that are not UTF-8: as training
        # reads such tokens
        vectors = Vectors.load(path, limit=limit, mmap=True, unicode_errors="replace")
        try:
            vectors.norms  # every query needs them; a mapped file's values are first read (and checked) here
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
    if vectors.not_utf8:
        click.echo(f"w2v: note: {path} has {vectors.not_utf8:,} word{'s' if vectors.not_utf8 > 1 else ''} that "
                   f"{'are' if vectors.not_utf8 > 1 else 'is'} not valid UTF-8 (word2vec.c writes a corpus's bytes as "
                   f"they are, and shortens a word longer than 99 bytes byte by byte); read with U+FFFD for each "
                   f"bad sequence", err=True)
    if vectors.spaced:
        n = vectors.spaced
        click.echo(f"w2v: note: {path} has {n:,} row{'s' if n > 1 else ''} whose word holds spaces (as GloVe's "
                   f"'. . .'), left out: a word holds no white space", err=True)
    if vectors.repeated:
        click.echo(f"w2v: note: {path} lists {vectors.repeated:,} word{'s' if vectors.repeated > 1 else ''} "
                   f"more than once; the first of each is kept", err=True)
    seconds = time.perf_counter() - start
    if hint and seconds > SLOW_LOAD_SECONDS:
        from w2v.formats import detect_format
        if detect_format(path) in ("text", "binary"):
            from w2v.compression import without_compression
            native = os.path.splitext(without_compression(path))[0] + ".npz"
            click.echo(f"w2v: note: reading {path} took {seconds:.1f} s; `w2v convert {path} {native}` writes "
                       f"a file that is ready in well under a second (memory-mapped)", err=True)
    return vectors


def _read_vocabulary(path: str, min_count: int, max_vocab: Optional[int], say):
    """``--read-vocab``'s :class:`w2v.vocab.Vocabulary`; says how many of its words were not valid UTF-8 (read
    as counting reads such tokens)."""
    from w2v.vocab import Vocabulary
    vocab = Vocabulary.load(path, min_count=min_count, max_size=max_vocab)
    if vocab.not_utf8:
        n = vocab.not_utf8
        say(f"warning: {path}: {n:,} {'word is' if n == 1 else 'words are'} not valid UTF-8; read with U+FFFD for "
            f"each bad sequence, as the corpus's tokens are")
    return vocab


def _numba_without_scipy_blas() -> None:
    """Import Numba's NumPy support for a command that counts or trains, with SciPy's BLAS hidden.

    When SciPy is installed, Numba imports ``scipy.linalg`` (0.1-0.3 s, every run) only to decide
    whether ``np.correlate`` and ``np.convolve`` in compiled code may call BLAS; w2v's kernels use
    neither. A command is a process of its own, so this changes nothing else for it (the library
    itself never does this: a user's own Numba code in the same process keeps SciPy's BLAS). SciPy
    stays importable; only Numba's check at import sees it missing.
    """
    blas = "scipy.linalg.cython_blas"
    if blas in sys.modules or "numba.np.arraymath" in sys.modules:
        return
    sys.modules[blas] = None  # an import of it fails at once, without importing scipy.linalg
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        if sys.modules.get(blas, False) is None:
            del sys.modules[blas]


def _plan(outputs: Sequence[Optional[str]], inputs: Sequence[str], force: bool) -> List[Output]:
    """Plan every output and refuse one that is an input or another output, or one compressed by a
    package that is not installed, before anything is read."""
    from w2v.compression import check_can_write
    with user_errors():
        planned = [plan_output(path, force) for path in outputs if path]
        check_outputs(planned, inputs)
        for out in planned:
            check_can_write(out.path)
    return planned


def source_files(paths: Sequence[str]) -> List[str]:
    """The files a corpus argument names (folders expanded), for the output checks."""
    from w2v.corpus import resolve_sources
    with user_errors():
        return resolve_sources(paths)


def _quiet_dask_client() -> None:
    """Dask's client in this process logs only critical messages: when it loses the scheduler it logs an error of
    its own, and the command then stops with one line saying so (and what the checkpoint holds). So does asyncio,
    which only Dask's client uses here: a Ctrl-C while the client fetches results leaves a task of Dask's
    failing once the client closes, which asyncio reports as an error with a traceback ("Task exception was
    never retrieved") after the command's own line."""
    import logging
    try:
        import distributed  # noqa: F401 - (its import sets its loggers' levels: this comes after)
    except ImportError:  # (the run says what to install)
        return
    logging.getLogger("distributed.client").setLevel(logging.CRITICAL)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)


@contextlib.contextmanager
def _stdin_saved(corpus: Sequence[str], folder: Optional[str], where: str):
    """``corpus`` with standard input (``-``) saved to a temporary file in ``folder`` (default: the system's
    temporary folder) first, for a pass that reads its corpus more than once; the file is removed at
    the end. ``where``: the option that moves it, for the errors of a folder that takes no file or is full."""
    import shutil
    if "-" not in corpus:
        yield list(corpus)
        return
    from w2v.corpus import check_text_head
    head = sys.stdin.buffer.read(1 << 16)
    with user_errors():  # compressed data is refused before it is saved, under its own name
        check_text_head("standard input", head)
    fd, path = temporary_file(folder, "w2v-stdin-", ".txt", "a copy of standard input", where)
    try:
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(head)
                shutil.copyfileobj(sys.stdin.buffer, f, 1 << 20)
        except OSError as error:
            raise OSError(f"{os.path.dirname(path)}: cannot save standard input there ({error.strerror or error}); "
                          f"free some space or {where}") from None
        yield [path if p == "-" else p for p in corpus]
    finally:
        os.unlink(path)


class _FloatRange(click.FloatRange):
    """click's ``FloatRange``, refusing ``nan`` too: every comparison with it is false, so click's own
    bounds let it through (``--checkpoint-every nan`` never wrote a checkpoint, and said nothing)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if number != number:
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


def _range(name: str):
    """The click type of a numeric option, from :data:`w2v.options.LIMITS` (the library checks the same)."""
    limit = LIMITS[name]
    if limit.kind is int:
        return click.IntRange(limit.low, limit.high)
    return _FloatRange(limit.low, limit.high, min_open=limit.low_open, max_open=limit.high_open)


_force_option = click.option("-f", "--force", is_flag=True,
                             help="Replace an existing read-only output (its permissions are kept).")
_count_limit_option = click.option(
    "--count-limit", type=_range("count_limit"), default=COUNT_LIMIT, show_default=True, metavar="N",
    help="Distinct tokens held while counting (55-85 bytes a token); past it, or past 32 bytes of tokens a token "
         "allowed, the rarest are pruned, as word2vec.c prunes at the same 21 million. Raise it for exact counts "
         "of a corpus with more.")


class _Group(click.Group):
    """Ctrl-C (or SIGTERM) anywhere, also between a command's own handlers, exits 128 + the signal."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted("interrupted") from None


class _ExpressionCommand(click.Command):
    """A command whose arguments may hold words with a glued minus sign (`king -man +woman`): such a word
    is passed on as ``-`` and the word, both arguments, instead of being read as short options. Its own
    options are long ones, and -h."""

    def parse_args(self, ctx, args):
        split = []
        for arg in args:
            if arg.startswith("-") and not arg.startswith("--") and len(arg) > 1 and arg not in ctx.help_option_names:
                split += ["-", arg[1:]]
            else:
                split.append(arg)
        return super().parse_args(ctx, split)


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(w2v.__version__, "-V", "--version", prog_name="w2v")
def cli():
    """w2v: train word2vec embeddings fast, query them, and evaluate them.

    \b
    Example:
      w2v train corpora/sample.txt -o vectors.bin
      w2v analogy vectors.bin king - man + woman
    """


# -- train ----------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("corpus", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Where to write the vectors; the extension picks the format (.bin, .txt/.vec, .npz; word2vec "
                   "files compressed with .gz, .bz2, .xz or .zst after it); - is standard output (text unless "
                   "--format says otherwise).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Output format, whatever the extension.")
@click.option("--model", type=click.Choice(["sg", "cbow"]), default="sg", show_default=True,
              help="Skip-gram or continuous bag of words.")
@click.option("--dim", type=_range("dim"), default=100, show_default=True, help="Vector dimension.")
@click.option("--window", type=_range("window"), default=5, show_default=True,
              help="Largest distance to a context word (each centre word draws its window in [1, window]).")
@click.option("--negative", type=_range("negative"), default=5, show_default=True,
              help="Negative samples per prediction (0: off).")
@click.option("--hs", is_flag=True, help="Hierarchical softmax (with --negative 0 alone, or both at once).")
@click.option("--sample", type=_range("sample"), default=1e-3, show_default=True,
              help="Subsampling threshold for frequent words (0: off).")
@click.option("--min-count", type=_range("min_count"), default=5, show_default=True,
              help="Drop words seen fewer times.")
@click.option("--max-vocab", type=_range("max_vocab"), default=None, help="Keep at most this many words.")
@_count_limit_option
@click.option("--epochs", type=_range("epochs"), default=5, show_default=True, help="Passes over the corpus.")
@click.option("--alpha", type=_range("alpha"), default=None,
              help="Starting learning rate  [default: 0.025 sg, 0.05 cbow]")
@click.option("--min-alpha-ratio", type=_range("min_alpha_ratio"), default=None, metavar="R",
              help="The learning rate falls linearly from --alpha to --alpha × R  [default: 1e-4 (word2vec.c) "
                   "for sg and with --exact; 0.2 for cbow]")
@click.option("--threads", type=_range("threads"), default=0,
              help="Worker threads  [default: all available CPUs]")
@click.option("--seed", type=_range("seed"), default=1, show_default=True,
              help="Random seed; with --threads 1 two runs write identical files (with --scheduler too).")
@click.option("--cbow-sum", is_flag=True, help="CBOW sums the context vectors instead of averaging them.")
@click.option("--exact/--batched", default=None,
              help="Skip-gram kernel: --exact does word2vec.c's pair-by-pair updates; --batched shares each "
                   "window's negatives (with --hs, each context word still reads the Huffman path afresh): "
                   "faster, at word2vec.c's quality on wiki8  [default: batched]. CBOW always updates as "
                   "word2vec.c; --exact also gives it word2vec.c's learning rate (down to alpha × 1e-4).")
@click.option("--shuffle/--in-order", default=None,
              help="The order of each epoch's chunks (about 100,000 words each): --shuffle a random order, a "
                   "new one every epoch, drawn from --seed; --in-order the corpus's order, as word2vec.c and "
                   "gensim  [default: --shuffle; --in-order with --exact]. On wiki8 shuffling scored higher on "
                   "analogies (CBOW by about a point, skip-gram 0.6-0.7), and 0.006 lower on WordSim-353 with "
                   "skip-gram and negative sampling.")
@click.option("--ns-exponent", type=_range("ns_exponent"), default=0.75, show_default=True,
              help="Noise distribution ∝ count^exponent.")
@click.option("--lowercase", is_flag=True, help="Lowercase the corpus.")
@click.option("--max-sentence-length", type=_range("max_sentence_length"), default=10000, show_default=True,
              help="Longer lines are cut into pieces of this many words.")
@click.option("--read-vocab", type=click.Path(exists=True, dir_okay=False),
              help="Take the vocabulary from this 'word count' file instead of counting.")
@click.option("--save-vocab", type=click.Path(dir_okay=False, allow_dash=True),
              help="Also write the vocabulary here ('word count' lines, word2vec.c's '</s> 0' first).")
@click.option("--cache-dir", type=click.Path(exists=True, file_okay=False),
              help="Folder for the encoded corpus (4 bytes a word, read back chunk by chunk, removed at the "
                   "end)  [default: the system's temporary folder]")
@click.option("--phrases", type=click.IntRange(0, 10), default=0, show_default=True,
              help="Passes of word2phrase over the corpus as it is read (new york -> new_york); no copy is written.")
@click.option("--phrase-threshold", type=_FloatRange(0), multiple=True,
              help="The threshold of each pass of --phrases (one for all, or one a pass)  [default: 100]")
@click.option("--phrase-table", type=click.Path(exists=True, dir_okay=False),
              help="Join the pairs of this table (w2v phrases --save-table) as the corpus is read.")
@click.option("--keep-words", is_flag=True,
              help="With --phrases or --phrase-table: train on the text as it is and on its phrased copy (twice the "
                   "training an epoch), so words keep the contexts their phrases would take.")
@click.option("--checkpoint", type=click.Path(dir_okay=False),
              help="Write the whole model here (a .w2vm file) after every epoch and when stopped, to --resume from.")
@click.option("--checkpoint-every", type=_FloatRange(0, min_open=True), metavar="MINUTES",
              help="Also write the checkpoint every MINUTES within long epochs (between chunks).")
@click.option("--resume", type=click.Path(exists=True, dir_okay=False),
              help="Go on with the run this checkpoint stopped (same corpus, same options) and keep "
                   "checkpointing there.")
@click.option("--allow-other-corpus", is_flag=True, help="With --resume: go on even if the corpus differs.")
@click.option("--init", type=click.Path(exists=True, dir_okay=False),
              help="Train this model (a .w2vm file) further on CORPUS: a new schedule of --epochs from --alpha.")
@click.option("--update-vocab", is_flag=True,
              help="With --init: add the words of CORPUS that reach --min-count (new vectors) and merge the counts.")
@click.option("--init-vectors", type=VectorsPath(), metavar="FILE",
              help="Start the vectors of the words this vectors file holds (word2vec binary or text, GloVe's "
                   "text, .npz) from its vectors, the rest at random, then train as usual (gensim's "
                   "intersect_word2vec_format). Its dimension must be --dim's.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Train on a Dask cluster: tcp://HOST:8786 (a running 'dask scheduler'), or local:N to start N "
                   "worker processes here. Needs pip install 'w2v[distributed]'; every worker must read CORPUS "
                   "under the same path and run the same w2v. --threads is then threads per worker.")
@click.option("--sync-words", type=click.IntRange(MIN_SYNC_WORDS), default=None, metavar="N",
              help="With --scheduler: words each worker trains between syncs of the workers' weights  "
                   "[default: 1000000 / (workers - 1), so each copy misses 1000000 words of the others' "
                   "updates; 2000000 on one worker]")
@click.option("--classes", "classes_k", type=click.IntRange(1), metavar="K",
              help="Also cluster the trained vectors into K word classes (word2vec.c's -classes; w2v classes) and "
                   "write them to --classes-output.")
@click.option("--classes-output", type=click.Path(dir_okay=False, allow_dash=True),
              help="Where --classes writes its 'word class' lines, sorted by class (- is standard output).")
@_force_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
@click.pass_context
def train(ctx, corpus, output, fmt, model, dim, window, negative, hs, sample, min_count, max_vocab, count_limit,
          epochs, alpha, min_alpha_ratio, threads, seed, cbow_sum, exact, shuffle, ns_exponent, lowercase,
          max_sentence_length,
          read_vocab, save_vocab, cache_dir, phrases, phrase_threshold, phrase_table, keep_words, checkpoint,
          checkpoint_every, resume,
          allow_other_corpus, init, update_vocab, init_vectors, scheduler, sync_words, classes_k, classes_output,
          force, quiet):
    """Train word vectors on CORPUS (files, folders, .gz/.bz2/.xz/.zst, .zip, or - for stdin).

    A line is a sentence; words are separated by white space. Outputs are
    checked before the corpus is read: an output may not be an input, lie in
    a corpus folder, be a special file or (without --force) a read-only file.

    --checkpoint keeps the whole model, so that a stopped run goes on with
    --resume (with --threads 1 and a seed, to the same bytes as a run that
    never stopped) and a finished one can be trained further with --init.

    For the best vectors in the time gensim takes for its default 5 epochs,
    train 10: on wiki8 with 2 threads, --epochs 10 took 49 s (cbow) and 116 s
    (sg) end to end against gensim's 69 s and 264 s for 5, and scored 3.7 and
    6.5 analogy points higher (README, "Quality for the time").

    \b
    Example:
      w2v train corpora/sample.txt -o vectors.bin
      w2v train text8 -o text8.bin --model cbow --dim 200 --epochs 10 --threads 4
      w2v train text8 -o text8.bin --checkpoint text8.w2vm       # stopped? then:
      w2v train text8 -o text8.bin --resume text8.w2vm
      w2v train more.txt -o v.bin --init text8.w2vm --update-vocab --epochs 3
      w2v train text8 -o text8.bin --scheduler local:2 --threads 1
    """
    from w2v.training import TrainOptions, train as run_training

    options = TrainOptions(model=model, dim=dim, window=window, negative=negative, hs=hs, sample=sample,
                           min_count=min_count, max_vocab=max_vocab, count_limit=count_limit, epochs=epochs,
                           alpha=alpha, min_alpha_ratio=min_alpha_ratio, threads=threads,
                           seed=seed, cbow_mean=not cbow_sum, ns_exponent=ns_exponent, exact=exact,
                           shuffle=shuffle, lowercase=lowercase, max_sentence_length=max_sentence_length)
    try:
        options.validate()
        fmt = format_for_path(output, fmt)
    except (ValueError, OSError) as error:
        raise click.UsageError(str(error)) from None
    if exact is False and model == "cbow":
        raise click.UsageError("--batched applies to skip-gram; CBOW always uses word2vec.c's updates")
    _check_model_options(ctx, resume, init, update_vocab, allow_other_corpus, checkpoint, checkpoint_every, read_vocab)
    if init_vectors and (resume or init):
        raise click.UsageError(f"--init-vectors starts a new model's vectors; --{'resume' if resume else 'init'} goes "
                               f"on with a model's own: give one")
    thresholds = tuple(phrase_threshold) or (100.0,)
    if (phrases or phrase_table) and resume:
        raise click.UsageError("--resume reads the corpus through the phrases its checkpoint recorded; give no "
                               "--phrases or --phrase-table")
    if phrases and phrase_table:
        raise click.UsageError("give --phrases (count them) or --phrase-table (a saved table), not both")
    if keep_words and not (phrases or phrase_table):
        raise click.UsageError("--keep-words goes with --phrases or --phrase-table"
                               + (" (--resume keeps its checkpoint's)" if resume else ""))
    if phrase_threshold and (not phrases or len(thresholds) not in (1, phrases)):
        raise click.BadParameter(f"{len(thresholds)} thresholds for {phrases} passes of --phrases; give one, or "
                                 f"one a pass", param_hint="'--phrase-threshold'")
    if sync_words is not None and not scheduler:
        raise click.UsageError("--sync-words goes with --scheduler")
    if scheduler and "-" in corpus:
        raise click.UsageError("--scheduler: the workers read the corpus from files, not from standard input")
    if (classes_k is None) != (classes_output is None):
        raise click.UsageError("--classes K and --classes-output FILE go together")
    checkpoint = checkpoint or resume
    say = _log(quiet)
    start = time.perf_counter()
    inputs = list(corpus) + source_files(list(corpus)) + [p for p in (read_vocab, init, phrase_table, init_vectors)
                                                          if p]
    outputs = [output] + ([save_vocab] if save_vocab else []) + ([classes_output] if classes_output else [])
    planned = _plan(outputs + ([checkpoint] if checkpoint else []), inputs, force)
    if resume:  # the checkpoint it resumes from is the one place an output may be an input: it supersedes it
        _plan(outputs, [resume], force)
    vectors_out = planned[0]
    vocab_before = _stat(save_vocab)
    _numba_without_scipy_blas()

    def reserve(vocab):
        if classes_k is not None and classes_k > len(vocab):
            raise ValueError(f"--classes: {classes_k:,} classes for {len(vocab):,} words; give at most {len(vocab):,}")
        word_bytes = len("\n".join(vocab.words).encode("utf-8")) - max(0, len(vocab) - 1)
        needs = [(vectors_out.folder, estimated_size(fmt, len(vocab), dim, word_bytes), f"the vectors ({output})")]
        if save_vocab:
            needs.append((planned[1].folder, word_bytes + 12 * len(vocab), f"the vocabulary ({save_vocab})"))
        if classes_output:
            needs.append((planned[len(outputs) - 1].folder, word_bytes + 8 * len(vocab),
                          f"the classes ({classes_output})"))
        if checkpoint:
            needs.append((planned[-1].folder, estimated_size("native", 2 * len(vocab), dim, word_bytes),
                          f"the checkpoint ({checkpoint})"))
        return needs

    vocab_written = lambda: save_vocab and _stat(save_vocab) != vocab_before  # noqa: E731
    every = None if checkpoint_every is None else 60.0 * checkpoint_every
    try:
        with user_errors():
            if scheduler:
                _quiet_dask_client()
            if resume or init:
                result = _train_further(ctx, list(corpus), options, resume or init, bool(resume), update_vocab,
                                        allow_other_corpus, save_vocab, reserve, checkpoint, every, cache_dir,
                                        force, quiet, say, scheduler, sync_words,
                                        (phrases, thresholds, phrase_table, keep_words))
            elif scheduler:
                from w2v import distributed
                vocab = _read_vocabulary(read_vocab, min_count, max_vocab, say) if read_vocab else None
                result = distributed.train(list(corpus), options, scheduler=scheduler,
                                           sync_words=sync_words,
                                           progress=not quiet, log=say, vocab=vocab, cache_dir=cache_dir,
                                           save_vocab=save_vocab, reserve=reserve, force=force,
                                           checkpoint=checkpoint, checkpoint_every=every, phrases=phrases,
                                           phrase_thresholds=thresholds, phrase_table=phrase_table,
                                           keep_words=keep_words, init_vectors=init_vectors)
            else:
                vocab = _read_vocabulary(read_vocab, min_count, max_vocab, say) if read_vocab else None
                sources = (_stdin_saved(corpus, cache_dir, "give another folder (--cache-dir)")
                           if phrases or phrase_table else contextlib.nullcontext(list(corpus)))  # phrases: 2+ reads
                from w2v.precompile import passes_aside
                # a first run: the pairs' kernels compiled by a helper too, while the words are counted
                pairs_aside = (passes_aside(["pairs"], options.resolved().threads, say) if phrases
                               else contextlib.nullcontext())
                with sources as paths, pairs_aside:
                    result = run_training(paths, options, progress=not quiet, log=say, vocab=vocab,
                                          cache_dir=cache_dir, save_vocab=save_vocab, reserve=reserve, force=force,
                                          checkpoint=checkpoint, checkpoint_every=every, phrases=phrases,
                                          phrase_thresholds=thresholds, phrase_table=phrase_table,
                                          keep_words=keep_words, init_vectors=init_vectors)
            result.vectors.save(output, fmt=fmt, force=force, threads=result.options.resolved().threads)
            if classes_k is not None:
                from w2v.classes import kmeans, write_classes
                labels = kmeans(result.vectors, classes_k, seed=result.options.seed, progress=not quiet)[0]
                write_classes(classes_output, result.vectors.words, labels, force=force)
                say(f"wrote {len(result.vectors):,} words in {classes_k:,} classes to {classes_output}")
    except Interrupted as stopped:
        if vocab_written():
            stopped.message = f"{stopped.message.split(';')[0]}; the vectors were not written " \
                              f"(the vocabulary was written to {save_vocab})"
        raise
    last = f"; final loss {result.history[-1].loss:.4f}" if result.history else ""
    threads = result.threads or result.options.threads
    where = f"{threads} thread{'s' if threads != 1 else ''}"
    if result.syncs:
        syncs = result.syncs
        where += (f" a worker; {len(syncs):,} sync{'s' if len(syncs) != 1 else ''} of "
                  f"{sum(s.seconds for s in syncs) / len(syncs):.2f} s, "
                  f"{sum(s.bytes_in for s in syncs) / len(syncs) / 1e6:.1f} MB in and "
                  f"{sum(s.bytes_out for s in syncs) / len(syncs) / 1e6:.1f} MB out each")
    say(f"vocabulary {len(result.vectors):,} words; trained {result.words:,} words in {result.seconds:.1f} s "
        f"({result.words_per_second:,.0f} words/s, {where}){last}; "
        f"wrote {output} ({fmt}) after {time.perf_counter() - start:.1f} s in all")


#: What a model keeps whatever the command line says: the shape of its weights and of its vocabulary.
_MODEL_KEEPS = ("model", "dim", "negative", "hs", "cbow_sum", "lowercase", "max_vocab")
#: What --init may change for the new schedule (the CLI's parameter name: the option's name).
_INIT_MAY_SET = {"window": "window", "sample": "sample", "min_count": "min_count", "epochs": "epochs",
                 "alpha": "alpha", "min_alpha_ratio": "min_alpha_ratio", "seed": "seed", "ns_exponent": "ns_exponent",
                 "exact": "exact", "shuffle": "shuffle", "max_sentence_length": "max_sentence_length",
                 "count_limit": "count_limit"}


def _given(ctx, name: str) -> bool:
    from click.core import ParameterSource
    return ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE


def _check_model_options(ctx, resume, init, update_vocab, allow_other_corpus, checkpoint, checkpoint_every,
                         read_vocab) -> None:
    """The options that go with --resume and --init, checked before anything is read."""
    if resume and init:
        raise click.UsageError("--resume goes on with a stopped run and --init starts a new one: give one")
    if update_vocab and not init:
        raise click.UsageError("--update-vocab goes with --init (the model whose vocabulary grows)")
    if allow_other_corpus and not resume:
        raise click.UsageError("--allow-other-corpus goes with --resume")
    if checkpoint_every is not None and not (checkpoint or resume):
        raise click.UsageError("--checkpoint-every needs --checkpoint (the file to write)")
    from w2v.compression import compression_of
    if checkpoint and compression_of(checkpoint):
        raise click.BadParameter(f"{checkpoint}: a model file is not compressed (it is read memory-mapped, as it "
                                 f"lies); name it .w2vm", param_hint="'--checkpoint'")
    if (resume or init) and read_vocab:
        raise click.UsageError(f"--read-vocab does not go with --{'resume' if resume else 'init'}: the model "
                               f"has its vocabulary (--update-vocab extends it)")
    fixed = _MODEL_KEEPS if init else _MODEL_KEEPS + tuple(_INIT_MAY_SET)
    for name in fixed if (resume or init) else ():
        if _given(ctx, name):
            flag = "--" + name.replace("_", "-")
            raise click.UsageError(f"{flag}: {'a resumed run keeps all' if resume else 'a model keeps'} the "
                                   f"options it was trained with; only "
                                   f"{'--threads' if resume else ', '.join('--' + n.replace('_', '-') for n in _INIT_MAY_SET)}"
                                   f" may change")


def _train_further(ctx, corpus, options, path, resume, update_vocab, allow_other_corpus, save_vocab, reserve,
                   checkpoint, every, cache_dir, force, quiet, say, scheduler=None, sync_words=None,
                   phrasing=(0, (), None, False)):
    """--resume and --init: load the model, adjust it, check what will be written, train. ``phrasing``:
    --init's (passes, thresholds, table, keep_words) of phrases (--resume takes its checkpoint's)."""
    import dataclasses
    from w2v.corpus import Corpus
    from w2v.files import check_free_space
    from w2v.model import Model

    model = Model.load(path)
    p = model.position
    if resume and not (p.started and not p.finished):
        raise ValueError(f"{path}: its run is finished ({p.epoch} of {p.epochs} epochs); train it further with "
                         f"--init {path}")
    changes = {"threads": options.resolved().threads}
    if not resume:
        changes.update({field: getattr(options, field) for name, field in _INIT_MAY_SET.items() if _given(ctx, name)})
        changes["alpha"] = options.resolved().alpha if options.alpha is None else options.alpha  # a new run's
        changes["min_alpha_ratio"] = options.min_alpha_ratio  # None: the default for the model and kernel
        changes["epochs"] = options.epochs
    model.options = dataclasses.replace(model.options, **changes).resolved()
    passes, thresholds, table, keep_words = phrasing
    source = corpus
    if (passes or table) and not scheduler:  # (a distributed run counts them on its workers)
        from w2v.phrases import phrased
        source = phrased(Corpus(corpus, lowercase=model.options.lowercase, progress=not quiet, keep_fingerprint=True),
                         passes, thresholds, model.options.min_count, table=table, threads=model.options.threads,
                         keep_words=keep_words)
    if update_vocab:
        model.check_vocabulary_update()  # (before counting, which may take long)
    else:
        check_free_space(reserve(model.vocab))  # (before connecting to the cluster)
    if scheduler:  # the new words counted by the workers, the vocabulary checked and saved once merged
        from w2v import distributed
        from w2v.phrases import phrase_settings
        phrases = (phrase_settings(passes, thresholds, model.options.min_count, table=table, keep_words=keep_words)
                   if passes or table else None)
        return distributed.train_model(model, corpus, scheduler=scheduler, sync_words=sync_words,
                                       threads=options.threads, epochs=None if resume else model.options.epochs,
                                       alpha=None if resume else model.options.alpha, progress=not quiet,
                                       log=say, checkpoint=checkpoint, checkpoint_every=every, force=force,
                                       cache_dir=cache_dir, allow_other_corpus=allow_other_corpus,
                                       update_vocab=update_vocab, reserve=reserve, save_vocab=save_vocab,
                                       phrases=phrases)
    return model.train(source, epochs=None if resume else model.options.epochs,
                       alpha=None if resume else model.options.alpha, progress=not quiet, log=say,
                       checkpoint=checkpoint, checkpoint_every=every, force=force, cache_dir=cache_dir,
                       allow_other_corpus=allow_other_corpus, update_vocab=update_vocab, reserve=reserve,
                       save_vocab=save_vocab)


def _stat(path: Optional[str]):
    """What identifies the file's current content (for 'was it written?'), or None."""
    if not path or path == "-":
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


# -- vocab ----------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("corpus", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True),
              help="Save as 'word count' lines (word2vec.c's format: its sentence end '</s> 0' first); - is "
                   "standard output.")
@click.option("--min-count", type=_range("min_count"), default=5, show_default=True,
              help="Drop words seen fewer times.")
@click.option("--max-vocab", type=_range("max_vocab"), default=None, help="Keep at most this many words.")
@_count_limit_option
@click.option("--lowercase", is_flag=True, help="Lowercase the corpus.")
@click.option("--top", type=click.IntRange(0), default=10, show_default=True, help="Show the most frequent words.")
@click.option("--threads", type=_range("threads"), default=0, help="Threads that count  [default: all available CPUs]")
@_force_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def vocab(corpus, output, min_count, max_vocab, count_limit, lowercase, top, threads, force, quiet):
    """Count the words of CORPUS and summarise (optionally save) its vocabulary.

    \b
    Example:
      w2v vocab corpora/sample.txt -o vocab.txt --min-count 5
    """
    from w2v.corpus import Corpus
    from w2v.options import default_threads
    from w2v.precompile import passes_aside
    from w2v.training import say_count_notes
    from w2v.vocab import build_vocabulary

    start = time.perf_counter()
    planned = _plan([output], list(corpus) + source_files(list(corpus)), force)
    _numba_without_scipy_blas()
    threads = threads or default_threads()
    with user_errors(), passes_aside(["vocabulary"], threads, say=None if quiet else _say):
        source = Corpus(list(corpus), lowercase=lowercase, progress=not quiet)
        vocabulary, counted = build_vocabulary(source, min_count=min_count, max_size=max_vocab,
                                               prune_at=count_limit, threads=threads)
        if output:
            vocabulary.save(output, force=force)
    to_stderr = bool(planned) and planned[0].kind == "stdout"  # the summary must not mix with the vocabulary
    kept = int(vocabulary.counts.sum())
    _out(f"tokens {counted.total_tokens:,}; types {counted.distinct:,}; kept {len(vocabulary):,} types "
         f"(min count {min_count}) covering {kept / counted.total_tokens:.2%} of tokens; "
         f"{time.perf_counter() - start:.1f} s", err=to_stderr)
    say_count_notes(counted, _say)
    if top:
        _out("most frequent: " + ", ".join(f"{w} {c:,}" for w, c in
                                           zip(vocabulary.words[:top], vocabulary.counts[:top].tolist())),
             err=to_stderr)
    if output and not to_stderr:
        _out(f"wrote {output}")


# -- convert --------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("source", type=VectorsPath())
@click.argument("destination", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--to", "fmt", type=click.Choice(FORMATS), help="Output format, whatever the extension.")
@click.option("--limit", type=click.IntRange(1), help="Keep only the first N words.")
@_force_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def convert(source, destination, fmt, limit, force, quiet):
    """Convert vectors between word2vec text, word2vec binary and the native format.

    DESTINATION may not be SOURCE (by any name or link); - is standard output. Text without the header line
    (GloVe's files) is read too.

    \b
    Example:
      w2v convert vectors.bin vectors.txt
      w2v convert GoogleNews-vectors-negative300.bin.gz small.npz --limit 100000
      w2v convert glove.6B.100d.txt glove.6B.100d.npz
    """
    try:
        fmt = format_for_path(destination, fmt)
    except (ValueError, OSError) as error:
        raise click.BadParameter(str(error), param_hint="DESTINATION") from None
    planned = _plan([destination], [source], force)
    vectors = _load(source, limit, hint=False)  # (converting is what the hint would say)
    with user_errors():
        vectors.save(destination, fmt=fmt, force=force, progress=not quiet)
    _out(f"wrote {len(vectors):,} vectors of dimension {vectors.dim} to {destination} ({fmt})",
         err=planned[0].kind == "stdout")


# -- phrases --------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("corpus", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Where to write the text with its phrases joined, compressed if the name ends in .gz, "
                   ".bz2, .xz or .zst (- is standard output).")
@click.option("--min-count", type=_range("min_count"), default=5, show_default=True,
              help="Words and pairs seen fewer times never join (and this is word2phrase's discount).")
@click.option("--threshold", type=float, multiple=True,
              help="Join a pair whose score is above this  [default: 100; npmi: 0.5]. Give it once for every "
                   "pass, or once for all.")
@click.option("--passes", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Passes over the text: the second joins phrases into longer ones (word2vec.c's demo: 2).")
@click.option("--scoring", type=click.Choice(["word2phrase", "npmi"]), default="word2phrase", show_default=True,
              help="word2phrase's score, or gensim's normalised PMI (threshold in [-1, 1]).")
@click.option("--delimiter", default="_", show_default=True, help="What joins the words of a phrase.")
@click.option("--threads", type=_range("threads"), default=0, help="Threads that count and join  [default: all CPUs]")
@click.option("--save-table", type=click.Path(dir_okay=False, allow_dash=True),
              help="Also write the pairs that join: 'first second<TAB>score<TAB>count', best first, each pass "
                   "after a '# pass K' line from the second on.")
@click.option("--phrase-table", type=click.Path(exists=True, dir_okay=False),
              help="Join the pairs of this saved table instead of counting (all its passes; gives the text "
                   "the passes that saved it gave).")
@_force_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def phrases(corpus, output, min_count, threshold, passes, scoring, delimiter, threads, save_table, phrase_table,
            force, quiet):
    """Join frequent pairs of words into phrases (word2phrase): "new york" becomes new_york.

    Lines stay lines; words are written one space apart.

    \b
    Example:
      w2v phrases text8 -o text8-phrases.txt --passes 2 --threshold 200 --threshold 100
    """
    import tempfile

    from w2v.corpus import Corpus
    from w2v.options import default_threads
    from w2v.phrases import (check_phrase_options, check_text_output, count_phrases, read_phrase_table,
                             save_phrase_table, write_phrases)
    from w2v.phrases import phrase_table as phrase_table_rows
    from w2v.precompile import passes_aside

    thresholds = list(threshold) or [0.5 if scoring == "npmi" else 100.0]
    if len(thresholds) == 1:
        thresholds *= passes
    if len(thresholds) != passes:
        raise click.BadParameter(f"{len(thresholds)} thresholds for {passes} passes; give one, or one a pass",
                                 param_hint="'--threshold'")
    try:
        for value in thresholds:
            check_phrase_options(min_count, value, scoring, delimiter)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    try:
        check_text_output(output)
    except (ValueError, OSError) as error:
        raise click.BadParameter(str(error), param_hint="'-o' / '--output'") from None
    if phrase_table and (passes > 1 or save_table):
        raise click.UsageError("--phrase-table applies the passes the table holds: it goes without --passes and "
                               "--save-table")
    planned = _plan([output] + ([save_table] if save_table else []),
                    list(corpus) + source_files(list(corpus)) + ([phrase_table] if phrase_table else []), force)
    start = time.perf_counter()
    threads = threads or default_threads()
    _numba_without_scipy_blas()
    aside = [] if phrase_table else ["pairs"]  # a table is joined without a count: nothing to compile meanwhile
    with user_errors(), tempfile.TemporaryDirectory(prefix="w2v-phrases-") as folder, \
            _stdin_saved(corpus, folder, "set TMPDIR to another folder") as corpus, \
            passes_aside(aside, threads, say=None if quiet else _say):
        tables = read_phrase_table(phrase_table) if phrase_table else None
        passes = len(tables) if tables else passes
        source, saved = list(corpus), []
        for number in range(1, passes + 1):
            value = thresholds[number - 1] if not tables else thresholds[0]
            target = planned[0] if number == passes else os.path.join(folder, f"pass{number}.txt")
            if tables:
                counts = tables[number - 1]
            else:
                counts = count_phrases(Corpus(source, progress=not quiet), min_count, threads=threads,
                                       threshold=value, scoring=scoring)
            if save_table:
                saved.append(phrase_table_rows(counts, min_count, value, scoring))
            write_phrases(Corpus(source, progress=not quiet), counts, target, min_count, value, scoring, delimiter,
                          force=force, threads=threads)
            source = [target]
        if save_table:
            save_phrase_table(planned[1], saved, force=force)
    _say(f"wrote {output} after {passes} pass{'es' if passes > 1 else ''} ({time.perf_counter() - start:.1f} s)")


# -- classes --------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("vectors", type=VectorsPath())
@click.option("-k", "--classes", "k", type=click.IntRange(1), required=True, help="How many classes.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Where to write 'word class' lines, sorted by class (- is standard output).")
@click.option("--iterations", type=click.IntRange(1), default=10, show_default=True,
              help="At most this many passes (it stops earlier when no word changes class).")
@click.option("--seed", type=click.IntRange(0), default=1, show_default=True, help="Random seed of the start.")
@_force_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def classes(vectors, k, output, iterations, seed, force, quiet):
    """Cluster the words of VECTORS into K classes: k-means on the unit vectors (word2vec.c's -classes),
    started with k-means++, seeded and reproducible.

    \b
    Example:
      w2v classes vectors.bin -k 500 -o classes.txt
    """
    from w2v.classes import kmeans, write_classes

    planned = _plan([output], [vectors], force)
    vecs = _load(vectors)
    if k > len(vecs):
        raise click.BadParameter(f"{k:,} classes for {len(vecs):,} words; give at most {len(vecs):,}",
                                 param_hint="'-k'")
    start = time.perf_counter()
    with user_errors():
        labels, _, passes = kmeans(vecs, k, iterations=iterations, seed=seed, progress=not quiet)
        write_classes(output, vecs.words, labels, force=force)
    _out(f"wrote {len(vecs):,} words in {len(set(labels.tolist())):,} classes to {output} after {passes} "
         f"pass{'es' if passes > 1 else ''} ({time.perf_counter() - start:.1f} s)",
         err=planned[0].kind == "stdout")


# -- queries --------------------------------------------------------------------------
def parse_expression(tokens: Sequence[str]):
    """``king - man + woman`` -> (['king', 'woman'], ['man']); ``a b c`` -> a is to b as c is to ?

    Returns (positive, negative). Signs may stand alone or be glued to a word (``-man``).
    """
    tokens = [t for token in tokens for t in token.split()]
    if len(tokens) == 3 and not any(t in "+-" or t[0] in "+-" for t in tokens):
        a, b, c = tokens  # word2vec.c's word-analogy: a is to b as c is to ?
        return [b, c], [a]
    positive: List[str] = []
    negative: List[str] = []
    sign = "+"
    for token in tokens:
        if token in ("+", "-"):
            sign = token
            continue
        if token[0] in "+-" and len(token) > 1:
            sign, token = token[0], token[1:]
        (positive if sign == "+" else negative).append(token)
        sign = "+"
    if not positive and not negative:
        raise ValueError("empty expression")
    return positive, negative


def parse_analogy(tokens: Sequence[str]):
    """An analogy's (positive, negative): three bare words ``a b c``, or an expression with at least
    one word added and one subtracted (``king - man + woman``); anything else is a ``ValueError``."""
    words = [t for token in tokens for t in token.split()]
    signed = any(t in "+-" or t[0] in "+-" for t in words)
    if not signed and len(words) != 3:
        raise ValueError(f"an analogy is three words (a b c: a is to b as c is to ?) or an expression such as "
                         f"'king - man + woman'; got {len(words)} word{'s' if len(words) != 1 else ''} "
                         f"(w2v similar gives the neighbours of words)")
    positive, negative = parse_expression(words)
    if not positive or not negative:
        raise ValueError("an analogy expression adds at least one word and subtracts at least one, "
                         "as in 'king - man + woman'")
    return positive, negative


def _print_neighbours(pairs, vecs: Vectors, restrict_vocab: Optional[int] = None):
    """One ``word<TAB>score`` line an answer; none (every word searched, the ``restrict_vocab`` most
    frequent of ``vecs`` or all, is in the query) says so on standard error instead of printing nothing."""
    pairs = list(pairs)
    if not pairs:
        searched = vecs.searched(restrict_vocab)
        click.echo("w2v: no answer: the one word searched is in the query" if searched == 1 else
                   f"w2v: no answer: the {searched:,} words searched are all in the query", err=True)
    for word, score in pairs:
        _out(f"{word}\t{score:.4f}")


@cli.command(context_settings=CONTEXT)
@click.argument("vectors", type=VectorsPath())
@click.argument("words", nargs=-1, required=True)
@click.option("--topn", type=click.IntRange(1), default=10, show_default=True)
@click.option("--restrict-vocab", type=click.IntRange(1), help="Search only the N most frequent words.")
def similar(vectors, words, topn, restrict_vocab):
    """Nearest neighbours (cosine) of WORDS (their vectors are summed).

    The words asked are never among the answers; when no other word is
    left to search, a note on standard error says so.

    \b
    Example:
      w2v similar vectors.bin france --topn 5
    """
    vecs = _load(vectors)
    with user_errors():
        _print_neighbours(vecs.most_similar(list(words), topn=topn, restrict_vocab=restrict_vocab), vecs,
                          restrict_vocab)


@cli.command(cls=_ExpressionCommand, context_settings=CONTEXT)
@click.argument("vectors", type=VectorsPath())
@click.argument("expression", nargs=-1, required=True)
@click.option("--method", type=click.Choice(["add", "mul"]), default="add", show_default=True,
              help="3CosAdd or 3CosMul (Levy & Goldberg).")
@click.option("--topn", type=click.IntRange(1), default=5, show_default=True)
@click.option("--restrict-vocab", type=click.IntRange(1), help="Search only the N most frequent words.")
def analogy(vectors, expression, method, topn, restrict_vocab):
    """Solve an analogy: an EXPRESSION like `king - man + woman`, or three words `man king woman`.

    Three bare words read as word2vec.c's word-analogy tool reads them: the
    first is to the second as the third is to ? Signs may be glued to their
    words (`king -man +woman`).

    \b
    Example:
      w2v analogy vectors.bin king - man + woman
      w2v analogy vectors.bin king -man +woman --topn 3
      w2v analogy vectors.bin man king woman --method mul
    """
    vecs = _load(vectors)
    with user_errors():
        positive, negative = parse_analogy(expression)
        if method == "mul":
            if len(positive) != 2 or len(negative) != 1:
                raise ValueError("--method mul needs exactly b - a + c (two words added, one subtracted)")
            answers = vecs.analogy(negative[0], positive[0], positive[1], method="mul", topn=topn,
                                   restrict_vocab=restrict_vocab)
        else:
            answers = vecs.most_similar(positive, negative, topn=topn, restrict_vocab=restrict_vocab)
        _print_neighbours(answers, vecs, restrict_vocab)


@cli.command(context_settings=CONTEXT)
@click.argument("vectors", type=VectorsPath())
@click.option("--topn", type=click.IntRange(1), default=10, show_default=True)
def query(vectors, topn):
    """Answer queries read from standard input, one a line, like word2vec.c's distance tool.

    A line is a word (neighbours), several words (neighbours of their sum), or
    an expression such as `king - man + woman`. An unknown word is reported and
    the next line is read. Ends at end of input or an `EXIT` line.

    \b
    Example:
      echo "king - man + woman" | w2v query vectors.bin
    """
    vecs = _load(vectors)
    interactive = sys.stdin.isatty()
    if interactive:
        click.echo(f"{len(vecs):,} words of dimension {vecs.dim}; enter a word or an expression (Ctrl-D ends)",
                   err=True)
    while True:
        if interactive:
            click.echo("> ", nl=False, err=True)
        line = sys.stdin.readline()
        if not line or line.strip() == "EXIT":
            break
        tokens = line.split()
        if not tokens:
            continue
        try:
            if len(tokens) == 1 or not any(t.startswith(("+", "-")) for t in tokens):
                answers = vecs.most_similar(tokens, topn=topn)
            else:
                positive, negative = parse_expression(tokens)
                answers = vecs.most_similar(positive, negative, topn=topn)
        except (MissingWordsError, ValueError) as error:
            click.echo(f"w2v: {error}", err=True)
            continue
        _out(f"# {line.strip()}")
        _print_neighbours(answers, vecs)


# -- evaluate -------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("vectors", type=VectorsPath())
@click.option("--analogies", "analogy_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="An analogy file in the questions-words format (repeatable).")
@click.option("--pairs", "pair_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A word-pair file: word1<TAB>word2<TAB>score (or spaces, or commas), # comments; the score "
                   "is the first number after the two words, so SimLex-999's and SimVerb-3500's own files "
                   "read as downloaded (repeatable).")
@click.option("--restrict-vocab", type=click.IntRange(1), default=30000, show_default=True,
              help="Analogies: answer within the N most frequent words; questions outside are skipped.")
@click.option("--method", type=click.Choice(["add", "mul"]), default="add", show_default=True)
@click.option("--case-sensitive", is_flag=True, help="Compare words as they are (default: ignore case).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts (an undefined correlation is null).")
def evaluate(vectors, analogy_files, pair_files, restrict_vocab, method, case_sensitive, as_json):
    """Evaluate VECTORS on analogy sets and word-pair similarity sets.

    Conventions are gensim's evaluate_word_analogies / evaluate_word_pairs
    (and word2vec.c's compute-accuracy with threshold 30000).

    \b
    Example:
      w2v evaluate vectors.bin --analogies questions-words.txt --pairs wordsim353.tsv
    """
    from w2v.evaluate import evaluate_analogies, evaluate_pairs

    if not analogy_files and not pair_files:
        raise click.UsageError("give at least one --analogies or --pairs file")
    vecs = _load(vectors)
    report = {"vectors": vectors, "analogies": {}, "pairs": {}}
    with user_errors():
        for path in analogy_files:
            result = evaluate_analogies(vecs, path, restrict_vocab=restrict_vocab,
                                        case_insensitive=not case_sensitive, method=method)
            report["analogies"][path] = result.as_dict()
        for path in pair_files:
            report["pairs"][path] = evaluate_pairs(vecs, path, case_insensitive=not case_sensitive).as_dict()
    if as_json:
        _out(json.dumps(_json_ready(report), indent=2, allow_nan=False))
        return
    for path, result in report["analogies"].items():
        _out(f"{path} (3Cos{method.capitalize()}, {restrict_vocab:,} most frequent words)")
        _out(f"  {'section':<32}{'accuracy':>9}{'correct':>9}{'answered':>10}{'skipped':>9}")
        rows = list(result["sections"].items()) + [(k, result[k]) for k in ("semantic", "syntactic", "total")]
        for name, s in rows:
            _out(f"  {name:<32}{s['accuracy']:>9.2%}{s['correct']:>9}{s['answered']:>10}{s['skipped']:>9}")
        _out(f"  coverage {result['coverage']:.2%} of questions answered")
    for path, result in report["pairs"].items():
        _out(f"{path}: Spearman {_correlation(result['spearman'])}  Pearson {_correlation(result['pearson'])}  "
             f"OOV {result['oov_ratio']:.1f}% ({result['oov']} of {result['pairs'] + result['oov']} pairs)")


def _json_ready(value):
    """``value`` (dicts of dicts and scalars) with every float that is not finite as None (JSON's null): a
    correlation is undefined (nan) with fewer than two pairs known or scores all alike, and ``NaN`` is
    no JSON value (Python reads it; jq, browsers and most other readers refuse the whole document)."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _correlation(value: float) -> str:
    """A correlation for the table: four decimals, or "undefined" (see :func:`_json_ready`)."""
    return f"{value:.4f}" if math.isfinite(value) else "undefined"


# -- plot -----------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("vectors", type=VectorsPath())
@click.argument("words", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="PNG file to write.")
@_force_option
def plot(vectors, words, output, force):
    """Project WORDS to 2-D (PCA) and draw them; `a:b` draws an arrow from a to b.

    Needs matplotlib (pip install 'w2v[plot]').

    \b
    Example:
      w2v plot vectors.bin man:king woman:queen france:paris italy:rome -o analogies.png
    """
    try:
        from w2v.plot import plot_words
    except ImportError:
        raise click.ClickException("plotting needs matplotlib: pip install 'w2v[plot]'") from None
    _plan([output], [vectors], force)
    vecs = _load(vectors)
    with user_errors():
        plot_words(vecs, list(words), output, force=force)
    _out(f"wrote {output}")


#: Seconds after which :func:`_stop` sends again a signal that came while code called back from C ran.
RESEND_SECONDS = 0.01
#: Modules whose Python code compiled code calls back into (:func:`_stop`): llvmlite's (LLVM emitting a kernel),
#: and Numba's unpickling of a cached kernel's constants (its dispatcher's C code, as a kernel is first called).
CALLED_BACK_FROM_C = ("llvmlite.", "numba.core.serialize")


def _stop(signum, frame):
    """SIGINT (Ctrl-C), SIGTERM and SIGHUP stop a run (a KeyboardInterrupt: temporary files removed), exiting
    128 + the signal; not where the process was started ignoring them (``nohup``, see :func:`main`).

    Python runs the handler in the main thread, between two bytecodes of whatever Python code runs there.
    When that code was called back from compiled code (:data:`CALLED_BACK_FROM_C`: LLVM calls back into
    Python while Numba compiles or loads a kernel, as a first run does for seconds; Numba's dispatcher as it
    loads a cached kernel), an exception raised there is printed and dropped, the compile going on broken to a
    traceback, or comes out as a SystemError ("returned a result with an exception set") with a traceback.
    So, called by Python for the signal (not by another handler, which catches what it raises) with such code
    on the stack, it sends the signal again :data:`RESEND_SECONDS` later instead, once that code has
    returned."""
    if sys._getframe(1) is frame and _called_back_from_c(frame):
        # signal.raise_signal, not os.kill: on Windows os.kill ends the process at once, without a handler
        threading.Timer(RESEND_SECONDS, signal.raise_signal, (signum,)).start()
        return
    _stopped_by[0] = signum
    raise KeyboardInterrupt


def _called_back_from_c(frame) -> bool:
    """Whether ``frame`` or one of its callers is code of :data:`CALLED_BACK_FROM_C`."""
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith(CALLED_BACK_FROM_C):
            return True
        frame = frame.f_back
    return False


def main(argv=None):
    """Console-script entry point. It ends the process (click's SystemExit), and on its way out freezes
    Python's garbage collector (``gc.freeze``): the interpreter's last collection at exit would walk every
    object left, Numba's hundreds of thousands among them after a training run (most of the exit's time),
    only to free memory the ending process gives back anyway. Files are all written and closed by then."""
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        # a signal the process was started ignoring stays ignored: `nohup w2v train ...` must survive the
        # hangup at logout, as it would without these handlers (POSIX's convention for inherited SIG_IGN)
        if hasattr(signal, name) and signal.getsignal(getattr(signal, name)) is not signal.SIG_IGN:
            signal.signal(getattr(signal, name), _stop)
    try:
        cli.main(args=argv, prog_name="w2v")
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
