r"""A corpus of compressed files trained on a Dask cluster: how many compressed bytes each worker reads,
and the end-to-end time of ``w2v train --scheduler local:N``, against an older checkout (``--old``).

    python benchmarks/distributed_files.py --corpus /tmp/wiki8-lines.txt --files 10 --compression bz2 \
        --workers 2 --old OLD --repeat 3

``--corpus`` is cut at spaces into ``--files`` files of about equal size, each compressed
(``--folder``/w2v-distributed-files-N-EXT, made once and kept for later calls; delete it afterwards).
Each part's compressed bytes are what its worker reads to count and again to encode its part (counted
on the files each checkout's :class:`w2v.corpus.CorpusPart` opens, in a child process, no cluster; a
.bz2 file cut by its blocks is also read, not inflated, to find its blocks: whole by each worker in
older versions, 1/n of it by each since the workers find its layout together).
Each run is a child process of ``cli.py`` timed by ``/usr/bin/time`` (wall seconds, peak memory of
the command, not of its worker processes), checkouts alternating, after an untimed run of each on the
sample corpus (its kernels compiled); ``--threads 1`` a worker. ``--compression xz`` writes files of
2 MiB one-block streams (``read_speed.XzBlocksWriter``), which w2v cuts by their text.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from compare import (OneLineParser, at_least_one, check_old, existing_file, existing_folder,  # noqa: E402
                     run_in_one_line)
from read_speed import split_compressed  # noqa: E402
from timing import checkouts, result_name, scratch_vectors, time_command, warm_up, write_result  # noqa: E402

#: Run in a checkout's root: each part's compressed bytes read to read its part once (a JSON list, one
#: number a part), counted on the files w2v.corpus opens.
READ = r"""
import builtins, json, sys
import w2v.corpus
from w2v.corpus import Corpus
files, n = json.loads(sys.argv[1]), int(sys.argv[2])
taken = [0]

class Counting:
    def __init__(self, file):
        self._file = file
    def read(self, *a):
        data = self._file.read(*a)
        taken[0] += len(data)
        return data
    def readinto(self, buffer):
        got = self._file.readinto(buffer)
        taken[0] += got or 0
        return got
    def __getattr__(self, name):
        return getattr(self._file, name)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self._file.close()

# each part as its own worker reads it: no .bz2 layout found yet, or (a version whose workers find it
# together) only the one the cluster's client gives it, after scanning its share of the file for marks
forget = getattr(w2v.corpus, "forget_bzip2_layouts", None) or getattr(
    getattr(w2v.corpus, "_bzip2_layout", None), "cache_clear", lambda: None)
share = getattr(w2v.corpus, "bzip2_scan_share", None)
cut = [path for path, role in zip(files, Corpus(files).part(0, n).roles) if role == getattr(w2v.corpus, "BLOCKS", None)]
layouts = {}
if share is not None:  # (found beforehand, not counted: what the client gives each worker)
    from w2v import bzip2
    for path in cut:
        with builtins.open(path, "rb") as raw:
            layouts[path] = bzip2.blocks_of(raw)
w2v.corpus.open = lambda *a, **k: Counting(builtins.open(*a, **k))
read = []
for k in range(n):
    taken[0] = 0
    forget()
    if share is not None:
        for path in cut:
            size, mtime_ns, _, _ = share(path, k, n)
            w2v.corpus.keep_bzip2_layout(path, size, mtime_ns, layouts[path])
    for _ in Corpus(files).part(k, n).blocks():
        pass
    read.append(taken[0])
