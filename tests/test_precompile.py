"""The training kernel, and the kernels a count needs after it, made ready before the corpus is read
(w2v.precompile)."""
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict

import numba
import numpy as np
import pytest

from conftest import ROOT, write
from w2v import precompile
from w2v.model import Model
from w2v.options import TrainOptions
from w2v.vocab import Vocabulary

WORDS = ["king", "queen", "man", "woman", "paris", "france"]
CORPUS = "\n".join(" ".join(WORDS[(i + j) % 6] for j in range(12)) for i in range(300)) + "\n"


def test_a_kernel_not_in_the_cache_is_found_missing_without_being_compiled():
    @numba.njit
    def add_one(x):
        return x + 1

    assert not precompile.load_cached(add_one, (1,))
    assert add_one.signatures == []  # nothing compiled
    assert add_one(1) == 2
    assert precompile.load_cached(add_one, (1,))


@pytest.mark.parametrize("hs", [False, True])
def test_stand_in_tables_have_the_types_of_the_real_ones(hs):
    options = TrainOptions(hs=hs, negative=0 if hs else 5, dim=20).resolved()
    model = Model.new(Vocabulary(["a", "b", "c", "d", "e"], [9, 5, 3, 2, 1], 20), options)
    assert [numba.typeof(t) for t in model.stand_in_tables()] == [numba.typeof(t) for t in model.tables()]


def test_a_helper_is_started_only_with_threads_and_a_cache(monkeypatch):
    started = []

    class Started:
        def __init__(self, command, **kwargs):
            started.append(command)

    monkeypatch.setattr(precompile, "load_cached", lambda kernel, args: False)
    monkeypatch.setattr(precompile.subprocess, "Popen", Started)
    said = []
    for threads in (1, 2):
        helper, _ = precompile.start(TrainOptions(threads=threads, model="cbow", dim=12).resolved(), said.append)
        assert (helper is None) == (threads == 1)
    assert len(started) == 1 and started[0][1:3] == ["-m", "w2v.precompile"]
    assert TrainOptions(**json.loads(started[0][3])) == TrainOptions(threads=2, model="cbow", dim=12).resolved()
    assert said == ["compiling the training kernel in a second process while the corpus is read (a first run "
                    "only)..."]
    from w2v import kernels
    monkeypatch.setattr(kernels, "CACHED", False)  # its work would be lost
    assert precompile.start(TrainOptions(threads=2).resolved())[0] is None and len(started) == 1


@pytest.mark.parametrize("code, expected", [
    ("print('{\"seconds\": 1.5}')", (1.5, "")),
    ("import sys; sys.stderr.write('first\\nboom\\n'); sys.exit(1)", (None, "boom")),
    ("import sys; sys.exit(3)", (None, "exit code 3")),
    ("print('not json')", (None, "no answer")),
])
def test_a_helper_says_what_it_did(code, expected):
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=(errors := tempfile.TemporaryFile()), text=True)
    seconds, problem, waited = precompile.Helper(process, errors).wait()
    assert (seconds, problem) == expected and waited >= 0
    assert process.returncode is not None and errors.closed


