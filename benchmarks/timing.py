"""Timing a command from outside, as the benchmarks do (wall seconds and peak resident memory), and
writing what was measured to ``results/``."""
from __future__ import annotations

import os
import subprocess
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


def write_result(name: str, lines: List[str]) -> None:
    """Write ``lines`` to ``results/NAME.md`` beside this file, and print them."""
    text = "\n".join(lines) + "\n"
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", name + ".md"), "w") as f:
        f.write(text)
    print(text)
