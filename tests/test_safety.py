"""w2v never loses a user's data: the matrix of bad inputs and outputs (issue: reliability).

Each row of CASES is one command a user might type in a folder prepared by
``make_folder``; every row asserts the exit status, the one-line message
naming the file or option, that no file was created or changed (bytes and
mode) and that no temporary file is left. A new case is one line.
"""
import errno
import gzip
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
import types

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import ROOT, SAMPLE, VARIED_TEXT, damaged_inside, slurp, tar_of, write, zip_of
from w2v.cli import cli
from w2v.formats import read_vectors, write_vectors

try:
    import zstandard
except ImportError:
    zstandard = None

CORPUS = "\n".join(" ".join(["king", "queen", "man", "woman", "paris", "france"][(i + j) % 6] for j in range(12))
                   for i in range(300)) + "\n"
SMALL = ["-q", "--dim", "4", "--epochs", "1", "--min-count", "1", "--threads", "1"]


def make_folder(root):
    """The user's files: a corpus, a folder of text, vectors in three formats, a vocabulary, links."""
    write(root / "c.txt", CORPUS)
    (root / "data").mkdir()
    write(root / "data" / "a.txt", CORPUS)
    write_vectors(str(root / "v.bin"), ["king", "queen", "man"], np.eye(3, dtype=np.float32))
    write_vectors(str(root / "v.txt"), ["king", "queen", "man"], np.eye(3, dtype=np.float32))
    write(root / "voc.txt", "king 10\nqueen 9\n")
    os.symlink("c.txt", root / "link.txt")
    os.link(root / "c.txt", root / "hard.txt")
    os.symlink("v.bin", root / "vlink.bin")
    write(root / "ro.bin", b"protected")
    os.chmod(root / "ro.bin", 0o444)
    write(root / "nan.txt", "2 3\na nan 1 2\nb 1 2 3\n")
    write(root / "inf.txt", "1 2\na 1e39 1\n")
    write(root / "huge.bin", "1000000000 1000\nabc")
    write(root / "wide.bin", "3 2000000000\nabc")
    write(root / "digits.txt", "999999999999999999999999999 2\na 1 2\n")
    write(root / "bigcount.txt", "king 99999999999999999999999\n")
    write(root / "nearcount.txt", "king 9000000000000000000\nqueen 9000000000000000000\n")
    write(root / "nows.txt", "x" * 30_000)
    write(root / "empty.txt", "")
    write(root / "damaged.txt.gz", damaged_inside(gzip.compress(VARIED_TEXT)))  # inflate fails there (zlib.error)
    write(root / "packed.txt", gzip.compress(VARIED_TEXT))  # gzip under a text file's name
    write(root / "c.tar.gz", gzip.compress(tar_of({"c.txt": CORPUS.encode()})))
    vectors = gzip.compress(slurp(root / "v.txt", "rb"))
    write(root / "cut.txt.gz", vectors[:len(vectors) // 2])
    zipped = zip_of({"c.txt": VARIED_TEXT})
    write(root / "cut.zip", zipped[:len(zipped) // 2])
    if zstandard is not None:  # (the test extra installs it)
        whole = zstandard.ZstdCompressor().compress(VARIED_TEXT)
        write(root / "cut.txt.zst", whole[:len(whole) // 2])  # zstandard's own reader says nothing of the cut


def snapshot(root):
    """{relative path: (bytes or link target, mode)} of everything under root."""
    seen = {}
    for folder, dirs, names in os.walk(root):
        for name in names + dirs:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                content = "->" + os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                content = slurp(path, "rb")
            else:
                content = stat.S_IFMT(st.st_mode)
            seen[os.path.relpath(path, root)] = (content, stat.S_IMODE(st.st_mode))
    return seen


def run(root, args, input=None):
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return CliRunner().invoke(cli, args, input=input)
    finally:
        os.chdir(cwd)


# (id, command line, exit status, fragment of the one-line message)
CASES = [
    # 1. an output is never an input, however it is spelled
    ("train-onto-corpus", ["train", "c.txt", "-o", "c.txt"], 1, "c.txt: is the same file as the input c.txt"),
    ("train-onto-dot-slash", ["train", "c.txt", "-o", "./c.txt"], 1, "is the same file as the input c.txt"),
    ("train-onto-symlink", ["train", "c.txt", "-o", "link.txt"], 1, "link.txt: is the same file as the input"),
    ("train-onto-hard-link", ["train", "c.txt", "-o", "hard.txt"], 1, "hard.txt: is the same file as the input"),
    ("train-corpus-via-link", ["train", "link.txt", "-o", "c.txt"], 1, "is the same file as the input link.txt"),
    ("vocab-onto-corpus", ["vocab", "c.txt", "-o", "c.txt"], 1, "is the same file as the input c.txt"),
    ("save-vocab-onto-corpus", ["train", "c.txt", "-o", "new.bin", "--save-vocab", "c.txt"], 1,
     "c.txt: is the same file as the input"),
    ("output-onto-read-vocab", ["train", "c.txt", "-o", "voc.txt", "--read-vocab", "voc.txt"], 1,
     "voc.txt: is the same file as the input voc.txt"),
    ("two-outputs-one-file", ["train", "c.txt", "-o", "new.bin", "--save-vocab", "new.bin"], 1,
     "is the same output as new.bin"),
    ("convert-onto-itself", ["convert", "v.bin", "v.bin"], 1, "v.bin: is the same file as the input v.bin"),
    ("convert-onto-link", ["convert", "vlink.bin", "v.bin"], 1, "is the same file as the input vlink.bin"),
    ("plot-onto-vectors", ["plot", "v.bin", "king", "queen", "-o", "v.bin"], 1, "is the same file as the input"),
    ("output-in-corpus-folder", ["train", "data", "-o", "data/v.bin"], 1, "lies in the corpus folder"),
    ("old-output-in-corpus-folder", ["train", "data/", "-o", "data/a.txt"], 1, "lies in the corpus folder"),
    ("vocab-in-corpus-folder", ["vocab", "data", "-o", "data/vocab.txt"], 1, "lies in the corpus folder"),
    # 2. special files are never replaced
    ("output-is-a-folder", ["train", "c.txt", "-o", "data"], 2, "'data' is a directory"),
    ("output-is-dev-full", ["train", "c.txt", "-o", "/dev/full", "--format", "text"], 1,
     "/dev/full: is a character device"),
    ("convert-to-dev-zero", ["convert", "v.bin", "/dev/zero", "--to", "text"], 1, "is a character device"),
    # 3. protected files
    ("read-only-output", ["train", "c.txt", "-o", "ro.bin"], 1, "ro.bin: is read-only"),
    ("read-only-vocab", ["vocab", "c.txt", "-o", "ro.bin"], 1, "ro.bin: is read-only"),
    ("read-only-convert", ["convert", "v.txt", "ro.bin"], 1, "ro.bin: is read-only"),
    # 5. w2v writes nothing it cannot read back
    ("no-white-space-corpus", ["train", "nows.txt", "-o", "v.bin", "--min-count", "1"], 1,
     "1 distinct token longer than 10,000 bytes is not a word"),
    ("convert-nan", ["convert", "nan.txt", "new.bin"], 1, "nan.txt, line 2: 'nan' is not a finite float32"),
    # 6. impossible headers fail before allocating
    ("huge-header-bin", ["similar", "huge.bin", "a"], 1, "huge.bin, line 1: the header promises 1,000,000,000"),
    ("wide-header-bin", ["similar", "wide.bin", "a"], 1, "wide.bin, line 1: the header promises 3 words"),
    ("27-digit-header", ["similar", "digits.txt", "a"], 1, "digits.txt, line 1: the header promises"),
    # 8. counts that do not fit
    ("count-overflow", ["train", "c.txt", "-o", "new.bin", "--read-vocab", "bigcount.txt"], 1,
     "bigcount.txt, line 1: the count 99999999999999999999999 is larger than 2^53"),
    ("count-near-2^63", ["train", "c.txt", "-o", "new.bin", "--read-vocab", "nearcount.txt"], 1,
     "nearcount.txt, line 1: the count 9000000000000000000 is larger than 2^53"),
    # 12. NaN and infinity
    ("nan-vectors", ["similar", "nan.txt", "a"], 1, "'nan' is not a finite float32"),
    ("overflowing-vectors", ["evaluate", "inf.txt", "--pairs", "voc.txt"], 1, "'1e39' is not a finite float32"),
    # 13. options whose values break the tables
    ("ns-exponent-high", ["train", "c.txt", "-o", "new.bin", "--ns-exponent", "1000"], 2, "--ns-exponent"),
    ("ns-exponent-low", ["train", "c.txt", "-o", "new.bin", "--ns-exponent", "-1000"], 2, "--ns-exponent"),
    # 14. an analogy is three words or an expression with + and -
    ("analogy-four-words", ["analogy", "v.bin", "man", "king", "woman", "queen"], 1, "got 4 words"),
    ("analogy-two-words", ["analogy", "v.bin", "man", "king"], 1, "got 2 words"),
    ("analogy-one-word", ["analogy", "v.bin", "king"], 1, "got 1 word"),
    ("analogy-only-added", ["analogy", "v.bin", "king", "+", "queen"], 1, "subtracts at least one"),
    # 15. one range for every option
    ("alpha-at-the-limit", ["train", "c.txt", "-o", "new.bin", "--alpha", "10"], 2, "--alpha"),
    ("vocab-threads-negative", ["vocab", "c.txt", "--threads", "-1"], 2, "--threads"),
    # the commands added since: phrases and classes keep the same promises
    ("phrases-onto-corpus", ["phrases", "c.txt", "-o", "c.txt"], 1, "c.txt: is the same file as the input"),
    ("phrases-in-corpus-folder", ["phrases", "data", "-o", "data/p.txt"], 1, "lies in the corpus folder"),
    ("phrases-to-dev-full", ["phrases", "c.txt", "-o", "/dev/full"], 1, "is a character device"),
    ("phrases-read-only", ["phrases", "c.txt", "-o", "ro.bin"], 1, "ro.bin: is read-only"),
    ("phrases-empty-corpus", ["phrases", "empty.txt", "-o", "new.txt"], 1, "the corpus is empty"),
    ("classes-onto-vectors", ["classes", "v.bin", "-k", "2", "-o", "v.bin"], 1, "is the same file as the input"),
    ("classes-of-nan", ["classes", "nan.txt", "-k", "1", "-o", "new.txt"], 1, "'nan' is not a finite float32"),
    # a compressed corpus damaged inside its stream (not cut off) is one line, for every command that reads one
    ("damaged-gz-train", ["train", "damaged.txt.gz", "-o", "new.bin"], 1, "damaged.txt.gz: cannot read compressed data"),
    ("damaged-gz-vocab", ["vocab", "damaged.txt.gz", "-o", "new.txt"], 1, "damaged.txt.gz: cannot read compressed data"),
    ("damaged-gz-phrases", ["phrases", "damaged.txt.gz", "-o", "new.txt"], 1,
     "damaged.txt.gz: cannot read compressed data"),
    # compressed data named as text would be a vocabulary of binary noise
    ("gzip-named-txt-train", ["train", "packed.txt", "-o", "new.bin"], 1, "packed.txt: is gzip-compressed data, not text"),
    ("gzip-named-txt-vocab", ["vocab", "packed.txt"], 1, "packed.txt: is gzip-compressed data, not text"),
    ("gzip-named-txt-phrases", ["phrases", "packed.txt", "-o", "new.txt"], 1, "packed.txt: is gzip-compressed data"),
    ("tar-gz-corpus", ["train", "c.tar.gz", "-o", "new.bin"], 1, "c.tar.gz: is a tar archive, not text; unpack it"),
    ("cut-zip-train", ["train", "cut.zip", "-o", "new.bin"], 1, "cut.zip: cannot read compressed data (File is not a zip"),
    ("cut-gz-vectors", ["similar", "cut.txt.gz", "king"], 1, "cut.txt.gz: cannot read compressed data"),
    ("cut-gz-vectors-convert", ["convert", "cut.txt.gz", "new.bin"], 1, "cut.txt.gz: cannot read compressed data"),
    # an output that would not read back as written
    ("phrases-onto-zip", ["phrases", "c.txt", "-o", "new.zip"], 2, "new.zip: the joined text is one text file"),
    ("native-gz-output", ["convert", "v.bin", "new.npz.gz"], 2, "new.npz.gz: a native file is not compressed again"),
    ("native-gz-train", ["train", "c.txt", "-o", "new.npz.gz"], 2, "new.npz.gz: a native file is not compressed again"),
    ("checkpoint-gz", ["train", "c.txt", "-o", "new.bin", "--checkpoint", "m.w2vm.gz"], 2,
     "m.w2vm.gz: a model file is not compressed"),
    # 16. nan, which every comparison with a bound lets through, is no value of any option
    ("checkpoint-every-nan", ["train", "c.txt", "-o", "new.bin", "--checkpoint", "m.w2vm", "--checkpoint-every", "nan"],
     2, "Invalid value for '--checkpoint-every': 'nan' is not a number"),
    ("sample-nan", ["train", "c.txt", "-o", "new.bin", "--sample", "nan"], 2, "'--sample': 'nan' is not a number"),
    ("phrase-threshold-nan", ["train", "c.txt", "-o", "new.bin", "--phrases", "1", "--phrase-threshold", "NaN"], 2,
     "'--phrase-threshold': 'NaN' is not a number"),
] + ([] if zstandard is None else [
    ("cut-zst-train", ["train", "cut.txt.zst", "-o", "new.bin"], 1, "cut.txt.zst: cannot read compressed data"),
    ("cut-zst-vocab", ["vocab", "cut.txt.zst", "-o", "new.txt"], 1, "cut.txt.zst: cannot read compressed data"),
])


@pytest.mark.parametrize("args,code,fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_inputs_and_outputs_change_nothing(tmp_path, args, code, fragment):
    make_folder(tmp_path)
    before = snapshot(tmp_path)
    result = run(tmp_path, args + (SMALL if args[0] == "train" else []))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert fragment in result.output, result.output
    assert len([line for line in result.output.splitlines() if line.startswith("Error")]) == 1, result.output
    assert snapshot(tmp_path) == before  # nothing created, changed or left behind (temporary files included)
    assert not os.path.exists("/dev/full") or stat.S_ISCHR(os.stat("/dev/full").st_mode)


@pytest.mark.parametrize("args", [["vocab", "-"], ["phrases", "-", "-o", "new.txt"],
                                  ["train", "-", "-o", "new.bin", "--phrases", "1"]])
def test_compressed_standard_input_is_refused_under_its_own_name(tmp_path, args):
    """Also where standard input is first saved to a file for two passes: the message names standard
    input, not the temporary file, and nothing is saved or left."""
    make_folder(tmp_path)
    before = snapshot(tmp_path)
    temporary = set(os.listdir(tempfile.gettempdir()))
    result = run(tmp_path, args + (SMALL if args[0] == "train" else []), input=gzip.compress(VARIED_TEXT))
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert errors == ["Error: standard input: is gzip-compressed data, not text; decompress it on the way in "
                      "(zcat, bzcat, xzcat or zstdcat FILE | w2v ...)"], result.output
    assert snapshot(tmp_path) == before
    assert not [n for n in set(os.listdir(tempfile.gettempdir())) - temporary if n.startswith("w2v-")]


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc, a folder where no file can be made")
@pytest.mark.parametrize("args,what", [(["c.txt"], "the encoded corpus"), (["-"], "the encoded corpus"),
                                       (["-", "--phrases", "1"], "a copy of standard input")],
                         ids=["file", "stdin", "stdin-read-twice"])
def test_a_cache_folder_that_takes_no_file_is_named(tmp_path, args, what):
    """--cache-dir names a folder that exists but where no file can be made: one line naming it and
    what was to be written there, before anything is trained, and nothing written."""
    make_folder(tmp_path)
    before = snapshot(tmp_path)
    result = run(tmp_path, ["train"] + args + ["-o", "new.bin", "--cache-dir", "/proc"] + SMALL, input=VARIED_TEXT)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert errors == [f"Error: /proc: cannot write {what} there (No such file or directory); give another folder "
                      f"(--cache-dir)"], result.output
    assert snapshot(tmp_path) == before


def test_stdout_names_are_written_as_streams(tmp_path):
    make_folder(tmp_path)
    for name in ("-", "/dev/stdout"):
        result = run(tmp_path, ["train", "c.txt", "-o", name] + SMALL)
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[0] == "6 4"  # the text header, on standard output
    assert os.path.islink("/dev/stdout")  # still the link it was
    assert run(tmp_path, ["convert", "v.bin", "/dev/null"]).exit_code == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_standard_output_appending_to_the_corpus_is_refused(tmp_path):
    make_folder(tmp_path)
    before = snapshot(tmp_path)
    with open(tmp_path / "c.txt", "ab") as corpus_as_stdout:
        done = subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), "train", "c.txt", "-o", "-"] + SMALL,
                              cwd=tmp_path, stdout=corpus_as_stdout, stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 1 and "standard output is the input c.txt" in done.stderr, done.stderr
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["similar", "v.bin", "king"], ["analogy", "five.bin", "king", "-", "man", "+", "woman"],
                                  ["evaluate", "v.bin", "--pairs", "pairs.tsv"], ["vocab", "c.txt"]],
                         ids=["similar", "analogy", "evaluate", "vocab"])
def test_results_that_cannot_be_written_name_standard_output(tmp_path, args):
    make_folder(tmp_path)
    write(tmp_path / "pairs.tsv", "king\tqueen\t9\nking\tman\t5\nqueen\tman\t4\n")
    write_vectors(str(tmp_path / "five.bin"), ["king", "queen", "man", "woman", "paris"],
                  np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32))
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, os.path.join(ROOT, "cli.py")] + args, cwd=tmp_path, stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error")]
    assert errors == ["Error: standard output: cannot write (No space left on device)"], done.stderr


def test_a_pipe_is_written_in_place(tmp_path):
    make_folder(tmp_path)
    fifo = str(tmp_path / "pipe")
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", fifo], stdout=subprocess.PIPE)
    result = run(tmp_path, ["convert", "v.bin", "pipe", "--to", "text"])
    out = reader.communicate(timeout=30)[0]
    assert result.exit_code == 0, result.output
    assert out.splitlines()[0] == b"3 3" and stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_device_node_is_never_replaced(tmp_path):
    make_folder(tmp_path)
    node = tmp_path / "node"
    try:
        os.mknod(node, 0o644 | stat.S_IFCHR, os.makedev(1, 3))
    except OSError:
        pytest.skip("mknod is not permitted here")
    result = run(tmp_path, ["train", "c.txt", "-o", "node", "--format", "text"] + SMALL)
    assert result.exit_code == 1 and "node: is a character device" in result.output
    assert stat.S_ISCHR(os.lstat(node).st_mode)


def test_force_replaces_a_read_only_file_and_keeps_its_mode(tmp_path):
    make_folder(tmp_path)
    result = run(tmp_path, ["train", "c.txt", "-o", "ro.bin", "--force"] + SMALL)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(tmp_path / "ro.bin").st_mode) == 0o444
    assert len(read_vectors(str(tmp_path / "ro.bin")).words) == 6


