import os
import numpy as np
import pytest

from conftest import write
import w2v
from w2v import MissingWordsError, Vectors
from w2v.evaluate import evaluate_analogies, evaluate_pairs, pearson, spearman


def toy():
    """Vectors built so the answers are known: gender along axis 0, royalty along axis 1."""
    words = ["man", "woman", "king", "queen", "apple", "pear", "Man", "banana"]
    m = np.array([
        [1, 0, 0, 0.1], [-1, 0, 0, 0.1], [1, 1, 0, 0.1], [-1, 1, 0, 0.1],
        [0, 0, 1, 0], [0, 0.1, 1, 0.1], [1, 0.05, 0, 0.12], [0.05, 0, 1, 0.05],
    ], dtype=np.float32)
    shared = np.full((len(words), 1), 1.5, dtype=np.float32)  # real embeddings share a common direction
    return Vectors(words, np.hstack([m, shared]))


def test_lookup_similarity_and_missing_words():
    v = toy()
    np.testing.assert_array_equal(v.vector("king"), np.array([1, 1, 0, 0.1, 1.5], dtype=np.float32))
    assert v.similarity("apple", "apple") == pytest.approx(1.0)
    assert v.similarity("apple", "man") == pytest.approx(2.25 / np.sqrt(3.26 * 3.25))
    with pytest.raises(MissingWordsError) as info:
        v.most_similar(["king", "kaiser", "zar"])
    assert info.value.words == ["kaiser", "zar"]
    assert "'kaiser', 'zar'" in str(info.value)
    assert isinstance(info.value, KeyError)


def test_the_first_look_ups_search_the_words_and_later_ones_build_the_index(tmp_path):
    from w2v.vectors import SCANS
    path = str(tmp_path / "v.npz")
    toy().save(path)
    v = Vectors.load(path, mmap=True)
    first = v.most_similar("king", topn=3)
    assert "man" in v and "kaiser" not in v
    with pytest.raises(MissingWordsError):
        v.vector("kaiser")
    assert v._index is None  # a query about a few words never builds a dict of every word
    for _ in range(SCANS):
        v.vector("pear")
    assert v._index is not None
    assert v.most_similar("king", topn=3) == first and "man" in v and "kaiser" not in v
    assert v.index == {w: i for i, w in enumerate(v.words)}
    assert Vectors.load(path).indices(["Man", "man", "banana"]) == [6, 0, 7]  # the exact word, case and all


def test_a_repeated_word_is_refused_naming_it():
    with pytest.raises(ValueError, match="the word 'b' is listed twice"):
        Vectors(["a", "b", "c", "b"], np.eye(4, dtype=np.float32))


def test_neighbours_exclude_the_query_and_respect_restrict_vocab():
    v = toy()
    top = v.most_similar("apple", topn=3)
    assert top[0][0] in ("banana", "pear") and "apple" not in [w for w, _ in top]
    assert v.most_similar("apple", topn=1, restrict_vocab=6)[0][0] == "pear"
    assert len(v.most_similar("apple", topn=100)) == len(v) - 1


@pytest.mark.parametrize("method", ["add", "mul"])
def test_analogy_both_methods(method):
    v = toy()
    assert v.analogy("man", "king", "woman", method=method)[0][0] == "queen"
    assert v.analogy("king", "man", "queen", method=method)[0][0] == "woman"


def test_3cosmul_formula():
    v = toy()
    u = v.unit
    a, b, c = v.index["man"], v.index["king"], v.index["woman"]
    q = v.index["queen"]
    cos = lambda i, j: (u[i] @ u[j] + 1) / 2  # noqa: E731
    expected = cos(q, b) * cos(q, c) / (cos(q, a) + 1e-3)
    assert v.analogy("man", "king", "woman", method="mul")[0][1] == pytest.approx(expected, rel=1e-5)


def test_doesnt_match():
    assert toy().doesnt_match(["apple", "pear", "banana", "king"]) == "king"


def test_bad_arguments():
    v = toy()
    with pytest.raises(ValueError, match="method"):
        v.analogy("man", "king", "woman", method="sub")
    with pytest.raises(ValueError, match="topn"):
        v.most_similar("man", topn=0)


ANALOGIES = """# a comment
: family
man woman king queen
MAN KING WOMAN QUEEN
man woman king emperor
: gram-fruit
apple pear apple pear
"""


def test_evaluate_analogies_sections_case_and_oov(tmp_path):
    path = write(tmp_path / "q.txt", ANALOGIES)
    r = evaluate_analogies(toy(), path, restrict_vocab=None)
    family, fruit = r.sections
    assert (family.correct, family.answered, family.skipped) == (2, 2, 1)  # 'emperor' unknown; case ignored
    assert (fruit.answered, fruit.correct) == (1, 0)  # the answer is a question word, never allowed
    assert r.semantic.accuracy == 1.0 and r.syntactic.accuracy == 0.0
    assert r.total.accuracy == pytest.approx(2 / 3) and r.coverage == pytest.approx(3 / 4)
    sensitive = evaluate_analogies(toy(), path, restrict_vocab=None, case_insensitive=False)
    assert sensitive.sections[0].skipped == 2
    restricted = evaluate_analogies(toy(), path, restrict_vocab=3)
    assert restricted.total.answered == 0