def test_a_helper_ends_when_its_parent_lets_go_of_its_input():
    options = json.dumps(asdict(TrainOptions(threads=2).resolved()))
    process = subprocess.Popen([sys.executable, "-m", "w2v.precompile", options,
                                json.dumps({"cpu_name": None, "cpu_features": None})], cwd=ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    process.stdin.close()  # as when the parent is gone, however it ended
    begun = time.perf_counter()
    assert process.wait(timeout=60) == 1 and process.stdout.read() == b""
    assert time.perf_counter() - begun < 30  # not after a whole compile


def test_a_first_run_compiles_the_training_kernel_in_a_helper_and_loads_it_from_the_cache(tmp_path):
    # an empty Numba cache: the helper compiles CBOW's kernel while this process compiles the encoding kernels
    # and encodes (a vocabulary given: fewer kernels to wait for), then training loads the helper's kernel
    write(tmp_path / "c.txt", CORPUS)
    write(tmp_path / "v.vocab", "".join(f"{w} 600\n" for w in WORDS))
    # another w2v in the working folder (a checkout, where an installed w2v runs): the helper must not take it
    (tmp_path / "w2v").mkdir()
    write(tmp_path / "w2v" / "__init__.py", "raise ImportError('the w2v of the working folder')\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), "train", "c.txt", "-o", "v.bin",
                           "--read-vocab", "v.vocab", "--model", "cbow", "--dim", "4", "--epochs", "1",
                           "--threads", "2"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "compiling the training kernel in a second process" in done.stderr
    assert "kernels compiled in a second process in" in done.stderr, done.stderr
    assert "note: the helper" not in done.stderr
    from w2v.formats import read_vectors
    vectors = read_vectors(str(tmp_path / "v.bin"))
    assert sorted(vectors.words) == sorted(WORDS) and np.isfinite(vectors.vectors).all()


@pytest.mark.parametrize("answer, said", [
    ((12.5, "", 3.0), "kernels compiled in a second process in 12.5 s while the corpus was read (waited 3.0 s for "
                      "it)"),
    ((None, "boom", 0.5), "note: the helper process did not compile the training kernel (boom); compiling it here"),
])
def test_training_waits_for_its_helper_before_loading_the_kernel(monkeypatch, answer, said):
    from types import SimpleNamespace

    from w2v import training
    events = []

    class Waited:
        def wait(self):
            events.append("wait")
            return answer

    def kernel(*args):
        events.append("kernel")

    kernel.stats = SimpleNamespace(cache_misses={})  # a load from the cache: no miss
    monkeypatch.setattr(training, "kernel_function", lambda name, width=0: kernel)
    model = Model.new(Vocabulary(["a", "b", "c"], [3, 2, 1], 6), TrainOptions(threads=2).resolved())
    messages = []
    seconds = training._prepare_kernel(model, messages.append, Waited(), 0.25)
    assert events == ["wait", "kernel"]
    assert said in messages
    assert seconds >= 0.25 + answer[2]


class _FakeHelper:
    """A helper that compiled nothing: training then loads (or compiles) the kernel itself."""

    def __init__(self, events):
        self.events = events

    def wait(self):
        self.events.append("wait")
        return None, "stand-in helper", 0.0

    def close(self):  # (once, as Helper.close)
        if "close" not in self.events:
            self.events.append("close")


def _small_model(tmp_path):
    """(a new model of WORDS on two threads, the path of CORPUS written in ``tmp_path``)."""
    vocab = Vocabulary(WORDS, [600] * 6, 3600, distinct=True)
    return Model.new(vocab, TrainOptions(dim=8, epochs=1, threads=2, min_count=1)), write(tmp_path / "c.txt", CORPUS)


@pytest.mark.parametrize("fail_encoding", [False, True])
def test_a_model_trained_further_on_text_starts_the_kernel_before_encoding(tmp_path, monkeypatch, fail_encoding):
    # --init, --resume and Model.train: the kernel is started (a helper on a first run) before the text is
    # encoded, training waits for it, and it is closed however the run ends
    from w2v import training
    from w2v.encode import encode_corpus
    model, corpus = _small_model(tmp_path)
    events = []

    def start(options, say):
        events.append(("start", options.kernel_name, options.threads))
        return _FakeHelper(events), 0.0

    def encode(*args, **kwargs):
        events.append("encode")
        if fail_encoding:
            raise OSError("disk gone")
        return encode_corpus(*args, **kwargs)

    monkeypatch.setattr(training, "start_kernel", start)
    monkeypatch.setattr(training, "encode_corpus", encode)
    said = []
    if fail_encoding:
        with pytest.raises(OSError, match="disk gone"):
            model.train(corpus, epochs=1, log=said.append)
        assert events == [("start", model.kernel_name, 2), "encode", "close"]
        return
    model.train(corpus, epochs=1, log=said.append)
    assert events == [("start", model.kernel_name, 2), "encode", "wait", "close"]
    assert ("note: the helper process did not compile the training kernel (stand-in helper); compiling it here"
            in said)
    assert model.position.finished and np.isfinite(model.vectors.matrix).all()


def test_a_model_trained_on_an_encoded_corpus_starts_no_helper(tmp_path, monkeypatch):
    from w2v import training
    from w2v.corpus import Corpus
    from w2v.encode import encode_corpus
    model, corpus = _small_model(tmp_path)
    monkeypatch.setattr(training, "start_kernel", lambda options, say: pytest.fail("a helper was started"))
    encoded = encode_corpus(Corpus([corpus]), model.vocab, 10000)
    try:
        model.train(encoded, epochs=1)
    finally:
        encoded.close()
    assert model.position.finished


@pytest.mark.parametrize("args, said", [([], "two arguments expected, got 0"),
                                        (['{"dim": 0}', "{}"], "dim must be an integer"),
                                        (['["nope"]', "{}"], "the passes are count, spool"),
                                        (['[]', "{}"], "the passes are count, spool")])
def test_the_helper_run_by_hand_with_bad_arguments_says_so_in_one_line(args, said):
    done = subprocess.run([sys.executable, "-m", "w2v.precompile", *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"python -m w2v.precompile: {said}") and len(done.stderr.splitlines()) == 1


def test_init_with_update_vocab_starts_the_kernel_before_counting_the_new_words(tmp_path, monkeypatch):
    # the count of the new words is the first pass over the text: the kernel is started once, before it, waited
    # for by training and closed
    from click.testing import CliRunner

    from w2v import training
    from w2v.cli import cli
    write(tmp_path / "c.txt", CORPUS)
    write(tmp_path / "more.txt", CORPUS + "zebra quagga " * 10 + "\n")
    base = str(tmp_path / "m.w2vm")
    made = CliRunner().invoke(cli, ["train", str(tmp_path / "c.txt"), "-o", str(tmp_path / "v.bin"), "--dim", "8",
                                    "--epochs", "1", "--min-count", "1", "--checkpoint", base, "-q"])
    assert made.exit_code == 0, made.output
    events = []
    counting = training.count_new_words

    def count(*args, **kwargs):
        events.append("count")
        return counting(*args, **kwargs)

    def start(options, say):
        events.append("start")
        return _FakeHelper(events), 0.0

    monkeypatch.setattr(training, "start_kernel", start)
    monkeypatch.setattr(training, "count_new_words", count)
    result = CliRunner().invoke(cli, ["train", str(tmp_path / "more.txt"), "-o", str(tmp_path / "more.bin"), "--init",
                                      base, "--update-vocab", "--epochs", "1", "--threads", "2", "-q"])
    assert result.exit_code == 0, result.output
    assert events == ["start", "count", "wait", "close"]
    from w2v.formats import read_vectors
    assert {"zebra", "quagga"} <= set(read_vectors(str(tmp_path / "more.bin")).words)


def test_counting_commands_compile_their_later_kernels_in_a_helper(tmp_path):
    # an empty Numba cache: `w2v vocab` has the vocabulary's kernels compiled by a helper while it compiles the
    # counting ones and counts, then `w2v phrases` (the counting kernels now cached) the pairs'; once cached,
    # no helper
    write(tmp_path / "c.txt", CORPUS)
    # Numba says on standard output which kernels this process compiled ("data saved") or loaded
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), NUMBA_DEBUG_CACHE="1")

    def run(*args):
        done = subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), *args, "--threads", "2"], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return done.stderr, done.stdout

    def compiled_here(cache_lines, kernel):
        lines = [line for line in cache_lines.splitlines() if f"kernels.{kernel}-" in line and ".nbc" in line]
        assert lines, kernel
        return any("data saved to" in line for line in lines)

    said, cache = run("vocab", "c.txt", "-o", "v.tsv", "--min-count", "1")
    assert "compiling the vocabulary kernels in a second process" in said
    assert compiled_here(cache, "count_tokens_hashed")
    assert not compiled_here(cache, "table_candidates") and not compiled_here(cache, "table_frequency_order")
    assert sorted((tmp_path / "v.tsv").read_text().split()) == sorted(WORDS + ["600"] * 6 + ["</s>", "0"])
    said, cache = run("phrases", "c.txt", "-o", "p.txt", "--min-count", "1", "--threshold", "0")
    assert "compiling the pairs kernels in a second process" in said and "vocabulary" not in said
    assert not compiled_here(cache, "count_pairs") and not compiled_here(cache, "join_pairs")
    # every pair follows the same word: word2phrase joins each line's words two by two
    first = (tmp_path / "p.txt").read_text().splitlines()[0].split()
    assert first == [f"{a}_{b}" for a, b in zip(CORPUS.split()[0:12:2], CORPUS.split()[1:12:2])]
    said, _ = run("phrases", "c.txt", "-o", "p2.txt", "--min-count", "1", "--threshold", "0")
    assert "second process" not in said
    assert (tmp_path / "p2.txt").read_bytes() == (tmp_path / "p.txt").read_bytes()