def test_a_replaced_file_keeps_its_mode_and_a_link_stays_a_link(tmp_path):
    make_folder(tmp_path)
    os.chmod(tmp_path / "v.txt", 0o640)  # not mkstemp's 0o600
    os.symlink("v.txt", tmp_path / "out-link.txt")
    assert run(tmp_path, ["convert", "v.bin", "out-link.txt"]).exit_code == 0
    assert os.path.islink(tmp_path / "out-link.txt")
    assert stat.S_IMODE(os.stat(tmp_path / "v.txt").st_mode) == 0o640
    assert read_vectors(str(tmp_path / "v.txt")).words == ["king", "queen", "man"]


# -- 4, 5: what a word is; every file we write we read back -------------------------------
#: Every character Python calls white space but word2vec's formats do not (all of Unicode's), and a few
#: invisible ones besides: inside a word they are part of it.
SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace() and chr(c) not in " \t\n\r\x0b\x0c"] + [
    "\u200b", "\ufeff", "\x00"]
NASTY = (["mrs" + s + "of" for s in SPACES] + ["#comment", "PK\x03\x04", "3", "1e5", "nan", "-", "über",
                                                "😀", "e\u0301", "\u202eltr", "x" * 10_000, "y" * 4000 + "é"])


@pytest.mark.parametrize("ext", [".bin", ".txt", ".vec", ".npz"])
def test_the_nastiest_words_and_values_round_trip(tmp_path, ext):
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((len(NASTY), 5)).astype(np.float32)
    matrix[0] = [np.finfo(np.float32).max, -np.finfo(np.float32).max, np.finfo(np.float32).tiny, 1e-45, -0.0]
    path = str(tmp_path / f"v{ext}")
    write_vectors(path, NASTY, matrix, counts=np.arange(len(NASTY)))
    got = read_vectors(path)
    assert got.words == NASTY
    np.testing.assert_array_equal(got.vectors, matrix)
    assert run(tmp_path, ["similar", path, "über", "--topn", "1"]).exit_code == 0


