"""bzip2 files inflated block by block on every core, in order, as one stream of text.

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
of a decompressor, :func:`_cut_in_stream`). After a stream the standard library reads on only if its
first call on what follows, the rest of its 8 kB read, does not fail, and ignores it otherwise; the
same call decides here (:func:`_first_read_fails`, called only where it can matter: where something in
the stream fails before any of its text is given, or after a stream whose first block is under 8 kB,
so that a file of many streams pays nothing for it). The call asks for at most :data:`CHUNK` bytes of
text, as the standard library's buffered reads do; a reader asking for more in one call could see a
little further before its first call ends.

The mark can also occur by chance inside a block's bits (about once in 2⁴⁸ bit positions: in a 10 GB
file about once in 3,000 such files); the pieces a false mark cuts a block into do not decode, or fail
its CRC. Whatever does not fit (a piece that does not decode, a wrong combined CRC, a stream that does
not start with a header or has no mark where a block must start) is left to the standard library: the
file is read again from the start of the stream where it happened, on one thread, in reads that end
where the standard library's reads from the start of the file would end (:class:`_ChunkedAsFromOrigin`),
the text already given skipped, so a damaged file gives the standard library's text and error. A file
that cannot seek (a pipe) is read by the standard library alone.

Memory: at most 2 × threads blocks are in flight for a file (the worker threads are shared by the files
read at once), each at most about 1 MB compressed and usually at most 900 kB of text (a block of long
runs of one byte holds more: up to about 45 MB).

This module imports neither Numba nor tqdm.
"""
from __future__ import annotations

import bz2
import collections
import io
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO, Dict, Iterator, List, Optional, Tuple

from .options import default_threads

__all__ = ["open_read", "ParallelBzip2"]

BLOCK_MARK = 0x314159265359
END_MARK = 0x177245385090
_MARK_MASK = (1 << 48) - 1
#: Compressed bytes read at a time.
READ_BYTES = 1 << 20
#: The bytes the standard library's reader reads at a time (``_compression.BUFFER_SIZE``): whether it
#: ignores what follows a stream depends on where its reads end.
CHUNK = io.DEFAULT_BUFFER_SIZE


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


def _first_read_fails(following: bytes) -> bool:
    """Whether the standard library's first call on what follows a stream (``following``: up to the end
    of its read, a multiple of :data:`CHUNK` from where it started) fails, or finds nothing: it then
    ignores it and the rest of the file."""
    if not following:
        return True
    try:
        bz2.BZ2Decompressor().decompress(following, CHUNK)
    except OSError:
        return True
    return False


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
_CUT = "Compressed file ended before the end-of-stream marker was reached"


class _Fallback(Exception):
    """Something the block reader leaves to the standard library, from byte ``stream_start`` of the
    file, with ``skip`` bytes of that stream's text already given."""

    def __init__(self, stream_start: int, skip: int):
        super().__init__(stream_start, skip)
        self.stream_start, self.skip = stream_start, skip


_POOLS: Dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    """The pool of ``threads`` threads that every reader asking for that many shares, so that several
    .bz2 files read at once (a reader thread each) do not start a pool each and oversubscribe the
    cores; its idle threads wait for the next file."""
    with _POOLS_LOCK:
        if threads not in _POOLS:
            _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="w2v-bzip2")
        return _POOLS[threads]


class _ChunkedAsFromOrigin(io.RawIOBase):
    """``raw`` from ``position`` bytes past the reader's origin, read in pieces that never cross a
    multiple of :data:`CHUNK` from the origin: the standard library's reader, started here, then reads
    the file as it would have read it from the origin."""

    def __init__(self, raw: BinaryIO, position: int):
        super().__init__()
        self._raw, self._position = raw, position

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(min(len(buffer), CHUNK - self._position % CHUNK))
        buffer[:len(data)] = data
        self._position += len(data)
        return len(data)


