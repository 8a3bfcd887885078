"""Distributed training's bars on wiki8: quality against one machine, the sync interval, the cost of a sync.

Every run is a child process of the ``w2v`` command line (``--scheduler local:N`` starts its own
Dask LocalCluster of N worker processes), timed from outside, and scored with one evaluator
(model_runs.py's: analogy within the 30,000 most frequent words, WordSim-353, SimLex-999). Runs of
the setups compared alternate, seed by seed.

    python benchmarks/distributed_runs.py quality --seeds 1 2 3          # 2 threads vs local:2 vs local:4
    python benchmarks/distributed_runs.py sync --sync-words 250000 1000000 4000000
    python benchmarks/distributed_runs.py overhead --repeat 3            # 1 epoch, words/s and wall time
    python benchmarks/distributed_runs.py variants --variants counts guard:1 --seeds 1 2 3 4
                                                  # the combine rule's variants (combine_variants.py)

Each writes ``results/distributed-NAME.md`` with the commands beside the numbers; the sync lines of
the runs (seconds, bytes in and out per sync) are copied from the command's own report.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from timing import result_name, write_result  # noqa: E402
from model_runs import COMMON, W2V, corpus_lines, evaluate, mean, table, timed, words_per_second  # noqa: E402

SETUPS = {
    "one machine, 2 threads": [],
    "local:2, 1 thread each": ["--scheduler", "local:2", "--threads", "1"],
    "local:4, 1 thread each": ["--scheduler", "local:4", "--threads", "1"],
}


def syncs(stderr: str) -> dict:
    found = re.search(r"(\d+) syncs of ([\d.]+) s, ([\d.]+) MB in and ([\d.]+) MB out each", stderr)
    if not found:
        return {}
    return {"syncs": int(found.group(1)), "s/sync": float(found.group(2)), "MB in": float(found.group(3)),
            "MB out": float(found.group(4))}


def shown(command) -> str:
    """A run's command as a user would type it (w2v for the interpreter and cli.py, OUT for the output)."""
    words = ["w2v"] + command[2:]
    words[words.index("-o") + 1] = "OUT.bin"
    return " ".join(words)


def train_once(corpus, folder, extra, epochs, seed):
    """One run, its wall time, words/s, syncs and scores."""
    out = os.path.join(folder, "vectors.bin")
    command = W2V + ["train", corpus, "-o", out, "--epochs", str(epochs), "--seed", str(seed)] + COMMON + extra
    seconds, stderr = timed(command)
    return {"wall s": seconds, "words/s": words_per_second(stderr), **syncs(stderr)}, out, command


def quality(args, corpus, folder):
    setups = {name: SETUPS[name] for name in args.setups}
    rows, commands = [], {}
    for seed in args.seeds:
        for name, extra in setups.items():
            row, out, command = train_once(corpus, folder, extra, args.epochs, seed)
            row.update(evaluate(out, args.data))
            rows.append({"setup": name, "seed": seed, **row})
            commands[name] = shown(command)
            print(rows[-1], flush=True)
    keys = ["setup", "seed", "wall s", "words/s", "syncs", "s/sync", "MB in", "MB out", "analogy", "ws353", "simlex"]
    means = [{"setup": name, **{k: mean([r for r in rows if r["setup"] == name], k)
                                for k in ("wall s", "words/s", "analogy", "ws353", "simlex")}} for name in setups]
    base = means[0]
    for m in means:
        for k in ("analogy", "ws353", "simlex"):
            m["Δ " + k] = m[k] - base[k]
    text = (f"# Distributed training: quality against one machine (wiki8, sg-ns, {args.epochs} epochs)\n\n"
            f"`python benchmarks/distributed_runs.py quality --seeds {' '.join(map(str, args.seeds))} --epochs "
            f"{args.epochs}`; the setups alternate seed by seed. Commands (seed and output vary; of two "
            f"`--threads` the last counts):\n\n"
            + "".join(f"- {name}: `{command}`\n" for name, command in commands.items())
            + "\nMeans over seeds (Δ: against the first row):\n\n"
            + table(means, ["setup", "wall s", "words/s", "analogy", "ws353", "simlex", "Δ analogy", "Δ ws353",
                            "Δ simlex"])
            + "\nEvery run:\n\n" + table(rows, keys))
    return text


