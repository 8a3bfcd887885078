"""xz files inflated block by block on several threads when they hold several blocks, in order, as one
stream of text; stream after stream on one thread otherwise.

An .xz stream is a 12-byte header (magic bytes, flags naming the check, their CRC-32), blocks, an index
(each block's unpadded and uncompressed size) and a 12-byte footer that gives the index's size; each
block is decoded without the others. ``xz -T`` with more than one thread, and pixz, write files of
many blocks; ``xz -T1`` writes one. Streams may follow one another, with padding of zero bytes (a multiple
of four) between and after them.

Here the reader finds every stream and block from the end of the file (:func:`_layout`: each footer, its
index, the header before the blocks, all checked as liblzma checks them), then inflates each block as a
stream of its own (the stream's header, the block's bytes as they are, an index of that one block, a
footer: :func:`_one_block_stream`) with ``lzma.decompress`` on worker threads (it lets go of the GIL),
which checks the block's header, its sizes and its check value (CRC-32, CRC-64 or SHA-256) as it would
in the whole file; the texts come out in the file's order. A file that cannot be laid out so (it cannot
seek, it ends in bytes that are not xz, its index or a footer is damaged, a legacy .lzma file), one of a
single block, or one with a block of more than :data:`MAX_BLOCK_TEXT` of text, is read stream after
stream by the standard library's decompressor on the reading thread (:func:`serial_texts`, whose rule for
what follows a stream is xz(1)'s: :mod:`w2v.streams`); a block that fails is read so again from the start
of its stream, the text already given skipped, so a damaged file raises the serial reader's error.

Memory: blocks in flight are at most 2 × threads and at most :data:`IN_FLIGHT_TEXT` of text together
(at least one), each held compressed and inflated once.

Since the index gives every block's place and text size, a range of the text can be read without
inflating the blocks before it (:class:`XzRange`, and :class:`TextAt` for reads at any place): a
distributed part (:class:`w2v.corpus.CorpusPart`) cuts such a file by its text, as it cuts a plain
file by its bytes, and inflates only its share of the blocks (and the two where its ends are found,
which it keeps while it reads: two blocks more in memory).

This module imports neither Numba nor tqdm.
"""
from __future__ import annotations

import bisect
import io
import itertools
import lzma
import zlib
from concurrent.futures import Future
from typing import BinaryIO, Dict, Iterator, List, NamedTuple, Optional, Tuple

from . import streams

__all__ = ["open_read", "ParallelXz", "XzRange", "TextAt", "blocks_of", "serial_texts"]

#: The first bytes of an .xz stream, and the last of its footer.
MAGIC = b"\xfd7zXZ\x00"
FOOTER_MAGIC = b"YZ"
#: A block of more text than this sends the file to the serial reader (``xz -9 -T`` writes blocks of
#: 192 MB of text; ``-6``, the default, 24 MB).
MAX_BLOCK_TEXT = 256 << 20
#: The most text the blocks in flight may hold together (a block is always let in when none is).
IN_FLIGHT_TEXT = 512 << 20
#: An index larger than this (some 10 million blocks) sends the file to the serial reader.
_MAX_INDEX = 64 << 20


def _after_stream(head: bytes, first: bool):
    """What the bytes where an .xz stream may start mean, as xz(1) reads them (:func:`w2v.streams.serial_texts`,
    which skips the zero bytes of stream padding first): the first stream is whatever the standard
    library's decompressor makes of it (an .xz stream, a legacy .lzma file, or its error); a later one
    starts with the magic bytes; a part of them at the end of the file is a cut; anything else, or
    nothing, ends the text."""
    if first or head.startswith(MAGIC):
        return None
    if head and MAGIC.startswith(head):
        return EOFError(streams.CUT)
    return streams.END


def serial_texts(raw: BinaryIO, skip: int = 0, first: bool = True) -> Iterator[bytes]:
    """The text of the .xz streams from where ``raw`` stands, stream after stream on this thread
    (:func:`w2v.streams.serial_texts`), the first ``skip`` bytes left out; ``first``: the stream at ``raw``
    is the file's first."""
    return streams.serial_texts(raw, lzma.LZMADecompressor, _after_stream, len(MAGIC), skip, first, padding=True)


def _le32(data: bytes) -> int:
    return int.from_bytes(data, "little")


