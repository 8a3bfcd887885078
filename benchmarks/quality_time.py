"""Quality against end-to-end wall time: what each system gives for the seconds a user waits.

    python benchmarks/seeded_word2vec_c.py -o /tmp/word2vec-seeded
    python benchmarks/quality_time.py --corpus /tmp/wiki8-lines.txt --word2vec-bin /tmp/word2vec-seeded \\
        --configs sg-ns,cbow-ns --epochs 1,2,5,10,20 --peer-epochs 1,2,5

Each point is one whole command timed by ``/usr/bin/time``, from its start to the written vectors
(counting the vocabulary included): ``w2v train``, gensim's ``corpus_file`` mode (vocabulary, training,
``save_word2vec_format``) and word2vec.c (``-train``, vocabulary learned in the same run). Settings as
compare.py's configurations (dim 100, window 5, sample 1e-3, min-count 5, 2 threads; sg-ns alpha 0.025,
cbow-ns 0.05); only the number of epochs changes. Runs alternate between systems at each epoch count.

``--repeat N`` runs every point N times (seeds SEED, SEED+1, ...): a point is then the median wall time
and the mean scores. The question it answers: w2v is several times faster, so within the time a peer needs for its 5 epochs,
how good can w2v's vectors get by training longer? ``best_within`` in the JSON is, for every peer point,
the best w2v score reached in no more time. Results go to ``--out`` as STEM.json, STEM.md and STEM.png
(analogy and WordSim-353 against seconds, one line per system and configuration).
"""
from __future__ import annotations

import datetime
import json
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from compare import (BadArgument, OneLineParser, default_data, evaluate, machine_info, positive_ints,  # noqa: E402
                     run_in_one_line)
from systems import CONFIGS  # noqa: E402
from timing import free_stem, invocation, result_name, time_command, write_stem_files  # noqa: E402

GENSIM = ("import sys; from gensim.models import Word2Vec; "
          "sg, negative, alpha, epochs, seed = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), "
          "int(sys.argv[6]), int(sys.argv[7]); min_count = int(sys.argv[8]); "
          "m = Word2Vec(corpus_file=sys.argv[1], vector_size=100, window=5, min_count=min_count, sample=1e-3, "
          "negative=negative, hs=0, sg=sg, workers=2, epochs=epochs, alpha=alpha, seed=seed); "
          "m.wv.save_word2vec_format(sys.argv[2], binary=True)")
SYSTEMS = ("w2v", "gensim-file", "word2vec-c")


def command(system: str, config: str, epochs: int, corpus: str, out: str, seed: int, word2vec_bin: str, seeded: bool,
            min_count: int = 5):
    """The whole command one point times."""
    sg, negative, hs, alpha = CONFIGS[config]
    if system == "w2v":
        return [sys.executable, os.path.join(ROOT, "cli.py"), "train", corpus, "-o", out, "-q", "--threads", "2",
                "--model", "sg" if sg else "cbow", "--dim", "100", "--window", "5", "--negative", str(negative),
                "--sample", "1e-3", "--min-count", str(min_count), "--alpha", str(alpha), "--epochs", str(epochs),
                "--seed", str(seed)] + (["--hs"] if hs else [])
    if system == "gensim-file":
        return [sys.executable, "-c", GENSIM, corpus, out, str(int(sg)), str(negative), str(alpha), str(epochs),
                str(seed), str(min_count)]
    return [word2vec_bin, "-train", corpus, "-output", out, "-binary", "1", "-size", "100", "-window", "5",
            "-sample", "1e-3", "-negative", str(negative), "-hs", "1" if hs else "0", "-cbow", "0" if sg else "1",
            "-min-count", str(min_count), "-threads", "2", "-alpha", str(alpha), "-iter", str(epochs)] \
        + (["-seed", str(seed)] if seeded else [])


