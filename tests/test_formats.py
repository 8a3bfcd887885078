import gzip
import os
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest

from conftest import ROOT, slow_first, slowed, slurp, write
from w2v import formats
from w2v.files import open_output, plan_output
from w2v.formats import detect_format, read_vectors, write_vectors

WORDS = ["the", "über", "a"]
MATRIX = np.array([[0.5, -1.25, 3.0], [1e-8, 2.5e7, -0.0], [0.1, 0.2, 0.3]], dtype=np.float32)


def binary_fixture(words=WORDS, matrix=MATRIX, newline=True):
    """word2vec.c's -binary 1 layout, built by hand."""
    out = [f"{len(words)} {matrix.shape[1]}\n".encode()]  # (joined once: adding to bytes copies them each time)
    for w, row in zip(words, matrix):
        out.append(w.encode() + b" " + struct.pack(f"<{len(row)}f", *row) + (b"\n" if newline else b""))
    return b"".join(out)


def test_binary_is_exactly_word2vec_c_layout(tmp_path):
    path = str(tmp_path / "v.bin")
    write_vectors(path, WORDS, MATRIX)
    assert slurp(path, "rb") == binary_fixture()


@pytest.mark.parametrize("newline", [True, False])
def test_reads_hand_built_binary_with_and_without_row_newlines(tmp_path, newline):
    path = write(tmp_path / "v.bin", binary_fixture(newline=newline))
    got = read_vectors(path)
    assert got.words == WORDS
    np.testing.assert_array_equal(got.vectors, MATRIX)


def test_reads_hand_built_text_with_trailing_spaces(tmp_path):
    text = "3 3\nthe 0.5 -1.25 3 \nüber 1e-08 25000000 -0 \na 0.1 0.2 0.3\n"
    got = read_vectors(write(tmp_path / "v.txt", text.encode()))
    assert got.words == WORDS
    np.testing.assert_array_equal(got.vectors, MATRIX)


@pytest.mark.parametrize("ext", [".bin", ".txt", ".vec", ".npz"])
def test_round_trip_is_exact_in_every_format(tmp_path, ext):
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((50, 7)).astype(np.float32)
    words = [f"w{i}é" for i in range(50)]
    path = str(tmp_path / f"v{ext}")
    write_vectors(path, words, matrix, counts=np.arange(50, 0, -1), meta={"dim": 7})
    got = read_vectors(path)
    assert got.words == words
    np.testing.assert_array_equal(got.vectors, matrix)
    assert detect_format(path) == formats.format_for_path(path)
    if ext == ".npz":
        assert got.meta == {"dim": 7} and got.counts.tolist() == list(range(50, 0, -1))
    assert read_vectors(path, limit=5).words == words[:5]


def test_native_format_never_unpickles(tmp_path):
    path = str(tmp_path / "evil.npz")
    np.savez(path, format=np.frombuffer(b"w2v-native", np.uint8), version=np.array([1]),
             vectors=np.zeros((1, 2), np.float32), words=np.array([object()], dtype=object),
             meta=np.frombuffer(b"{}", np.uint8))
    with pytest.raises(ValueError, match="evil.npz"):
        read_vectors(path)


@pytest.mark.parametrize("name,data,message", [
    ("trunc.bin", binary_fixture()[:-10], r"byte \d+: the file ends inside word 3 of the 3"),
    ("count.bin", binary_fixture().replace(b"3 3\n", b"4 3\n", 1), "line 1: the header promises 4 words"),
    ("extra.bin", binary_fixture().replace(b"3 3\n", b"2 3\n", 1), "data after the 2 words"),
    ("header.bin", b"hello world\n" + binary_fixture()[4:], "line 1: expected a header"),
    ("short.txt", b"2 3\na 1 2 3\nb 1 2\n", "line 3: expected a word and 3 numbers, got 2"),
    ("float.txt", b"1 2\na 1 x2\n", "line 2: b'x2' is not a number"),
    ("utf8.txt", b"1 2\n\xff\xfe 1 2\n", "line 2: the word .* is not valid UTF-8"),
    ("few.txt", b"3 2\na 1.0000000 2.0000000\n", "line 3: the file ends after 1 of the 3 words"),
    ("many.txt", b"1 2\na 1 2\nb 3 4\n", "line 3: more lines than the 1 words"),
    ("empty.txt", b"", "line 1: expected a header"),
    ("zip.npz", b"PK\x03\x04garbage", "damaged native vectors file"),
])
def test_damaged_files_get_errors_naming_file_and_place(tmp_path, name, data, message):
    path = write(tmp_path / name, data)
    fmt = {"bin": "binary", "txt": "text", "npz": "native"}[name.rsplit(".", 1)[1]]
    with pytest.raises(ValueError, match=message) as info:
        read_vectors(path, fmt=fmt)
    assert name in str(info.value)


