"""bzip2 files inflated block by block on several threads, in order, as one stream of text.

A bzip2 stream is a 4-byte header (``BZh`` and the block size, 1-9 hundred kB), blocks of at most
900 kB of text each, then an end-of-stream mark; several streams may follow one another (``cat a.bz2
b.bz2``, pbzip2's files, Wikipedia's "multistream" dumps). Every block starts with the 48-bit mark
0x314159265359 and the 32-bit CRC of its text, and is decoded without the blocks before it, but blocks are
bit-aligned, not byte-aligned, so no byte offset in the file says where one starts. The standard
library's reader inflates them one after the other on one thread, at a fraction of the speed at which
the text is counted (benchmarks/README.md, "Compressed corpora").

Here the reader thread finds each block's first bit by its mark (:func:`_marks`, at any of the eight bit
offsets), copies the block's bits to a stream of its own (its stream's header, the block shifted to a byte
boundary, an end-of-stream mark whose CRC is the block's own, as a one-block stream's is), and
``bz2.decompress`` inflates such streams on worker threads (it lets go of the GIL while it works); the
texts come out in the file's order, as lbzip2 does. What the standard library checks is checked: each
block's CRC (by ``bz2.decompress``), each stream's combined CRC (against the blocks' CRCs here), that the
first stream starts with a header, and a file that ends inside a stream (``EOFError``, after the text of
its whole blocks, as the standard library raises it; whether the last bits are a cut or damage is asked
of a decompressor, :func:`_cut_in_stream`).

What follows a stream is judged as bzip2(1) judges it (:func:`_after_stream`): bytes that start with a
stream header (``BZh`` and a level) are a stream, read and checked as the first one is, so a damaged
stream is an error; a part of a header at the end of the file is a cut (``EOFError``); anything else
(zero padding, a tar's end) is ignored with all that follows it. The standard library instead ignores
what follows whenever its first ``decompress`` call on it fails, and that call covers as much of the
stream as the caller's read asks for (the rest of its 8 kB read, and up to the read's size of text):
read a block of 960 kB at a time, as :mod:`w2v.corpus` reads, it would drop a damaged stream of a
Wikipedia multistream dump, and every stream after it, without a word. Here that is an error (which
:mod:`w2v.corpus` reports naming the file). Otherwise a good file gives the standard library's text and
a bad one its error.

The mark can also occur by chance inside a block's bits (about once in 2⁴⁸ bit positions: in a 10 GB
file about once in 3,000 such files); the pieces a false mark cuts a block into do not decode, or fail
its CRC. Whatever does not fit (a piece that does not decode, a wrong combined CRC, no mark where a
block must start) is left to the standard library's decompressor: the file is read again from the start
of the stream where it happened, stream by stream on one thread (:func:`_serial_texts`), the text already
given skipped, so a damaged stream raises the standard library's error. A file that cannot seek (a pipe)
is read by that decompressor alone, stream by stream as well.

For reading a part of one large file on each of several machines (:mod:`w2v.distributed`), :func:`blocks_of`
lays out every block of a file from its marks alone (the machines can share that scan: :func:`marks_in`
of byte ranges that meet, joined, then :func:`layout_of`), and :class:`Bzip2Range` inflates only a range
of them, its ends moved to where a token may start, so that the parts' texts joined are the file's.

Memory: at most 2 × threads blocks are in flight for a file (the worker threads are shared by the files
read at once), each at most about 1 MB compressed and usually at most 900 kB of text (a block of long
runs of one byte holds more: up to about 45 MB).

This module imports neither Numba nor tqdm.
"""
from __future__ import annotations

import bz2
import collections
import io
import re
from concurrent.futures import Future
from typing import BinaryIO, Iterator, List, NamedTuple, Optional, Tuple

from . import streams

__all__ = ["open_read", "ParallelBzip2", "Bzip2Range", "Block", "Mark", "blocks_of", "marks_in", "layout_of"]

