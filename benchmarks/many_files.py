r"""A corpus of many small files (one document a file): end-to-end time of ``w2v vocab`` and a 1-epoch
``w2v train`` on a folder of ``--files`` files cut from ``--corpus`` at spaces, against the same text as
one file, and against an older checkout (``--old``), runs alternating.

    python benchmarks/many_files.py --corpus /tmp/wiki8-lines.txt --files 100000 --folder /tmp --old OLD

The folder (``--folder``/w2v-many-files-N, 1,000 files to a subfolder) is made once and kept for later
calls (delete it afterwards). Each run is a child process timed by ``/usr/bin/time`` (wall seconds, peak
memory); the command line is ``cli.py`` of each checkout, its Python files compiled to bytecode first, as
``pip install`` does (``end_to_end.py`` says why).
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from compare import (OneLineParser, at_least_one, check_old, existing_file, existing_folder,  # noqa: E402
                     run_in_one_line)
from timing import checkouts, result_name, scratch_vectors, time_command, warm_up, write_result  # noqa: E402


def make_folder(corpus: str, files: int, parent: str) -> str:
    """``parent``/w2v-many-files-N: ``corpus`` cut at spaces into ``files`` files of about equal size."""
    folder = os.path.join(parent, f"w2v-many-files-{files}")
    if os.path.isdir(folder):
        return folder
    with open(corpus, "rb") as f:
        data = f.read()
    size, start = len(data) // files, 0
    partial = folder + ".partial"
    for i in range(files):
        sub = os.path.join(partial, f"d{i // 1000:04d}")
        if i % 1000 == 0:
            os.makedirs(sub, exist_ok=True)
        end = data.find(b" ", start + size) if i < files - 1 else len(data)
        end = len(data) if end < 0 else end
        with open(os.path.join(sub, f"f{i:07d}.txt"), "wb") as out:
            out.write(data[start:end])
        start = end
    os.rename(partial, folder)
    return folder


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=existing_file, required=True)
    parser.add_argument("--files", type=at_least_one, default=100_000)
    parser.add_argument("--folder", type=existing_folder, default=tempfile.gettempdir(),
                        help="where the folder of files is made")
    parser.add_argument("--old", help="an older checkout to compare with (its root folder)")
    parser.add_argument("--repeat", type=at_least_one, default=3)
    parser.add_argument("--name", type=result_name, default="many-files", help="results/NAME.md")
    args = parser.parse_args(argv)
    check_old(args.old)
    many = make_folder(args.corpus, args.files, args.folder)
    with scratch_vectors("w2v-many-") as out:
        run_all(args, many, out)


def run_all(args, many: str, out: str) -> None:
    """Time the jobs on ``many`` files and on the one file, write results/NAME.md."""
    versions = checkouts(args.old)
    warm_up(versions, out)
    jobs = {"vocab": ["vocab", "{corpus}", "-q"],
            "train 1 epoch": ["train", "{corpus}", "-o", out, "--epochs", "1", "-q", "--force"]}
    corpora = {f"{args.files:,} files": many, "one file": args.corpus}
    rows = []
    for run in range(1, args.repeat + 1):
        for job, template in jobs.items():
            for version, root in versions:
                for label, corpus in corpora.items():
                    if label == "one file" and version != "now":
                        continue
                    seconds, mib, _ = time_command([sys.executable, os.path.join(root, "cli.py")] +
                                                   [a.format(corpus=corpus) for a in template])
                    rows.append((job, version, label, run, seconds, mib))
                    print(rows[-1], flush=True)
    lines = [f"# A corpus of many small files: {args.files:,} files against one", "",
             f"`python benchmarks/many_files.py --corpus {args.corpus} --files {args.files} --folder {args.folder}"
             f"{' --old OLD' if args.old else ''} --repeat {args.repeat}` (the same text as {args.files:,} files "
             f"and as one file; `/usr/bin/time`; runs alternate)", "",
             "| job | version | corpus | run | wall s | peak MiB |", "|---|---|---|---|---|---|"]
    lines += [f"| {j} | {v} | {c} | {r} | {s:.2f} | {m:,.0f} |" for j, v, c, r, s, m in rows]
    lines.append("")
    for job in jobs:
        for version, _ in versions:
            for label in corpora:
                times = [s for j, v, c, _, s, _ in rows if (j, v, c) == (job, version, label)]
                if times:
                    lines.append(f"- {job}, {version}, {label}: median {statistics.median(times):.2f} s "
                                 f"({min(times):.2f}-{max(times):.2f})")
    write_result(args.name, lines)


if __name__ == "__main__":
    run_in_one_line(main, "many_files")
