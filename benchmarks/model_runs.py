"""The model's bars on wiki8: checkpoint cost, resume, continued training, and speed before/after a change.

Every run is a child process of the ``w2v`` command line, timed from outside (wall seconds, counting
and encoding included) and scored with one evaluator (analogy on questions-words within the 30,000
most frequent words, WordSim-353, SimLex-999). Runs of the things compared alternate (A B A B ...).

    python benchmarks/model_runs.py checkpoint-cost --repeat 3       # sg-ns, 5 epochs, with/without
    python benchmarks/model_runs.py resume --stop-after 100          # SIGTERM after 100 s, then --resume
    python benchmarks/model_runs.py continue                          # first half, then --init the rest
    python benchmarks/model_runs.py speed --old /path/to/old/cli.py   # 1 epoch, before and after

The corpus is wiki8 in lines of 1,000 words (``--corpus``, made from ``--data``/wiki8.txt.gz when
missing); each command writes ``results/NAME.md`` with the commands beside the numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from timing import result_name, write_result  # noqa: E402

W2V = [sys.executable, os.path.join(ROOT, "cli.py")]
COMMON = ["--threads", "2", "--dim", "100", "--window", "5", "--negative", "5", "--sample", "1e-3",
          "--min-count", "5"]


def corpus_lines(args) -> str:
    """wiki8 in lines of 1,000 words (what compare.py gives every system)."""
    if os.path.exists(args.corpus):
        return args.corpus
    from compare import prepare_corpus
    made = prepare_corpus(os.path.join(args.data, "wiki8.txt.gz"), os.path.dirname(args.corpus), 1000)
    os.replace(made, args.corpus)
    return args.corpus


def timed(command, **kwargs):
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return seconds, done.stderr


def words_per_second(stderr: str) -> float:
    found = re.search(r"\(([\d,]+) words/s", stderr)
    return float(found.group(1).replace(",", "")) if found else float("nan")


def evaluate(vectors: str, data: str) -> dict:
    done = subprocess.run(W2V + ["evaluate", vectors, "--analogies", os.path.join(data, "questions-words.txt"),
                                 "--pairs", os.path.join(data, "wordsim353.tsv"),
                                 "--pairs", os.path.join(data, "simlex999.txt"), "--json"],
                          capture_output=True, text=True, check=True)
    report = json.loads(done.stdout)
    analogy = next(iter(report["analogies"].values()))["total"]["accuracy"] * 100
    pairs = [r["spearman"] for r in report["pairs"].values()]
    return {"analogy": analogy, "ws353": pairs[0], "simlex": pairs[1]}


def table(rows, keys):
    head = "| " + " | ".join(keys) + " |\n|" + "---|" * len(keys) + "\n"
    return head + "".join("| " + " | ".join(_cell(r.get(k)) for k in keys) + " |\n" for r in rows)


def _cell(value):
    if isinstance(value, float):
        return f"{value:,.0f}" if value > 1000 else f"{value:.4g}"
    return "" if value is None else str(value)


def mean(rows, key):
    values = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
    return sum(values) / len(values) if values else float("nan")


def write(args, name: str, text: str) -> None:
    """Write a result as results/NAME.md (``--name`` overrides the measurement's own name; a name taken
    gets the next free number)."""
    write_result(args.name or name, text)


# -- the four measurements ------------------------------------------------------------------------
def checkpoint_cost(args, corpus, folder):
    rows = []
    for rep in range(args.repeat):
        for with_checkpoint in (False, True):
            out = os.path.join(folder, "v.bin")
            command = W2V + ["train", corpus, "-o", out, "--epochs", "5", "--seed", str(rep + 1), "-q"] + COMMON
            if with_checkpoint:
                command += ["--checkpoint", os.path.join(folder, "ck.w2vm")]
            seconds, _ = timed(command + ["-q"])
            size = os.path.getsize(os.path.join(folder, "ck.w2vm")) if with_checkpoint else None
            rows.append({"run": rep + 1, "checkpoint": "every epoch" if with_checkpoint else "none",
                         "wall s": seconds, "model file bytes": size})
            print(rows[-1], flush=True)
    without = mean([r for r in rows if r["checkpoint"] == "none"], "wall s")
    with_ = mean([r for r in rows if r["checkpoint"] != "none"], "wall s")
    # the added work itself, free of the machine's drift: writing the last checkpoint again, 5 times
    sys.path.insert(0, ROOT)
    from w2v.model import Model
    model = Model.load(os.path.join(folder, "ck.w2vm"))
    saves = []
    for _ in range(5):
        start = time.perf_counter()
        model.save(os.path.join(folder, "again.w2vm"))
        saves.append(time.perf_counter() - start)
    write(args, "model-checkpoint-cost", f"# Checkpoint cost: wiki8, sg-ns, 5 epochs, 2 threads\n\n"
          f"`python benchmarks/model_runs.py checkpoint-cost --repeat {args.repeat}`; each run is\n"
          f"`w2v train wiki8.txt -o v.bin --epochs 5 {' '.join(COMMON)} [--checkpoint ck.w2vm]`, alternating.\n\n"
          + table(rows, ["run", "checkpoint", "wall s", "model file bytes"])
          + f"\nMean wall time {without:.1f} s without, {with_:.1f} s with a checkpoint after every epoch: "
            f"{100 * (with_ / without - 1):+.1f}% (the runs' own spread is larger than the effect).\n\n"
            f"Writing the checkpoint itself (`Model.save`, {os.path.getsize(os.path.join(folder, 'again.w2vm')):,} "
            f"bytes, flushed to disk), 5 times: {', '.join(f'{x:.3f}' for x in saves)} s; 5 checkpoints add "
            f"{5 * sorted(saves)[2]:.2f} s, {100 * 5 * sorted(saves)[2] / without:.1f}% of the run without them.\n")


def resume(args, corpus, folder):
    rows = []
    for rep in range(args.repeat):
        seed = str(args.first_seed + rep)
        whole = os.path.join(folder, "whole.bin")
        seconds, stderr = timed(W2V + ["train", corpus, "-o", whole, "--epochs", "5", "--seed", seed] + COMMON)
        rows.append({"seed": seed, "run": "uninterrupted", "wall s": seconds, "words/s": words_per_second(stderr),
                     **evaluate(whole, args.data)})
        print(rows[-1], flush=True)
        out, checkpoint = os.path.join(folder, "resumed.bin"), os.path.join(folder, "ck.w2vm")
        start = time.perf_counter()
        process = subprocess.Popen(W2V + ["train", corpus, "-o", out, "--epochs", "5", "--seed", seed,
                                          "--checkpoint", checkpoint] + COMMON,
                                   stderr=subprocess.DEVNULL)
        time.sleep(args.stop_after)
        process.send_signal(signal.SIGTERM)
        code = process.wait()
        first = time.perf_counter() - start
        seconds, stderr = timed(W2V + ["train", corpus, "-o", out, "--resume", checkpoint, "--threads", "2"])
        rows.append({"seed": seed, "run": f"SIGTERM after {args.stop_after:.0f} s (exit {code}), resumed",
                     "wall s": first + seconds, "words/s": words_per_second(stderr), **evaluate(out, args.data)})
        print(rows[-1], flush=True)
    keys = ["seed", "run", "wall s", "words/s", "analogy", "ws353", "simlex"]
    summary = "".join(f"- {kind}: analogy {mean(group, 'analogy'):.2f}, WordSim-353 {mean(group, 'ws353'):.4f}, "
                      f"SimLex-999 {mean(group, 'simlex'):.4f}, words/s {mean(group, 'words/s'):,.0f}\n"
                      for kind, group in (("uninterrupted", [r for r in rows if r["run"] == "uninterrupted"]),
                                          ("resumed", [r for r in rows if r["run"] != "uninterrupted"])))
    write(args, "model-resume", f"# Resume: wiki8, sg-ns, 5 epochs, 2 threads\n\n"
          f"`python benchmarks/model_runs.py resume --repeat {args.repeat} --stop-after {args.stop_after}`: "
          f"each seed trains once uninterrupted, once stopped with SIGTERM and resumed with "
          f"`w2v train wiki8.txt -o v.bin --resume ck.w2vm --threads 2` (words/s: the resumed part).\n\n"
          + table(rows, keys) + "\nMeans:\n\n" + summary)


def continued(args, corpus, folder):
    with open(corpus) as f:
        lines = f.readlines()
    half = len(lines) // 2
    first, second = os.path.join(folder, "first.txt"), os.path.join(folder, "second.txt")
    with open(first, "w") as f:
        f.writelines(lines[:half])
    with open(second, "w") as f:
        f.writelines(lines[half:])
    rows, seed = [], str(args.first_seed)
    base = os.path.join(folder, "first.w2vm")
    runs = [("all of wiki8, 5 epochs", [corpus], []),
            ("first half, 5 epochs", [first], ["--checkpoint", base]),
            ("then --init --update-vocab on the second half, 5 epochs", [second],
             ["--init", base, "--update-vocab", "--checkpoint", os.path.join(folder, "more.w2vm")])]
    for name, inputs, extra in runs:
        out = os.path.join(folder, "v.bin")
        options = COMMON if "--init" not in extra else ["--threads", "2", "--min-count", "5"]
        seconds, stderr = timed(W2V + ["train", *inputs, "-o", out, "--epochs", "5", "--seed", seed] + options + extra)
        new = re.search(r"vocabulary: ([\d,]+) new words", stderr)
        rows.append({"run": name, "wall s": seconds, **evaluate(out, args.data),
                     "new words": new.group(1) if new else None})
        print(rows[-1], flush=True)
    sys.path.insert(0, ROOT)
    from w2v.model import Model
    old, grown = Model.load(base, mmap=True), Model.load(os.path.join(folder, "more.w2vm"), mmap=True)
    fresh = [w for w in grown.vocab.words if w not in old.vocab.index][:8]
    vectors = grown.vectors
    neighbours = "".join(f"- {w} ({grown.vocab.counts[grown.vocab.index[w]]:,}): "
                         + ", ".join(n for n, _ in vectors.most_similar(w, topn=6)) + "\n" for w in fresh)
    write(args, "model-continued", f"# Continued training: wiki8 halves, sg-ns, 2 threads, seed {seed}\n\n"
          f"`python benchmarks/model_runs.py continue`: wiki8 (1,000-word lines) cut into halves by lines; "
          f"`w2v train first.txt -o v.bin --epochs 5 --checkpoint first.w2vm`, then\n"
          f"`w2v train second.txt -o v.bin --init first.w2vm --update-vocab --epochs 5` (so every word is "
          f"trained 5 epochs, as in the run on all of it).\n\n"
          + table(rows, ["run", "wall s", "analogy", "ws353", "simlex", "new words"])
          + "\nThe most frequent new words and their nearest neighbours after the continued run:\n\n" + neighbours)


def speed(args, corpus, folder):
    rows = []
    configs = {"sg-ns": [], "cbow-ns": ["--model", "cbow", "--alpha", "0.05"], "sg-hs": ["--hs", "--negative", "0"]}
    configs = {name: extra for name, extra in configs.items() if name in args.configs.split(",")}
    for rep in range(args.repeat):
        for config, extra in configs.items():
            for version, cli in (("before", [sys.executable, args.old]), ("after", W2V)):
                out = os.path.join(folder, "v.bin")
                seconds, stderr = timed(cli + ["train", corpus, "-o", out, "--epochs", "1", "--seed", str(rep + 1)]
                                        + COMMON + extra)  # a later --negative 0 overrides COMMON's
                rows.append({"config": config, "version": version, "run": rep + 1, "wall s": seconds,
                             "words/s": words_per_second(stderr)})
                print(rows[-1], flush=True)
    summary = ""
    for config in configs:
        for version in ("before", "after"):
            group = [r for r in rows if r["config"] == config and r["version"] == version]
            speeds = sorted(r["words/s"] for r in group)
            summary += (f"- {config} {version}: median {speeds[len(speeds) // 2]:,.0f} words/s "
                        f"({', '.join(f'{s:,.0f}' for s in speeds)}), mean wall {mean(group, 'wall s'):.1f} s\n")
    write(args, "model-speed-before-after", f"# Training speed before and after the model reshaping: wiki8, 1 epoch, "
          f"2 threads\n\n`python benchmarks/model_runs.py speed --old {args.old} --repeat {args.repeat} "
          f"--configs {args.configs}` "
          f"(before: that checkout's cli.py; runs alternate).\n\n"
          + table(rows, ["config", "version", "run", "wall s", "words/s"]) + "\n" + summary)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["checkpoint-cost", "resume", "continue", "speed"])
    parser.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    parser.add_argument("--corpus", default=os.path.join(tempfile.gettempdir(), "wiki8-lines.txt"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--stop-after", type=float, default=100.0, help="resume: seconds before SIGTERM")
    parser.add_argument("--old", help="speed: the cli.py of the version to compare with")
    parser.add_argument("--configs", default="sg-ns,cbow-ns,sg-hs", help="speed: which configurations")
    parser.add_argument("--name", type=result_name, help="the results file's name (default: one per measurement)")
    args = parser.parse_args(argv)
    if args.what == "speed" and not args.old:
        parser.error("speed needs --old PATH/cli.py")
    corpus = corpus_lines(args)
    with tempfile.TemporaryDirectory() as folder:
        {"checkpoint-cost": checkpoint_cost, "resume": resume, "continue": continued, "speed": speed}[args.what](
            args, corpus, folder)


if __name__ == "__main__":
    main()
