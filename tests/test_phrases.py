"""Phrases (word2phrase): the score by hand, the greedy joins against a plain-Python reference, passes."""
from collections import Counter

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import slurp, write
from w2v import scan
from w2v.cli import cli
from w2v.corpus import Corpus
from w2v.phrases import count_phrases, write_phrases


def reference(text: str, min_count: int, threshold: float, npmi: bool = False, delimiter: str = "_") -> str:
    """word2phrase's rule on whole lines (module docstring of w2v.phrases), in plain Python."""
    lines = [line.split() for line in text.split("\n")]
    if lines and not lines[-1]:
        lines.pop()
    uni, pairs = Counter(), Counter()
    for tokens in lines:
        uni.update(tokens)
        pairs.update(zip(tokens, tokens[1:]))
    total = sum(uni.values())
    out = []
    for tokens in lines:
        words, previous = [], None
        for token in tokens:
            joined = False
            if previous is not None and uni[previous] >= min_count and uni[token] >= min_count:
                pab = pairs[(previous, token)]
                if pab >= min_count:
                    if npmi:
                        p = pab / total
                        score = np.log(p / (uni[previous] / total * uni[token] / total)) / -np.log(p)
                    else:
                        f = np.float32
                        score = float(f(f(f(pab - min_count) / f(uni[previous])) / f(uni[token])) * f(total))
                    joined = score > threshold
            if joined:
                words[-1] += delimiter + token
                previous = None
            else:
                words.append(token)
                previous = token
        out.append(" ".join(words))
    return "".join(line + "\n" for line in out)


def phrased(tmp_path, text, threads=1, block_size=1 << 20, **options):
    path = write(tmp_path / "in.txt", text)
    out = str(tmp_path / "out.txt")
    counts = count_phrases(Corpus([path], block_size=block_size), options.get("min_count", 5), threads=threads,
                           threshold=options.get("threshold", 100.0), scoring=options.get("scoring", "word2phrase"))
    write_phrases(Corpus([path], block_size=block_size), counts, out, threads=threads, **options)
    return slurp(out)


def test_the_score_by_hand_and_the_threshold_boundary(tmp_path):
    # 10 lines "a b": a 10, b 10, pair 10, 20 words: score (10 - 5) / 10 / 10 * 20 = 1.0
    text = "a b\n" * 10
    assert phrased(tmp_path, text, min_count=5, threshold=0.99) == "a_b\n" * 10
    assert phrased(tmp_path, text, min_count=5, threshold=1.0) == text  # above, not at, the threshold
    assert phrased(tmp_path, text, min_count=10, threshold=0.0) == text  # the discount: (10 - 10) = 0
    assert phrased(tmp_path, text, min_count=11, threshold=0.0) == text  # rarer than min_count: never


def test_joins_never_cross_a_line_and_a_joined_word_does_not_join_again(tmp_path):
    text = "x y\n" * 20 + "y x\n" * 3 + "x\ny\n" * 20
    out = phrased(tmp_path, text, min_count=1, threshold=0.0)
    assert "x_y\n" in out and "y_x" in out and "x\ny\n" in out
    assert phrased(tmp_path, "a a a a\n" * 10, min_count=1, threshold=0.0) == "a_a a_a\n" * 10


def test_two_passes_make_a_trigram(tmp_path):
    path = write(tmp_path / "in.txt", "new york times\n" * 30 + "new york\n" * 5 + "york times\n" * 2)
    out = tmp_path / "out.txt"
    result = CliRunner().invoke(cli, ["phrases", path, "-o", str(out), "--passes", "2", "--min-count", "2",
                                      "--threshold", "0.5", "-q"])
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[0] == "new_york_times"


