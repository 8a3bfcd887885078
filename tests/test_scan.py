"""The compiled, threaded passes (w2v.scan) against the plain-Python references, on awkward text."""
import bz2
import gzip

import numpy as np
import pytest

import reference_text
from conftest import write
from w2v import scan
from w2v.corpus import Corpus
from w2v.encode import encode_corpus, sentence_offsets
from w2v.vocab import Vocabulary, build_vocabulary

TEXTS = {
    "lines": b"the cat sat\non the mat\n\n\nthe end\n",
    "no-final-newline": b"a b c\nd e f",
    "crlf": b"one two\r\nthree four\r\n\r\nfive\r\n",
    "tabs-and-feeds": b"a\tb\x0bc\x0cd  e\n\t\n f",
    "no-white-space": b"x" * 5000,
    "utf8": "über straße naïve 😀 über\nçà et là über\n".encode(),
    "invalid-utf8": b"caf\xe9 caf\xe9 caf\xff caf\xef\xbf\xbd ok \xc3\xbcber \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf x\xe2\x82\n",
    "unicode-spaces": "mrs\u00a0of a\u3000b x\u2028y p\x1cq mrs\u00a0of\n".encode(),
    "long-lines": (" ".join(f"w{i % 7}" for i in range(2500)) + "\n" + "w1 w2\n") .encode(),
    "empty": b"",
    "only-space": b" \n\n \t\n",
}


def corpus_files(tmp_path, name):
    data = TEXTS[name]
    return [write(tmp_path / "a.txt", data), write(tmp_path / "b.txt.gz", gzip.compress(data)),
            write(tmp_path / "c.txt.bz2", bz2.compress(data[::-1]))]


@pytest.fixture(params=[(1, None), (2, 64), (3, 7)], ids=["1 thread", "2 threads, 64-byte pieces",
                                                            "3 threads, 7-byte pieces"])
def threads(request, monkeypatch):
    count, piece_bytes = request.param
    if piece_bytes:
        monkeypatch.setattr(scan, "PIECE_BYTES", piece_bytes)
    return count


@pytest.mark.parametrize("name", list(TEXTS))
@pytest.mark.parametrize("block_size", [64, 1 << 20])
def test_counting_and_encoding_equal_the_reference(tmp_path, name, block_size, threads):
    files = corpus_files(tmp_path, name)
    corpus = Corpus(files, block_size=block_size)
    words, total = reference_text.count(corpus)
    if total == 0:
        with pytest.raises(ValueError, match="the corpus is empty"):
            build_vocabulary(Corpus(files, block_size=block_size), min_count=1, threads=threads)
        return
    vocab, summary = build_vocabulary(Corpus(files, block_size=block_size), min_count=1, threads=threads)
    expected_words, expected_counts = reference_text.vocabulary(corpus, 1)
    assert vocab.words == expected_words and vocab.counts.tolist() == expected_counts
    assert summary.total_tokens == total and summary.distinct == len(words)
    for max_length in (3, 10_000):
        ids, offsets = reference_text.encode(corpus, vocab.words, max_length)
        encoded = encode_corpus(Corpus(files, block_size=block_size), vocab, max_length, threads=threads)
        np.testing.assert_array_equal(encoded.ids, ids)
        np.testing.assert_array_equal(encoded.offsets, offsets)


def test_the_sample_corpus_gives_the_reference_vocabulary_and_ids(sample_path, threads):
    corpus = Corpus([sample_path])
    vocab, _ = build_vocabulary(corpus, min_count=5, threads=threads)
    words, counts = reference_text.vocabulary(corpus, 5)
    assert vocab.words == words and vocab.counts.tolist() == counts
    ids, offsets = reference_text.encode(corpus, vocab.words, 10_000)
    encoded = encode_corpus(corpus, vocab, threads=threads)
    np.testing.assert_array_equal(encoded.ids, ids)
    np.testing.assert_array_equal(encoded.offsets, offsets)


def test_unknown_words_are_dropped_and_a_read_vocabulary_maps_invalid_utf8(tmp_path, threads):
    # caf\xc3 (a cut sequence) reads as caf\ufffd too; caf\xff\xfe reads as caf\ufffd\ufffd, not a word
    path = write(tmp_path / "c.txt", b"caf\xe9 zzz cafe caf\xff\xfe\nzzz caf\xc3\n\xff\xfe yyy caf\xe9\n")
    vocab = Vocabulary(["caf\ufffd", "cafe", "\ufffd\ufffd"], [3, 2, 1])
    encoded = encode_corpus(Corpus([path]), vocab, threads=threads)
    assert encoded.ids.tolist() == [0, 1, 0, 2, 0] and encoded.offsets.tolist() == [0, 2, 3, 5]


