"""Phrases and quality: wiki8 with two passes of phrases against wiki8 as it is, over several seeds.

    python benchmarks/phrases_quality.py --corpus /tmp/wiki8-lines.txt --seeds 1,2,3,4 \
        --name phrases-quality-seeds1-4

The corpus is phrased once (``w2v phrases --passes 2 --threshold 200 --threshold 100``, word2vec.c's
demo), then for every seed both texts are trained alternately with the same settings (sg-ns, 5 epochs,
2 threads, the defaults otherwise). Scores: phrase analogies (``questions-phrases.txt``: accuracy and
how many questions all four phrases are among the 30,000 most frequent words of); and, so that the
two vocabularies are compared on the same questions, word analogies, WordSim-353 and SimLex-999 on
the questions and pairs **both** vector sets cover (joining "new york" removes some occurrences of
"new", and whole words, from the phrased vocabulary), beside the scores on everything each covers.
Differences are phrased minus plain, paired by seed, mean ± standard error. A diagnostic row scores
the common questions with the phrase tokens taken out of the answers (how much of a difference comes
from phrases being wrong answers), and the phrase analogies are also scored over the whole vocabulary.

With ``--keep-words`` the phrased vectors come from ``w2v train CORPUS --phrases 2 --phrase-threshold 200
--phrase-threshold 100 --keep-words`` (each epoch trains the text as it is and then its phrased copy),
and a third set, the plain text trained for twice the epochs, compares them at the same training time.

    python benchmarks/phrases_quality.py --corpus /tmp/wiki8.txt --seeds 1,2,3,4 --keep-words \
        --name phrases-quality-keep-words-seeds1-4
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from compare import BadArgument, DATA, OneLineParser, positive_ints, run_in_one_line  # noqa: E402
from timing import RESULTS, free_stem, result_name, write_stem_files  # noqa: E402
from w2v.evaluate import evaluate_analogies, evaluate_pairs, read_analogies, read_pairs  # noqa: E402
from w2v.vectors import Vectors  # noqa: E402

W2V = [sys.executable, os.path.join(ROOT, "cli.py")]
ANALOGY_LIMIT = 30000


def covered(vectors: Vectors, word: str) -> bool:
    return vectors.lookup_ci(word, min(ANALOGY_LIMIT, len(vectors))) is not None


def common_files(plain: Vectors, phrased: Vectors, data: str, folder: str):
    """Question and pair files holding only what both vector sets cover."""
    both = {}
    questions = os.path.join(folder, "common-questions.txt")
    with open(questions, "w", encoding="utf-8") as f:
        for section, rows in read_analogies(os.path.join(data, "questions-words.txt")):
            f.write(f": {section}\n")
            for row in rows:
                if all(covered(plain, w) and covered(phrased, w) for w in row):
                    f.write(" ".join(row) + "\n")
    both["analogy"] = questions
    for name, file in (("ws353", "wordsim353.tsv"), ("simlex", "simlex999.txt")):
        path = os.path.join(folder, f"common-{name}.tsv")
        with open(path, "w", encoding="utf-8") as f:
            for a, b, score in read_pairs(os.path.join(data, file)):
                if all(v.lookup_ci(w, len(v)) is not None for v in (plain, phrased) for w in (a, b)):
                    f.write(f"{a}\t{b}\t{score}\n")
        both[name] = path
    return both


def single_words(vectors: Vectors) -> Vectors:
    """The vectors without their phrase tokens (a diagnostic: how much phrases cost as wrong answers)."""
    keep = [i for i, w in enumerate(vectors.words) if "_" not in w]
    return Vectors([vectors.words[i] for i in keep], vectors.matrix[keep])


def scores(vectors: Vectors, data: str, common: dict) -> dict:
    words = evaluate_analogies(vectors, os.path.join(data, "questions-words.txt"))
    phrases = evaluate_analogies(vectors, os.path.join(data, "questions-phrases.txt"))
    all_phrases = evaluate_analogies(vectors, os.path.join(data, "questions-phrases.txt"), restrict_vocab=None)
    common_words = evaluate_analogies(vectors, common["analogy"])
    return {
        "analogy (common, answers single words)": 100 * evaluate_analogies(single_words(vectors),
                                                                            common["analogy"]).accuracy,
        "phrase analogy (whole vocabulary)": 100 * all_phrases.accuracy,
        "phrase questions answered (whole vocabulary)": all_phrases.total.answered,
        "analogy (own coverage)": 100 * words.accuracy, "analogy coverage %": 100 * words.coverage,
        "analogy (common)": 100 * common_words.accuracy, "common questions": common_words.total.answered,
        "phrase analogy": 100 * phrases.accuracy if phrases.total.answered else float("nan"),
        "phrase questions answered": phrases.total.answered,
        "WS353 (common)": evaluate_pairs(vectors, common["ws353"]).spearman,
        "SimLex (common)": evaluate_pairs(vectors, common["simlex"]).spearman,
        "WS353 (own coverage)": evaluate_pairs(vectors, os.path.join(data, "wordsim353.tsv")).spearman,
    }


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--data", default=DATA, help="the evaluation sets, questions-phrases.txt among them")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--keep-words", action="store_true",
                        help="phrased vectors from --keep-words training, and plain vectors of twice the epochs")
    parser.add_argument("--name", type=result_name, default="phrases-quality")
    args = parser.parse_args(argv)
    seeds = positive_ints("--seeds", args.seeds)
    if not os.path.isfile(args.corpus):
        raise BadArgument(f"--corpus {args.corpus}: no such file")
    missing = [f for f in ("questions-words.txt", "questions-phrases.txt", "wordsim353.tsv", "simlex999.txt")
               if not os.path.isfile(os.path.join(args.data, f))]
    if missing:
        raise BadArgument(f"--data {args.data}: it lacks {', '.join(missing)}")
    for option, value in (("--epochs", args.epochs), ("--threads", args.threads)):
        if value < 1:
            raise BadArgument(f"{option} {value}: must be at least 1")
    with tempfile.TemporaryDirectory(prefix="w2v-phrases-quality-") as work:
        phrased_text = os.path.join(work, "phrased.txt")
        if not args.keep_words:  # (--keep-words phrases while training)
            subprocess.run(W2V + ["phrases", args.corpus, "-o", phrased_text, "--passes", "2", "--threshold", "200",
                                  "--threshold", "100", "-q"], check=True)
        phrasing = ["--phrases", "2", "--phrase-threshold", "200", "--phrase-threshold", "100", "--keep-words"]
        texts = [("plain", [args.corpus], args.epochs)]
        texts += [("phrased", [args.corpus] + phrasing, args.epochs), (TWICE, [args.corpus], 2 * args.epochs)] \
            if args.keep_words else [("phrased", [phrased_text], args.epochs)]
        runs = []
        for seed in seeds:
            vectors = {}
            for name, text, epochs in texts:
                out = os.path.join(work, f"{name.replace(' ', '-')}-{seed}.bin")
                subprocess.run(W2V + ["train"] + text + ["-o", out, "-q", "--threads", str(args.threads), "--epochs",
                                                         str(epochs), "--seed", str(seed)], check=True)
                vectors[name] = Vectors.load(out)
            common = common_files(vectors["plain"], vectors["phrased"], args.data, work)
            for name, _, _ in texts:
                runs.append({"seed": seed, "text": name, **scores(vectors[name], args.data, common)})
                print(json.dumps(runs[-1]), flush=True)
    write_report(runs, args)


TWICE = "plain, twice the epochs"


def mean_se(values):
    values = [v for v in values if v == v]
    if not values:
        return "–"
    se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else float("nan")
    return f"{statistics.mean(values):.4g} ± {se:.2g}"


def write_report(runs, args):
    keys = [k for k in runs[0] if k not in ("seed", "text")]
    references = ["plain"] + ([TWICE] if any(r["text"] == TWICE for r in runs) else [])
    lines = [f"# {__doc__.splitlines()[0]}", "",
             f"`python benchmarks/phrases_quality.py --corpus {args.corpus} --seeds {args.seeds}"
             f" --epochs {args.epochs} --threads {args.threads}{' --keep-words' if args.keep_words else ''}"
             f" --name {args.name}`", "",
             "| metric | " + " | ".join(references + ["phrased"]) + " | "
             + " | ".join(f"phrased − {r} (paired)" for r in references) + " |",
             "|---" * (2 * len(references) + 2) + "|"]
    for key in keys:
        by = {t: {r["seed"]: r[key] for r in runs if r["text"] == t} for t in references + ["phrased"]}
        cells = [mean_se(by[t].values()) for t in references + ["phrased"]]
        cells += [mean_se([by["phrased"][s] - by[r][s] for s in by[r]]) for r in references]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    stem = free_stem(args.name, (".md", ".json"))  # a run never replaces one recorded before
    write_stem_files(RESULTS, stem, {".md": "\n".join(lines) + "\n", ".json": json.dumps(runs, indent=1)})
    print("\n".join(lines))


if __name__ == "__main__":
    run_in_one_line(main, "phrases_quality")