def test_words_with_unicode_spaces_train_and_save(tmp_path):
    words = ["mrs" + s + "of" for s in SPACES if s != "\x00"] + ["plain"]
    rng = np.random.default_rng(1)
    write(tmp_path / "u.txt", "\n".join(" ".join(rng.choice(words, 15)) for _ in range(200)) + "\n")
    for out in ("u.bin", "u.txt.vec", "u.npz"):
        result = run(tmp_path, ["train", "u.txt", "-o", out] + SMALL)
        assert result.exit_code == 0, result.output
        assert sorted(read_vectors(str(tmp_path / out)).words) == sorted(words)


def test_writers_refuse_what_readers_would_refuse_before_creating_a_file(tmp_path):
    eye = np.eye(2, dtype=np.float32)
    for words, matrix, message in [
        (["a b", "c"], eye, "ASCII white space"), (["a", "a"], eye, "listed twice"), (["", "b"], eye, "is empty"),
        (["x" * 10_001, "b"], eye, "10,001 bytes long"), (["\udc80", "b"], eye, "lone surrogate"),
        (["b", "\u00e9" * 5_001], eye, "10,002 bytes long"), (["b", 7], eye, "is an int, not a string"),
        (["a\nb", "c"], eye, "ASCII white space"), (["a", "b\x0c"], eye, "ASCII white space"),
        (["a", "b\r"], eye, "ASCII white space"), (["a", "b", "a"], np.eye(3, dtype=np.float32), "entry 3"),
        (["a", "b"], np.array([[1, np.nan], [0, 1]], np.float32), "not finite"),
        (["a", "b"], np.array([[1, np.inf], [0, 1]], np.float32), "not finite"),
    ]:
        with pytest.raises(ValueError, match=message):
            write_vectors(str(tmp_path / "v.bin"), words, matrix)
    assert os.listdir(tmp_path) == []
    write_vectors(str(tmp_path / "v.bin"), ["\u00e9" * 5_000, "a\u00a0b"], eye)  # 10,000 bytes; a Unicode space
    assert read_vectors(str(tmp_path / "v.bin")).words == ["\u00e9" * 5_000, "a\u00a0b"]


