"""Distributed training on a Dask LocalCluster of 2 worker processes (started here, one per module)."""
import asyncio
import bz2
import contextlib
import gzip
import lzma
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("distributed")  # the test extra installs it: these run in CI

import w2v  # noqa: E402
from conftest import ROOT, slurp  # noqa: E402
from w2v import bzip2, distributed, kernels, scan  # noqa: E402
from w2v.cli import cli  # noqa: E402
from w2v.corpus import BLOCKS, CUT, Corpus, forget_bzip2_layouts  # noqa: E402
from w2v.model import Model, Weights  # noqa: E402
from w2v.options import MIN_SYNC_WORDS, TrainOptions  # noqa: E402
from w2v.training import TrainingInterrupted  # noqa: E402
from w2v.vocab import Vocabulary, build_vocabulary  # noqa: E402

SMALL = dict(dim=16, threads=1, seed=3, chunk_words=20_000)


@pytest.fixture(scope="module")
def cluster():
    """The module's cluster. Dask's local cluster closes the nanny of a worker it saw removed once
    ``distributed.deploy.lost-worker-timeout`` (15 s) later if no worker of that name is registered by then, so
    a second restart of the same worker whose gap spans that moment loses the worker for good: in CI a test's
    ``restart_workers`` timed out after 120 s (restarts killing workers for good are also dask/distributed#7312's
    subject). The tests restart and kill workers often, so the timer is set beyond the module's life;
    ``_two_workers`` replaces a nanny that closed or gave up instead."""
    import dask
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "1h"}):
        with distributed.connect("local:2") as opened:
            yield opened


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _two_workers(cluster) -> None:
    """The module's cluster has two workers again after one was killed (its nanny starts a new one, or, when
    the nanny gave up, seen once under load, a new nanny does) or a third was added: exactly two, waited
    for (a worker being retired is still listed for a moment)."""
    from distributed.core import Status

    async def forget_closed_nannies():
        for name, nanny in list(cluster.local.workers.items()):
            if nanny.status in (Status.closing, Status.closed, Status.failed):
                del cluster.local.workers[name]
    cluster.local.sync(forget_closed_nannies)
    cluster.local.scale(2)
    cluster.client.wait_for_workers(2, timeout=120)
    deadline = time.monotonic() + 60
    while len(cluster.workers) != 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(cluster.workers) == 2, cluster.workers


@contextlib.contextmanager
def _a_third_worker(cluster):
    """A third worker for the module's cluster, in this process, closed after. Not the local cluster's scale(3)
    and scale(2): in one full run of the suite a later test's restart of a worker then timed out, the local cluster
    having closed that worker's nanny mid-restart."""
    import distributed as dask_distributed

    async def start():
        return await dask_distributed.Worker(cluster.local.scheduler_address, nthreads=1, dashboard=False)
    worker = cluster.local.sync(start)
    try:
        cluster.client.wait_for_workers(3, timeout=120)
        yield worker
    finally:
        cluster.local.sync(worker.close)
        _two_workers(cluster)


def test_a_local_clusters_workers_log_only_critical_messages_and_never_see_a_stop_signal(cluster):
    """The workers of a local cluster the command starts log nothing but critical messages from their start
    (Dask's own error tracebacks would come after the command's line: dask/distributed#7105, a Ctrl-C while
    a worker sends a result), also one that its nanny started again; and their processes have SIGINT, SIGTERM
    and SIGHUP blocked, as the event loop's thread that started them, but not this thread."""
    def state():
        import io
        import logging
        import signal as signals
        handlers = [h for h in logging.getLogger("distributed").handlers if isinstance(h, logging.StreamHandler)]
        printed = io.StringIO()
        streams = [handler.setStream(printed) for handler in handlers]
        try:
            logging.getLogger("distributed.worker").error("an error")
            logging.getLogger("distributed.worker").critical("a critical error")
        finally:
            for handler, stream in zip(handlers, streams):
                handler.setStream(stream)
        blocked = signals.pthread_sigmask(signals.SIG_BLOCK, [])
        return printed.getvalue(), {signals.SIGINT, signals.SIGTERM, signals.SIGHUP} <= blocked
    restarted = cluster.workers[0]
    cluster.client.restart_workers([restarted])
    _two_workers(cluster)
    assert restarted not in cluster.workers
    for printed, blocked in cluster.client.run(state).values():
        assert "a critical error" in printed and "an error" not in printed and blocked
    assert not {signal.SIGINT, signal.SIGTERM, signal.SIGHUP} & signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_a_stop_signal_while_a_local_cluster_starts_is_taken_once_it_has_started():
    """A signal to the process while the cluster starts (here delivered to another thread, this one blocking
    it) lets the start finish and is raised by the command's own handler at the end, once; the handler and
    this thread's signal mask are as they were."""
    calls = []

    def handler(signum, frame):
        calls.append(signum)
        raise KeyboardInterrupt
    other = threading.Thread(target=time.sleep, args=(1.0,))  # a thread that takes the signal
    other.start()
    before = signal.signal(signal.SIGTERM, handler)
    went_on = []
    try:
        with pytest.raises(KeyboardInterrupt):
            with distributed._stop_signals_kept_from_workers():
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(20):  # the Python handler runs in this thread between these bytecodes
                    time.sleep(0.01)
                went_on.append(True)
        assert went_on == [True] and calls == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) is handler
        assert signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    finally:
        signal.signal(signal.SIGTERM, before)
        other.join()


def test_a_cluster_lists_all_its_workers_where_dask_lists_five_by_default():
    """distributed 2025.4 to 2026.6 list only five workers in scheduler_info() unless asked for all
    (n_workers=-1): a run on seven workers must see seven; a Dask without that parameter lists all anyway."""
    seven = {f"tcp://10.0.0.{i}:1": {"memory_limit": i} for i in range(7)}

    class Capped:
        def scheduler_info(self, n_workers: int = 5, **kwargs):
            return {"workers": dict(list(seven.items())[:len(seven) if n_workers == -1 else n_workers])}

    class Older:
        def scheduler_info(self, **kwargs):
            assert not kwargs
            return {"workers": dict(seven)}
    for client in (Capped(), Older()):
        cluster = distributed.Cluster(client)
        assert cluster.workers == sorted(seven)
        assert distributed._memory_limits(cluster, cluster.workers) == {w: i["memory_limit"] for w, i in seven.items()}


@pytest.mark.parametrize("joins", [True, False])
def test_a_scheduler_without_workers_is_waited_for_with_a_line_saying_so(joins):
    """A scheduler with no worker yet: the command says it waits (up to 60 s) before it waits, then takes the
    workers that join one after another (as `dask worker --nworkers 3` registers them) until none has joined
    for the settling time, or stops with one line when none comes."""
    starting = [f"tcp://10.0.0.{i}:1" for i in range(3)]

    class Client:
        workers: list = []

        def scheduler_info(self, n_workers=-1):
            if self.workers and len(self.workers) < len(starting):
                self.workers = starting[:len(self.workers) + 1]  # the next one registers
            return {"workers": {worker: {} for worker in self.workers}}

        def wait_for_workers(self, n, timeout):
            waited.append((n, timeout))
            if not joins:
                raise TimeoutError
            self.workers = starting[:1]
    said, waited = [], []
    if joins:
        got = distributed._wait_for_workers(distributed.Cluster(Client()), said.append, settle=0.3)
        assert got == starting
    else:
        with pytest.raises(OSError, match=r"^the Dask scheduler has no workers \(waited 60 s\); start some with "
                                          r"'dask worker ADDRESS'$"):
            distributed._wait_for_workers(distributed.Cluster(Client()), said.append, settle=0.3)
    assert said[0] == "the Dask scheduler has no workers yet: waiting up to 60 s for one..." and waited == [(1, 60.0)]
    assert said[1:] == (["3 workers joined"] if joins else [])


def test_a_cluster_that_keeps_growing_is_waited_for_at_most_the_timeout_again():
    """Workers that keep joining (an adaptive cluster scaling up) end the settling after ``timeout`` more
    seconds, with the workers there by then."""
    class Growing:
        joined = 0

        def scheduler_info(self, n_workers=-1):
            if self.joined:
                self.joined += 1
            return {"workers": {f"tcp://10.0.0.{i}:1": {} for i in range(self.joined)}}

        def wait_for_workers(self, n, timeout):
            self.joined = 1
    got = []
    waiting = threading.Thread(target=lambda: got.append(distributed._wait_for_workers(
        distributed.Cluster(Growing()), lambda line: None, timeout=0.5, settle=0.3)), daemon=True)
    waiting.start()
    waiting.join(5)
    assert not waiting.is_alive() and len(got[0]) > 1


def test_counts_in_the_commands_lines_agree_with_their_nouns():
    assert [distributed._counted(n, "worker") for n in (1, 2, 1000)] == ["1 worker", "2 workers", "1,000 workers"]


def test_two_workers_learn_the_planted_relation(cluster, sample_path):
    result = distributed.train([sample_path], cluster=cluster, epochs=3, sync_words=110_000, **SMALL)
    assert result.vectors.analogy("man", "king", "woman", topn=1)[0][0] == "queen"
    # about 200k words a shard, a sync every 110k: 2 rounds an epoch, after 6 warm-up rounds in the first
    assert len(result.syncs) == 7 + 2 + 2
    assert result.words == 3 * result.model.position.corpus["words"]
    assert result.history[-1].loss < result.history[0].loss


def test_a_cluster_run_starts_the_words_a_vectors_file_holds_from_it(cluster, sample_path, tmp_path):
    # the model starts on this machine and its weights go to the workers: a learning rate so small that the
    # trained vectors are still the given ones
    given = np.arange(32, dtype=np.float32).reshape(2, 16) / 31
    start = str(tmp_path / "start.npz")
    w2v.Vectors(["king", "queen"], given).save(start)
    said = []
    result = distributed.train([sample_path], cluster=cluster, epochs=1, alpha=1e-9, init_vectors=start,
                               log=said.append, **SMALL)
    assert "2 of the 737 words start from the vectors of " + start in said
    np.testing.assert_allclose(result.vectors.matrix[[result.vectors.row("king"), result.vectors.row("queen")]],
                               given, atol=1e-6)
    said.clear()
    with pytest.raises(ValueError, match="its vectors have dimension 16, the model 8"):  # before the workers count
        distributed.train([sample_path], cluster=cluster, epochs=1, init_vectors=start, log=said.append,
                          **{**SMALL, "dim": 8})
    assert said == []


@pytest.mark.parametrize("options", [dict(hs=True, negative=0), dict(model="cbow")], ids=["sg-hs", "cbow"])
def test_every_configuration_trains(cluster, sample_path, options):
    result = distributed.train([sample_path], cluster=cluster, epochs=2, sync_words=100_000, **{**SMALL, **options})
    assert np.isfinite(result.vectors.matrix).all()
    assert "queen" in [w for w, _ in result.vectors.analogy("man", "king", "woman", topn=5)]


