import numpy as np
import pytest

from conftest import slurp, write
from w2v import words as words_module
from w2v.corpus import Corpus
from w2v.vocab import HuffmanTree, Vocabulary, build_vocabulary


def corpus_of(tmp_path, text, **kw):
    return Corpus([write(tmp_path / "c.txt", text)], **kw)


def test_counts_min_count_and_deterministic_order(tmp_path):
    vocab, counted = build_vocabulary(corpus_of(tmp_path, "b a c a b a d\nc b\n"), min_count=2)
    assert vocab.words == ["a", "b", "c"]  # a 3, b 3, c 2: ties broken by the word
    assert vocab.counts.tolist() == [3, 3, 2]
    assert counted.total_tokens == 9
    assert vocab.index["c"] == 2


def test_max_size_caps_the_vocabulary(tmp_path):
    vocab, _ = build_vocabulary(corpus_of(tmp_path, "a a a b b c"), min_count=1, max_size=2)
    assert vocab.words == ["a", "b"]


def test_no_surviving_word_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"no word occurs at least 5 times \(the most frequent occurs once\)"):
        build_vocabulary(corpus_of(tmp_path, "a b c"), min_count=5)
    with pytest.raises(ValueError, match=r"at least 1,000 times \(the most frequent occurs 3 times\)"):
        build_vocabulary(corpus_of(tmp_path, "a b a c a"), min_count=1000)
    with pytest.raises(ValueError, match="corpus is empty"):
        build_vocabulary(corpus_of(tmp_path, "  \n\n"), min_count=1)


def test_pruning_bounds_distinct_tokens_and_keeps_frequent_words(tmp_path, monkeypatch):
    from w2v import scan
    monkeypatch.setattr(scan, "PIECE_BYTES", 1024)  # pruning is checked between pieces
    rare = " ".join(f"r{i}" for i in range(5000))
    text = ("common " * 50 + rare + "\n") * 2
    vocab, counted = build_vocabulary(Corpus([write(tmp_path / "p.txt", text)], block_size=1024), min_count=1,
                                      prune_at=100)
    assert vocab.counts[vocab.index["common"]] == 100
    assert counted.distinct <= 100  # pruned as it went, down to the limit
    assert counted.pruned_below >= 1


def test_invalid_utf8_is_replaced_and_counted(tmp_path):
    path = write(tmp_path / "bad.txt", b"caf\xe9 caf\xe9 ok\n")
    vocab, counted = build_vocabulary(Corpus([path]), min_count=1)
    assert dict(zip(vocab.words, vocab.counts.tolist())) == {"caf\ufffd": 2, "ok": 1}
    assert counted.invalid_bytes == 2


def test_tokens_that_read_the_same_after_replacement_are_one_word(tmp_path):
    # two invalid spellings and the valid "caf\ufffd" itself all read as caf\ufffd: 2 + 2 + 1 occurrences
    text = b"caf\xe9 caf\xe9 caf\xff caf\xff caf\xef\xbf\xbd \xc3\xbcber \xc3\xbcber ok\n"
    vocab, _ = build_vocabulary(Corpus([write(tmp_path / "bad.txt", text)]), min_count=1)
    assert dict(zip(vocab.words, vocab.counts.tolist())) == {"caf\ufffd": 5, "\u00fcber": 2, "ok": 1}
    vocab, summary = build_vocabulary(Corpus([write(tmp_path / "bad.txt", text)]), min_count=2)
    assert vocab.words == ["caf\ufffd", "\u00fcber"] and vocab.counts.tolist() == [5, 2]
    assert (summary.distinct, summary.invalid_bytes, summary.total_tokens) == (3, 4, 8)
    # the merged word is the most frequent (3) though each spelling alone is not (2 and 1)
    with pytest.raises(ValueError, match=r"the most frequent occurs 3 times"):
        build_vocabulary(Corpus([write(tmp_path / "bad.txt", b"caf\xe9 caf\xe9 caf\xef\xbf\xbd ok ok\n")]),
                         min_count=9)
    # a token too long to be a word, in an invalid and a valid spelling: one token too long, not two
    long = b"x" * 10_001
    text = long + b"\xff " + long + "\ufffd".encode("utf-8") + b" ok\n"
    _, summary = build_vocabulary(Corpus([write(tmp_path / "long.txt", text)]), min_count=1)
    assert (summary.distinct, summary.too_long) == (2, 1)