def test_repeated_words_keep_the_first_and_say_so(tmp_path):
    path = write(tmp_path / "dup.txt", "3 2\na 1 0\nb 0 1\na 5 5\n")
    got = read_vectors(path)
    assert got.words == ["a", "b"] and got.repeated == 1 and got.vectors[0].tolist() == [1, 0]
    result = run(tmp_path, ["similar", "dup.txt", "a"])
    assert result.exit_code == 0 and "lists 1 word more than once" in result.output
    assert "a\t" not in result.output  # a word is never its own neighbour


# -- 6, 7: damaged native files --------------------------------------------------------------
def native(path, **changes):
    arrays = dict(format=np.frombuffer(b"w2v-native", np.uint8), version=np.array([1]),
                  vectors=np.zeros((2, 3), np.float32), words=np.frombuffer(b"a\nb", np.uint8),
                  meta=np.frombuffer(b"{}", np.uint8))
    arrays.update(changes)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return str(path)


def crafted_shape(path):
    import zipfile
    native(path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["vectors.npy"] = members["vectors.npy"].replace(b"(2, 3)", b"(2000000000, 3000)")
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return str(path)


@pytest.mark.parametrize("make,message", [
    (lambda p: native(p, version=np.array(1)), "'version' is a int64 array of shape ()"),
    (lambda p: native(p, version=np.array([], np.int64)), "'version' must hold one integer"),
    (lambda p: native(p, version=np.array([99])), "version 99 is not one this w2v reads"),
    (lambda p: native(p, meta=np.frombuffer(b"[1, 2]", np.uint8)), "'meta' is not a JSON object"),
    (lambda p: native(p, counts=np.array(["1", "2"])), "'counts' is a <U1 array"),
    (lambda p: native(p, counts=np.array([-1, 2])), "negative counts"),
    (lambda p: native(p, vectors=np.zeros((2, 3), np.float64)), "'vectors' is a float64 array"),
    (lambda p: native(p, vectors=np.array([[1, 2, np.nan], [0, 0, 0]], np.float32)), "is not finite"),
    (lambda p: native(p, words=None), "no 'words' array"),
    (lambda p: native(p, words=np.frombuffer(b"a", np.uint8)), "1 words, vectors (2, 3)"),
    (crafted_shape, "'vectors' claims shape (2000000000, 3000)"),
])
def test_damaged_native_files_get_one_line_naming_the_file(tmp_path, make, message):
    path = make(tmp_path / "bad.npz")
    result = run(tmp_path, ["similar", path, "a"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "bad.npz" in result.output and message in result.output, result.output


# -- 10: disk space ----------------------------------------------------------------------------
class DiskFull:
    """A file whose every write fails as on a full disk (and its close too, as a failing flush does)."""

    def __init__(self, file, fail_on_close):
        self.file, self.fail_on_close = file, fail_on_close

    @classmethod
    def opener(cls, fdopen, fail_on_close=False):
        return lambda fd, mode: cls(fdopen(fd, mode), fail_on_close)

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    def close(self):
        self.file.close()
        if self.fail_on_close:
            raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_too_little_disk_space_fails_before_training(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple
    make_folder(tmp_path)
    before = snapshot(tmp_path)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10_000, 9_990, 10))  # the outputs need more
    result = run(tmp_path, ["train", "c.txt", "-o", "new.txt", "--save-vocab", "new.vocab"] + SMALL)
    assert result.exit_code == 1, result.output
    assert "not enough free disk space" in result.output and "new.txt" in result.output
    assert "training" not in result.output
    assert snapshot(tmp_path) == before


def test_a_full_disk_while_writing_names_the_file_and_what_to_do(tmp_path, monkeypatch):
    from w2v import files
    make_folder(tmp_path)
    before = snapshot(tmp_path)
    monkeypatch.setattr(files.os, "fdopen", DiskFull.opener(os.fdopen))
    result = run(tmp_path, ["convert", "v.bin", "v.txt"])
    assert result.exit_code == 1
    assert "v.txt: the disk holding" in result.output and "is full" in result.output
    assert "free some space or write the output elsewhere" in result.output
    assert snapshot(tmp_path) == before


def test_a_full_cache_folder_names_the_folder_once(tmp_path, monkeypatch):
    from w2v import encode
    make_folder(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    real_pwrite, spool_fds = os.pwrite, set()
    real_temporary_file = encode.temporary_file

    def temporary_file(*args, **kwargs):
        fd, path = real_temporary_file(*args, **kwargs)
        spool_fds.add(fd)
        return fd, path

    def full(fd, data, offset):  # the cache folder's disk is full; the others are not
        if fd in spool_fds:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_pwrite(fd, data, offset)
    monkeypatch.setattr(encode, "temporary_file", temporary_file)
    monkeypatch.setattr(os, "pwrite", full)
    result = run(tmp_path, ["train", "c.txt", "-o", "new.bin", "--cache-dir", "cache"] + SMALL)
    assert result.exit_code == 1
    assert "cache: cannot write the encoded corpus there" in result.output and "--cache-dir" in result.output
    assert not (tmp_path / "new.bin").exists() and list(cache.iterdir()) == []


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MB file system (tmpfs), where this machine lets the tests mount one."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    yield mount
    subprocess.run(["umount", str(mount)], capture_output=True)


def test_a_really_full_disk(tmp_path, small_disk):
    import shutil
    write(tmp_path / "c.txt", CORPUS)
    write_vectors(str(small_disk / "old.bin"), ["a"], np.ones((1, 2), np.float32))
    old = slurp(small_disk / "old.bin", "rb")
    write(small_disk / "filler", b"\0" * (shutil.disk_usage(small_disk).free - 4096))  # 4 KB are left
    result = run(tmp_path, ["train", "c.txt", "-o", str(small_disk / "old.bin"), "--dim", "300", "--epochs", "1",
                            "--min-count", "1", "-q"])
    assert result.exit_code == 1 and "not enough free disk space" in result.output, result.output
    with pytest.raises(OSError, match="the disk holding .* is full"):  # the library writes without the check
        write_vectors(str(small_disk / "old.bin"), [f"w{i}" for i in range(2000)], np.ones((2000, 50), np.float32))
    assert slurp(small_disk / "old.bin", "rb") == old
    assert sorted(os.listdir(small_disk)) == ["filler", "old.bin"]


# -- 9: no writable cache for Numba ---------------------------------------------------------------
def test_training_without_a_writable_numba_cache(tmp_path):
    import numba.core.config
    if not hasattr(numba.core.config, "CACHE_LOCATOR_CLASSES"):
        pytest.skip("this numba has no NUMBA_CACHE_LOCATOR_CLASSES (numba 0.61 on), which the test takes away")
    write(tmp_path / "c.txt", CORPUS)
    write(tmp_path / "v.vocab", "".join(f"{w} 600\n" for w in ["king", "queen", "man", "woman", "paris", "france"]))
    env = dict(os.environ, NUMBA_CACHE_LOCATOR_CLASSES="ZipCacheLocator")  # no locator finds a folder
    # every kernel this run needs is compiled in memory; the suite's one uncached run is kept short: CBOW's
    # kernel compiles sooner than skip-gram's, and a vocabulary given needs the two encoding kernels, not the
    # counting pass's
    done = subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), "train", "c.txt", "-o", "v.bin",
                           "--dim", "4", "--epochs", "1", "--threads", "1", "--model", "cbow", "--read-vocab",
                           "v.vocab"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("no writable folder for Numba's cache") == 1
    assert len(read_vectors(str(tmp_path / "v.bin")).words) == 6


# -- 11, 15: signals --------------------------------------------------------------------------
def test_sigterm_while_training_exits_143_and_writes_nothing(tmp_path):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(500)]
    write(tmp_path / "big.txt", "\n".join(" ".join(rng.choice(words, 1000)) for _ in range(2000)))
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "cli.py"), "train", "big.txt", "-o", "v.bin",
                                "--epochs", "1000", "--dim", "8", "--threads", "1", "--save-vocab", "v.vocab"],
                               cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    lines = []
    while time.time() < deadline:
        line = process.stderr.readline()
        lines.append(line)
        if line.startswith("training "):
            break
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    stderr = "".join(lines) + process.stderr.read()
    assert process.wait(timeout=60) == 143, stderr
    assert "Traceback" not in stderr
    assert "the vectors were not written (the vocabulary was written to v.vocab)" in stderr
    assert sorted(os.listdir(tmp_path)) == ["big.txt", "v.vocab"]


