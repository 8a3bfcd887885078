"""bzip2 inflated block by block on several threads (w2v.bzip2): the standard library's text and errors."""
import bz2
import io
import random
import threading
from concurrent.futures import Future

import pytest

from click.testing import CliRunner

from conftest import write
from w2v import bzip2, compression
from w2v.cli import cli

random.seed(7)
_WORDS = ["".join(random.choice("abcdefghij") for _ in range(random.randint(1, 8))) for _ in range(5000)]
#: 2.2 MB of words in no order: at level 1 (blocks of 100 kB) about 23 blocks.
TEXT = " ".join(random.choice(_WORDS) for _ in range(400_000)).encode()
ONE_STREAM = bz2.compress(TEXT, 1)


def standard(data: bytes):
    """(text, error) as the standard library reads ``data``."""
    try:
        return bz2.BZ2File(io.BytesIO(data)).read(), None
    except (OSError, EOFError) as error:
        return None, error


def parallel(data: bytes, threads: int = 3):
    """(text, error, reader) as :class:`bzip2.ParallelBzip2` reads ``data``."""
    reader = bzip2.ParallelBzip2(io.BytesIO(data), threads)
    try:
        return reader.read(), None, reader
    except (OSError, EOFError) as error:
        return None, error, reader
    finally:
        reader.close()


GOOD = {
    "one stream": ONE_STREAM,
    "streams, one empty, levels 1 and 2": (bz2.compress(TEXT[:300_000], 1) + bz2.compress(b"")
                                           + bz2.compress(TEXT[300_000:1_200_000], 2) + bz2.compress(TEXT[1_200_000:], 1)),
    "only an empty stream": bz2.compress(b""),
    "a small stream": bz2.compress(b"hello world\n"),
    "not bzip2 after the last stream": ONE_STREAM + b"\n\x00 some trailing bytes",
}


@pytest.mark.parametrize("name", GOOD)
def test_the_blocks_inflated_in_parallel_give_the_standard_librarys_text(name):
    data = GOOD[name]
    expected, error = standard(data)
    assert error is None
    text, error, reader = parallel(data)
    assert error is None and text == expected
    assert reader.fallbacks == 0
    assert reader.blocks >= (15 if len(expected) > 2_000_000 else 1 if expected else 0)
    assert reader.blocks <= len(expected) // 50_000 + 2


def _damaged(data: bytes, at: int) -> bytes:
    damaged = bytearray(data)
    damaged[at] ^= 0x10
    return bytes(damaged)