def sync_sweep(args, corpus, folder):
    rows, command = [], None
    for seed in args.seeds:
        for sync_words in args.sync_words_list:
            extra = ["--scheduler", f"local:{args.workers}", "--threads", "1", "--sync-words", str(sync_words)]
            row, out, command = train_once(corpus, folder, extra, args.epochs, seed)
            row.update(evaluate(out, args.data))
            rows.append({"sync words": sync_words, "seed": seed, **row})
            print(rows[-1], flush=True)
    keys = ["sync words", "seed", "wall s", "words/s", "syncs", "s/sync", "MB in", "MB out", "analogy", "ws353",
            "simlex"]
    return (f"# Distributed training: the sync interval (wiki8, sg-ns, {args.epochs} epochs, local:{args.workers})\n\n"
            f"`python benchmarks/distributed_runs.py sync --workers {args.workers} --epochs {args.epochs} "
            f"--sync-words {' '.join(map(str, args.sync_words_list))} --seeds {' '.join(map(str, args.seeds))}`; "
            f"each run: `{shown(command)}` "
            f"(--sync-words and --seed varying).\n\n" + table(rows, keys))


def variants(args, corpus, folder):
    """local:N with each variant of the combine rule (combine_variants.py), seed by seed."""
    rows, command = [], None
    for seed in args.seeds:
        for variant in args.variants:
            out = os.path.join(folder, "vectors.bin")
            command = ([sys.executable, os.path.join(HERE, "combine_variants.py"), variant, "train", corpus, "-o", out,
                        "--epochs", str(args.epochs), "--seed", str(seed)] + COMMON
                       + ["--scheduler", f"local:{args.workers}", "--threads", "1"])
            seconds, stderr = timed(command)
            row = {"variant": variant, "seed": seed, "wall s": seconds, **syncs(stderr), **evaluate(out, args.data)}
            rows.append(row)
            print(row, flush=True)
    means = [{"variant": v, **{k: mean([r for r in rows if r["variant"] == v], k)
                               for k in ("analogy", "ws353", "simlex")}} for v in args.variants]
    words = command[4:]
    words[words.index("-o") + 1] = "OUT.bin"
    shown_command = " ".join(["python", "benchmarks/combine_variants.py", "VARIANT", "train"] + words)
    return (f"# Distributed training: variants of the combine rule (wiki8, sg-ns, {args.epochs} epochs, "
            f"local:{args.workers})\n\n"
            f"`python benchmarks/distributed_runs.py variants --workers {args.workers} --epochs {args.epochs} "
            f"--variants {' '.join(args.variants)} --seeds {' '.join(map(str, args.seeds))}`; each run: "
            f"`{shown_command}` (VARIANT and --seed varying).\n\n"
            "Means over seeds:\n\n" + table(means, ["variant", "analogy", "ws353", "simlex"])
            + "\nEvery run:\n\n" + table(rows, ["variant", "seed", "wall s", "syncs", "analogy", "ws353", "simlex"]))


def overhead(args, corpus, folder):
    rows = []
    for i in range(args.repeat):
        for name in ("one machine, 2 threads", "local:2, 1 thread each"):
            row, _, _ = train_once(corpus, folder, SETUPS[name], 1, 1)
            rows.append({"setup": name, "run": i + 1, **row})
            print(rows[-1], flush=True)
    keys = ["setup", "run", "wall s", "words/s", "syncs", "s/sync", "MB in", "MB out"]
    return ("# Distributed training: overhead on one machine (wiki8, sg-ns, 1 epoch)\n\n"
            f"`python benchmarks/distributed_runs.py overhead --repeat {args.repeat}`, alternating. words/s is "
            "the command's own (training only, syncs included); wall s counts starting the cluster, counting "
            "and encoding.\n\n" + table(rows, keys))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["quality", "sync", "overhead", "variants"])
    parser.add_argument("--data", default=os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "data"))
    parser.add_argument("--corpus", default=os.path.join(tempfile.gettempdir(), "wiki8-lines.txt"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    parser.add_argument("--sync-words", dest="sync_words_list", type=int, nargs="+",
                        default=[250_000, 1_000_000, 4_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--variants", nargs="+", default=["chosen"],
                        help="combine rules for `variants` (combine_variants.py: chosen, eta:C, counts, cap:C, "
                             "guard:K, guard-only:M, guard-all, turned-mean)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--name", type=result_name, help="results/NAME.md instead of the measurement's own name")
    args = parser.parse_args(argv)
    corpus = corpus_lines(args)
    with tempfile.TemporaryDirectory() as folder:
        text = {"quality": quality, "sync": sync_sweep, "overhead": overhead,
                "variants": variants}[args.what](args, corpus, folder)
    write_result(args.name or f"distributed-{args.what}", text)


if __name__ == "__main__":
    main()
