"""The vocabulary w2v counts against word2vec.c's, word for word, with time and peak memory.

    python benchmarks/vocab_against_c.py --corpus /tmp/zipf500m.txt --word2vec-bin /tmp/word2vec-seeded \\
        --count-limits 10000000,21000000

For each ``--count-limits`` value, ``w2v vocab CORPUS -o FILE --count-limit L --min-count M --threads T``
(this tree's ``cli.py``), then word2vec.c once with ``-save-vocab`` and no ``-output`` (it stops after
counting: ``TrainModel`` returns when no output is named), each under ``/usr/bin/time``. Each w2v
vocabulary is compared with word2vec.c's (its ``</s>``, the count of line ends, left out): the words
only one of them keeps, and the words both keep with different counts. A corpus with more distinct
tokens than a limit is pruned while counting (word2vec.c prunes at 21 million), so this shows what a
limit costs in words and what it saves in memory. The report goes to ``results/<--name>.md`` (or ``--out``).
"""
from __future__ import annotations

import datetime
import os
import shutil
import sys
import tempfile
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from compare import OneLineParser, at_least_one, existing_file, existing_folder, run_in_one_line  # noqa: E402
from timing import RESULTS, invocation, result_name, time_command, write_result  # noqa: E402

CLI = os.path.join(os.path.dirname(HERE), "cli.py")


def limits(text: str) -> List[int]:
    """argparse ``type``: a comma-separated list of whole numbers of at least 1."""
    return [at_least_one(part) for part in text.split(",")]


def read_vocab(path: str) -> Dict[bytes, int]:
    """A ``word count`` file (word2vec.c's vocabulary format) as a dict; word2vec.c's ``</s>`` left out."""
    counts = {}
    with open(path, "rb") as f:
        for line in f:
            word, count = line.split()
            counts[word] = int(count)
    counts.pop(b"</s>", None)
    return counts


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=existing_file, required=True)
    parser.add_argument("--word2vec-bin", required=True)
    parser.add_argument("--count-limits", type=limits, default=[21_000_000])
    parser.add_argument("--min-count", type=at_least_one, default=5)
    parser.add_argument("--threads", type=at_least_one, default=2)
    parser.add_argument("--folder", type=existing_folder, default=tempfile.gettempdir(),
                        help="where the vocabularies are written")
    parser.add_argument("--name", type=result_name, default="vocab-against-c")
    parser.add_argument("--out", type=existing_folder, default=RESULTS, help="where the report goes")
    args = parser.parse_args(argv)
    if not (os.path.isfile(args.word2vec_bin) and os.access(args.word2vec_bin, os.X_OK)):
        parser.error(f"--word2vec-bin {args.word2vec_bin}: not an executable file")
    work = tempfile.mkdtemp(prefix="w2v-vocab-", dir=args.folder)  # nothing already in --folder is replaced
    try:
        c_path = os.path.join(work, "word2vec-c.txt")
        c_seconds, c_mib, _ = time_command([args.word2vec_bin, "-train", args.corpus, "-save-vocab", c_path,
                                            "-min-count", str(args.min_count), "-threads", str(args.threads)])
        theirs = read_vocab(c_path)
        rows = []
        for limit in args.count_limits:
            path = os.path.join(work, f"w2v-{limit}.txt")
            seconds, mib, _ = time_command([sys.executable, CLI, "vocab", args.corpus, "-o", path, "-q",
                                            "--count-limit", str(limit), "--min-count", str(args.min_count),
                                            "--threads", str(args.threads)])
            ours = read_vocab(path)
            both = ours.keys() & theirs.keys()
            rows.append((f"w2v --count-limit {limit:,}", seconds, mib, len(ours), len(ours.keys() - theirs.keys()),
                         len(theirs.keys() - ours.keys()), sum(ours[w] != theirs[w] for w in both)))
            print(rows[-1], flush=True)
    finally:
        shutil.rmtree(work)
    lines = [f"# The vocabulary against word2vec.c's ({datetime.date.today()})", "",
             f"`{invocation(__file__, argv)}`", "",
             f"Corpus `{args.corpus}` ({os.path.getsize(args.corpus) / 1e9:.2f} GB); min count {args.min_count}, "
             f"{args.threads} threads; each run once under `/usr/bin/time`. word2vec.c counts with `-save-vocab` "
             "and no `-output` (it stops after counting); its `</s>` is left out.", "",
             "| run | wall s | peak MiB | words | only in w2v's | only in word2vec.c's | same word, other count |",
             "|---|---|---|---|---|---|---|",
             f"| word2vec.c | {c_seconds:.1f} | {c_mib:,.0f} | {len(theirs):,} | | | |"]
    lines += [f"| {r} | {s:.1f} | {m:,.0f} | {n:,} | {a:,} | {b:,} | {d:,} |" for r, s, m, n, a, b, d in rows]
    write_result(args.name, lines, folder=args.out)


if __name__ == "__main__":
    run_in_one_line(main, "vocab_against_c")