@pytest.mark.parametrize("threads,piece_bytes", [(1, None), (2, 64), (3, 100)])
@pytest.mark.parametrize("npmi", [False, True])
def test_joins_equal_the_reference_whatever_the_pieces(tmp_path, monkeypatch, threads, piece_bytes, npmi):
    monkeypatch.setattr(scan, "PIECE_BYTES", piece_bytes or scan.PIECE_BYTES)  # pieces of a block or two
    rng = np.random.default_rng(7)
    vocabulary = [f"w{i}" for i in range(40)]
    lines = []
    for _ in range(300):
        words = list(rng.choice(vocabulary, int(rng.integers(0, 12))))
        if rng.random() < 0.5:  # planted pairs
            words[int(rng.integers(0, len(words) + 1)):0] = ["new", "york"]
        lines.append(" ".join(words))
    text = "\n".join(lines) + "\n"
    threshold = 0.3 if npmi else 5.0
    expected = reference(text, 3, threshold, npmi)
    assert "new_york" in expected
    assert phrased(tmp_path, text, threads, piece_bytes or 1 << 20, min_count=3, threshold=threshold,
                   scoring="npmi" if npmi else "word2phrase") == expected


@pytest.mark.parametrize("args,message", [
    (["--scoring", "npmi", "--threshold", "2"], "in [-1, 1]"),
    (["--threshold", "-5"], "at least 0"),
    (["--delimiter", " "], "delimiter"),
    (["--passes", "2", "--threshold", "1", "--threshold", "2", "--threshold", "3"], "3 thresholds for 2 passes"),
    (["--min-count", "0"], "--min-count"),
])
def test_bad_options_are_one_line(tmp_path, args, message):
    path = write(tmp_path / "in.txt", "a b\n" * 10)
    result = CliRunner().invoke(cli, ["phrases", path, "-o", str(tmp_path / "out.txt"), "-q"] + args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out.txt").exists()


def test_the_output_is_never_the_input_and_stdin_is_saved_first(tmp_path, sample_path):
    path = write(tmp_path / "in.txt", "a b\n" * 10)
    result = CliRunner().invoke(cli, ["phrases", path, "-o", path])
    assert result.exit_code == 1 and "is the same file as the input" in result.output
    text = slurp(sample_path)
    outputs = {}
    for name, source, given in (("file", sample_path, None), ("stdin", "-", text)):
        outputs[name] = str(tmp_path / f"{name}.txt")
        result = CliRunner().invoke(cli, ["phrases", source, "-o", outputs[name], "--threshold", "30", "-q"],
                                    input=given)
        assert result.exit_code == 0, result.output
    assert slurp(outputs["stdin"]) == slurp(outputs["file"]) and "_" in slurp(outputs["file"])
    common = ["-q", "--threads", "1", "--seed", "3", "--dim", "8", "--epochs", "1", "--phrases", "1",
              "--phrase-threshold", "30", "--cache-dir", str(tmp_path)]  # where standard input is saved
    for name, source, given in (("file", sample_path, None), ("stdin", "-", text)):
        outputs[name] = str(tmp_path / f"{name}.bin")
        result = CliRunner().invoke(cli, ["train", source, "-o", outputs[name]] + common, input=given)
        assert result.exit_code == 0, result.output
    assert slurp(outputs["stdin"], "rb") == slurp(outputs["file"], "rb")
    assert not list(tmp_path.glob("w2v-*"))  # the saved standard input and the spool are gone


def test_a_pair_that_straddles_two_pieces_is_counted(tmp_path, monkeypatch):
    path = write(tmp_path / "in.txt", "aaaa bbbb\n" * 3)
    cut = [b"aaaa ", b"bbbb\naaaa", b" bbbb", b"\n", b"aaaa bbbb\n"]  # pairs cut before and after the space
    monkeypatch.setattr(scan, "pieces", lambda corpus, desc, readers=1, spare=None: (np.frombuffer(p, np.uint8) for p in cut))
    for threads in (1, 2):
        counts = count_phrases(Corpus([path]), min_count=1, threads=threads)
        assert counts.pair_count("aaaa", "bbbb") == 3 and counts.total_words == 6
        assert counts.pair_count("bbbb", "aaaa") == 0  # never across a newline
    out = str(tmp_path / "out.txt")
    write_phrases(Corpus([path]), counts, out, min_count=1, threshold=0.0)
    assert slurp(out) == "aaaa_bbbb\n" * 3


@pytest.mark.parametrize("scoring,threshold", [("word2phrase", 5.0), ("npmi", 0.3)])
def test_a_saved_table_applied_again_gives_the_same_text(tmp_path, scoring, threshold):
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(30)] + ["new", "york", "times"]
    text = "\n".join(" ".join(rng.choice(words, int(rng.integers(1, 15)))) + " new york times"
                     for _ in range(200)) + "\n"
    path = write(tmp_path / "in.txt", text)
    first, again, table = (str(tmp_path / name) for name in ("first.txt", "again.txt", "table.tsv"))
    common = ["-q", "--min-count", "3", "--threshold", str(threshold), "--scoring", scoring]
    result = CliRunner().invoke(cli, ["phrases", path, "-o", first, "--save-table", table] + common)
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in slurp(table).splitlines()]
    assert rows and all(len(r) == 3 and len(r[0].split(" ")) == 2 for r in rows)
    scores = [float(r[1]) for r in rows]
    assert scores == sorted(scores, reverse=True) and min(scores) > threshold
    assert ["new york"] == [r[0] for r in rows if r[0].startswith("new ")]
    result = CliRunner().invoke(cli, ["phrases", path, "-o", again, "--phrase-table", table, "-q"])
    assert result.exit_code == 0, result.output
    assert slurp(again) == slurp(first) == reference(text, 3, threshold, scoring == "npmi")