def test_a_compressed_file_every_worker_inflates_is_named(cluster, sample_path, tmp_path):
    """One .gz file cannot be split: each worker inflates it all, and the command says so, naming it;
    two files of about the same size go one to each worker, and one .bz2 file is cut by its blocks:
    nothing is said."""
    with open(sample_path, "rb") as f:
        text = f.read()
    one = str(tmp_path / "one.txt.gz")
    with gzip.open(one, "wb") as f:
        f.write(text)
    said = []
    result = distributed.train([one], cluster=cluster, epochs=1, log=said.append, **SMALL)
    named = [line for line in said if line.startswith(one + ":")]
    assert len(named) == 1 and "each of the 2 workers inflates all of this compressed file" in named[0], said
    said.clear()  # going on with the model says it again
    distributed.train_model(result.model, [one], cluster=cluster, epochs=1, log=said.append)
    assert sum(line.startswith(one + ":") for line in said) == 1, said
    halves = [str(tmp_path / f"half{i}.txt.gz") for i in range(2)]
    cut = text.index(b" ", len(text) // 2)
    for path, half in zip(halves, (text[:cut], text[cut:])):
        with gzip.open(path, "wb") as f:
            f.write(half)
    said.clear()
    distributed.train(halves, cluster=cluster, epochs=1, log=said.append, **SMALL)
    assert said and not any("inflates all of" in line for line in said), said
    bzip2_file = str(tmp_path / "one.txt.bz2")  # one .bz2 file is cut by its blocks: nothing to say
    with open(bzip2_file, "wb") as f:
        f.write(bz2.compress(text[:text.index(b"\n", len(text) // 4) + 1], 1))  # (a quarter: 6 blocks, trained fast)
    said.clear()  # (and its layout is found by the workers together: none scans the whole file)
    def train_and_go_on():
        trained = distributed.train([bzip2_file], cluster=cluster, epochs=1, log=said.append, **SMALL)
        cluster.client.run(forget_bzip2_layouts)  # (so that going on must lay it out again)
        distributed.train_model(trained.model, [bzip2_file], cluster=cluster, epochs=1, log=said.append)

    _no_worker_scans_a_whole_bzip2_file(cluster, train_and_go_on)
    assert said and not any("inflates all of" in line for line in said), said
    assert Corpus([bzip2_file]).part(0, 2).roles == [BLOCKS]


def _awkward_corpus(folder):
    """Plain and compressed files, a small one, no final newline, invalid UTF-8, long lines."""
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(300)] + ["caf\u00e9", "na\u00efve", "x\xffy"]
    lines = [" ".join(rng.choice(words, size=rng.integers(1, 400))) for _ in range(800)]
    text = "\n".join(lines).encode("utf-8", "surrogateescape").replace("x\xc3\xbfy".encode(), b"x\xffy")
    (folder / "a.txt").write_bytes(text)
    (folder / "b.txt.gz").write_bytes(gzip.compress(text[: len(text) // 2] + b"\tB\x0cC  D"))
    (folder / "c.txt").write_bytes(b"tiny file w1 w2")
    # one-block streams of 40,000 bytes of text each, cut inside tokens: laid out as blocks, cut by text
    (folder / "d.txt.xz").write_bytes(b"".join(lzma.compress(text[i:i + 40_000]) for i in range(0, len(text), 40_000)))
    # blocks of 100 kB of text, too large to deal whole: cut by its blocks
    (folder / "e.txt.bz2").write_bytes(bz2.compress(text[::-1] * 3, 1))
    return [str(folder / n) for n in ("a.txt", "b.txt.gz", "c.txt", "d.txt.xz", "e.txt.bz2")]


def _no_worker_scans_a_whole_bzip2_file(cluster, action):
    """``action()``, while a worker that scans a whole .bz2 file for its layout (:func:`w2v.bzip2.blocks_of`)
    fails: the workers must share the scan (:func:`w2v.distributed._lay_out_bzip2`)."""
    def whole_scans(forbidden: bool) -> None:  # (runs in each worker process)
        from w2v import bzip2
        real = getattr(bzip2, "_real_blocks_of", bzip2.blocks_of)
        bzip2._real_blocks_of = real

        def refuse(raw):
            raise AssertionError("a worker scanned the whole .bz2 file")
        bzip2.blocks_of = refuse if forbidden else real

    cluster.client.run(whole_scans, True)
    try:
        return action()
    finally:
        cluster.client.run(whole_scans, False)


def test_the_distributed_vocabulary_is_the_single_machine_one(cluster, tmp_path):
    """Also: the .bz2 file cut by its blocks is laid out by the workers together, each scanning half of
    it; no worker scans the whole file (that would fail here)."""
    files = _awkward_corpus(tmp_path)
    options = TrainOptions(min_count=1, threads=1).resolved()
    one, _ = build_vocabulary(Corpus(files), min_count=1)
    workers = cluster.workers

    def kept_layout(path):  # (runs in each worker process)
        from w2v import corpus
        info = os.stat(path)
        return corpus._BZIP2_LAYOUTS.get((path, info.st_size, info.st_mtime_ns), "none")

    def lay_out_and_count():
        distributed._prepare_parts(cluster, workers, files, lambda message: None)
        vocab, spools = distributed._count_on(cluster, workers, Corpus(files), options, lambda message: None)
        distributed._drop_spools(cluster.client, spools.key)
        return vocab

    spread = _no_worker_scans_a_whole_bzip2_file(cluster, lay_out_and_count)
    assert spread.words == one.words
    assert spread.counts.tolist() == one.counts.tolist()
    assert spread.total_tokens == one.total_tokens
    with open(files[4], "rb") as raw:
        layout = bzip2.blocks_of(raw)
    assert len(layout) > 6 and list(cluster.client.run(kept_layout, files[4]).values()) == [layout] * 2


def test_the_client_loads_the_merge_and_vocabulary_kernels_while_the_workers_count(cluster, sample_path,
                                                                                 monkeypatch):
    """A first run compiles them (~5 s), which the merge would otherwise wait for after the workers' counts."""
    calls, prepare, gather = [], scan.prepare, cluster.client.gather

    def recorded_prepare(pass_name, *args):
        calls.append(pass_name)
        return prepare(pass_name, *args)

    def recorded_gather(*args, **kwargs):
        calls.append("gather")
        return gather(*args, **kwargs)

    monkeypatch.setattr(scan, "prepare", recorded_prepare)
    monkeypatch.setattr(cluster.client, "gather", recorded_gather)
    options = TrainOptions(threads=1).resolved()
    vocab, spools = distributed._count_on(cluster, cluster.workers, Corpus([sample_path]), options,
                                          lambda message: None)
    distributed._drop_spools(cluster.client, spools.key)
    assert len(vocab) > 100
    assert "gather" in calls and {"merge", "vocabulary"} <= set(calls[:calls.index("gather")]), calls


def test_a_worker_has_its_training_kernel_compiled_beside_its_first_task_and_waits_before_training(
        sample_path, monkeypatch):
    """A worker of two threads starts the helper (w2v.precompile.start) from its first task, the count, once
    for its kernel (not again when it encodes), and its first round waits for it before the kernel is called.
    The workers' functions run here, in this process, with the helper recorded."""
    from dataclasses import asdict

    from w2v import precompile
    from w2v.vocab import vocabulary_from_count
    events = []

    class RecordedHelper:
        def wait(self):
            events.append("wait")
            return 1.0, "", 0.0

    def recorded_start(options, say=None):
        events.append(("start", options.kernel_name, options.threads))
        return RecordedHelper(), 0.0

    kernel_function = distributed.kernel_function

    def recorded_kernel_function(name, width):
        kernel = kernel_function(name, width)

        def called(*args):
            events.append("kernel")
            return kernel(*args)
        return called

    monkeypatch.setattr(precompile, "start", recorded_start)
    monkeypatch.setattr(distributed, "kernel_function", recorded_kernel_function)
    monkeypatch.setattr(distributed, "_KERNELS", {})
    options = asdict(TrainOptions(threads=2, epochs=1).resolved())
    part = distributed._count_part([sample_path], False, 0, 1, None, 2, options)
    assert events == [("start", "sg_batched", 2)]
    vocab, _ = vocabulary_from_count(scan.merge([part], None), 5)
    model = Model.new(vocab, TrainOptions(**options))
    model.initialize()
    run = "kernel-test"
    try:
        distributed._describe_shard(run, 0, 1, [sample_path], vocab, options, None, 100_000)  # encodes
        assert events == [("start", "sg_batched", 2)]
        result = distributed._train_round(run, 0, 1, [sample_path], vocab, options, None, 100_000, 1, None,
                                          model.weights, 0, 0.0, 1.0, 0.025, 0.0001)
    finally:
        asyncio.run(distributed._forget(run))
    assert result[4] > 100_000  # the words trained
    assert events[:3] == [("start", "sg_batched", 2), "wait", "kernel"] and events.count("wait") == 1, events


def test_parts_hold_every_token_once(tmp_path):
    files = _awkward_corpus(tmp_path)
    whole = sorted(t for b, _ in Corpus(files, block_size=4096).blocks() for t in b.split())
    # (the .xz file is cut by its text, the .bz2 file by its blocks)
    assert Corpus(files).part(0, 2).roles[3:] == [CUT, BLOCKS]
    for n in (2, 3, 5):
        parts = sorted(t for k in range(n) for b, _ in Corpus(files, block_size=4096).part(k, n).blocks()
                       for t in b.split())
        assert parts == whole


def _shard_ids(run, k):
    """A worker's shard (held in this process): its ids (read back from its spool file) and its offsets."""
    encoded = distributed._SHARDS[(run, k)].encoded
    ids, _ = encoded.chunk(0, encoded.n_sentences)
    return np.array(ids), np.array(encoded.offsets)


@pytest.mark.parametrize("parts, threads", [(1, 2), (3, 4)])  # (4 threads: a count merged in shards)
def test_a_workers_spooled_count_encodes_its_shard_as_reading_the_text_again(tmp_path, monkeypatch, parts, threads):
    """The workers' functions, run here: each part counted with its spool (a file cut into byte ranges, a line
    longer than max_sentence_length, tokens below min_count); the parts' counts merged with their maps;
    each shard opened from its spool (no second reading of the text) holds the ids and offsets that reading the
    text again gives, and takes the spool."""
    from dataclasses import asdict

    from w2v import encode
    from w2v.vocab import vocabulary_and_entry_ids
    text = " ".join(f"w{i % 37} x{i % 5}" + ("\n" if i % 11 == 0 else "") for i in range(40000)) + " rare once\n"
    path = tmp_path / "c.txt"
    path.write_text(text + " ".join(["long"] * 300) + "\n")
    options = asdict(TrainOptions(threads=threads, min_count=2, max_sentence_length=100).resolved())
    files = [str(path)]
    key = f"spool-test-{parts}"  # (a key once dropped keeps no later spool)
    counted = [distributed._count_part(files, False, k, parts, None, threads, None, (key, str(tmp_path)))
               for k in range(parts)]
    assert (distributed._SPOOLED[(key, 0)].entry_of is not None) == (threads >= scan.SHARDED_FROM_THREADS)
    assert sorted(distributed._SPOOLED) == [(key, k) for k in range(parts)]
    merged, wheres = scan.merge_mapped(counted, None)
    vocab, _, word_ids = vocabulary_and_entry_ids(merged, 2)
    reading = encode.encode_corpus

    def not_reading(*args, **kwargs):
        raise AssertionError("the text was read again")
    try:
        monkeypatch.setattr(encode, "encode_corpus", not_reading)
        for k in range(parts):
            distributed._open_shard("spooled", k, parts, files, vocab, options, None, 100_000,
                                    (key, word_ids[wheres[k]]))
        assert not distributed._SPOOLED
        monkeypatch.setattr(encode, "encode_corpus", reading)
        for k in range(parts):
            distributed._open_shard("read", k, parts, files, vocab, options, None, 100_000)
            spooled_ids, spooled_offsets = _shard_ids("spooled", k)
            read_ids, read_offsets = _shard_ids("read", k)
            assert spooled_ids.tolist() == read_ids.tolist() and len(read_ids) > 1000
            assert spooled_offsets.tolist() == read_offsets.tolist()
    finally:
        asyncio.run(distributed._forget("spooled"))
        asyncio.run(distributed._forget("read"))
        asyncio.run(distributed._forget_spools(key))


def test_without_its_spool_a_shard_reads_its_part_again(tmp_path):
    """A shard opened where its part was not counted (another worker), or after the spools were dropped, reads
    the text: the same shard. A part that finishes counting after its count's spools were dropped (the command
    gave up) keeps none."""
    from dataclasses import asdict

    from w2v.vocab import vocabulary_and_entry_ids
    path = tmp_path / "c.txt"
    path.write_text(" ".join(f"w{i % 23}" for i in range(3000)) + "\n")
    options = asdict(TrainOptions(threads=1, min_count=1).resolved())
    part = distributed._count_part([str(path)], False, 0, 1, None, 1, None, ("dropped", None))
    merged, wheres = scan.merge_mapped([part], None)
    vocab, _, word_ids = vocabulary_and_entry_ids(merged, 1)
    assert asyncio.run(distributed._forget_spools("dropped")) == 1 and not distributed._SPOOLED
    distributed._count_part([str(path)], False, 0, 1, None, 1, None, ("dropped", None))  # still counting then
    assert not distributed._SPOOLED
    try:
        distributed._open_shard("no-spool", 0, 1, [str(path)], vocab, options, None, 100_000,
                                ("dropped", word_ids[wheres[0]]))
        assert distributed._SHARDS[("no-spool", 0)].encoded.n_words == 3000
    finally:
        asyncio.run(distributed._forget("no-spool"))


def test_a_distributed_run_leaves_no_spool_on_its_workers(cluster, sample_path, tmp_path):
    """The workers spool their counts, the shards take them, and nothing is left once the run ends; a count
    whose merge prunes keeps none."""
    def held():
        return sorted(cluster.client.run(lambda: len(distributed._SPOOLED)).values())

    options = TrainOptions(threads=1).resolved()
    vocab, spools = distributed._count_on(cluster, cluster.workers, Corpus([sample_path]), options,
                                          lambda message: None)
    assert held() == [1, 1] and len(spools.word_ids) == 2
    distributed._drop_spools(cluster.client, spools.key)
    for _ in range(100):
        if held() == [0, 0]:
            break
        time.sleep(0.05)
    assert held() == [0, 0]
    pruned = TrainOptions(threads=1, count_limit=50, min_count=1).resolved()
    assert distributed._count_on(cluster, cluster.workers, Corpus([sample_path]), pruned,
                                 lambda message: None)[1] is None
    result = distributed.train([sample_path], TrainOptions(epochs=1, **SMALL), cluster=cluster)
    assert len(result.vectors) > 100
    for _ in range(100):
        if held() == [0, 0]:
            break
        time.sleep(0.05)
    assert held() == [0, 0]


def test_update_vocab_counts_on_the_workers_and_encodes_from_their_spools(cluster, sample_path, tmp_path,
                                                                          monkeypatch):
    """A model trained further with new words on a cluster: the workers count the new text (the client counts
    none of it), its words are merged into the model's vocabulary as one machine merges them, the shards open
    from the workers' spools (a worker reading its part again fails the run), and they hold the words that
    encoding the text with the merged vocabulary gives: the run trains the weights that the model merged on
    one machine trains from text read again (one thread a worker, a seed: the same bytes); no spool is left."""
    from w2v.encode import encode_corpus
    from w2v.training import count_new_words
    first = tmp_path / "first.txt"
    first.write_text("".join(line for line in slurp(sample_path).splitlines(True) if "madrid" not in line))
    base = str(tmp_path / "base.w2vm")
    w2v.train(str(first), epochs=1, **SMALL).model.save(base)
    one_machine = Model.load(base)
    added, spooled = count_new_words(one_machine, Corpus([sample_path]), lambda message: None, in_memory=True)
    spooled[0].close()

    def forbid_reading():
        import w2v.encode

        def refuse(*args, **kwargs):
            raise AssertionError("a worker read its part again")
        w2v.encode.__dict__.setdefault("_reading", w2v.encode.encode_corpus)
        w2v.encode.encode_corpus = refuse

    def allow_reading():
        import w2v.encode
        w2v.encode.encode_corpus = w2v.encode.__dict__.pop("_reading", w2v.encode.encode_corpus)

    for name in ("count", "count_and_spool"):
        monkeypatch.setattr(scan, name, lambda *args, **kwargs: pytest.fail("the client counted the text"))
    model, said = Model.load(base), []
    cluster.client.run(forbid_reading)
    try:
        distributed.train_model(model, [sample_path], cluster=cluster, update_vocab=True, epochs=1, log=said.append)
    finally:
        cluster.client.run(allow_reading)
    assert added == 1 and f"vocabulary: 1 new words, {len(model.vocab):,} in all" in said
    assert model.vocab.words == one_machine.vocab.words and "madrid" in model.vocab
    assert model.vocab.counts.tolist() == one_machine.vocab.counts.tolist()
    assert model.position.corpus["words"] == encode_corpus(Corpus([sample_path]), model.vocab).n_words
    assert sorted(cluster.client.run(lambda: len(distributed._SPOOLED)).values()) == [0, 0]
    monkeypatch.undo()
    distributed.train_model(one_machine, [sample_path], cluster=cluster, epochs=1)  # its shards read the text
    assert np.array_equal(model.vectors.matrix, one_machine.vectors.matrix)


def test_phrases_are_counted_and_joined_by_the_workers(cluster, sample_path, tmp_path, monkeypatch):
    """Phrases on a cluster: the workers count them (this process counts no text) and join them as they read
    their parts, so the vocabulary is the one-machine phrased run's (no pair straddles the sample's two parts);
    the checkpoint records the phrases, and a run stopped between syncs resumes through them to the same
    bytes."""
    from w2v import phrases
    phrasing = dict(phrases=2, phrase_thresholds=(30.0, 10.0))
    one_machine = w2v.train(sample_path, epochs=1, **phrasing, **SMALL).model.vocab
    for module, name in ((scan, "count"), (scan, "count_and_spool"), (phrases, "count_pairs")):
        monkeypatch.setattr(module, name, lambda *args, **kwargs: pytest.fail("this process counted the text"))
    gathered, gather = [], distributed._gather

    def gather_noted(client, futures, doing):
        gathered.append((doing, len(futures)))
        return gather(client, futures, doing)
    monkeypatch.setattr(distributed, "_gather", gather_noted)
    said = []
    whole = distributed.train([sample_path], cluster=cluster, epochs=1, sync_words=55_000, log=said.append,
                              **phrasing, **SMALL)
    monkeypatch.undo()
    # the parts' counts come one at a time, each merged before the next: 2 passes x (tokens, pairs) x 2 parts
    assert [n for doing, n in gathered if doing == "counting phrases"] == [1] * 8
    assert [n for doing, n in gathered if doing == "counting the vocabulary"] == [1] * 2
    assert "counting phrases on 2 workers (pass 2 of 2)..." in said
    assert sum(message.startswith("phrases: ") for message in said) == 2
    assert whole.model.vocab.words == one_machine.words and any("_" in w for w in one_machine.words)
    assert whole.model.vocab.counts.tolist() == one_machine.counts.tolist()
    checkpoint, rounds = str(tmp_path / "c.w2vm"), []
    with pytest.raises(TrainingInterrupted, match="last sync"):
        distributed.train([sample_path], cluster=cluster, epochs=1, sync_words=55_000, checkpoint=checkpoint,
                          round_callback=lambda p: rounds.append(p.chunk) or len(rounds) > 3, **phrasing, **SMALL)
    stopped = Model.load(checkpoint)
    assert stopped.position.corpus["phrases"]["thresholds"] == [30.0, 10.0] and stopped.position.chunk == 3
    resumed = distributed.train_model(stopped, [sample_path], cluster=cluster)
    assert np.array_equal(resumed.model.weights.syn0, whole.model.weights.syn0)


@pytest.mark.parametrize("phrasing", [dict(phrase_table="TABLE"), dict(phrases=1, phrase_thresholds=(30.0,),
                                                                         keep_words=True)], ids=["table", "keep"])
def test_a_phrase_table_and_kept_words_on_a_cluster_give_the_one_machine_vocabulary(cluster, sample_path, tmp_path,
                                                                                    phrasing):
    table = str(tmp_path / "t.tsv")
    result = run("phrases", sample_path, "-o", tmp_path / "p.txt", "--threshold", 30, "--save-table", table, "-q")
    assert result.exit_code == 0, result.output
    phrasing = {key: table if value == "TABLE" else value for key, value in phrasing.items()}
    one_machine = w2v.train(sample_path, epochs=1, **phrasing, **SMALL).model.vocab
    vocab = distributed.train([sample_path], cluster=cluster, epochs=1, **phrasing, **SMALL).model.vocab
    assert vocab.words == one_machine.words and any("_" in w for w in vocab.words)
    assert vocab.counts.tolist() == one_machine.counts.tolist()


def test_data_the_phrase_counts_share_is_made_again_when_its_worker_dies(cluster):
    """What every phrase-counting task takes (the token table, the joins so far: distributed._shared) is the
    answer of a task holding it, so when the worker that holds it is restarted, Dask makes it again and the
    tasks that need it still run (a scattered copy would be lost with the worker)."""
    from distributed import wait
    data = np.arange(100_000)
    shared = distributed._shared(cluster.client, data)
    wait([shared], timeout=60)
    holder = next(iter(cluster.client.who_has([shared]).values()))[0]
    cluster.client.restart_workers([holder])
    assert cluster.client.submit(np.sum, shared, pure=False).result(timeout=60) == data.sum()


@pytest.mark.parametrize("fixed", [True, False])
def test_the_changes_are_added_in_shard_order_when_a_run_can_repeat_itself(fixed):
    """With one thread a worker the changes go into the sum in shard order, the first two in either order
    (a two-term sum is the same either way): a round waits for the ones before it; a round sent again keeps its
    turn. Otherwise each is added as it comes."""
    def added(arrivals, resent=()):
        order, sums, resent = distributed._SumOrder(fixed), [], list(resent)
        for k in arrivals:
            order.came(k, f"future {k}")
            for shard, future in order.turns():
                assert future == f"future {shard}"
                if shard in resent:  # (its data was lost: the round comes again later)
                    resent.remove(shard)
                    continue
                order.added(shard)
                sums.append(shard)
        return sums

    for arrivals in ([3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1], [0, 1, 2, 3]):
        assert added(arrivals) == (sorted([0, 1], key=arrivals.index) + [2, 3] if fixed else arrivals)
    assert added([2, 1, 0, 0, 3], resent=[0]) == ([1, 0, 2, 3] if fixed else [2, 1, 0, 3])
    assert added([1, 1, 0], resent=[1]) == [1, 0]  # (a resent shard 0 or 1 leaves the other's turn open)
    assert added([2, 0, 0, 1], resent=[0]) == ([0, 1, 2] if fixed else [2, 0, 1])


def test_a_seed_repeats_a_run_on_three_workers_whatever_order_the_rounds_end_in(cluster, sample_path, monkeypatch):
    """Float sums of three terms depend on their order: the client adds the workers' changes in shard order,
    so two runs whose rounds finish in opposite orders write the same weights, bit for bit."""
    import distributed as dask_distributed

    class InOrder:
        """Dask's as_completed, but every round of the list comes when all have finished, in ``shards`` order."""
        def __init__(self, futures, shards):
            self.futures, self.shards, self.more = futures, shards, []

        def add(self, future):
            self.more.append(future)

        def __iter__(self):
            dask_distributed.wait(self.futures)
            yield from (self.futures[k] for k in self.shards)
            while self.more:
                dask_distributed.wait(self.more[0])
                yield self.more.pop(0)

    with _a_third_worker(cluster):
        runs = []
        for shards in ([0, 1, 2], [2, 1, 0]):
            monkeypatch.setattr(distributed, "_as_completed", lambda futures, shards=shards: InOrder(futures, shards))
            runs.append(distributed.train([sample_path], cluster=cluster, epochs=1, **SMALL))
            assert len(runs[-1].syncs) >= 3 and runs[-1].model.position.corpus["shards"] == 3
    assert np.array_equal(runs[0].model.weights.syn0, runs[1].model.weights.syn0)
    assert np.array_equal(runs[0].model.weights.syn1neg, runs[1].model.weights.syn1neg)


def test_the_parts_counts_are_fetched_one_at_a_time_as_the_merge_takes_them():
    """The command fetches a part's count when the merge takes it, and lets its future go, so it holds one
    part's count at a time whatever the number of workers."""
    class Client:
        def __init__(self):
            self.fetched = []

        def gather(self, futures):
            self.fetched.extend(futures)
            return [f"count of {future}" for future in futures]

    client, futures = Client(), ["part 0", "part 1", "part 2"]
    each = distributed._each_gathered(client, futures, "counting")
    assert next(each) == "count of part 0" and client.fetched == ["part 0"] and futures == ["part 1", "part 2"]
    assert list(each) == ["count of part 1", "count of part 2"] and futures == []


def test_the_combine_rule_on_hand_made_changes():
    old = np.full((5, 2), 1000.0, np.float32)  # long rows: the changes below are small against them
    # worker 0 changed rows 0, 1 and 4; worker 1 rows 1, 2 and 4; row 3: nobody
    changes = [(np.array([0, 1, 4]), np.array([[1.0, 1.0], [2.0, 0.0], [6.0, 0.0]], np.float32)),
               (None, np.array([[0, 0], [4.0, 0.0], [3.0, 3.0], [0, 0], [4.0, 0.0]], np.float32))]
    # rows 0-3: a few updates each (linear); row 4: 10^6 each (both pulled it all the way)
    updates = [np.array([5.0, 1.0, 0.0, 0.0, 1e6]), np.array([0.0, 3.0, 2.0, 0.0, 1e6])]
    delta = distributed.combine(old, changes, updates, eta=1e-4)
    assert delta[0].tolist() == [1.0, 1.0]                   # one worker: its change whole
    assert delta[2].tolist() == [3.0, 3.0]
    assert np.allclose(delta[1], [6.0, 0.0], rtol=1e-3)      # both, few updates: the sum (not halved)
    assert delta[3].tolist() == [0.0, 0.0]                   # nobody: unchanged
    assert np.allclose(delta[4], [5.0, 0.0], rtol=1e-3)      # both, saturated: the mean (not doubled)
    # in between: exactly (1 - e^(-eta n)) / sum_k (1 - e^(-eta n_k)) of the sum
    middle = distributed.combine(old[:1], [(None, np.array([[1.0, 0]], np.float32))] * 2,
                                 [np.array([5000.0])] * 2, eta=1e-4)
    assert np.isclose(middle[0, 0], 2 * (1 - np.exp(-1.0)) / (2 * (1 - np.exp(-0.5))), rtol=1e-5)
    # no contraction (eta 0): every row gets the sum
    assert np.allclose(distributed.combine(old, changes, updates, eta=0.0)[4], [10.0, 0.0], rtol=1e-2)
    # two workers: the counts alone, however short the row (rare rows are short; summing two
    # changes of a saturated row reflects it about its target, which does not grow)
    short = np.full((5, 2), 2.0, np.float32)  # shorter than both changes of row 4
    assert np.allclose(distributed.combine(short, changes, updates, eta=0.0)[4], [10.0, 0.0], rtol=1e-6)
    # three or more, the change turned back against the last combined change (the sum had moved the row past
    # its target): a row that moved as far as its own length was pulled all the way, whatever the counts
    # say: the mean (the sum would overshoot it k - 1 times further every sync)
    third = (np.array([1, 4]), np.array([[2.0, 0.0], [5.0, 0.0]], np.float32))
    three = [np.array([5.0, 1.0, 0.0, 0.0, 1e6]), np.array([0.0, 3.0, 2.0, 0.0, 1e6]), np.array([0, 1.0, 0, 0, 1e6])]
    back = np.tile(np.array([[-127, 3]], np.int8), (5, 1))  # every row's last change pointed the other way
    guarded = distributed.combine(short, changes + [third], three, eta=0.0, last=back)
    assert np.allclose(guarded[4], [5.0, 0.0], rtol=1e-6)
    # row 1: changes 2, 4 and 2 against a row of length sqrt(8): shares 2/sqrt(8), 1 and 2/sqrt(8)
    assert np.allclose(guarded[1], [8.0 / (1 + 4 / np.sqrt(8)), 0.0], rtol=1e-5)
    assert np.allclose(guarded[0], [1.0, 1.0]) and np.allclose(guarded[2], [3.0, 3.0])  # one worker: whole
    assert np.allclose(distributed.combine(old, changes + [third], three, eta=0.0, last=back)[4], [15.0, 0.0],
                       rtol=1e-2)  # (long rows: small changes, the sum)
    # not turned back (no last change: the first round; or one the same way, or across): the counts alone
    for last in (None, -back, np.tile(np.array([[0, 127]], np.int8), (5, 1))):
        summed = distributed.combine(short, changes + [third], three, eta=0.0, last=last)
        assert np.allclose(summed[4], [15.0, 0.0], rtol=1e-6) and np.allclose(summed[1], [8.0, 0.0], rtol=1e-6)
    mixed = back.copy()
    mixed[4] = -mixed[4]  # row 1 turned back, row 4 went on
    assert np.allclose(distributed.combine(short, changes + [third], three, eta=0.0, last=mixed)[[1, 4]],
                       [guarded[1], [15.0, 0.0]], rtol=1e-5)
    # a short row changed by three in the first round: the sum (the output rows start at zero, and grow)
    zero = np.zeros((5, 2), np.float32)
    assert np.allclose(distributed.combine(zero, changes + [third], three, eta=0.0)[1], [8.0, 0.0])
    assert np.allclose(distributed.combine(zero, changes + [third], three, eta=0.0, last=back)[1], [8.0 / 3, 0.0])
    assert np.allclose(distributed.combine(zero, changes, updates, eta=0.0, last=back)[1], [6.0, 0.0])  # two: sum


def test_a_change_crosses_the_network_in_int16_steps_of_its_rows_largest_value():
    rng = np.random.default_rng(5)
    sizes = np.array([1.0, 1e-3, 1e-8, 0.0, 3e4, 1e-30])  # a large row, small ones, an all-zero row
    delta = np.zeros((6, 8), np.float32)  # 5 columns and 3 of padding
    delta[:, :5] = rng.standard_normal((6, 5)) * sizes[:, None]
    values, scale = distributed.pack_change(delta, 5)
    assert values.dtype == np.int16 and values.shape == (6, 5) and scale.dtype == np.float32
    assert np.array_equal(scale, np.abs(delta[:, :5]).max(axis=1))
    back = distributed.unpack_change(values, scale, 8)
    assert back.dtype == np.float32 and back.shape == (6, 8) and not back[:, 5:].any()
    error = np.abs(back - delta).max(axis=1)
    assert np.all(error <= scale / 65534 * (1 + 1e-5)), error / np.maximum(scale, 1e-45)
    assert not back[3].any() and back[2].any() and back[5].any()  # small rows keep their precision too
    assert np.array_equal(np.sign(back), np.sign(np.round(delta / np.maximum(scale, 1e-45)[:, None] * 32767)))
    empty = distributed.pack_change(np.zeros((0, 8), np.float32), 5)
    assert empty[0].shape == (0, 5) and distributed.unpack_change(*empty, 8).shape == (0, 8)


@pytest.mark.parametrize("share", [0.5, 0.001])  # most rows changed (sent whole), or few (sent by row)
def test_after_a_sync_every_shard_holds_the_clients_weights_bit_for_bit(sample_path, share, monkeypatch):
    """The workers' changes and the combined change cross as int16 steps: the client must add what the
    workers add, or their copies drift apart and a worker given the whole weights trains another model."""
    trained = w2v.train([sample_path], epochs=1, **SMALL).model
    options = dict(trained.options.__dict__)
    run, n, chunk_words = f"same-bits-{share}", 2, 200
    monkeypatch.setattr(distributed, "_SYNC_KERNELS_READY", {})
    distributed._sync_kernels_ready("worker")
    distributed._sync_kernels_ready("client")  # what they load beforehand is what a sync calls: nothing compiles
    sync_kernels = [kernels.changed_rows, kernels.pack_difference, kernels.pack_scaled, kernels.add_unpacked,
                    kernels.accumulate_unpacked]
    loaded = [len(kernel.signatures) for kernel in sync_kernels]
    assert all(loaded)
    client = Model(trained.vocab, trained.options)
    client.initialize()
    full = tuple(client.weights)
    try:
        for k in range(n):
            distributed._describe_shard(run, k, n, [sample_path], client.vocab, options, None, chunk_words)
        results = [distributed._train_round(run, k, n, [sample_path], client.vocab, options, None, chunk_words, 1,
                                            None, full, 0, 0.0, share, 0.025, 0.02) for k in range(n)]
        combiners = [distributed._Combiner(matrix, 1e-3, client.dim) for matrix in client.weights]
        for changes, occurrences, *_ in results:
            for combiner, change, updates in zip(combiners, changes, distributed.expected_updates(client, occurrences)):
                combiner.add(change, updates)
        update = tuple(combiner.apply() for combiner in combiners)
        syn0_rows = update[0][0]
        assert (syn0_rows is None) == (share == 0.5) and (syn0_rows is None or 0 < len(syn0_rows) < len(client.vocab))
        for k in range(n):  # applying the sync leaves a shard's weights as synced: its own change is in it
            shard = distributed._SHARDS[(run, k)]
            weights, synced = (Weights(*(m.copy() for m in w)) for w in (shard.model.weights, shard.synced))
            assert any(not np.array_equal(a, b) for a, b in zip(weights, synced))
            distributed._apply(weights, synced, update)
            assert all(np.array_equal(a, b) for a, b in zip(weights, synced))
        for k in range(n):  # the next round applies the sync, then trains from it
            distributed._train_round(run, k, n, [sample_path], client.vocab, options, None, chunk_words, 2,
                                     update, None, 0, share, 2 * share, 0.02, 0.015)
            synced = distributed._SHARDS[(run, k)].synced
            for mine, theirs in zip(client.weights, synced):
                assert np.array_equal(mine, theirs)
        assert [len(kernel.signatures) for kernel in sync_kernels] == loaded
    finally:
        asyncio.run(distributed._forget(run))


@pytest.mark.parametrize("changed_share", [0.1, 0.8], ids=["some-rows", "most-rows"])
def test_a_syncs_arithmetic_split_among_threads_gives_the_bits_of_one_call(monkeypatch, changed_share):
    """A worker's change, the client's combine and a worker's apply cut the rows into blocks for their
    threads (_in_blocks): each kernel treats each row alone, so the result is the bits of one call."""
    from concurrent.futures import ThreadPoolExecutor
    monkeypatch.setattr(distributed, "BLOCK_ROWS", 7)  # blocks of a few rows: every seam is crossed
    rng = np.random.default_rng(11)
    rows, width, dim = 103, 8, 6
    before = rng.standard_normal((rows, width)).astype(np.float32)
    nows = []
    for _ in range(3):  # three workers' rounds (rows three changed take the guard, from each change's length)
        now = before.copy()
        moved = rng.random(rows) < changed_share
        now[moved, :dim] += rng.standard_normal((int(moved.sum()), dim)).astype(np.float32) * 0.1
        nows.append(now)
    updates = [rng.random(rows) * 50 for _ in nows]
    answers = []
    with ThreadPoolExecutor(3) as pool:
        for threads in (None, pool):
            changes = [distributed._round_change(now, before, dim, threads) for now in nows]
            matrix = before.copy()
            combiner = distributed._Combiner(matrix, 1e-2, dim, threads)
            for change, u in zip(changes, updates):
                combiner.add(change, u)
            update = combiner.apply()
            weights, synced = Weights(nows[0].copy(), before[:0], before[:0]), Weights(before.copy(), before[:0],
                                                                                   before[:0])
            distributed._apply(weights, synced, (update, (None, *distributed._packed(0, dim)),
                                                 (None, *distributed._packed(0, dim))), threads)
            answers.append((changes, update, matrix, weights.syn0))
    (changes, update, matrix, trained), (changes2, update2, matrix2, trained2) = answers
    assert (changes[0][0] is None) == (update[0] is None) == (changed_share > 0.5)  # rows named, or all of them
    for one, split in zip(changes + [update], changes2 + [update2]):
        for a, b in zip(one, split):
            assert (a is None and b is None) or np.array_equal(a, b)
    assert np.array_equal(matrix, matrix2) and np.array_equal(trained, trained2) and np.array_equal(trained, matrix)


def test_expected_updates_follow_the_windows_and_the_noise(sample_path):
    vocab, _ = build_vocabulary(Corpus([sample_path]), min_count=5)
    model = Model.new(vocab, TrainOptions(hs=True, negative=5, sample=0, window=4))
    occurrences = np.zeros(len(vocab), np.int64)
    occurrences[[0, 7]] = [10, 3]
    syn0, syn1neg, syn1 = distributed.expected_updates(model, occurrences)
    assert syn0[[0, 7]].tolist() == [50, 15] and syn0.sum() == 65  # window + 1 contexts an occurrence
    noise = vocab.counts ** 0.75 / (vocab.counts ** 0.75).sum()
    assert np.allclose(syn1neg, (occurrences + 5 * noise * 13) * 5)  # targets, and negatives everywhere
    tree = vocab.huffman()
    on_path = set(tree.points[0, :tree.lengths[0]]) | set(tree.points[7, :tree.lengths[7]])
    assert set(np.flatnonzero(syn1)) == on_path
    assert syn1[tree.points[0, 0]] == 13 * 5  # every path goes through the root
    cbow = Model.new(vocab, TrainOptions(model="cbow", negative=5, sample=0, window=4))
    assert np.allclose(distributed.expected_updates(cbow, occurrences)[1], occurrences + 5 * noise * 13)


def test_the_default_sync_interval_holds_the_words_each_copy_misses():
    assert distributed.default_sync_words(1) == 2_000_000  # nothing to miss: as long as two workers in all
    assert distributed.default_sync_words(2) == 1_000_000
    assert distributed.default_sync_words(3) == 500_000    # each copy misses the other two's 500,000
    assert distributed.default_sync_words(4) == 333_333
    assert distributed.default_sync_words(1000) == 10_000 == MIN_SYNC_WORDS  # never below the floor


@pytest.mark.parametrize("sync_words", [MIN_SYNC_WORDS - 1, 1, 0, -5, 20_000.0, np.float64(20_000), True, "20000"])
def test_sync_intervals_too_short_to_be_worth_a_sync_are_refused_before_any_cluster(sync_words):
    """--sync-words 1 ran the 400,000-word sample as an hour of one-word rounds: refused before connecting
    (the scheduler "nonsense" would be its own error)."""
    refused = f"sync_words must be an integer >= 10,000 .* got {re.escape(repr(sync_words))}$"
    with pytest.raises(ValueError, match=refused):
        distributed.train(["missing.txt"], scheduler="nonsense", sync_words=sync_words)
    model = Model.new(Vocabulary(["a", "b"], [2, 1]), TrainOptions())
    with pytest.raises(ValueError, match="sync_words must be an integer >= 10,000"):
        distributed.train_model(model, ["missing.txt"], scheduler="nonsense", sync_words=sync_words)
    assert distributed.checked_sync_words(None) is None
    for accepted in (MIN_SYNC_WORDS, np.int64(20_000)):  # NumPy's integers too, as a Python int (for JSON)
        assert type(distributed.checked_sync_words(accepted)) is int
        assert distributed.checked_sync_words(accepted) == accepted


def test_rounds_warm_up_then_hold_sync_words():
    assert distributed.round_plan(1000, 400, warmup=False) == [0.0, 1 / 3, 2 / 3, 1.0]
    plan = distributed.round_plan(10_000, 640, warmup=True)
    sizes = np.diff(np.array(plan) * 10_000)
    assert np.allclose(sizes[:6], [10, 20, 40, 80, 160, 320])  # 640 / 2^6, doubling
    assert len(sizes) == 6 + 15 and np.allclose(sizes[6:], (10_000 - 630) / 15) and max(sizes) <= 640
    assert distributed.round_plan(25, 640, warmup=True) == [0.0, 10 / 25, 1.0]  # a tiny shard


def test_a_run_stopped_between_syncs_resumes_to_the_same_bytes(cluster, sample_path, tmp_path):
    """One thread a worker and a seed: rounds and the combine are deterministic, so stop + resume = one run."""
    whole = distributed.train([sample_path], cluster=cluster, epochs=2, sync_words=55_000, **SMALL)
    checkpoint = str(tmp_path / "c.w2vm")
    rounds = []
    with pytest.raises(TrainingInterrupted, match="last sync"):
        distributed.train([sample_path], cluster=cluster, epochs=2, sync_words=55_000, checkpoint=checkpoint,
                          round_callback=lambda p: rounds.append(p.chunk) or len(rounds) > 5, **SMALL)
    stopped = Model.load(checkpoint)
    assert (stopped.position.epoch, stopped.position.chunk) == (0, 5)  # within the first epoch's 9 rounds
    with pytest.raises(ValueError, match="between syncs of a distributed run of 2 shards"):
        stopped.train([sample_path])  # on one machine
    with pytest.raises(ValueError, match="resume with 2 workers and --sync-words 55000"):
        distributed.train_model(Model.load(checkpoint), [sample_path], cluster=cluster, sync_words=80_000)
    resumed = distributed.train_model(Model.load(checkpoint), [sample_path], cluster=cluster)
    assert np.array_equal(resumed.model.weights.syn0, whole.model.weights.syn0)
    assert np.array_equal(resumed.model.weights.syn1neg, whole.model.weights.syn1neg)


@pytest.mark.parametrize("layers", [dict(), dict(hs=True, negative=0)])
def test_three_workers_stopped_between_syncs_resume_to_the_same_bytes(cluster, sample_path, tmp_path, layers):
    """On three workers the combine reads each row's last combined change (where a summed change turns back the
    guard applies): the checkpoint keeps those directions (a version-2 file), so a resumed run combines its next
    sync as the run that never stopped; a finished run's checkpoint is version 1 again, without them."""
    from w2v.modelfile import read_model_file
    with _a_third_worker(cluster):
        whole_path = str(tmp_path / "whole.w2vm")
        whole = distributed.train([sample_path], cluster=cluster, epochs=2, sync_words=40_000, checkpoint=whole_path,
                                  **SMALL, **layers)
        assert whole.model.position.corpus["shards"] == 3 and whole.model.last_changes is None
        with open(whole_path, "rb") as f:
            assert f.read(12)[8:] == b"\x01\0\0\0" and read_model_file(whole_path).last_changes is None
        checkpoint, rounds = str(tmp_path / "c.w2vm"), []
        with pytest.raises(TrainingInterrupted, match="last sync"):
            distributed.train([sample_path], cluster=cluster, epochs=2, sync_words=40_000, checkpoint=checkpoint,
                              round_callback=lambda p: rounds.append(p.chunk) or len(rounds) > 7, **SMALL, **layers)
        with open(checkpoint, "rb") as f:
            assert f.read(12)[8:] == b"\x02\0\0\0"
        stopped = Model.load(checkpoint)
        assert stopped.position.epoch == 0 and stopped.position.chunk == 7
        last, v = stopped.last_changes, len(stopped.vocab)
        output = 2 if layers else 1  # (syn1 with hierarchical softmax, syn1neg with negative sampling)
        assert [a.shape for a in last] == ([(v, 16), (0, 16), (v - 1, 16)] if layers else [(v, 16), (v, 16), (0, 16)])
        assert last[0].dtype == np.int8 and last[0].any() and last[output].any() and np.abs(last[0]).max() == 127
        resumed = distributed.train_model(stopped, [sample_path], cluster=cluster)
    for name in ("syn0", "syn1neg", "syn1"):
        assert np.array_equal(getattr(resumed.model.weights, name), getattr(whole.model.weights, name))


def test_a_run_that_loses_its_scheduler_keeps_the_last_sync_and_resumes_to_the_same_bytes(cluster, sample_path,
                                                                                          tmp_path):
    """The command loses its scheduler mid-run (Dask gives up reconnecting and closes the client; here the
    client is closed before round 5): the run ends with one error naming the scheduler and the checkpoint, which
    holds the last sync, so resuming gives the uninterrupted run. (Killing a real `dask scheduler` under `w2v
    train` goes the same way, after Dask's 10 s of trying to reconnect.)"""
    whole = distributed.train([sample_path], cluster=cluster, epochs=2, sync_words=55_000, **SMALL)
    checkpoint, address = str(tmp_path / "c.w2vm"), cluster.client.scheduler.address
    with distributed.connect(address) as other:
        def lose_the_scheduler_before_round_5(position):
            if position.chunk == 5:
                other.client.close()
            return False

        with pytest.raises(OSError) as raised:
            distributed.train([sample_path], cluster=other, epochs=2, sync_words=55_000, checkpoint=checkpoint,
                              round_callback=lose_the_scheduler_before_round_5, **SMALL)
    assert str(raised.value) == (f"lost the Dask scheduler at {address}: Dask could not reconnect to it; the "
                                 f"checkpoint {checkpoint} holds the model up to the last sync (resume with --resume "
                                 f"{checkpoint})")
    stopped = Model.load(checkpoint)
    assert (stopped.position.epoch, stopped.position.chunk) == (0, 5)

    def runs_held():  # (on each worker: whose runs it keeps shards of)
        return sorted({key[0].split("/")[0] for key in distributed._SHARDS})
    assert all(held == [other.client.id] for held in cluster.client.run(runs_held).values())  # (left behind)
    said = []
    resumed = distributed.train_model(stopped, [sample_path], cluster=cluster, log=said.append)
    assert "2 workers dropped the shards or counts of runs whose command is gone" in said
    assert all(other.client.id not in held for held in cluster.client.run(runs_held).values())
    assert np.array_equal(resumed.model.weights.syn0, whole.model.weights.syn0)
    assert np.array_equal(resumed.model.weights.syn1neg, whole.model.weights.syn1neg)


def test_a_worker_drops_only_what_runs_of_departed_clients_left():
    """What a run keeps on a worker is keyed by its client's id: a new run has the workers drop the shards and
    count spools of clients no longer connected, and keep those of clients still there (another command's run)."""
    from types import SimpleNamespace
    closed = []

    def kept(name):
        return SimpleNamespace(pool=None, encoded=SimpleNamespace(close=lambda: closed.append(name)),
                               close=lambda: closed.append(name))
    keys = {"shard": [("Client-live/1", 0), ("Client-gone/2", 0), ("Client-gone/2", 1), ("test-run", 0)],
            "spool": [("Client-live/3", 0), ("Client-gone/4", 0), ("test-count", 0)]}
    try:
        for key in keys["shard"]:
            distributed._SHARDS[key] = kept(key)
        for key in keys["spool"]:
            distributed._SPOOLED[key] = kept(key)
        assert asyncio.run(distributed._forget_orphans(["Client-live"])) == 2  # one run, one count
        assert sorted(closed) == [("Client-gone/2", 0), ("Client-gone/2", 1), ("Client-gone/4", 0)]
        assert [key for key in keys["shard"] if key in distributed._SHARDS] == [("Client-live/1", 0), ("test-run", 0)]
        assert [key for key in keys["spool"] if key in distributed._SPOOLED] == [("Client-live/3", 0),
                                                                                  ("test-count", 0)]
        assert "Client-gone/4" in distributed._SPOOLS_DROPPED  # (a part still counting for it keeps no spool)
    finally:
        for key in keys["shard"]:
            distributed._SHARDS.pop(key, None)
        for key in keys["spool"]:
            distributed._SPOOLED.pop(key, None)
        distributed._SPOOLS_DROPPED.discard("Client-gone/4")


def test_the_command_keeps_the_dask_clients_own_error_off_its_output(sample_path, tmp_path):
    """Losing its scheduler, Dask's client logs an error of its own before the command's one line, and asyncio
    one of a task of the client's that a Ctrl-C cut off: with --scheduler the command lets those loggers through
    with critical messages only."""
    import logging
    loggers = [logging.getLogger("distributed.client"), logging.getLogger("asyncio")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        result = run("train", sample_path, "-o", tmp_path / "v.bin", "--scheduler", "local:0")
        assert result.exit_code == 1 and "local:N needs a number of workers" in result.output
        for logger in loggers:
            assert not logger.isEnabledFor(logging.ERROR) and logger.isEnabledFor(logging.CRITICAL), logger
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def test_more_local_workers_than_the_memory_holds_are_refused_before_any_starts(sample_path, tmp_path, monkeypatch):
    """local:N whose N bare worker processes alone would not fit in the memory available is one line and exit 1
    (local:100000 used to start workers for minutes, deaf to Ctrl-C), and no cluster is started."""
    import types as pytypes

    import distributed as dask_distributed
    import psutil
    from distributed import system as dask_system
    monkeypatch.setattr(psutil, "virtual_memory", lambda: pytypes.SimpleNamespace(available=10 * 2**30))
    monkeypatch.setattr(dask_system, "MEMORY_LIMIT", 64 * 2**30)
    started = []

    def local_cluster(n_workers, **kwargs):
        started.append(n_workers)
        raise OSError("a stand-in")
    monkeypatch.setattr(dask_distributed, "LocalCluster", local_cluster)
    result = run("train", sample_path, "-o", tmp_path / "v.bin", "--scheduler", "local:81")
    assert result.exit_code == 1 and started == [] and not (tmp_path / "v.bin").exists()
    assert result.output.splitlines()[-1] == (
        "Error: --scheduler local:81: 81 worker processes take at least 10.1 GiB before any data (about 128 MiB "
        "each), more than the 10.0 GiB this machine (or its container) has available; give fewer workers")
    result = run("train", sample_path, "-o", tmp_path / "v.bin", "--scheduler", "local:80")  # 80 fit
    assert started == [80] and "could not start a local Dask cluster of 80 workers (a stand-in)" in result.output
    # a container's limit (cgroup, rlimit: Dask's MEMORY_LIMIT) below the host's free memory is the one that counts
    monkeypatch.setattr(dask_system, "MEMORY_LIMIT", 5 * 2**30)
    result = run("train", sample_path, "-o", tmp_path / "v.bin", "--scheduler", "local:80")
    assert started == [80] and "more than the 5.0 GiB this machine (or its container)" in result.output


def test_workers_whose_memory_limit_cannot_hold_the_weights_are_refused_before_the_shards_open(cluster, sample_path,
                                                                                               monkeypatch):
    """A worker whose Dask memory limit is below what training holds on it (three copies of the weights and its
    process: distributed._worker_bytes) would be restarted by its nanny at 95% of it, round after round; the
    run stops with a line naming it before the shards open. A limit of 0 (none) passes."""
    workers = cluster.workers
    limits = {workers[0]: 0, workers[1]: 100 << 20}
    monkeypatch.setattr(distributed, "_memory_limits", lambda cluster_, workers_: dict(limits))
    said = []
    with pytest.raises(ValueError) as refused:
        distributed.train([sample_path], cluster=cluster, epochs=1, log=said.append, **SMALL)
    assert str(refused.value) == (
        f"worker {workers[1]} may use 0.10 GiB (its Dask memory limit; its nanny restarts it at 95%), and training "
        f"737 words × 16 dimensions holds at least 0.13 GiB on every worker (three copies of the weights in the "
        f"first round); give fewer words (--max-vocab, --min-count), a smaller --dim, fewer local workers, or "
        f"workers with more memory (dask worker --memory-limit)")
    assert not any(line.startswith("encoding") for line in said), said
    need = distributed.LOCAL_WORKER_BYTES + 3 * 4 * 2 * 737 * distributed.padded_dim(16)  # (syn0 and syn1neg)
    limits[workers[1]] = int(need / 0.95) - 1
    with pytest.raises(ValueError, match="may use"):  # (a byte short)
        distributed.train([sample_path], cluster=cluster, epochs=1, **SMALL)
    limits[workers[1]] = int(need / 0.95) + 1
    result = distributed.train([sample_path], cluster=cluster, epochs=1, **SMALL)  # (just enough)
    assert result.words > 0


def test_a_syncs_seconds_count_from_the_last_rounds_end(cluster, sample_path, monkeypatch):
    """What a sync costs the workers starts when the last round ends: taking its change in counts (here made
    to take 0.05 s longer a change), not only what comes after it."""
    real = distributed.expected_updates

    def slow(*args):
        time.sleep(0.05)
        return real(*args)
    monkeypatch.setattr(distributed, "expected_updates", slow)
    result = distributed.train([sample_path], cluster=cluster, epochs=1, sync_words=400_000, **SMALL)
    assert len(result.syncs) >= 3 and min(sync.seconds for sync in result.syncs) >= 0.05, result.syncs


def test_a_worker_that_joins_during_a_run_is_sent_no_syncs(cluster, sample_path, monkeypatch):
    """The syncs go to the run's workers: one that joined since holds no shard (and would be sent the whole
    weights if it took one over), so it is sent nothing, and the run trains the same bits."""
    whole = distributed.train([sample_path], cluster=cluster, epochs=1, sync_words=55_000, **SMALL)
    first = list(cluster.workers)
    scatter, sent_to = distributed._scatter_each, []

    def noted(client, data, workers, seconds, **options):
        sent_to.append(sorted(workers))
        return scatter(client, data, workers, seconds, **options)

    with contextlib.ExitStack() as later:
        def add_a_worker_before_round_3(position):
            if position.chunk == 3 and len(cluster.workers) == 2:
                later.enter_context(_a_third_worker(cluster))
            return False
        monkeypatch.setattr(distributed, "_scatter_each", noted)
        again = distributed.train([sample_path], cluster=cluster, epochs=1, sync_words=55_000,
                                  round_callback=add_a_worker_before_round_3, **SMALL)
        assert len(cluster.workers) == 3 and len(sent_to) >= 6
        assert all(workers == first for workers in sent_to), sent_to
    assert np.array_equal(again.model.weights.syn0, whole.model.weights.syn0)
    assert np.array_equal(again.model.weights.syn1neg, whole.model.weights.syn1neg)


def test_a_sync_that_reaches_no_worker_goes_out_whole_with_the_next_round(cluster, sample_path, monkeypatch):
    """The combined change is in the command's weights once made: when it cannot be sent, the next round sends
    the whole weights instead (or stops there, the round kept), and the run is the same, bit for bit."""
    whole = distributed.train([sample_path], cluster=cluster, epochs=1, sync_words=55_000, **SMALL)
    send, failed = distributed._DistributedRun._send, []

    def lose_the_third_sync(self, data, **kwargs):
        if isinstance(data, tuple) and isinstance(data[0], tuple) and self.version == 3 and not failed:
            failed.append(self.version)  # (a sync's change: one (rows, values, scale) a matrix)
            raise OSError("could not send the weights to the Dask workers (no worker is left)")
        return send(self, data, **kwargs)

    monkeypatch.setattr(distributed._DistributedRun, "_send", lose_the_third_sync)
    again = distributed.train([sample_path], cluster=cluster, epochs=1, sync_words=55_000, **SMALL)
    assert failed == [3]
    assert np.array_equal(again.model.weights.syn0, whole.model.weights.syn0)
    assert np.array_equal(again.model.weights.syn1neg, whole.model.weights.syn1neg)


def _record_kernel_widths():
    """(Runs on a worker.) Wrap the round's kernel_function to note the row length each round asks for."""
    from w2v import distributed as on_worker
    real = getattr(on_worker.kernel_function, "real", on_worker.kernel_function)

    def recording(name, width=0):
        recording.widths.append(width)
        return real(name, width)

    recording.real, recording.widths = real, []
    on_worker.kernel_function = recording


def _recorded_kernel_widths():
    """(Runs on a worker.) The widths noted since _record_kernel_widths, and the real kernel_function back."""
    from w2v import distributed as on_worker
    widths = list(getattr(on_worker.kernel_function, "widths", []))
    on_worker.kernel_function = getattr(on_worker.kernel_function, "real", on_worker.kernel_function)
    return widths


def test_a_round_asks_for_the_kernel_of_its_row_length(cluster, sample_path):
    """Each worker's round asks for the kernel of the padded row (dim 10: 16 floats), as single-machine
    training does (tests/test_training.py), so that dim 100 gets the kernel compiled for 104 floats."""
    cluster.client.run(_record_kernel_widths)
    try:
        distributed.train([sample_path], cluster=cluster, epochs=1, sync_words=200_000, **{**SMALL, "dim": 10})
    finally:
        widths = cluster.client.run(_recorded_kernel_widths)
    assert len(widths) == 2 and all(widths.values())
    assert {w for asked in widths.values() for w in asked} == {16}


def test_the_client_takes_the_fingerprint_while_the_workers_encode(cluster, sample_path, monkeypatch):
    """The client reads every file for the fingerprint (a second per 100,000 files, more on a shared file
    system) at the same time as the workers encode their parts, not after: here the encoding waits until
    the fingerprint has begun, which it never would if the two ran one after the other."""
    begun = threading.Event()
    fingerprint, open_shards = Corpus.fingerprint, distributed._DistributedRun.open_shards

    def fingerprint_begins(self, *args):
        begun.set()
        return fingerprint(self, *args)

    def open_shards_after_it(self):
        assert begun.wait(timeout=30), "the fingerprint had not begun while the workers encoded"
        return open_shards(self)

    monkeypatch.setattr(Corpus, "fingerprint", fingerprint_begins)
    monkeypatch.setattr(distributed._DistributedRun, "open_shards", open_shards_after_it)
    result = distributed.train([sample_path], cluster=cluster, epochs=1, sync_words=200_000, **SMALL)
    assert result.model.position.corpus["files"] == fingerprint(Corpus([sample_path]))


@pytest.mark.parametrize("phrasing", [{}, dict(phrases=1, phrase_thresholds=(30.0,))], ids=["words", "phrases"])
def test_a_worker_that_lost_the_shard_gets_the_whole_weights(cluster, sample_path, phrasing):
    """A worker restarted between rounds has neither shard nor weights: the round is run again with both, the
    shard read again (through the run's phrases), so the run ends with the weights of one never restarted
    (one thread a worker and a seed)."""
    killed = []

    def restart_a_worker(position):
        if position.chunk == 2 and not killed:
            killed.append(cluster.workers[0])
            cluster.client.restart_workers([cluster.workers[0]])
        return False

    result = distributed.train([sample_path], cluster=cluster, epochs=1, sync_words=55_000,
                               round_callback=restart_a_worker, **phrasing, **SMALL)
    assert killed and len(result.syncs) == 9
    assert result.vectors.analogy("man", "king", "woman", topn=1)[0][0] == "queen"
    whole = distributed.train([sample_path], cluster=cluster, epochs=1, sync_words=55_000, **phrasing, **SMALL)
    assert np.array_equal(result.model.weights.syn0, whole.model.weights.syn0)


def test_a_worker_killed_as_the_weights_go_out_holds_up_one_round_at_most(cluster, sample_path, monkeypatch):
    """SIGKILL a worker process just as a round's rows are sent: the send skips it after at most
    SEND_SECONDS, no later round waits on it, and the run learns the relation. (Dask's broadcast,
    which the sends used before, waits for ever when a worker dies while it replicates,
    dask/distributed#5704; that race is timing-bound, so this checks the bound, not the race.)"""
    monkeypatch.setattr(distributed, "SEND_SECONDS", 3)
    pids = cluster.client.run(os.getpid)
    victim = cluster.workers[0]
    armed, killed, gaps, last = [], [], [], [time.monotonic()]
    scatter = cluster.client.scatter

    def kill_then_scatter(*args, **kwargs):
        if armed and not killed:
            killed.append(victim)
            os.kill(pids[victim], signal.SIGKILL)
        return scatter(*args, **kwargs)

    def arm_in_round_3(position):
        now = time.monotonic()
        if killed:
            gaps.append(now - last[0])
        last[0] = now
        if position.chunk == 2:
            armed.append(True)
        return False

    monkeypatch.setattr(cluster.client, "scatter", kill_then_scatter)
    result = distributed.train([sample_path], cluster=cluster, epochs=1, sync_words=55_000,
                               round_callback=arm_in_round_3, **SMALL)
    assert killed and len(gaps) == 6
    assert sum(gap > 0.75 * distributed.SEND_SECONDS for gap in gaps) <= 1, gaps
    assert result.vectors.analogy("man", "king", "woman", topn=1)[0][0] == "queen"
    _two_workers(cluster)  # for the tests that follow


@pytest.mark.parametrize("losses", [1, distributed.ROUND_RETRIES + 1])
def test_a_round_whose_data_was_lost_is_sent_again_a_few_times(cluster, sample_path, tmp_path, monkeypatch, losses):
    """Dask cancels a task whose scattered input was lost with a worker: the round is sent again with the
    whole weights, and after ROUND_RETRIES such losses in one round the run stops with the error and the
    checkpoint of the last sync. (Here the task itself is cancelled, as Dask does.)"""
    _two_workers(cluster)
    submit = distributed._DistributedRun._submit
    lost = []

    def losing(self, function, k, *args, **kwargs):
        future = submit(self, function, k, *args, **kwargs)
        if function is distributed._train_round and self.version == 3 and k == 0 and len(lost) < losses:
            lost.append(future)
            self.client.cancel([future])
        return future

    monkeypatch.setattr(distributed._DistributedRun, "_submit", losing)
    scatter, weights_sent_to = distributed._scatter_each, []

    def noted(client, data, workers, seconds, **options):
        if isinstance(data, tuple) and isinstance(data[0], np.ndarray):  # (the whole weights)
            weights_sent_to.append(len(workers))
        return scatter(client, data, workers, seconds, **options)
    monkeypatch.setattr(distributed, "_scatter_each", noted)
    checkpoint = str(tmp_path / "c.w2vm")
    if losses <= distributed.ROUND_RETRIES:
        result = distributed.train([sample_path], cluster=cluster, epochs=1, sync_words=55_000, **SMALL)
        assert len(lost) == losses and len(result.syncs) == 9
        # every worker gets the weights for the first round, then one copy for the round sent again
        assert weights_sent_to == [2] + [1] * losses
        assert result.vectors.analogy("man", "king", "woman", topn=1)[0][0] == "queen"
    else:
        with pytest.raises(OSError, match=r"lost 4 times in round 4 of epoch 1: workers keep dying \(each holds at "
                                          r"least 0\.13 GiB while it trains: within their memory limits\?\); the "
                                          r"checkpoint"):
            distributed.train([sample_path], cluster=cluster, epochs=1, sync_words=55_000, checkpoint=checkpoint,
                              **SMALL)
        assert Model.load(checkpoint).position.chunk == 3  # the three rounds synced before


def _a_round_that_runs_out_of_memory(*args, **kwargs):
    """(Runs on a worker in place of a round.)"""
    raise MemoryError("Unable to allocate 2.40 GiB for an array with shape (1000000, 300) and data type float32")


def test_a_round_that_fails_on_its_worker_stops_the_run_at_the_last_sync(cluster, sample_path, tmp_path,
                                                                          monkeypatch):
    """An exception a round raises on its worker (here its memory) ends the run with one error saying which
    shard and what, and the checkpoint of the last sync; not the worker's traceback."""
    submit = distributed._DistributedRun._submit

    def failing(self, function, k, *args, **kwargs):
        if function is distributed._train_round and self.version == 3 and k == 1:
            function = _a_round_that_runs_out_of_memory
        return submit(self, function, k, *args, **kwargs)

    monkeypatch.setattr(distributed._DistributedRun, "_submit", failing)
    checkpoint = str(tmp_path / "c.w2vm")
    with pytest.raises(OSError) as raised:
        distributed.train([sample_path], cluster=cluster, epochs=1, sync_words=55_000, checkpoint=checkpoint, **SMALL)
    assert str(raised.value) == ("shard 1's round 4 of epoch 1 failed on its worker (MemoryError: Unable to allocate "
                                 "2.40 GiB for an array with shape (1000000, 300) and data type float32); the "
                                 f"checkpoint {checkpoint} holds the model up to the last sync (resume with --resume "
                                 f"{checkpoint})")
    assert Model.load(checkpoint).position.chunk == 3  # the three rounds synced before


def test_a_task_that_fails_on_its_worker_before_training_is_one_line(cluster):
    """A step before training whose task fails on its worker is one OSError saying so (nothing to keep yet); a
    ValueError or OSError, worded for the user, stays as it is."""
    future = cluster.client.submit(_a_round_that_runs_out_of_memory, pure=False)
    with pytest.raises(OSError) as raised:
        distributed._gather(cluster.client, [future], "counting the vocabulary")
    assert str(raised.value) == ("a Dask worker failed while counting the vocabulary (MemoryError: Unable to "
                                 "allocate 2.40 GiB for an array with shape (1000000, 300) and data type float32); "
                                 "nothing was written")
    unreadable = cluster.client.submit(open, "/no/such/file", pure=False)  # (a user's error keeps its own words)
    with pytest.raises(FileNotFoundError):
        distributed._gather(cluster.client, [unreadable], "counting the vocabulary")


def test_when_dask_gives_up_on_a_round_the_checkpoint_holds_the_last_sync(sample_path, tmp_path):
    """With no failure allowed, killing the worker that runs a round ends the run with one error
    naming the checkpoint, which holds the model as the last sync left it."""
    import dask
    corpus = tmp_path / "c.txt"
    with open(sample_path, "rb") as f:
        corpus.write_bytes(f.read() * 4)  # 800k words a shard: a round takes about a second
    checkpoint = str(tmp_path / "c.w2vm")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with distributed.connect("local:2") as cluster:
            pids = cluster.client.run(os.getpid)
            victim = cluster.workers[0]
            killer = []

            def kill_when_it_trains():
                deadline = time.monotonic() + 30
                while not cluster.client.processing([victim]).get(victim) and time.monotonic() < deadline:
                    time.sleep(0.005)
                time.sleep(0.05)  # a round takes several tenths of a second
                os.kill(pids[victim], signal.SIGKILL)

            def kill_during_epoch_3(position):
                if position.epoch == 2 and not killer:
                    killer.append(threading.Thread(target=kill_when_it_trains, daemon=True))
                    killer[0].start()
                return False

            with pytest.raises(OSError, match=r"kept dying .* epoch 3\).*the checkpoint .*c\.w2vm holds the model up "
                                              r"to the last sync"):
                distributed.train([str(corpus)], cluster=cluster, epochs=4, sync_words=10_000_000, dim=64,
                                  threads=1, seed=2, checkpoint=checkpoint, round_callback=kill_during_epoch_3)
    stopped = Model.load(checkpoint)
    assert (stopped.position.epoch, stopped.position.chunk, stopped.position.words) == (2, 0, 0)
    assert len(stopped.position.history) == 2


def test_when_dask_gives_up_on_a_count_it_is_one_error(sample_path, tmp_path):
    """With no failure allowed, killing a worker while it counts its part ends the run with one OSError
    saying so (not Dask's KilledWorker), and nothing is written."""
    import dask
    corpus = tmp_path / "c.txt"
    with open(sample_path, "rb") as f:
        corpus.write_bytes(f.read() * 4)
    checkpoint = tmp_path / "c.w2vm"
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with distributed.connect("local:2") as cluster:
            pids = cluster.client.run(os.getpid)
            victim = cluster.workers[0]

            def kill_when_it_counts():
                deadline = time.monotonic() + 30
                while not cluster.client.processing([victim]).get(victim) and time.monotonic() < deadline:
                    time.sleep(0.002)
                os.kill(pids[victim], signal.SIGKILL)

            killer = threading.Thread(target=kill_when_it_counts, daemon=True)
            killer.start()
            with pytest.raises(OSError, match="Dask workers kept dying while counting the vocabulary; nothing was "
                                              "written"):
                distributed.train([str(corpus)], cluster=cluster, epochs=1, dim=16, threads=1,
                                  checkpoint=str(checkpoint))
            killer.join()
    assert not checkpoint.exists()


def test_a_worker_that_cannot_read_the_corpus_is_named(cluster, tmp_path):
    with pytest.raises(OSError, match=r"worker tcp://.* cannot read .*gone\.txt .*same path"):
        distributed._check_workers(cluster, [str(tmp_path / "gone.txt")])


def test_a_worker_running_another_w2v_is_named_before_any_work(cluster, sample_path, tmp_path, monkeypatch):
    """A worker with an older w2v failed in the first sync with "not enough values to unpack"."""
    monkeypatch.setattr(distributed, "WIRE", distributed.WIRE + 1)  # this machine's w2v is newer than theirs
    counted = []
    monkeypatch.setattr(distributed, "_count_on", lambda *args, **kwargs: counted.append(1))
    with pytest.raises(OSError, match=r"worker tcp://\S+ runs another w2v \(wire format \d+, this machine's \d+\); "
                                      r"install the same w2v on every worker"):
        distributed.train([sample_path], cluster=cluster, epochs=1, **SMALL)
    assert not counted
    result = run("train", sample_path, "-o", tmp_path / "v.bin", "--scheduler", cluster.client.scheduler.address,
                 "--threads", "1", "--epochs", "1")
    assert result.exit_code == 1 and "runs another w2v" in result.output and "Traceback" not in result.output
    assert result.output.count("\n") == 1 and not (tmp_path / "v.bin").exists()


def test_a_worker_whose_w2v_lacks_the_check_is_told_to_install_the_same(cluster):
    def older():
        return 0
    older.__qualname__ = older.__name__ = "_gone_in_this_version"  # sent by reference: not found on a worker
    older.__module__ = "w2v.distributed"
    distributed._gone_in_this_version = older  # (so that this process can pickle it by reference)
    try:
        original = distributed._wire_on_worker
        distributed._wire_on_worker = older
        with pytest.raises(OSError, match=r"a Dask worker cannot run this machine's w2v \(.*_gone_in_this_version"
                                          r".*\); install the same w2v on every worker"):
            distributed._check_workers(cluster, [])
    finally:
        distributed._wire_on_worker = original
        del distributed._gone_in_this_version


def test_data_moves_straight_between_the_command_and_workers_it_can_reach(cluster, sample_path):
    """Dask relays a client's data through the scheduler unless told otherwise: a local cluster's client
    moves it directly from the start, a scheduler's client once a probe reached every worker, and one that
    cannot reach a worker keeps the relay. The weights are the same bits by either path."""
    assert cluster.client.direct_to_workers is True
    direct = distributed.train([sample_path], cluster=cluster, epochs=1, **SMALL)
    with distributed.connect(cluster.client.scheduler.address) as reached:
        assert reached.client.direct_to_workers is None  # Dask's default: the scheduler relays
        said = []
        probed = distributed.train([sample_path], cluster=reached, epochs=1, log=said.append, **SMALL)
        assert reached.client.direct_to_workers is True and not any("directly" in line for line in said)
    with distributed.connect(cluster.client.scheduler.address) as relayed:
        relayed.client.direct_to_workers = False  # set by the user: left as it is
        through = distributed.train([sample_path], cluster=relayed, epochs=1, **SMALL)
        assert relayed.client.direct_to_workers is False
    for result in (probed, through):
        assert np.array_equal(result.model.weights.syn0, direct.model.weights.syn0)
        assert np.array_equal(result.model.weights.syn1neg, direct.model.weights.syn1neg)


@pytest.mark.parametrize("answer", ["refused", "silent"])
def test_a_worker_out_of_reach_leaves_the_data_with_the_scheduler_and_says_so(monkeypatch, answer):
    class Client:
        direct_to_workers = None

        def scatter(self, data, workers, direct, hash):
            assert direct is True and workers[0] in ("tcp://a:1", "tcp://b:2")
            if workers == ["tcp://b:2"]:
                if answer == "refused":
                    raise OSError("Timed out trying to connect to tcp://b:2 after 30 s")
                time.sleep(5)
            return "future"

    monkeypatch.setattr(distributed, "REACH_SECONDS", 0.5)
    cluster, said = distributed.Cluster(Client()), []
    distributed._reach_workers(cluster, ["tcp://a:1", "tcp://b:2"], said.append)
    assert cluster.client.direct_to_workers is False
    reason = "Timed out trying to connect to tcp://b:2 after 30 s" if answer == "refused" else "no answer in 0.5 s"
    assert said == [f"this machine cannot reach worker tcp://b:2 directly ({reason}); the weights go through "
                    f"the scheduler, which is slower"]


def test_the_distributed_timeline_finds_every_part_of_a_sync(sample_path):
    """benchmarks/distributed_timeline.py hooks private names of w2v.distributed: a renamed one would leave
    its part of a sync out (or every sync)."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import distributed_timeline
    send = distributed._DistributedRun._send
    row = distributed_timeline.run(sample_path, 2, 1, 3, relay=False)  # (its own local cluster: ~4 s)
    assert distributed._DistributedRun._send is send  # (the stamps are taken off after the run)
    assert row["rounds"] >= 3 and row["syncs_counted"] == row["rounds"] - 1, row
    assert sorted(row["sync_medians"]) == sorted(distributed_timeline.PARTS)
    parts = row["sync_medians"]
    assert all(parts[key] >= 0 for key in ("spread", "take", "combine", "send")), parts
    assert parts["gap"] >= parts["take"] + parts["combine"] + parts["send"] - 1e-3, parts
    assert len(row["worker_words_per_s"]) == 2 and min(row["worker_words_per_s"]) > 0


def test_the_count_memory_benchmark_counts_on_the_workers(cluster, sample_path):
    """benchmarks/distributed_count_memory.py calls private names of w2v.distributed: a renamed one fails here."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import distributed_count_memory
    row = distributed_count_memory.run(sample_path, 2, 1, cluster)
    one_machine, _ = build_vocabulary(Corpus([sample_path]))
    assert row["words"] == len(one_machine) and row["tokens"] == int(one_machine.counts.sum())
    assert 0 < row["before_mib"] and 0 < row["peak_mib"] and row["seconds"] > 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("scheduler,failing,error", [
    ("tcp://127.0.0.1:8786", "Client", OSError()),  # no message at all: an IndexError before
    ("local:2", "LocalCluster", RuntimeError("Nanny failed to start.\nTraceback (most recent call last): ...")),
])
def test_a_cluster_that_cannot_be_had_is_one_line_whatever_dask_says(monkeypatch, scheduler, failing, error):
    import distributed as dask_distributed

    def fail(*args, **kwargs):
        raise error
    monkeypatch.setattr(dask_distributed, failing, fail)
    with pytest.raises(OSError) as raised:
        distributed.connect(scheduler)
    message = str(raised.value)
    assert "\n" not in message and ("(OSError)" in message if failing == "Client" else "(Nanny failed to start.)"
                                     in message), message


def test_an_unreachable_scheduler_is_one_line(sample_path, tmp_path, monkeypatch):
    monkeypatch.setattr(distributed, "CONNECT_SECONDS", 2.0)  # Dask retries a refused port until then
    out = tmp_path / "v.bin"
    result = run("train", sample_path, "-o", out, "--scheduler", f"tcp://127.0.0.1:{_free_port()}", "-q")
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot reach the Dask scheduler at tcp://127.0.0.1:")
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--sync-words", "100000"], "--sync-words goes with --scheduler"),
    (["--scheduler", "local:2", "--keep-words"], "--keep-words goes with --phrases or --phrase-table"),
    (["--scheduler", "local:0"], "local:N needs a number of workers"),
    (["--scheduler", "local:2", "--sync-words", "0"], "--sync-words"),
    (["--scheduler", "local:2", "--sync-words", "9999"], "'--sync-words': 9999 is not in the range x>=10000"),
    (["--scheduler", "nonsense"], "give an address such as"),
])
def test_bad_distributed_options_are_one_line(sample_path, tmp_path, args, message):
    result = run("train", sample_path, "-o", tmp_path / "v.bin", "-q", *args)
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output and not (tmp_path / "v.bin").exists()


def test_the_cli_trains_on_a_local_cluster(sample_path, tmp_path):
    out = tmp_path / "v.bin"
    done = subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), "train", sample_path, "-o", str(out),
                           "--scheduler", "local:2", "--threads", "1", "--dim", "16", "--epochs", "2",
                           "--sync-words", "110000", "--phrases", "1", "--phrase-threshold", "30"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "in 2 shards" in done.stderr and "9 syncs of" in done.stderr and "phrases: " in done.stderr
    vectors = w2v.Vectors.load(str(out))
    assert vectors.matrix.shape[1] == 16 and any("_" in w for w in vectors.words)


def test_the_cli_trains_a_model_further_with_new_words_on_a_local_cluster(sample_path, tmp_path):
    """--init --update-vocab --scheduler: the new words (and, with --phrases, the phrases of the new text)
    counted on the workers, the merged vocabulary saved (--save-vocab) once known, and the model trained
    further."""
    first, base = tmp_path / "first.txt", str(tmp_path / "base.w2vm")
    first.write_text("".join(line for line in slurp(sample_path).splitlines(True) if "madrid" not in line))
    w2v.train(str(first), epochs=1, **SMALL).model.save(base)
    out, saved = tmp_path / "v.bin", tmp_path / "vocab.txt"
    done = subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), "train", sample_path, "-o", str(out),
                           "--init", base, "--update-vocab", "--save-vocab", str(saved), "--scheduler", "local:2",
                           "--threads", "1", "--epochs", "1", "--phrases", "1", "--phrase-threshold", "30"],
                           capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "counting the new words on 2 workers" in done.stderr and "phrases: " in done.stderr
    words = w2v.Vectors.load(str(out)).words
    assert "madrid" in words and "madrid" in saved.read_text().split() and any("_" in w for w in words)


def _a_local_cluster_run_in_training(tmp_path, sample_path, act, **popen):
    """Run `w2v train` on the sample corpus (4 times over, 8 epochs: several seconds of training) with a
    local cluster of 2 workers, and call ``act(process, workers)`` (the nannies' worker processes, psutil's)
    a second into training. Returns its exit status, its standard error and the workers."""
    psutil = pytest.importorskip("psutil")  # distributed depends on it
    corpus = tmp_path / "c.txt"
    with open(sample_path, "rb") as f:
        corpus.write_bytes(f.read() * 4)
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "cli.py"), "train", str(corpus), "-o",
                                str(tmp_path / "v.bin"), "--scheduler", "local:2", "--threads", "1", "--dim", "32",
                                "--epochs", "8", "--sync-words", "100000"], stderr=subprocess.PIPE, text=True, **popen)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stderr.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any(line.startswith("training") for line in lines) and time.monotonic() < deadline:
            assert process.poll() is None, "".join(lines)
            time.sleep(0.1)
        workers = [p for p in psutil.Process(process.pid).children(recursive=True)
                   if "spawn_main" in " ".join(p.cmdline())]
        assert len(workers) == 2
        time.sleep(1.0)  # well inside training
        assert process.poll() is None
        act(process, workers)
        process.wait(timeout=120)  # 8 epochs take about 8 s
        reader.join(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=10)
        process.stderr.close()
    return process.returncode, "".join(lines), workers