def test_a_fasttext_model_is_named_as_one(tmp_path):
    path = write(tmp_path / "cc.en.300.bin", struct.pack("<ii", 793712314, 12) + bytes(200))
    with pytest.raises(ValueError, match="cc.en.300.bin: a fastText model, not a vectors file; .*the .vec file"):
        read_vectors(path)


def test_gensims_pickled_models_are_named_and_never_unpickled(tmp_path, monkeypatch):
    import pickle
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("unpickled"))
    for protocol in (2, 4, 5):
        path = write(tmp_path / "w.kv", pickle.dumps({"vectors": [1, 2]}, protocol=protocol))
        with pytest.raises(ValueError, match=r"w.kv: a Python pickle .* model.wv.save_word2vec_format\('vectors.bin'"):
            read_vectors(path)


def test_a_spark_model_folder_is_named_as_one(tmp_path):
    # what Spark's Word2VecModel.save writes: metadata/part-00000 (a JSON line naming the class), data/ (Parquet)
    model = tmp_path / "spark-w2v"
    (model / "metadata").mkdir(parents=True)
    (model / "data").mkdir()
    write(model / "metadata" / "part-00000", '{"class":"org.apache.spark.ml.feature.Word2VecModel","uid":"w"}\n')
    with pytest.raises(ValueError, match="spark-w2v: a Spark Word2VecModel .*model.getVectors"):
        read_vectors(str(model))
    write(model / "metadata" / "part-00000", '{"class":"org.apache.spark.ml.feature.PCAModel"}\n')
    with pytest.raises(OSError, match="spark-w2v: is a folder, not a vectors file"):
        read_vectors(str(model))


def test_non_utf8_word_in_binary(tmp_path):
    path = write(tmp_path / "v.bin", binary_fixture(words=["ok", "b\xe4d", "a"]).replace("b\xe4d".encode(), b"b\xe4d"))
    with pytest.raises(ValueError, match=r"v.bin, byte \d+: the word b'b\\xe4d' is not valid UTF-8"):
        read_vectors(path)
    assert read_vectors(path, unicode_errors="replace").words[1] == "b\ufffdd"


@pytest.mark.parametrize("newline", [True, False])
def test_a_large_binary_file_reads_exactly_across_its_read_blocks(tmp_path, newline):
    # 6,000 rows of 200 floats (4.8 MB, past the reader's 4 MB blocks); the rows hold spaces and newlines
    rng = np.random.default_rng(5)
    matrix = rng.standard_normal((6000, 200)).astype(np.float32)
    matrix[::7, 3] = struct.unpack("<f", b"\x20\x0a\x20\x0a")[0]  # a row whose bytes look like separators
    words = [f"w{i}" + "é" * (i % 4) + "\u4e2d" * (i % 3) for i in range(6000)]
    path = write(tmp_path / "big.bin", binary_fixture(words, matrix, newline=newline))
    got = read_vectors(path)
    assert got.words == words
    np.testing.assert_array_equal(got.vectors, matrix)
    assert read_vectors(path, limit=5500).words == words[:5500]  # past the first block too


def test_binary_words_decode_as_each_would_alone(tmp_path):
    raws = [b"ok", b"ab\xe2\x82", b"\xffx", b"\xe4z", b"fine\xc3\xa9"]  # cut or invalid sequences at either end
    data = f"{len(raws)} 2\n".encode() + b"".join(r + b" " + struct.pack("<2f", 1, 2) + b"\n" for r in raws)
    path = write(tmp_path / "v.bin", data)
    for errors in ("replace", "ignore"):
        assert read_vectors(path, unicode_errors=errors).words == [r.decode("utf-8", errors) for r in raws]
    with pytest.raises(ValueError, match=r"v.bin, byte 15: the word b'ab\\xe2\\x82' is not valid UTF-8"):
        read_vectors(path)


@pytest.mark.parametrize("fmt", ["binary", "text"])
def test_words_that_are_not_utf8_are_counted_where_a_handler_reads_them(tmp_path, fmt):
    # word2vec.c's files: a Latin-1 word, and a word shortened inside a character (\xe2\x82 of a 3-byte euro sign)
    raws = [b"ok", b"caf\xe9", b"fine\xc3\xa9", b"price\xe2\x82"]
    rows = [r + (b" " + struct.pack("<2f", 1, i) + b"\n" if fmt == "binary" else f" 1 {i}\n".encode())
            for i, r in enumerate(raws)]
    path = write(tmp_path / ("v.bin" if fmt == "binary" else "v.txt"), b"4 2\n" + b"".join(rows))
    for errors in ("replace", "ignore", "backslashreplace"):
        got = read_vectors(path, unicode_errors=errors)
        assert got.words == [r.decode("utf-8", errors) for r in raws] and got.not_utf8 == 2
        assert got.vectors[:, 1].tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match=r"b'caf\\xe9' is not valid UTF-8 \(.*unicode_errors='replace'"):
        read_vectors(path)
    with pytest.raises(ValueError, match="unicode_errors 'latin-1' is not an error handler"):
        read_vectors(path, unicode_errors="latin-1")
    assert read_vectors(write(tmp_path / "fine.txt", b"1 2\nok 1 0\n"), unicode_errors="replace").not_utf8 == 0


