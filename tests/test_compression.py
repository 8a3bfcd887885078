"""Compressed files by their extension (w2v.compression): vectors, the phrase pass's text, vocabularies,
classes and phrase tables written compressed by their name, and read back so; gensim both ways."""
import bz2
import gzip
import lzma
import os

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import SAMPLE, slurp, write
from w2v import compression, formats
from w2v.classes import read_classes, write_classes
from w2v.cli import cli
from w2v.formats import detect_format, read_vectors, write_vectors
from w2v.phrases import read_phrase_table, save_phrase_table
from w2v.vocab import Vocabulary

try:
    import zstandard
except ImportError:  # (the test extra installs it)
    zstandard = None

DECOMPRESS = {".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}
if zstandard is not None:
    DECOMPRESS[".zst"] = lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data)
EXTS = list(DECOMPRESS)
WORDS = [f"w{i}é" for i in range(300)]
MATRIX = np.random.default_rng(4).standard_normal((300, 13)).astype(np.float32)


def run(root, args):
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return CliRunner().invoke(cli, args)
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("ext", EXTS)
@pytest.mark.parametrize("plain", ["v.bin", "v.txt", "v.vec"])
def test_word2vec_files_are_written_compressed_by_their_name_and_read_back_exactly(tmp_path, plain, ext):
    """The compressed file holds exactly the plain file's bytes; reading it gives the same words, vectors
    and norms, also the first rows only; its format is told by the name before the extension and by its
    content."""
    plain_path, path = str(tmp_path / plain), str(tmp_path / (plain + ext))
    write_vectors(plain_path, WORDS, MATRIX)
    write_vectors(path, WORDS, MATRIX)
    assert DECOMPRESS[ext](slurp(path, "rb")) == slurp(plain_path, "rb")
    assert formats.format_for_path(path) == formats.format_for_path(plain_path) == detect_format(path)
    got, expected = read_vectors(path), read_vectors(plain_path)
    assert got.words == WORDS
    np.testing.assert_array_equal(got.vectors, MATRIX)
    np.testing.assert_array_equal(got.norms, expected.norms)
    assert read_vectors(path, limit=7).words == WORDS[:7]


@pytest.mark.parametrize("writer", ["isal", "zlib"])
def test_gzip_output_is_the_same_bytes_every_time_and_names_no_temporary_file(tmp_path, monkeypatch, writer):
    """No time and no file name in the gzip header: the same vectors give the same file (word2vec files
    are written to a temporary name first, which must not end up inside); with python-isal (the gzip
    extra) or the standard library."""
    if writer == "zlib":
        monkeypatch.setattr(compression, "_isal_gzip", None)
    else:
        pytest.importorskip("isal")
    first, second = str(tmp_path / "a.bin.gz"), str(tmp_path / "b.bin.gz")
    write_vectors(first, WORDS, MATRIX)
    write_vectors(second, WORDS, MATRIX)
    data = slurp(first, "rb")
    assert data == slurp(second, "rb")
    assert data[4:8] == bytes(4)  # MTIME
    assert not data[3] & 0x08  # FLG.FNAME: no file name
    assert gzip.decompress(data) == slurp(write_plain(tmp_path), "rb")


def write_plain(tmp_path):
    path = str(tmp_path / "plain.bin")
    write_vectors(path, WORDS, MATRIX)
    return path


@pytest.mark.parametrize("binary", [True, False])
def test_gensim_reads_our_compressed_files_and_we_read_its(tmp_path, binary):
    """gensim's own .gz handling (smart_open), both ways: GoogleNews-vectors-negative300.bin.gz as downloaded."""
    gensim_models = pytest.importorskip("gensim.models")
    ours = str(tmp_path / ("o.bin.gz" if binary else "o.txt.gz"))
    write_vectors(ours, WORDS, MATRIX)
    kv = gensim_models.KeyedVectors.load_word2vec_format(ours, binary=binary)
    assert list(kv.index_to_key) == WORDS
    np.testing.assert_array_equal(kv.vectors, MATRIX)
    theirs = str(tmp_path / ("g.bin.gz" if binary else "g.vec.gz"))
    kv.save_word2vec_format(theirs, binary=binary)
    assert slurp(theirs, "rb")[:2] == b"\x1f\x8b"  # compressed by gensim, not plain under a .gz name
    got = read_vectors(theirs)
    assert got.words == WORDS
    np.testing.assert_array_equal(got.vectors, MATRIX)


