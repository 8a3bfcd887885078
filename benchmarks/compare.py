"""Side-by-side benchmark: w2v, word2vec.c and gensim on one corpus, same settings, same cores.

    python benchmarks/compare.py --corpus ../shared/data/wiki8.txt.gz --threads 2 --repeat 3 \\
        --configs sg-ns,cbow-ns,sg-hs
    python benchmarks/compare.py --quick            # a 1M-token slice, one repeat: a few minutes

The corpus is first written once as plain text in lines of ``--line-words``
words (1000 by default, word2vec.c's own sentence length), so every system
reads the same file with the same sentences. Runs alternate between systems
(A B C A B C ...) so that drift of the machine hits all alike; each is a child
process whose wall time and peak memory (``ru_maxrss``) are measured here,
and whose vectors are evaluated by one evaluator (w2v's): analogies on
questions-words (30,000 most frequent words, case-insensitive), WordSim-353
and SimLex-999 Spearman.

Each system also reports the corpus words it walked through per epoch; a run
that trained noticeably fewer words than the others (gensim's corpus_file
mode skips data with some line layouts, gensim issues #2693 and #2757) is
flagged in the table.

Results go to ``--out`` (default benchmarks/results/) as JSON and markdown,
with a PNG of words/sec against analogy accuracy when matplotlib is there.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from w2v import Vectors  # noqa: E402
from w2v.evaluate import evaluate_analogies, evaluate_pairs  # noqa: E402
from systems import w2v_variant  # noqa: E402  (beside this script)
from timing import create_new, free_stem, result_name, write_stem_files  # noqa: E402

#: The files a comparison named STEM writes (the runs so far, the report, its tables, its plot): a stem is
#: taken only when none of them exists, so no run replaces another's.
STEM_SUFFIXES = (".runs.jsonl", ".json", ".md", ".png")

SYSTEMS = ["w2v", "word2vec-c", "gensim-file", "gensim-iter"]
ALL_SYSTEMS = SYSTEMS + ["w2v-exact", "w2v-batched"]
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")  # this project's development data, when beside it
EVALUATION_SETS = ("questions-words.txt", "wordsim353.tsv", "simlex999.txt")
TEXT8_HINT = "python corpora/download_text8.py (100 MB, written to ./text8)"


class BadArgument(ValueError):
    """A bad option or input: said in one line, never a traceback."""


def default_corpus():
    """The corpus when none is given: this project's wiki8, else ./text8, where ``corpora/download_text8.py`` puts it."""
    for path in (os.path.join(DATA, "wiki8.txt.gz"), "text8"):
        if os.path.isfile(path):
            return path
    return None


def default_data():
    """The evaluation sets when no ``--data`` is given: this project's, else the copies gensim ships in its tests.

    gensim (installed by the ``bench`` extra) carries questions-words.txt, wordsim353.tsv and simlex999.txt in
    ``gensim/test/test_data``; they are the files every word2vec paper scores on.
    """
    folders = [DATA]
    spec = importlib.util.find_spec("gensim")
    if spec is not None and spec.origin:
        folders.append(os.path.join(os.path.dirname(spec.origin), "test", "test_data"))
    for folder in folders:
        if all(os.path.isfile(os.path.join(folder, name)) for name in EVALUATION_SETS):
            return folder
    return None


def prepare_corpus(source: str, folder: str, line_words: int, max_tokens=None) -> str:
    """Write ``source`` as plain text, ``line_words`` words a line (at most ``max_tokens``); returns the path."""
    from w2v.corpus import Corpus
    target = os.path.join(folder, "corpus.txt")
    pending = []
    budget = max_tokens if max_tokens is not None else float("inf")
    with open(target, "wb") as out:
        for tokens in Corpus([source]).tokens():
            pending.extend(tokens[:max(0, int(min(budget, len(tokens))))])
            budget -= len(tokens)
            whole = len(pending) - len(pending) % line_words
            for i in range(0, whole, line_words):
                out.write(b" ".join(pending[i:i + line_words]) + b"\n")
            pending = pending[whole:]
            if budget <= 0:
                break
        if pending:
            out.write(b" ".join(pending) + b"\n")
    return target


