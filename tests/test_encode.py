import errno
import os
import threading
import time

import numpy as np
import pytest

from conftest import write
from w2v.corpus import Corpus
from w2v.encode import encode_corpus
from w2v.vocab import Vocabulary


def test_ids_and_offsets_drop_unknown_words_and_empty_sentences(tmp_path):
    vocab = Vocabulary(["a", "b", "c"], [5, 4, 3])
    path = write(tmp_path / "c.txt", "a x b\nzzz\n\nc c a\nb")
    enc = encode_corpus(Corpus([path]), vocab)
    assert enc.ids.dtype == np.int32 and enc.offsets.dtype == np.int64
    assert enc.ids.tolist() == [0, 1, 2, 2, 0, 1]
    assert enc.offsets.tolist() == [0, 2, 5, 6]


def test_long_lines_are_cut_into_pieces_never_dropped(tmp_path):
    vocab = Vocabulary(["w"], [10])
    path = write(tmp_path / "long.txt", "w " * 25 + "\nw w\n")
    enc = encode_corpus(Corpus([path], block_size=64), vocab, max_sentence_length=10)
    assert enc.offsets.tolist() == [0, 10, 20, 25, 27]
    assert enc.n_words == 27


def test_spooled_ids_read_back_by_chunk_equal_the_in_memory_arrays(tmp_path, sample_path):
    from w2v.vocab import build_vocabulary
    corpus = Corpus([sample_path])
    vocab, _ = build_vocabulary(corpus)
    in_memory = encode_corpus(corpus, vocab)
    cache = tmp_path / "cache"
    cache.mkdir()
    spooled = encode_corpus(corpus, vocab, cache_dir=str(cache))
    assert spooled.ids is None
    assert list(cache.iterdir()) == []  # unlinked at once: nothing can be left behind
    np.testing.assert_array_equal(in_memory.offsets, spooled.offsets)
    s = spooled.n_sentences
    for begin, end in [(0, s), (0, 1), (s // 3, s // 2), (s - 1, s), (5, 5)]:
        ids, offsets = spooled.chunk(begin, end)
        expected_ids, expected_offsets = in_memory.chunk(begin, end)
        assert ids.dtype == np.int32 and offsets[0] == 0
        np.testing.assert_array_equal(ids, expected_ids)
        np.testing.assert_array_equal(offsets, expected_offsets)
        np.testing.assert_array_equal(
            ids, in_memory.ids[in_memory.offsets[begin]:in_memory.offsets[end]])
    spooled.close()
    assert spooled.fd is None


def test_unwritable_cache_folder_is_a_clear_error(tmp_path, sample_path, monkeypatch):
    from w2v import encode
    vocab = Vocabulary(["the"], [10])
    real_pwrite = os.pwrite
    spool_fds = set()
    real_init = encode._Sink.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        spool_fds.add(self.fd)

    def full(fd, data, offset):  # the spool's file is on a full disk; no other file is
        if fd in spool_fds:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_pwrite(fd, data, offset)
    monkeypatch.setattr(encode._Sink, "__init__", init)
    monkeypatch.setattr(os, "pwrite", full)
    with pytest.raises(OSError, match="No space left on device.*--cache-dir"):
        encode_corpus(Corpus([sample_path]), vocab, cache_dir=str(tmp_path))
    import w2v
    with pytest.raises(OSError, match="No space left on device.*--cache-dir"):  # spooling while counting
        w2v.train(sample_path, cache_dir=str(tmp_path), dim=8)


@pytest.mark.parametrize("in_file", [False, True])
def test_sink_filled_out_of_order_from_threads_holds_every_value_in_place(tmp_path, in_file):
    from w2v.encode import _Sink
    sink = _Sink(np.int32, str(tmp_path) if in_file else None, capacity=5)  # grows while fills are in flight
    parts = [np.arange(start, start + n, dtype=np.int32) for start, n in ((0, 3), (3, 0), (3, 7), (10, 40), (50, 1))]
    mapping = np.arange(1000, 1051, dtype=np.int32)
    fills = []
    for i, part in enumerate(parts):
        start = sink.reserve(len(part))
        if i % 2:
            fill = (lambda s=start, p=part: (time.sleep(0.05), sink.fill_mapped(s, mapping, p)))  # slower, later
        else:
            fill = (lambda s=start, p=part: sink.fill(s, p + 1000))
        fills.append(threading.Thread(target=fill))
        fills[-1].start()
    for thread in fills:
        thread.join()
    ids, fd = sink.finish()
    if in_file:
        with os.fdopen(fd, "rb") as f:
            ids = np.fromfile(f, dtype=np.int32)
    assert ids.tolist() == list(range(1000, 1051))


def test_sink_grows_only_once_the_fills_in_flight_are_done():
    from w2v.encode import _Sink
    n = 1 << 22
    sink = _Sink(np.int32, None, capacity=n)
    mapping, indexes = np.arange(n, dtype=np.int32), np.random.default_rng(0).permutation(n)
    start, started = sink.reserve(n), threading.Event()
    writing = threading.Thread(target=lambda: (started.set(), sink.fill_mapped(start, mapping, indexes)))
    writing.start()
    started.wait()
    time.sleep(0.002)  # the gather is under way into the buffer that the next reservation outgrows
    sink.fill(sink.reserve(1), np.array([-1], np.int32))
    writing.join()
    ids, _ = sink.finish()
    assert np.array_equal(ids[:n], indexes) and ids[n] == -1


def test_sink_discarded_with_wait_closes_its_file_only_after_the_fills_in_flight(tmp_path):
    from w2v.encode import _Sink
    sink = _Sink(np.int32, str(tmp_path))
    start = sink.reserve(4)
    written, errors = threading.Event(), []

    def fill():
        time.sleep(0.1)
        try:
            sink.fill(start, np.arange(4, dtype=np.int32))
            written.set()
        except OSError as e:
            errors.append(e)
    writing = threading.Thread(target=fill)
    writing.start()
    sink.discard(wait=True)  # a write after the close would fail (or hit a file opened since on that fd)
    assert written.is_set()
    writing.join()
    assert errors == [] and sink.fd is None


def test_nothing_in_vocabulary_is_an_error(tmp_path):
    path = write(tmp_path / "c.txt", "x y z\n")
    with pytest.raises(ValueError, match="nothing to train on"):
        encode_corpus(Corpus([path]), Vocabulary(["a"], [1]))


@pytest.mark.parametrize("threads,in_memory", [(1, True), (2, False), (3, True)])
def test_one_reading_encodes_as_two_readings_do(tmp_path, monkeypatch, threads, in_memory):
    from w2v import encode, scan
    from w2v.vocab import vocabulary_and_entry_ids
    monkeypatch.setattr(scan, "PIECE_BYTES", 64)  # many pieces
    monkeypatch.setattr(encode, "_REMAP_CHUNK", 7)  # many chunks, line ends on their edges
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(30)] + ["caf\xe9"]
    lines = [" ".join(rng.choice(words, int(rng.integers(0, 25)))) for _ in range(200)]
    # "caf\xe9" in Latin-1 is not UTF-8: it reads as "caf\ufffd", a word with the valid token of that text
    text = ("\n".join(lines).encode("utf-8") + b"\n\n bad\xff token\n" + b"w1 " * 40
            + b"caf\xe9 " * 2 + "caf\ufffd ".encode("utf-8") * 2)
    path = write(tmp_path / "in.txt", text)
    # a second file after one that does not end its line (a newline is put between them), with a token
    # longer than a block (cut by the reader, a space put after the cut) and no newline at its end
    second = write(tmp_path / "more.txt", b"w2 w3\n" + b"w4 " * 30 + b"x" * 150 + b" w5 w1 w2" * 5)
    files = [path, second]
    corpus = Corpus(files, block_size=64)
    counted, spooled = scan.count_and_spool(corpus, None, threads, None if in_memory else str(tmp_path))
    assert spooled is not None and spooled.tokens == counted.total_tokens
    vocab, _, word_ids = vocabulary_and_entry_ids(counted, min_count=3)
    assert "caf\ufffd" in vocab and "bad\ufffd" not in vocab
    one = encode.encode_spooled(spooled, word_ids, max_sentence_length=9, threads=threads)
    two = encode_corpus(Corpus(files, block_size=64), vocab, max_sentence_length=9, threads=threads)
    ids_one = one.chunk(0, one.n_sentences)[0]
    assert np.array_equal(ids_one, two.ids) and np.array_equal(one.offsets, two.offsets)
    assert (ids_one >= 0).all() and len(ids_one) < counted.total_tokens  # rare words were dropped
    one.close()
    assert not list(tmp_path.glob("w2v-ids-*"))


def test_pruning_drops_the_spool(tmp_path):
    from w2v import scan
    path = write(tmp_path / "in.txt", " ".join(f"t{i}" for i in range(50)) + "\n")
    counted, spooled = scan.count_and_spool(Corpus([path]), 10, 1, None)
    assert spooled is None and counted.pruned_below >= 1


def _slow_pwrites(monkeypatch, seconds: float) -> dict:
    """``os.pwrite`` made ``seconds`` slower, watched: the dict returned holds the most writes seen at
    once ("most") and the threads that wrote ("writers")."""
    pwrite, guard = os.pwrite, threading.Lock()
    seen = {"now": 0, "most": 0, "writers": set()}

    def slow_pwrite(fd, data, at):
        with guard:
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])
            seen["writers"].add(threading.get_ident())
        time.sleep(seconds)
        try:
            return pwrite(fd, data, at)
        finally:
            with guard:
                seen["now"] -= 1

    monkeypatch.setattr(os, "pwrite", slow_pwrite)
    return seen


