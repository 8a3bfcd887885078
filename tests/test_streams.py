"""Compressed streams one after another (w2v.streams), and .xz files (w2v.xz: block by block when they hold
several): the standard library's text and errors, except that a damaged later stream is an error, not the
end of the text, and stream padding is skipped."""
import bz2
import io
import lzma
import zlib

import pytest
from click.testing import CliRunner

from conftest import Pipe, damaged_at, write
from w2v import compression, streams, xz
from w2v.cli import cli

FIRST = lzma.compress(b"the first stream\n" * 2000)
SECOND = lzma.compress(b"and the second\n" * 3000)
TEXT = b"the first stream\n" * 2000 + b"and the second\n" * 3000


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
    "damaged in the first stream": damaged_at(FIRST, len(FIRST) // 2),
}


@pytest.mark.parametrize("name", AS_THE_STANDARD_LIBRARY)
def test_an_xz_file_reads_as_the_standard_library_reads_it(name):
    data = AS_THE_STANDARD_LIBRARY[name]
    expected, got = standard(data), ours(data)
    assert (got[0], type(got[1]), str(got[1])) == (expected[0], type(expected[1]), str(expected[1]))
    assert expected[0] is not None or expected[1] is not None


def test_a_damaged_xz_stream_after_the_first_is_an_error_not_the_end_of_the_text():
    data = FIRST + damaged_at(SECOND, 40) + lzma.compress(b"more\n")
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
    corpus = write(tmp_path / "c.txt.xz", FIRST + damaged_at(SECOND, 40))
    result = CliRunner().invoke(cli, ["vocab", corpus, "-o", str(tmp_path / "v.txt"), "-q"])
    assert result.exit_code == 1 and not (tmp_path / "v.txt").exists()
    assert f"{corpus}: cannot read compressed data" in result.output and "Traceback" not in result.output


def test_the_text_of_a_call_is_bounded_and_skip_leaves_out_the_text_given():
    data = lzma.compress(b"a" * 3_000_000) + lzma.compress(b"b" * 2_500_000)
    assert len(data) < 5000

    def texts(skip=0):
        return list(xz.serial_texts(io.BytesIO(data), skip=skip))
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


# -- .xz files of several blocks, inflated block by block (w2v.xz) --------------------------------------

def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out + bytes([value]))