def test_a_table_of_two_passes_gives_the_text_of_the_two_passes(tmp_path):
    text = "new york times\n" * 30 + "new york\n" * 5 + "york times\n" * 2 + "the times of new york\n" * 3
    path = write(tmp_path / "in.txt", text)
    first, again, table = (str(tmp_path / name) for name in ("first.txt", "again.txt", "table.tsv"))
    result = CliRunner().invoke(cli, ["phrases", path, "-o", first, "--passes", "2", "--min-count", "2",
                                      "--threshold", "0.5", "--save-table", table, "-q"])
    assert result.exit_code == 0, result.output
    assert slurp(first).splitlines()[0] == "new_york_times"
    lines = slurp(table).splitlines()
    assert lines.count("# pass 2") == 1
    second = lines[lines.index("# pass 2") + 1:]
    assert [r.split("\t")[0] for r in second if r.startswith("new_york ")] == ["new_york times"]
    result = CliRunner().invoke(cli, ["phrases", path, "-o", again, "--phrase-table", table, "-q"])
    assert result.exit_code == 0, result.output
    assert slurp(again) == slurp(first)


def _read(corpus) -> bytes:
    return b"".join(block for block, _ in corpus.blocks())


@pytest.mark.parametrize("how", [dict(passes=1, thresholds=(3.0,)), dict(passes=2, thresholds=(3.0, 1.0)),
                                 dict(passes=1, thresholds=(3.0,), keep_words=True), dict(table=True)])
def test_the_joined_tokens_read_another_corpus_as_its_phrases_would(tmp_path, how):
    """What a phrased corpus joins (joined_tokens), applied to another reading of its text without counting
    (phrased_by_tokens, what a distributed run's workers do), gives the phrased text: passes, kept words, a
    saved table, a pair of invalid-UTF-8 tokens, another delimiter."""
    from w2v.phrases import joined_tokens, phrased, phrased_by_tokens
    text = (b"new york times\n" * 30 + b"new york\n" * 5 + b"the times of new york\n" * 3
            + b"caf\xff bar is open\n" * 12 + b"a b c d e\n" * 4)
    path = str(tmp_path / "in.txt")
    (tmp_path / "in.txt").write_bytes(text)
    if how.pop("table", False):
        table = str(tmp_path / "t.tsv")
        result = CliRunner().invoke(cli, ["phrases", path, "-o", str(tmp_path / "o.txt"), "--passes", "2",
                                          "--min-count", "2", "--threshold", "0.5", "--save-table", table, "-q"])
        assert result.exit_code == 0, result.output
        how = dict(table=table)
    first = phrased(Corpus([path]), min_count=2, delimiter="+", **how)
    passes, delimiter, keep_words = joined_tokens(first)
    assert delimiter == "+" and keep_words == how.get("keep_words", False)
    assert len(passes) == (how.get("passes") or 2) and all(passes)
    again = phrased_by_tokens(Corpus([path]), passes, delimiter, keep_words, threads=2)
    assert _read(again) == _read(first)
    assert b"new+york" in _read(again) and (b"caf\xff+bar" in _read(again)) == ("table" not in how)