def test_writes_to_one_spool_file_take_turns_and_writes_to_two_files_do_not(tmp_path, monkeypatch):
    """Two passes in one process (two models trained at once from Python, a Dask worker encoding the
    shards of two runs) write two files: their writes need not wait for each other, while those to one
    file still take turns."""
    from w2v import encode
    seen = _slow_pwrites(monkeypatch, 0.05)  # the other writer arrives meanwhile
    files = [os.open(tmp_path / name, os.O_RDWR | os.O_CREAT) for name in ("a", "b")]

    def write_fours(fd: int, k: int, start: threading.Barrier) -> None:
        """Four k's at int32 place 4k of fd, once the other writer is ready too."""
        start.wait()
        encode._write_exactly(fd, np.full(4, k, np.int32), 16 * k)

    try:
        for fds in ([files[0], files[0]], files):
            seen["most"] = 0
            start = threading.Barrier(2)
            writers = [threading.Thread(target=write_fours, args=(fd, k, start)) for k, fd in enumerate(fds)]
            for writer in writers:
                writer.start()
            for writer in writers:
                writer.join()
            assert seen["most"] == (1 if fds[0] == fds[1] else 2), fds
        assert np.array_equal(np.fromfile(tmp_path / "b", np.int32), np.r_[np.zeros(4), np.ones(4)])
    finally:
        for fd in files:
            os.close(fd)


