"""Where a distributed run's time goes between the workers' rounds, by timestamps (a local Dask cluster).

    python benchmarks/distributed_timeline.py --corpus /tmp/wiki8.txt --workers 2 --repeat 3 --name NAME
    python benchmarks/distributed_timeline.py --corpus /tmp/wiki8.txt --relay     # Dask's default path

Each run starts a local cluster of ``--workers`` processes (:func:`w2v.distributed.connect`), trains one
epoch (``--threads`` a worker, ``--seed``) with :func:`w2v.distributed.train`, and stamps, with the wall clock
all processes of one machine share: on each worker, each round's start and end (``_train_round`` wrapped on the
workers); in this process, each worker's result taken (``expected_updates``, called on every result as it
arrives), the combined change made (``_Combiner.apply``) and sent (``_DistributedRun._send``). For each sync
after the first round it reports, as medians over the run's syncs:

* ``spread``: the last worker's round end less the first's (what the faster workers wait for);
* ``take``: from the last worker's end to this process holding the last result it adds (that worker's change
  crossing over, and with one thread a worker any changes added after it in shard order);
* ``combine``: adding the last result in and making the combined change;
* ``send``: the combined change onto every worker;
* ``start``: from the send's end to the last worker starting its next round;
* ``gap``: from the last worker's round end to the last worker's next start (``take`` to ``start`` together: what
  a sync costs the workers besides the ``spread``);

and each worker's words/s inside its rounds (the kernels, a round's own packing included); with ``--name``, a
table of the runs in ``benchmarks/results/NAME.md``. ``--relay`` makes the client move its data through the
scheduler (``direct_to_workers=False``), as Dask does by default. The
stamps hook private names of ``w2v.distributed`` (``tests/test_distributed.py`` runs this on the sample
corpus, so a renaming is caught there); they cost microseconds a call, a few dozen calls a run.
"""
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import BadArgument, OneLineParser, run_in_one_line  # noqa: E402
from timing import invocation, result_name, write_result  # noqa: E402

PARTS = ("spread", "take", "combine", "send", "start", "gap")


def stamp_rounds() -> None:
    """Wrap ``_train_round`` on this worker so that each round's start and end (wall clock) and words are kept."""
    from w2v import distributed
    if getattr(distributed, "_timeline", None) is not None:
        return
    distributed._timeline = []
    train_round = distributed._train_round

    def stamped(*args, **kwargs):
        start = time.time()
        result = train_round(*args, **kwargs)
        words = result[-1] if isinstance(result, tuple) else 0
        distributed._timeline.append((start, time.time(), int(words)))
        return result

    distributed._train_round = stamped


def stamped_rounds() -> list:
    from w2v import distributed
    return list(getattr(distributed, "_timeline", None) or [])


def stamp_client(events: list):
    """Wrap the client's steps of a sync in this process, each call appending (name, start, end) to ``events``;
    returns the function that puts the originals back."""
    from w2v import distributed
    originals = []

    def wrap(owner, name):
        function = getattr(owner, name)
        originals.append((owner, name, function))

        def stamped(*args, **kwargs):
            start = time.time()
            result = function(*args, **kwargs)
            events.append((name, start, time.time()))
            return result

        setattr(owner, name, stamped)

    wrap(distributed, "expected_updates")
    wrap(distributed._Combiner, "apply")
    wrap(distributed._DistributedRun, "_send")

    def undo() -> None:
        for owner, name, function in originals:
            setattr(owner, name, function)
    return undo


def syncs_of(rounds_by_worker: list, events: list) -> list:
    """One dict of seconds a sync, from the workers' rounds (lists of (start, end, words), in order) and the
    client's events. Round r's sync is the send that follows the last worker's end of round r."""
    n = min(len(rounds) for rounds in rounds_by_worker)
    sends = sorted((s, e) for name, s, e in events if name == "_send")
    takes = sorted(s for name, s, e in events if name == "expected_updates")
    applies = sorted(e for name, s, e in events if name == "apply")
    out = []
    for r in range(n - 1):
        ends = [rounds[r][1] for rounds in rounds_by_worker]
        last = max(ends)
        after = [send for send in sends if send[0] >= last]
        if not after:
            continue
        send_start, send_end = after[0]
        made = [t for t in applies if last <= t <= send_start]  # the round's matrices, combined
        if not made:
            continue
        took = [t for t in takes if last - 1e-3 <= t <= made[0]]  # the last result taken (then the combine)
        if not took:
            continue
        next_start = max(rounds[r + 1][0] for rounds in rounds_by_worker)
        out.append({"spread": last - min(ends), "take": took[-1] - last, "combine": made[-1] - took[-1],
                    "send": send_end - send_start, "start": next_start - send_end,
                    "gap": next_start - last})
    return out