def test_words_that_read_alike_once_replaced_keep_the_first(tmp_path):
    # two words differing only in their bad bytes read as one word: the first entry is kept, as for any repeat
    path = write(tmp_path / "v.txt", b"3 2\na\xe9 1 0\nb 0 1\na\xff 5 5\n")
    got = read_vectors(path, unicode_errors="replace")
    assert got.words == ["a\ufffd", "b"] and got.repeated == 1 and got.not_utf8 == 2
    assert got.vectors[0].tolist() == [1, 0]


@pytest.mark.parametrize("record,message", [
    (b" " + struct.pack("<2f", 1, 2), r"byte 15: empty word at entry 2"),
    (b"\n\n " + struct.pack("<2f", 1, 2), r"byte 15: empty word at entry 2"),
    (b"x" * 10_002 + b" " + struct.pack("<2f", 1, 2), r"byte 15: no word found \(no space within 10,000 bytes"),
    (b"a\nb " + struct.pack("<2f", 1, 2), r"entry 2, the word 'a\\nb', .*white space"),
])
def test_bad_binary_records_are_named_with_their_place(tmp_path, record, message):
    data = b"2 2\nok " + struct.pack("<2f", 3, 4) + b"\n" + record + b"\n"
    path = write(tmp_path / "bad.bin", data)
    with pytest.raises(ValueError, match=message):
        read_vectors(path, fmt="binary")


def test_missing_file_is_an_oserror(tmp_path):
    with pytest.raises(OSError, match="nope.bin: cannot read"):
        read_vectors(str(tmp_path / "nope.bin"))


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = str(tmp_path / "v.bin")
    write_vectors(path, WORDS, MATRIX)
    before = slurp(path, "rb")

    def explode(f, words, vectors, *rest):
        f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(formats, "_write_binary", explode)
    with pytest.raises(KeyboardInterrupt):
        write_vectors(path, ["x"], MATRIX[:1])
    assert slurp(path, "rb") == before
    assert os.listdir(tmp_path) == ["v.bin"]


def test_bad_output_paths_fail_before_writing(tmp_path):
    with pytest.raises(OSError, match="does not exist"):
        write_vectors(str(tmp_path / "no" / "v.bin"), WORDS, MATRIX)
    with pytest.raises(ValueError, match="cannot tell the format"):
        write_vectors(str(tmp_path / "v.dat"), WORDS, MATRIX)
    with pytest.raises(ValueError, match="white space"):
        write_vectors(str(tmp_path / "v.bin"), ["a b", "c", "d"], MATRIX)
    with pytest.raises(OSError, match="is a folder"):
        plan_output(str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_atomic_output_keeps_permissions_sane(tmp_path):
    path = str(tmp_path / "f.txt")
    with open_output(path, "w") as f:
        f.write("x")
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~_umask()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


FULL_DISK = """
import errno, gc, io, os, sys
from w2v import files


class Full(io.FileIO):  # a file on a disk with no space left
    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")


os.fdopen = lambda fd, mode: Full(fd, mode)  # the temporary file open_output writes
for name, mode, compress in (("v.bin", "wb", False), ("v.txt", "w", False), ("v.txt.gz", "w", True)):
    try:
        with files.open_output(os.path.join(sys.argv[1], name), mode, compress=compress) as f:
            f.write(b"x" * 100 if mode == "wb" else "x" * 100)
    except OSError as error:
        print(error)
    gc.collect()
"""


def test_a_write_failed_by_a_full_disk_leaves_nothing_for_a_finalizer_to_write(tmp_path):
    """When the flush at the end of an output fails (a full disk), its buffered wrappers cannot be detached
    (detaching flushes); collected later, they flushed into the given-up file and raised ("Exception ignored
    in: <_io.BufferedWriter>", printed by Python 3.13, and by Python's development mode on any version)."""
    done = subprocess.run([sys.executable, "-X", "dev", "-c", FULL_DISK, str(tmp_path)], capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, PYTHONPATH=ROOT))
    assert done.returncode == 0, done.stderr
    assert [os.path.basename(line.split(":")[0]) for line in done.stdout.splitlines()] == ["v.bin", "v.txt", "v.txt.gz"]
    assert all("is full (No space left on device)" in line for line in done.stdout.splitlines())
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert os.listdir(tmp_path) == []


def with_header_and_rows(tmp_path, words, dim, seed):
    """A word2vec text file of random rows for ``words`` (written by w2v), and its rows' lines without the header."""
    path = str(tmp_path / "h.txt")
    write_vectors(path, words, np.random.default_rng(seed).standard_normal((len(words), dim)).astype(np.float32))
    return path, slurp(path, "rb").split(b"\n")[1:-1]


