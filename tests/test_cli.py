import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from cli import cli, parse_expression
from conftest import ROOT, invoke_apart, slurp, write
from w2v import Vectors
from w2v.formats import read_vectors

COMMANDS = ["train", "vocab", "phrases", "convert", "classes", "similar", "analogy", "query", "evaluate", "plot"]


def run(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, sample_path):
    path = str(tmp_path_factory.mktemp("vec") / "v.bin")
    result = run("train", sample_path, "-o", path, "--dim", 30, "--epochs", 3, "--seed", 2, "-q")
    assert result.exit_code == 0, result.output
    return path


def assert_clean_error(result, code, *fragments):
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output and f"w2v {command}" in result.output


def test_the_command_line_loads_no_training_module_for_a_query():
    import subprocess
    import sys
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import cli; "
            "loaded = [m for m in ('w2v.training', 'w2v.corpus', 'w2v.encode', 'tqdm', 'numba') if m in sys.modules]; "
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code, ROOT], check=True)


def test_a_leftover_w2v_folder_taken_for_the_package_gets_one_line_naming_it(tmp_path):
    # `pip uninstall w2v` leaves site-packages/w2v/__pycache__ (Numba's cache); after `pip install -e .` Python
    # imports that folder as the package (a namespace: no __init__) and the submodules from the source tree
    import subprocess
    import sys
    leftover = tmp_path / "w2v"
    (leftover / "__pycache__").mkdir(parents=True)
    (leftover / "__pycache__" / "kernels.table_new-1135.py311.nbi").write_bytes(b"x")
    script = ("import importlib.machinery, importlib.util, os, sys\n"
              "spec = importlib.machinery.ModuleSpec('w2v', None, is_package=True)\n"
              "spec.submodule_search_locations = [sys.argv[1], os.path.join(sys.argv[2], 'w2v')]\n"
              "sys.modules['w2v'] = importlib.util.module_from_spec(spec)\n"
              "from w2v.cli import main\n"
              "main(['--version'])\n")
    done = subprocess.run([sys.executable, "-c", script, str(leftover), ROOT], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert str(leftover) in done.stderr and os.path.join(ROOT, "w2v") not in done.stderr, done.stderr
    assert "delete that folder" in done.stderr


def test_version_and_group_help():
    import w2v
    assert w2v.__version__ in run("--version").output
    assert "train" in run("--help").output


def test_train_makes_the_vocabulary_and_the_vectors_file_on_its_threads(sample_path, tmp_path, monkeypatch):
    """The vocabulary's words are gathered, and the compiled text writer (loaded by training) makes its blocks,
    on ``--threads`` threads."""
    import threading

    from conftest import slow_first
    from w2v import formats, kernels, scan
    monkeypatch.setattr(formats, "_COMPILED_TEXT_MIN", 0)
    monkeypatch.setattr(formats, "_TEXT_BLOCK_ROWS", 100)
    monkeypatch.setattr(scan, "WORDS_SHARE", 100)
    original_format, original_gather = kernels.format_text_rows, kernels.table_tokens_joined
    out = tmp_path / "v.txt"
    for threads in (1, 2):
        calls, makers, gathers, gatherers = [], set(), [], set()
        monkeypatch.setattr(kernels, "format_text_rows",
                            slow_first(original_format, calls, lambda a: len(a[0]), makers))
        monkeypatch.setattr(kernels, "table_tokens_joined",
                            slow_first(original_gather, gathers, lambda a: len(a[1]), gatherers))
        result = run("train", sample_path, "-o", out, "--dim", 10, "--epochs", 1, "--threads", threads, "-q", "--force")
        assert result.exit_code == 0, result.output
        vectors = Vectors.load(str(out))
        assert sum(calls) == len(vectors) > 600 and len(calls) == -(-len(vectors) // 100)
        assert makers == {threading.get_ident()} if threads == 1 else len(makers) == 2
        assert gathers.count(100) == len(vectors) // 100  # the vocabulary's shares (beside the kernels' warm-up)
        assert gatherers == {threading.get_ident()} if threads == 1 else len(gatherers) >= 2


def test_train_writes_vectors_and_a_summary(trained, sample_path, tmp_path):
    v = Vectors.load(trained)
    assert v.dim == 30 and "queen" in v
    out = str(tmp_path / "v.txt")
    vocab_file = str(tmp_path / "vocab.txt")
    result = run("train", sample_path, "-o", out, "--dim", 8, "--epochs", 1, "--model", "cbow", "--hs",
                 "--negative", 0, "--save-vocab", vocab_file, "--threads", 1)
    assert result.exit_code == 0, result.output
    assert "vocabulary 737 words" in result.output and "words/s" in result.output
    assert Vectors.load(out).dim == 8
    sentence_end, first = slurp(vocab_file).splitlines()[:2]  # word2vec.c's </s> first, then the words
    assert sentence_end == "</s> 0" and first.split()[0] == Vectors.load(out).words[0]


def test_train_reads_a_pipe_named_as_its_corpus(tmp_path, sample_path):
    """`w2v train <(zcat corpus.gz) -o v.bin`: the pipe is read once (counted and spooled), and its
    fingerprint is not taken (it failed with 'Illegal seek' after counting); a pruned count, which would
    read it again, is a clear error."""
    import threading
    fifo = str(tmp_path / "pipe")
    text = slurp(sample_path, "rb")

    def fill():
        try:
            with open(fifo, "wb") as f:
                f.write(text)
        except BrokenPipeError:  # the pruned run stops reading at the prune
            pass
    results = []
    for extra in ([], ["--count-limit", 100]):
        os.mkfifo(fifo)
        writer = threading.Thread(target=fill, daemon=True)  # (a failed run never opens the pipe)
        writer.start()
        results.append(run("train", fifo, "-o", tmp_path / "v.bin", "--dim", 8, "--epochs", 1, "-q", *extra))
        writer.join(10)
        os.unlink(fifo)
    assert results[0].exit_code == 0, results[0].output
    assert len(Vectors.load(tmp_path / "v.bin")) == 737
    assert_clean_error(results[1], 1, f"{fifo} (a pipe) holds more distinct tokens than --count-limit allows "
                                 "(100 tokens, 3,200 bytes of them), so its count was pruned")


def test_a_pipe_whose_count_must_be_pruned_stops_at_the_prune(tmp_path, sample_path):
    """A corpus read once only whose count has to be pruned cannot be encoded (that would read it again); the
    error comes at the prune, not after reading the rest: of a pipe of 200 MB, a few MB are read."""
    import threading
    fifo = str(tmp_path / "pipe")
    text = slurp(sample_path, "rb")
    os.mkfifo(fifo)
    written = []

    def fill():
        total = 0
        try:
            with open(fifo, "wb") as f:
                while total < 200 << 20:
                    f.write(text)
                    total += len(text)
        except BrokenPipeError:  # the reader closed the pipe
            pass
        written.append(total)
    writer = threading.Thread(target=fill, daemon=True)
    writer.start()
    result = run("train", fifo, "-o", tmp_path / "v.bin", "--dim", 8, "--epochs", 1, "-q", "--count-limit", 100)
    writer.join(60)
    assert_clean_error(result, 1, f"{fifo} (a pipe) holds more distinct tokens than --count-limit allows "
                                 "(100 tokens, 3,200 bytes of them), so its count was pruned")
    assert written and written[0] < 32 << 20, written  # (the whole pipe: 200 MB)
    assert not (tmp_path / "v.bin").exists()


def test_train_from_stdin_with_a_vocabulary(tmp_path, sample_path):
    vocab_file = str(tmp_path / "vocab.txt")
    assert run("vocab", sample_path, "-o", vocab_file, "-q").exit_code == 0
    out = str(tmp_path / "v.npz")
    with open(sample_path) as f:
        result = run("train", "-", "-o", out, "--read-vocab", vocab_file, "--dim", 8, "--epochs", 1, "-q", input=f.read())
    assert result.exit_code == 0, result.output
    assert len(Vectors.load(out)) == 737


def test_train_with_a_word2vec_c_vocabulary_whose_words_are_not_utf8(tmp_path):
    # word2vec.c's -save-vocab of Latin-1 text: its word is the corpus's token as counting reads it
    corpus = write(tmp_path / "c.txt", b"caf\xe9 au lait\n" * 40)
    vocab_file = write(tmp_path / "vocab.txt", b"caf\xe9 40\nau 40\nlait 40\n")
    out = tmp_path / "v.txt"
    result = invoke_apart("train", corpus, "-o", out, "--read-vocab", vocab_file, "--dim", 4, "--epochs", 1)
    assert result.exit_code == 0, result.output
    assert "vocab.txt: 1 word is not valid UTF-8; read with U+FFFD" in result.stderr
    assert "trained 120 words" in result.stderr  # the Latin-1 tokens are the vocabulary's word
    assert sorted(Vectors.load(str(out)).words) == ["au", "caf\ufffd", "lait"]


@pytest.mark.parametrize("args,code,fragment", [
    (["--negative", "0"], 2, "nothing would be trained"),
    (["--dim", "0"], 2, "--dim"),
    (["--model", "glove"], 2, "--model"),
    (["--alpha", "0"], 2, "--alpha"),
    (["--window", "-1"], 2, "--window"),
    (["--sample", "2"], 2, "--sample"),
    (["--model", "cbow", "--batched"], 2, "--batched applies to skip-gram"),
    (["--min-alpha-ratio", "1.5"], 2, "--min-alpha-ratio"),
    (["--min-alpha-ratio", "-0.1"], 2, "--min-alpha-ratio"),
    (["--count-limit", "0"], 2, "--count-limit"),
    (["--count-limit", "2000000001"], 2, "--count-limit"),
    (["--min-count", "100000"], 1, "no word occurs at least 100,000 times"),
])
def test_train_bad_options(tmp_path, sample_path, args, code, fragment):
    out = tmp_path / "v.bin"
    assert_clean_error(run("train", sample_path, "-o", out, "-q", *args), code, fragment)
    assert not out.exists()


def test_vocab_count_limit_prunes_and_says_so(tmp_path):
    tokens = [f"t{seen}_{i}" for seen in (1, 2, 3) for i in range(200) for _ in range(seen)]
    corpus = write(tmp_path / "c.txt", " ".join(tokens) + "\n" + "common other " * 50 + "\n")
    counts = {}
    for limit in (100, 1000):
        out = tmp_path / f"v{limit}.txt"
        result = run("vocab", corpus, "-o", out, "--min-count", 3, "--count-limit", limit)
        assert result.exit_code == 0, result.output
        counts[limit] = len(out.read_text().splitlines()) - 1  # (word2vec.c's </s> first)
        assert ("raise --count-limit" in result.output) == (limit == 100)
    assert counts == {100: 2, 1000: 202}


@pytest.mark.parametrize("long_tokens,note", [
    (1, "note: 1 distinct token longer than 10,000 bytes is not a word and was left out"),
    (2, "note: 2 distinct tokens longer than 10,000 bytes are not words and were left out"),
])
def test_train_and_vocab_say_how_many_tokens_were_too_long_to_be_words(tmp_path, long_tokens, note):
    text = "".join(f"{letter * 10_001} the cat\n" for letter in "xy"[:long_tokens]) + "the cat sat \xff\n" * 3
    corpus = write(tmp_path / "c.txt", text.encode("latin-1"))
    vocab = run("vocab", corpus, "--min-count", 1, "-q")
    train = run("train", corpus, "-o", tmp_path / "v.bin", "--min-count", 1, "--dim", 4, "--epochs", 1)
    for result in (vocab, train):
        assert result.exit_code == 0, result.output
        assert note in result.output and "warning: 3 bytes of invalid UTF-8 were replaced" in result.output
    assert sorted(Vectors.load(tmp_path / "v.bin").words) == ["cat", "sat", "the", "\ufffd"]


def test_a_corpus_whose_only_tokens_are_too_long_says_so(tmp_path):
    corpus = write(tmp_path / "c.txt", "x" * 10_001 + " the\n")
    assert_clean_error(run("vocab", corpus, "--min-count", 1000, "-q"), 1,
                       "no word: the corpus's 1 distinct token longer than 10,000 bytes is not a word, and no other "
                       "token occurs at least 1,000 times; is it text with white space between words?")


def test_train_says_the_threads_that_trained(tmp_path):
    """A corpus of one chunk trains on one thread, whatever --threads asks; both messages say so."""
    corpus = write(tmp_path / "c.txt", "the cat sat on the mat\n" * 20)
    result = run("train", corpus, "-o", tmp_path / "v.bin", "--min-count", 1, "--dim", 4, "--epochs", 1,
                 "--threads", 2)
    assert result.exit_code == 0, result.output
    assert "1 epoch, 1 thread\n" in result.output and "words/s, 1 thread)" in result.output, result.output


def test_train_bad_inputs_and_outputs_leave_nothing(tmp_path, sample_path):
    existing = write(tmp_path / "old.bin", b"precious")
    assert_clean_error(run("train", tmp_path / "missing.txt", "-o", existing, "-q"), 1, "missing.txt: no such file")
    assert slurp(existing, "rb") == b"precious"
    assert_clean_error(run("train", sample_path, "-o", tmp_path / "v.dat", "-q"), 2, "cannot tell the format")
    assert_clean_error(run("train", sample_path, "-o", tmp_path / "nofolder" / "v.bin", "-q"), 1, "does not exist")
    empty = write(tmp_path / "empty.txt", "")
    assert_clean_error(run("train", empty, "-o", existing, "-q"), 1, "the corpus is empty")
    assert slurp(existing, "rb") == b"precious"
    assert sorted(os.listdir(tmp_path)) == ["empty.txt", "old.bin"]


def test_ctrl_c_exits_130_and_writes_nothing(tmp_path, sample_path, monkeypatch):
    import w2v.training

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(w2v.training, "_train", interrupted)
    out = tmp_path / "v.bin"
    result = run("train", sample_path, "-o", out, "-q")
    assert_clean_error(result, 130, "interrupted")
    assert not out.exists()


def test_vocab_summary(tmp_path, sample_path):
    result = run("vocab", sample_path, "--min-count", 5, "-q")
    assert result.exit_code == 0
    assert "tokens 400,290" in result.output and "kept 737 types" in result.output
    assert_clean_error(run("vocab", sample_path, "-o", tmp_path / "no" / "v.txt", "-q"), 1, "does not exist")
    assert_clean_error(run("vocab", sample_path, "--count-limit", 0, "-q"), 2, "--count-limit")


def test_convert_between_formats(trained, tmp_path):
    for name in ("v.txt", "v.npz", "v2.bin"):
        out = str(tmp_path / name)
        assert run("convert", trained, out).exit_code == 0
        np.testing.assert_array_equal(Vectors.load(out).matrix, Vectors.load(trained).matrix)
    small = str(tmp_path / "small.vec")
    assert run("convert", trained, small, "--limit", 10).exit_code == 0
    assert len(Vectors.load(small)) == 10
    assert_clean_error(run("convert", trained, tmp_path / "x.dat"), 2, "cannot tell the format")
    bad = write(tmp_path / "bad.bin", b"not vectors at all\n")
    assert_clean_error(run("convert", bad, tmp_path / "y.txt"), 1, "bad.bin, line 1")
    assert not (tmp_path / "y.txt").exists()


def test_convert_to_text_shows_its_rows_unless_quiet(trained, tmp_path, monkeypatch):
    from w2v import progress
    monkeypatch.setattr(progress, "LOG_INTERVAL", 0.0)  # a line a block of rows
    shown, quiet = tmp_path / "shown.txt", tmp_path / "quiet.txt"
    result = invoke_apart("convert", trained, shown)
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("writing:   0%") and lines[-1].startswith("writing: 100%"), lines
    result = invoke_apart("convert", trained, quiet, "-q")
    assert result.exit_code == 0 and result.stderr == "", result.output
    assert shown.read_bytes() == quiet.read_bytes()


def test_similar_analogy_and_unknown_words(trained):
    result = run("similar", trained, "france", "--topn", 3)
    assert result.exit_code == 0 and len(result.output.splitlines()) == 3
    assert run("analogy", trained, "king", "-", "man", "+", "woman").output.split()[0] == "queen"
    assert run("analogy", trained, "man", "king", "woman").output.split()[0] == "queen"
    assert run("analogy", trained, "man", "king", "woman", "--method", "mul").output.split()[0] == "queen"
    assert_clean_error(run("similar", trained, "kaiser"), 1, "not in the vocabulary: 'kaiser'")
    assert_clean_error(run("analogy", trained, "a", "-", "b", "+", "c", "+", "d", "--method", "mul"), 1, "--method mul")


def test_an_analogy_takes_words_with_glued_signs_as_words_not_options(trained):
    # `king -man +woman` unquoted: -man is a word to subtract, not the options -m -a -n
    result = run("analogy", trained, "king", "-man", "+woman", "--topn", 2)
    spaced = run("analogy", trained, "king", "-", "man", "+", "woman", "--topn", 2)
    assert result.exit_code == 0, result.output
    assert result.output == spaced.output and len(result.output.splitlines()) == 2
    assert result.output.split()[0] == "queen"
    assert run("analogy", trained, "-h").output.startswith("Usage: ")  # -h is still help
    assert run("analogy", trained, "--", "king", "-man", "+woman").output.split()[0] == "queen"


def test_a_slow_read_of_vectors_says_how_to_make_them_load_at_once(trained, tmp_path, monkeypatch):
    """A query whose text or binary vectors took long to read (SLOW_LOAD_SECONDS, here 0) ends with a note on
    `w2v convert` to the native format; a native file, a quick read and `convert` itself say nothing."""
    import w2v.cli
    text, native = str(tmp_path / "v.txt"), str(tmp_path / "v.npz")
    assert run("convert", trained, text, "-q").exit_code == 0 and run("convert", trained, native, "-q").exit_code == 0
    quick = run("similar", text, "france")
    monkeypatch.setattr(w2v.cli, "SLOW_LOAD_SECONDS", 0.0)
    slow = {path: run("similar", path, "france") for path in (trained, text, native)}
    converting = run("convert", text, str(tmp_path / "v2.bin"), "-q")
    for result in (quick, converting, *slow.values()):
        assert result.exit_code == 0, result.output
    for path in (trained, text):
        assert f"`w2v convert {path} {path[:-4]}.npz` writes a file that is ready" in slow[path].output
    assert "w2v convert" not in quick.output + slow[native].output + converting.output


def test_parse_expression():
    assert parse_expression(["king", "-", "man", "+", "woman"]) == (["king", "woman"], ["man"])
    assert parse_expression(["king -man +woman"]) == (["king", "woman"], ["man"])
    assert parse_expression(["man", "king", "woman"]) == (["king", "woman"], ["man"])


def test_query_reads_a_pipe(trained):
    result = run("query", trained, "--topn", 2, input="france\nking - man + woman\nkaiser\n\nEXIT\nparis\n")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "# france" and lines[3] == "# king - man + woman" and lines[4].startswith("queen")
    assert "not in the vocabulary: 'kaiser'" in result.output
    assert "# paris" not in result.output  # EXIT ends the session


def test_a_query_with_no_word_left_to_answer_says_so(tmp_path):
    """Every word searched is in the query (the words asked are left out of the answers): a note on
    standard error, not an empty output and nothing else; exit 0, as an empty answer is not an error."""
    vectors = write(tmp_path / "three.txt", "3 2\na 1 0\nb 0 1\nc 1 1\n")
    many, one = "w2v: no answer: the 3 words searched are all in the query", \
        "w2v: no answer: the one word searched is in the query"
    for args, input, out, note in [(["analogy", vectors, "a", "b", "c"], None, "", many),
                                   (["analogy", vectors, "a", "b", "c", "--method", "mul"], None, "", many),
                                   (["similar", vectors, "a", "--restrict-vocab", 1], None, "", one),
                                   (["query", vectors], "a b c\n", "# a b c\n", many)]:
        result = invoke_apart(*args, input=input)
        assert result.exit_code == 0, result.output
        assert (result.stdout, result.stderr.strip()) == (out, note)
    answered = invoke_apart("similar", vectors, "a")
    assert answered.stdout.splitlines()[0].startswith("c\t") and answered.stderr == ""


def test_evaluate_table_and_json(trained, tmp_path):
    import planted
    q = planted.write_questions(str(tmp_path / "q.txt"))
    p = write(tmp_path / "p.tsv", "king\tqueen\t8\nman\tcat\t1\nparis\tfrance\t7\nzzz\tking\t3\n")
    table = run("evaluate", trained, "--analogies", q, "--pairs", p)
    assert table.exit_code == 0, table.output
    assert "gender" in table.output and "total" in table.output and "Spearman" in table.output
    data = json.loads(run("evaluate", trained, "--analogies", q, "--pairs", p, "--json").output)
    assert data["analogies"][q]["total"]["accuracy"] > 0.8
    assert data["pairs"][p]["oov"] == 1
    assert_clean_error(run("evaluate", trained), 2, "at least one --analogies or --pairs")
    bad = write(tmp_path / "bad.txt", ": s\na b\n")
    assert_clean_error(run("evaluate", trained, "--analogies", bad), 1, "bad.txt, line 2")


def test_an_undefined_correlation_is_null_in_json_and_said_in_the_table(tmp_path):
    """Fewer than two pairs known (or human scores all alike): the correlation is undefined; the JSON
    says null (``NaN`` is no JSON value: strict readers refuse the whole document), the table says so."""
    vectors = write(tmp_path / "v.txt", "3 2\na 1 0\nb 0 1\nc 1 1\n")
    one_known = write(tmp_path / "one.tsv", "a\tb\t5\nzzz\ta\t3\n")
    alike = write(tmp_path / "alike.tsv", "a\tb\t5\na\tc\t5\nb\tc\t5\n")
    result = run("evaluate", vectors, "--pairs", one_known, "--pairs", alike, "--json")
    assert result.exit_code == 0, result.output

    def refuse(constant):
        raise AssertionError(f"{constant} in the JSON")
    data = json.loads(result.stdout, parse_constant=refuse)
    assert data["pairs"][one_known] == {"spearman": None, "pearson": None, "oov_ratio": 50.0, "pairs": 1, "oov": 1}
    assert data["pairs"][alike]["spearman"] is None and data["pairs"][alike]["pairs"] == 3
    table = run("evaluate", vectors, "--pairs", one_known)
    assert table.exit_code == 0 and "Spearman undefined  Pearson undefined  OOV 50.0% (1 of 2 pairs)" in table.stdout


def test_plot_writes_a_png(trained, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "p.png"
    result = run("plot", trained, "man:king", "woman:queen", "paris", "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert_clean_error(run("plot", trained, "man:king:x", "-o", out), 1, "word:word")
    assert_clean_error(run("plot", trained, "man", "kaiser", "-o", tmp_path / "q.png"), 1, "kaiser")
    assert not (tmp_path / "q.png").exists()


def test_train_vocabulary_and_cache_options_bad_values(tmp_path, sample_path):
    out = tmp_path / "v.bin"
    bad_vocab = write(tmp_path / "bad_vocab.txt", "the 10\nof\n")
    assert_clean_error(run("train", sample_path, "-o", out, "-q", "--read-vocab", bad_vocab), 1,
                       "bad_vocab.txt, line 2: expected 'word count'")
    assert_clean_error(run("train", sample_path, "-o", out, "-q", "--read-vocab", tmp_path / "none.txt"), 2,
                       "--read-vocab")
    assert_clean_error(run("train", sample_path, "-o", out, "-q", "--save-vocab", tmp_path / "no" / "v.txt"), 1,
                       "does not exist")
    assert_clean_error(run("train", sample_path, "-o", out, "-q", "--cache-dir", tmp_path / "nodir"), 2, "--cache-dir")
    assert not out.exists()


def test_train_reads_standard_input_once_without_a_vocabulary(tmp_path, sample_path):
    common = ["-q", "--threads", "1", "--seed", "3", "--dim", "8", "--epochs", "1"]
    result = run("train", "-", "-o", tmp_path / "stdin.bin", *common, input=slurp(sample_path))
    assert result.exit_code == 0, result.output
    assert run("train", sample_path, "-o", tmp_path / "file.bin", *common).exit_code == 0
    assert (tmp_path / "stdin.bin").read_bytes() == (tmp_path / "file.bin").read_bytes()


def test_train_with_a_cache_folder_leaves_it_empty(tmp_path, sample_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    out = tmp_path / "v.bin"
    result = run("train", sample_path, "-o", out, "-q", "--dim", 8, "--epochs", 1, "--cache-dir", cache)
    assert result.exit_code == 0, result.output
    assert out.exists() and list(cache.iterdir()) == []


def test_a_closed_pipe_is_not_an_error(trained):
    # `w2v similar ... | head -1`: the reader goes away before w2v writes; no "Error: Broken pipe"
    import subprocess
    import sys
    cli_path = os.path.join(ROOT, "cli.py")
    process = subprocess.Popen([sys.executable, cli_path, "similar", trained, "king", "--topn", "500"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.wait()
    assert "Error" not in stderr and "Traceback" not in stderr, stderr
    assert process.returncode != 0  # the output was cut short


def test_the_command_line_leaves_no_garbage_collection_for_the_exit(tmp_path, sample_path):
    # Python's last collection at exit walked all of Numba's objects (0.25 s a run); main freezes them first
    import subprocess
    import sys
    script = ("import atexit, gc, sys\n"
              "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 10_000))\n"
              "from w2v.cli import main\n"
              "main(sys.argv[1:])\n")
    done = subprocess.run([sys.executable, "-c", script, "vocab", sample_path, "-o", str(tmp_path / "v.tsv"), "-q"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["frozen", "True"] and (tmp_path / "v.tsv").stat().st_size > 0


def test_counting_and_training_commands_do_not_load_scipy_linalg(tmp_path, sample_path):
    # with SciPy installed (the test extra's gensim needs it), Numba would import scipy.linalg on every run;
    # the commands hide its BLAS from Numba's check, and SciPy stays importable afterwards
    pytest.importorskip("scipy.linalg")
    import subprocess
    import sys
    script = ("import sys\n"
              "from w2v.cli import main\n"
              "try:\n"
              "    main(sys.argv[1:])\n"
              "except SystemExit as stop:\n"
              "    assert not stop.code, stop.code\n"
              "print('scipy.linalg' in sys.modules)\n"
              "import scipy.linalg.cython_blas\n"
              "print('scipy.linalg' in sys.modules)\n")
    commands = [["train", sample_path, "-o", tmp_path / "v.bin", "-q", "--epochs", "1", "--dim", "8"],
                ["vocab", sample_path, "-q"],
                ["phrases", sample_path, "-o", tmp_path / "p.txt", "-q"]]
    for command in commands:
        done = subprocess.run([sys.executable, "-c", script] + [str(a) for a in command], capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split()[-2:] == ["False", "True"], (command, done.stdout)


def test_word2vec_c_files_with_words_that_are_not_utf8_are_read_and_said_so(tmp_path):
    # word2vec.c keeps a corpus's bytes: a Latin-1 word, and a word it shortened inside a character
    rows = [(b"caf\xe9", [1, 0]), (b"coffee", [0.9, 0.1]), (b"tea", [0, 1]), (b"long\xe2\x82", [0.1, 0.9])]
    data = b"4 2\n" + b"".join(w + b" " + np.array(v, "<f4").tobytes() + b"\n" for w, v in rows)
    source = write(tmp_path / "c.bin", data)
    result = invoke_apart("similar", source, "coffee", "--topn", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout == "caf\ufffd\t0.9939\n"
    assert "c.bin has 2 words that are not valid UTF-8" in result.stderr and "U+FFFD" in result.stderr
    result = invoke_apart("convert", source, tmp_path / "c.txt")
    assert result.exit_code == 0, result.output
    got = read_vectors(str(tmp_path / "c.txt"))  # what w2v writes is valid UTF-8, read back strictly
    assert got.words == ["caf\ufffd", "coffee", "tea", "long\ufffd"] and got.not_utf8 == 0


def test_glove_text_without_a_header_converts_and_answers(tmp_path):
    glove = write(tmp_path / "glove.txt", "the 0.1 0.2 0.3\nking 0.5 0.1 0.2\nqueen 0.5 0.15 0.25\n")
    result = invoke_apart("convert", glove, tmp_path / "glove.npz", "--limit", 2)
    assert result.exit_code == 0 and result.stderr == "", result.output
    assert Vectors.load(str(tmp_path / "glove.npz")).words == ["the", "king"]
    result = invoke_apart("similar", glove, "king", "--topn", 1)
    assert result.exit_code == 0 and result.stdout == "queen\t0.9936\n", result.output
    spaced = write(tmp_path / "g840.txt", "the 0.1 0.2 0.3\n. . . 1 1 1\nking 0.5 0.1 0.2\nqueen 0.5 0.15 0.25\n")
    result = invoke_apart("similar", spaced, "king", "--topn", 1)
    assert result.exit_code == 0 and result.stdout == "queen\t0.9936\n", result.output
    assert "g840.txt has 1 row whose word holds spaces (as GloVe's '. . .'), left out" in result.stderr


def test_a_byte_order_mark_at_the_start_of_a_text_input_is_dropped(tmp_path):
    # Windows editors start a UTF-8 file with EF BB BF; it would otherwise join the first word ("\ufeffking")
    bom = b"\xef\xbb\xbf"
    vectors = write(tmp_path / "v.txt", bom + b"3 2\nking 1 0\nqueen 0.9 0.2\nman 0 1\n")
    glove = write(tmp_path / "g.txt", bom + b"king 1 0\nqueen 0.9 0.2\nman 0 1\n")
    for path in (vectors, glove):
        assert Vectors.load(path).words == ["king", "queen", "man"]
    pairs = write(tmp_path / "pairs.tsv", bom + b"king\tqueen\t9\nking\tman\t2\nqueen\tman\t3\n")
    result = invoke_apart("evaluate", vectors, "--pairs", pairs)
    assert result.exit_code == 0 and "OOV 0.0% (0 of 3 pairs)" in result.stdout, result.output
    questions = write(tmp_path / "q.txt", bom + b": s\nking queen king queen\n")
    result = invoke_apart("evaluate", vectors, "--analogies", questions)
    assert result.exit_code == 0, result.output
    corpus = write(tmp_path / "c.txt", "king queen man\n" * 30)
    table = write(tmp_path / "t.tsv", bom + b"king queen\t50\t30\n")
    result = invoke_apart("phrases", corpus, "-o", tmp_path / "p.txt", "--phrase-table", table)
    assert result.exit_code == 0 and slurp(tmp_path / "p.txt") == "king_queen man\n" * 30, result.output
    for ending in (b"\n", b"\r\n"):  # read at once, and by the line loop
        vocab = write(tmp_path / "vocab.txt", bom + b"king 30" + ending + b"queen 30" + ending)
        result = invoke_apart("train", corpus, "-o", tmp_path / "o.txt", "--read-vocab", vocab, "--dim", 2,
                              "--epochs", 1, "-q", "--force")
        assert result.exit_code == 0, result.output
        assert sorted(Vectors.load(str(tmp_path / "o.txt")).words) == ["king", "queen"]


def test_train_starts_the_words_a_vectors_file_holds_from_it(tmp_path, sample_path):
    # GloVe's layout, three of the sample's words and one it lacks; a learning rate so small that the trained
    # vectors are still the given ones, to the sixth decimal
    given = {"king": [0.5, -0.25, 1.0, 0.125], "queen": [0.25, 0.5, -1.0, 2.0], "man": [1.5, 0, 0, -0.5],
             "zzznot": [9, 9, 9, 9]}
    start = write(tmp_path / "glove.txt", "".join(f"{w} {' '.join(map(str, v))}\n" for w, v in given.items()))
    out = tmp_path / "v.txt"
    result = invoke_apart("train", sample_path, "-o", out, "--init-vectors", start, "--dim", 4, "--epochs", 1,
                          "--alpha", "1e-9", "--threads", 1)
    assert result.exit_code == 0, result.output
    assert "3 of the 737 words start from the vectors of" in result.stderr
    trained = Vectors.load(str(out))
    for word in ("king", "queen", "man"):
        np.testing.assert_allclose(trained.vector(word), given[word], atol=1e-6)
    assert np.abs(trained.vector("woman")).max() < 0.125  # a random start: within 0.5 / dim
    # a dimension that differs is one line, before the corpus is read; --init starts from a model's own
    result = invoke_apart("train", sample_path, "-o", tmp_path / "w.bin", "--init-vectors", start, "--dim", 5)
    assert result.exit_code == 1 and "glove.txt: its vectors have dimension 4, the model 5" in result.stderr
    assert "counting" not in result.stderr and not (tmp_path / "w.bin").exists()
    model = tmp_path / "m.w2vm"
    assert run("train", sample_path, "-o", tmp_path / "m.bin", "--checkpoint", model, "--dim", 4, "--epochs", 1,
               "-q").exit_code == 0
    result = invoke_apart("train", sample_path, "-o", tmp_path / "w.bin", "--init", model, "--init-vectors", start)
    assert result.exit_code == 2 and "--init-vectors starts a new model's vectors" in result.stderr


def test_a_spark_model_folder_given_as_vectors_is_named_as_one(tmp_path, sample_path):
    model = tmp_path / "spark-w2v"
    (model / "metadata").mkdir(parents=True)
    write(model / "metadata" / "part-00000", '{"class":"org.apache.spark.ml.feature.Word2VecModel"}\n')
    for args in (["similar", model, "king"], ["convert", model, tmp_path / "v.bin"],
                 ["train", sample_path, "-o", tmp_path / "v.bin", "--init-vectors", model]):
        result = invoke_apart(*args)
        assert result.exit_code == 2 and "spark-w2v: a Spark Word2VecModel" in result.stderr, result.output
    result = invoke_apart("similar", tmp_path, "king")  # any other folder: as before
    assert result.exit_code == 2 and "is a directory" in result.stderr