def _crc(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(4, "little")


def _blocks_stream(texts, sizes=None, index_padding=b"\0") -> bytes:
    """One .xz stream of a block a text (as ``xz -T`` writes them), made here from one-block streams
    of the standard library's (each: a 12-byte header, its block, an index of one record, a footer);
    ``sizes``: the text sizes the index gives (default: the true ones); ``index_padding``: the byte the
    index is padded with (zero in a valid file)."""
    header, blocks, records = None, [], []
    for text in texts:
        one = lzma.compress(text, format=lzma.FORMAT_XZ)
        header = one[:12]
        index_size = (int.from_bytes(one[-8:-4], "little") + 1) * 4
        index = one[-12 - index_size:-12]
        # the one record: unpadded and uncompressed size (xz integers, 7 bits a byte)
        values, value, shift = [], 0, 0
        for byte in index[2:]:
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                values.append(value)
                value, shift = 0, 0
                if len(values) == 2:
                    break
        blocks.append(one[12:-12 - index_size])
        records.append(values[0])
    sizes = sizes or [len(t) for t in texts]
    index = b"\0" + _varint(len(texts)) + b"".join(_varint(u) + _varint(s) for u, s in zip(records, sizes))
    index += index_padding * (-len(index) % 4)
    index += _crc(index)
    backward = (len(index) // 4 - 1).to_bytes(4, "little") + header[6:8]
    return header + b"".join(blocks) + index + _crc(backward) + backward + b"YZ"


PARTS = [b" ".join(b"w%d" % (i * 7 % (k + 50)) for i in range(20_000 + 3_000 * k)) + b"\n" for k in range(6)]
BLOCKS = _blocks_stream(PARTS)


def _read(raw, threads=3):
    """(text, error, reader) as w2v.xz reads ``raw``."""
    reader = xz.ParallelXz(raw, threads)
    got = bytearray()
    try:
        while True:
            chunk = reader.read(65536)
            if not chunk:
                return bytes(got), None, reader
            got += chunk
    except (EOFError, lzma.LZMAError) as error:
        return bytes(got), error, reader
    finally:
        reader.close()


def test_an_xz_stream_of_several_blocks_is_inflated_block_by_block():
    assert lzma.decompress(BLOCKS) == b"".join(PARTS)  # (the stream made here is a valid one)
    text, error, reader = _read(io.BytesIO(BLOCKS))
    assert (text, error) == (b"".join(PARTS), None)
    assert reader.blocks == len(PARTS) and reader.fallbacks == 0
    # two such streams, with stream padding between and after them
    text, error, reader = _read(io.BytesIO(b"".join([BLOCKS, b"\0" * 8, _blocks_stream(PARTS[:2]), b"\0" * 4])))
    assert (text, error) == (b"".join(PARTS + PARTS[:2]), None) and reader.blocks == len(PARTS) + 2
    # read from where the file stands
    raw = io.BytesIO(b"not this" + BLOCKS)
    raw.seek(8)
    assert _read(raw)[:2] == (b"".join(PARTS), None)


def test_the_blocks_in_flight_are_bounded_by_their_text(monkeypatch):
    monkeypatch.setattr(xz, "IN_FLIGHT_TEXT", 1)
    text, error, reader = _read(io.BytesIO(BLOCKS))
    assert (text, error) == (b"".join(PARTS), None) and reader.held == max(map(len, PARTS))
    text, error, reader = _read(io.BytesIO(BLOCKS), threads=1)
    assert reader.held <= 2 * max(map(len, PARTS))


def _first_block_end() -> int:
    """Where the first block of :data:`BLOCKS` ends (its last byte is its check value's)."""
    one = lzma.compress(PARTS[0])
    return len(one) - 12 - (int.from_bytes(one[-8:-4], "little") + 1) * 4


def _with_the_crc_of(data: bytes, other: bytes) -> bytes:
    """``data`` with the index CRC of ``other``, a stream of the same length (the 4 bytes before the footer)."""
    at = len(data) - 16
    return data[:at] + other[at:at + 4] + data[at + 4:]


SERIAL_AS_BLOCKS = {
    "a block damaged": damaged_at(BLOCKS, len(BLOCKS) // 2),
    "a block's check value damaged": damaged_at(BLOCKS, _first_block_end() - 1),
    "an index that gives a wrong size": _blocks_stream(PARTS, [len(p) for p in PARTS[:-1]] + [len(PARTS[-1]) + 1]),
    "an index that gives a smaller size": _blocks_stream(PARTS, [len(p) for p in PARTS[:-1]] + [len(PARTS[-1]) - 1]),
    "the index damaged": damaged_at(BLOCKS, len(BLOCKS) - 20),
    "an index record changed, its CRC not": _with_the_crc_of(
        _blocks_stream(PARTS, [len(p) for p in PARTS[:-1]] + [len(PARTS[-1]) + 1]), BLOCKS),
    "the footer's CRC damaged": damaged_at(BLOCKS, len(BLOCKS) - 12),
    "the header's CRC damaged": damaged_at(BLOCKS, 9),
    "the header's check not the footer's": BLOCKS[:6] + b"\0\1" + _crc(b"\0\1") + BLOCKS[12:],
    "the index padded with a byte that is not zero": _blocks_stream(PARTS[:3], index_padding=b"\1"),
    "cut": BLOCKS[:len(BLOCKS) * 2 // 3],
    "not xz after the stream": BLOCKS + b"trailing bytes",
    "a second stream damaged": BLOCKS + damaged_at(_blocks_stream(PARTS[:3]), 300),
    "one block": _blocks_stream(PARTS[:1]),
}


@pytest.mark.parametrize("name", SERIAL_AS_BLOCKS)
def test_the_block_reader_ends_as_the_serial_reader_ends(name):
    """A file that does not check out gives the serial reader's text and error: the block reader leaves
    it to the serial reader from the start (no layout) or from the stream where a block fails."""
    data = SERIAL_AS_BLOCKS[name]
    text, error, reader = _read(io.BytesIO(data))
    serial_text, serial_error, serial = _read(Pipe(data))
    assert serial.blocks == 0
    assert (type(error), str(error)) == (type(serial_error), str(serial_error))
    if error is None:
        assert text == serial_text
    else:
        assert text == serial_text[:len(text)] or serial_text == text[:len(serial_text)]
    expected, expected_error = standard(data)
    if expected_error is not None:  # the standard library finds it too
        assert type(error) is type(expected_error)
    given_before = {"a block damaged": 3, "a block's check value damaged": 0,
                    "an index that gives a wrong size": len(PARTS) - 1,
                    "an index that gives a smaller size": len(PARTS) - 1}
    if name in given_before:  # the whole blocks before the one that fails, then the serial reader's error
        assert reader.fallbacks == 1 and error is not None
        assert text == b"".join(PARTS[:given_before[name]])
    if name in ("not xz after the stream", "one block", "cut", "the index damaged", "the footer's CRC damaged",
                "the header's CRC damaged", "the header's check not the footer's",
                "the index padded with a byte that is not zero", "an index record changed, its CRC not"):
        assert reader.blocks == 0  # not laid out: the serial reader from the start


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("ext, reader", [(".bz2", "ParallelBzip2"), (".xz", "ParallelXz")])
def test_a_commands_threads_inflate_its_compressed_files(tmp_path, monkeypatch, ext, reader, threads):
    asked = []
    made = streams.BlocksReader.__init__

    def recording(self, raw, threads=None):
        asked.append((type(self).__name__, threads))
        made(self, raw, threads)

    monkeypatch.setattr(streams.BlocksReader, "__init__", recording)
    corpus = write(tmp_path / f"c.txt{ext}", {".bz2": bz2.compress(b"".join(PARTS), 1), ".xz": BLOCKS}[ext])
    result = CliRunner().invoke(cli, ["vocab", corpus, "-o", str(tmp_path / "v.txt"), "--min-count", "1", "-q",
                                      "--threads", str(threads)])
    assert result.exit_code == 0, result.output
    assert asked == [(reader, threads)]
    words = {line.split()[0] for line in (tmp_path / "v.txt").read_text().splitlines()[1:]}  # (after "</s> 0")
    assert words == set(b"".join(PARTS).decode().split())


def _awkward_blocks():
    """Texts for the blocks of an .xz file whose block ends fall inside tokens, inside a two-byte UTF-8
    character, inside a CRLF, inside a run of 3,000 bytes with no white space (over three blocks), and
    at white space; a multistream file of them."""
    import random
    rng = random.Random(11)
    words = [b"w%d" % i for i in range(500)] + ["\u00e9t\u00e9".encode(), b"x\xffy", b"a\r\nb"]
    text = b" ".join(rng.choice(words) for _ in range(6000)) + b" " + b"z" * 3000 + b"\n"
    text += b"\n".join(b" ".join(rng.choice(words) for _ in range(rng.randint(0, 40))) for _ in range(300))
    cuts, at = [], 0
    while at < len(text):
        at += rng.randint(700, 1300)
        cuts.append(min(at, len(text)))
    eacute = text.index("\u00e9".encode()) + 1
    cuts = sorted(set(cuts + [eacute, text.index(b"\r\n") + 1, text.index(b"z" * 100) + 1000]))
    texts = [text[a:b] for a, b in zip([0] + cuts, cuts)]
    first, second = _blocks_stream(texts[:len(texts) // 2]), _blocks_stream(texts[len(texts) // 2:])
    assert lzma.decompress(first) + lzma.decompress(second) == b"".join(texts)
    return texts, first + b"\0" * 4 + second


def test_a_distributed_part_of_an_xz_file_of_many_blocks_inflates_only_its_blocks(tmp_path, monkeypatch):
    """Such a file is cut by its text as a plain file is (never a token in two parts), and a part inflates
    the blocks of its range and the one or two where its ends are found, not the whole file."""
    from w2v import corpus as corpus_module
    from w2v.corpus import CUT, Corpus
    texts, data = _awkward_blocks()
    path = write(tmp_path / "many.txt.xz", data)
    whole = b"".join(texts)
    assert len(texts) > 50
    monkeypatch.setattr(corpus_module, "MIN_PART_BYTES", 1 << 10)  # (the file is small)
    inflated = []
    inflate = xz._inflate_block
    monkeypatch.setattr(xz, "_inflate_block", lambda *a: (inflated.append(a[1]), inflate(*a))[1])
    for n in (1, 2, 3, 7):
        inflated.clear()
        parts = [Corpus([path]).part(k, n) for k in range(n)]
        assert all(part.roles == [CUT] for part in parts)
        texts_of_parts = [b"".join(block for block, _ in part.blocks()) for part in parts]
        assert [t for text in texts_of_parts for t in text.split()] == whole.split()
        assert b"".join(texts_of_parts) == whole  # (each part starts where the one before ends)
        # each block once, but for the n - 1 blocks where two parts meet (read by both) and the blocks after
        # the middle of the text, in the run with no white space, which the cut there looks through: against
        # n times every block when every part read the whole file
        assert len(inflated) <= len(texts) + (n - 1) + 3
    # a block that fails on its own (as a block whose index size is wrong would) is read by the serial
    # reader from its stream's start, in texts of 100 bytes here: a part's range that starts inside it
    # still starts at its place
    monkeypatch.setattr(streams, "READ_BYTES", 100)
    blocks = xz.blocks_of(io.BytesIO(data))
    serial_texts = xz.serial_texts
    for n in (2, 3):
        lengths = [len(b"".join(block for block, _ in Corpus([path]).part(k, n).blocks())) for k in range(n)]
        starts = [sum(lengths[:k]) for k in range(1, n)]  # where parts 1 .. n - 1 start
        failing = {bytes(data[b.offset:b.offset + b.padded]) for b in blocks
                   if any(b.text_start < at < b.text_start + b.uncompressed for at in starts)}
        assert len(failing) == n - 1  # (no part starts where a block starts)
        # and one inside the first part: its stream is read from its start, and only up to the part's end
        failing.add(bytes(data[blocks[5].offset:blocks[5].offset + blocks[5].padded]))

        def inflate_or_fail(header, block, *rest):
            if block in failing:
                raise lzma.LZMAError("failed here")
            return inflate(header, block, *rest)
        monkeypatch.setattr(xz, "_inflate_block", inflate_or_fail)
        serial = []
        monkeypatch.setattr(xz, "serial_texts", lambda *a: (serial.append(a[1:]), serial_texts(*a))[1])
        texts_of_parts = [b"".join(block for block, _ in Corpus([path]).part(k, n).blocks()) for k in range(n)]
        assert b"".join(texts_of_parts) == whole
        assert len(serial) >= n - 1
        # the range reader alone, from inside such a block: the serial reader's texts skipped to its start
        for at in starts:
            reader = xz.XzRange(io.BytesIO(data), blocks, at, at + 5000)
            assert b"".join(iter(lambda: reader.read(1000), b"")) == whole[at:at + 5000] and reader.fallbacks == 1
            # ... and with the next block's text at hand (the serial reader's text goes on past it)
            i = next(i for i, b in enumerate(blocks) if b.text_start <= at < b.text_start + b.uncompressed)
            after = blocks[i + 1]
            known = {i + 1: whole[after.text_start:after.text_start + after.uncompressed]}
            reader = xz.XzRange(io.BytesIO(data), blocks, at, at + 5000, known=known)
            assert b"".join(iter(lambda: reader.read(1000), b"")) == whole[at:at + 5000] and reader.fallbacks == 1
    # a file of one block, or a small one, is not cut: it goes whole to one part
    one = write(tmp_path / "one.txt.xz", lzma.compress(whole))
    assert Corpus([one]).part(0, 2).roles[0] in (0, 1, corpus_module.SHARED)
    monkeypatch.setattr(corpus_module, "MIN_PART_BYTES", 1 << 20)
    assert Corpus([path]).part(0, 2).roles[0] != CUT


def test_a_damaged_block_fails_the_part_that_reads_it_as_it_fails_the_whole_file(tmp_path, monkeypatch):
    from w2v import corpus as corpus_module
    from w2v.corpus import Corpus
    texts, data = _awkward_blocks()
    blocks = xz.blocks_of(io.BytesIO(data))
    late = blocks[-5]  # in the second stream, in the last quarter of the text
    assert len(blocks) // 2 < len(blocks) - 5 and late.text_start > 0.8 * len(b"".join(texts))
    path = write(tmp_path / "damaged.txt.xz", damaged_at(data, late.offset + late.padded // 2))
    monkeypatch.setattr(corpus_module, "MIN_PART_BYTES", 1 << 10)
    with pytest.raises(OSError) as whole_error:
        list(Corpus([path]).blocks())
    assert "damaged.txt.xz: cannot read compressed data" in str(whole_error.value)
    read, failed = b"", []
    for k in range(4):
        try:
            read += b"".join(block for block, _ in Corpus([path]).part(k, 4).blocks())
        except OSError as error:
            failed.append(k)
            assert str(error) == str(whole_error.value)
    assert failed == [3]  # the part whose range holds the block
    assert read == b"".join(texts)[:len(read)] and len(read) > 0.7 * len(b"".join(texts))
    text = xz.TextAt(io.BytesIO(data), blocks)
    assert text.size == len(b"".join(texts))
    text.seek(late.text_start - 2)
    assert text.read(10) == b"".join(texts)[late.text_start - 2:late.text_start]  # a read stops at a block's end
    assert text.tell() == late.text_start