def test_a_pass_compiled_aside_is_waited_for_before_it_is_loaded(monkeypatch):
    from w2v import kernels, scan
    events = []

    class FakeHelper:
        problem = ""

        def wait(self):
            events.append(("wait", "pairs" in scan._prepared))
            return (None if self.problem else 1.0), self.problem, 0.5

        def close(self):
            events.append(("close",))

    monkeypatch.setattr(kernels, "CACHED", True)
    monkeypatch.setattr(precompile, "_passes_loaded", lambda names: False)
    monkeypatch.setattr(precompile, "_start_helper", lambda job: events.append(("start", json.loads(job))) or
                        FakeHelper())
    monkeypatch.setattr(scan, "_prepared", set())
    said = []
    with precompile.passes_aside(["pairs", "vocabulary"], 2, said.append):
        assert set(scan._aside) == {"pairs", "vocabulary"}
        scan.prepare("pairs")
        scan.prepare("vocabulary")  # the same helper: waited for once
        assert {"pairs", "vocabulary"} <= scan._prepared
    assert events == [("start", ["pairs", "vocabulary"]), ("wait", False), ("close",)]
    assert said == ["compiling the pairs and vocabulary kernels in a second process while the corpus is counted "
                    "(a first run only)..."]
    assert scan._aside == {}
    # one thread, or kernels that are not cached: no helper
    for threads, cached in ((1, True), (2, False)):
        monkeypatch.setattr(kernels, "CACHED", cached)
        with precompile.passes_aside(["pairs"], threads):
            assert scan._aside == {}
    assert len(events) == 3
    # a helper that failed: said, and the kernels compiled (here: loaded) in this process
    monkeypatch.setattr(kernels, "CACHED", True)
    monkeypatch.setattr(FakeHelper, "problem", "boom")
    monkeypatch.setattr(scan, "_prepared", set())
    with precompile.passes_aside(["pairs"], 2, said.append):
        scan.prepare("pairs")
        assert "pairs" in scan._prepared
    assert said[1:] == ["compiling the pairs kernels in a second process while the corpus is counted (a first "
                        "run only)...", "note: the helper process did not compile the pairs kernels (boom); "
                        "compiling them here"]
    with pytest.raises(ValueError, match="no pass 'nope'"):
        with precompile.passes_aside(["nope"], 2):
            pass