#: Bad files, and whether the standard library reads the stream again to say what is wrong (damage)
#: or the block reader says it (a cut, not bzip2).
BAD = {
    "empty file": (b"", 0),
    "cut in the header": (b"BZ", 0),
    "a header alone": (b"BZh9", 0),
    "cut in a block": (ONE_STREAM[:len(ONE_STREAM) // 2], 0),
    "cut in the end mark": (ONE_STREAM[:-3], 0),
    "cut after the end mark": (ONE_STREAM[:-4], 0),
    "not bzip2": (b"hello world", 0),
    "a header cut after a stream": (ONE_STREAM + b"BZ", 0),
    "damaged inside a block": (_damaged(ONE_STREAM, len(ONE_STREAM) // 2), 1),
    "damaged in a block's CRC": (_damaged(ONE_STREAM, 8), 1),
    "damaged in the stream's CRC": (_damaged(ONE_STREAM, len(ONE_STREAM) - 2), 1),
    "damaged in the end mark": (_damaged(ONE_STREAM, len(ONE_STREAM) - 8), 1),
    "a header, then not a block": (b"BZh9" + b"\x00 not bzip2" * 5, 1),
    "a header, then part of a block mark": (b"BZh91AY", 0),
    # a block of 300 kB of text with a correct CRC, in a stream whose header allows 100 kB blocks
    "a block larger than its stream's level allows": (b"BZh1" + bz2.compress(TEXT[:300_000], 9)[4:], 1),
}


@pytest.mark.parametrize("name", BAD)
def test_a_bad_file_raises_the_standard_librarys_error(name):
    data, fallbacks = BAD[name]
    _, expected = standard(data)
    assert expected is not None
    _, error, reader = parallel(data)
    assert type(error) is type(expected) and str(error) == str(expected)
    assert reader.fallbacks == fallbacks


def _streams_before(stream: bytes, to_the_read_end: int) -> bytes:
    """Streams (empty ones, one of "a"s) after which ``stream`` ends ``to_the_read_end`` bytes before a
    multiple of the standard library's read, :data:`bzip2.CHUNK`."""
    empty, other = bz2.compress(b""), bz2.compress(b"a" * 20)
    length = (-to_the_read_end - len(stream)) % bzip2.CHUNK + bzip2.CHUNK
    n_other = next(n for n in range(len(empty)) if (length - n * len(other)) % len(empty) == 0)
    return other * n_other + empty * ((length - n_other * len(other)) // len(empty))


def _a_false_block_mark(monkeypatch, at_byte: int) -> None:
    """Make :func:`bzip2._marks` find a block mark by chance at bit 3 of byte ``at_byte`` of a read."""
    found = bzip2._marks

    def with_a_false_one(data, begin, end, which):
        marks = found(data, begin, end, which)
        if which == bzip2.BLOCK_MARK and begin <= at_byte < end:
            marks = sorted(marks + [at_byte * 8 + 3])
        return marks

    monkeypatch.setattr(bzip2, "_marks", with_a_false_one)


@pytest.mark.parametrize("to_the_read_end", [10, 60])
@pytest.mark.parametrize("false_mark", [False, True])
def test_what_follows_a_stream_is_ignored_or_an_error_as_the_standard_library_reads_it(
        monkeypatch, false_mark, to_the_read_end):
    """The standard library ignores what follows a stream when its first call on it, on the rest of its
    8 kB read, fails, and raises if the bytes that fail come later; the block reader does as it does,
    also when it has left the stream before to the standard library (a false mark in it), which then
    starts mid-file, and when what follows ends in a stream (so that the bad block is inflated by a
    worker before it is known to be bad)."""
    first = bz2.compress(TEXT[:300_000], 1)  # three blocks
    streams = _streams_before(first, to_the_read_end) + first
    assert -len(streams) % bzip2.CHUNK == to_the_read_end
    if false_mark:
        _a_false_block_mark(monkeypatch, len(streams) - len(first) // 2)
    start = bz2.compress(TEXT[:100_000], 9)
    outcomes = set()
    for cut in sorted({0, 3, 4, 7, 14, 20, to_the_read_end - 1, to_the_read_end, to_the_read_end + 5, 400}):
        for after in (b"", bz2.compress(b"after\n")):
            # the streams, then the first ``cut`` bytes of another one and bytes that are not bzip2
            data = streams + start[:cut] + b"\x00 not bzip2 " * 50 + after
            expected, expected_error = standard(data)
            text, error, reader = parallel(data)
            assert (text, type(error), str(error)) == (expected, type(expected_error), str(expected_error)), cut
            if false_mark or cut < 4:  # (else what follows falls back when its first 8 kB decode)
                assert reader.fallbacks == int(false_mark)
            outcomes.add(expected_error is None)
    assert outcomes == {True, False}  # both ways are taken


def test_a_small_stream_whose_crc_is_wrong_after_a_stream_is_ignored_as_by_the_standard_library():
    """The standard library's first call on what follows a stream reads a small stream to its end and
    fails on its CRC, so it ignores it: its text is not given, though its block decodes."""
    small = bytearray(bz2.compress(b"hello again\n"))
    small[-2] ^= 0x40  # in the stream's CRC
    data = ONE_STREAM + bytes(small)
    assert standard(data) == (TEXT, None)
    text, error, reader = parallel(data)
    assert (text, error) == (TEXT, None)


def _read_to_the_error(reader, error) -> bytes:
    """What ``reader`` gives in reads of 64 kB before it raises ``error`` (which it must)."""
    got = bytearray()
    with pytest.raises(error):
        while True:
            chunk = reader.read(65536)
            if not chunk:
                break
            got += chunk
    return bytes(got)


def test_a_cut_file_gives_its_whole_blocks_then_the_error():
    """The text of every block before the cut, then EOFError, as the standard library (which gives less:
    it drops the text it holds when it raises); no second reading."""
    data = ONE_STREAM[:len(ONE_STREAM) // 2]
    reader = bzip2.ParallelBzip2(io.BytesIO(data), 2)
    got = _read_to_the_error(reader, EOFError)
    expected = _read_to_the_error(bz2.BZ2File(io.BytesIO(data)), EOFError)
    # the standard library drops what it holds when it raises (here the text after 15 × 64 kB)
    assert TEXT.startswith(got) and TEXT.startswith(expected)
    assert len(got) >= len(expected) > 500_000
    assert reader.fallbacks == 0


@pytest.mark.parametrize("mark", [bzip2.BLOCK_MARK, bzip2.END_MARK])
@pytest.mark.parametrize("name", ["one stream", "streams, one empty, levels 1 and 2"])
def test_a_mark_that_occurs_by_chance_inside_a_block_costs_time_not_text(monkeypatch, mark, name):
    """A false mark in the middle of a block: the pieces do not decode, and the standard library reads
    the stream again from its start, skipping the text already given."""
    found = bzip2._marks

    def with_a_false_one(data, begin, end, which):
        marks = found(data, begin, end, which)
        if which == mark and end - begin > 300_000:
            marks = sorted(marks + [(begin + 250_000) * 8 + 3])
        return marks

    monkeypatch.setattr(bzip2, "_marks", with_a_false_one)
    data = GOOD[name]
    text, error, reader = parallel(data)
    assert error is None and text == standard(data)[0]
    assert reader.fallbacks == 1 and reader.blocks > 2


def test_marks_across_the_reads_are_found():
    """Every read ends inside a mark (1 to 6 bytes into it, in turn) or between two: no block is missed
    or cut."""
    data = GOOD["streams, one empty, levels 1 and 2"]
    marks = bzip2._marks(data, 0, len(data), bzip2.BLOCK_MARK) + bzip2._marks(data, 0, len(data), bzip2.END_MARK)
    assert len(marks) >= 18
    ends = sorted({p // 8 + 1 + i % 7 for i, p in enumerate(sorted(marks))} | {len(data)})

    class Reads(io.RawIOBase):
        def __init__(self):
            self._f = io.BytesIO(data)

        def readable(self):
            return True

        def seekable(self):
            return True

        def seek(self, *args):
            return self._f.seek(*args)

        def tell(self):
            return self._f.tell()

        def readinto(self, buffer):
            at = self._f.tell()
            stop = min([e for e in ends if e > at] + [at + len(buffer)])
            return self._f.readinto(memoryview(buffer)[:stop - at])

    reader = bzip2.ParallelBzip2(Reads(), 2)
    assert reader.read() == TEXT
    assert reader.fallbacks == 0 and reader.blocks >= 15


def test_only_about_a_block_and_a_read_are_held(monkeypatch):
    monkeypatch.setattr(bzip2, "READ_BYTES", 65536)
    data = GOOD["streams, one empty, levels 1 and 2"]
    text, _, reader = parallel(data)
    assert text == TEXT and reader.blocks >= 15
    assert reader.held < 65536 + 250_000 < len(data) / 2  # blocks of 200 kB of text at most, compressed


def test_marks_are_found_at_every_bit_offset():
    rng = random.Random(3)
    for mark in (bzip2.BLOCK_MARK, bzip2.END_MARK):
        for shift in range(8):
            n_bits = 8 * 200
            positions = sorted(rng.sample(range(0, n_bits - 48 - 8, 60), 3))
            positions = [p - p % 8 + shift for p in positions]
            value = rng.getrandbits(n_bits)
            for p in positions:
                value &= ~(((1 << 48) - 1) << (n_bits - p - 48))
                value |= mark << (n_bits - p - 48)
            data = value.to_bytes(n_bits // 8, "big")
            every = [p for p in range(n_bits - 47) if (value >> (n_bits - p - 48)) & ((1 << 48) - 1) == mark]
            assert bzip2._marks(data, 0, len(data), mark) == every
            assert set(positions) <= set(every)
            # only marks starting in the bytes asked about
            assert bzip2._marks(data, positions[1] // 8, len(data), mark) == [p for p in every if p >= positions[1] // 8 * 8]


def test_a_file_that_cannot_seek_is_read_by_the_standard_library(tmp_path):
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self._f = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            return self._f.readinto(buffer)

    stream = bzip2.open_read(Pipe(ONE_STREAM))
    assert not isinstance(getattr(stream, "raw", None), bzip2.ParallelBzip2)
    assert stream.read() == TEXT
    path = write(tmp_path / "t.bz2", ONE_STREAM)
    with open(path, "rb") as raw, bzip2.open_read(raw) as f:
        assert isinstance(f.raw, bzip2.ParallelBzip2)
        assert f.read() == TEXT


def test_closing_part_way_cancels_the_blocks_not_started():
    reader = bzip2.ParallelBzip2(io.BytesIO(ONE_STREAM), 2)
    assert len(reader.read(1000)) > 0
    futures = [job for job, _ in reader._in_flight if isinstance(job, Future)]
    assert len(futures) > 2  # more in flight than the two threads can be inflating
    reader.close()
    assert reader.closed
    assert sum(not future.done() for future in futures) <= 2  # at most the two running ones


def test_readers_share_one_pool_of_threads():
    readers = [bzip2.ParallelBzip2(io.BytesIO(ONE_STREAM), 3) for _ in range(2)]
    assert all(reader.read() == TEXT for reader in readers)
    assert bzip2._pool(3) is bzip2._pool(3) and bzip2._pool(3)._max_workers == 3
    pooled = sum(pool._max_workers for pool in bzip2._POOLS.values())
    assert sum(t.name.startswith("w2v-bzip2") for t in threading.enumerate()) <= pooled


def test_bz2_files_are_read_block_by_block(tmp_path):
    assert compression.READERS[".bz2"] is bzip2.open_read
    path = write(tmp_path / "t.txt.bz2", GOOD["streams, one empty, levels 1 and 2"])
    with compression.open_read(path) as f:
        assert f.read() == TEXT


@pytest.mark.parametrize("threads", [1, 3])
def test_a_commands_threads_inflate_its_bz2_files(tmp_path, monkeypatch, threads):
    asked = []
    made = bzip2.ParallelBzip2.__init__

    def recording(self, raw, threads=None):
        asked.append(threads)
        made(self, raw, threads)

    monkeypatch.setattr(bzip2.ParallelBzip2, "__init__", recording)
    corpus = write(tmp_path / "c.txt.bz2", bz2.compress(b"the cat sat on the mat\n" * 2000, 1))
    vocab = tmp_path / "vocab.txt"
    result = CliRunner().invoke(cli, ["vocab", corpus, "-o", str(vocab), "--min-count", "1", "-q",
                                      "--threads", str(threads)])
    assert result.exit_code == 0, result.output
    assert asked == [threads]
    assert vocab.read_text().split()[:2] == ["the", "4000"]