BLOCK_MARK = 0x314159265359
END_MARK = 0x177245385090
_MARK_MASK = (1 << 48) - 1
#: Compressed bytes read at a time.
READ_BYTES = streams.READ_BYTES


def _needles(mark: int) -> List[Tuple[int, int, bytes, int]]:
    """For each bit offset s (0-7) of ``mark`` in its first byte: (s, i, the bytes the 48 bits fill whole
    from byte i on, the number of bytes the mark touches)."""
    needles = []
    for shift in range(8):
        n_bytes = (48 + shift + 7) // 8
        pattern = (mark << (n_bytes * 8 - 48 - shift)).to_bytes(n_bytes, "big")
        first = 0 if shift == 0 else 1
        last = n_bytes - 1 if (48 + shift) % 8 == 0 else n_bytes - 2
        needles.append((shift, first, pattern[first:last + 1], n_bytes))
    return needles


_NEEDLES = {BLOCK_MARK: _needles(BLOCK_MARK), END_MARK: _needles(END_MARK)}


def _marks(data, begin: int, end: int, mark: int) -> List[int]:
    """The bit offsets in ``data`` (bytes or bytearray) where the 48 bits of ``mark`` start, in a byte
    of ``begin .. end - 1`` and within ``data``; sorted. Five or six whole bytes of the mark at each of
    its eight alignments are found by ``bytes.find`` (C speed: wiki8's 26 MB in about 0.2 s for both
    marks), then the 48 bits are compared."""
    found = []
    for shift, first, needle, n_bytes in _NEEDLES[mark]:
        stop = min(len(data), end - 1 + first + len(needle))  # the needle of a mark starting in byte end - 1
        at = data.find(needle, begin + first, stop)
        while at >= 0:
            start = at - first
            if start + n_bytes <= len(data):
                bits = int.from_bytes(data[start:start + n_bytes], "big") >> (n_bytes * 8 - 48 - shift)
                if bits & _MARK_MASK == mark:
                    found.append(start * 8 + shift)
            at = data.find(needle, at + 1, stop)
    return sorted(found)


def _bits(data, begin: int, end: int) -> int:
    """Bits ``begin .. end - 1`` of ``data`` (bit 0: the first byte's highest) as an integer."""
    first, last = begin // 8, (end + 7) // 8
    value = int.from_bytes(data[first:last], "big") >> (last * 8 - end)
    return value & ((1 << (end - begin)) - 1)