@pytest.mark.parametrize("started_ignoring, code", [(False, 129), (True, 0)])
def test_a_hangup_stops_training_unless_the_run_was_started_under_nohup(tmp_path, started_ignoring, code):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    write(tmp_path / "c.txt", "\n".join(" ".join(rng.choice(words, 1000)) for _ in range(200)))
    # nohup starts its command with SIGHUP ignored, and a terminal's hangup at logout must not end the run
    disposition = signal.SIG_IGN if started_ignoring else signal.SIG_DFL
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "cli.py"), "train", "c.txt", "-o", "v.bin",
                                "--epochs", "40", "--dim", "8", "--threads", "1"],
                               cwd=tmp_path, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGHUP, disposition))
    lines = []
    deadline = time.time() + 120
    while time.time() < deadline:
        lines.append(process.stderr.readline())
        if lines[-1].startswith("training ") or not lines[-1]:
            break
    time.sleep(0.2)
    process.send_signal(signal.SIGHUP)
    stderr = "".join(lines) + process.stderr.read()
    assert process.wait(timeout=120) == code, stderr
    assert "Traceback" not in stderr
    if started_ignoring:
        assert "trained 8,000,000 words" in stderr and len(read_vectors(str(tmp_path / "v.bin")).words) == 300
    else:
        assert "training interrupted; nothing was written" in stderr
        assert sorted(os.listdir(tmp_path)) == ["c.txt"]


