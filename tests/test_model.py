"""The model: its file, checkpoints and resume (same bytes as an uninterrupted run), continued training."""
import dataclasses
import json
import os
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

import planted
import w2v
from conftest import ROOT, slurp, write
from w2v.cli import cli
from w2v.model import ALIGN_BYTES, Model, aligned_zeros, padded_dim
from w2v.modelfile import read_model_file
from w2v.training import TrainingInterrupted
from w2v.vocab import Vocabulary

SMALL = dict(dim=12, threads=1, seed=4, chunk_words=50_000)  # the sample corpus: 9 chunks an epoch


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def trained(sample_path):
    return w2v.train(sample_path, epochs=2, hs=True, **SMALL).model  # both output layers


def test_the_model_file_round_trips_every_array_bit_for_bit(trained, tmp_path):
    path = str(tmp_path / "m.w2vm")
    trained.save(path)
    for mmap in (False, True):
        loaded = Model.load(path, mmap=mmap)
        for name in ("syn0", "syn1neg", "syn1"):
            original = getattr(trained.weights, name)[:, :trained.dim]
            np.testing.assert_array_equal(getattr(loaded.weights, name)[:, :loaded.dim], original)
        assert loaded.vocab.words == trained.vocab.words
        np.testing.assert_array_equal(loaded.vocab.counts, trained.vocab.counts)
        assert loaded.options == trained.options and loaded.position == trained.position
        assert loaded.vectors.most_similar("king", topn=3) == trained.vectors.most_similar("king", topn=3)
    assert not Model.load(path, mmap=True).weights.syn0.flags.writeable  # a read-only map
    # the file is about the weights, unpadded: (V + V + V-1) x D float32 plus words and counts
    v, d = len(trained.vocab), trained.dim
    assert os.path.getsize(path) < (3 * v * d * 4 + 20 * v + 4096)


def test_a_checkpoint_keeps_a_distributed_runs_last_changes_while_the_run_is_unfinished(trained, tmp_path,
                                                                                      sample_path):
    """The directions of a distributed run's last combined changes (int8, the weights' shapes) make a version-2
    file that reads them back; a finished model, training on one machine and new words drop them; a version-1
    file that lists them, or a version-2 one whose directions do not fit the weights, is damaged."""
    path = str(tmp_path / "c.w2vm")
    trained.save(path)
    model = Model.load(path)  # (a copy: the module's model stays as it is)
    rng = np.random.default_rng(0)
    last = tuple(rng.integers(-127, 128, size=(len(m), model.dim), dtype=np.int8) for m in model.weights)
    model.last_changes, model.position = last, dataclasses.replace(model.position, epoch=1, chunk=3)
    model.save(path)
    with open(path, "rb") as f:
        assert struct.unpack("<I", f.read(12)[8:])[0] == 2
    for mmap in (False, True):
        loaded = Model.load(path, mmap=mmap)
        assert all(np.array_equal(a, b) and a.dtype == np.int8 for a, b in zip(loaded.last_changes, last))
    assert Model.load(path).vectors.most_similar("king", topn=3) == trained.vectors.most_similar("king", topn=3)
    model.position = dataclasses.replace(model.position, epoch=model.position.epochs, chunk=0)  # finished
    model.save(path)
    assert Model.load(path).last_changes is None and read_model_file(path).last_changes is None
    with open(path, "rb") as f:
        assert struct.unpack("<I", f.read(12)[8:])[0] == 1
    model.position = dataclasses.replace(model.position, epoch=1)
    model.last_changes = (last[0], last[1][:-1], last[2])
    with pytest.raises(ValueError, match="last_syn1neg must be an int8 matrix"):
        model.save(str(tmp_path / "bad.w2vm"))
    assert not (tmp_path / "bad.w2vm").exists()
    model.last_changes = last
    model.save(path)
    data = bytearray(slurp(path, "rb"))
    struct.pack_into("<I", data, 8, 1)  # a version-1 file does not hold them
    write(tmp_path / "v1.w2vm", bytes(data))
    with pytest.raises(ValueError, match="v1.w2vm: a damaged w2v model file .*arrays"):
        Model.load(str(tmp_path / "v1.w2vm"))
    resumed = Model.load(path)
    resumed.train(sample_path, epochs=1)  # one machine: no syncs
    assert resumed.last_changes is None
    grown = w2v.train(sample_path, epochs=1, **SMALL).model  # (negative sampling: hs takes no new words)
    grown.last_changes = tuple(np.ones((len(m), grown.dim), np.int8) for m in grown.weights)
    grown.update_vocabulary(Vocabulary(["zzzfresh"], [10], 10))
    assert grown.last_changes is None and "zzzfresh" in grown.vocab.index