def test_pairs_are_counted_with_a_table_of_the_frequent_tokens_alone(tmp_path):
    """A token seen fewer than min_count times is in no pair that may join, so the counts keep a table of the
    frequent tokens only, sized to them, with the whole count's totals (the score's N)."""
    text = "new york is big\n" * 20 + " ".join(f"once{i}" for i in range(5000)) + "\n"
    counts = count_phrases(Corpus([write(tmp_path / "in.txt", text)]), min_count=3, threshold=1.0)
    assert counts.n == 4 and counts.total_words == 5080 and counts.word_count("once7") == 0
    assert counts.word_count("york") == 20 and counts.pair_count("new", "york") == 20
    assert sum(array.nbytes for array in counts.table) < 20_000  # (the 5,004 tokens' table: about 200 kB)


def test_bad_phrase_tables_and_table_options(tmp_path):
    path = write(tmp_path / "in.txt", "a b\n" * 10)
    for content, line in (("a b\t1.5\n", 1), ("a b\t1\t2\nab\t1\t2\n", 2), ("a b\tx\t2\n", 1)):
        table = write(tmp_path / "t.tsv", content)
        result = CliRunner().invoke(cli, ["phrases", path, "-o", str(tmp_path / "o.txt"), "--phrase-table", table])
        assert result.exit_code == 1 and f"t.tsv, line {line}: expected" in result.output, result.output
    good = write(tmp_path / "good.tsv", "a b\t1\t2\n")
    for extra in (["--passes", "2"], ["--save-table", str(tmp_path / "t2.tsv")]):
        result = CliRunner().invoke(cli, ["phrases", path, "-o", str(tmp_path / "o.txt"), "--phrase-table", good]
                                    + extra)
        assert result.exit_code == 2 and "applies the passes the table holds" in result.output
    table = write(tmp_path / "t.tsv", "a b\t1\t2\n# pass 3\nc d\t1\t2\n")  # pass 2 must come next
    result = CliRunner().invoke(cli, ["phrases", path, "-o", str(tmp_path / "o.txt"), "--phrase-table", table])
    assert result.exit_code == 1 and "t.tsv, line 2: expected" in result.output and "# pass 2" in result.output
    result = CliRunner().invoke(cli, ["phrases", path, "-o", str(tmp_path / "o.txt"), "--save-table", path])
    assert result.exit_code == 1 and "is the same file as the input" in result.output
    assert not (tmp_path / "o.txt").exists()


def test_training_with_phrases_equals_training_on_the_phrased_text(tmp_path, sample_path):
    # --phrases and --phrase-table join while reading: the same bytes as phrasing to a file first
    out = {name: str(tmp_path / f"{name}.bin") for name in ("file", "table", "counted")}
    phrased_text, table = str(tmp_path / "p.txt"), str(tmp_path / "t.tsv")
    common = ["-q", "--threads", "1", "--seed", "3", "--dim", "8", "--epochs", "1"]
    runs = [["phrases", sample_path, "-o", phrased_text, "--save-table", table, "--threshold", "30", "-q"],
            ["train", phrased_text, "-o", out["file"]] + common,
            ["train", sample_path, "-o", out["table"], "--phrase-table", table] + common,
            ["train", sample_path, "-o", out["counted"], "--phrases", "1", "--phrase-threshold", "30"] + common]
    for args in runs:
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
    first = slurp(out["file"], "rb")
    assert slurp(out["table"], "rb") == first == slurp(out["counted"], "rb")
    from w2v import Vectors
    assert any("_" in w for w in Vectors.load(out["counted"]).words)


