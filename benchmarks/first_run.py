"""A new user's first run: the README's training command with an empty Numba cache, then again.

    git worktree add --detach /tmp/old HEAD~1          # an older checkout to compare with (optional)
    python benchmarks/first_run.py --old /tmp/old --repeat 2 --name first-run-copy-loops
    python benchmarks/first_run.py --init --old /tmp/old    # a model trained further (after an upgrade)
    python benchmarks/first_run.py --init --update-vocab --old /tmp/old    # ... with the corpus's new words
    python benchmarks/first_run.py --command phrases --old /tmp/old        # `w2v phrases CORPUS -o p.txt -q`
    python benchmarks/first_run.py --args "--scheduler local:1 --threads 2" --old /tmp/old    # on Dask

``--command phrases`` or ``vocab`` times ``w2v phrases CORPUS -o p.txt -q`` or ``w2v vocab CORPUS -o v.tsv
-q`` instead of training. With ``--init`` the timed command is ``train CORPUS --init MODEL``: MODEL is a
checkpoint each tree makes first (one epoch, its own throwaway cache, not timed), as a user who trained
before an upgrade has one. ``--args`` adds arguments to the timed command (one string, split as a shell
would).

The first run compiles every kernel it needs and writes them to Numba's cache (a new empty folder,
``NUMBA_CACHE_DIR``, for every run); the second run loads them from there. Each tree runs its own
``cli.py`` with its own ``w2v`` first on ``PYTHONPATH``; runs alternate. Wall seconds of the whole
command, start to exit.
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from timing import checkouts, invocation, result_name, write_result  # noqa: E402

#: The output each timed command writes (``--command``).
OUTPUTS = {"train": "v.bin", "phrases": "p.txt", "vocab": "v.tsv"}


def timed_runs(tree: str, args) -> tuple:
    """(first, second) wall seconds of ``cli.py COMMAND`` in ``tree`` sharing one new empty Numba cache."""
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=tree)
        command = [sys.executable, os.path.join(tree, "cli.py"), args.command, args.corpus, "-o",
                   os.path.join(out, OUTPUTS[args.command]), "-q"] + args.args
        if args.init:
            model = os.path.join(out, "m.w2vm")
            with tempfile.TemporaryDirectory() as other_cache:
                done = subprocess.run(command + ["--epochs", "1", "--checkpoint", model], cwd=tree, capture_output=True,
                                      text=True, env=dict(env, NUMBA_CACHE_DIR=other_cache))
            if done.returncode != 0:
                sys.exit(f"{tree}: {done.stderr.strip()}")
            command += ["--init", model] + (["--update-vocab"] if args.update_vocab else [])
        seconds = []
        for _ in range(2):
            start = time.perf_counter()
            done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
            seconds.append(time.perf_counter() - start)
            if done.returncode != 0:
                sys.exit(f"{tree}: {done.stderr.strip()}")
    return tuple(seconds)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=os.path.join(ROOT, "corpora", "sample.txt"))
    parser.add_argument("--old", help="an older checkout to compare with (its root folder)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--command", choices=sorted(OUTPUTS), default="train",
                        help="the command timed (default: the README's training)")
    parser.add_argument("--args", type=shlex.split, default=[], help="more arguments for the timed command, as one "
                        "string")
    parser.add_argument("--init", action="store_true", help="time `train CORPUS --init MODEL` (module docstring)")
    parser.add_argument("--update-vocab", action="store_true", help="with --init: add the corpus's new words")
    parser.add_argument("--name", type=result_name, default="first-run")
    args = parser.parse_args(argv)
    args.corpus = os.path.abspath(args.corpus)
    if args.update_vocab and not args.init:
        parser.error("--update-vocab goes with --init")
    if args.init and args.command != "train":
        parser.error("--init goes with --command train")
    trees = checkouts(args.old)
    rows = []
    for r in range(1, args.repeat + 1):
        for name, tree in trees:
            first, second = timed_runs(tree, args)
            rows.append((name, r, first, second))
            print(f"{name} run {r}: first {first:.1f} s, second {second:.1f} s", flush=True)
    command = invocation(__file__, argv)
    timed = (f"w2v {args.command} {os.path.relpath(args.corpus, ROOT)} -o {OUTPUTS[args.command]} -q"
             + (" --init m.w2vm" if args.init else "")
             + (" --update-vocab" if args.update_vocab else "") + (f" {shlex.join(args.args)}" if args.args else ""))
    lines = ["# First run: compiling the kernels\n", f"`{command}` (`{timed}`; a new empty Numba cache for each "
             f"pair of runs; runs alternate)\n",
             "| version | run | first run s (compiles) | second run s (cache) |", "|---|---|---|---|"]
    lines += [f"| {name} | {r} | {first:.1f} | {second:.1f} |" for name, r, first, second in rows]
    write_result(args.name, lines)


if __name__ == "__main__":
    main()