def test_pruning_gives_the_same_vocabulary_whatever_the_threads(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    text = "\n".join(" ".join(f"r{x}" for x in rng.zipf(1.3, 300) % 5000) + " common" * 20 for _ in range(200))
    path = write(tmp_path / "z.txt", text)
    monkeypatch.setattr(scan, "PIECE_BYTES", 4096)
    results = []
    for threads in (1, 2, 3):
        # blocks of 512 bytes: pieces of 8 blocks, tapering at both ends, pruned between two
        vocab, summary = build_vocabulary(Corpus([path], block_size=512), min_count=2, prune_at=300, threads=threads)
        results.append((vocab.words, vocab.counts.tolist(), summary.pruned_below, summary.distinct))
    assert results[0] == results[1] == results[2]
    assert results[0][2] >= 1 and results[0][3] <= 300  # it pruned, down to the limit
    assert results[0][1][results[0][0].index("common")] == 4000


def test_a_count_is_pruned_when_its_tokens_bytes_pass_the_limit_too(tmp_path, monkeypatch):
    """A text of few spaces (40 distinct tokens of 300 bytes, each once, between common words) is pruned when
    its tokens' bytes pass TOKEN_BYTES_PER_LIMIT (32) a token allowed, though it holds fewer tokens than the
    limit: the same whatever the threads, and the count then holds at most that many bytes. Tokens of 30
    bytes, as many as the limit allows less ten, are counted exactly."""
    rng = np.random.default_rng(1)
    text = "".join(f"{rng.bytes(150).hex()} common common\n" for _ in range(40))
    path = write(tmp_path / "long.txt", text)
    monkeypatch.setattr(scan, "PIECE_BYTES", 1024)
    results = []
    for threads in (1, 2, 3):
        counted = scan.count(Corpus([path], block_size=512), 100, threads)
        tokens = dict(zip(counted.words(np.arange(counted.n)), counted.counts.tolist()))
        results.append((tokens, counted.pruned_below, int(counted.lengths.sum())))
    assert results[0] == results[1] == results[2]
    tokens, pruned_below, token_bytes = results[0]
    assert pruned_below >= 1 and token_bytes <= 32 * 100  # pruned with 41 tokens, under the limit of 100
    assert tokens["common"] == 80 and len(tokens) < 41
    short = write(tmp_path / "short.txt", " ".join(f"{i:030d}" for i in range(90)) + "\n")  # 2,700 bytes
    counted = scan.count(Corpus([short]), 100, 1)
    assert counted.pruned_below == 0 and counted.n == 90


@pytest.mark.parametrize("lines_at_a_time", [1 << 20, 3])
def test_sentence_offsets_cut_long_lines_and_skip_empty_ones(monkeypatch, lines_at_a_time):
    import w2v.encode
    monkeypatch.setattr(w2v.encode, "_LINES_AT_A_TIME", lines_at_a_time)
    assert sentence_offsets(np.array([3, 3, 10], np.int64), 12, 4).tolist() == [0, 3, 7, 10, 12]
    assert sentence_offsets(np.array([], np.int64), 8, 4).tolist() == [0, 4, 8]
    assert sentence_offsets(np.array([0, 0], np.int64), 0, 4).tolist() == [0]
    rng = np.random.default_rng(2)
    for _ in range(200):  # against the rule written out: every line with ids, cut every max_length
        ends = np.sort(rng.integers(0, 60, size=rng.integers(0, 12)))
        total, max_length = int(ends.max(initial=0)) + int(rng.integers(0, 9)), int(rng.integers(1, 7))
        expected, start = [], 0
        for end in ends.tolist() + [total]:
            expected += list(range(start, end, max_length))
            start = end
        assert sentence_offsets(ends, total, max_length).tolist() == expected + [total]


def test_empty_lines_cost_no_line_ends():
    """Newlines that would end an empty line (blank lines, CRLF pairs' doubles) are not kept by the passes
    that record line ends; each line with tokens still ends where it did (a text of blank lines held 8
    bytes a newline, 40 in all)."""
    from w2v import kernels
    data = np.frombuffer(b"\n\n a b\n\n\n\nc\n \n d e f\n\n", np.uint8).copy()
    ends = kernels.count_tokens_ids(data, kernels.table_new(16), 0, 0, np.empty(16, np.int32),
                                    np.empty(0, np.uint64))[4]
    assert ends.tolist() == [0, 2, 3, 6]  # the first newline of a piece is kept: it may end the piece before's line
    table, n = scan.word_table(["a", "c", "e"])
    ids, ends = kernels.encode_tokens(data, table, n, np.arange(n, dtype=np.int32))
    assert ids.tolist() == [0, 1, 2] and ends.tolist() == [0, 1, 2, 3]


def test_read_ahead_keeps_order_raises_the_readers_error_and_stops_the_reader():
    import threading
    assert list(scan.read_ahead(iter(range(100)), depth=3)) == list(range(100))

    def failing():
        yield 1
        raise OSError("corpus.gz: cannot read compressed data")
    got = []
    with pytest.raises(OSError, match="cannot read compressed data"):
        for item in scan.read_ahead(failing()):
            got.append(item)
    assert got == [1]
    closed = threading.Event()

    def endless():
        try:
            while True:
                yield 0
        finally:
            closed.set()
    for _ in scan.read_ahead(endless(), depth=2):
        break  # the consumer stops early: the reader stops and closes its source
    assert closed.wait(5)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_in_turn_folds_in_order_and_raises_without_hanging(threads):
    import random
    import threading
    import time
    folded, folders = [], set()

    def work(item):
        time.sleep(random.random() * 0.002)  # finish out of order
        return item * item

    def fold(result):
        folders.add(threading.current_thread().name)
        folded.append(result)
    scan._in_turn(work, fold, iter(range(60)), threads)
    assert folded == [i * i for i in range(60)]
    assert (threading.main_thread().name in folders) == (threads == 1)  # folded by the workers

    for failing_step in ("work", "fold"):
        folded.clear()

        def work_failing(item):
            if failing_step == "work" and item == 7:
                raise ValueError("item 7 cannot be counted")
            return work(item)

        def fold_failing(result):
            if failing_step == "fold" and result == 49:
                raise ValueError("item 7 cannot be folded")
            fold(result)
        closed = []

        def items():
            try:
                yield from range(60)
            finally:
                closed.append(True)
        with pytest.raises(ValueError, match="item 7") as caught:
            scan._in_turn(work_failing, fold_failing, items(), threads)
        # folds stop at the failure (a failed work may also stop folds before it that wait for their turn)
        assert folded == [i * i for i in range(len(folded))]
        assert len(folded) == 7 if failing_step == "fold" else len(folded) <= 7
        # the items (a pass's readers and open files) are closed at once, though the error's traceback,
        # held here, still holds them
        assert closed == [True] and caught.tb is not None


def test_pieces_given_back_are_used_again_with_the_same_bytes(tmp_path):
    text = b"".join(b"w%d " % (i % 97) + (b"\n" if i % 13 == 0 else b"") for i in range(3000))
    # separators put in mid-piece: a newline after a file that does not end its line, a space after a
    # token longer than a block (cut by the reader)
    files = [write(tmp_path / "a.txt", text + b"x" * 150 + b" y"), write(tmp_path / "b.txt", text[:900])]
    corpus = Corpus(files, block_size=64)
    plain = [p.tobytes() for p in scan.pieces(corpus, "test", piece_bytes=200)]
    spare, reused, seen = [], 0, []
    for piece in scan.pieces(corpus, "test", piece_bytes=200, spare=spare):
        reused += any(np.shares_memory(piece, earlier) for earlier in seen)
        seen.append(piece.base)
        got = piece.tobytes()
        piece[:] = 0  # the consumer is done with it: what it held must not show up again
        assert got == plain[len(seen) - 1]
        scan._give_back(spare, piece)
    assert len(seen) == len(plain) > 20 and reused >= len(plain) - 3  # new buffers only when a piece outgrew one


def test_pieces_start_with_a_block_each_and_end_smaller_in_a_plain_file(tmp_path):
    text = b"".join(b"w%d " % (i % 97) + (b"\n" if i % 13 == 0 else b"") for i in range(30000)) + b"\n"
    path = write(tmp_path / "a.txt", text)
    first = scan.FIRST_BLOCKS
    assert first >= 2  # two threads start on a block each
    pieces = [p.tobytes() for p in scan.pieces(Corpus([path], block_size=1000), "test", piece_bytes=8000)]
    assert b"".join(pieces) == text and max(len(p) for p in pieces[:first]) <= 1100  # a block each
    sizes = [len(p) for p in pieces]
    assert sizes[first] >= 8000
    for i in range(first, len(sizes)):  # cut after the first block past a quarter of what is left
        assert sizes[i] <= min(8000, (len(text) - sum(sizes[:i])) // 4) + 1100
    assert sum(size >= 8000 for size in sizes) >= 10 and max(sizes[-3:]) <= 1100  # the last ones one block
    # unknown size (compressed): after the first blocks, pieces of at least piece_bytes, all but the last
    gz = [p.tobytes() for p in scan.pieces(Corpus([write(tmp_path / "a.txt.gz", gzip.compress(text))], block_size=1000),
                                           "test", piece_bytes=8000)]
    assert b"".join(gz) == text and max(len(p) for p in gz[:first]) <= 1100
    assert min(len(p) for p in gz[first:-1]) >= 8000


def test_in_turn_never_waits_for_a_turn_and_bounds_the_results_not_folded():
    import threading
    import time
    threads = 2
    third_started = threading.Event()
    started, folded = [], []

    def work(item):
        started.append((item, len(folded)))
        if item == 2:
            third_started.set()
        if item == 0:  # slow: items 1 and 2 are done first, by the other thread, which does not wait for 0
            assert third_started.wait(10), "a thread waited for its turn instead of taking the next item"
            time.sleep(0.05)  # the main thread could hand out more items now, if it did not bound them
        return item

    scan._in_turn(work, folded.append, iter(range(12)), threads)
    assert folded == list(range(12))
    # before item 0 was folded, only items 0 .. threads were handed out (threads + 1 not folded at most)
    assert max(item for item, n_folded in started if n_folded == 0) == threads


def test_read_sources_reads_files_at_once_keeps_their_order_and_raises_in_place():
    import threading
    started = threading.Barrier(3, timeout=10)  # three sources that can only finish if all run at once

    def source(name, count):
        def make():
            started.wait()
            for i in range(count):
                yield f"{name}{i}"
        return make
    sources = [source("a", 5), source("b", 1), source("c", 30)]
    assert list(scan.read_sources(sources, readers=3)) == \
        [f"a{i}" for i in range(5)] + ["b0"] + [f"c{i}" for i in range(30)]
    started = threading.Barrier(3, timeout=0.5)
    with pytest.raises(threading.BrokenBarrierError):  # two readers: the third source never starts beside them
        list(scan.read_sources([source("a", 1), source("b", 1), source("c", 1)], readers=2))
    limit = scan.READ_AHEAD // 2  # readers at once, whatever is asked: the read-ahead stays bounded
    started = threading.Barrier(limit + 1, timeout=0.5)
    with pytest.raises(threading.BrokenBarrierError):
        list(scan.read_sources([source(str(i), 1) for i in range(limit + 1)], readers=100))

    def plain(name, count):
        return lambda: iter([f"{name}{i}" for i in range(count)])

    def broken():
        yield "b0"
        raise OSError("b.gz: cannot read compressed data")
    got = []
    with pytest.raises(OSError, match="b.gz"):
        for item in scan.read_sources([plain("a", 3), broken, plain("c", 3)], readers=3):
            got.append(item)
    assert got == ["a0", "a1", "a2", "b0"]  # c's items, read ahead, never come out before b's error
    closed = []

    def endless(name):
        def make():
            try:
                while True:
                    yield name
            finally:
                closed.append(name)
        return make
    for _ in scan.read_sources([endless("a"), endless("b"), endless("c")], readers=2):
        break  # an early stop closes every reader started (a and b), c was never opened
    assert sorted(closed) == ["a", "b"]


def test_read_sources_runs_a_thread_a_reader_not_a_file_and_hands_small_items_over_in_batches(monkeypatch):
    import queue
    import threading
    names, handed = [], []
    start, put = threading.Thread.start, queue.Queue.put

    def counted_start(thread):
        names.append(thread.name)
        return start(thread)

    def counted_put(q, item, *args, **kwargs):
        handed.append(item)
        return put(q, item, *args, **kwargs)
    monkeypatch.setattr(threading.Thread, "start", counted_start)
    monkeypatch.setattr(queue.Queue, "put", counted_put)

    def small(i):  # a small file's blocks: its text, then the empty block that ends it
        return lambda: iter([(b"w%d " % i, False), (b"", True)])
    expected = [item for i in range(300) for item in small(i)()]
    assert list(scan.read_sources([small(i) for i in range(300)], readers=2, size=scan._block_bytes)) == expected
    assert names.count("w2v-reader") == 2  # not one a file
    assert len(handed) == 2  # each reader's 150 files (600 bytes) in one hand-off, their ends among them
    handed.clear()
    assert list(scan.read_sources([small(i) for i in range(300)], readers=2)) == expected
    assert len(handed) == 3 * 300  # without sizes: every item and every end at once

    def broken():
        yield b"b0", False
        raise OSError("b.gz: cannot read compressed data")
    got = []
    with pytest.raises(OSError, match="b.gz"):
        for item in scan.read_sources([small(0), small(1), broken, small(3)], readers=1, size=scan._block_bytes):
            got.append(item)
    assert got == expected[:4] + [(b"b0", False)]  # the error where b's next item was due, in a batch too
    large = [lambda: iter([(b"x" * scan.READ_BATCH_BYTES, False)] * 3 + [(b"", True)])]
    handed.clear()
    assert len(list(scan.read_sources(large, size=scan._block_bytes))) == 4
    assert [len(batch) for batch in handed] == [1, 1, 1, 2]  # a large block is a hand-off of its own


def test_several_compressed_files_give_the_same_pieces_with_several_readers(tmp_path, monkeypatch):
    monkeypatch.setattr(scan, "PIECE_BYTES", 256)
    rng = np.random.default_rng(1)
    paths = []
    for i in range(5):
        text = "\n".join(" ".join(f"w{x}" for x in rng.integers(0, 50, 40)) for _ in range(30 + i))
        data = text.encode() if i % 2 else (text + "\n").encode()  # some files end without a newline
        paths.append(write(tmp_path / f"part{i}.txt.gz", gzip.compress(data)))
    corpus = Corpus(paths, block_size=64)
    one = [p.tobytes() for p in scan.pieces(corpus, "reading", readers=1)]
    assert len(one) > 5
    for readers in (2, 3, 8):
        assert [p.tobytes() for p in scan.pieces(corpus, "reading", readers=readers)] == one


#: The start of an :func:`_in_own_process` script: ``loaded()`` says how many compiled versions each kernel
#: named in ``names`` has (loaded from the cache or compiled).
_LOADING = ("import sys; from w2v import kernels, scan; from w2v.corpus import Corpus; "
            "loaded = lambda: [len(getattr(kernels, name).signatures) for name in names]; ")


def _in_own_process(code: str, sample_path: str) -> str:
    """The standard output of ``python -c code sample_path``, which must succeed: a process of its own, whose
    kernels no other test has loaded."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", code, sample_path], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("pass_name, kernel, run", [
    ("spool", "count_tokens_ids", "scan.count_and_spool(Corpus([sys.argv[1]]), None, 2)"),
    ("count", "count_tokens_hashed", "scan.count(Corpus([sys.argv[1]]), None, 2)"),
    ("shards", "table_merge_shard", "scan.count_and_spool(Corpus([sys.argv[1]]), None, 2, shards=3)"),
    ("shards", "table_join_shard", "scan.count_and_spool(Corpus([sys.argv[1]]), None, 2, shards=3)"),
    ("shards", "slots_fill_range", "scan.count_and_spool(Corpus([sys.argv[1]]), None, 2, shards=3)"),
    ("shards", "slots_fill_left", "scan.count_and_spool(Corpus([sys.argv[1]]), None, 2, shards=3)"),
    ("pairs", "table_prune", "__import__('w2v.phrases').phrases.count_phrases(Corpus([sys.argv[1]]), 5, threads=2)"),
    ("pairs", "table_slots", "__import__('w2v.phrases').phrases.count_phrases(Corpus([sys.argv[1]]), 5, threads=2)"),
])
def test_a_counting_pass_is_warmed_with_the_kernel_it_uses(sample_path, pass_name, kernel, run):
    """``prepare`` loads (or compiles) the one counting kernel the pass then calls: the passes' pieces are
    writable buffers used again, and warming on read-only bytes made a second one (a second compile of
    several seconds on a first run). In a process of its own, so that no other test's calls count."""
    code = (f"import sys; from w2v import kernels, scan; from w2v.corpus import Corpus; "
            f"scan.prepare({pass_name!r}); before = len(kernels.{kernel}.signatures); {run}; "
            f"print(before, len(kernels.{kernel}.signatures))")
    assert _in_own_process(code, sample_path).split() == ["1", "1"]


def test_the_encoding_pass_loads_its_own_kernels_only(sample_path):
    """``prepare("encode")`` loads the kernels a word table and encoding use, each as encoding then calls it
    (no second compile), and none of a count's (merging, pruning, the vocabulary's), ~15 ms each that
    encoding with a vocabulary never uses. In a process of its own, as above."""
    names = ["count_tokens", "encode_tokens", "count_tokens_hashed", "table_merge", "table_hashes", "table_prune",
             "table_candidates", "table_frequency_order"]
    code = (_LOADING + f"names = {names!r}; scan.prepare('encode'); before = loaded(); "
            f"pieces = list(scan.encode_pieces(Corpus([sys.argv[1]]), ['the', 'of'], 2)); "
            f"print(before, loaded(), sum(len(ids) for ids, _ in pieces) > 0)")
    assert _in_own_process(code, sample_path).strip() == "[1, 1, 0, 0, 0, 0, 0, 0] [1, 1, 0, 0, 0, 0, 0, 0] True"


@pytest.mark.parametrize("shards", [None, 2])
def test_the_lookup_pass_loads_the_kernels_that_look_a_counts_entries_up(sample_path, shards):
    """``prepare("lookup")`` loads the word table's kernel and the look-up of a count's entries in it, each as
    :func:`w2v.scan.entry_ids` then calls it on a spooled count (merged in shards or not): no second compile.
    In a process of its own, as above."""
    names = ["count_tokens", "table_entry_ids", "encode_tokens"]
    code = (_LOADING + f"names = {names!r}; scan.prepare('lookup'); before = loaded(); "
            f"counted, spooled = scan.count_and_spool(Corpus([sys.argv[1]]), None, 2, shards={shards}); "
            f"ids = scan.entry_ids(counted, ['the', 'of']); "
            f"print(before, loaded(), sorted(set(ids.tolist())) == [-1, 0, 1])")
    assert _in_own_process(code, sample_path).strip() == "[1, 1, 0] [1, 1, 0] True"


@pytest.mark.parametrize("run, vocabulary", [
    ("counted = scan.count(Corpus([sys.argv[1]]), None, 2)", "vocabulary_from_count(counted, 1, threads=2)"),
    ("counted, spooled = scan.count_and_spool(Corpus([sys.argv[1]]), None, 2); spooled.close()",
     "vocabulary_and_entry_ids(counted, 1, threads=2)"),
    ("counted = scan.merge([(scan.count(Corpus([sys.argv[1]]), None, 1).compact(), 5, 0)], None)",
     "vocabulary_from_count(counted, 1)"),
])
def test_the_vocabulary_kernels_load_when_a_vocabulary_is_made_not_with_the_count(sample_path, run, vocabulary):
    """A count loads none of the vocabulary's kernels (phrases and a distributed worker's count make no
    vocabulary: some 4 s of compiling on a first run), and making the vocabulary loads each once, as it
    then calls it (no second compile). In a process of its own, as above."""
    names = ["table_candidates", "table_frequency_order", "table_ties_in_order", "table_tokens_joined"]
    code = (_LOADING + f"from w2v.vocab import vocabulary_from_count, vocabulary_and_entry_ids; names = {names!r}; "
            f"{run}; after_count = loaded(); words = {vocabulary}[0]; "
            f"print(after_count, loaded(), len(words) > 100)")
    assert _in_own_process(code, sample_path).strip() == "[0, 0, 0, 0] [1, 1, 1, 1] True"


def test_a_mapped_merge_says_where_each_parts_entries_went_until_it_prunes(tmp_path):
    texts = ["the cat sat on the mat\n", "a dog on the mat the end\n", "zebra cat zebra\n"]
    counts = [scan.count(Corpus([write(tmp_path / f"p{k}.txt", text)]), None, 1) for k, text in enumerate(texts)]
    parts = [(c.compact(), c.total_tokens, c.pruned_below) for c in counts]
    merged, wheres = scan.merge_mapped(parts, None)
    assert [len(where) for where in wheres] == [c.n for c in counts] == [5, 6, 2]
    for part, where in zip(counts, wheres):
        assert [merged.token(int(e)) for e in where] == [part.token(e) for e in range(part.n)]
    assert merged.counts.tolist() == scan.merge(parts, None).counts.tolist()
    pruned, none = scan.merge_mapped(parts, 6)  # 8 tokens after the second part: pruned, entries renumbered
    assert none is None and pruned.pruned_below > 0


def test_a_merge_of_counts_loads_no_counting_kernel(sample_path):
    """``prepare("merge")`` (the command's merge of the workers' counts) loads the merge, not the counting of
    text it never does, and the merge then calls the merge it loaded."""
    code = ("import sys; from w2v import kernels, scan; from w2v.corpus import Corpus; "
            "part = scan.count(Corpus([sys.argv[1]]), None, 1).compact(); "
            "kernels.count_tokens_hashed = None; scan._prepared.clear(); "  # the merge must not count text
            "scan.prepare('merge'); merges = len(kernels.table_merge_map.signatures); "
            "merged = scan.merge([(part, 7, 0)], None); "
            "print(merges, len(kernels.table_merge_map.signatures), merged.n == len(part[1]))")
    assert _in_own_process(code, sample_path).strip() == "1 1 True"



@pytest.mark.parametrize("run", ["scan.count(Corpus([sys.argv[1]]), {limit}, 2)",
                                 "scan.count_and_spool(Corpus([sys.argv[1]]), {limit}, 2)[0]",
                                 "scan.count_and_spool(Corpus([sys.argv[1]]), {limit}, 2, shards=2)[0]"])
def test_pruning_loads_only_when_a_count_prunes(sample_path, run):
    """Only a count past its limit prunes: ``table_prune`` is not loaded with the pass (0.3-0.4 s of compiling
    on a first run), but at the first prune, and once. In a process of its own, as above."""
    names = ["table_prune"]
    code = (_LOADING + f"names = {names!r}; whole = {run.format(limit=None)}; unpruned = loaded(); "
            f"pruned = {run.format(limit=300)}; print(unpruned, loaded(), whole.pruned_below, pruned.pruned_below)")
    unpruned, after, whole, pruned = _in_own_process(code, sample_path).split()
    assert (unpruned, after, whole) == ("[0]", "[1]", "0") and int(pruned) > 0

def _count_of(counted):
    """A count's tokens (bytes, valid UTF-8 or not) and counts, whatever its entries' order."""
    return sorted(zip(map(counted.token, range(counted.n)), counted.counts.tolist()))


@pytest.mark.parametrize("shards, threads, in_memory", [(2, 1, True), (3, 2, False), (5, 3, True), (4, 4, False)])
def test_a_count_merged_in_shards_is_the_count_and_the_encoding_of_one_table(tmp_path, monkeypatch, shards, threads,
                                                                             in_memory):
    """Shards (w2v.scan._ShardedCount) give the same tokens, counts and encoded corpus as one table, and
    their joined table finds every token at its own entry (the slots filled range by range are sound)."""
    from w2v import encode, kernels
    from w2v.vocab import vocabulary_and_entry_ids
    monkeypatch.setattr(scan, "PIECE_BYTES", 256)  # many pieces
    monkeypatch.setattr(encode, "_REMAP_CHUNK", 37)
    rng = np.random.default_rng(shards)
    words = [f"w{i}" for i in range(400)] + ["caf\xe9", "x" * 40]
    lines = [" ".join(rng.choice(words, int(rng.integers(0, 30)))) for _ in range(300)]
    path = write(tmp_path / "in.txt", ("\n".join(lines) + "\n caf\xe9 bad\xff\xfe tokens\n").encode("latin-1"))
    results = []
    for n_shards in (1, shards):
        counted, spooled = scan.count_and_spool(Corpus([path], block_size=64), None, threads,
                                                None if in_memory else str(tmp_path), shards=n_shards)
        assert (spooled.entry_of is None) == (n_shards == 1)
        vocab, _, word_ids = vocabulary_and_entry_ids(counted, min_count=2)
        encoded = encode.encode_spooled(spooled, word_ids, max_sentence_length=11, threads=threads)
        results.append((_count_of(counted), counted.total_tokens, vocab.words, vocab.counts.tolist(),
                        encoded.chunk(0, encoded.n_sentences)[0].tolist(), encoded.offsets.tolist()))
        encoded.close()
        arena, entries = counted.table[kernels.TABLE_ARENA], counted.table[kernels.TABLE_ENTRIES]
        starts, lengths = kernels.entry_places(entries[:counted.n, 0])
        found = [kernels.table_lookup(counted.table, arena[s:s + k].copy()) for s, k in zip(starts, lengths)]
        assert found == list(range(counted.n))
    assert results[0] == results[1]
    assert len(results[0][0]) > 400 and "caf\ufffd" in results[0][2]


def test_a_count_in_shards_is_pruned_as_one_table_is(tmp_path, monkeypatch):
    """Pruning applies the rule to every shard at the same piece boundaries, on the shards' total: the same
    tokens, counts and bound as one table, and the spool dropped."""
    rng = np.random.default_rng(3)
    text = "\n".join(" ".join(f"r{x}" for x in rng.zipf(1.3, 300) % 5000) + " common" * 20 for _ in range(200))
    path = write(tmp_path / "z.txt", text)
    monkeypatch.setattr(scan, "PIECE_BYTES", 4096)
    results = []
    for shards in (1, 2, 3, 7):
        counted, spooled = scan.count_and_spool(Corpus([path], block_size=512), 300, 2, shards=shards)
        assert spooled is None
        results.append((_count_of(counted), counted.pruned_below, counted.total_tokens))
        counted = scan.count(Corpus([path], block_size=512), 300, 3, shards=shards)  # the count without a spool
        results.append((_count_of(counted), counted.pruned_below, counted.total_tokens))
    assert all(result == results[0] for result in results[1:])
    assert results[0][1] >= 1 and len(results[0][0]) <= 300
    assert dict(results[0][0])[b"common"] == 4000


def test_slots_filled_range_by_range_find_every_entry():
    """Ranges of one slot array filled apart (w2v.kernels.slots_fill_range) leave out the entries whose probe
    would cross into the next range, or wrap around the end, and those are then put in the first free slot
    from their home (slots_fill_left): every entry is found by a look-up's probe, none twice."""
    from w2v import kernels
    rng = np.random.default_rng(5)
    homes = np.r_[np.full(12, 250), np.full(9, 1019), np.full(5, 511), rng.integers(0, 1024, 300)]
    hashes = (rng.integers(1, 1 << 31, len(homes)).astype(np.uint64) << np.uint64(32)) | homes.astype(np.uint64)
    slots = np.zeros(1024, np.uint64)
    bounds = [0, 256, 512, 768, 1024]
    left = [kernels.slots_fill_range(slots, hashes, len(hashes), lo, hi) for lo, hi in zip(bounds, bounds[1:])]
    assert sum(n for _, n in left) >= 3  # the clusters at 250, 511 and 1019 spill over
    for rest, n_rest in left:
        kernels.slots_fill_left(slots, hashes, rest, n_rest)
    held = slots[slots != 0] & np.uint64(0xFFFFFFFF)
    assert sorted(held.tolist()) == list(range(1, len(hashes) + 1))
    for e, h in enumerate(hashes):
        s = int(h) & 1023
        while int(slots[s]) & 0xFFFFFFFF != e + 1:
            assert slots[s] != 0, e  # an empty slot before the entry: a look-up would miss it
            s = (s + 1) & 1023
        assert int(slots[s]) >> 32 == int(h) >> 32


def test_the_count_is_merged_in_shards_from_four_threads(tmp_path):
    path = write(tmp_path / "in.txt", "a b c a\n")
    assert [scan.merge_shards(t) for t in (1, 2, 3, 4, 16)] == [1, 1, 1, 4, 16]
    assert scan.count_and_spool(Corpus([path]), None, 2)[1].entry_of is None
    counted, spooled = scan.count_and_spool(Corpus([path]), None, 4)
    assert spooled.entry_of is not None and _count_of(counted) == [(b"a", 2), (b"b", 1), (b"c", 1)]
    for shards in (0, -1):
        with pytest.raises(ValueError, match="shards must be at least 1"):
            scan.count_and_spool(Corpus([path]), None, 2, shards=shards)
        with pytest.raises(ValueError, match="shards must be at least 1"):
            scan.count(Corpus([path]), None, 2, shards=shards)