def summarise(runs):
    """One point per (config, system, epochs): the median wall time and peak memory, the mean scores."""
    points = []
    for key in dict.fromkeys((r["config"], r["system"], r["epochs"]) for r in runs):
        same = [r for r in runs if (r["config"], r["system"], r["epochs"]) == key]
        point = dict(config=key[0], system=key[1], epochs=key[2], repeats=len(same),
                     wall_seconds=statistics.median(r["wall_seconds"] for r in same),
                     peak_mib=statistics.median(r["peak_mib"] for r in same))
        for metric in ("analogy", "semantic", "syntactic", "wordsim353", "simlex999"):
            if all(metric in r for r in same):
                point[metric] = statistics.mean(r[metric] for r in same)
        points.append(point)
    return points


def best_within(points, seconds, metric):
    """The best ``metric`` among ``points`` that took at most ``seconds`` (None: none was that fast)."""
    reached = [p[metric] for p in points if p["wall_seconds"] <= seconds and metric in p]
    return max(reached) if reached else None


def compare_curves(points):
    """For every peer point: w2v's best analogy and WordSim-353 within the peer's time."""
    rows = []
    for p in points:
        if p["system"] == "w2v":
            continue
        ours = [q for q in points if q["system"] == "w2v" and q["config"] == p["config"]]
        rows.append({"config": p["config"], "peer": p["system"], "epochs": p["epochs"],
                     "seconds": p["wall_seconds"],
                     **{f"{m}_peer": p.get(m) for m in ("analogy", "wordsim353")},
                     **{f"{m}_w2v": best_within(ours, p["wall_seconds"], m) for m in ("analogy", "wordsim353")}})
    return rows


def markdown(report) -> str:
    lines = [f"# Quality against end-to-end wall time, {report['date']}", "",
             f"`{report['command']}`", "",
             f"Corpus `{report['corpus']}`; dim 100, window 5, sample 1e-3, min-count 5, 2 threads; "
             f"{report.get('repeat', 1)} run(s) a point from seed {report['seed']} (median wall time, mean scores); "
             "each run is one whole command (vocabulary, training, writing) under `/usr/bin/time`.", "",
             "| config | system | epochs | wall s | peak MiB | analogy % | WS353 | SimLex |", "|---|---|---|---|---|---|---|---|"]
    for p in report["points"]:
        lines.append(f"| {p['config']} | {p['system']} | {p['epochs']} | {p['wall_seconds']:.1f} | "
                     f"{p['peak_mib']:,.0f} | {p.get('analogy', float('nan')):.2f} | "
                     f"{p.get('wordsim353', float('nan')):.3f} | {p.get('simlex999', float('nan')):.3f} |")
    lines += ["", "## w2v's best within each peer point's time", "",
              "| config | peer | epochs | peer s | analogy: peer / w2v | WS353: peer / w2v |", "|---|---|---|---|---|---|"]

    def pair(row, metric, fmt):
        ours = row[f"{metric}_w2v"]
        return f"{row[f'{metric}_peer']:{fmt}} / " + ("none as fast" if ours is None else f"{ours:{fmt}}")

    for row in report["best_within"]:
        lines.append(f"| {row['config']} | {row['peer']} | {row['epochs']} | {row['seconds']:.1f} | "
                     f"{pair(row, 'analogy', '.2f')} | {pair(row, 'wordsim353', '.3f')} |")
    return "\n".join(lines) + "\n"