def find_word2vec(explicit):
    """The word2vec.c binary: --word2vec-bin, else `word2vec` on PATH or beside this Python."""
    candidates = [explicit] if explicit else [shutil.which("word2vec"),
                                              os.path.join(os.path.dirname(sys.executable), "word2vec")]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


# Linux carries a process's peak RSS across fork and exec, so a child forked straight from this
# (large, after evaluating vectors) process would report at least our own peak. A small launcher
# process forks the child instead and reports the child's own ru_maxrss (in KiB).
_LAUNCHER = ("import os, subprocess, sys\n"
             "child = subprocess.Popen(sys.argv[1:])\n"
             "_, status, usage = os.wait4(child.pid, 0)\n"
             "sys.stderr.write('\\nW2V-BENCH-MAXRSS %d\\n' % usage.ru_maxrss)\n"
             "sys.exit(os.waitstatus_to_exitcode(status))\n")


def run_child(command):
    """Run ``command``; returns (JSON it printed, wall seconds, peak RSS of the command in MiB)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER] + command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip() and "W2V-BENCH-MAXRSS" not in line]
        raise RuntimeError(f"{os.path.basename(command[1])} {command[2]} failed (exit {done.returncode}): "
                           f"{lines[-1].strip() if lines else 'no message'}")
    peak_kib = int(done.stderr.rsplit("W2V-BENCH-MAXRSS", 1)[1].split()[0])
    return json.loads(done.stdout.strip().splitlines()[-1]), wall, peak_kib / 1024


def evaluate(path: str, data: str):
    vectors = Vectors.load(path)
    scores = {}
    if data == "none":
        return scores
    questions = os.path.join(data, "questions-words.txt")
    if os.path.exists(questions):
        result = evaluate_analogies(vectors, questions, restrict_vocab=30000)
        scores.update(analogy=100 * result.total.accuracy, semantic=100 * result.semantic.accuracy,
                      syntactic=100 * result.syntactic.accuracy)
    for name, file in (("wordsim353", "wordsim353.tsv"), ("simlex999", "simlex999.txt")):
        if os.path.exists(os.path.join(data, file)):
            scores[name] = evaluate_pairs(vectors, os.path.join(data, file)).spearman
    return scores


def machine_info():
    info = {"python": platform.python_version(), "platform": platform.platform(), "cores": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
        with open("/proc/meminfo") as f:
            info["memory_gib"] = round(int(f.readline().split()[1]) / 2 ** 20, 1)
    except (OSError, StopIteration):
        pass
    # Versions from the installed metadata, never by importing: this process is the children's parent,
    # and a Numba (llvmlite) it had loaded would be shared with every w2v child, whose w2v/memory.py
    # can then not drop LLVM's pages (shared pages are skipped): their peak memory would read ~45 MiB high.
    from importlib.metadata import PackageNotFoundError, version
    import w2v
    versions = {"w2v": w2v.__version__}
    for module, name in (("numba", "numba"), ("numpy", "numpy"), ("gensim", "gensim"), ("word2vec (PyPI)", "word2vec")):
        try:
            versions[module] = version(name)
        except PackageNotFoundError:
            versions[module] = None
    try:
        versions["gcc"] = subprocess.run(["gcc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        versions["gcc"] = None
    info["versions"] = versions
    return info


def summarise(runs):
    """Median, min, max, mean and sd of each measure over the repeats of one (config, system, threads)."""
    groups = {}
    for run in runs:
        groups.setdefault((run["config"], run["system"], run["threads"]), []).append(run)
    rows = []
    for (config, system, threads), items in groups.items():
        row = {"config": config, "system": system, "threads": threads, "repeats": len(items)}
        for key in ("words_per_second", "train_seconds", "wall_seconds", "peak_mib", "analogy", "semantic",
                    "syntactic", "wordsim353", "simlex999", "raw_words_per_epoch", "effective_words_per_epoch"):
            values = [r[key] for r in items if r.get(key) is not None]
            if values:
                row[key] = {"median": statistics.median(values), "min": min(values), "max": max(values),
                            "mean": statistics.fmean(values),
                            "sd": statistics.stdev(values) if len(values) > 1 else 0.0, "n": len(values)}
        rows.append(row)
    # flag runs that trained noticeably fewer words than the others of their configuration
    for config in {r["config"] for r in rows}:
        for key in ("raw_words_per_epoch", "effective_words_per_epoch"):
            same = [r for r in rows if r["config"] == config and key in r]
            if len(same) < 2:
                continue
            most = max(r[key]["median"] for r in same)
            for r in same:
                if r[key]["median"] < 0.9 * most:
                    r["fewer_words"] = True
    return rows


def markdown(report):
    lines = [f"# w2v benchmark, {report['date']}", "",
             f"Corpus `{report['corpus']}` ({report['tokens']:,} tokens, lines of {report['line_words']} words); "
             f"dim {report['dim']}, window 5, sample 1e-3, min-count 5, {report['epochs']} epochs; "
             f"median of {report['repeat']} alternating repeats (min–max).", "",
             *([f"Pooled from {', '.join(report['merged_from'])}.", ""] if report.get("merged_from") else []),
             f"Machine: {report['machine'].get('cpu')}, {report['machine'].get('cores')} cores, "
             f"{report['machine'].get('memory_gib')} GiB; versions: "
             + ", ".join(f"{k} {v}" for k, v in report["machine"]["versions"].items() if v), "",
             *(["word2vec.c: the seeded build of `seeded_word2vec_c.py`, given each repeat's seed.", ""]
               if report.get("word2vec_seeded") else []),
             "| config | system | threads | words/s | train s | peak MiB | analogy % | sem % | syn % | WS353 | SimLex | trained words/epoch |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def cell(row, key, fmt):
        if key not in row:
            return "–"
        v = row[key]
        if v["min"] == v["max"]:
            return format(v["median"], fmt)
        return f"{format(v['median'], fmt)} ({format(v['min'], fmt)}–{format(v['max'], fmt)})"

    for row in sorted(report["summary"], key=lambda r: (r["config"], r["threads"], r["system"])):
        words = cell(row, "effective_words_per_epoch", ",.0f") + (" ⚠ fewer" if row.get("fewer_words") else "")
        lines.append(f"| {row['config']} | {row['system']} | {row['threads']} | {cell(row, 'words_per_second', ',.0f')} | "
                     f"{cell(row, 'train_seconds', '.1f')} | {cell(row, 'peak_mib', ',.0f')} | "
                     f"{cell(row, 'analogy', '.2f')} | {cell(row, 'semantic', '.2f')} | {cell(row, 'syntactic', '.2f')} | "
                     f"{cell(row, 'wordsim353', '.3f')} | {cell(row, 'simlex999', '.3f')} | {words} |")
    ratios = report.get("ratios")
    if ratios:
        lines += ["", "## w2v against its peers (medians)", "",
                  "| config | threads | peer | words/s ratio | analogy Δ points | WS353 Δ | SimLex Δ |", "|---|---|---|---|---|---|---|"]
        def delta(r, key, fmt):
            value = r.get(key, float("nan"))
            return "–" if value != value else format(value, fmt)  # NaN: not evaluated
        for r in ratios:
            lines.append(f"| {r['config']} | {r['threads']} | {r['peer']} | {r['speed_ratio']:.2f}× | "
                         f"{delta(r, 'analogy_delta', '+.2f')} | {delta(r, 'wordsim353_delta', '+.3f')} | "
                         f"{delta(r, 'simlex999_delta', '+.3f')} |")
        if report["repeat"] > 1 and any("analogy_mean_delta" in r for r in ratios):
            lines += ["", "## Quality: difference of the means over seeds ± its standard error", "",
                      "| config | threads | peer | analogy Δ points | WS353 Δ | SimLex Δ |", "|---|---|---|---|---|---|"]
            def mean_delta(r, key, fmt):
                if f"{key}_mean_delta" not in r:
                    return "–"
                return f"{format(r[key + '_mean_delta'], fmt)} ± {format(r[key + '_mean_delta_se'], fmt[1:])}"
            for r in ratios:
                lines.append(f"| {r['config']} | {r['threads']} | {r['peer']} | {mean_delta(r, 'analogy', '+.2f')} | "
                             f"{mean_delta(r, 'wordsim353', '+.3f')} | {mean_delta(r, 'simlex999', '+.3f')} |")
    if report.get("compile"):
        c = report["compile"]
        lines += ["", f"Numba compilation: {c['cold_seconds']:.1f} s with an empty cache, "
                      f"{c['warm_seconds']:.2f} s from the cache (the skip-gram kernel, in a fresh process)."]
    lines += ["", "words/s = corpus tokens × epochs ÷ training seconds (vocabulary building excluded; "
                  "word2vec.c's time includes reading its vocabulary, building its unigram table and writing the "
                  "output). Trained words/epoch = words left after dropping unknown words and subsampling, as the "
                  "system reports them (word2vec.c does not); ⚠ marks a run more than 10% below the others. "
                  "Peak MiB is the child process's maximum resident set.", ""]
    return "\n".join(lines)


def ratios(summary):
    out = []
    for row in summary:
        if row["system"] != "w2v":
            continue
        for peer in summary:
            if peer["config"] != row["config"] or peer["threads"] != row["threads"] or peer["system"] == "w2v":
                continue
            r = {"config": row["config"], "threads": row["threads"], "peer": peer["system"],
                 "speed_ratio": row["words_per_second"]["median"] / peer["words_per_second"]["median"]}
            for key in ("analogy", "wordsim353", "simlex999"):
                if key in row and key in peer:
                    a, b = row[key], peer[key]
                    r[f"{key}_delta"] = a["median"] - b["median"]
                    # quality is a mean over seeds: the difference of means and its standard error
                    r[f"{key}_mean_delta"] = a["mean"] - b["mean"]
                    r[f"{key}_mean_delta_se"] = (a["sd"] ** 2 / a["n"] + b["sd"] ** 2 / b["n"]) ** 0.5
            out.append(r)
    return out


def compile_times(corpus: str, folder: str):
    """Seconds to get w2v's kernels ready with an empty Numba cache, then with a warm one."""
    cache = tempfile.mkdtemp(dir=folder, prefix="numba-cache-")
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    code = ("import json, time, w2v; t = time.perf_counter(); "
            "r = w2v.train(%r, dim=20, epochs=1, threads=1, max_sentence_length=100); "
            "print(json.dumps({'compile': r.compile_seconds}))") % corpus
    times = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
        times.append(json.loads(out.stdout.strip().splitlines()[-1])["compile"])
    return {"cold_seconds": times[0], "warm_seconds": times[1]}