def test_passes_already_in_the_cache_are_loaded_without_a_helper(monkeypatch):
    from w2v import scan
    scan.prepare("pairs")  # in the cache now (the suite's own)
    monkeypatch.setattr(scan, "_prepared", set())
    monkeypatch.setattr(precompile, "_start_helper", lambda job: pytest.fail("a helper was started"))
    with precompile.passes_aside(["pairs"], 2):
        assert "pairs" in scan._prepared and scan._aside == {}


def _record_passes_aside(monkeypatch) -> list:
    """Replace :func:`w2v.precompile.passes_aside` by a stand-in that starts nothing; returns the list of the
    ``(names, threads)`` it is asked for."""
    import contextlib
    asked = []

    @contextlib.contextmanager
    def aside(names, threads, say=None):
        asked.append((list(names), threads))
        yield

    monkeypatch.setattr(precompile, "passes_aside", aside)
    return asked


@pytest.mark.parametrize("phrases", [0, 1])
def test_training_on_phrases_has_the_pairs_kernels_compiled_aside(tmp_path, monkeypatch, phrases):
    # the pairs' kernels, compiled after the words' count on a first run, go to a helper as the training kernel
    # does; without --phrases none is asked for
    from click.testing import CliRunner

    from w2v.cli import cli
    write(tmp_path / "c.txt", CORPUS)
    asked = _record_passes_aside(monkeypatch)
    result = CliRunner().invoke(cli, ["train", str(tmp_path / "c.txt"), "-o", str(tmp_path / "v.txt"), "--dim", "8",
                                      "--epochs", "1", "--min-count", "1", "--threads", "2", "-q"]
                                + (["--phrases", "1", "--phrase-threshold", "0"] if phrases else []))
    assert result.exit_code == 0, result.output
    assert asked == ([(["pairs"], 2)] if phrases else [])
    words = (tmp_path / "v.txt").read_text().split("\n", 1)[1].split()
    assert any("_" in word for word in words) == bool(phrases)