def _varint(data: bytes, at: int) -> Tuple[int, int]:
    """The xz multibyte integer at ``data[at:]`` (7 bits a byte, lowest first, at most 9 bytes, no
    needless last zero byte) and where it ends; ``ValueError`` if there is none."""
    value = 0
    for i in range(9):
        if at + i >= len(data):
            break
        byte = data[at + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if byte == 0 and i > 0:
                break
            return value, at + i + 1
    raise ValueError("not an xz integer")


def _to_varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


#: A stream: the byte offset of its header, the header, and its blocks as (offset, bytes with padding,
#: unpadded size, uncompressed size).
_Stream = Tuple[int, bytes, List[Tuple[int, int, int, int]]]


def _layout(raw: BinaryIO, origin: int, end: int) -> Optional[List[_Stream]]:
    """The streams of the file ``raw`` between ``origin`` and ``end``, read from its end (module
    docstring), in order; None unless all of it is streams that check out and their padding (the serial
    reader then raises, or ignores, what is not)."""
    def read(at: int, n: int) -> bytes:
        raw.seek(at)
        data = raw.read(n)
        if len(data) != n:
            raise ValueError("short read")
        return data

    found: List[_Stream] = []
    position = end
    try:
        while position > origin:
            while position - origin >= 4 and read(position - 4, 4) == b"\0\0\0\0":  # stream padding
                position -= 4
            if position - origin < 32:
                return None
            footer = read(position - 12, 12)
            if footer[10:] != FOOTER_MAGIC or zlib.crc32(footer[4:10]) != _le32(footer[:4]):
                return None
            flags = footer[8:10]
            index_size = (_le32(footer[4:8]) + 1) * 4
            index_start = position - 12 - index_size
            if index_size > _MAX_INDEX or index_start < origin + 12:
                return None
            index = read(index_start, index_size)
            if index[0] != 0 or zlib.crc32(index[:-4]) != _le32(index[-4:]):
                return None
            count, at = _varint(index, 1)
            records = []
            for _ in range(count):
                unpadded, at = _varint(index, at)
                uncompressed, at = _varint(index, at)
                records.append((unpadded, uncompressed))
            if -at % 4 != index_size - 4 - at or any(index[at:-4]):  # only the index's padding is left
                return None
            blocks_size = sum(-(-unpadded // 4) * 4 for unpadded, _ in records)
            start = index_start - blocks_size - 12
            if start < origin:
                return None
            header = read(start, 12)
            if header[:6] != MAGIC or header[6:8] != flags or zlib.crc32(header[6:8]) != _le32(header[8:]):
                return None
            blocks, at = [], start + 12
            for unpadded, uncompressed in records:
                padded = -(-unpadded // 4) * 4
                blocks.append((at, padded, unpadded, uncompressed))
                at += padded
            found.append((start, header, blocks))
            position = start
    except (OSError, ValueError):
        return None
    found.reverse()
    return found


class Block(NamedTuple):
    """A block of a laid-out file: where its text starts in the file's text and in its stream's, its
    stream's header and first byte, and the block's offset, bytes with padding, unpadded and text sizes."""
    text_start: int
    in_stream: int
    header: bytes
    stream_start: int
    offset: int
    padded: int
    unpadded: int
    uncompressed: int


def blocks_of(raw: BinaryIO) -> Optional[List[Block]]:
    """The blocks of the .xz file ``raw`` (binary, seekable; from where it stands to its end), in order,
    when they can be inflated one by one (:func:`_layout`, at least two blocks, none of more than
    :data:`MAX_BLOCK_TEXT` of text); else None (the serial reader's file). ``raw`` is left where it stood."""
    origin = raw.tell()
    try:
        layout = _layout(raw, origin, raw.seek(0, io.SEEK_END))
    finally:
        raw.seek(origin)
    if layout is None:
        return None
    found: List[Block] = []
    text = 0
    for stream_start, header, blocks in layout:
        in_stream = 0
        for offset, padded, unpadded, uncompressed in blocks:
            if uncompressed > MAX_BLOCK_TEXT:
                return None
            found.append(Block(text, in_stream, header, stream_start, offset, padded, unpadded, uncompressed))
            text += uncompressed
            in_stream += uncompressed
    return found if len(found) >= 2 else None


def _one_block_stream(header: bytes, block: bytes, unpadded: int, uncompressed: int) -> bytes:
    """An .xz stream of one block (``block``: its bytes with padding and check, as they lie in the file),
    under the header of the block's own stream: its index (one record) and footer made here."""
    index = b"\0" + _to_varint(1) + _to_varint(unpadded) + _to_varint(uncompressed)
    index += b"\0" * (-len(index) % 4)
    index += zlib.crc32(index).to_bytes(4, "little")
    backward = (len(index) // 4 - 1).to_bytes(4, "little") + header[6:8]
    return header + block + index + zlib.crc32(backward).to_bytes(4, "little") + backward + FOOTER_MAGIC


def _inflate_block(header: bytes, block: bytes, unpadded: int, uncompressed: int) -> bytes:
    """The text of one block (:func:`_one_block_stream`); ``lzma.LZMAError`` if it does not check out
    (liblzma checks the block against its index record too). At most ``uncompressed`` bytes and one more
    are inflated, so a damaged block cannot fill memory before its sizes are found wrong."""
    decompressor = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    text = decompressor.decompress(_one_block_stream(header, block, unpadded, uncompressed), uncompressed)
    if not decompressor.eof and (decompressor.decompress(b"", 1) or not decompressor.eof):
        raise lzma.LZMAError("the block holds more text than its index says")
    return text


class ParallelXz(streams.BlocksReader):
    """The text of an .xz file (``raw``: opened in binary, read from where it stands), its blocks
    inflated on ``threads`` threads when it can (module docstring), else stream after stream on the
    reading thread. ``blocks`` counts the blocks inflated in parallel, ``fallbacks`` the times the
    serial reader took over from a block that failed, ``held`` the most text the blocks in flight held
    (``_in_flight``: (future, its :class:`Block`))."""

    def _all_texts(self) -> Iterator[bytes]:
        blocks = blocks_of(self._raw) if self._raw.seekable() else None
        if blocks is None:
            yield from serial_texts(self._raw)
        else:
            yield from self._texts_from(blocks)

    def _texts_from(self, blocks: List[Block]) -> Iterator[bytes]:
        """The text from the first of ``blocks`` (a run of the file's blocks) on: those blocks inflated on
        the pool; where one fails, the serial reader from the start of its stream, the text before that
        block skipped, to the end of the file."""
        try:
            yield from self._block_texts(blocks)
        except streams.Fallback as fallback:
            self.fallbacks += 1
            self._raw.seek(fallback.stream_start)  # (a stream laid out starts with the magic bytes)
            yield from serial_texts(self._raw, fallback.skip)

    def _block_texts(self, blocks: List[Block]) -> Iterator[bytes]:
        """``blocks`` inflated on the pool, the texts in order; :class:`w2v.streams.Fallback` where one fails."""
        in_flight = self._in_flight  # (future, its block)
        held = 0

        def give() -> Iterator[bytes]:
            nonlocal held
            job, block = in_flight.popleft()
            held -= block.uncompressed
            try:
                text = job.result()
            except lzma.LZMAError:
                raise streams.Fallback(block.stream_start, block.in_stream) from None
            yield text

        for block in blocks:
            while in_flight and (len(in_flight) >= 2 * self._threads or held + block.uncompressed > IN_FLIGHT_TEXT
                                 or in_flight[0][0].done()):
                yield from give()
            self._raw.seek(block.offset)
            data = self._raw.read(block.padded)
            job: Future = streams.worker_pool(self._threads).submit(_inflate_block, block.header, data,
                                                                    block.unpadded, block.uncompressed)
            in_flight.append((job, block))
            held += block.uncompressed
            self.held = max(self.held, held)
            self.blocks += 1
        while in_flight:
            yield from give()


class XzRange(ParallelXz):
    """Bytes ``start .. end - 1`` of the text of a laid-out .xz file (``blocks``: :func:`blocks_of` of
    ``raw``): only the blocks that hold them are inflated (on ``threads`` threads), and where one fails
    the serial reader takes over from the start of its stream, as :class:`ParallelXz` does, so that a
    damaged block in the range raises that reader's error. How :class:`w2v.corpus.CorpusPart` cuts a
    file of many blocks among parts without inflating all of it in each. ``start``: where the range
    starts, as a :class:`w2v.corpus` range's; ``known``: the texts of blocks (by their place in
    ``blocks``) at hand already (:attr:`TextAt.kept`), not inflated again."""

    def __init__(self, raw: BinaryIO, blocks: List[Block], start: int, end: int, threads: Optional[int] = None,
                 known: Optional[Dict[int, bytes]] = None):
        self._blocks, self.start, self.end, self._known = blocks, start, end, known or {}
        super().__init__(raw, threads)

    def _all_texts(self) -> Iterator[bytes]:
        left = self.end - self.start
        if left <= 0:
            return
        starts = [block.text_start for block in self._blocks]
        first = bisect.bisect_right(starts, self.start) - 1
        last = bisect.bisect_left(starts, self.end)
        skip = self.start - starts[first]
        for text in itertools.chain.from_iterable(self._runs(first, last)):
            if skip:  # (the serial reader's texts, after a failed first block, may be shorter than the skip)
                if len(text) <= skip:
                    skip -= len(text)
                    continue
                text, skip = text[skip:], 0
            if len(text) >= left:
                yield text[:left]
                return
            left -= len(text)
            yield text

    def _runs(self, first: int, last: int) -> Iterator[Iterator[bytes]]:
        """The texts of blocks ``first .. last - 1`` on: a known block's text as it is, each run of the others
        inflated (:meth:`_texts_from`; where one fails, the serial reader goes on to the end of the file,
        the rest of the range included, so the texts after it are not needed)."""
        i = first
        while i < last:
            if i in self._known:
                yield iter((self._known[i],))
                i += 1
                continue
            j = i
            while j < last and j not in self._known:
                j += 1
            yield self._texts_from(self._blocks[i:j])
            i = j


class TextAt:
    """Random reads of the text of a laid-out .xz file (``blocks``: :func:`blocks_of` of ``raw``), as a
    binary file's ``seek``, ``read`` and ``tell`` (for :func:`w2v.corpus.token_start`): the block that
    holds the place asked for is inflated (the last two kept), and a read ends at its end. ``size``: the
    text's length."""

    def __init__(self, raw: BinaryIO, blocks: List[Block]):
        self._raw, self._blocks = raw, blocks
        self._starts = [block.text_start for block in blocks]
        self.size = blocks[-1].text_start + blocks[-1].uncompressed
        self._position = 0
        self._kept: Dict[int, bytes] = {}  # the last two blocks inflated, the later last

    @property
    def kept(self) -> Dict[int, bytes]:
        """The texts of the last two blocks inflated, by their place in ``blocks``."""
        return dict(self._kept)

    def seek(self, position: int) -> int:
        self._position = position
        return position

    def tell(self) -> int:
        return self._position

    def read(self, n: int) -> bytes:
        if not 0 <= self._position < self.size:
            return b""
        i = bisect.bisect_right(self._starts, self._position) - 1
        if i not in self._kept:
            if len(self._kept) == 2:
                del self._kept[next(iter(self._kept))]
            self._kept[i] = self._block_text(self._blocks[i])
        at = self._position - self._starts[i]
        data = self._kept[i][at:at + n]
        self._position += len(data)
        return data

    def _block_text(self, block: Block) -> bytes:
        """The block's text; where it fails on its own, the serial reader's, from its stream's start (as
        :class:`ParallelXz` reads it: a damaged block raises that reader's error)."""
        self._raw.seek(block.offset)
        try:
            return _inflate_block(block.header, self._raw.read(block.padded), block.unpadded, block.uncompressed)
        except lzma.LZMAError:
            pass
        self._raw.seek(block.stream_start)
        texts, got, need = serial_texts(self._raw, block.in_stream), [], block.uncompressed
        try:
            for text in texts:
                got.append(text[:need])
                need -= len(got[-1])
                if need <= 0:
                    break
        finally:
            texts.close()
        return b"".join(got)


def open_read(raw: BinaryIO, threads: Optional[int] = None) -> BinaryIO:
    """A buffered stream of the text of the .xz file ``raw`` (opened in binary): its blocks inflated on
    ``threads`` threads (None: every core) when it can (:class:`ParallelXz`)."""
    return io.BufferedReader(ParallelXz(raw, threads), buffer_size=1 << 20)