def test_case_variants_of_question_words_are_never_answers(tmp_path):
    # 'Man' (a variant of the question word 'man') is the nearest to king - woman + man, but may not answer
    path = write(tmp_path / "q.txt", ": x\nwoman man queen king\n")
    assert evaluate_analogies(toy(), path, restrict_vocab=None).total.correct == 1


def test_bad_analogy_files(tmp_path):
    with pytest.raises(ValueError, match=r"q.txt, line 2: expected 4 words"):
        evaluate_analogies(toy(), write(tmp_path / "q.txt", ": s\na b c\n"))
    with pytest.raises(ValueError, match="before the first"):
        evaluate_analogies(toy(), write(tmp_path / "q.txt", "a b c d\n"))
    with pytest.raises(ValueError, match="no analogy questions"):
        evaluate_analogies(toy(), write(tmp_path / "q.txt", "# nothing\n"))


def test_evaluate_pairs(tmp_path):
    path = write(tmp_path / "p.tsv", "# comment\nword1\tword2\tscore\nman\tMan\t9\nking\tqueen\t7\n"
                                     "apple\tman\t1\npear\tapple\t8\napple\tkiwi\t5\n")
    v = toy()
    r = evaluate_pairs(v, path)
    assert r.pairs == 4 and r.oov == 1 and r.oov_ratio == pytest.approx(20.0)
    model = [v.similarity(a, b) for a, b in [("man", "man"), ("king", "queen"), ("apple", "man"), ("pear", "apple")]]
    assert r.spearman == pytest.approx(spearman([9, 7, 1, 8], model))
    with pytest.raises(ValueError, match=r"p.tsv, line 3: the score 'high' \(column 3\) is not a number"):
        evaluate_pairs(v, write(tmp_path / "p.tsv", "a\tb\t1\nc\td\t2\ne\tf\thigh\n"))


@pytest.mark.parametrize("text", [
    # SimLex-999's own file: a part-of-speech column before the score, and more columns after it
    "word1\tword2\tPOS\tSimLex999\tconc(w1)\nold\tnew\tA\t1.58\t2.72\nsmart\tclever\tA\t9.2\t1.75\n",
    "old\tnew\tA\t1.58\tANTONYMS\nsmart\tclever\tA\t9.2\tSYNONYMS\n",  # SimVerb-3500's layout
    "old,new,1.58\nsmart,clever,9.2\n",  # MTurk-771: comma-separated
    "old new 1.58\nsmart clever 9.2\n",  # MEN's natural form: spaces
])
def test_word_pair_sets_in_their_own_layouts(tmp_path, text):
    from w2v.evaluate import read_pairs
    assert read_pairs(write(tmp_path / "set.txt", text)) == [("old", "new", 1.58), ("smart", "clever", 9.2)]


def test_the_score_column_is_chosen_once_and_held_to(tmp_path):
    from w2v.evaluate import read_pairs
    for text, message in [("a\tb\tA\t1\nc\td\tN\tx\n", r"line 2: the score 'x' \(column 4\)"),
                          ("a\tb\tA\t1\nc\td\t2\n", "line 2: 3 fields, no score in column 4"),
                          ("h1\th2\th3\na\tb\tA\n", "line 2: no score"),  # a header, then no number
                          ]:
        with pytest.raises(ValueError, match=message):
            read_pairs(write(tmp_path / "p.tsv", text))


def test_rank_correlations_match_the_definitions():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ties share their average rank: ranks of [1, 2, 2, 3] are [1, 2.5, 2.5, 4]
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(pearson([1, 2.5, 2.5, 4], [1, 2, 3, 4]))


def test_loading_does_not_import_numba(tmp_path):
    import subprocess
    import sys
    path = str(tmp_path / "v.bin")
    toy().save(path)
    code = ("import sys, w2v; from w2v.evaluate import evaluate_pairs; v = w2v.load(%r); v.most_similar('man');"
            "assert 'numba' not in sys.modules, 'numba imported'" % path)
    subprocess.run([sys.executable, "-c", code], check=True)


# -- equal to gensim's numbers --------------------------------------------------------
gensim_models = pytest.importorskip("gensim.models")