def test_vocabulary_file_round_trip_and_errors(tmp_path, monkeypatch):
    vocab = Vocabulary(["the", "über", "a"], [10, 7, 7])
    path = str(tmp_path / "v.txt")
    vocab.save(path)
    assert slurp(path, encoding="utf-8") == "</s> 0\nthe 10\nüber 7\na 7\n"
    again = Vocabulary.load(path)
    assert again.words == ["the", "a", "über"] and again.counts.tolist() == [10, 7, 7]
    from w2v import vocab as vocab_module
    for block in (1, 2):  # written a block of lines at a time: the last block shorter, or as long
        monkeypatch.setattr(vocab_module, "_SAVE_BLOCK", block)
        vocab.save(path, force=True)
        assert slurp(path, encoding="utf-8") == "</s> 0\nthe 10\nüber 7\na 7\n"
    for text, message in [("the x\n", "line 1: count 'x' is not an integer"),
                          ("a 1\nb\n", "line 2: expected 'word count'"),
                          ("a 1\na 2\n", "line 2: 'a' is listed twice"),
                          ("", "empty")]:
        bad = write(tmp_path / "bad.txt", text)
        with pytest.raises(ValueError, match=message):
            Vocabulary.load(bad)


def test_a_vocabulary_file_starts_with_word2vec_cs_sentence_end_which_reading_drops(tmp_path):
    # word2vec.c takes a vocabulary file's first entry for the end of a sentence: ours list </s> first (count 0)
    path = str(tmp_path / "v.txt")
    Vocabulary(["the", "a"], [10, 7]).save(path)
    assert slurp(path).splitlines()[0] == "</s> 0"
    assert Vocabulary.load(path).words == ["the", "a"]
    # a text that held the token </s>: it is a word, listed first with its count, once
    Vocabulary(["the", "</s>", "a"], [10, 8, 7]).save(path, force=True)
    assert slurp(path) == "</s> 8\nthe 10\na 7\n"
    again = Vocabulary.load(path)
    assert again.words == ["the", "</s>", "a"] and again.counts.tolist() == [10, 8, 7]


def test_a_vocabulary_file_of_word2vec_c_reads_words_that_are_not_utf8_as_counting_does(tmp_path):
    # word2vec.c's -save-vocab writes a corpus's bytes: Latin-1 words, two reading alike once replaced, and the
    # replaced text itself (valid UTF-8) too: one word, their counts added, as a count merges such tokens
    path = write(tmp_path / "v.txt", b"the 10\ncaf\xe9 4\ncaf\xff 3\nx 6\ncaf\xef\xbf\xbd 2\n")
    vocab = Vocabulary.load(path)
    assert vocab.words == ["the", "caf\ufffd", "x"] and vocab.counts.tolist() == [10, 9, 6]
    assert vocab.not_utf8 == 2 and Vocabulary.load(write(tmp_path / "ok.txt", "a 1\n")).not_utf8 == 0
    with pytest.raises(ValueError, match="line 3: 'b' is listed twice"):  # a valid word listed twice still is
        Vocabulary.load(write(tmp_path / "twice.txt", b"b\xe9 1\nb 2\nb 3\n"))
    with pytest.raises(ValueError, match="line 2: the counts of 'b\ufffd' add up to more than 8"):
        words_module.read_word_integer_arrays(write(tmp_path / "big.txt", b"b\xe9 5\nb\xff 5\n"), "count", 0, 8,
                                              add_not_utf8=True)
    with pytest.raises(ValueError, match="line 2: the word is not valid UTF-8"):  # class files: refused
        words_module.read_word_integers(path, "class", 0, 100)