print(json.dumps(read))
"""


def make_folder(corpus: str, files: int, compression: str, parent: str) -> str:
    """``parent``/w2v-distributed-files-N-EXT: ``corpus`` cut at white space into ``files`` compressed files
    (:func:`read_speed.split_compressed`), made once."""
    folder = os.path.join(parent, f"w2v-distributed-files-{files}-{compression}")
    if not os.path.isdir(folder):
        partial = folder + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        os.makedirs(partial)
        split_compressed(corpus, files, partial, compression)
        os.rename(partial, folder)
    return folder


def read_bytes(root: str, files, workers: int):
    """Each part's compressed bytes read to read it once, by the checkout at ``root``."""
    done = subprocess.run([sys.executable, "-c", READ, json.dumps(files), str(workers)], cwd=root,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": root})
    if done.returncode != 0:
        raise SystemExit(f"counting the opened bytes in {root} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=existing_file, required=True)
    parser.add_argument("--files", type=at_least_one, default=10)
    parser.add_argument("--compression", choices=["bz2", "gz", "xz"], default="bz2",
                        help="xz: files of 2 MiB blocks, which w2v cuts by their text (as xz -T writes them)")
    parser.add_argument("--workers", type=at_least_one, default=2)
    parser.add_argument("--epochs", type=at_least_one, default=1)
    parser.add_argument("--folder", type=existing_folder, default=tempfile.gettempdir(),
                        help="where the folder of files is made")
    parser.add_argument("--old", help="an older checkout to compare with (its root folder)")
    parser.add_argument("--repeat", type=at_least_one, default=3)
    parser.add_argument("--name", type=result_name, default="distributed-files", help="results/NAME.md")
    args = parser.parse_args(argv)
    check_old(args.old)
    folder = make_folder(args.corpus, args.files, args.compression, args.folder)
    with scratch_vectors("w2v-distributed-files-") as out:
        run_all(args, folder, out)


def run_all(args, folder: str, out: str) -> None:
    versions = checkouts(args.old)
    files = sorted(os.path.join(folder, name) for name in os.listdir(folder))
    total = sum(os.path.getsize(path) for path in files)
    read = {version: read_bytes(root, files, args.workers) for version, root in versions}
    warm_up(versions, out)
    command = ["train", folder, "-o", out, "--epochs", str(args.epochs), "--scheduler", f"local:{args.workers}",
               "--threads", "1", "-q", "--force"]
    rows = []
    for run in range(1, args.repeat + 1):
        for version, root in versions:
            seconds, mib, _ = time_command([sys.executable, os.path.join(root, "cli.py")] + command)
            rows.append((version, run, seconds, mib))
            print(rows[-1], flush=True)
    lines = [f"# {args.files} .{args.compression} files on {args.workers} Dask workers", "",
             f"`python benchmarks/distributed_files.py --corpus {args.corpus} --files {args.files} --compression "
             f"{args.compression} --workers {args.workers} --epochs {args.epochs} --folder {args.folder}"
             f"{' --old OLD' if args.old else ''} --repeat {args.repeat}`; the timed command is "
             f"`cli.py {' '.join(command).replace(out, 'OUT').replace(folder, 'FOLDER')}` (`/usr/bin/time`: "
             f"the command's own peak memory, not its workers'; runs alternate)", "",
             f"Compressed bytes each part reads to read its part once (of {total:,}; counting and encoding "
             f"each read it once; a .bz2 file cut by its blocks is also read, not inflated, to find its "
             f"blocks: whole by each worker in older versions, 1/{args.workers} of it by each since the workers "
             f"find its layout together):", ""]
    lines += [f"- {version}: " + ", ".join(f"{b:,}" for b in read[version]) for version, _ in versions]
    lines += ["", "| version | run | wall s | peak MiB |", "|---|---|---|---|"]
    lines += [f"| {v} | {r} | {s:.2f} | {m:,.0f} |" for v, r, s, m in rows]
    lines.append("")
    for version, _ in versions:
        times = [s for v, _, s, _ in rows if v == version]
        lines.append(f"- {version}: median {statistics.median(times):.2f} s ({min(times):.2f}-{max(times):.2f})")
    write_result(args.name, lines)


if __name__ == "__main__":
    run_in_one_line(main, "distributed_files")