class OneLineParser(argparse.ArgumentParser):
    """argparse, with its errors raised as BadArgument (one line) instead of its usage block."""

    def error(self, message):
        raise BadArgument(message)


def run_in_one_line(main, prog: str) -> None:
    """Run a benchmark's ``main()``, a bad argument ending it with one line ``prog: message``."""
    try:
        main()
    except BadArgument as error:
        sys.exit(f"{prog}: {error}")


def check_old(old) -> None:
    """``--old``: an older checkout's root folder (with its ``cli.py``), checked before anything runs."""
    if old and not os.path.isfile(os.path.join(old, "cli.py")):
        raise BadArgument(f"--old {old}: no cli.py there (give an older checkout's root folder)")


def existing_file(text: str) -> str:
    """argparse ``type``: a path to a file that exists."""
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return text


def existing_folder(text: str) -> str:
    """argparse ``type``: a path to a folder that exists."""
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text}: no such folder")
    return text


def at_least_one(text: str) -> int:
    """argparse ``type``: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be at least 1")
    return value


def positive_ints(option: str, text: str, allow_empty=False):
    try:
        values = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise BadArgument(f"{option} {text!r}: expected comma-separated whole numbers") from None
    if (not values and not allow_empty) or any(v < 1 for v in values):
        raise BadArgument(f"{option} {text!r}: expected numbers of at least 1")
    return values


def _check_arguments(args, systems, configs):
    """Every argument checked before anything runs: a bad one raises BadArgument naming it."""
    from systems import CONFIGS
    for name in ("repeat", "epochs", "dim", "line_words", "max_tokens"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise BadArgument(f"--{name.replace('_', '-')} {value}: must be at least 1")
    for c in configs:
        if c not in CONFIGS:
            raise BadArgument(f"unknown config {c!r}; choose from {', '.join(CONFIGS)}")
    if not configs or not systems:
        raise BadArgument("--configs and --systems need at least one name each")
    for s in systems:
        if s not in ALL_SYSTEMS and w2v_variant(s) is None:
            raise BadArgument(f"unknown system {s!r}; choose from {', '.join(ALL_SYSTEMS)} or w2v-g<N>")
    if args.corpus is None:
        raise BadArgument(f"no corpus: give --corpus FILE, or get text8 with `{TEXT8_HINT}`")
    if not os.path.exists(args.corpus):
        raise BadArgument(f"--corpus {args.corpus}: no such file or folder")
    if args.data is None:
        raise BadArgument("no evaluation sets: give --data FOLDER (with " + ", ".join(EVALUATION_SETS)
                          + "), install gensim (pip install '.[bench]'), which ships them, or --data none")
    if args.data != "none" and not os.path.isdir(args.data):
        raise BadArgument(f"--data {args.data}: no such folder")
    if args.word2vec_bin and not (os.path.isfile(args.word2vec_bin) and os.access(args.word2vec_bin, os.X_OK)):
        raise BadArgument(f"--word2vec-bin {args.word2vec_bin}: not an executable file")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise BadArgument(f"--out {args.out}: not a folder")


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", help="text file, folder or .gz/.bz2/.xz (default: wiki8 of the development "
                                         "data, else ./text8 from corpora/download_text8.py)")
    parser.add_argument("--data", help="folder with questions-words.txt, wordsim353.tsv, simlex999.txt, or 'none' "
                                       "(default: the development data, else gensim's copies)")
    parser.add_argument("--threads", default="2", help="comma-separated thread counts")
    parser.add_argument("--scaling", default="", help="extra thread counts for w2v on sg-ns, e.g. 1")
    parser.add_argument("--repeat", type=int, help="runs of each system and config (default 3; 1 with --quick)")
    parser.add_argument("--first-seed", type=int, default=1, help="repeat i uses seed FIRST_SEED + i")
    parser.add_argument("--configs", default="sg-ns,cbow-ns,sg-hs")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--line-words", type=int, default=1000)
    parser.add_argument("--word2vec-bin")
    parser.add_argument("--word2vec-seeded", action="store_true",
                        help="--word2vec-bin is a build of seeded_word2vec_c.py: give it each repeat's seed")
    parser.add_argument("--quick", action="store_true", help="a 1M-token slice, one repeat unless --repeat says")
    parser.add_argument("--max-tokens", type=int)
    parser.add_argument("--no-compile-time", action="store_true")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--name", type=result_name, default=None, help="file name stem for the results")
    parser.add_argument("--merge", nargs="+", metavar="JSON",
                        help="no runs: pool the runs of these reports (same corpus and settings; a stopped run's "
                             "NAME.runs.jsonl too) into NAME.md/.json")
    args = parser.parse_args(argv)
    if args.merge:
        os.makedirs(args.out, exist_ok=True)
        return merge_reports(args.merge, args.out, free_stem(args.name or "merged", STEM_SUFFIXES, args.out))
    if args.quick:
        args.repeat = 1 if args.repeat is None else args.repeat
        args.max_tokens = 1_000_000 if args.max_tokens is None else args.max_tokens
    args.repeat = 3 if args.repeat is None else args.repeat
    args.corpus = args.corpus or default_corpus()
    args.data = args.data or default_data()
    systems = [s for s in args.systems.split(",") if s]
    configs = [c for c in args.configs.split(",") if c]
    threads = positive_ints("--threads", args.threads)
    scaling = positive_ints("--scaling", args.scaling, allow_empty=True)
    _check_arguments(args, systems, configs)
    word2vec_bin = find_word2vec(args.word2vec_bin)
    if "word2vec-c" in systems and word2vec_bin is None:
        print("compare: word2vec.c not found (pip install word2vec, or --word2vec-bin); skipping it", file=sys.stderr)
        systems.remove("word2vec-c")
    if any(s.startswith("gensim") for s in systems):
        if importlib.util.find_spec("gensim") is None:
            print("compare: gensim is not installed (pip install '.[bench]'); skipping it", file=sys.stderr)
            systems = [s for s in systems if not s.startswith("gensim")]
    os.makedirs(args.out, exist_ok=True)
    date = datetime.date.today().isoformat()
    stem = free_stem(args.name or ("quick" if args.quick else f"{os.path.basename(args.corpus).split('.')[0]}-{date}"),
                     STEM_SUFFIXES, args.out)
    partial = os.path.join(args.out, stem + ".runs.jsonl")
    work = tempfile.mkdtemp(prefix="w2v-bench-")
    try:
        corpus = prepare_corpus(args.corpus, work, args.line_words, args.max_tokens)
        with open(corpus, "rb") as f:
            tokens = sum(len(line.split()) for line in f)
        plan = [(c, s, t) for c in configs for t in threads for s in systems]
        plan += [("sg-ns", "w2v", t) for t in scaling if t not in threads and "sg-ns" in configs]
        settings = {"date": date, "corpus": os.path.basename(args.corpus), "tokens": tokens,
                    "line_words": args.line_words, "epochs": args.epochs, "dim": args.dim,
                    "word2vec_seeded": args.word2vec_seeded, "machine": machine_info()}
        with create_new(partial) as f:  # the settings first, then a line per run: --merge reads it
            f.write(json.dumps({"settings": settings}) + "\n")
        runs = []
        for repeat in range(args.repeat):
            for config, system, n_threads in plan:
                output = os.path.join(work, f"{system}-{config}-{n_threads}.bin")
                command = [sys.executable, os.path.join(HERE, "systems.py"), system, "--corpus", corpus,
                           "--output", output, "--config", config, "--threads", str(n_threads),
                           "--epochs", str(args.epochs), "--dim", str(args.dim), "--seed", str(args.first_seed + repeat)]
                if word2vec_bin:
                    command += ["--word2vec-bin", word2vec_bin] + (["--word2vec-seeded"] if args.word2vec_seeded else [])
                result, wall, peak = run_child(command)
                run = dict(result, config=config, system=system, threads=n_threads, repeat=repeat + 1,
                           seed=args.first_seed + repeat,
                           wall_seconds=wall, peak_mib=peak,
                           words_per_second=tokens * args.epochs / result["train_seconds"])
                run.update(evaluate(output, args.data))
                os.unlink(output)
                runs.append(run)
                print(f"[{repeat + 1}/{args.repeat}] {config} {system} x{n_threads}: "
                      f"{run['words_per_second']:,.0f} words/s, {run['train_seconds']:.1f} s, {peak:,.0f} MiB, "
                      f"analogy {run.get('analogy', float('nan')):.2f}% "
                      f"(sem {run.get('semantic', float('nan')):.2f}, syn {run.get('syntactic', float('nan')):.2f}), "
                      f"WS353 {run.get('wordsim353', float('nan')):.3f}, SimLex {run.get('simlex999', float('nan')):.3f}",
                      file=sys.stderr, flush=True)
                with open(partial, "a") as f:  # a stopped run keeps what it measured
                    f.write(json.dumps(run) + "\n")
        summary = summarise(runs)
        report = dict(settings, repeat=args.repeat, summary=summary, ratios=ratios(summary), runs=runs)
        if not args.no_compile_time and "w2v" in systems:
            report["compile"] = compile_times(corpus, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_report(report, args.out, stem)
    if os.path.exists(partial):  # the full report holds every run
        os.unlink(partial)
    try:
        plot(report, os.path.join(args.out, stem + ".png"))
    except ImportError:
        print("compare: matplotlib not installed; no plot", file=sys.stderr)
    print(markdown(report))
    return report


def write_report(report, folder, stem):
    """``folder/STEM.json`` (every run) and ``folder/STEM.md`` (the tables); files made here, never replaced."""
    os.makedirs(folder, exist_ok=True)
    write_stem_files(folder, stem, {".json": json.dumps(report, indent=1), ".md": markdown(report)})


def merge_reports(paths, folder, stem):
    """One report from the runs of several (e.g. more seeds in a later session); writes STEM.json and STEM.md."""
    reports = []
    for path in paths:
        try:
            with open(path) as f:
                if path.endswith(".runs.jsonl"):  # the runs a stopped comparison kept
                    lines = [json.loads(line) for line in f if line.strip()]
                    reports.append(dict(lines[0]["settings"], runs=lines[1:]))
                else:
                    reports.append(json.load(f))
        except (OSError, ValueError, LookupError, TypeError) as error:
            raise SystemExit(f"compare: cannot read the report {path}: {error}") from None
    settings = {(r["corpus"], r["tokens"], r["line_words"], r["epochs"], r["dim"]) for r in reports}
    if len(settings) > 1:
        raise SystemExit(f"compare: the reports differ in corpus or settings: {sorted(settings)}")
    runs = [run for r in reports for run in r["runs"]]
    summary = summarise(runs)
    report = dict(reports[0], date=" + ".join(sorted({r["date"] for r in reports})), summary=summary,
                  ratios=ratios(summary), runs=runs, merged_from=[os.path.basename(p) for p in paths],
                  repeat=max(row["repeats"] for row in summary))
    report.pop("compile", None)
    write_report(report, folder, stem)
    print(markdown(report))
    return report


def plot(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 5), dpi=110)
    markers = {"sg-ns": "o", "cbow-ns": "s", "sg-hs": "^"}
    colours = {"w2v": "#d62728", "w2v-exact": "#ff9896", "w2v-batched": "#8c564b", "word2vec-c": "#1f77b4", "gensim-file": "#2ca02c",
               "gensim-iter": "#98df8a"}
    for row in report["summary"]:
        if "analogy" not in row:
            continue
        x, y = row["words_per_second"]["median"] / 1e6, row["analogy"]["median"]
        ax.scatter(x, y, marker=markers.get(row["config"], "o"), color=colours.get(row["system"], "k"), s=50)
        ax.annotate(f"{row['system']} {row['config']} ×{row['threads']}", (x, y), xytext=(4, 3),
                    textcoords="offset points", fontsize=7)
    ax.set_xlabel("million words / second")
    ax.set_ylabel("analogy accuracy, % (questions-words, 30k)")
    ax.set_title(f"{report['corpus']}: speed against quality")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    try:
        main()
    except (BadArgument, OSError, RuntimeError) as error:
        detail = f"{error.strerror}: {error.filename}" if isinstance(error, OSError) and error.filename else error
        sys.exit(f"compare: {detail}")
