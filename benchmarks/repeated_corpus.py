r"""Billions of words without the disk space: ``w2v train`` on a folder of ``--copies`` hard links to one
corpus file, so the corpus holds ``copies`` times its tokens while the disk holds it once.

    python benchmarks/repeated_corpus.py --corpus /tmp/wiki8-lines.txt --copies 132 --min-count 5

132 copies of wiki8 (16,699,276 tokens) make 2,204,304,432 tokens, past 2**31: every count, offset and
position of the run must be 64-bit. The run is 1 epoch, skip-gram with negative sampling, 2 threads,
timed by ``/usr/bin/time``; its ``--min-count`` is ``copies`` times the one given, so the vocabulary
must be the file's own at ``--min-count``, every count ``copies`` times the file's. The benchmark checks
that against ``w2v vocab`` on the file alone and against the tokens the run reports trained, and scores
the vectors on the analogy and word-pair sets of ``--data``. The folder (``--folder``/w2v-repeated-N)
and the run's files are deleted afterwards; the encoded corpus is spooled to ``--cache-dir`` (4 bytes a
token: 8.8 GB for 132 copies of wiki8).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from timing import result_name, time_command_full, write_result  # noqa: E402

sys.path.insert(0, ROOT)
from w2v.vocab import Vocabulary  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--copies", type=int, default=132)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--folder", default=tempfile.gettempdir(), help="where the folder of links is made")
    parser.add_argument("--cache-dir", default=tempfile.gettempdir())
    parser.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    parser.add_argument("--name", type=result_name, default="repeated-corpus")
    args = parser.parse_args(argv)
    cli = [sys.executable, os.path.join(ROOT, "cli.py")]
    folder = os.path.join(args.folder, f"w2v-repeated-{args.copies}")
    work = tempfile.mkdtemp(prefix="w2v-repeated-")
    os.makedirs(folder)
    try:
        for i in range(args.copies):
            os.link(args.corpus, os.path.join(folder, f"part{i:05d}.txt"))
        one = os.path.join(work, "one.vocab")
        subprocess.run(cli + ["vocab", args.corpus, "--min-count", str(args.min_count), "-o", one, "-q"], check=True)
        vectors, vocab = os.path.join(work, "v.bin"), os.path.join(work, "v.vocab")
        command = cli + ["train", folder, "-o", vectors, "--min-count", str(args.min_count * args.copies),
                         "--threads", "2", "--epochs", "1", "--save-vocab", vocab, "--cache-dir", args.cache_dir]
        seconds, mib, done = time_command_full(command)
        summary = next(line for line in reversed(done.stderr.splitlines()) if line.startswith("vocabulary "))
        whole, single = Vocabulary.load(vocab), Vocabulary.load(one)
        same = whole.words == single.words and (whole.counts == args.copies * single.counts).all()
        evaluate = cli + ["evaluate", vectors, "--analogies", os.path.join(args.data, "questions-words.txt"),
                          "--pairs", os.path.join(args.data, "wordsim353.tsv"),
                          "--pairs", os.path.join(args.data, "simlex999.txt")]
        scores = subprocess.run(evaluate, capture_output=True, text=True, check=True).stdout.strip().splitlines()
        kept = [" ".join(line.split()) for line in scores if line.strip().startswith("total") or "Spearman" in line]
        tokens = int(whole.counts.sum())
        write_result(args.name, [
            f"# {args.copies} copies of {os.path.basename(args.corpus)}: {tokens:,} tokens in the vocabulary's words",
            "",
            f"`python benchmarks/repeated_corpus.py --corpus {args.corpus} --copies {args.copies} "
            f"--min-count {args.min_count}`",
            "",
            f"`{' '.join(['w2v'] + command[2:])}` under `/usr/bin/time`:",
            "",
            f"- {seconds:.1f} s end to end, peak resident memory {mib:,.0f} MiB",
            f"- {summary}",
            f"- vocabulary: {len(whole):,} words, every count {args.copies} times the file's alone "
            f"(`w2v vocab --min-count {args.min_count}`): {'yes' if same else 'NO'}",
            "- scores: " + "; ".join(kept),
        ])
        if not same:
            raise SystemExit("the vocabulary is not the file's own times the copies")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