def test_a_worker_killed_mid_run_gives_a_finished_run_or_a_clear_error(tmp_path, sample_path):
    """SIGKILL one worker process of the command's LocalCluster while it trains: the command either
    finishes (the round is run again) or stops with one line; the vectors file is never partial."""
    out = tmp_path / "v.bin"
    code, stderr, _ = _a_local_cluster_run_in_training(
        tmp_path, sample_path, lambda process, workers: os.kill(workers[0].pid, signal.SIGKILL))
    if code == 0:
        assert w2v.Vectors.load(str(out)).matrix.shape[1] == 32
    else:
        errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "Traceback" not in stderr, stderr[-2000:]
        assert not out.exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temporary file left


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["INT", "TERM"])
def test_a_stop_signal_to_the_process_group_stops_a_local_cluster_run_with_one_line(tmp_path, sample_path, signum,
                                                                                    code):
    """Ctrl-C at a terminal signals the whole foreground process group, and a batch system's stop every process
    of the job, the local cluster's worker processes too: each used to print a KeyboardInterrupt traceback
    (SIGINT) or die with Dask's errors and a leaked-semaphore warning (SIGTERM) around the command's line. They
    never see the signal now; the command stops with its one line and exit status, and closes them itself."""
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "v.bin"
    returned, stderr, workers = _a_local_cluster_run_in_training(
        tmp_path, sample_path, lambda process, workers: os.killpg(process.pid, signum),
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=lambda: signal.signal(signum, signal.SIG_DFL))
    assert returned == code, stderr[-2000:]
    assert stderr.splitlines()[-1] == "w2v: training interrupted; nothing was written", stderr[-2000:]
    for noise in ("Traceback", "KeyboardInterrupt", " - ERROR - ", "leaked"):
        assert noise not in stderr, stderr[-2000:]
    assert not out.exists()
    assert psutil.wait_procs(workers, timeout=30)[1] == []  # none left running


def test_distributed_training_needs_no_dask_import_elsewhere():
    done = subprocess.run([sys.executable, "-c", "import w2v, w2v.training, w2v.cli, sys; "
                                                 "print('distributed' in sys.modules or 'dask' in sys.modules)"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "False"