@pytest.mark.parametrize("block_bytes", [4 * 6 * 7, 4 * 6 * 13 + 4, 1 << 19])
@pytest.mark.parametrize("dim", [6, 7])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_initial_vectors_drawn_by_blocks_are_one_draw_of_the_whole_matrix(monkeypatch, block_bytes, dim, threads):
    """Blocks of 7 or 13 rows (made 8 and 14: even) or all 50, of an even or odd number of numbers a row, drawn by
    one to three threads, each from the generator moved ahead to its first block: one draw of the whole matrix."""
    import w2v.model as model_module
    from w2v.options import TrainOptions
    monkeypatch.setattr(model_module, "INIT_BLOCK_BYTES", block_bytes)
    vocab = Vocabulary([f"w{i}" for i in range(50)], np.arange(100, 50, -1))
    model = Model.new(vocab, TrainOptions(dim=dim, seed=11, hs=True, threads=threads))
    model.initialize()
    expected = (np.random.default_rng(11).random((50, dim), dtype=np.float32) - np.float32(0.5)) / np.float32(dim)
    syn0, syn1neg, syn1 = model.weights
    assert syn0.shape == (50, padded_dim(dim)) and np.array_equal(syn0[:, :dim], expected)
    assert not syn0[:, dim:].any() and not syn1neg.any() and not syn1.any()
    assert syn1neg.shape == (50, 8) and syn1.shape == (49, 8)


def test_start_vectors_replace_their_words_random_start_and_nothing_else():
    from w2v import Vectors
    from w2v.options import TrainOptions
    vocab = Vocabulary([f"w{i}" for i in range(20)], np.arange(40, 20, -1))
    options = TrainOptions(dim=6, seed=5, threads=1)
    plain, started = Model.new(vocab, options), Model.new(vocab, options)
    given = np.arange(18, dtype=np.float32).reshape(3, 6) / 7
    assert started.start_from(Vectors(["w3", "elsewhere", "w17"], given)) == 2
    plain.initialize()
    started.initialize()
    rows = plain.weights.syn0.copy()
    rows[[3, 17], :6] = given[[0, 2]]
    assert np.array_equal(started.weights.syn0, rows) and started.start_vectors is None
    assert not started.weights.syn1neg.any()
    with pytest.raises(ValueError, match="the start vectors: its vectors have dimension 4, the model 6: train with "
                                         "dim=4"):
        Model.new(vocab, options).start_from(Vectors(["w1"], np.ones((1, 4), np.float32)))
    with pytest.raises(ValueError, match="has weights already"):
        started.start_from(Vectors(["w1"], np.ones((1, 6), np.float32)))
    with pytest.raises(ValueError, match="not finite"):
        Model.new(vocab, options).start_from(Vectors(["w1"], np.full((1, 6), np.nan, np.float32)))


def test_trained_weights_start_on_a_cache_line(trained, sample_path, tmp_path):
    def starts(weights):
        return [m.ctypes.data % ALIGN_BYTES for m in weights if len(m)]
    for shape in [(1, 8), (7, 104), (1000, 16)]:
        zeros = aligned_zeros(shape)
        assert zeros.shape == shape and zeros.dtype == np.float32 and zeros.flags.c_contiguous
        assert zeros.ctypes.data % ALIGN_BYTES == 0 and not zeros.any()
    assert starts(trained.weights) == [0, 0, 0]  # a new model's
    path = str(tmp_path / "m.w2vm")
    trained.save(path)
    loaded = Model.load(path)  # loaded for training: padded copies
    assert starts(loaded.weights) == [0, 0, 0]
    ns = w2v.train(sample_path, epochs=1, **SMALL).model
    assert ns.update_vocabulary(Vocabulary(["brandnewword", "king"], [50, 3])) == 1  # new matrices
    assert "brandnewword" in ns.vocab.words and starts(ns.weights) == [0, 0]


def test_vectors_are_a_view_of_the_weights(trained):
    assert np.shares_memory(trained.vectors.matrix, trained.weights.syn0)
    assert trained.weights.syn0.shape[1] == padded_dim(trained.dim) and trained.vectors.dim == trained.dim


def test_query_commands_read_a_model_file(trained, tmp_path):
    path = str(tmp_path / "m.w2vm")
    trained.save(path)
    result = run("similar", path, "king", "--topn", 1)
    assert result.exit_code == 0 and result.output.split()[0] == trained.vectors.most_similar("king")[0][0]
    assert run("convert", path, tmp_path / "v.bin").exit_code == 0
    assert w2v.load(str(tmp_path / "v.bin")).words == trained.vocab.words