def gz_of(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


@pytest.mark.parametrize("name,data,message", [
    ("cut.bin.gz", "cut", "cut.bin.gz: cannot read compressed data (Compressed file ended before the end-of-stream"),
    ("damaged.txt.gz", "damaged", "damaged.txt.gz: cannot read compressed data"),
    ("plain.bin.gz", "plain", "plain.bin.gz: cannot read compressed data"),
    ("short.bin.gz", "short", "short.bin.gz, byte"),
])
def test_a_cut_damaged_or_mislabelled_compressed_vectors_file_is_one_clear_error(tmp_path, name, data, message):
    write_vectors(str(tmp_path / "v.bin"), WORDS, MATRIX)
    write_vectors(str(tmp_path / "v.txt"), WORDS, MATRIX)
    binary, text = slurp(tmp_path / "v.bin", "rb"), slurp(tmp_path / "v.txt", "rb")
    whole = gz_of(binary if name.endswith(".bin.gz") else text)
    content = {"cut": whole[:len(whole) // 2],
               "damaged": whole[:2000] + bytes(b ^ 0x5A for b in whole[2000:2100]) + whole[2100:],
               "plain": binary, "short": gz_of(binary[:len(binary) // 2])}[data]
    path = write(tmp_path / name, content)
    with pytest.raises((OSError, ValueError), match=message.replace("(", r"\(")):
        read_vectors(path)
    result = run(tmp_path, ["similar", name, "w1é"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert [line for line in result.output.splitlines() if line.startswith("Error")] == \
        [line for line in result.output.splitlines() if line.strip()], result.output
    assert message in result.output, result.output


def test_a_native_file_is_never_compressed(tmp_path):
    """A native file is a zip already and is mapped as it lies: writing one compressed is refused before
    anything is written, and a compressed one is refused with what to do."""
    with pytest.raises(ValueError, match=r"v.npz.gz: a native file is not compressed again .* write .*v.npz$"):
        write_vectors(str(tmp_path / "v.npz.gz"), WORDS, MATRIX)
    with pytest.raises(ValueError, match="a native file is not compressed again"):
        formats.format_for_path(str(tmp_path / "v.bin.gz"), "native")
    assert not os.listdir(tmp_path)
    write_vectors(str(tmp_path / "v.npz"), WORDS, MATRIX)
    write(tmp_path / "v.npz.gz", gz_of(slurp(tmp_path / "v.npz", "rb")))
    with pytest.raises(ValueError, match="v.npz.gz: holds a compressed native or model file.*decompress it first"):
        read_vectors(str(tmp_path / "v.npz.gz"))
    with pytest.raises(ValueError, match="v.npz.gz: a compressed native file cannot be read"):
        read_vectors(str(tmp_path / "v.npz.gz"), fmt="native")


def test_a_model_file_is_never_compressed(tmp_path):
    from w2v.modelfile import write_model_file
    weights = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="m.w2vm.gz: a model file is not compressed .* name it .w2vm"):
        write_model_file(str(tmp_path / "m.w2vm.gz"), ["a", "b"], np.array([2, 1]), weights, weights, weights, {}, {})
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("ext", EXTS)
def test_phrases_write_their_text_compressed_by_its_name(tmp_path, ext):
    """The same text as a plain output, compressed; read back as a corpus."""
    plain = run(tmp_path, ["phrases", SAMPLE, "-o", "p.txt", "-q", "--threads", "1", "--threshold", "20"])
    assert plain.exit_code == 0, plain.output
    packed = run(tmp_path, ["phrases", SAMPLE, "-o", f"p.txt{ext}", "-q", "--threads", "1", "--threshold", "20"])
    assert packed.exit_code == 0, packed.output
    text = slurp(tmp_path / "p.txt", "rb")
    assert b"_" in text
    assert DECOMPRESS[ext](slurp(tmp_path / f"p.txt{ext}", "rb")) == text
    counted = run(tmp_path, ["vocab", f"p.txt{ext}", "-o", "from-packed.txt"])
    assert counted.exit_code == 0, counted.output
    assert run(tmp_path, ["vocab", "p.txt", "-o", "from-plain.txt"]).exit_code == 0
    assert slurp(tmp_path / "from-packed.txt", "rb") == slurp(tmp_path / "from-plain.txt", "rb")


def test_phrases_refuse_a_zip_output_before_counting(tmp_path):
    result = run(tmp_path, ["phrases", SAMPLE, "-o", "p.zip", "-q"])
    assert result.exit_code == 2
    assert "p.zip: the joined text is one text file, and a .zip is read as an archive" in result.output
    assert "counting" not in result.output and not os.listdir(tmp_path)


def test_vocabularies_classes_and_phrase_tables_round_trip_compressed(tmp_path):
    vocab = Vocabulary(["the", "of", "und"], np.array([30, 20, 10]), 60)
    vocab.save(str(tmp_path / "vocab.txt.gz"))
    assert gzip.decompress(slurp(tmp_path / "vocab.txt.gz", "rb")) == b"</s> 0\nthe 30\nof 20\nund 10\n"
    again = Vocabulary.load(str(tmp_path / "vocab.txt.gz"))
    assert again.words == vocab.words and again.counts.tolist() == [30, 20, 10]
    write_classes(str(tmp_path / "classes.txt.bz2"), ["a", "b", "c"], np.array([1, 0, 1]))
    assert read_classes(str(tmp_path / "classes.txt.bz2")) == {"a": 1, "b": 0, "c": 1}
    rows = [[("new", "york", 250.5, 12), ("los", "angeles", 180.0, 9)], [("new_york", "city", 120.0, 5)]]
    save_phrase_table(str(tmp_path / "table.tsv.xz"), rows)
    plain = str(tmp_path / "table.tsv")
    save_phrase_table(plain, rows)
    assert lzma.decompress(slurp(tmp_path / "table.tsv.xz", "rb")) == slurp(plain, "rb")
    assert len(read_phrase_table(str(tmp_path / "table.tsv.xz"))) == 2
    write(tmp_path / "cut.txt.gz", gzip.compress("".join(f"w{i} {i}\n" for i in range(5000)).encode())[:1000])
    with pytest.raises(OSError, match="cut.txt.gz: cannot read compressed data"):
        Vocabulary.load(str(tmp_path / "cut.txt.gz"))


def test_a_vocabulary_saved_compressed_is_trained_from(tmp_path):
    saved = run(tmp_path, ["vocab", SAMPLE, "-o", "vocab.txt.gz"])
    assert saved.exit_code == 0, saved.output
    trained = run(tmp_path, ["train", SAMPLE, "--read-vocab", "vocab.txt.gz", "-o", "v.bin", "-q", "--dim", "8",
                             "--epochs", "1"])
    assert trained.exit_code == 0, trained.output
    assert len(read_vectors(str(tmp_path / "v.bin")).words) == len(Vocabulary.load(str(tmp_path / "vocab.txt.gz")))


def test_writing_zst_without_zstandard_is_refused_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(compression, "_zstandard", None)
    with pytest.raises(compression.NeedsPackage, match=r"v.bin.zst: writing .zst files needs the zstandard "
                                                       r"package \(pip install 'w2v\[zstd\]'\)"):
        write_vectors(str(tmp_path / "v.bin.zst"), WORDS, MATRIX)
    for args in (["train", SAMPLE, "-o", "v.bin.zst"], ["phrases", SAMPLE, "-o", "p.txt.zst"],
                 ["vocab", SAMPLE, "-o", "vocab.txt.zst"], ["train", SAMPLE, "-o", "v.bin", "--save-vocab", "v.zst"]):
        result = run(tmp_path, args)
        assert result.exit_code in (1, 2), result.output
        assert "needs the zstandard package" in result.output and "Traceback" not in result.output
        assert not os.listdir(tmp_path), args


def test_evaluation_sets_are_read_compressed(tmp_path):
    """questions-words.txt.gz and a word-pair set as .bz2 give what the plain files give."""
    from w2v.evaluate import read_analogies, read_pairs
    analogies = ": capital-common-countries\nathens greece baghdad iraq\n: family\nboy girl brother sister\n"
    pairs = "# a comment\ntiger\tcat\t7.35\nbook\tpaper\t7.46\n"
    write(tmp_path / "q.txt", analogies)
    write(tmp_path / "q.txt.gz", gzip.compress(analogies.encode()))
    write(tmp_path / "p.tsv", pairs)
    write(tmp_path / "p.tsv.bz2", bz2.compress(pairs.encode()))
    assert read_analogies(str(tmp_path / "q.txt.gz")) == read_analogies(str(tmp_path / "q.txt"))
    assert len(read_analogies(str(tmp_path / "q.txt.gz"))) == 2
    assert read_pairs(str(tmp_path / "p.tsv.bz2")) == read_pairs(str(tmp_path / "p.tsv"))
    assert len(read_pairs(str(tmp_path / "p.tsv.bz2"))) == 2
    write(tmp_path / "cut.txt.gz", gzip.compress(analogies.encode() * 50)[:60])
    with pytest.raises(OSError, match="cut.txt.gz: cannot read compressed data"):
        read_analogies(str(tmp_path / "cut.txt.gz"))