@pytest.mark.parametrize("ending", ["\n", "", "\n\n \n"])
def test_text_without_a_header_is_read_as_with_one(tmp_path, monkeypatch, ending):
    # GloVe's files: the rows alone. Read across many blocks (a small read size), whole or the first rows,
    # plain and compressed, to the same words, numbers and lengths as the file with its header
    monkeypatch.setattr(formats, "_TEXT_READ_BYTES", 4096)
    words = [f"w{i}é" for i in range(700)]
    with_header, lines = with_header_and_rows(tmp_path, words, 7, seed=9)
    rows = b"\n".join(lines) + ending.encode()
    plain, packed = write(tmp_path / "glove.txt", rows), str(tmp_path / "glove.txt.gz")
    with gzip.open(packed, "wb") as f:
        f.write(rows)
    expected = read_vectors(with_header)
    for path in (plain, packed):
        assert detect_format(path) == "text"
        got = read_vectors(path)
        assert got.words == words
        np.testing.assert_array_equal(got.vectors, expected.vectors)
        np.testing.assert_array_equal(got.norms, expected.norms)
        for limit in (1, 299, 700, 701, 800):
            assert read_vectors(path, limit=limit).words == words[:limit]
    # the first rows of a cut compressed file are read as with a header: the count stops at the limit too
    whole = slurp(packed, "rb")
    cut = write(tmp_path / "cut.txt.gz", whole[:len(whole) // 2])
    assert read_vectors(cut, limit=5).words == words[:5]
    with pytest.raises(OSError, match="cut.txt.gz: cannot read compressed data"):
        read_vectors(cut)


def test_a_zip_archive_of_one_vectors_file_is_read_as_that_file(tmp_path):
    # fastText's wiki-news-300d-1M.vec.zip and crawl-300d-2M.vec.zip are downloaded so; GloVe's zip holds four
    import zipfile
    words = [f"w{i}" for i in range(300)]
    with_header, lines = with_header_and_rows(tmp_path, words, 5, seed=12)
    expected = read_vectors(with_header)
    binary = str(tmp_path / "v.bin")
    write_vectors(binary, words, expected.vectors)
    members = {"wiki.vec": slurp(with_header, "rb"), "glove.txt": b"\n".join(lines) + b"\n",
               "v.bin": slurp(binary, "rb")}
    for name, data in members.items():
        for method in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
            path = str(tmp_path / f"{name}.zip")
            with zipfile.ZipFile(path, "w", method) as archive:
                archive.writestr(name, data)
            got = read_vectors(path)
            assert got.words == words and detect_format(path) in ("text", "binary")
            np.testing.assert_array_equal(got.vectors, expected.vectors)
            assert read_vectors(path, limit=7).words == words[:7]
    with zipfile.ZipFile(tmp_path / "glove.6B.zip", "w") as archive:
        for dim in (50, 100, 200, 300, 400):
            archive.writestr(f"glove.6B.{dim}d.txt", b"a 1\n")
    with pytest.raises(ValueError, match=r"glove.6B.zip: a zip archive of 5 files \(glove.6B.50d.txt, .*, \.\.\.\); "
                                         r"unzip the one to read"):
        read_vectors(str(tmp_path / "glove.6B.zip"))
    damaged = bytearray(slurp(tmp_path / "wiki.vec.zip", "rb"))  # stored: a changed byte fails its CRC
    damaged[len(damaged) // 2] ^= 1
    with pytest.raises(ValueError, match="damaged.zip: a damaged zip archive"):
        read_vectors(write(tmp_path / "damaged.zip", bytes(damaged)))


def test_glove_rows_whose_word_holds_spaces_are_left_out(tmp_path, monkeypatch):
    # glove.840B.300d.txt has rows like ". . . 0.1 ..." and "at name@domain.com 0.1 ...": a word holds no white
    # space, so those rows are left out (counted) and the rest read as the file without them, across read
    # blocks, with the rows after each moved up a few at a time
    monkeypatch.setattr(formats, "_TEXT_READ_BYTES", 4096)
    monkeypatch.setattr(formats, "_MOVE_ROWS", 7)
    words = [f"w{i}" for i in range(600)]
    plain, rows = with_header_and_rows(tmp_path, words, 5, seed=10)
    spaced = {1: b". . .", 2: b"a b", 250: b"at name@domain.com", 251: b". .", 599: b"x y z"}
    lines = []
    for i, row in enumerate(rows):
        if i in spaced:
            lines.append(spaced[i] + b" " + b" ".join(b"%d" % k for k in range(5)))
        lines.append(row)
    got = read_vectors(write(tmp_path / "glove.txt", b"\n".join(lines) + b"\n"))
    expected = read_vectors(plain)
    assert got.words == words and got.spaced == 5
    np.testing.assert_array_equal(got.vectors, expected.vectors)
    np.testing.assert_array_equal(got.norms, expected.norms)
    with pytest.raises(ValueError, match="line 3: expected a word and 2 numbers, got 3 numbers"):
        read_vectors(write(tmp_path / "h.txt", b"2 2\na 1 2\n. . 1 2\n"))  # with a header: word2vec's, refused
    with pytest.raises(ValueError, match="line 1: expected a header"):  # a first line must be a row to be taken
        read_vectors(write(tmp_path / "s.txt", b". . 1 2\na 1 2\n"))     # for one: a corpus's may end in a number


@pytest.mark.parametrize("text,message", [
    (b"a 1 2\nb 3 4\nc 5 x\n", r"line 3: b'x' is not a number \(read as text without a header line, as GloVe's "
                                r"files are, since line 1 is a word and 2 numbers\)"),  # a row's line: no header
    (b"a 1 2\nb 3\n", "line 2: expected a word and 2 numbers, got 1 numbers"),
    (b"a 1 2\n\nb 3 4\n", "line 2: a blank line; expected a word and 2 numbers"),
    (b"a b c\n", "line 1: expected a header 'VOCAB_SIZE DIMENSION', got 'a b c'"),  # not a row either
])
def test_text_without_a_header_names_the_line_of_a_problem(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_vectors(write(tmp_path / "g.txt", text))


def test_a_first_line_of_two_integers_is_a_header_and_a_word_with_one_number_a_row(tmp_path):
    assert read_vectors(write(tmp_path / "h.txt", b"2 1\n5 0.5\nb 1\n")).words == ["5", "b"]
    got = read_vectors(write(tmp_path / "r.txt", b"a 0.5\n5 1\n"))  # dimension 1, no header
    assert got.words == ["a", "5"] and got.vectors.tolist() == [[0.5], [1.0]]


# -- gensim, both ways (the test extra installs gensim) --------------------------------
gensim_models = pytest.importorskip("gensim.models")


def test_gensim_reads_our_vocabulary_file_beside_our_vectors(tmp_path):
    # load_word2vec_format(fvocab=...) takes each word's count from a vocabulary file: ours starts with
    # word2vec.c's "</s> 0", which names no vector here
    from w2v.vocab import Vocabulary
    words, counts = ["the", "a", "über"], [10, 7, 3]
    write_vectors(str(tmp_path / "v.bin"), words, np.eye(3, dtype=np.float32))
    Vocabulary(words, counts).save(str(tmp_path / "v.vocab"))
    kv = gensim_models.KeyedVectors.load_word2vec_format(str(tmp_path / "v.bin"), binary=True,
                                                         fvocab=str(tmp_path / "v.vocab"))
    assert list(kv.index_to_key) == words and [kv.get_vecattr(w, "count") for w in words] == counts


def test_we_read_the_text_gensim_writes_without_a_header(tmp_path):
    kv = gensim_models.KeyedVectors(vector_size=4)
    kv.add_vectors(["a", "bé", "c"], np.arange(12, dtype=np.float32).reshape(3, 4) / 7)
    theirs = str(tmp_path / "g.txt")
    kv.save_word2vec_format(theirs, binary=False, write_header=False)
    got = read_vectors(theirs)
    assert got.words == ["a", "bé", "c"]
    np.testing.assert_array_equal(got.vectors, kv.vectors)


@pytest.mark.parametrize("binary", [True, False])
def test_gensim_reads_ours_exactly(tmp_path, binary):
    rng = np.random.default_rng(5)
    matrix = rng.standard_normal((30, 11)).astype(np.float32)
    words = [f"w{i}ß" for i in range(30)]
    path = str(tmp_path / ("v.bin" if binary else "v.txt"))
    write_vectors(path, words, matrix)
    kv = gensim_models.KeyedVectors.load_word2vec_format(path, binary=binary)
    assert list(kv.index_to_key) == words
    np.testing.assert_array_equal(kv.vectors, matrix)


@pytest.mark.parametrize("binary", [True, False])
def test_we_read_gensims_exactly_and_round_trip_bytes(tmp_path, binary):
    rng = np.random.default_rng(6)
    kv = gensim_models.KeyedVectors(vector_size=9)
    words = [f"g{i}ü" for i in range(25)]
    kv.add_vectors(words, rng.standard_normal((25, 9)).astype(np.float32))
    theirs = str(tmp_path / ("g.bin" if binary else "g.txt"))
    kv.save_word2vec_format(theirs, binary=binary)
    got = read_vectors(theirs)
    assert got.words == words
    np.testing.assert_array_equal(got.vectors, kv.vectors)
    # ours -> gensim -> ours: the same bytes as our first file
    ours = str(tmp_path / ("o.bin" if binary else "o.txt"))
    write_vectors(ours, got.words, got.vectors)
    again = gensim_models.KeyedVectors.load_word2vec_format(ours, binary=binary)
    ours2 = str(tmp_path / ("o2.bin" if binary else "o2.txt"))
    write_vectors(ours2, list(again.index_to_key), again.vectors)
    assert slurp(ours, "rb") == slurp(ours2, "rb")


def test_text_is_written_in_blocks_with_the_same_bytes_as_row_by_row(tmp_path):
    # rows are formatted a block at a time (bounded memory); the bytes are those of one row at a time
    rng = np.random.default_rng(8)
    n = 2 * formats._TEXT_BLOCK_ROWS + 7
    matrix = (rng.standard_normal((n, 3)) * 10.0 ** rng.integers(-20, 20, (n, 1))).astype(np.float32)
    words = [f"w{i}\u00a0x" for i in range(n)]
    path = str(tmp_path / "v.txt")
    write_vectors(path, words, matrix)
    expected = f"{n} 3\n" + "".join(w + " " + " ".join("%.9g" % x for x in row) + "\n"
                                      for w, row in zip(words, matrix.tolist()))
    assert slurp(path, "rb") == expected.encode("utf-8")


def rows_one_by_one(text: bytes, dim: int):
    """The words and float32 vectors of a text file's rows, each number by Python's float."""
    lines = text.split(b"\n")[1:]
    words, rows = [], []
    for line in lines:
        if line:
            parts = line.rstrip(b" ").split(b" ")
            words.append(parts[0].decode())
            rows.append([float(x) for x in parts[1:]])
    return words, np.array(rows, dtype=np.float64).astype(np.float32).reshape(-1, dim)


@pytest.mark.parametrize("read_bytes", [300, 4096, 1 << 22])
def test_text_reads_exactly_across_its_blocks(tmp_path, monkeypatch, read_bytes):
    # blocks of whole rows are parsed by array operations in threads; every number must be float()'s
    monkeypatch.setattr(formats, "_TEXT_READ_BYTES", read_bytes)
    rng = np.random.default_rng(9)
    n, dim = 1500, 5
    values = rng.standard_normal((n, dim)) * 10.0 ** rng.integers(-7, 7, (n, dim))
    styles = ["%.9g", "%f", "%.17g", "%e", "%.3f", "%.0f"]
    lines = [f"w{i}é " + " ".join(styles[(i + j) % len(styles)] % x for j, x in enumerate(row)) + " " * (i % 2)
             for i, row in enumerate(values)]
    lines[700] += "\r\r"  # two carriage returns: that block is read row by row
    text = (f"{n} {dim}\n" + "\n".join(lines)).encode()  # the last row has no newline
    path = write(tmp_path / "v.txt", text)
    words, matrix = rows_one_by_one(text.replace(b"\r", b""), dim)
    got = read_vectors(path)
    assert got.words == words
    np.testing.assert_array_equal(got.vectors.view(np.int32), matrix.view(np.int32))
    # the lengths found as each block's rows are written, the row-by-row block's too, are row_norms'
    assert got.norms.tobytes() == formats.row_norms(matrix).tobytes()
    for limit in (1, 777, n - 1):
        part = read_vectors(path, limit=limit)
        assert part.words == words[:limit] and part.vectors.shape == (limit, dim)
        assert part.norms.tobytes() == formats.row_norms(matrix[:limit]).tobytes()
    crlf = read_vectors(write(tmp_path / "crlf.txt", text.replace(b"\r", b"").replace(b"\n", b"\r\n")))
    assert crlf.words == words and np.array_equal(crlf.vectors.view(np.int32), matrix.view(np.int32))
    write(tmp_path / "more.txt", text + b"\nextra 1 2 3 4 5\n")
    with pytest.raises(ValueError, match=f"line {n + 2}: more lines than the {n} words"):
        read_vectors(str(tmp_path / "more.txt"))


@pytest.mark.parametrize("read_bytes", [64, 700, 1 << 22])
def test_text_rows_longer_than_a_read_are_read_and_every_buffer_is_given_back(tmp_path, monkeypatch, read_bytes):
    # blocks are parsed where they were read; a row cut by a read's end goes in front of the next read,
    # or, longer than that room (the read's size), into a block of its own
    from w2v import readahead
    monkeypatch.setattr(formats, "_TEXT_READ_BYTES", read_bytes)
    taken, given = [], []
    original_next, original_give_back = readahead.ReadAhead.next, readahead.ReadAhead.give_back
    monkeypatch.setattr(readahead.ReadAhead, "next",
                        lambda self: (lambda r: (taken.append(r[0]), r)[1])(original_next(self)))
    monkeypatch.setattr(readahead.ReadAhead, "give_back", lambda self, i: (given.append(i), original_give_back(self, i)))
    rng = np.random.default_rng(3)
    n, dim = 300, 40
    values = rng.standard_normal((n, dim)) * 10.0 ** rng.integers(-3, 3, (n, dim))
    lines = [f"w{i} " + " ".join(("%.17g" if i % 7 == 0 else "%.4f") % x for x in row) for i, row in enumerate(values)]
    text = (f"{n} {dim}\n" + "\n".join(lines) + "\n").encode()  # rows of ~300 to ~900 bytes
    path = write(tmp_path / "v.txt", text)
    words, matrix = rows_one_by_one(text, dim)
    got = read_vectors(path)
    assert got.words == words
    np.testing.assert_array_equal(got.vectors.view(np.int32), matrix.view(np.int32))
    assert sorted(taken) == sorted(given) and len(taken) >= len(text) // read_bytes
    part = read_vectors(path, limit=123)
    assert part.words == words[:123] and np.array_equal(part.vectors.view(np.int32), matrix[:123].view(np.int32))
    lines[250] += " x"  # the first problem is still named by its line, whatever block it fell in
    with pytest.raises(ValueError, match=r"v.txt, line 252: expected a word and 40 numbers, got 41"):
        read_vectors(write(tmp_path / "v.txt", (f"{n} {dim}\n" + "\n".join(lines)).encode()))


def test_a_text_buffer_is_read_into_again_only_after_its_block_is_finished(tmp_path, monkeypatch):
    # blocks are parsed where they were read, by other threads; slowed down, a parse would see a later
    # block's bytes if its buffer were read into again before the block was finished
    monkeypatch.setattr(formats, "_TEXT_READ_BYTES", 2048)
    monkeypatch.setattr(formats, "parse_rows", slowed(formats.parse_rows, 0.005))
    rng = np.random.default_rng(8)
    n, dim = 2_000, 10
    values = rng.standard_normal((n, dim))
    text = (f"{n} {dim}\n" + "".join(f"w{i} " + " ".join("%.6f" % x for x in row) + "\n"
                                    for i, row in enumerate(values))).encode()
    words, matrix = rows_one_by_one(text, dim)
    got = read_vectors(write(tmp_path / "v.txt", text))
    assert got.words == words
    np.testing.assert_array_equal(got.vectors.view(np.int32), matrix.view(np.int32))


@pytest.mark.parametrize("read_bytes", [64, 1 << 22])
def test_text_reports_the_first_problem_in_the_file_whatever_its_blocks(tmp_path, monkeypatch, read_bytes):
    monkeypatch.setattr(formats, "_TEXT_READ_BYTES", read_bytes)
    rows = [f"w{i} {i}.5 -{i}.25" for i in range(200)]
    rows[30] = "w30 1e39 2"  # not a float32 number
    rows[150] = "w150 1 2 3"  # a row too long, in a later block
    text = ("210 2\n" + "\n".join(rows) + "\n").encode()  # and the file ends early
    with pytest.raises(ValueError, match=r"v.txt, line 32: '1e39' is not a finite float32 number"):
        read_vectors(write(tmp_path / "v.txt", text))
    rows[30] = "w30 1 2"
    with pytest.raises(ValueError, match=r"v.txt, line 152: expected a word and 2 numbers, got 3"):
        read_vectors(write(tmp_path / "v.txt", ("210 2\n" + "\n".join(rows) + "\n").encode()))
    rows[150] = "w150 1 2"
    with pytest.raises(ValueError, match=r"v.txt, line 202: the file ends after 200 of the 210 words"):
        read_vectors(write(tmp_path / "v.txt", ("210 2\n" + "\n".join(rows) + "\n").encode()))
    rows[100] = "w\xff 1 2"
    data = ("200 2\n" + "\n".join(rows) + "\n").encode().replace("w\xff".encode(), b"w\xff")
    with pytest.raises(ValueError, match=r"v.txt, line 102: the word b'w\\xff' is not valid UTF-8"):
        read_vectors(write(tmp_path / "v.txt", data))
    rows[103] = "w103 1 x"  # after the bad word, in the same block
    data = ("200 2\n" + "\n".join(rows) + "\n").encode().replace("w\xff".encode(), b"w\xff")
    with pytest.raises(ValueError, match=r"v.txt, line 102: the word b'w\\xff' is not valid UTF-8"):
        read_vectors(write(tmp_path / "v.txt", data))


def test_repeats_are_found_whatever_the_words_hashes(monkeypatch):
    # hashes sorted and compared decide the usual case; equal hashes (a collision) leave it to a set
    words = [f"w{i}" for i in range(1000)]
    assert formats.all_distinct(words) and not formats.all_distinct(words + ["w500"])
    from w2v import words as words_module
    monkeypatch.setattr(words_module, "hash", lambda w: 7, raising=False)  # every hash collides
    assert formats.all_distinct(words) and not formats.all_distinct(words + ["w500"])
    assert formats._all_fine(words) and not formats._all_fine(words[:10] + ["w3"])
    assert not formats._all_fine(["a", 7]) and not formats._all_fine(["a", ""])


def test_text_written_by_the_compiled_formatter_is_pythons_byte_for_byte(tmp_path, monkeypatch):
    from w2v import kernels
    rng = np.random.default_rng(4)
    matrix = (rng.standard_normal((2500, 7)) * 0.1).astype(np.float32)
    matrix[3, 2], matrix[1030, 0], matrix[2047, 6], matrix[2048, 1] = -0.0, 1e-5, -3e9, 5e-5  # zeros, exponents
    matrix[2049, 3] = 7.387182e-06  # scaled, half an integer within 1e-6: the kernel leaves its row to Python
    words = [f"w{i}" + "\u00e9\u4e2d" * (i % 3) for i in range(len(matrix))]
    monkeypatch.setattr(formats, "_COMPILED_TEXT_MIN", 1 << 60)
    write_vectors(str(tmp_path / "python.txt"), words, matrix)
    original = kernels.format_text_rows
    monkeypatch.setattr(formats, "_COMPILED_TEXT_MIN", 0)
    for threads in (1, 3):  # blocks made on threads are written in order, the first made last
        spy_calls, makers = [], set()
        monkeypatch.setattr(kernels, "format_text_rows",
                            slow_first(original, spy_calls, lambda a: a[5].sum(), makers))
        write_vectors(str(tmp_path / "compiled.txt"), words, matrix, force=True, threads=threads)
        assert sorted(spy_calls) == [0, 0, 1]  # blocks of 1,024 rows; one row of the last left to Python
        assert makers == {threading.get_ident()} if threads == 1 else len(makers) >= 2
        assert slurp(tmp_path / "compiled.txt", "rb") == slurp(tmp_path / "python.txt", "rb")
        got = read_vectors(str(tmp_path / "compiled.txt"))
        assert got.words == words and got.vectors.tobytes() == matrix.tobytes()
    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        write_vectors(str(tmp_path / "none.txt"), words, matrix, threads=0)
    assert not (tmp_path / "none.txt").exists()


def test_binary_written_by_the_compiled_writer_is_pythons_byte_for_byte(tmp_path, monkeypatch):
    """Blocks of entries made by a kernel: the bytes of the row-at-a-time loop, with words of one to many bytes,
    blocks of whole rows and a last one shorter, a strided float64 matrix, one row, padded float32 rows (read in
    place) and float32 columns a number apart (copied)."""
    from w2v import kernels
    rng = np.random.default_rng(6)
    matrix = rng.standard_normal((3001, 9))  # float64, written as float32
    words = [f"w{i}" + "\u00e9\u4e2d" * (i % 3) for i in range(len(matrix))]
    monkeypatch.setattr(formats, "_BINARY_WRITE_BYTES", 1000 * (4 * 9 + 2))  # blocks of 1,000 rows
    padded = np.zeros((len(matrix), 16), np.float32)  # rows as training holds them: padded, read in place
    padded[:, :9] = matrix
    for rows in (matrix, matrix[:, ::2], matrix[:1], padded[:, :9], padded[:, ::2]):
        n = len(rows)
        monkeypatch.setattr(formats, "_COMPILED_BINARY_ROWS", 1 << 60)
        write_vectors(str(tmp_path / "python.bin"), words[:n], rows, force=True)
        original = kernels.binary_rows
        monkeypatch.setattr(formats, "_COMPILED_BINARY_ROWS", 0)
        for threads in (1, 3):  # blocks made on threads are written in order, the first made last
            calls, makers = [], set()
            monkeypatch.setattr(kernels, "binary_rows", slow_first(original, calls, lambda a: len(a[0]), makers))
            write_vectors(str(tmp_path / "compiled.bin"), words[:n], rows, force=True, threads=threads)
            monkeypatch.setattr(kernels, "binary_rows", original)
            step = 1000 * (4 * 9 + 2) // (4 * rows.shape[1] + 2)  # 1,000 rows of 9 numbers, 1,727 of 5
            assert sorted(calls) == sorted(min(step, n - start) for start in range(0, n, step))
            assert len(calls) == -(-n // step)
            assert makers == {threading.get_ident()} if threads == 1 else len(makers) >= min(2, len(calls))
            assert slurp(tmp_path / "compiled.bin", "rb") == slurp(tmp_path / "python.bin", "rb")
            got = read_vectors(str(tmp_path / "compiled.bin"))
            assert got.words == words[:n] and got.vectors.tobytes() == rows.astype(np.float32).tobytes()


def test_the_compiled_writers_serve_large_matrices_where_the_kernels_are_loaded(monkeypatch):
    from w2v import kernels  # noqa: F401  (loaded: the thresholds decide)
    assert formats._compiled_rows(np.zeros((1 << 17, 10), np.float32), "format_text_rows") is not None
    assert formats._compiled_rows(np.zeros((1 << 17, 10), np.float32), "binary_rows") is None  # too few rows
    assert formats._compiled_rows(np.zeros((1 << 18, 1), np.float32), "binary_rows") is not None
    monkeypatch.setattr(formats, "_COMPILED_TEXT_MIN", 0)
    monkeypatch.setattr(formats, "_COMPILED_BINARY_ROWS", 0)
    monkeypatch.delitem(sys.modules, "w2v.kernels", raising=False)
    assert formats._compiled_rows(np.zeros((10, 10), np.float32), "format_text_rows") is None
    assert formats._compiled_rows(np.zeros((10, 10), np.float32), "binary_rows") is None