def test_threads_write_the_spool_one_at_a_time(tmp_path, monkeypatch):
    """Workers write their pieces' ids to one file; two writes at once contend in the kernel, so they
    take turns (w2v.encode._write_exactly), in the counting pass and in the remap alike."""
    from w2v import encode, scan
    from w2v.vocab import vocabulary_and_entry_ids
    monkeypatch.setattr(scan, "PIECE_BYTES", 64)  # many pieces, so many writes
    monkeypatch.setattr(encode, "_REMAP_CHUNK", 16)
    path = write(tmp_path / "in.txt", "\n".join(f"w{i % 7} w{i % 5} w{i % 3} x{i}" for i in range(300)) + "\n")
    seen = _slow_pwrites(monkeypatch, 0.002)  # long enough for another worker to arrive meanwhile
    counted, spooled = scan.count_and_spool(Corpus([path], block_size=64), None, 3, str(tmp_path))
    vocab, _, word_ids = vocabulary_and_entry_ids(counted, min_count=2)
    encoded = encode.encode_spooled(spooled, word_ids, threads=3)
    assert len(seen["writers"]) >= 2 and seen["most"] == 1
    expected = encode_corpus(Corpus([path]), vocab)
    assert np.array_equal(encoded.chunk(0, encoded.n_sentences)[0], expected.ids)
    encoded.close()