@pytest.mark.parametrize("seed", range(6))
def test_a_word_integer_file_read_at_once_is_the_line_loops_reading(tmp_path, monkeypatch, seed):
    """The usual file (``word integer`` lines) is read by NumPy at once; every other layout and every problem
    goes to the line loop, so the words, the integers and each error (with its line) are the loop's."""
    from w2v import words as words_module
    rng = np.random.default_rng(seed)
    pool = ["the", "über", "中文", "a" * 12, "w1", "w2", "x\u00a0y", "\u2028", "zz"] + [f"r{i}" for i in range(300)]
    odd_lines = [b"\n", b"a\tb 1\n", b"c 1\r\n", b"d +2\n", b"e -1\n", b"f 1_0\n", b"g 12345678901234567\n",
                 None, b"\xff 1\n", b"i  1\n", b"j 1 2\n", b"k\n", b"x" * 10_001 + b" 1\n", b" 1\n", b"l \n"]
    for case in range(40):
        words = list(rng.permutation(pool)[:rng.integers(1, 60)])
        lines = [f"{w} {int(rng.integers(0, 10 ** int(rng.integers(1, 17)))):0{int(rng.integers(1, 4))}}\n".encode()
                 for w in words]  # leading zeros sometimes: still the usual file
        if case % 2:  # one layout or problem the at-once reader leaves to the loop (None: a word listed twice)
            odd = odd_lines[case // 2 % len(odd_lines)]
            lines.insert(int(rng.integers(0, len(lines) + 1)), lines[0] if odd is None else odd)
        data = b"".join(lines)
        if case % 5 == 0:
            data = data[:-1]  # no newline after the last line
        path = str(tmp_path / "f.txt")
        with open(path, "wb") as f:
            f.write(data)
        try:
            expected, _ = words_module._read_lines(path, "count", 0, 1 << 53, False)
        except ValueError as error:
            with pytest.raises(ValueError) as got:
                words_module.read_word_integer_arrays(path, "count", 0, 1 << 53)
            assert str(got.value) == str(error)
            continue
        loop_calls = []
        original = words_module._read_lines
        monkeypatch.setattr(words_module, "_read_lines", lambda *a: (loop_calls.append(1), original(*a))[1])
        got_words, got_values, not_utf8 = words_module.read_word_integer_arrays(path, "count", 0, 1 << 53)
        assert not_utf8 == 0
        monkeypatch.setattr(words_module, "_read_lines", original)
        assert got_words == list(expected) and got_values.tolist() == list(expected.values())
        assert got_values.dtype == np.int64
        assert bool(loop_calls) == (case % 2 == 1), case  # the usual files never reach the loop
    # a value above the bound is the loop's error; a word listed twice too
    for text, message in [("a 5\nb 9\n", "line 2: the count 9 is larger than 8"), ("a 1\nb 2\na 3\n", "line 3")]:
        path = write(tmp_path / "g.txt", text)
        with pytest.raises(ValueError, match=message):
            words_module.read_word_integer_arrays(path, "count", 0, 8)


def test_many_ties_of_a_selected_vocabulary_are_put_in_order_by_the_kernel(monkeypatch):
    from w2v import vocab as vocab_module
    rng = np.random.default_rng(2)
    words = list({"prefix__" + "".join(rng.choice(list("ab\u00e9\u4e2d"), rng.integers(0, 5))) for _ in range(3000)})
    words += ["short", "prefix_", "prefix__"]
    words = list(dict.fromkeys(words))
    counts = rng.choice([1, 2, 3], len(words)).astype(np.int64)
    expected = sorted(range(len(words)), key=lambda i: (-counts[i], words[i]))
    for in_python in (0, 10 ** 9):  # every set of ties to the kernel, then to Python
        monkeypatch.setattr(vocab_module, "_TIES_IN_PYTHON", in_python)
        got_words, got_counts = vocab_module._select(words, counts, 2, None, 3)
        kept = [i for i in expected if counts[i] >= 2]
        assert got_words == [words[i] for i in kept] and got_counts == [int(counts[i]) for i in kept]
    vocab = Vocabulary.from_counts(dict(zip(words, counts.tolist())), min_count=1, max_size=5)
    assert vocab.words == [words[i] for i in expected[:5]]
    # words that differ in their first 8 bytes, shorter and longer than 8 (a byte below the newline among them)
    varied = list({"".join(rng.choice(list("\x01Aaz\u00e9\u4e2d"), rng.integers(1, 11))) for _ in range(3000)})
    counts = rng.choice([1, 2], len(varied)).astype(np.int64)
    got_words, got_counts = vocab_module._select(varied, counts, 1, None, 2)
    assert got_words == sorted(varied, key=lambda w: (-counts[varied.index(w)], w))


def test_ties_are_ordered_by_the_words_code_points_whatever_the_text_order(tmp_path):
    # first seen in the reverse of the final order; "Z" < "a" < "é" < "中" by code point
    text = "中 中 é é a a Z Z zz zz zz b\n"
    vocab, _ = build_vocabulary(corpus_of(tmp_path, text), min_count=2)
    assert vocab.words == ["zz", "Z", "a", "é", "中"] and vocab.counts.tolist() == [3, 2, 2, 2, 2]
    top, _ = build_vocabulary(corpus_of(tmp_path, text), min_count=2, max_size=3)
    assert top.words == ["zz", "Z", "a"]


def test_counted_order_is_the_order_of_count_then_word_and_entries_get_their_ids(tmp_path):
    # many ties that share their first 8 bytes or more (resolved by the whole token), a word that is
    # the prefix of another, non-ASCII past byte 8, and tokens that are not UTF-8 merged into a word
    from w2v import scan
    from w2v.vocab import vocabulary_and_entry_ids
    rng = np.random.default_rng(3)
    stems = ["internationa", "abcdefgh", "abcdefg", "zz", "é" * 5, "中文中文"]
    words = sorted({stem + tail for stem in stems for tail in ["", "l", "ly", "lé", "x", "中", "a" * 9]})
    tokens = [w for w in words for _ in range(int(rng.integers(1, 5)))]
    rng.shuffle(tokens)
    text = " ".join(tokens).encode("utf-8") + b" caf\xe9 caf\xe9 " + "caf\ufffd".encode("utf-8")
    counted = scan.count(Corpus([write(tmp_path / "t.txt", text)], block_size=64), None, 2)
    vocab, _, ids = vocabulary_and_entry_ids(counted, min_count=2)
    counts = {w: tokens.count(w) for w in words}
    counts["caf\ufffd"] = 3
    expected = sorted((w for w, c in counts.items() if c >= 2), key=lambda w: (-counts[w], w))
    assert vocab.words == expected and vocab.counts.tolist() == [counts[w] for w in expected]
    for entry in range(counted.n):
        word = counted.token(entry).decode("utf-8", "replace")
        assert ids[entry] == vocab.index.get(word, -1), word
    top, _, top_ids = vocabulary_and_entry_ids(counted, min_count=2, max_size=5)
    assert top.words == expected[:5] and sorted(top_ids[top_ids >= 0].tolist()) == [0, 1, 2, 3, 4]


def test_frequency_order_kernel_sorts_by_count_then_key_keeping_full_ties_in_place(tmp_path):
    # counts that differ only in a high byte (or in every byte), many equal keys, and rows equal in both
    from w2v import kernels
    from w2v.scan import count
    rng = np.random.default_rng(5)
    n = 6000
    counts = rng.choice([1, 255, 256, 65_536, 2**40 + 3, 2**62], n) + rng.integers(0, 2, n)
    keys = rng.choice(rng.integers(0, 2**64 - 1, 40, dtype=np.uint64, endpoint=True), n)
    empty = kernels.table_new(16)
    order, got_counts, got_keys = kernels.table_frequency_order(empty, np.zeros(0, np.int64), counts, keys)
    assert order.tolist() == np.lexsort((keys, -counts)).tolist()
    assert got_counts.tolist() == counts[order].tolist() and got_keys.tolist() == keys[order].tolist()
    same = np.full(5, 7, np.int64)
    assert kernels.table_frequency_order(empty, np.zeros(0, np.int64), same, same.astype(np.uint64))[0].tolist() \
        == [0, 1, 2, 3, 4]
    assert [len(a) for a in kernels.table_frequency_order(empty, np.zeros(0, np.int64), counts[:0], keys[:0])] \
        == [0, 0, 0]
    # a count's entries get their tokens' first 8 bytes as keys, big-endian, zeros after a short token
    counted = count(Corpus([write(tmp_path / "t.txt", "abcdefghij b b ab ab\n")]), None)
    entries = np.arange(counted.n, dtype=np.int64)
    order, got_counts, got_keys = kernels.table_frequency_order(counted.table, entries, counted.counts.copy(),
                                                                np.zeros(0, np.uint64))
    assert [counted.token(e) for e in entries[order]] == [b"ab", b"b", b"abcdefghij"]
    assert got_keys.tolist() == [int.from_bytes(counted.token(e)[:8].ljust(8, b"\0"), "big") for e in entries[order]]
    assert got_counts.tolist() == [2, 2, 1]


@pytest.mark.parametrize("seed", range(3))
def test_ties_of_count_and_key_are_put_in_order_by_whole_tokens_in_compiled_code(seed):
    """Rows of equal count whose first 8 bytes are equal are put in byte order by a kernel: runs of up to 16
    rows by insertion, longer ones by merge sort; tokens that are prefixes of others, hold NUL or high bytes,
    and rows given as bytes beside the table's (a count's merged invalid tokens)."""
    from w2v import kernels
    rng = np.random.default_rng(seed)
    heads = [b"abcdefgh", b"\xe2\x82\xacabcde", b"ab\x00", b"zz"]
    tokens = set()
    while len(tokens) < 2500:
        tail = bytes(rng.choice([0, 1, 49, 50, 128, 255], rng.integers(0, 6)).astype(np.uint8))
        tokens.add(heads[rng.integers(len(heads))] + tail)
    tokens = sorted(tokens, key=lambda t: rng.random())
    in_table, extra = tokens[:2200], tokens[2200:]
    table, n, _, _ = kernels.count_tokens(np.frombuffer(b" ".join(in_table), np.uint8).copy(), kernels.table_new(16),
                                          0, 0)
    assert n == len(in_table)
    wanted = rng.permutation(n).astype(np.int64)[:2000]  # not every entry, not in entry order
    rows = [in_table[e] for e in wanted.tolist()] + extra
    counts = rng.choice([3, 7] if seed else [5], len(rows)).astype(np.int64)  # seed 0: one count, runs of hundreds
    extra_keys = np.array([int.from_bytes(t[:8].ljust(8, b"\0"), "big") for t in extra], dtype=np.uint64)
    order, ordered_counts, ordered_keys = kernels.table_frequency_order(table, wanted, counts, extra_keys)
    starts = np.cumsum([0] + [len(t) for t in extra], dtype=np.int64)
    blob = np.frombuffer(b"".join(extra) + b"\0", np.uint8).copy()
    got = kernels.table_ties_in_order(table, wanted, order.copy(), ordered_counts, ordered_keys, blob, starts)
    expected = sorted(range(len(rows)), key=lambda r: (-counts[r], rows[r]))
    assert got.tolist() == expected
    # runs of every length up to past the insertion sort's 16, alone
    for m in (1, 2, 16, 17, 40):
        same = np.full(m, 1, np.int64)
        short_keys = np.full(m, ordered_keys[0], np.uint64)
        shuffled = rng.permutation(m).astype(np.int64)
        got = kernels.table_ties_in_order(table, wanted[:m], shuffled, same, short_keys, np.zeros(1, np.uint8),
                                          np.zeros(1, np.int64))
        assert [rows[r] for r in got.tolist()] == sorted(rows[:m]), m
        # the same key in two counts: two runs, each put in order alone
        two = np.where(np.arange(m) < m // 2, 2, 1).astype(np.int64)
        shuffled = rng.permutation(m).astype(np.int64)
        half = [rows[r] for r in shuffled.tolist()]
        got = kernels.table_ties_in_order(table, wanted[:m], shuffled, two, short_keys, np.zeros(1, np.uint8),
                                          np.zeros(1, np.int64))
        assert [rows[r] for r in got.tolist()] == sorted(half[:m // 2]) + sorted(half[m // 2:]), m


def test_a_counts_words_are_gathered_in_shares_on_threads_in_order(tmp_path, monkeypatch):
    """The words of a count are gathered a share at a time, the shares on ``threads`` threads (the first made
    last): the same words in the same order whatever the threads, for the vocabulary and any entries."""
    import threading

    from conftest import slow_first
    from w2v import kernels, scan
    from w2v.vocab import vocabulary_and_entry_ids
    rng = np.random.default_rng(3)
    tokens = [f"t{i}é" * (1 + i % 3) for i in range(200)]
    text = " ".join(rng.choice(tokens, 3000).tolist()) + "\n"
    counted = scan.count(corpus_of(tmp_path, text), None)
    entries = rng.permutation(counted.n).astype(np.int64)
    expected = [counted.token(e).decode("utf-8") for e in entries.tolist()]
    monkeypatch.setattr(scan, "WORDS_SHARE", 7)
    original = kernels.table_tokens_joined
    vocabularies = []
    for threads in (1, 3):
        calls, makers = [], set()
        monkeypatch.setattr(kernels, "table_tokens_joined", slow_first(original, calls, lambda a: len(a[1]), makers))
        assert counted.words(entries, threads) == expected
        assert sorted(calls) == sorted([7] * (counted.n // 7) + [counted.n % 7] * (counted.n % 7 > 0))
        assert makers == {threading.get_ident()} if threads == 1 else len(makers) >= 2
        calls.clear()
        makers.clear()
        vocabularies.append(vocabulary_and_entry_ids(counted, 1, threads=threads))
        assert makers == {threading.get_ident()} if threads == 1 else len(makers) >= 2
    (first, _, first_ids), (second, _, second_ids) = vocabularies
    assert first.words == second.words and first_ids.tolist() == second_ids.tolist()
    assert first.words == sorted(first.words, key=lambda w: (-text.split().count(w), w))
    assert counted.words(entries[:0], 3) == []


def test_ties_are_put_in_order_in_parts_on_threads_cut_between_runs(tmp_path, monkeypatch):
    """The ties of a large vocabulary are put in order by parts of the order on threads, each part cut where a
    run of ties ends: the same vocabulary and ids as on one thread, with runs of every length, one run only,
    and no ties."""
    import threading

    from conftest import slow_first
    from w2v import kernels, scan, vocab as vocab_module
    from w2v.vocab import vocabulary_and_entry_ids
    rng = np.random.default_rng(8)
    monkeypatch.setattr(vocab_module, "_TIES_SHARED_FROM", 1)
    original = kernels.table_ties_in_order
    texts = {"runs": [f"prefix{rng.integers(4)}{i}" for i in range(600) for _ in range(1 + i % 3)],
             "one run": [f"abcdefgh{i}" for i in range(50)],
             "no ties": [f"{i:08d}" for i in range(50)]}
    for name, tokens in texts.items():
        counted = scan.count(corpus_of(tmp_path, " ".join(rng.permutation(tokens).tolist()) + "\n"), None)
        results = []
        for threads in (1, 3):
            calls, makers = [], set()
            spy = slow_first(original, calls, lambda a: len(a[2]), makers)
            monkeypatch.setattr(kernels, "table_ties_in_order", spy)
            vocab, _, ids = vocabulary_and_entry_ids(counted, 1, threads=threads)
            results.append((vocab.words, vocab.counts.tolist(), ids.tolist()))
            assert sum(calls) == counted.n  # every row in one part, once
            if threads == 1:
                assert makers == {threading.get_ident()} and len(calls) == 1
            elif name == "one run":  # no cut to be made
                assert len(calls) == 1
            else:
                assert len(calls) == 3 and len(makers) >= 2
        assert results[0] == results[1], name
        words, counts, _ = results[0]
        assert words == sorted(words, key=lambda w: (-tokens.count(w), w.encode("utf-8")))
        assert counts == [tokens.count(w) for w in words]


def test_a_repeated_word_is_refused_and_a_counted_vocabulary_indexes_its_words(tmp_path):
    with pytest.raises(ValueError, match="repeated word"):
        Vocabulary(["a", "b", "a"], [3, 2, 1])
    vocab, _ = build_vocabulary(corpus_of(tmp_path, "b a b c c c\n"), min_count=1)
    assert vocab.words == ["c", "b", "a"] and vocab.index == {"c": 0, "b": 1, "a": 2} and "b" in vocab


def test_keep_probabilities_follow_word2vec_c():
    vocab = Vocabulary(["a", "b", "c"], [990_000, 9_000, 1_000])
    t = 1e-3
    keep = vocab.keep_probabilities(t)
    f = vocab.counts / vocab.counts.sum()
    expected = np.minimum(1, np.sqrt(t / f) + t / f)
    np.testing.assert_allclose(keep, expected, rtol=1e-6)
    assert keep[0] < keep[1] < keep[2] == 1.0
    assert (vocab.keep_probabilities(0) == 1).all()


def test_alias_sampler_matches_the_noise_distribution():
    counts = np.array([5000, 1200, 800, 300, 90, 40, 10, 5])
    vocab = Vocabulary([f"w{i}" for i in range(len(counts))], counts)
    p = vocab.noise_distribution(0.75)
    np.testing.assert_allclose(p, counts ** 0.75 / (counts ** 0.75).sum())
    prob, alias = vocab.noise_alias(0.75)
    rng = np.random.default_rng(7)
    n = 400_000
    i = rng.integers(0, len(counts), n)
    u = rng.random(n)
    draws = np.where(u < prob[i], i, alias[i])
    observed = np.bincount(draws, minlength=len(counts))
    expected = p * n
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert chi2 < 24.3  # chi-square, 7 degrees of freedom, p = 0.001


@pytest.mark.parametrize("counts", [[5, 3], [10, 10, 10, 10], [100, 50, 20, 20, 9, 3, 2, 1, 1, 1],
                                    list(range(300, 0, -1))])
def test_huffman_codes_are_prefix_free_complete_and_ordered(counts):
    tree = HuffmanTree.build(np.array(counts))
    codes = ["".join(map(str, tree.codes[w, :tree.lengths[w]])) for w in range(len(counts))]
    assert all(codes)
    assert sum(2.0 ** -len(c) for c in codes) == pytest.approx(1.0)  # Kraft's equality: a full tree
    for a in codes:
        for b in codes:
            assert a == b or not b.startswith(a)
    lengths = tree.lengths
    assert all(lengths[i] <= lengths[j] for i in range(len(counts)) for j in range(len(counts))
               if counts[i] > counts[j])
    assert (tree.points[:, 0] == len(counts) - 2).all()  # the root is inner node V-2, as in word2vec.c
    assert tree.points.max() <= len(counts) - 2


def _alias_written_out(p):
    """Vose's alias method as w2v.vocab.alias_table states it, on Python floats."""
    n = len(p)
    scaled = (p * n).tolist()
    prob, alias = [1.0] * n, list(range(n))
    small = [i for i, x in enumerate(scaled) if x < 1.0]
    large = [i for i, x in enumerate(scaled) if x >= 1.0]
    while small and large:
        s, big = small.pop(), large.pop()
        prob[s], alias[s] = scaled[s], big
        scaled[big] = scaled[big] + scaled[s] - 1.0
        (small if scaled[big] < 1.0 else large).append(big)
    return np.array(prob, np.float64).astype(np.float32), np.array(alias, np.int32)


def _huffman_written_out(counts, v):
    """word2vec.c's CreateBinaryTree as w2v.vocab.huffman_merge and huffman_paths state it, a node at a time."""
    leaves = len(counts)
    count = list(counts) + [2 ** 62] * leaves
    parent, binary = [0] * (2 * leaves), [0] * (2 * leaves)
    pos1, pos2 = leaves - 1, leaves
    for a in range(leaves - 1):
        picks = []
        for _ in range(2):
            if pos1 >= 0 and count[pos1] < count[pos2]:
                picks.append(pos1)
                pos1 -= 1
            else:
                picks.append(pos2)
                pos2 += 1
        count[leaves + a] = count[picks[0]] + count[picks[1]]
        parent[picks[0]] = parent[picks[1]] = leaves + a
        binary[picks[1]] = 1
    paths = []
    for w in range(v):
        code, point, node = [], [], w
        while node != 2 * leaves - 2:
            code.append(binary[node])
            node = parent[node]
            point.append(node - leaves)
        paths.append((code[::-1], point[::-1]))
    return paths


@pytest.mark.parametrize("seed", range(4))
def test_the_compiled_alias_table_and_huffman_tree_are_the_loops_written_out(seed):
    """The alias table and the Huffman tree are made by kernels (a loop a word in Python took seconds for a
    million words); they must be exactly the tables of the loops their docstrings state: ties of count and
    of probability, one word, two, counts far apart."""
    from w2v.vocab import alias_table, huffman_merge, huffman_paths
    rng = np.random.default_rng(seed)
    v = [2, 3, 17, 3000][seed]
    counts = np.sort(rng.choice([1, 1, 2, 5, 5, 40, 10 ** 6, 10 ** 12], v))[::-1].copy()
    for p in (counts ** 0.75 / (counts ** 0.75).sum(), np.full(v, 1 / v), rng.dirichlet(np.ones(v) * 0.1)):
        prob, alias = alias_table(p)
        expected_prob, expected_alias = _alias_written_out(p)
        assert prob.dtype == np.float32 and alias.dtype == np.int32
        assert prob.tobytes() == expected_prob.tobytes() and alias.tolist() == expected_alias.tolist()
    one = alias_table(np.ones(1))
    assert one[0].tolist() == [1.0] and one[1].tolist() == [0]
    tree = HuffmanTree.build(counts)
    paths = _huffman_written_out(counts.tolist(), v)
    assert tree.codes.shape == tree.points.shape == (v, max(len(c) for c, _ in paths))
    assert tree.codes.dtype == np.uint8 and tree.points.dtype == np.int32 and tree.lengths.dtype == np.int32
    for w, (code, point) in enumerate(paths):
        n = len(code)
        assert tree.lengths[w] == n
        assert tree.codes[w, :n].tolist() == code and tree.points[w, :n].tolist() == point
        assert not tree.codes[w, n:].any() and not tree.points[w, n:].any()
    # the leaves asked for may be fewer than the tree's (benchmarks/systems.py's tree has one more leaf)
    codes, points, lengths = huffman_paths(*huffman_merge(counts), v - 1)
    assert codes.shape[0] == v - 1 and lengths.tolist() == [len(c) for c, _ in paths[:v - 1]]


def test_huffman_needs_two_words():
    with pytest.raises(ValueError, match="at least 2 words"):
        HuffmanTree.build(np.array([3]))
