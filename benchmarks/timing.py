"""Timing a command from outside, as the benchmarks do (wall seconds and peak resident memory), and
writing what was measured to ``results/``; and a Numba cache of a benchmark's own. Imports no Numba."""
from __future__ import annotations

import argparse
import atexit
import os
import re
import shutil
import subprocess
import tempfile
from typing import List, Tuple


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


def write_result(name: str, lines: List[str]) -> None:
    """Write ``lines`` to ``results/NAME.md`` beside this file (NAME: :func:`result_name`), and print them."""
    try:
        result_name(name)
    except argparse.ArgumentTypeError as error:
        raise ValueError(str(error)) from None
    text = "\n".join(lines) + "\n"
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", name + ".md"), "w") as f:
        f.write(text)
    print(text)


def numba_cache_of_its_own(prefix: str) -> str:
    """Point Numba's cache (``NUMBA_CACHE_DIR``) at a new temporary folder, removed when the process ends
    however it ends, and return it: the kernels are compiled afresh, and the package's cached ones are
    neither used nor overwritten. Call it before Numba is imported."""
    folder = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, folder, True)  # (ignore_errors)
    os.environ["NUMBA_CACHE_DIR"] = folder
    return folder
