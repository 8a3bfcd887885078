"""Scale: a synthetic corpus of hundreds of millions of tokens and tens of millions of distinct ones,
one epoch end to end in w2v, word2vec.c and gensim.

    python benchmarks/seeded_word2vec_c.py -o /tmp/word2vec-seeded
    python benchmarks/synthetic_scale.py --tokens 500000000 --exponent 1.2 --word2vec-bin /tmp/word2vec-seeded

The corpus comes from ``zipf_corpus.py`` (made in a new folder inside ``--folder`` with the
vectors, and deleted with it; with ``--keep`` written to ``--folder`` itself, never over a file
there; or given with ``--corpus``). Each system runs once, in turn, under ``/usr/bin/time``
(wall seconds, peak resident memory): the whole command, from reading the text to the written
vectors file, with the same settings (``--config``, 1 epoch, dim 100, window 5, sample 1e-3,
``--min-count`` (5), 2 threads; ``--min-count 1`` keeps every distinct token a word: a vocabulary of
millions). The kept vocabulary of each is read off its file's header. The report goes
to ``results/<--name>.md``. Quality is not measured: the tokens are random.
"""
from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from compare import OneLineParser, run_in_one_line  # noqa: E402
from quality_time import CONFIGS, command  # noqa: E402
from timing import invocation, result_name, time_command, write_result  # noqa: E402

SYSTEMS = {"w2v": "w2v", "word2vec.c": "word2vec-c", "gensim": "gensim-file"}


def vocabulary_size(path: str) -> int:
    """The number of words a word2vec file holds (its header's first number)."""
    with open(path, "rb") as f:
        return int(f.readline().split()[0])


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", help="an existing corpus (else one is made)")
    parser.add_argument("--tokens", type=int, default=500_000_000)
    parser.add_argument("--exponent", type=float, default=1.2)
    parser.add_argument("--folder", default=tempfile.gettempdir())
    parser.add_argument("--keep", action="store_true", help="keep the corpus made")
    parser.add_argument("--word2vec-bin", required=True)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="cbow-ns")
    parser.add_argument("--systems", default="w2v,word2vec.c,gensim")
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--name", type=result_name, default="synthetic-scale")
    args = parser.parse_args(argv)
    systems = args.systems.split(",")
    if args.tokens < 1000:
        parser.error(f"--tokens {args.tokens}: expected at least 1000")
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        parser.error(f"unknown system {unknown[0]!r} (choose from {', '.join(SYSTEMS)})")
    if not os.path.exists(args.word2vec_bin) and "word2vec.c" in systems:
        parser.error(f"--word2vec-bin {args.word2vec_bin}: no such file")
    if args.corpus is not None and not os.path.isfile(args.corpus):
        parser.error(f"--corpus {args.corpus}: no such file")
    if args.min_count < 1:
        parser.error(f"--min-count {args.min_count}: expected at least 1")
    if args.exponent <= 1:
        parser.error(f"--exponent {args.exponent}: a zipf law needs more than 1")
    if not os.path.isdir(args.folder):
        parser.error(f"--folder {args.folder}: no such folder")
    work = tempfile.mkdtemp(prefix="w2v-scale-", dir=args.folder)  # nothing already in --folder is replaced
    corpus, made = args.corpus, None
    out = os.path.join(work, "vectors.bin")
    rows = []
    try:
        if corpus is None:
            corpus = made = os.path.join(args.folder if args.keep else work, f"zipf-{args.tokens}.txt")
            if os.path.exists(made):
                parser.error(f"{made} exists already; move it away or pass it as --corpus")
            subprocess.run([sys.executable, os.path.join(HERE, "zipf_corpus.py"), corpus, "--tokens",
                            str(args.tokens), "--exponent", str(args.exponent)], check=True)
        size = os.path.getsize(corpus)
        for system in systems:
            seconds, mib, _ = time_command(command(SYSTEMS[system], args.config, 1, corpus, out, 1,
                                                   args.word2vec_bin, False, args.min_count))
            rows.append((system, seconds, mib, vocabulary_size(out)))
            print(rows[-1], flush=True)
    finally:
        shutil.rmtree(work)
    lines = [f"# Scale: a synthetic corpus, one epoch end to end ({datetime.date.today()})", "",
             f"`{invocation(__file__, argv)}`", "",
             f"Corpus: {'`' + corpus + '`' if made is None else f'zipf_corpus.py, {args.tokens:,} tokens, exponent {args.exponent}'}"
             f" ({size / 1e9:.2f} GB); {args.config}, 1 epoch, dim 100, window 5, sample 1e-3, "
             f"min-count {args.min_count}, "
             "2 threads; each system once, in turn, under `/usr/bin/time`.", "",
             "| system | wall s | peak MiB | words kept |", "|---|---|---|---|"]
    lines += [f"| {s} | {w:.1f} | {m:,.0f} | {v:,} |" for s, w, m, v in rows]
    write_result(args.name, lines)


if __name__ == "__main__":
    run_in_one_line(main, "synthetic_scale")
