"""Timing a command from outside, as the benchmarks do (wall seconds and peak resident memory), and
writing what was measured to ``results/``; and a Numba cache of a benchmark's own. Imports no Numba."""
from __future__ import annotations

import argparse
import atexit
import compileall
import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from typing import Iterator, List, Optional, Sequence, Tuple


def invocation(script: str, argv: Optional[Sequence[str]]) -> str:
    """The command line a result records: ``python benchmarks/<script's file name> <arguments>``, the
    arguments ``argv`` or, when None, this process's own, quoted as a shell needs them (``--args "--threads 2"``)."""
    return f"python benchmarks/{os.path.basename(script)} {shlex.join(sys.argv[1:] if argv is None else argv)}"


def time_command(command: List[str]) -> Tuple[float, float, str]:
    """Run ``command`` under ``/usr/bin/time``; returns (wall seconds, peak MiB, its standard output).
    A command that fails ends the benchmark with its error."""
    seconds, mib, done = time_command_full(command)
    return seconds, mib, done.stdout


def time_command_full(command: List[str]) -> Tuple[float, float, subprocess.CompletedProcess]:
    """:func:`time_command`, returning the whole finished process (its standard error without the timing
    line) in place of the standard output."""
    done = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    *rest, timing = done.stderr.strip().splitlines()
    seconds, kib = timing.split()
    done.stderr = "\n".join(rest)
    return float(seconds), int(kib) / 1024, done


_RESULT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


def result_name(text: str) -> str:
    """``text`` if it is a results file's name: letters, digits, ``.``, ``_`` and ``-``, not starting with
    ``.`` or ``-``, so ``results/NAME.md`` (or ``--out``'s ``NAME.md``) stays in that folder. The ``type``
    of every benchmark's ``--name``, so a bad one is refused before anything runs, not after an hour."""
    if not _RESULT_NAME.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a results file's name (letters, digits, '.', '_' "
                                         f"and '-'; no path)")
    return text


#: Where the benchmarks record what they measured.
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def free_stem(name: str, suffixes: Sequence[str] = (".md",), folder: str = RESULTS) -> str:
    """``name``, or else ``name-2``, ``name-3``, …: the first stem for which none of ``folder/STEM<suffix>``
    exists, so that a run never replaces one recorded before (a benchmark's default name, a name used
    twice, or ``compare.py --merge`` named as one of its inputs). ``name`` must be :func:`result_name`'s."""
    try:
        result_name(name)
    except argparse.ArgumentTypeError as error:
        raise ValueError(str(error)) from None
    stem, k = name, 1
    while any(os.path.lexists(os.path.join(folder, stem + suffix)) for suffix in suffixes):
        k += 1
        stem = f"{name}-{k}"
    return stem


def create_new(path: str):
    """``path`` opened for writing text, created here: an existing file (another run's) is an error, never replaced."""
    return open(path, "x")


def write_stem_files(folder: str, stem: str, texts: dict) -> None:
    """Create ``folder/STEM<suffix>`` with ``text`` for each ``suffix: text`` of ``texts`` (STEM from
    :func:`free_stem`: a file that is there is an error, never replaced), and say where they went."""
    for suffix, text in texts.items():
        with create_new(os.path.join(folder, stem + suffix)) as f:
            f.write(text)
    first, *rest = texts
    print(f"wrote {os.path.join(folder, stem)}{first}" + "".join(f" and {suffix}" for suffix in rest), file=sys.stderr)


def write_result(name: str, lines, folder: str = RESULTS) -> str:
    """Write ``lines`` (a list of lines, or the text) to ``folder/STEM.md``, STEM being :func:`free_stem`'s
    for ``name`` (so a result recorded before is never replaced), print them and say where they went;
    returns the path."""
    text = lines if isinstance(lines, str) else "\n".join(lines) + "\n"
    os.makedirs(folder, exist_ok=True)
    while True:
        path = os.path.join(folder, free_stem(name, folder=folder) + ".md")
        try:
            with create_new(path) as f:
                f.write(text)
            break
        except FileExistsError:  # another run took the name in between: the next one
            continue
    print(text)
    print(f"wrote {path}", file=sys.stderr)
    return path


def numba_cache_of_its_own(prefix: str) -> str:
    """Point Numba's cache (``NUMBA_CACHE_DIR``) at a new temporary folder, removed when the process ends
    however it ends, and return it: the kernels are compiled afresh, and the package's cached ones are
    neither used nor overwritten. Call it before Numba is imported."""
    folder = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, folder, True)  # (ignore_errors)
    os.environ["NUMBA_CACHE_DIR"] = folder
    return folder


#: This checkout's root folder.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def checkouts(old: Optional[str]) -> List[Tuple[str, str]]:
    """The checkouts a benchmark compares: ``("now", this one)`` and, with ``old``, ``("old", its root)``."""
    return [("now", ROOT)] + ([("old", os.path.abspath(old))] if old else [])


def warm_up(versions: List[Tuple[str, str]], out: str) -> None:
    """Each checkout's Python files compiled to bytecode (as ``pip install`` does) and its kernels compiled,
    by an untimed 1-epoch ``cli.py train`` of the sample corpus into ``out``."""
    for _, root in versions:
        compileall.compile_dir(os.path.join(root, "w2v"), quiet=1)
        time_command([sys.executable, os.path.join(root, "cli.py"), "train",
                      os.path.join(ROOT, "corpora", "sample.txt"), "-o", out, "--epochs", "1", "-q", "--force"])


@contextlib.contextmanager
def scratch_vectors(prefix: str) -> Iterator[str]:
    """A path for the vectors the timed runs write, in a temporary folder removed at the end."""
    scratch = tempfile.mkdtemp(prefix=prefix)
    try:
        yield os.path.join(scratch, "v.bin")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