def run(corpus: str, workers: int, threads: int, seed: int, relay: bool) -> dict:
    from w2v import distributed
    from w2v.options import TrainOptions
    cluster = distributed.connect(f"local:{workers}")
    cluster.client.direct_to_workers = not relay  # (Dask reads it at every gather and scatter)
    events: list = []
    unstamp = stamp_client(events)
    try:
        cluster.client.run(stamp_rounds)
        started = time.time()
        result = distributed.train([corpus], TrainOptions(epochs=1, threads=threads, seed=seed), cluster=cluster)
        wall = time.time() - started
        stamped = cluster.client.run(stamped_rounds)
    finally:
        unstamp()
        cluster.close()
    rounds_by_worker = [stamped[worker] for worker in sorted(stamped)]
    syncs = syncs_of(rounds_by_worker, events)
    speeds = [sum(w for _, _, w in rounds) / sum(e - s for s, e, _ in rounds) for rounds in rounds_by_worker]
    medians = {key: statistics.median(sync[key] for sync in syncs) for key in syncs[0]} if syncs else {}
    return {"train_s": result.seconds, "wall_s": wall, "words_per_s": result.words / result.seconds,
            "rounds": min(len(r) for r in rounds_by_worker), "worker_words_per_s": speeds, "sync_medians": medians,
            "syncs_counted": len(syncs)}


def main(argv=None) -> None:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="threads a worker")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--relay", action="store_true", help="through the scheduler (Dask's default)")
    parser.add_argument("--name", type=result_name, help="write the runs to benchmarks/results/NAME.md")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.corpus):
        raise BadArgument(f"--corpus {args.corpus}: no such file")
    if args.workers < 1 or args.threads < 1 or args.repeat < 1 or args.seed < 0:
        raise BadArgument(f"--workers {args.workers} --threads {args.threads} --repeat {args.repeat} --seed "
                          f"{args.seed}: workers, threads and repeat must be at least 1, the seed not negative")
    rows = []
    for i in range(args.repeat):
        r = run(args.corpus, args.workers, args.threads, args.seed, args.relay)
        parts = [r["sync_medians"].get(key, float("nan")) for key in PARTS]
        speeds = ", ".join(f"{s:,.0f}" for s in r["worker_words_per_s"])
        rows.append(f"| {i + 1} | {r['train_s']:.2f} | {r['words_per_s']:,.0f} | {r['rounds']} | {speeds} | "
                    + " | ".join(f"{x:.3f}" for x in parts) + " |")
        print(f"run {i + 1}: training {r['train_s']:.2f} s ({r['words_per_s']:,.0f} words/s), {r['rounds']} rounds; "
              f"a worker's rounds at {speeds} words/s; a sync's medians over {r['syncs_counted']} (s): "
              + " ".join(f"{key} {x:.3f}" for key, x in zip(PARTS, parts)), flush=True)
    if args.name:
        path = "through the scheduler (`--relay`)" if args.relay else "directly"
        write_result(args.name, [
            f"# Where a distributed run's time goes between rounds ({datetime.date.today()})", "",
            f"`{invocation(__file__, argv)}`", "",
            f"One epoch on `local:{args.workers}`, {args.threads} thread(s) a worker, seed {args.seed}, the client's "
            f"data moving {path}. A sync's parts are medians over the run's syncs, in seconds (the script's "
            f"docstring says what each is).", "",
            "| run | training s | words/s | rounds | a worker's words/s in its rounds | "
            + " | ".join(PARTS) + " |",
            "|---|---|---|---|---|" + "---|" * len(PARTS)] + rows)


if __name__ == "__main__":
    run_in_one_line(main, "distributed_timeline")
