"""The command's peak memory while a cluster counts a corpus and the command merges the parts' counts.

    python benchmarks/zipf_corpus.py /tmp/zipf40m.txt --tokens 40000000      # ~10 million distinct tokens
    python benchmarks/distributed_count_memory.py --corpus /tmp/zipf40m.txt --workers 4 --repeat 2

Each run starts a local cluster of ``--workers`` workers, readies them as a run does, then has them count
the corpus and builds the vocabulary from their counts (``w2v.distributed._count_on``, the counting step of
``w2v train --scheduler``), and reports the command's peak resident memory during that step (``VmHWM``,
reset just before it through ``/proc/self/clear_refs``; Linux) and its wall time. The workers are other
processes, so only the command's own memory is counted: what it holds of the workers' counts and the merged
count. To compare two versions, run this script from each (``PYTHONPATH``).
"""
from __future__ import annotations

import datetime
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import BadArgument, OneLineParser, run_in_one_line  # noqa: E402
from timing import invocation, result_name, write_result  # noqa: E402


def peak_mib() -> float:
    """This process's peak resident memory since the last reset, in MiB."""
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1)) / 1024


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def run(corpus_path: str, workers: int, threads: int, cluster=None) -> dict:
    """One counting step on a new local cluster (or on ``cluster``, a :class:`w2v.distributed.Cluster`, left open):
    {"seconds", "peak_mib", "before_mib", "words", "tokens"}."""
    from w2v import distributed
    if cluster is None:
        with distributed.connect(f"local:{workers}") as cluster:
            return run(corpus_path, workers, threads, cluster)
    from w2v.options import TrainOptions
    options = TrainOptions(threads=threads)
    corpus = distributed._corpus([corpus_path], options.lowercase, progress=False)
    names = distributed._workers_ready(cluster, corpus.files, lambda message: None)
    before = peak_mib()
    reset_peak()
    start = time.perf_counter()
    vocab, spools = distributed._count_on(cluster, names, corpus, options, lambda message: None)
    seconds = time.perf_counter() - start
    peak = peak_mib()
    if spools is not None:
        distributed._drop_spools(cluster.client, spools.key)
    return {"seconds": seconds, "peak_mib": peak, "before_mib": before, "words": len(vocab),
            "tokens": int(vocab.counts.sum())}


def main(argv=None) -> None:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="threads a worker")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--name", type=result_name, help="write the runs to benchmarks/results/NAME.md")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.corpus):
        raise BadArgument(f"--corpus {args.corpus}: no such file")
    if args.workers < 1 or args.threads < 1 or args.repeat < 1:
        raise BadArgument(f"--workers {args.workers} --threads {args.threads} --repeat {args.repeat}: each must be "
                          f"at least 1")
    if not os.path.exists("/proc/self/clear_refs"):
        raise BadArgument("this benchmark reads and resets the peak memory through /proc (Linux)")
    rows = []
    for i in range(args.repeat):
        r = run(args.corpus, args.workers, args.threads)
        rows.append(f"| {i + 1} | {r['seconds']:.2f} | {r['peak_mib']:.0f} | {r['before_mib']:.0f} | "
                    f"{r['words']:,} |")
        print(f"run {i + 1}: counting {r['seconds']:.2f} s, the command's peak {r['peak_mib']:.0f} MiB (before the "
              f"step {r['before_mib']:.0f} MiB), vocabulary {r['words']:,} words", flush=True)
    if args.name:
        write_result(args.name, [
            f"# The command's peak memory while {args.workers} workers count ({datetime.date.today()})", "",
            f"`{invocation(__file__, argv)}`", "",
            f"`local:{args.workers}`, {args.threads} thread(s) a worker: the counting step of a distributed run "
            f"(`w2v.distributed._count_on`). Peak: the command's `VmHWM` during the step, reset just before it.", "",
            "| run | counting s | peak MiB | before the step MiB | vocabulary |", "|---|---|---|---|---|"] + rows)


if __name__ == "__main__":
    run_in_one_line(main, "distributed_count_memory")