class ParallelBzip2(io.RawIOBase):
    """The text of a bzip2 file (``raw``: opened in binary, seekable, read from where it stands), its
    blocks inflated on ``threads`` threads (module docstring). ``blocks`` counts the blocks inflated
    in parallel, ``fallbacks`` the times the standard library took over, ``held`` the most compressed
    bytes held at once."""

    def __init__(self, raw: BinaryIO, threads: Optional[int] = None):
        super().__init__()
        self._raw = raw
        self._origin = raw.tell()
        self._threads = max(1, threads or default_threads())
        self._in_flight: collections.deque = collections.deque()  # (future or entry, its stream's start)
        self._texts = self._all_texts()
        self._pending = memoryview(b"")
        self.blocks = 0
        self.fallbacks = 0
        self.held = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            text = next(self._texts, None)
            if text is None:
                return 0
            self._pending = memoryview(text)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._texts.close()
            for job, _ in self._in_flight:  # the blocks not started (the pool is shared)
                if isinstance(job, Future):
                    job.cancel()
        super().close()

    # -- the texts, in order ------------------------------------------------------------------------
    def _all_texts(self) -> Iterator[bytes]:
        try:
            yield from self._block_texts()
        except _Fallback as fallback:
            start = fallback.stream_start
            if start > 0 and fallback.skip == 0:  # its first block failed: would it have been read at all?
                self._raw.seek(self._origin + start)
                if _first_read_fails(self._raw.read(CHUNK - start % CHUNK)):
                    return
            self.fallbacks += 1
            self._raw.seek(self._origin + start)
            with bz2.BZ2File(_ChunkedAsFromOrigin(self._raw, start), "rb") as serial:
                skip = fallback.skip
                while skip:
                    skipped = len(serial.read(min(skip, READ_BYTES)))
                    if not skipped:
                        return
                    skip -= skipped
                while True:
                    text = serial.read(READ_BYTES)
                    if not text:
                        return
                    yield text

    def _block_texts(self) -> Iterator[bytes]:
        """The blocks of :meth:`_plan` inflated on the pool, their texts in the file's order; then the
        plan's error, if it ends with one. Raises :class:`_Fallback` where the standard library must
        take over."""
        in_flight = self._in_flight  # (future of a text, or what to raise there; its stream's start)
        given = [0, -1]  # bytes of text given from the stream starting at byte given[1]

        def give(entry) -> Iterator[bytes]:
            job, stream_start = entry
            if given[1] != stream_start:
                given[0], given[1] = 0, stream_start
            if job is _FALLBACK:
                raise _Fallback(stream_start, given[0])
            if isinstance(job, BaseException):
                raise job
            try:
                text = job.result()
            except (OSError, EOFError, ValueError):  # not a whole block: a false mark, or damage
                raise _Fallback(stream_start, given[0]) from None
            given[0] += len(text)
            yield text

        for job, stream_start in self._plan():
            if isinstance(job, tuple):
                job = _pool(self._threads).submit(_inflate_block, *job)
                self.blocks += 1
            in_flight.append((job, stream_start))
            while in_flight and isinstance(in_flight[0][0], Future) and (
                    len(in_flight) > 2 * self._threads or in_flight[0][0].done()):
                yield from give(in_flight.popleft())
        while in_flight:
            yield from give(in_flight.popleft())

    def _plan(self) -> Iterator[Tuple[object, int]]:
        """The file in order as (job, the file's byte offset of its stream's header): a job is a block
        (the bytes holding it, its first bit in them, its length in bits, its stream's header),
        :data:`_FALLBACK` where the standard library must take over, or the error to raise there (the
        last entry either way)."""
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
        fresh = True  # nothing of this stream planned yet

        def ignored() -> bool:
            """Whether the standard library ignores this stream and what follows (module docstring)."""
            chunk_end = (stream // CHUNK + 1) * CHUNK
            have(chunk_end * 8)
            return stream > 0 and _first_read_fails(bytes(data[stream - base:chunk_end - base]))

        def stop(what) -> Iterator[Tuple[object, int]]:
            """The plan's last entry, unless the standard library would not even have read this stream."""
            if not (fresh and ignored()):
                yield what, stream

        while True:
            fresh = True
            have((stream + 4) * 8)
            header = bytes(data[stream - base:stream - base + 4])
            if not (len(header) == 4 and header[:3] == b"BZh" and b"1" <= header[3:] <= b"9"):
                if len(header) < 4 and (stream > 0 or b"BZh".startswith(header)):
                    yield from stop(EOFError(_CUT))  # the file ends in a header (or where one must be)
                elif stream > 0:
                    yield from stop(_FALLBACK)  # where the standard library raises depends on its reads
                else:
                    yield OSError("Invalid data stream"), stream
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
                    yield from stop(EOFError(_CUT) if cut else _FALLBACK)
                    return
                if marks[0][1] == END_MARK:
                    marks.popleft()
                    if not have(bit + 80):
                        yield from stop(EOFError(_CUT))
                        return
                    if _bits(data, bit - base * 8 + 48, bit - base * 8 + 80) != combined:
                        yield from stop(_FALLBACK)
                        return
                    stream = (bit + 80 + 7) // 8
                    break
                # a block: it ends where the next mark starts
                marks.popleft()
                while not marks and more():
                    pass
                if not marks:  # the file ends inside this block: cut there, or damage
                    yield from stop(EOFError(_CUT) if _cut_in_stream(header, data, bit - base * 8) else _FALLBACK)
                    return
                end = marks[0][0]
                if fresh and end < (stream // CHUNK + 1) * CHUNK * 8 and ignored():
                    # the standard library's first call on this stream reads past its first block (rare:
                    # a block of under 8 kB): what it would say of them is asked now, before any is given
                    return
                fresh = False
                crc = _bits(data, bit - base * 8 + 48, bit - base * 8 + 80)
                combined = (((combined << 1) | (combined >> 31)) & 0xFFFFFFFF) ^ crc
                yield (bytes(data[bit // 8 - base:(end + 7) // 8 - base]), bit % 8, end - bit, header), stream
                drop = end // 8 - base  # what no later block or mark needs
                del data[:drop]
                base += drop
                scanned -= drop
                bit = end


def open_read(raw: BinaryIO, threads: Optional[int] = None) -> BinaryIO:
    """A buffered stream of the text of the bzip2 file ``raw`` (opened in binary): blocks inflated on
    ``threads`` threads (None: every core; :class:`ParallelBzip2`) when ``raw`` can seek, else by the
    standard library."""
    if not raw.seekable():
        return bz2.open(raw)
    return io.BufferedReader(ParallelBzip2(raw, threads), buffer_size=1 << 20)