def plot(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker
    metrics = (("analogy", "analogy accuracy, %"), ("wordsim353", "WordSim-353 Spearman"))
    configs = sorted({p["config"] for p in report["points"]})
    fig, axes = plt.subplots(len(configs), 2, figsize=(11, 4.2 * len(configs)), dpi=100, squeeze=False)
    colours = {"w2v": "#d62728", "gensim-file": "#2ca02c", "word2vec-c": "#1f77b4"}
    for row, config in zip(axes, configs):
        for ax, (metric, label) in zip(row, metrics):
            for system in SYSTEMS:
                points = sorted((p for p in report["points"] if p["system"] == system and p["config"] == config
                                 and metric in p), key=lambda p: p["epochs"])
                if not points:
                    continue
                xs, ys = [p["wall_seconds"] for p in points], [p[metric] for p in points]
                ax.plot(xs, ys, marker="o", color=colours[system], label=system)
                for p in points:
                    ax.annotate(f"{p['epochs']}", (p["wall_seconds"], p[metric]), xytext=(3, 3),
                                textcoords="offset points", fontsize=7)
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(ticker.ScalarFormatter())
            ax.xaxis.set_minor_formatter(ticker.NullFormatter())
            ax.set_xlabel("end-to-end wall seconds (log; labels: epochs)")
            ax.set_ylabel(label)
            ax.set_title(f"{config}: {label}")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, help="plain text, one sentence a line (all systems read it)")
    parser.add_argument("--data", help="evaluation sets (default: the development data, else gensim's copies)")
    parser.add_argument("--word2vec-bin", help="word2vec.c's binary (none: word2vec.c is left out)")
    parser.add_argument("--word2vec-seeded", action="store_true", help="the binary takes -seed (seeded_word2vec_c.py)")
    parser.add_argument("--configs", default="sg-ns,cbow-ns")
    parser.add_argument("--epochs", default="1,2,5,10,20", help="w2v's epoch counts")
    parser.add_argument("--peer-epochs", default="1,2,5", help="gensim's and word2vec.c's epoch counts")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--repeat", type=int, default=1, help="runs of every point (seeds SEED, SEED+1, ...)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--name", type=result_name, default="quality-time")
    args = parser.parse_args(argv)
    configs = [c for c in args.configs.split(",") if c]
    ours, theirs = positive_ints("--epochs", args.epochs), positive_ints("--peer-epochs", args.peer_epochs)
    data = args.data or default_data()
    unknown = [c for c in configs if c not in CONFIGS or CONFIGS[c][2]]
    if unknown or not configs:
        raise BadArgument(f"--configs {args.configs!r}: choose from sg-ns, cbow-ns")
    if not os.path.isfile(args.corpus):
        raise BadArgument(f"--corpus {args.corpus}: no such file")
    if data is None or not os.path.isdir(data):
        raise BadArgument("no evaluation sets: give --data FOLDER or install gensim (pip install '.[bench]')")
    if args.word2vec_bin and not os.access(args.word2vec_bin, os.X_OK):
        raise BadArgument(f"--word2vec-bin {args.word2vec_bin}: not an executable file")
    chosen = [s for s in args.systems.split(",") if s]
    if not chosen or any(s not in SYSTEMS for s in chosen):
        raise BadArgument(f"--systems {args.systems!r}: choose from {', '.join(SYSTEMS)}")
    if args.repeat < 1:
        raise BadArgument(f"--repeat {args.repeat}: must be at least 1")
    systems = [s for s in chosen if s != "word2vec-c" or args.word2vec_bin]
    os.makedirs(args.out, exist_ok=True)
    stem = free_stem(args.name, (".json", ".md", ".png"), args.out)  # a run never replaces one recorded before
    folder = tempfile.mkdtemp(prefix="w2v-quality-time-")
    out = os.path.join(folder, "v.bin")
    runs = []
    try:
        for repeat in range(args.repeat):
            seed = args.seed + repeat
            for config in configs:
                for epochs in sorted(set(ours) | set(theirs)):
                    for system in systems:
                        if epochs not in (ours if system == "w2v" else theirs):
                            continue
                        seconds, mib, _ = time_command(command(system, config, epochs, args.corpus, out, seed,
                                                               args.word2vec_bin, args.word2vec_seeded))
                        run = dict(config=config, system=system, epochs=epochs, seed=seed, wall_seconds=seconds,
                                   peak_mib=mib)
                        run.update(evaluate(out, data))
                        os.unlink(out)
                        runs.append(run)
                        print(json.dumps(run), file=sys.stderr, flush=True)
    finally:
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)
    points = summarise(runs)
    report = {"date": datetime.date.today().isoformat(), "corpus": os.path.basename(args.corpus), "seed": args.seed,
              "repeat": args.repeat,
              "command": invocation(__file__, argv),
              "machine": machine_info(), "points": points, "best_within": compare_curves(points), "runs": runs}
    write_stem_files(args.out, stem, {".json": json.dumps(report, indent=1), ".md": markdown(report)})
    try:
        plot(report, os.path.join(args.out, stem + ".png"))
    except ImportError:
        print("quality_time: matplotlib not installed; no plot", file=sys.stderr)
    print(markdown(report))
    return report


if __name__ == "__main__":
    run_in_one_line(main, "quality_time")