def test_keep_words_trains_on_the_text_and_then_its_phrased_copy(tmp_path, sample_path):
    # the same bytes as training on one file holding the text and then the phrased text
    phrased_text, both = str(tmp_path / "p.txt"), str(tmp_path / "both.txt")
    out = {name: str(tmp_path / f"{name}.bin") for name in ("file", "kept", "table")}
    common = ["-q", "--threads", "1", "--seed", "3", "--dim", "8", "--epochs", "1"]
    table = str(tmp_path / "t.tsv")
    result = CliRunner().invoke(cli, ["phrases", sample_path, "-o", phrased_text, "--threshold", "30", "-q",
                                      "--save-table", table])
    assert result.exit_code == 0, result.output
    with open(both, "wb") as f:
        f.write(slurp(sample_path, "rb") + slurp(phrased_text, "rb"))
    for args in (["train", both, "-o", out["file"]],
                 ["train", sample_path, "-o", out["kept"], "--phrases", "1", "--phrase-threshold", "30", "--keep-words"],
                 ["train", sample_path, "-o", out["table"], "--phrase-table", table, "--keep-words"]):
        result = CliRunner().invoke(cli, args + common)
        assert result.exit_code == 0, result.output
    first = slurp(out["file"], "rb")
    assert slurp(out["kept"], "rb") == first == slurp(out["table"], "rb")
    from w2v import Vectors
    words = Vectors.load(out["kept"]).words
    joined = next(w for w in words if "_" in w)
    assert all(part in words for part in joined.split("_"))


def test_a_keep_words_run_resumes_with_its_words_kept(tmp_path, sample_path):
    from w2v.model import Model
    from w2v.training import TrainingInterrupted, train
    small = dict(dim=12, threads=1, seed=4, chunk_words=50_000, epochs=2, phrases=1, phrase_thresholds=(30.0,),
                 keep_words=True)
    whole = train([sample_path], **small)
    assert whole.model.position.corpus["words"] > train([sample_path], **{**small, "keep_words": False}
                                                        ).model.position.corpus["words"] * 1.9  # both copies
    path = str(tmp_path / "ck.w2vm")
    with pytest.raises(TrainingInterrupted):
        train([sample_path], checkpoint=path, chunk_callback=lambda p: (p.epoch, p.chunk) == (1, 5), **small)
    model = Model.load(path)
    assert model.position.corpus["phrases"]["keep_words"] is True
    resumed = model.train(sample_path)
    assert resumed.vectors.matrix.tobytes() == whole.vectors.matrix.tobytes()


@pytest.mark.parametrize("args,code,message", [
    (["--keep-words"], 2, "--keep-words goes with --phrases or --phrase-table"),
    (["--phrases", "1", "--phrase-table", "TABLE"], 2, "not both"),
    (["--phrases", "2", "--phrase-threshold", "1", "--phrase-threshold", "2", "--phrase-threshold", "3"], 2,
     "3 thresholds for 2 passes"),
    (["--phrase-threshold", "5"], 2, "thresholds for 0 passes"),
    (["--phrase-table", "BAD"], 1, "expected 'first second"),
])
def test_training_phrase_options_bad_values(tmp_path, args, code, message):
    path = write(tmp_path / "in.txt", "a b c\n" * 20)
    table = write(tmp_path / "t.tsv", "a b\t1\t20\n")
    bad = write(tmp_path / "bad.tsv", "a\t1\n")
    args = [{"TABLE": table, "BAD": bad}.get(a, a) for a in args]
    result = CliRunner().invoke(cli, ["train", path, "-o", str(tmp_path / "v.bin"), "-q", "--min-count", "1"] + args)
    assert result.exit_code == code and message in result.output, result.output
    assert not (tmp_path / "v.bin").exists()