def _to_bytes(value: int, n_bits: int) -> bytes:
    """The ``n_bits`` bits of ``value`` from a byte boundary on, zero bits after them to the byte's end."""
    padding = -n_bits % 8
    return (value << padding).to_bytes((n_bits + padding) // 8, "big")


def _one_block_stream(block: bytes, shift: int, n_bits: int, header: bytes) -> bytes:
    """A bzip2 stream of the one block whose ``n_bits`` bits start at bit ``shift`` of ``block``: the
    header of the block's own stream (``BZh`` and its level: a block larger than the level allows is
    refused, as the standard library refuses it), the block shifted to a byte boundary, and the
    end-of-stream mark with the block's CRC as the stream's (a one-block stream's combined CRC is its
    block's)."""
    value = _bits(block, shift, shift + n_bits)
    crc = (value >> (n_bits - 80)) & 0xFFFFFFFF
    return header + _to_bytes((value << 80) | (END_MARK << 32) | crc, n_bits + 80)


def _inflate_block(block: bytes, shift: int, n_bits: int, header: bytes) -> bytes:
    """The text of one block (see :func:`_one_block_stream`); ``OSError`` if it is not a whole block."""
    return bz2.decompress(_one_block_stream(block, shift, n_bits, header))


def _cut_in_stream(header: bytes, data, bit: int) -> bool:
    """Whether the bits of ``data`` from ``bit`` to its end, after the stream header ``header``, decode
    without an error as the start of a stream (the file was cut there) rather than failing (damage)."""
    rest = _to_bytes(_bits(data, bit, len(data) * 8), len(data) * 8 - bit)
    decompressor = bz2.BZ2Decompressor()
    try:
        decompressor.decompress(header + rest)
    except OSError:
        return False
    return not decompressor.eof


#: A plan's entry where the standard library must take over.
_FALLBACK = "fallback"
#: The standard library's message for a file that ends inside a stream.
_CUT = streams.CUT


def _after_stream(header: bytes, first: bool):
    """What the 4 bytes where a stream may start (fewer at the end of the file) mean, as bzip2(1) reads
    them (module docstring; :func:`w2v.streams.serial_texts`): None for a stream; ``streams.END`` for the
    end of the text (nothing, or bytes that are not bzip2 after a stream: ignored); else the error to
    raise (the standard library's: a file that is not bzip2, or one cut in a header)."""
    if len(header) == 4 and header[:3] == b"BZh" and b"1" <= header[3:] <= b"9":
        return None
    if len(header) < 4 and b"BZh".startswith(header) and (first or header):
        return EOFError(_CUT)
    return OSError("Invalid data stream") if first else streams.END


def _serial_texts(raw: BinaryIO, skip: int = 0, first: bool = True) -> Iterator[bytes]:
    """The text of the bzip2 streams from where ``raw`` stands, inflated by the standard library's
    decompressor on this thread, a stream at a time (:func:`w2v.streams.serial_texts`), the first
    ``skip`` bytes left out; ``first``: the stream at ``raw`` is the file's first."""
    return streams.serial_texts(raw, bz2.BZ2Decompressor, _after_stream, 4, skip, first)


class ParallelBzip2(streams.BlocksReader):
    """The text of a bzip2 file (``raw``: opened in binary, read from where it stands), its blocks
    inflated on ``threads`` threads when ``raw`` can seek, else a stream at a time on the reading thread
    (module docstring). ``blocks`` counts the blocks inflated in parallel, ``fallbacks`` the times the
    standard library's decompressor took over, ``held`` the most compressed bytes held at once."""

    def __init__(self, raw: BinaryIO, threads: Optional[int] = None):
        super().__init__(raw, threads)  # _in_flight: (future or entry, its stream's start)
        self._origin = raw.tell() if raw.seekable() else 0

    # -- the texts, in order ------------------------------------------------------------------------
    def _all_texts(self) -> Iterator[bytes]:
        if not self._raw.seekable():  # (a pipe) one stream after the other on this thread
            yield from _serial_texts(self._raw)
            return
        try:
            yield from self._block_texts()
        except streams.Fallback as fallback:
            self.fallbacks += 1
            self._raw.seek(self._origin + fallback.stream_start)  # (a stream planned starts with a header)
            yield from _serial_texts(self._raw, fallback.skip)

    def _block_texts(self) -> Iterator[bytes]:
        """The blocks of :meth:`_plan` inflated on the pool, their texts in the file's order; then the
        plan's error, if it ends with one. Raises :class:`w2v.streams.Fallback` where the standard
        library must take over."""
        in_flight = self._in_flight  # (future of a text, or what to raise there; its stream's start)
        given = [0, -1]  # bytes of text given from the stream starting at byte given[1]

        def give(entry) -> Iterator[bytes]:
            job, stream_start = entry
            if given[1] != stream_start:
                given[0], given[1] = 0, stream_start
            if job is _FALLBACK:
                raise streams.Fallback(stream_start, given[0])
            if isinstance(job, BaseException):
                raise job
            try:
                text = job.result()
            except (OSError, EOFError, ValueError):  # not a whole block: a false mark, or damage
                raise streams.Fallback(stream_start, given[0]) from None
            given[0] += len(text)
            yield text

        for job, stream_start, _ in self._plan():
            if isinstance(job, tuple):
                job = streams.worker_pool(self._threads).submit(_inflate_block, *job)
                self.blocks += 1
            in_flight.append((job, stream_start))
            while in_flight and isinstance(in_flight[0][0], Future) and (
                    len(in_flight) > 2 * self._threads or in_flight[0][0].done()):
                yield from give(in_flight.popleft())
        while in_flight:
            yield from give(in_flight.popleft())

    def _plan(self) -> Iterator[Tuple[object, int, int]]:
        """The file in order as (job, the file's byte offset of its stream's header, the file's bit offset
        of a block's mark): a job is a block (the bytes holding it, its first bit in them, its length in
        bits, its stream's header), :data:`_FALLBACK` where the standard library must take over, or the
        error to raise there (the last entry either way, its bit -1)."""
        data = bytearray()
        base = 0  # the file's byte offset of data[0]
        scanned = 0  # marks starting in data[:scanned] are in ``marks``
        marks: collections.deque = collections.deque()  # (the file's bit offset, mark), in order
        at_end = False

        def more() -> bool:
            """Read on; False at the end of the file."""
            nonlocal scanned, at_end
            if at_end:
                return False
            chunk = self._raw.read(READ_BYTES)
            if chunk:
                data.extend(chunk)
                self.held = max(self.held, len(data))
                end = len(data) - 6  # a mark starting in the last 6 bytes may go on in the next chunk
            else:
                at_end = True
                end = len(data)
            if end > scanned:
                found = [(p, BLOCK_MARK) for p in _marks(data, scanned, end, BLOCK_MARK)]
                found += [(p, END_MARK) for p in _marks(data, scanned, end, END_MARK)]
                marks.extend((base * 8 + p, m) for p, m in sorted(found))
                scanned = end
            return not at_end

        def have(n_bits: int) -> bool:
            """Whether the file's bits up to bit ``n_bits`` have been read (reading on if need be)."""
            while (base + len(data)) * 8 < n_bits and more():
                pass
            return (base + len(data)) * 8 >= n_bits

        stream = 0  # the file's byte offset of the stream being read
        while True:
            have((stream + 4) * 8)
            header = bytes(data[stream - base:stream - base + 4])
            verdict = _after_stream(header, stream == 0)
            if verdict is not None:
                if verdict is not streams.END:
                    yield verdict, stream, -1
                return
            bit = (stream + 4) * 8
            combined = 0
            while True:
                while (base + scanned) * 8 <= bit and more():  # until a mark starting at ``bit`` would be found
                    pass
                while marks and marks[0][0] < bit:
                    marks.popleft()
                if not marks or marks[0][0] != bit:
                    # no mark where the next block or the end must start: cut there, or damage
                    cut = at_end and not marks and _cut_in_stream(header, data, bit - base * 8)
                    yield (EOFError(_CUT) if cut else _FALLBACK), stream, -1
                    return
                if marks[0][1] == END_MARK:
                    marks.popleft()
                    if not have(bit + 80):
                        yield EOFError(_CUT), stream, -1
                        return
                    if _bits(data, bit - base * 8 + 48, bit - base * 8 + 80) != combined:
                        yield _FALLBACK, stream, -1
                        return
                    stream = (bit + 80 + 7) // 8
                    break
                # a block: it ends where the next mark starts
                marks.popleft()
                while not marks and more():
                    pass
                if not marks:  # the file ends inside this block: cut there, or damage
                    yield (EOFError(_CUT) if _cut_in_stream(header, data, bit - base * 8) else _FALLBACK), stream, -1
                    return
                end = marks[0][0]
                crc = _bits(data, bit - base * 8 + 48, bit - base * 8 + 80)
                combined = (((combined << 1) | (combined >> 31)) & 0xFFFFFFFF) ^ crc
                yield (bytes(data[bit // 8 - base:(end + 7) // 8 - base]), bit % 8, end - bit, header), stream, bit
                drop = end // 8 - base  # what no later block or mark needs
                del data[:drop]
                base += drop
                scanned -= drop
                bit = end


def open_read(raw: BinaryIO, threads: Optional[int] = None) -> BinaryIO:
    """A buffered stream of the text of the bzip2 file ``raw`` (opened in binary): blocks inflated on
    ``threads`` threads (None: every core; :class:`ParallelBzip2`) when ``raw`` can seek, else a stream
    at a time on the reading thread."""
    return io.BufferedReader(ParallelBzip2(raw, threads), buffer_size=1 << 20)


class Block(NamedTuple):
    """One block of a bzip2 file, as :func:`blocks_of` finds it."""
    bit: int         # the file's bit offset of its mark
    n_bits: int      # its length in bits, up to the next mark (a block's or the stream's end)
    header: bytes    # its stream's header (``BZh`` and the level)


class Mark(NamedTuple):
    """A mark found in a bzip2 file, with what the layout needs of the bits after it (:func:`marks_in`)."""
    bit: int              # the file's bit offset where its 48 bits start
    end: bool             # an end-of-stream mark (else a block's)
    crc: Optional[int]    # the 32 bits after it (a block's CRC or a stream's combined CRC); None past the file's end
    after: bytes          # an end-of-stream mark's: up to 4 bytes from the byte boundary after its CRC (b"" else)


#: Bytes past a mark's first byte that :func:`marks_in` reads: the mark (6 or 7 bytes), the CRC after it
#: (up to 11 bytes in all), and the 4 bytes of the next stream's header after an end-of-stream mark.
_MARK_REACH = 16


def marks_in(raw: BinaryIO, begin: int, end: int) -> List[Mark]:
    """Every mark (:data:`BLOCK_MARK`, :data:`END_MARK`) that starts in bytes ``begin .. end - 1`` of the
    bzip2 file ``raw`` (which must seek), in order, read :data:`READ_BYTES` at a time (and
    :data:`_MARK_REACH` bytes past ``end``); nothing is inflated. Ranges that meet find, joined, what
    the whole file's range finds, so the scan of one large file can be shared among machines
    (:func:`layout_of` then lays out the blocks from all of them)."""
    found: List[Mark] = []
    at = begin
    while at < end:
        stop = min(end, at + READ_BYTES)
        raw.seek(at)
        data = raw.read(stop - at + _MARK_REACH)
        for mark in (BLOCK_MARK, END_MARK):
            for p in _marks(data, 0, stop - at, mark):
                crc = _bits(data, p + 48, p + 80) if p + 80 <= len(data) * 8 else None
                after = bytes(data[(p + 87) // 8:(p + 87) // 8 + 4]) if mark == END_MARK else b""
                found.append(Mark(at * 8 + p, mark == END_MARK, crc, after))
        if len(data) <= stop - at:  # the file's end
            break
        at = stop
    return sorted(found)


def layout_of(head: bytes, marks: List[Mark]) -> Optional[List[Block]]:
    """Every block of a bzip2 file from its first 4 bytes (``head``) and all its marks
    (:func:`marks_in`), laid out as :class:`ParallelBzip2` lays them out; or None where that layout is
    not certain: a stream whose blocks' CRCs do not make its combined CRC (a mark found by chance inside
    a block, or damage), no mark where a block or a stream's end must start, a file that ends inside a
    stream, or one that is not bzip2. What bzip2(1) ignores after the last stream is in no block."""
    blocks: List[Block] = []
    header, stream, i = head, 0, 0
    while True:
        verdict = _after_stream(header, stream == 0)
        if verdict is not None:
            return blocks if verdict is streams.END else None
        bit = (stream + 4) * 8
        combined = 0
        while True:
            while i < len(marks) and marks[i].bit < bit:
                i += 1
            if i == len(marks) or marks[i].bit != bit:
                return None
            mark = marks[i]
            i += 1
            if mark.end:
                if mark.crc != combined:  # (None: the file ends inside it)
                    return None
                stream, header = (bit + 80 + 7) // 8, mark.after
                break
            if i == len(marks):  # the file ends inside this block
                return None
            combined = (((combined << 1) | (combined >> 31)) & 0xFFFFFFFF) ^ mark.crc
            blocks.append(Block(bit, marks[i].bit - bit, header))
            bit = marks[i].bit


def blocks_of(raw: BinaryIO) -> Optional[List[Block]]:
    """Every block of the bzip2 file ``raw`` (read whole from its start, a part at a time; nothing is
    inflated), found by their marks as :class:`ParallelBzip2` finds them, at about the speed of
    ``bytes.find`` (some 90 MB of compressed bytes a second on one core); or None where that layout is
    not certain (:func:`layout_of`). How :class:`w2v.corpus.CorpusPart` cuts one large .bz2 file among
    parts by its blocks; on a cluster the workers share the scan (:func:`marks_in`) instead."""
    raw.seek(0)
    head = raw.read(4)
    size = raw.seek(0, io.SEEK_END)
    return layout_of(head, marks_in(raw, 0, size))


class Bzip2Range(streams.BlocksReader):
    """The text of blocks ``first .. last - 1`` of a laid-out bzip2 file (``blocks``: :func:`blocks_of` of
    ``raw``), cut where a token may start: unless ``first`` is 0 (the text's start), the text up to and
    including the first of the bytes ``separators`` is left out, and the text goes on past block ``last``
    up to and including the first of them (or the end of the text). Two ranges that meet at a block
    therefore cut the text at the same place, whatever the blocks hold (a token longer than a block
    included): the texts of the ranges ``0 .. b1``, ``b1 .. b2``, ..., ``bm .. len(blocks)`` joined are
    the file's text. An empty range (``first == last``) has no text.

    The range's blocks are inflated on ``threads`` threads (None: every core), at most ``2 × threads``
    ahead; those after it one at a time, as many as it takes to find the separator (one, unless a token
    crosses a whole block). Nothing falls back to the serial reader: the layout is certain (its combined
    CRCs matched), so a block that does not inflate is damaged, and its error is raised. ``start``: the
    range's first block (0: the text's start, checked as a file's head is)."""

    def __init__(self, raw: BinaryIO, blocks: List[Block], first: int, last: int, separators: bytes,
                 threads: Optional[int] = None):
        self._blocks, self._first, self._last = blocks, first, last
        self._separator = re.compile(b"[" + re.escape(separators) + b"]")
        self.start = first
        super().__init__(raw, threads)

    def _inflate(self, i: int) -> Tuple[bytes, int, int, bytes]:
        """The arguments of :func:`_inflate_block` for block ``i``: its bytes read from the file."""
        block = self._blocks[i]
        self._raw.seek(block.bit // 8)
        data = self._raw.read((block.bit + block.n_bits + 7) // 8 - block.bit // 8)
        self.held = max(self.held, len(data))
        return data, block.bit % 8, block.n_bits, block.header

    def _range_texts(self) -> Iterator[bytes]:
        """The texts of blocks ``first .. last - 1``, in order, inflated on the pool."""
        in_flight = self._in_flight  # (future of a block's text,)
        for i in range(self._first, self._last):
            in_flight.append((streams.worker_pool(self._threads).submit(_inflate_block, *self._inflate(i)),))
            self.blocks += 1
            while in_flight and (len(in_flight) > 2 * self._threads or in_flight[0][0].done()):
                yield in_flight.popleft()[0].result()
        while in_flight:
            yield in_flight.popleft()[0].result()

    def _all_texts(self) -> Iterator[bytes]:
        if self._first >= self._last:
            return
        dropping = self._first > 0  # the text up to the first separator goes to the range before
        for text in self._range_texts():
            if dropping:
                found = self._separator.search(text)
                if found is None:
                    continue
                text, dropping = text[found.end():], False
            if text:
                yield text
        if dropping:  # no separator in the whole range: its text is the range before's
            return
        for i in range(self._last, len(self._blocks)):
            text = _inflate_block(*self._inflate(i))
            self.blocks += 1
            found = self._separator.search(text)
            if found is not None:
                yield text[:found.end()]
                return
            yield text
