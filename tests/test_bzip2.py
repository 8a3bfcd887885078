"""bzip2 inflated block by block on several threads (w2v.bzip2): the standard library's text and errors,
except that a damaged stream after the first is an error, not the end of the text."""
import bz2
import io
import random
import re
import threading
from concurrent.futures import Future

import pytest


from conftest import Pipe, damaged_at, write
from w2v import bzip2, compression, streams

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
    "damaged inside a block": (damaged_at(ONE_STREAM, len(ONE_STREAM) // 2, 0x10), 1),
    "damaged in a block's CRC": (damaged_at(ONE_STREAM, 8, 0x10), 1),
    "damaged in the stream's CRC": (damaged_at(ONE_STREAM, len(ONE_STREAM) - 2, 0x10), 1),
    "damaged in the end mark": (damaged_at(ONE_STREAM, len(ONE_STREAM) - 8, 0x10), 1),
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


def _a_false_block_mark(monkeypatch, at_byte: int) -> None:
    """Make :func:`bzip2._marks` find a block mark by chance at bit 3 of byte ``at_byte`` of a read."""
    found = bzip2._marks

    def with_a_false_one(data, begin, end, which):
        marks = found(data, begin, end, which)
        if which == bzip2.BLOCK_MARK and begin <= at_byte < end:
            marks = sorted(marks + [at_byte * 8 + 3])
        return marks

    monkeypatch.setattr(bzip2, "_marks", with_a_false_one)


@pytest.mark.parametrize("false_mark", [False, True])
def test_what_follows_a_stream_is_a_stream_when_it_has_a_header_and_is_ignored_when_it_is_not_bzip2(
        monkeypatch, false_mark):
    """As bzip2(1) reads it: bytes after a stream that start with a header are a stream (a damaged one is
    an error); a header cut by the file's end is a cut; anything else is ignored. Also when the stream
    before was left to the serial decompressor (a false mark in it), which then reads what follows, and
    when what follows ends in a good stream (inflated by a worker before the bad one is known)."""
    first = bz2.compress(TEXT[:300_000], 1)  # three blocks
    if false_mark:
        _a_false_block_mark(monkeypatch, len(first) // 2)
    start = bz2.compress(TEXT[:100_000], 9)
    for cut in (0, 1, 3, 4, 7, 14, 20, 400):
        for after in (b"", bz2.compress(b"after\n")):
            # a stream, then the first ``cut`` bytes of another one and bytes that are not bzip2
            data = first + start[:cut] + b"\x00 not bzip2 " * 50 + after
            text, error, reader = parallel(data)
            if cut < 4:  # no header: ignored, as the standard library ignores it
                assert (text, error) == (TEXT[:300_000], None) == standard(data), cut
            else:  # a header, then damage: an error, where the standard library ignores it (its first call fails)
                assert type(error) is OSError and str(error) == "Invalid data stream", cut
                assert standard(data) == (TEXT[:300_000], None)
            assert reader.fallbacks == int(false_mark) + (cut >= 4 and not false_mark)
    # a header cut by the file's end
    text, error, _ = parallel(first + start[:3])
    assert type(error) is EOFError and str(error) == str(standard(first + start[:3])[1])


def test_a_damaged_stream_after_a_stream_is_an_error_not_the_end_of_the_text():
    """The standard library's first call on what follows a stream reads a small stream to its end and
    fails on its CRC, so it drops it and all that follows without a word (a damaged stream of a
    multistream dump would cut the corpus short); here it is an error, after the text of its whole blocks."""
    small = bytearray(bz2.compress(b"hello again\n"))
    small[-2] ^= 0x40  # in the stream's CRC
    data = ONE_STREAM + bytes(small) + bz2.compress(b"and the rest\n")
    assert standard(data) == (TEXT, None)
    reader = bzip2.ParallelBzip2(io.BytesIO(data), 2)
    assert _read_to_the_error(reader, OSError) == TEXT + b"hello again\n"  # its block's own CRC is right
    assert reader.fallbacks == 1
    # damaged in its first block's tables: the same
    damaged = ONE_STREAM + damaged_at(bz2.compress(TEXT[:50_000], 9), 30, 0x10) + bz2.compress(b"and the rest\n")
    assert standard(damaged) == (TEXT, None)
    assert _read_to_the_error(bzip2.ParallelBzip2(io.BytesIO(damaged), 2), OSError) == TEXT


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


def test_a_file_that_cannot_seek_is_read_a_stream_at_a_time(tmp_path):
    with bzip2.open_read(Pipe(ONE_STREAM)) as stream:
        assert stream.read() == TEXT and stream.raw.blocks == 0
    for data in list(GOOD.values()) + [bad for bad, _ in BAD.values()]:  # as from a file
        with bzip2.open_read(Pipe(data)) as stream:
            try:
                got = stream.read(), None
            except (OSError, EOFError) as error:
                got = None, error
        expected = parallel(data)
        assert (got[0], type(got[1]), str(got[1])) == (expected[0], type(expected[1]), str(expected[1]))
    small = bytearray(bz2.compress(b"hello again\n"))
    small[-2] ^= 0x40
    with pytest.raises(OSError, match="Invalid data stream"), bzip2.open_read(Pipe(ONE_STREAM + bytes(small))) as stream:
        stream.read()
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
    assert streams.worker_pool(3) is streams.worker_pool(3) and streams.worker_pool(3)._max_workers == 3
    pooled = sum(pool._max_workers for pool in streams._POOLS.values())
    assert sum(t.name.startswith("w2v-inflate") for t in threading.enumerate()) <= pooled


def test_bz2_files_are_read_block_by_block(tmp_path):
    assert compression.READERS[".bz2"] is bzip2.open_read
    path = write(tmp_path / "t.txt.bz2", GOOD["streams, one empty, levels 1 and 2"])
    with compression.open_read(path) as f:
        assert f.read() == TEXT


# -- a file cut among parts by its blocks (blocks_of, Bzip2Range) ---------------------------------------
#: Text of a level-1 block when no byte repeats the one before it (no run for bzip2's first encoding).
LEVEL_1_BLOCK = 99_981


def _no_repeats(n: int, rng: random.Random, alphabet: bytes = b"abcdefghij \n") -> bytearray:
    out = bytearray(b"a")
    while len(out) < n:
        c = rng.choice(alphabet)
        if c != out[-1]:
            out.append(c)
    return out


def _awkward_streams():
    """(file, text): two streams (levels 1 and 2), an empty one and bytes bzip2(1) ignores, whose level-1
    blocks start on white space (block 1), just after it (2), inside a two-byte UTF-8 character (3), inside
    a CRLF (4) and inside a token that covers all of block 5 (6); the first stream ends inside a token."""
    rng = random.Random(11)
    first = _no_repeats(7 * LEVEL_1_BLOCK + 500, rng)
    b = LEVEL_1_BLOCK
    first[b - 1:b + 1] = b"x "
    first[2 * b - 1:2 * b + 1] = b" y"
    first[3 * b - 1:3 * b + 1] = "\u00e9".encode()
    first[4 * b - 1:4 * b + 1] = b"\r\n"
    first[4 * b + b // 2:6 * b + b // 3] = b"ab" * ((6 * b + b // 3 - 4 * b - b // 2) // 2)  # one long token
    first[-3:] = b"pqr"
    second = b"st" + _no_repeats(250_000, rng)[1:]
    text = bytes(first) + bytes(second)
    data = bz2.compress(bytes(first), 1) + bz2.compress(bytes(second), 2) + bz2.compress(b"") + b"\x00" * 10
    return data, text


AWKWARD, AWKWARD_TEXT = _awkward_streams()


def _range_text(data: bytes, blocks, first: int, last: int) -> bytes:
    reader = bzip2.Bzip2Range(io.BytesIO(data), blocks, first, last, b" \t\n\r\x0b\x0c", threads=2)
    try:
        return reader.read()
    finally:
        reader.close()


def test_the_layout_has_every_block_and_nothing_after_the_last_stream():
    blocks = bzip2.blocks_of(io.BytesIO(AWKWARD))
    assert [block.header for block in blocks] == [b"BZh1"] * 8 + [b"BZh2"] * 2
    texts = [bzip2._inflate_block(AWKWARD[block.bit // 8:], block.bit % 8, block.n_bits, block.header)
             for block in blocks]
    assert b"".join(texts) == AWKWARD_TEXT == standard(AWKWARD)[0]
    assert len(texts[0]) == len(texts[5]) == LEVEL_1_BLOCK  # the blocks fall where the text expects them
    assert texts[1][:1] == b" " and texts[2][:1] == b"y" and texts[3][:1] == b"\xa9" and texts[4][:1] == b"\n"
    assert b" " not in texts[5] and texts[6][:2] == b"ab"
    assert blocks[-1].bit + blocks[-1].n_bits < len(AWKWARD) * 8 - 10 * 8
    assert bzip2.blocks_of(io.BytesIO(bz2.compress(b""))) == []


@pytest.mark.parametrize("cuts", [[b] for b in range(11)] + [[1, 2, 3, 4, 5, 6, 7, 8, 9], [5, 5, 6], [3, 3, 3],
                                                               [0, 0, 5], [10, 10]])
def test_ranges_that_meet_at_blocks_join_to_the_files_text(cuts):
    """Wherever the ranges meet (and some are empty, or lie inside one token), each token is whole in
    exactly one of them; a range inflates its blocks and those up to the next white space only."""
    blocks = bzip2.blocks_of(io.BytesIO(AWKWARD))
    ends = [0] + cuts + [len(blocks)]
    texts = [_range_text(AWKWARD, blocks, first, last) for first, last in zip(ends, ends[1:])]
    assert b"".join(texts) == AWKWARD_TEXT
    offset = 0
    for text in texts:  # each starts at the text's start or just after white space
        assert offset == 0 or not text or AWKWARD_TEXT[offset - 1:offset].isspace()
        offset += len(text)
    reader = bzip2.Bzip2Range(io.BytesIO(AWKWARD), blocks, 2, 4, b" \n", threads=2)
    reader.read()
    assert reader.blocks == 3 and reader.start == 2


def test_a_range_that_ends_in_a_long_token_inflates_on_to_its_end():
    blocks = bzip2.blocks_of(io.BytesIO(AWKWARD))
    reader = bzip2.Bzip2Range(io.BytesIO(AWKWARD), blocks, 0, 5, b" \n", threads=2)
    text = reader.read()
    # blocks 0-4, then 5 (all inside the token) and 6 (where it ends): through the first white space after it
    assert reader.blocks == 7 and AWKWARD_TEXT.startswith(text) and text[-1:].isspace()
    long_token_end = 6 * LEVEL_1_BLOCK + LEVEL_1_BLOCK // 3
    assert long_token_end < len(text) and not re.search(rb"\s", AWKWARD_TEXT[5 * LEVEL_1_BLOCK - 2:len(text) - 1])


def test_an_uncertain_layout_is_none(monkeypatch):
    """A file cut, damaged or not bzip2, and a mark found by chance (its stream's combined CRC fails)."""
    for name in ("cut in a block", "not bzip2", "damaged in a block's CRC", "damaged in the stream's CRC",
                 "empty file"):
        assert bzip2.blocks_of(io.BytesIO(BAD[name][0])) is None, name
    assert bzip2.blocks_of(io.BytesIO(ONE_STREAM)) is not None
    _a_false_block_mark(monkeypatch, len(ONE_STREAM) // 2)
    assert bzip2.blocks_of(io.BytesIO(ONE_STREAM)) is None


def _planned_layout(data: bytes):
    """The blocks :class:`bzip2.ParallelBzip2` plans to inflate for ``data``, or None where its plan
    falls back to the standard library or raises."""
    planner = bzip2.ParallelBzip2(io.BytesIO(data), 1)
    try:
        plan = list(planner._plan())
    finally:
        planner.close()
    if any(not isinstance(job, tuple) for job, _, _ in plan):
        return None
    return [bzip2.Block(bit, job[2], job[3]) for job, _, bit in plan]


@pytest.mark.parametrize("read_bytes", [7, 40, 1 << 20])
def test_the_marks_of_ranges_that_meet_are_the_whole_files_and_lay_out_what_the_reader_plans(
        monkeypatch, read_bytes):
    """The scan of a file shared among machines: the marks of byte ranges that meet anywhere (inside a
    mark, inside the CRC after it, inside the next stream's header), joined, are the whole file's, read
    a few bytes or a megabyte at a time; and the layout from them is the one the parallel reader plans,
    for every good and bad file (None where it falls back or raises)."""
    monkeypatch.setattr(bzip2, "READ_BYTES", read_bytes)
    rng = random.Random(read_bytes)
    files = {**GOOD, **{name: value[0] for name, value in BAD.items()}, "awkward": AWKWARD,
             "three small streams, zeros after": bz2.compress(b"ab" * 50, 1) + bz2.compress(b"") + bz2.compress(
                 b"x y z", 9) + b"\0" * 5}
    for name, data in files.items():
        if read_bytes < 1000 and len(data) > 1000:
            continue  # (a few bytes at a time: slow on the large files, whose marks lie far apart anyway)
        whole = bzip2.marks_in(io.BytesIO(data), 0, len(data))
        assert bzip2.layout_of(data[:4], whole) == _planned_layout(data), name
        marks = sorted(mark.bit for mark in whole)
        for trial in range(6):
            near_marks = [bit // 8 + rng.randrange(-1, 16) for bit in rng.sample(marks, min(3, len(marks)))]
            cuts = sorted(min(max(at, 0), len(data)) for at in near_marks + [rng.randrange(len(data) + 1)])
            ends = [0] + cuts + [len(data)]
            joined = [mark for a, b in zip(ends, ends[1:]) for mark in bzip2.marks_in(io.BytesIO(data), a, b)]
            assert joined == whole, (name, cuts)
    layout = bzip2.layout_of(AWKWARD[:4], bzip2.marks_in(io.BytesIO(AWKWARD), 0, len(AWKWARD)))
    assert len(layout) == 10 and layout == bzip2.blocks_of(io.BytesIO(AWKWARD))


def test_a_damaged_block_fails_the_ranges_that_inflate_it():
    blocks = bzip2.blocks_of(io.BytesIO(AWKWARD))
    middle = (blocks[3].bit + blocks[3].n_bits // 2) // 8
    damaged = damaged_at(AWKWARD, middle, 0x10)
    assert bzip2.blocks_of(io.BytesIO(damaged)) == blocks  # the marks and CRCs are intact
    with pytest.raises(OSError):
        _range_text(damaged, blocks, 3, 5)
    with pytest.raises(OSError):
        _range_text(damaged, blocks, 0, 3)  # (which reads on into block 3 to its first white space)
    assert _range_text(damaged, blocks, 4, 10) == _range_text(AWKWARD, blocks, 4, 10)
