"""Reading a file ahead, in a thread of its own, into a ring of buffers.

A reader that reads a block, works on it, then reads the next waits for the disk once per block:
its time is the disk's plus its own. :class:`ReadAhead` reads the next blocks while the caller works
on the current one (a read releases the GIL), so the time is about the larger of the two.

Each buffer has ``slack`` free bytes before the ``chunk`` bytes read into it, so that the caller can
put there what it left unread of the block before (a record cut by the block's end) and see one
contiguous block, without waiting for a read that would have to know where to start. A buffer is
read into again only after the caller gives it back (:meth:`ReadAhead.give_back`): a caller that
hands a block to other threads gives it back when they are done with it. A caller may also have
the reading thread start the work on each block as soon as it is read (``then``), work that does
not depend on the blocks before it.

This module never imports Numba.
"""
from __future__ import annotations

import queue
import threading
from typing import Any, BinaryIO, Callable, List, Optional, Tuple

__all__ = ["ReadAhead"]


class ReadAhead:
    """Read ``f`` from where it stands, ``chunk`` bytes at a time, into ``buffers`` bytearrays of
    ``slack + chunk`` bytes (``bufs``), each read going to ``bufs[i][slack:slack + got]``; then, in
    the same thread, ``then(bufs[i], slack, got)`` (if given), whose result :meth:`next` passes on.

    Use as a context manager; on leaving, the thread stops (after the read it is in, if any) and no
    buffer is written any more. At the end of the file, :meth:`next` gives 0 bytes, as often as asked.
    """

    def __init__(self, f: BinaryIO, chunk: int, slack: int, buffers: int,
                 then: Optional[Callable[[bytearray, int, int], Any]] = None):
        if chunk < 1 or slack < 0 or buffers < 2:
            raise ValueError(f"read-ahead needs chunk >= 1, slack >= 0 and 2 buffers or more, "
                             f"got {chunk}, {slack}, {buffers}")
        self.bufs: List[bytearray] = [bytearray(slack + chunk) for _ in range(buffers)]
        self.slack = slack
        self._f = f
        self._chunk = chunk
        self._then = then
        self._free: "queue.SimpleQueue" = queue.SimpleQueue()  # buffer numbers to read into; None: stop
        self._read: "queue.SimpleQueue" = queue.SimpleQueue()  # (buffer number, bytes read or the error, then's)
        self._stopping = False
        for i in range(buffers):
            self._free.put(i)
        self._thread = threading.Thread(target=self._run, name="w2v-read-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            i = self._free.get()
            if i is None or self._stopping:
                return
            try:
                got = self._f.readinto(memoryview(self.bufs[i])[self.slack:self.slack + self._chunk]) or 0
                result = None if self._then is None else self._then(self.bufs[i], self.slack, got)
            except BaseException as error:  # raised in the caller's thread by next()
                self._read.put((i, error, None))
                return
            self._read.put((i, got, result))

    def next(self) -> Tuple[int, int, Any]:
        """The next buffer read, in file order: ``(i, got, then's result)``, its bytes in
        ``bufs[i][slack:slack + got]`` (0 at the end of the file). Raises what the read (or ``then``) raised."""
        i, got, result = self._read.get()
        if isinstance(got, BaseException):
            self._read.put((i, got, None))  # asked again, it raises again, not waits for a read that never comes
            raise got
        return i, got, result

    def next_bytes(self) -> bytes:
        """The next block's bytes as a bytes object (b"" at the end of the file), its buffer given back at once."""
        i, got, _ = self.next()
        data = bytes(self.bufs[i][self.slack:self.slack + got])
        self.give_back(i)
        return data

    def give_back(self, i: int) -> None:
        """The caller (and every thread it handed the buffer to) is done with ``bufs[i]``: read into it again.
        May be called from any thread."""
        self._free.put(i)

    def close(self) -> None:
        self._stopping = True
        self._free.put(None)
        self._thread.join()

    def __enter__(self) -> "ReadAhead":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