def test_training_whose_standard_error_is_gone_goes_on_and_writes_its_vectors(tmp_path):
    # `w2v train ... 2>&1 | head -1`, a log on a disk that filled, a terminal hung up: reports fail, the run must not
    reader, writer = os.pipe()
    os.close(reader)  # every write to standard error fails with EPIPE, from the first bar on
    try:
        done = subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), "train", SAMPLE, "-o", "v.bin",
                               "--dim", "8", "--epochs", "2"], cwd=tmp_path, stderr=writer, stdout=subprocess.PIPE,
                              timeout=300)
    finally:
        os.close(writer)
    assert done.returncode == 0
    assert len(read_vectors(str(tmp_path / "v.bin")).words) > 700


def test_sigterm_while_writing_leaves_no_temporary_file(tmp_path):
    make_folder(tmp_path)
    before = snapshot(tmp_path)
    script = ("import os, signal\n"
              "import w2v.formats as formats\n"
              "def dying(f, words, vectors, *rest):\n"
              "    f.write(b'partial' * 100000)\n"
              "    os.kill(os.getpid(), signal.SIGTERM)\n"
              "formats._write_text = dying\n"
              "from w2v.cli import main\n"
              "main(['convert', 'v.bin', 'v.txt'])\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 143, done.stderr
    assert "nothing was written" in done.stderr or "interrupted" in done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(tmp_path) == before


def test_ctrl_c_in_query_exits_130(tmp_path):
    make_folder(tmp_path)
    # a shell that starts a job in the background has it ignore SIGINT, and Python then keeps ignoring it:
    # the command starts as a terminal would start it
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "cli.py"), "query", "v.bin"], cwd=tmp_path,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    process.stdin.write("king\n")
    process.stdin.flush()
    assert process.stdout.readline().startswith("# king")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "interrupted" in stderr and "Aborted" not in stderr