def test_evaluation_equals_gensims(tmp_path, sample_path):
    import planted
    vectors = w2v.train(sample_path, dim=20, epochs=1, threads=1, seed=3).vectors
    path = str(tmp_path / "v.bin")
    vectors.save(path)
    kv = gensim_models.KeyedVectors.load_word2vec_format(path, binary=True)
    questions = planted.write_questions(str(tmp_path / "q.txt"))
    with open(questions, "a") as f:
        f.write(": extra\nKing Queen Man Woman\nking queen man unknownword\n")
    for restrict in (30000, 200):
        ours = evaluate_analogies(vectors, questions, restrict_vocab=restrict)
        total, sections = kv.evaluate_word_analogies(questions, restrict_vocab=restrict, case_insensitive=True)
        assert ours.total.accuracy == pytest.approx(total)
        theirs = {s["section"]: s for s in sections}
        for s in ours.sections:
            assert s.correct == len(theirs[s.name]["correct"]) and s.answered == s.correct + len(theirs[s.name]["incorrect"])
    pairs = write(tmp_path / "p.tsv", "# c\n" + "".join(f"{a}\t{b}\t{i % 7}\n" for i, (a, b) in enumerate(
        [("king", "queen"), ("man", "woman"), ("paris", "france"), ("cat", "dogs"), ("walk", "eat"),
         ("rome", "italy"), ("zzz", "king"), ("boy", "girl"), ("sing", "sang")])))
    r = evaluate_pairs(vectors, pairs)
    pearson_g, spearman_g, oov_g = kv.evaluate_word_pairs(pairs)
    assert r.spearman == pytest.approx(spearman_g.statistic if hasattr(spearman_g, "statistic") else spearman_g[0])
    assert r.pearson == pytest.approx(pearson_g[0], rel=1e-5)
    assert r.oov_ratio == pytest.approx(oov_g)


# -- vectors at scale: memory maps, stored norms, cosines a block at a time ---------------------
def test_memory_mapped_vectors_answer_exactly_as_loaded_ones(tmp_path, monkeypatch):
    from w2v import vectors as vectors_module
    monkeypatch.setattr(vectors_module, "_BLOCK", 7)  # many blocks
    rng = np.random.default_rng(4)
    words = [f"w{i}" for i in range(100)]
    path = str(tmp_path / "v.npz")
    Vectors(words, rng.standard_normal((100, 12)).astype(np.float32)).save(path)
    mapped, loaded = Vectors.load(path, mmap=True), Vectors.load(path)
    assert isinstance(mapped.matrix, np.memmap) and not isinstance(loaded.matrix, np.memmap)
    assert isinstance(w2v.load(path, mmap=True).matrix, np.memmap)  # the package's load maps too
    assert not isinstance(w2v.load(path).matrix, np.memmap)
    for v in (mapped, loaded):
        assert v.norms.dtype == np.float64
    assert mapped.most_similar("w3", topn=5) == loaded.most_similar("w3", topn=5)
    assert mapped.analogy("w1", "w2", "w3", topn=3) == loaded.analogy("w1", "w2", "w3", topn=3)
    assert mapped.analogy("w1", "w2", "w3", method="mul") == loaded.analogy("w1", "w2", "w3", method="mul")
    np.testing.assert_allclose(loaded.cosines(loaded.unit_rows([3]))[0], loaded.unit @ loaded.unit[3], atol=1e-6)


def test_native_files_without_stored_norms_still_load(tmp_path):
    path = str(tmp_path / "old.npz")
    np.savez(path, format=np.frombuffer(b"w2v-native", np.uint8), version=np.array([1]),
             vectors=np.array([[3, 4], [1, 0]], np.float32), words=np.frombuffer(b"a\nb", np.uint8),
             meta=np.frombuffer(b"{}", np.uint8))
    v = Vectors.load(path, mmap=True)
    assert v.norms.tolist() == [5.0, 1.0] and v.similarity("a", "b") == pytest.approx(0.6)


def test_cosines_of_huge_values_fall_back_to_float64():
    v = Vectors(["a", "b", "c"], np.array([[1e20, 1e20], [1e20, -1e20], [1, 1]], np.float32))
    scores = v.cosines(v.unit_rows([2]))[0]
    assert np.isfinite(scores).all()
    np.testing.assert_allclose(scores, [1, 0, 1], atol=1e-6)


def _file_backed_rss_kib():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("RssFile:"))


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads RssFile from /proc")
def test_a_query_over_a_mapped_matrix_does_not_keep_it_resident(tmp_path):
    rows, dim = 100_000, 256  # 100 MB
    path = str(tmp_path / "big.npz")
    Vectors([f"w{i}" for i in range(rows)], np.random.default_rng(1).standard_normal((rows, dim), np.float32)).save(path)
    mapped = Vectors.load(path, mmap=True)
    before = _file_backed_rss_kib()
    assert mapped.most_similar("w1", topn=3)[0][0] != "w1"
    grown = _file_backed_rss_kib() - before
    assert grown < rows * dim * 4 / 1024 / 4, grown  # well under the matrix: blocks are let go as they are used


def test_row_norms_sum_in_float64_whatever_the_block():
    # squares of 1e30 overflow float32; summed in float64 the lengths are finite and exact to rounding
    from w2v.formats import row_norms
    rng = np.random.default_rng(4)
    matrix = rng.standard_normal((1000, 30)).astype(np.float32)
    matrix[3] *= np.float32(1e30)
    matrix[8] = 0
    expected = np.sqrt((matrix.astype(np.float64) ** 2).sum(axis=1))
    for block in (1, 7, 1000, 1 << 14):
        got = row_norms(matrix, block)
        assert got.dtype == np.float64 and np.all(np.isfinite(got)) and got[8] == 0
        np.testing.assert_allclose(got, expected, rtol=1e-12)
