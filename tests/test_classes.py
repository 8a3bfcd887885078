"""Word classes (k-means): planted clusters recovered, seeded runs identical, bad options, the file."""
import numpy as np
import pytest
from click.testing import CliRunner

from conftest import invoke_apart, slurp, write
from w2v import Vectors
from w2v.classes import kmeans, read_classes, write_classes
from w2v.cli import cli


def planted(k=8, per=60, dim=16, spread=0.05, seed=0):
    """k clusters of ``per`` words around random directions; the words' true classes. With these
    defaults k-means recovered the clusters exactly for 50 of 50 (planted seeds 0-4 x k-means seeds
    1-10); with spread 0.08 in 32 dimensions, 41 of 50 (k-means can stop in a local optimum)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    truth = np.repeat(np.arange(k), per)
    matrix = (centres[truth] + spread * rng.standard_normal((k * per, dim))) * rng.uniform(0.5, 3, (k * per, 1))
    order = rng.permutation(k * per)
    return Vectors([f"w{i}" for i in range(k * per)], matrix[order].astype(np.float32)), truth[order]


def same_partition(a, b):
    """Whether two labelings group the words identically (whatever the class numbers)."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_planted_clusters_are_recovered(monkeypatch):
    from w2v import classes
    monkeypatch.setattr(classes, "_BLOCK", 50)  # many blocks
    vectors, truth = planted()
    for seed in range(1, 6):
        labels, centroids, passes = kmeans(vectors, 8, seed=seed)
        assert same_partition(labels, truth), seed
        np.testing.assert_allclose(np.linalg.norm(centroids, axis=1), 1, atol=1e-5)
        assert passes < 10  # it stopped because nothing moved


def test_seeded_runs_are_identical_and_seeds_differ():
    vectors, _ = planted(k=5, spread=0.9)  # overlapping clusters: the start matters
    a, ca, _ = kmeans(vectors, 5, seed=3)
    b, cb, _ = kmeans(vectors, 5, seed=3)
    assert np.array_equal(a, b) and np.array_equal(ca, cb)
    assert any(not np.array_equal(kmeans(vectors, 5, seed=s)[1], ca) for s in (4, 5, 6))


def test_progress_shows_the_passes_and_changes_nothing(capsys, monkeypatch):
    from w2v import progress
    monkeypatch.setattr(progress, "LOG_INTERVAL", 0.0)  # a line a pass
    vectors, _ = planted(k=5, spread=0.9)
    quiet = kmeans(vectors, 5, seed=3)
    assert capsys.readouterr().err == ""
    shown = kmeans(vectors, 5, seed=3, progress=True)
    assert all(np.array_equal(a, b) for a, b in zip(quiet[:2], shown[:2])) and quiet[2] == shown[2]
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("k-means:   0%") and len(lines) == 1 + shown[2], lines
    assert lines[-1].split("|")[2].strip().startswith(f"{shown[2]}/10") and " moved]" in lines[-1]


def test_bad_k_and_iterations():
    vectors, _ = planted(k=2, per=5)
    for k in (0, 11, -1):
        with pytest.raises(ValueError, match="k must be between 1 and the number of words"):
            kmeans(vectors, k)
    with pytest.raises(ValueError, match="iterations"):
        kmeans(vectors, 2, iterations=0)
    assert len(set(kmeans(vectors, 10)[0].tolist())) <= 10


def test_the_classes_file_sorts_by_class_and_reads_back(tmp_path):
    path = str(tmp_path / "c.txt")
    write_classes(path, ["a", "b", "c", "d"], np.array([1, 0, 1, 0], np.int32))
    assert slurp(path) == "b 0\nd 0\na 1\nc 1\n"
    assert read_classes(path) == {"a": 1, "b": 0, "c": 1, "d": 0}
    bad = write(tmp_path / "bad.txt", "a 1\nb\n")
    with pytest.raises(ValueError, match="bad.txt, line 2"):
        read_classes(bad)


def test_the_command(tmp_path):
    vectors, truth = planted()
    path = str(tmp_path / "v.bin")
    vectors.save(path)
    out = tmp_path / "classes.txt"
    result = invoke_apart("classes", path, "-k", "8", "-o", out, "--seed", "2")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("k-means:   0%")
    quiet = invoke_apart("classes", path, "-k", "8", "-o", out, "--seed", "2", "-q")
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.output
    got = read_classes(str(out))
    assert same_partition(np.array([got[w] for w in vectors.words]), truth)
    for args, code, message in ((["-k", "0"], 2, "-k"), (["-k", "481"], 2, "481 classes for 480 words"),
                                (["-k", "3", "--iterations", "0"], 2, "--iterations")):
        result = CliRunner().invoke(cli, ["classes", path, "-o", str(tmp_path / "x.txt")] + args)
        assert result.exit_code == code and message in result.output, result.output
        assert not (tmp_path / "x.txt").exists()
    result = CliRunner().invoke(cli, ["classes", path, "-k", "3", "-o", path])
    assert result.exit_code == 1 and "is the same file as the input" in result.output


def test_train_writes_the_classes_of_the_vectors_it_trained(tmp_path, sample_path):
    common = ["-q", "--threads", "1", "--seed", "3", "--dim", "8", "--epochs", "1"]
    out, classes = str(tmp_path / "v.bin"), str(tmp_path / "c.txt")
    result = CliRunner().invoke(cli, ["train", sample_path, "-o", out, "--classes", "7", "--classes-output", classes]
                                + common)
    assert result.exit_code == 0, result.output
    vectors = Vectors.load(out)
    got = read_classes(classes)
    assert sorted(got) == sorted(vectors.words) and set(got.values()) == set(range(7))
    labels = kmeans(vectors, 7, seed=3)[0]  # the seed of the run
    assert [got[w] for w in vectors.words] == labels.tolist()
    for args, code, message in ((["--classes", "7"], 2, "go together"),
                                (["--classes-output", classes], 2, "go together"),
                                (["--classes", "100000", "--classes-output", str(tmp_path / "x.txt")], 1,
                                 "100,000 classes for"),
                                (["--classes", "0", "--classes-output", str(tmp_path / "x.txt")], 2, "--classes")):
        result = CliRunner().invoke(cli, ["train", sample_path, "-o", str(tmp_path / "y.bin")] + args + common)
        assert result.exit_code == code and message in result.output, result.output
        assert not (tmp_path / "y.bin").exists() and not (tmp_path / "x.txt").exists()