def test_phrases_from_a_saved_table_compile_nothing_aside(tmp_path, monkeypatch):
    # with a table there is no count to overlap: the helper would compile what this process then waits for
    from click.testing import CliRunner

    from w2v.cli import cli
    write(tmp_path / "c.txt", CORPUS)
    asked = _record_passes_aside(monkeypatch)
    common = ["--min-count", "1", "--threads", "2", "-q"]
    made = CliRunner().invoke(cli, ["phrases", str(tmp_path / "c.txt"), "-o", str(tmp_path / "p.txt"), "--threshold",
                                    "0", "--save-table", str(tmp_path / "t.tsv")] + common)
    assert made.exit_code == 0, made.output
    again = CliRunner().invoke(cli, ["phrases", str(tmp_path / "c.txt"), "-o", str(tmp_path / "p2.txt"),
                                     "--phrase-table", str(tmp_path / "t.tsv")] + common)
    assert again.exit_code == 0, again.output
    assert asked == [(["pairs"], 2), ([], 2)]
    assert (tmp_path / "p2.txt").read_bytes() == (tmp_path / "p.txt").read_bytes()


@pytest.mark.parametrize("hs", [False, True])
def test_a_training_helper_compiles_the_tables_kernels_before_the_training_kernel(monkeypatch, hs):
    # the parent makes the tables after counting, from the cache the helper wrote by then: alias_pairs, and with
    # hierarchical softmax the Huffman tree's kernels
    from w2v import kernels, vocab
    events = []
    monkeypatch.setattr(kernels, "alias_pairs", lambda p: events.append("alias") or (np.ones(len(p), np.float32),
                                                                                     np.zeros(len(p), np.int32)))
    merge = vocab.huffman_merge
    monkeypatch.setattr(vocab, "huffman_merge", lambda counts: events.append("huffman") or merge(counts))
    monkeypatch.setattr(precompile, "stand_in", lambda options: (lambda: events.append("kernel"), ()))
    precompile._compile(TrainOptions(hs=hs, negative=0 if hs else 5, dim=4).resolved())
    assert events == (["huffman", "alias", "kernel"] if hs else ["alias", "kernel"])
