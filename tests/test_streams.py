"""Compressed streams one after another (w2v.streams), and .xz files read so (w2v.compression): the
standard library's text and errors, except that a damaged later stream is an error, not the end."""
import io
import lzma

import pytest
from click.testing import CliRunner

from conftest import write
from w2v import compression, streams
from w2v.cli import cli

FIRST = lzma.compress(b"the first stream\n" * 2000)
SECOND = lzma.compress(b"and the second\n" * 3000)
TEXT = b"the first stream\n" * 2000 + b"and the second\n" * 3000


def _damaged(data: bytes, at: int) -> bytes:
    damaged = bytearray(data)
    damaged[at] ^= 0x55
    return bytes(damaged)


def standard(data: bytes):
    """(text, error) as the standard library reads ``data``."""
    try:
        return lzma.LZMAFile(io.BytesIO(data)).read(), None
    except (EOFError, lzma.LZMAError) as error:
        return None, error


def ours(data: bytes):
    """(text, error) as w2v reads ``data`` as an .xz file."""
    try:
        with compression.decompressing(io.BytesIO(data), ".xz") as f:
            return f.read(), None
    except (EOFError, lzma.LZMAError) as error:
        return None, error


AS_THE_STANDARD_LIBRARY = {
    "one stream": FIRST,
    "two streams": FIRST + SECOND,
    "not xz after the last stream": FIRST + b"some trailing bytes",
    "a legacy .lzma file": lzma.compress(b"old\n" * 10, format=lzma.FORMAT_ALONE),
    "empty": b"",
    "not xz": b"hello world",
    "zero bytes before the first stream": b"\0" * 4 + FIRST,
    "cut in a stream": FIRST[:-5],
    "cut in the second stream's magic bytes": FIRST + SECOND[:3],
    "the second stream's header alone": FIRST + SECOND[:12],
    "damaged in the first stream": _damaged(FIRST, len(FIRST) // 2),
}


@pytest.mark.parametrize("name", AS_THE_STANDARD_LIBRARY)
def test_an_xz_file_reads_as_the_standard_library_reads_it(name):
    data = AS_THE_STANDARD_LIBRARY[name]
    expected, got = standard(data), ours(data)
    assert (got[0], type(got[1]), str(got[1])) == (expected[0], type(expected[1]), str(expected[1]))
    assert expected[0] is not None or expected[1] is not None


def test_a_damaged_xz_stream_after_the_first_is_an_error_not_the_end_of_the_text():
    data = FIRST + _damaged(SECOND, 40) + lzma.compress(b"more\n")
    assert standard(data) == (b"the first stream\n" * 2000, None)  # two streams dropped without a word
    text, error = ours(data)
    assert type(error) is lzma.LZMAError


def test_xz_stream_padding_is_skipped():
    """Zero bytes between and after streams (the format's stream padding): the standard library stops at
    them (or calls the file cut), xz(1) and w2v read on."""
    assert ours(FIRST + b"\0" * 8 + SECOND) == (TEXT, None)
    assert ours(FIRST + SECOND + b"\0" * 4) == (TEXT, None)
    assert standard(FIRST + b"\0" * 8 + SECOND)[0] == b"the first stream\n" * 2000


def test_a_damaged_xz_corpus_is_one_line_naming_it(tmp_path):
    corpus = write(tmp_path / "c.txt.xz", FIRST + _damaged(SECOND, 40))
    result = CliRunner().invoke(cli, ["vocab", corpus, "-o", str(tmp_path / "v.txt"), "-q"])
    assert result.exit_code == 1 and not (tmp_path / "v.txt").exists()
    assert f"{corpus}: cannot read compressed data" in result.output and "Traceback" not in result.output


def test_the_text_of_a_call_is_bounded_and_skip_leaves_out_the_text_given():
    data = lzma.compress(b"a" * 3_000_000) + lzma.compress(b"b" * 2_500_000)
    assert len(data) < 5000

    def texts(skip=0):
        return list(streams.serial_texts(io.BytesIO(data), lzma.LZMADecompressor, compression._after_xz_stream,
                                         6, skip=skip, padding=True))
    got = texts()
    assert b"".join(got) == b"a" * 3_000_000 + b"b" * 2_500_000
    assert max(map(len, got)) <= streams.READ_BYTES
    assert b"".join(texts(skip=2_999_998)) == b"aa" + b"b" * 2_500_000


def test_a_texts_reader_gives_its_texts_in_reads_of_any_size_and_closes_them():
    closed = []

    def texts():
        try:
            yield b"abc"
            yield b""
            yield b"defgh"
        finally:
            closed.append(True)
    reader = io.BufferedReader(streams.TextsReader(texts()), buffer_size=2)
    assert reader.read(2) == b"ab" and reader.read(4) == b"cdef"
    reader.close()
    assert closed == [True]
    assert streams.TextsReader(iter([b"x", b"yz"])).read() == b"xyz"