def damage(path, how):
    data = bytearray(slurp(path, "rb"))
    length = struct.unpack_from("<Q", data, 12)[0]
    header = json.loads(bytes(data[20:20 + length]))
    if how == "truncated":
        del data[len(data) // 2:]
    elif how == "flipped":
        data[header["arrays"]["syn0"]["offset"] + 5] ^= 0x10
    elif how == "magic":
        data[:8] = b"NOTMODEL"
    elif how == "newer":
        struct.pack_into("<I", data, 8, 99)
    elif how == "header":
        data[20:22] = b"{{"
    elif how == "shape":
        text = bytes(data[20:20 + length]).replace(b'"shape": [', b'"shape": [1', 1)
        data[20:20 + length] = text[:length]
    elif how == "empty":
        data = bytearray()
    write(path, bytes(data))


@pytest.mark.parametrize("how,message", [
    ("truncated", "truncated?"), ("flipped", "a checksum does not match"), ("magic", "not a w2v model file"),
    ("newer", "version 99 is not one this w2v reads"), ("header", "its header is not JSON"),
    ("shape", "damaged w2v model file"), ("empty", "not a w2v model file"),
])
def test_every_kind_of_damage_is_one_line_naming_the_file(trained, tmp_path, sample_path, how, message):
    path = str(tmp_path / "m.w2vm")
    trained.save(path)
    damage(path, how)
    with pytest.raises(ValueError, match=message) as info:
        Model.load(path)
    assert "m.w2vm" in str(info.value)
    result = run("train", sample_path, "-o", tmp_path / "v.bin", "--init", path, "-q")
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "v.bin").exists()


# -- resume = uninterrupted -------------------------------------------------------------------
@pytest.mark.parametrize("combo", [dict(), dict(model="cbow"), dict(hs=True, negative=0)])
@pytest.mark.parametrize("stop", [(1, 0), (1, 4), (2, 7)])  # (epochs done, chunks of the next done)
def test_a_resumed_run_writes_the_same_bytes(sample_path, tmp_path, combo, stop):
    whole = w2v.train(sample_path, epochs=3, **SMALL, **combo)
    path = str(tmp_path / "ck.w2vm")
    with pytest.raises(TrainingInterrupted, match="the checkpoint .* holds it up to here"):
        w2v.train(sample_path, epochs=3, checkpoint=path, chunk_callback=lambda p: (p.epoch, p.chunk) == stop,
                  **SMALL, **combo)
    model = Model.load(path)
    assert (model.position.epoch, model.position.chunk) == stop
    resumed = model.train(sample_path)
    assert resumed.vectors.matrix.tobytes() == whole.vectors.matrix.tobytes()
    assert resumed.model.vectors.meta["losses"] == whole.vectors.meta["losses"]
    for name in ("syn1neg", "syn1"):
        np.testing.assert_array_equal(getattr(resumed.model.weights, name), getattr(whole.model.weights, name))