def test_counting_pairs_is_bounded_by_pruning(tmp_path, monkeypatch):
    monkeypatch.setattr(scan, "PIECE_BYTES", 256)  # pruning is checked between pieces
    rng = np.random.default_rng(5)
    text = "\n".join(" ".join(f"r{x}" for x in rng.integers(0, 3000, 20)) + " new york" for _ in range(300)) + "\n"
    path = write(tmp_path / "in.txt", text)
    counts = count_phrases(Corpus([path]), min_count=1, prune_at=100)
    # far more distinct tokens and pairs than 100
    assert counts.n <= 100 and counts.n_pairs <= 100 and counts.pruned_below >= 1
    assert counts.word_count("new") == 300 and counts.pair_count("new", "york") == 300  # frequent: kept whole


def test_a_phrased_run_resumes_through_the_phrases_its_checkpoint_recorded(tmp_path, sample_path):
    from w2v.model import Model
    from w2v.training import TrainingInterrupted, train
    small = dict(dim=12, threads=1, seed=4, chunk_words=50_000, epochs=2, phrases=1, phrase_thresholds=(30.0,))
    whole = train([sample_path], **small)
    path = str(tmp_path / "ck.w2vm")
    with pytest.raises(TrainingInterrupted):
        train([sample_path], checkpoint=path, chunk_callback=lambda p: (p.epoch, p.chunk) == (1, 3), **small)
    model = Model.load(path)
    assert model.position.corpus["phrases"]["thresholds"] == [30.0]
    resumed = model.train(sample_path)  # the paths alone: the phrases come from the checkpoint
    assert resumed.vectors.matrix.tobytes() == whole.vectors.matrix.tobytes()
    result = CliRunner().invoke(cli, ["train", sample_path, "-o", str(tmp_path / "v.bin"), "--resume", path,
                                      "--phrases", "1"])
    assert result.exit_code == 2 and "through the phrases its checkpoint recorded" in result.output


def test_init_with_phrases_adds_phrases_to_the_vocabulary(tmp_path, sample_path):
    from w2v import Vectors
    model, out = str(tmp_path / "m.w2vm"), str(tmp_path / "v.bin")
    common = ["-q", "--threads", "1", "--seed", "3", "--dim", "8", "--epochs", "1"]
    result = CliRunner().invoke(cli, ["train", sample_path, "-o", str(tmp_path / "plain.bin"), "--checkpoint", model]
                                + common)
    assert result.exit_code == 0, result.output
    assert not any("_" in w for w in Vectors.load(str(tmp_path / "plain.bin")).words)
    result = CliRunner().invoke(cli, ["train", sample_path, "-o", out, "--init", model, "--update-vocab",
                                      "--phrases", "1", "--phrase-threshold", "30", "-q", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert any("_" in w for w in Vectors.load(out).words)


def test_counts_made_for_a_threshold_join_with_that_threshold_or_higher(tmp_path):
    text = "new york\n" * 20 + "the the the the\n" * 50  # N = 240: new york scores 10.8, the the at most 1.19
    path = write(tmp_path / "in.txt", text)
    every = count_phrases(Corpus([path]), min_count=2)
    bounded = count_phrases(Corpus([path]), min_count=2, threshold=3.0)
    assert every.at_least is None and bounded.at_least == 3.0
    assert (bounded.n_pairs, every.n_pairs) == (1, 2)  # "the the" cannot beat 3, so it was not counted
    assert bounded.pair_count("new", "york") == every.pair_count("new", "york") == 20
    out = str(tmp_path / "out.txt")
    for threshold in (3.0, 4.0):
        write_phrases(Corpus([path]), bounded, out, min_count=2, threshold=threshold)
        assert slurp(out) == reference(text, 2, threshold, False)
    for kwargs, message in ((dict(threshold=2.0), "threshold at least as high"),
                            (dict(threshold=0.5, scoring="npmi"), "join with that score"),
                            (dict(min_count=1, threshold=3.0), "counted for min_count 2")):
        with pytest.raises(ValueError, match=message):
            write_phrases(Corpus([path]), bounded, out, **{"min_count": 2, **kwargs})
