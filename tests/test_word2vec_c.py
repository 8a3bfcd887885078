"""word2vec.c's own tools and w2v's files, both ways: the ``word2vec`` package of the test extra builds them
(``word2vec``, ``word2phrase``, ``word2vec-distance``, ``word2vec-compute-accuracy`` beside the Python running
the tests). The tools copy file names into fixed buffers (60 bytes in word2phrase.c, 100 in word2vec.c) without
checking, so they run in the test's folder on short relative names (:func:`run_tool`)."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import planted
import w2v
from conftest import slurp
from w2v.corpus import Corpus
from w2v.evaluate import evaluate_analogies
from w2v.formats import read_vectors
from w2v.vocab import Vocabulary, build_vocabulary

TOOLS = os.path.dirname(sys.executable)


def tool(name):
    path = os.path.join(TOOLS, name)
    if not os.access(path, os.X_OK):
        pytest.skip(f"{name}: word2vec.c's tools are not installed (pip install '.[test]' installs them)")
    return path


def run_tool(name, args, folder, **kwargs):
    """word2vec.c's ``name`` with ``args`` in ``folder`` (file names relative to it); its output."""
    return subprocess.run([tool(name)] + [str(a) for a in args], cwd=folder, capture_output=True, timeout=120,
                          check=True, **kwargs).stdout


def short_sample(folder, sample_path):
    """The sample corpus as ``s.txt`` in ``folder`` (a link)."""
    os.symlink(sample_path, os.path.join(folder, "s.txt"))
    return "s.txt"


@pytest.fixture(scope="module")
def ours(tmp_path_factory, sample_path):
    """w2v's vectors of the sample corpus as a word2vec binary file ``v.bin``: (its folder, Vectors)."""
    folder = tmp_path_factory.mktemp("c")
    vectors = w2v.train(sample_path, dim=4, epochs=1, threads=1, seed=3).vectors
    vectors.save(str(folder / "v.bin"))
    return folder, vectors


def test_word2vec_c_distance_reads_our_binary_as_we_do(ours):
    folder, vectors = ours
    out = run_tool("word2vec-distance", ["v.bin"], folder, input="king\nking queen\nEXIT\n", text=True)
    answers = [re.findall(r"^\s*(\S+)\t\t([-0-9.]+)$", part, re.M) for part in out.split("Enter word")[1:3]]
    for query, theirs in zip((["king"], ["king", "queen"]), answers):
        expected = vectors.most_similar(query, topn=10)
        assert [w for w, _ in theirs[:10]] == [w for w, _ in expected]
        np.testing.assert_allclose([float(c) for _, c in theirs[:10]], [c for _, c in expected], atol=2e-6)


@pytest.mark.parametrize("threshold", [30000, 300])
def test_word2vec_c_compute_accuracy_scores_our_binary_as_we_do(ours, tmp_path, threshold):
    # vectors of dimension 4: wrong answers too, so the counts say something; 300 leaves some sections out
    folder, vectors = ours
    questions = planted.write_questions(str(tmp_path / "q.txt"))
    with open(questions) as f:
        out = run_tool("word2vec-compute-accuracy", ["v.bin", threshold], folder, stdin=f, text=True)
    correct = [int(c) for c in re.findall(r"ACCURACY TOP1: \S+ %\s+\((\d+) / \d+\)", out)]
    seen = int(re.search(r"Questions seen / total: (\d+) ", out).group(1))
    result = evaluate_analogies(vectors, questions, restrict_vocab=threshold)
    assert correct == [s.correct for s in result.sections] and sum(correct) > 0
    assert seen == result.total.answered < (564 if threshold == 300 else 565)
    assert 0 < result.total.correct < result.total.answered


def test_we_read_word2vec_cs_files_and_it_reads_our_vocabulary(tmp_path, sample_path):
    common = ["-train", short_sample(tmp_path, sample_path), "-size", 8, "-iter", 1, "-threads", 1, "-min-count", 5]
    run_tool("word2vec", common + ["-output", "c.bin", "-binary", 1, "-save-vocab", "c.vocab"], tmp_path)
    run_tool("word2vec", common + ["-output", "c.txt", "-binary", 0], tmp_path)
    vocab = str(tmp_path / "c.vocab")
    from_binary, from_text = read_vectors(str(tmp_path / "c.bin")), read_vectors(str(tmp_path / "c.txt"))
    assert from_binary.words == from_text.words and from_binary.words[0] == "</s>"
    np.testing.assert_allclose(from_binary.vectors, from_text.vectors, atol=1e-6)  # (text: six decimals)
    counted = Vocabulary.load(vocab)  # word2vec.c's "</s>" (its line ends) is one of its words; ties in word order
    assert sorted(counted.words) == sorted(from_binary.words)
    ours, _ = build_vocabulary(Corpus([sample_path]), min_count=5)
    theirs = dict(zip(counted.words, counted.counts.tolist()))
    assert theirs.pop("</s>") == 40000 and theirs == dict(zip(ours.words, ours.counts.tolist()))
    # our vocabulary file as word2vec.c's -read-vocab: its first entry is word2vec.c's sentence end (</s> 0),
    # so our most frequent word is trained, not taken for the end of every sentence it is in (untrained then:
    # its vector keeps its random start, about a tenth of a trained one's length)
    ours.save(str(tmp_path / "ours.vocab"))
    run_tool("word2vec", common + ["-read-vocab", "ours.vocab", "-output", "r.txt", "-binary", 0], tmp_path)
    got = read_vectors(str(tmp_path / "r.txt"))
    assert got.words[:2] == ["</s>", "bebe"]
    lengths = np.linalg.norm(got.vectors, axis=1)
    assert lengths[1] > 0.5 * np.median(lengths[1:]) and lengths[0] < 0.3 * np.median(lengths[1:])


def test_our_phrases_are_word2phrases(tmp_path, sample_path):
    # the same joins, token for token, on the sample as one line: word2phrase.c counts, for the second word of
    # each line, the pair with the line before's last word instead of the line's first pair (its first word skips
    # the copy to last_word), which w2v does not copy (it counts the pairs within lines); on one line the two
    # counts agree. word2phrase.c writes a space before each word, the first of a line too
    with open(sample_path) as f, open(tmp_path / "one.txt", "w") as one:
        one.write(" ".join(line.strip() for line in f) + "\n")
    run_tool("word2phrase", ["-train", "one.txt", "-output", "c.txt", "-threshold", 10, "-min-count", 5], tmp_path)
    result = subprocess.run([sys.executable, "-m", "w2v", "phrases", str(tmp_path / "one.txt"), "-o",
                             str(tmp_path / "w.txt"), "--threshold", "10", "--min-count", "5", "-q"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    expected = slurp(tmp_path / "c.txt")
    assert slurp(tmp_path / "w.txt") == expected[1:] and expected.count("_") > 20000
