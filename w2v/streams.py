"""Compressed streams that follow one another in a file (``cat a.bz2 b.bz2``, ``cat a.xz b.xz``, Wikipedia's
"multistream" dumps), read one after the other on the calling thread.

What follows a stream is judged as the format's own tool judges it, by the bytes where the next stream
would start (an ``after_stream`` function of the format's): a stream if they start with the format's
magic bytes, so that a damaged stream is an error; the file cut if they are a part of the magic at its
end (``EOFError``); otherwise the end of the text (nothing, or bytes that are not the format's: ignored,
with all that follows). The standard library's readers (``bz2.BZ2File``, ``lzma.LZMAFile``) instead
ignore what follows a stream whenever their first call on it fails, which for a damaged stream depends on
how much the caller asks for at a time, and drop that stream and every stream after it without a word.

Also what the readers that inflate blocks on several threads share (:mod:`w2v.bzip2`, :mod:`w2v.xz`):
their pool of worker threads (:func:`worker_pool`) and their base (:class:`BlocksReader`).

This module imports neither Numba nor tqdm.
"""
from __future__ import annotations

import collections
import io
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO, Callable, Dict, Iterator, Optional

from .options import default_threads

__all__ = ["CUT", "END", "READ_BYTES", "BlocksReader", "Fallback", "TextsReader", "serial_texts", "worker_pool"]

#: Compressed bytes read at a time, and the most text one call of a decompressor gives (a few compressed
#: bytes can hold a great deal of text).
READ_BYTES = 1 << 20
#: The standard library's message for a file that ends inside a stream.
CUT = "Compressed file ended before the end-of-stream marker was reached"
#: What an ``after_stream`` function says of bytes that end the text.
END = "end"


def serial_texts(raw: BinaryIO, new_decompressor: Callable, after_stream: Callable, head_bytes: int,
                 skip: int = 0, first: bool = True, padding: bool = False) -> Iterator[bytes]:
    """The text of the streams from where ``raw`` stands, each inflated by ``new_decompressor()`` (the
    standard library's ``bz2.BZ2Decompressor`` or ``lzma.LZMADecompressor``: ``decompress(data,
    max_length)``, ``eof``, ``needs_input``, ``unused_data``), at most :data:`READ_BYTES` of text a call.
    Where a stream may start, ``after_stream(its first head_bytes bytes, or fewer at the end of the file,
    first)`` says what they are: None for a stream, :data:`END` for the end of the text, or the error to
    raise. ``padding``: zero bytes between streams are skipped (xz's stream padding). The first ``skip``
    bytes of text are left out (given already); ``first``: the stream at ``raw`` is the file's first."""
    pending = b""
    while True:
        while True:
            if padding and not first:
                pending = pending.lstrip(b"\0")
            if len(pending) >= head_bytes:
                break
            more = raw.read(READ_BYTES)
            if not more:
                break
            pending += more
        verdict = after_stream(pending[:head_bytes], first)
        if verdict is END:
            return
        if verdict is not None:
            raise verdict
        first = False
        decompressor = new_decompressor()
        data, pending = pending, b""
        while not decompressor.eof:
            if decompressor.needs_input and not data:
                data = raw.read(READ_BYTES)
                if not data:
                    raise EOFError(CUT)
            text = decompressor.decompress(data, READ_BYTES)
            data = b""
            if skip:
                dropped = min(skip, len(text))
                text, skip = text[dropped:], skip - dropped
            if text:
                yield text
        pending = decompressor.unused_data


_POOLS: Dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def worker_pool(threads: int) -> ThreadPoolExecutor:
    """The pool of ``threads`` threads that inflates the blocks of every file read at once (:mod:`w2v.bzip2`,
    :mod:`w2v.xz`) and asks for that many, so that several files read at once (a reader thread each) do
    not start a pool each and oversubscribe the cores; its idle threads wait for the next file."""
    with _POOLS_LOCK:
        if threads not in _POOLS:
            _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="w2v-inflate")
        return _POOLS[threads]


class TextsReader(io.RawIOBase):
    """A raw binary stream of the byte strings ``texts`` makes (or a subclass's ``_texts``, set after
    ``__init__``); closing it closes the iterator."""

    def __init__(self, texts: Optional[Iterator[bytes]] = None):
        super().__init__()
        self._texts = texts if texts is not None else iter(())
        self._pending = memoryview(b"")

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
            close = getattr(self._texts, "close", None)
            if close is not None:
                close()
        super().close()


class Fallback(Exception):
    """Raised by a block reader's blocks where the serial reader must take over: from byte
    ``stream_start`` of the file (a stream's header), ``skip`` bytes of that stream's text given already."""

    def __init__(self, stream_start: int, skip: int):
        super().__init__(stream_start, skip)
        self.stream_start, self.skip = stream_start, skip


class BlocksReader(TextsReader):
    """The text of a compressed file whose blocks are inflated on ``threads`` threads (None: every core;
    :mod:`w2v.bzip2`, :mod:`w2v.xz`): a subclass defines ``_all_texts()``, the texts in order, and keeps
    the blocks it has handed to :func:`worker_pool` in ``_in_flight`` (entries whose first item is their
    future), which closing cancels if not started. ``blocks`` counts the blocks inflated in parallel,
    ``fallbacks`` the times the serial reader took over, ``held`` the most bytes held at once."""

    def __init__(self, raw: BinaryIO, threads: Optional[int] = None):
        super().__init__()
        self._raw = raw
        self._threads = max(1, threads or default_threads())
        self._in_flight: collections.deque = collections.deque()
        self.blocks = 0
        self.fallbacks = 0
        self.held = 0
        self._texts = self._all_texts()

    def _all_texts(self) -> Iterator[bytes]:
        raise NotImplementedError

    def close(self) -> None:
        if not self.closed:
            self._texts.close()
            for entry in self._in_flight:  # the blocks not started (the pool is shared)
                if isinstance(entry[0], Future):
                    entry[0].cancel()
        super().close()