def test_chunks_shrink_for_many_threads_and_a_resumed_run_keeps_its_plan(sample_path, tmp_path):
    """With several threads a small corpus is cut into smaller chunks (8 a thread, down to 10,000 words);
    the plan is the schedule's: a run started on 4 threads keeps its chunks when it goes on with 1, so
    chunk k of a checkpoint is the same text whatever the threads."""
    from w2v.corpus import Corpus
    from w2v.encode import encode_corpus
    from w2v.training import chunk_order, chunk_words_for, plan_chunks
    assert chunk_words_for(400_000, 1, 100_000) == 100_000         # one thread: as asked
    assert chunk_words_for(400_000, 4, 100_000) == 12_500          # 32 chunks, 8 a thread
    assert chunk_words_for(400_000, 64, 100_000) == 10_000         # not below 10,000 words
    assert chunk_words_for(100_000_000, 64, 100_000) == 100_000    # a large corpus: as asked
    path = str(tmp_path / "ck.w2vm")
    with pytest.raises(TrainingInterrupted):  # stopped as epoch 2 starts (4 threads stop only between chunks)
        w2v.train(sample_path, epochs=2, checkpoint=path, chunk_callback=lambda p: p.epoch == 1,
                  **{**SMALL, "threads": 4, "chunk_words": 100_000})
    model = Model.load(path)
    words = model.position.corpus["words"]
    assert model.position.corpus["chunk_words"] == -(-words // 32)
    model.options = dataclasses.replace(model.options, threads=1)
    with pytest.raises(TrainingInterrupted):  # one thread: stopped after chunk 20 of the 4-thread plan
        model.train(sample_path, checkpoint=path, chunk_callback=lambda p: p.chunk == 20)
    model = Model.load(path)
    assert (model.position.epoch, model.position.chunk, model.position.corpus["chunk_words"]) == (1, 20, -(-words // 32))
    resumed = model.train(sample_path)
    assert resumed.model.position.corpus["chunk_words"] == -(-words // 32) and resumed.model.position.finished
    encoded = encode_corpus(Corpus([sample_path]), model.vocab)
    plan = plan_chunks(encoded.offsets, -(-words // 32))
    order = chunk_order(len(plan), model.options.seed, 1, shuffle=True)  # epoch 2's order
    assert order.tolist() != list(range(len(plan)))
    left = sum(int(encoded.offsets[plan[i][1]] - encoded.offsets[plan[i][0]]) for i in order[20:])
    assert resumed.words == left  # it went on from chunk 20 of the same plan, in the same order


def test_each_epoch_takes_the_chunks_in_its_own_order_from_the_seed_unless_exact(sample_path):
    from w2v.corpus import Corpus
    from w2v.encode import encode_corpus
    from w2v.training import chunk_order, plan_chunks
    assert chunk_order(5, 1, 0, shuffle=False).tolist() == [0, 1, 2, 3, 4]
    orders = [chunk_order(50, seed, epoch, shuffle=True).tolist() for seed, epoch in ((1, 0), (1, 1), (2, 0))]
    assert all(sorted(order) == list(range(50)) for order in orders)
    assert len({tuple(order) for order in orders}) == 3 and orders[0] == chunk_order(50, 1, 0, True).tolist()
    for options, shuffled in ((dict(), True), (dict(exact=True), False), (dict(shuffle=False), False),
                              (dict(model="cbow"), True), (dict(model="cbow", exact=True), False)):
        seen = []  # (epoch, words handed out) at each epoch's start and after each chunk (one thread)
        result = w2v.train(sample_path, epochs=2, chunk_callback=lambda p: seen.append((p.epoch, p.words_done)),
                           **{**SMALL, **options})
        model = result.model
        assert model.options.shuffle is shuffled and model.position.corpus["shuffle"] is shuffled
        offsets = encode_corpus(Corpus([sample_path]), model.vocab).offsets
        plan = plan_chunks(offsets, model.position.corpus["chunk_words"])
        sizes = [int(offsets[end] - offsets[begin]) for begin, end in plan]
        assert len(set(sizes)) > 2  # so that the words handed out tell the order
        for epoch in (0, 1):
            words = [done for e, done in seen if e == epoch]
            handed = [b - a for a, b in zip(words, words[1:])]
            assert handed == [sizes[i] for i in chunk_order(len(plan), model.options.seed, epoch, shuffled)]


def test_a_checkpoint_from_before_kept_plans_resumes_with_its_chunk_words(sample_path, tmp_path):
    """A checkpoint whose position has no chunk plan (written before plans were kept) was cut into
    ``chunk_words`` chunks whatever its threads, taken in the corpus's order: it resumes with those, even
    on 2 threads."""
    from w2v.corpus import Corpus
    from w2v.encode import encode_corpus
    from w2v.training import plan_chunks
    path = str(tmp_path / "ck.w2vm")
    with pytest.raises(TrainingInterrupted):
        w2v.train(sample_path, epochs=1, checkpoint=path, chunk_callback=lambda p: p.chunk == 3, **SMALL)
    model = Model.load(path)
    del model.position.corpus["chunk_words"], model.position.corpus["shuffle"]
    model.options = dataclasses.replace(model.options, threads=2)
    resumed = model.train(sample_path)
    encoded = encode_corpus(Corpus([sample_path]), model.vocab)
    first = plan_chunks(encoded.offsets, SMALL["chunk_words"])[3][0]
    assert resumed.model.position.corpus["chunk_words"] == SMALL["chunk_words"]
    assert resumed.model.position.corpus["shuffle"] is False  # and in the corpus's order, as it began
    assert resumed.words == model.position.corpus["words"] - int(encoded.offsets[first])


@pytest.fixture
def ctrl_c():
    """SIGINT handled as in a Python started in the foreground (started in the background, e.g. with
    ``&`` in a script, a process inherits it ignored, and then neither Python nor w2v takes it)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.parametrize("where", ["checkpoint", "tally"])
def test_a_signal_anywhere_in_training_stops_at_a_chunks_end_with_a_whole_checkpoint(sample_path, tmp_path,
                                                                                      monkeypatch, where, ctrl_c):
    """Ctrl-C landing in the checkpoint written after an epoch, or in the tally of a chunk, cuts neither
    short: training stops at the next chunk's end, the checkpoint is whole and exact, and a resumed run
    gives the bytes of one that was not stopped."""
    import w2v.training
    whole = w2v.train(sample_path, epochs=3, **SMALL)
    path = str(tmp_path / "ck.w2vm")
    sent = []

    def interrupt_once():
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # Python runs the handler here, in the main thread

    if where == "checkpoint":
        save = Model.save

        def save_interrupted(self, *args, **kwargs):
            if self.position.epoch == 1:  # the checkpoint after the first epoch
                interrupt_once()
            return save(self, *args, **kwargs)
        monkeypatch.setattr(Model, "save", save_interrupted)
    else:
        tally = w2v.training._Run._tally

        def tally_interrupted(self, *args, **kwargs):
            if self.position.epoch == 1 and self.position.words_done > 0:
                interrupt_once()
            return tally(self, *args, **kwargs)
        monkeypatch.setattr(w2v.training._Run, "_tally", tally_interrupted)
    with pytest.raises(TrainingInterrupted, match="holds it up to here"):
        w2v.train(sample_path, epochs=3, checkpoint=path, **SMALL)
    monkeypatch.undo()
    assert sent and signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    model = Model.load(path)
    assert model.position.epoch == 1 and 0 <= model.position.chunk < 9
    assert model.position.chunk == (0 if where == "checkpoint" else 1)
    resumed = model.train(sample_path)
    assert resumed.vectors.matrix.tobytes() == whole.vectors.matrix.tobytes()
    assert resumed.model.vectors.meta["losses"] == whole.vectors.meta["losses"]


def test_a_signal_as_training_finishes_still_stops_the_run(sample_path, tmp_path, monkeypatch, ctrl_c):
    import w2v.training
    path = str(tmp_path / "ck.w2vm")
    tally = w2v.training._Run._tally

    def tally_interrupted(self, *args, **kwargs):  # the last chunk's tally
        result = tally(self, *args, **kwargs)
        if self.position.epoch == 1 and self.position.words_done == self.position.total_words:
            os.kill(os.getpid(), signal.SIGINT)
        return result
    monkeypatch.setattr(w2v.training._Run, "_tally", tally_interrupted)
    with pytest.raises(TrainingInterrupted, match="stopped as training finished.*w2v convert"):
        w2v.train(sample_path, epochs=2, checkpoint=path, **SMALL)
    assert Model.load(path).position.finished


def test_sigterm_then_resume_gives_the_uninterrupted_bytes(sample_path, tmp_path):
    common = ["--dim", "12", "--threads", "1", "--seed", "9", "--epochs", "12", "-q"]
    assert run("train", sample_path, "-o", tmp_path / "whole.bin", *common).exit_code == 0
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "cli.py"), "train", sample_path, "-o", "v.bin",
                                "--checkpoint", "ck.w2vm", "--dim", "12", "--threads", "1", "--seed", "9",
                                "--epochs", "12"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        if line.startswith("training "):
            break
    time.sleep(0.6)  # somewhere in the middle of the run
    process.send_signal(signal.SIGTERM)
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 143, stderr
    assert "resume with --resume ck.w2vm" in stderr and not (tmp_path / "v.bin").exists()
    stopped = Model.load(str(tmp_path / "ck.w2vm")).position
    assert 0 < stopped.words_done < stopped.total_words
    result = run("train", sample_path, "-o", tmp_path / "v.bin", "--resume", tmp_path / "ck.w2vm", "--threads", 1, "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "v.bin").read_bytes() == (tmp_path / "whole.bin").read_bytes()


def test_resume_refuses_another_corpus_unless_asked(sample_path, tmp_path):
    path = str(tmp_path / "ck.w2vm")
    with pytest.raises(TrainingInterrupted):
        w2v.train(sample_path, epochs=2, checkpoint=path, chunk_callback=lambda p: p.chunk == 2, **SMALL)
    other = write(tmp_path / "other.txt", slurp(sample_path)[:-20000])
    result = run("train", other, "-o", tmp_path / "v.bin", "--resume", path, "-q")
    assert result.exit_code == 1 and "not the corpus the checkpoint was trained on" in result.output
    assert "--allow-other-corpus" in result.output and not (tmp_path / "v.bin").exists()
    result = run("train", other, "-o", tmp_path / "v.bin", "--resume", path, "--allow-other-corpus", "-q")
    assert result.exit_code == 0, result.output


def test_training_records_the_fingerprint_of_what_it_read_without_reading_the_files_again(sample_path, tmp_path,
                                                                                           monkeypatch):
    """Training (counted here, and continued on a model) takes the fingerprint its checkpoints record from its
    own reading of the files; resuming, which has read nothing yet, reads them, and gets the same."""
    from w2v import corpus as corpus_module
    text = slurp(sample_path, "rb")
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(40):  # small files (one block each) and one larger than the fingerprint's sample
        write(folder / f"{i:02d}.txt", text[i * 2000:(i + 1) * 2000])
    write(folder / "zz.txt", text[80_000:300_000])
    fresh = corpus_module.Corpus([str(folder)]).fingerprint()
    file_print = corpus_module._file_print
    read = []
    monkeypatch.setattr(corpus_module, "_file_print", lambda path, sample: read.append(path) or file_print(path, sample))
    model = w2v.train(str(folder), epochs=1, min_count=1, **SMALL).model
    assert model.position.corpus["files"] == fresh and read == []
    model.train(str(folder), epochs=1)
    assert model.position.corpus["files"] == fresh and read == []
    path = str(tmp_path / "ck.w2vm")
    with pytest.raises(TrainingInterrupted):
        w2v.train(str(folder), epochs=2, min_count=1, checkpoint=path, chunk_callback=lambda p: p.chunk == 1,
                  **dict(SMALL, chunk_words=5_000))
    assert Model.load(path).position.corpus["files"] == fresh and read == []
    result = run("train", folder, "-o", tmp_path / "v.bin", "--resume", path, "-q")
    assert result.exit_code == 0, result.output
    assert len(read) == 41  # the resumed run's check, before reading


@pytest.mark.parametrize("args,code,message", [
    (["--update-vocab"], 2, "--update-vocab goes with --init"),
    (["--checkpoint-every", "5"], 2, "--checkpoint-every needs --checkpoint"),
    (["--allow-other-corpus"], 2, "--allow-other-corpus goes with --resume"),
    (["--init", "MODEL", "--dim", "30"], 2, "--dim: a model keeps the options"),
    (["--resume", "MODEL", "--init", "MODEL"], 2, "give one"),
    (["--resume", "MODEL"], 1, "its run is finished"),
    (["--resume", "MODEL", "--epochs", "3"], 2, "--epochs: a resumed run keeps all the options"),
    (["--init", "MODEL", "--read-vocab", "MODEL"], 2, "--read-vocab does not go with --init"),
    (["--checkpoint", "CORPUS"], 1, "is the same file as the input"),
    (["--init", "MODEL", "--checkpoint", "MODEL"], 1, "is the same file as the input"),
])
def test_model_options_bad_combinations(trained, sample_path, tmp_path, args, code, message):
    model = str(tmp_path / "m.w2vm")
    trained.save(model)
    args = [{"MODEL": model, "CORPUS": sample_path}.get(a, a) for a in args]
    before = slurp(model, "rb")
    result = run("train", sample_path, "-o", tmp_path / "v.bin", "-q", *args)
    assert result.exit_code == code and message in result.output, result.output
    assert slurp(model, "rb") == before and not (tmp_path / "v.bin").exists()


# -- continued training ------------------------------------------------------------------------
def test_continued_training_gives_new_words_vectors_that_learn_the_planted_relation(sample_path, tmp_path):
    """Trained without any line naming madrid, then further on the whole corpus with --update-vocab:
    madrid gets a vector, and is spain's capital. Over seeds 1-20 madrid ranked first among the
    capitals for spain every time, and paris - france + spain gave madrid in all 20
    (benchmarks/results/test-calibration.md)."""
    first = write(tmp_path / "first.txt",
                  "".join(line for line in slurp(sample_path).splitlines(True) if "madrid" not in line))
    base = str(tmp_path / "base.w2vm")
    result = run("train", first, "-o", tmp_path / "first.bin", "--checkpoint", base, "--dim", 30, "--threads", 1,
                 "--seed", 3, "--epochs", 5, "-q")
    assert result.exit_code == 0 and "madrid" not in Model.load(base).vocab
    out, more = tmp_path / "more.bin", str(tmp_path / "more.w2vm")
    result = run("train", sample_path, "-o", out, "--init", base, "--update-vocab", "--epochs", 3, "--threads", 1,
                 "--seed", 3, "--checkpoint", more)
    assert result.exit_code == 0, result.output
    assert "vocabulary: 1 new words" in result.output
    vectors = w2v.load(str(out))
    capitals = [capital for _, capital in planted.capital_pairs()]
    assert max(capitals, key=lambda c: vectors.similarity("spain", c)) == "madrid"
    assert vectors.analogy("france", "paris", "spain")[0][0] == "madrid"
    before, after = Model.load(base).vocab, Model.load(more).vocab
    in_second = sum(line.split().count("king") for line in slurp(sample_path).splitlines())
    assert after.counts[after.index["king"]] == before.counts[before.index["king"]] + in_second  # counts merged
    assert list(after.counts) == sorted(after.counts, reverse=True)  # rows kept in frequency order


def test_without_update_vocab_new_words_are_ignored_and_hs_refuses_it(trained, sample_path, tmp_path,
                                                                      monkeypatch):
    base = str(tmp_path / "m.w2vm")
    trained.save(base)
    extra = write(tmp_path / "extra.txt", ("zebra quagga " * 50 + "king queen\n") * 20)
    result = run("train", extra, "-o", tmp_path / "v.bin", "--init", base, "--epochs", 1, "-q", "--min-count", 1)
    assert result.exit_code == 0 and "zebra" not in w2v.load(str(tmp_path / "v.bin"))
    from w2v import scan  # refused before the new words are counted (a count of a large corpus takes long)
    monkeypatch.setattr(scan, "count_and_spool", lambda *args: pytest.fail("counted before refusing"))
    result = run("train", extra, "-o", tmp_path / "v2.bin", "--init", base, "--update-vocab", "-q")
    assert result.exit_code == 1 and "cannot extend a hierarchical-softmax model" in result.output


@pytest.mark.parametrize("threads, in_memory", [(1, True), (2, False), (4, False)])  # 4: a count merged in shards
def test_new_words_counted_once_encode_as_reading_the_text_again(tmp_path, threads, in_memory):
    """--update-vocab reads the new text once: its count's spool, mapped to the merged vocabulary, holds the
    ids and offsets that encoding the text again with that vocabulary gives, for a known word rarer than
    --min-count in the new text, a new word, an invalid-UTF-8 token that reads as a known word, unknown
    tokens, empty lines and a line cut at --max-sentence-length; rows in the merged frequency order."""
    from w2v.corpus import Corpus
    from w2v.encode import encode_corpus, encode_spooled
    from w2v.options import TrainOptions
    from w2v.training import count_new_words
    options = TrainOptions(dim=4, min_count=5, threads=threads, max_sentence_length=7, chunk_words=1000)
    model = Model.new(Vocabulary(["the", "rare", "caf\u00e9", "caf\ufffd"], [50, 9, 8, 7]), options)
    line = b"the zebra the zebra quagga rare caf\xc3\xa9 caf\xff the\n\n"
    text = line * 4 + b"zebra " * 30 + b"\n" + b"unknown the\r\n" * 200 + b"okapi okapi\n"
    path = tmp_path / "more.txt"
    path.write_bytes(text)
    said = []
    added, spooled = count_new_words(model, Corpus([str(path)]), said.append, cache_dir=str(tmp_path),
                                     in_memory=in_memory)
    assert added == 2 and model.vocab.words[:3] == ["the", "unknown", "zebra"]  # not quagga (4 < 5), nor okapi
    assert model.vocab.counts[model.vocab.index["rare"]] == 9  # 4 in the new text: below --min-count, not merged
    encoded = encode_spooled(*spooled, options.max_sentence_length, threads)
    again = encode_corpus(Corpus([str(path)]), model.vocab, options.max_sentence_length)
    assert encoded.n_words == again.n_words == 4 * 8 + 30 + 400
    assert np.array_equal(encoded.chunk(0, encoded.n_sentences)[0], again.ids)
    assert np.array_equal(encoded.offsets, again.offsets)
    index = model.vocab.index
    assert again.ids[:8].tolist() == [index[w] for w in ["the", "zebra", "the", "zebra", "rare", "caf\u00e9",
                                                          "caf\ufffd", "the"]]
    assert any("invalid UTF-8" in message for message in said)


def test_model_train_adds_new_words_from_python(sample_path, tmp_path):
    """``Model.train(paths, epochs=..., update_vocab=True)`` adds the new words, as the command does (same
    bytes with one thread and a seed), saves the merged vocabulary (``save_vocab``), and is refused for an
    encoded corpus (no text to count)."""
    first = write(tmp_path / "first.txt",
                  "".join(line for line in slurp(sample_path).splitlines(True) if "madrid" not in line))
    base = str(tmp_path / "base.w2vm")
    w2v.train(first, epochs=1, **SMALL).model.save(base)
    model, saved, said = Model.load(base), tmp_path / "vocab.txt", []
    model.train(sample_path, epochs=1, update_vocab=True, save_vocab=str(saved), log=said.append)
    assert "vocabulary: 1 new words, 737 in all" in said and "madrid" in model.vocab
    assert saved.read_text().split()[2::2] == model.vocab.words  # (after word2vec.c's "</s> 0")
    out = tmp_path / "cli.bin"
    assert run("train", sample_path, "-o", out, "--init", base, "--update-vocab", "--epochs", 1, "--threads", 1,
               "-q").exit_code == 0
    assert np.array_equal(w2v.load(str(out)).matrix, model.vectors.matrix)
    from w2v.corpus import Corpus
    from w2v.encode import encode_corpus
    encoded = encode_corpus(Corpus([sample_path]), model.vocab)
    with pytest.raises(ValueError, match="update_vocab adds the words of a text corpus for a new schedule"):
        Model.load(base).train(encoded, epochs=1, update_vocab=True)


def test_update_vocab_reads_standard_input_once(sample_path, tmp_path):
    """--update-vocab counts the new text and spools it, so standard input trains as the same file does
    (one thread, a seed: the same bytes)."""
    base = str(tmp_path / "base.w2vm")
    first = write(tmp_path / "first.txt",
                  "".join(line for line in slurp(sample_path).splitlines(True) if "madrid" not in line))
    assert run("train", first, "-o", tmp_path / "v.bin", "--checkpoint", base, "--dim", 8, "--epochs", 1,
               "--threads", 1, "-q").exit_code == 0
    common = ["--init", base, "--update-vocab", "--epochs", "1", "--threads", "1", "--seed", "5", "-q"]
    from_file, from_stdin = tmp_path / "file.bin", tmp_path / "stdin.bin"
    assert run("train", sample_path, "-o", from_file, *common).exit_code == 0
    with open(sample_path) as f:
        result = CliRunner().invoke(cli, ["train", "-", "-o", str(from_stdin)] + common, input=f.read())
    assert result.exit_code == 0, result.output
    assert from_stdin.read_bytes() == from_file.read_bytes()
    assert "madrid" in w2v.load(str(from_stdin))


def test_update_vocab_stops_a_pruned_count_of_standard_input(sample_path, tmp_path):
    """A count of standard input past --count-limit is pruned, and encoding would need the text again: one
    line naming it and what to do, exit 1, no vectors."""
    base = str(tmp_path / "base.w2vm")
    assert run("train", sample_path, "-o", tmp_path / "v.bin", "--checkpoint", base, "--dim", 8, "--epochs", 1,
               "-q").exit_code == 0
    out = tmp_path / "more.bin"
    text = " ".join(f"w{i}" for i in range(3000)) + "\n"
    result = CliRunner().invoke(cli, ["train", "-", "-o", str(out), "--init", base, "--update-vocab", "-q",
                                      "--count-limit", "500"], input=text)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "standard input holds more distinct tokens than --count-limit allows" in result.output
    assert "save it to a file or raise --count-limit" in result.output and "--read-vocab" not in result.output
    assert not out.exists()


def test_checkpoints_every_epoch_leave_a_complete_file(sample_path, tmp_path):
    path = str(tmp_path / "ck.w2vm")
    seen = []
    w2v.train(sample_path, epochs=3, checkpoint=path, callback=lambda s: seen.append(
        Model.load(path).position.epoch), **SMALL)
    assert seen == [1, 2, 3]
    assert read_model_file(path).state["epoch"] == 3
    assert sorted(os.listdir(tmp_path)) == ["ck.w2vm"]


def test_checkpoint_every_writes_between_chunks(sample_path, tmp_path):
    path = str(tmp_path / "ck.w2vm")
    seen = []

    def look(position):  # the file holds the previous chunk boundary's checkpoint
        if os.path.exists(path):
            saved = Model.load(path).position
            seen.append((saved.epoch, saved.chunk))

    w2v.train(sample_path, epochs=1, checkpoint=path, checkpoint_every=1e-9, chunk_callback=look, **SMALL)
    assert [chunk for _, chunk in seen] == list(range(1, 9))  # after chunks 1..8 of the 9, mid-epoch
    assert Model.load(path).position.finished
    result = run("train", sample_path, "-o", tmp_path / "v.bin", "--checkpoint", path, "--checkpoint-every", 0, "-q")
    assert result.exit_code == 2 and "--checkpoint-every" in result.output


def test_checkpoint_every_writes_between_chunks_with_several_threads(sample_path, tmp_path):
    """With several threads a chunk is nearly always in flight: a due checkpoint pauses the hand-out
    until none is, and is written there (before, --checkpoint-every never wrote one mid-epoch)."""
    path = str(tmp_path / "ck.w2vm")
    saved = []

    def look(position):  # runs where none is in flight: at the pauses; the file holds the previous one
        if os.path.exists(path):
            saved.append(Model.load(path).position.chunk)

    options = dict(SMALL, threads=2, chunk_words=20_000)  # 21 chunks an epoch
    w2v.train(sample_path, epochs=1, checkpoint=path, checkpoint_every=1e-9, chunk_callback=look, **options)
    assert len(saved) >= 5 and saved == sorted(set(saved)) and 0 < saved[0] and saved[-1] < 21, saved
    assert Model.load(path).position.finished


@pytest.mark.parametrize("flags, shuffled", [([], True), (["--in-order"], False), (["--exact"], False),
                                             (["--exact", "--shuffle"], True)])
def test_the_command_line_chooses_the_chunks_order_and_the_model_keeps_it(sample_path, tmp_path, flags, shuffled):
    path = tmp_path / "m.w2vm"
    result = run("train", sample_path, "-o", tmp_path / "v.bin", "--checkpoint", path, "--dim", 8, "--epochs", 1,
                 "-q", *flags)
    assert result.exit_code == 0, result.output
    model = Model.load(str(path))
    assert model.options.shuffle is shuffled and model.position.corpus["shuffle"] is shuffled


def test_a_bad_shuffle_value_is_refused_before_training(sample_path, tmp_path):
    from w2v.options import TrainOptions
    with pytest.raises(ValueError, match="shuffle must be True, False or None"):
        TrainOptions(shuffle="yes").validate()
    with pytest.raises(ValueError, match="shuffle must be True, False or None"):
        w2v.train(sample_path, shuffle="no", **SMALL)