def test_ctrl_c_while_the_command_loads_exits_130_without_a_traceback(tmp_path):
    # SIGINT arrives while w2v.cli imports NumPy (an import hook sends it), the tenth of a second after start
    script = ("import os, signal, sys\n"
              "assert 'numpy' not in sys.modules\n"
              "import w2v\n"
              "assert 'numpy' not in sys.modules, 'importing w2v loaded NumPy'\n"
              "class Interrupt:\n"
              "    def find_spec(self, name, path=None, target=None):\n"
              "        if name == 'numpy':\n"
              "            os.kill(os.getpid(), signal.SIGINT)\n"
              "sys.meta_path.insert(0, Interrupt())\n"
              "from w2v.cli import main\n"
              "print('loaded')\n"
              "main(['--help'])\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert done.returncode == 130, done.stderr
    assert done.stderr == "" and done.stdout == ""
    # once loaded, Ctrl-C is the command's again (KeyboardInterrupt: "interrupted", test_ctrl_c_in_query_exits_130)
    check = subprocess.run([sys.executable, "-c", "import signal, w2v.cli\n"
                            "assert signal.getsignal(signal.SIGINT) is signal.default_int_handler"],
                           capture_output=True, text=True, timeout=120,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert check.returncode == 0, check.stderr


def test_a_signal_while_llvm_calls_back_into_python_stops_the_run_after_the_callback(tmp_path):
    # LLVM calls back into Python (llvmlite's ctypes callback) as it emits a kernel's object code, seconds on end
    # while a first run compiles; a KeyboardInterrupt raised in there was printed and dropped ("Exception
    # ignored"), the compile went on broken and the run ended in a traceback. Here SIGTERM arrives inside that
    # callback; the CLI's handler must let it return and stop the run just after
    script = ("import os, signal, sys, time\n"
              "from w2v import cli\n"
              "signal.signal(signal.SIGTERM, cli._stop)\n"
              "import llvmlite.binding.executionengine as ee\n"
              "original, sent = ee.ExecutionEngine.set_object_cache, []\n"
              "def set_object_cache(self, notify_func=None, getbuffer_func=None):\n"
              "    def notify(module, buffer):\n"
              "        if not sent:\n"
              "            sent.append(int(signal.SIGTERM))\n"
              "            os.kill(os.getpid(), signal.SIGTERM)\n"
              "        return notify_func(module, buffer)\n"
              "    return original(self, notify if notify_func else None, getbuffer_func)\n"
              "ee.ExecutionEngine.set_object_cache = set_object_cache\n"
              "import numba\n"
              "try:\n"
              "    numba.njit(lambda x: x + 1)(1)\n"
              "    time.sleep(5)\n"
              "    print('not interrupted')\n"
              "except KeyboardInterrupt:\n"
              "    print('interrupted', sent, cli._stopped_by)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"interrupted [{int(signal.SIGTERM)}] [{int(signal.SIGTERM)}]", done.stdout
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_a_signal_handler_that_calls_the_clis_own_handler_gets_its_keyboard_interrupt(monkeypatch):
    # training's handler (stop_at_chunk_ends) calls the CLI's and catches what it raises: there the CLI's
    # must raise at once, llvmlite's code on the stack or not (nothing is sent again later)
    from w2v import cli
    resent = []
    monkeypatch.setattr(cli.threading, "Timer", lambda *args: resent.append(args))
    monkeypatch.setattr(cli, "_stopped_by", [signal.SIGINT])
    llvmlite_code = {"__name__": "llvmlite.binding.stand_in", "sys": sys}
    exec("def call_back(handler):\n    handler(sys._getframe())\n", llvmlite_code)
    with pytest.raises(KeyboardInterrupt):
        llvmlite_code["call_back"](lambda frame: cli._stop(signal.SIGTERM, frame))
    assert cli._stopped_by == [signal.SIGTERM] and resent == []


@pytest.mark.parametrize("module, deferred", [("llvmlite.binding.stand_in", True), ("numba.core.serialize", True),
                                              ("numba.core.typing.stand_in", False)])
def test_a_signal_in_code_called_back_from_c_is_sent_again_after_it(monkeypatch, module, deferred):
    # a signal handled while Numba's dispatcher has called back into numba.core.serialize (loading a cached
    # kernel's constants) came out of the kernel's call as "SystemError: ... returned a result with an exception
    # set" and a traceback (seen with SIGTERM to a distributed run as it merged counts); there, as in
    # llvmlite's callbacks, the handler sends the signal again once that code has returned
    from w2v import cli
    resent = []
    monkeypatch.setattr(cli.threading, "Timer", lambda *args: types.SimpleNamespace(
        start=lambda: resent.append(args)))
    monkeypatch.setattr(cli, "_stopped_by", [signal.SIGINT])
    code = {"__name__": module, "sys": sys}
    exec(f"def call_back(handler):\n    handler({int(signal.SIGTERM)}, sys._getframe())\n", code)  # as Python does
    if deferred:
        try:
            code["call_back"](cli._stop)
        except KeyboardInterrupt:
            pytest.fail("raised inside the callback")
        assert resent == [(cli.RESEND_SECONDS, signal.raise_signal, (signal.SIGTERM,))]
        assert cli._stopped_by == [signal.SIGINT]
    else:
        with pytest.raises(KeyboardInterrupt):
            code["call_back"](cli._stop)
        assert resent == [] and cli._stopped_by == [signal.SIGTERM]


def test_every_option_has_one_range():
    # the CLI's click types come from w2v.options.LIMITS, and TrainOptions checks the same table:
    # at every bound both accept or both refuse
    import click
    from w2v.cli import train as train_command
    from w2v.options import LIMITS, TrainOptions
    params = {p.name: p for p in train_command.params}
    checked = 0
    for name, limit in LIMITS.items():
        if name not in params:
            continue
        for value in (limit.low, limit.high):
            if value is None:
                continue
            value = limit.kind(value)
            try:
                params[name].type.convert(value, None, None)
                cli_ok = True
            except click.BadParameter:
                cli_ok = False
            try:
                TrainOptions(hs=True, **{name: value}).validate()
                library_ok = True
            except ValueError:
                library_ok = False
            assert cli_ok == library_ok, (name, value, cli_ok, library_ok)
            checked += 1
    assert checked >= 15
