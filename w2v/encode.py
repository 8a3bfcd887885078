"""Encode a corpus as word ids for training.

The result is two flat arrays, the contract with the kernels:

* ``ids``: int32[N], the in-vocabulary tokens of the whole corpus in order
  (out-of-vocabulary tokens are dropped, as word2vec.c drops them);
* ``offsets``: int64[S+1], sentence ``s`` is ``ids[offsets[s]:offsets[s+1]]``.

A line is a sentence; a sentence longer than ``max_sentence_length`` ids is
cut into pieces of that length (the remainder is trained too, never dropped;
word2vec.c cuts at 1000 words after subsampling, gensim at 10,000 before).
Sentences left empty by dropping unknown words are skipped. The text is read
and looked up in compiled code on several threads (:mod:`w2v.scan`), or, when
the vocabulary was counted from the same reading, not read again:
:func:`encode_spooled` maps the count's entries, spooled while counting, to
word ids.

The ids live in memory, or with ``cache_dir`` in a temporary file there,
read back one chunk at a time (:meth:`EncodedCorpus.chunk`): the file is
served from the operating system's page cache, so the corpus costs disk and
cache, not the process's own memory, as a tool that re-reads its text file
every epoch does. The file is unlinked as soon as it is created, so nothing is
left behind even if the process is killed. Offsets always stay in memory.
"""
from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np

from .corpus import Corpus
from .files import temporary_file
from .memory import release_free_memory
from .vocab import Vocabulary

__all__ = ["EncodedCorpus", "encode_corpus", "encode_spooled"]



@dataclass
class EncodedCorpus:
    """ids int32[N] (None when spooled to a file) and offsets int64[S+1] (see the module docstring)."""
    ids: Optional[np.ndarray]
    offsets: np.ndarray
    fd: Optional[int] = None   # the spooled ids file, when ids is None

    @property
    def n_words(self) -> int:
        return int(self.offsets[-1])

    @property
    def n_sentences(self) -> int:
        return int(len(self.offsets) - 1)

    def chunk(self, s_begin: int, s_end: int):
        """Sentences ``s_begin .. s_end``: (ids int32[n], offsets int64[s_end - s_begin + 1] starting at 0)."""
        begin, end = int(self.offsets[s_begin]), int(self.offsets[s_end])
        offsets = self.offsets[s_begin:s_end + 1] - begin
        if self.ids is not None:
            return self.ids[begin:end], offsets
        ids = np.empty(end - begin, dtype=np.int32)
        _read_exactly(self.fd, ids, begin * 4)
        return ids, offsets

    def close(self) -> None:
        """Drop the arrays and close the spooled file."""
        self.ids = np.zeros(0, np.int32)
        self.offsets = np.zeros(1, np.int64)
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class _Sink:
    """Integers in memory or in an unlinked temporary file; ``finish`` returns the array or the fd.

    Appending is in two steps, so that the copying can run on several threads while the order is kept
    by one: :meth:`reserve` takes the next ``n`` places (called in order, by one thread at a time), and
    :meth:`fill` or :meth:`fill_mapped` writes them, from any thread, in any order; every reservation
    is filled exactly once. :meth:`append` does both.

    In memory it fills one buffer of ``capacity`` entries, growing it by half
    when full (once the fills in flight are done), so the peak is the array itself
    (plus growth slack), not the array twice as a final concatenation would need;
    slack never written is never touched, so a generous ``capacity`` costs address space,
    not memory. In a file each fill writes at its own place (``os.pwrite``, one thread at a time:
    :func:`_write_exactly`).
    """

    def __init__(self, dtype, folder: Optional[str] = None, capacity: int = 1 << 16):
        self.dtype = np.dtype(dtype)
        self.buffer = np.empty(max(capacity, 1), dtype=self.dtype) if folder is None else None
        self.length = 0
        self.folder = folder
        self.fd: Optional[int] = None
        self._pending = 0  # reservations not yet filled
        self._filled = threading.Condition()
        if folder is not None:
            fd, path = temporary_file(folder, "w2v-ids-", ".bin", "the encoded corpus",
                                      "give another folder (--cache-dir)")
            try:
                os.unlink(path)  # nothing is left behind, however the process ends
            except OSError:  # not POSIX: removed when closed instead
                os.close(fd)
                fd = os.open(path, os.O_RDWR | getattr(os, "O_TEMPORARY", 0))
            self.fd = fd

    def reserve(self, n: int) -> int:
        """The index where the next ``n`` entries go; they must then be filled (:meth:`fill`)."""
        start = self.length
        with self._filled:
            if self.buffer is not None and start + n > len(self.buffer):
                while self._pending:  # nothing may be writing into the buffer being replaced
                    self._filled.wait()
                # (np.resize would tile the old values over the new room: slow)
                grown = np.empty(max(start + n, len(self.buffer) * 3 // 2), dtype=self.dtype)
                grown[:start] = self.buffer[:start]
                self.buffer = grown
            self._pending += 1
        self.length = start + n
        return start

    def fill(self, start: int, values: np.ndarray) -> None:
        """Write ``values`` (of the sink's dtype) at the places reserved from ``start``."""
        try:
            if len(values):
                if self.fd is not None:
                    self._write(values, start)
                else:
                    self.buffer[start:start + len(values)] = values
        finally:
            self._done()

    def fill_mapped(self, start: int, mapping: np.ndarray, indexes: np.ndarray) -> None:
        """Write ``mapping[indexes]`` (``mapping`` of the sink's dtype, ``indexes`` int32 valid indexes of
        it) at the places reserved from ``start``: gathered straight into the buffer in memory; for a
        file, mapped in place in ``indexes`` (which is overwritten) and written from there."""
        from . import kernels
        try:
            if len(indexes):
                if self.fd is not None:
                    self._write(kernels.take_into(mapping, indexes, indexes), start)
                else:
                    kernels.take_into(mapping, indexes, self.buffer[start:start + len(indexes)])
        finally:
            self._done()

    def _done(self) -> None:
        with self._filled:
            self._pending -= 1
            self._filled.notify_all()

    def append(self, values) -> None:
        arr = np.ascontiguousarray(values, dtype=self.dtype)
        self.fill(self.reserve(len(arr)), arr)

    def _write(self, arr: np.ndarray, start: int) -> None:
        try:
            _write_exactly(self.fd, arr, start * self.dtype.itemsize)
        except OSError as e:
            raise self._write_error(e) from None

    def finish(self):
        """(ids array, None) in memory; (None, file descriptor) when spooled; the fills must be done."""
        if self.fd is None:
            return self.buffer[:self.length], None  # the slack beyond was never touched
        fd, self.fd = self.fd, None
        return None, fd

    def _write_error(self, error: OSError) -> OSError:
        return OSError(f"{self.folder}: cannot write the encoded corpus there ({error.strerror or error}); "
                       f"free some space or give another folder (--cache-dir)")

    def discard(self, wait: bool = False) -> None:
        """Close the spooled file, dropping what it holds; with ``wait``, once the fills in flight are
        done (a thread may still be writing; without it the caller knows none is)."""
        if wait:
            with self._filled:
                while self._pending:
                    self._filled.wait()
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


#: Line ends taken at a time by :func:`sentence_offsets`: its arrays of a line each stay ~8 MB apiece.
_LINES_AT_A_TIME = 1 << 20


def sentence_offsets(line_ends: np.ndarray, total: int, max_sentence_length: int) -> np.ndarray:
    """int64[S+1] sentence offsets from the places where lines end (sorted, int64) in ``total`` ids.

    Every line with ids is a sentence, cut into pieces of ``max_sentence_length`` (the last piece
    may be shorter; nothing is dropped); lines left empty are skipped. The line ends are taken a million
    at a time, so the arrays made for each line stay small beside the result (whole, they were eight
    arrays as long as the corpus's lines: gigabytes for 100 million lines). The passes that record line
    ends (:func:`w2v.kernels.count_tokens_ids`, :func:`w2v.kernels.encode_tokens`) keep one for a run of
    newlines, or for a newline after an id: newlines that would end an empty line would give no
    sentence here, and a text of blank lines held 8 bytes a newline (40 in all) before
    (``benchmarks/README.md``, "Empty lines").
    """
    line_ends = np.asarray(line_ends, dtype=np.int64)
    parts = []
    start = 0
    for first in range(0, len(line_ends) + 1, _LINES_AT_A_TIME):
        ends = line_ends[first:first + _LINES_AT_A_TIME]
        if first + _LINES_AT_A_TIME > len(line_ends):  # the last line, after the last newline
            ends = np.append(ends, np.int64(total))
        starts = np.concatenate([[start], ends[:-1]])
        lengths = ends - starts
        nonempty = lengths > 0
        starts, lengths = starts[nonempty], lengths[nonempty]
        pieces = (lengths + max_sentence_length - 1) // max_sentence_length
        within = np.arange(int(pieces.sum()), dtype=np.int64) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        parts.append(np.repeat(starts, pieces) + within * max_sentence_length)
        if len(ends):
            start = int(ends[-1])
    parts.append(np.array([total], np.int64))
    return np.concatenate(parts)


def encode_corpus(corpus: Corpus, vocab: Vocabulary, max_sentence_length: int = 10_000,
                  cache_dir: Optional[str] = None, threads: int = 1) -> EncodedCorpus:
    """Encode ``corpus`` with ``vocab`` on ``threads`` threads (:func:`w2v.scan.encode_pieces`); see the
    module docstring for the layout. The result does not depend on the number of threads.

    The vocabulary's counts size the ids array up front: when the vocabulary
    was counted from this corpus, they add up to exactly N.
    """
    from .scan import encode_pieces
    if max_sentence_length < 1:
        raise ValueError(f"max_sentence_length must be at least 1, got {max_sentence_length}")
    if cache_dir is not None and not os.path.isdir(cache_dir):
        raise OSError(f"{cache_dir}: the cache folder does not exist")
    ids_sink = _Sink(np.int32, cache_dir, capacity=int(vocab.counts.sum()))
    line_ends = _Sink(np.int64)
    try:
        written = 0
        for ids, ends in encode_pieces(corpus, vocab.words, threads):
            ids_sink.append(ids)
            line_ends.append(ends + written)
            written += len(ids)
        if written == 0:
            raise ValueError("no word of the corpus is in the vocabulary: nothing to train on")
        ids, fd = ids_sink.finish()
    except BaseException:
        ids_sink.discard()
        raise
    offsets = sentence_offsets(line_ends.finish()[0], written, max_sentence_length)
    release_free_memory()  # the pass's pieces and tables, before training allocates
    return EncodedCorpus(ids, offsets, fd)


#: Tokens remapped at a time by :func:`encode_spooled`: 1 MB of int32s, so that a chunk read into its buffer
#: is still in cache (in L2, where a core has 1 MB of it) when the remap reads it and when it is written back;
#: 4 MB chunks took longer on one core and on two (``benchmarks/README.md``, "What is left").
_REMAP_CHUNK = 1 << 18


def encode_spooled(spooled, word_ids: np.ndarray, max_sentence_length: int = 10_000,
                   threads: int = 1) -> EncodedCorpus:
    """The encoded corpus from a spool of count entries (:func:`w2v.scan.count_and_spool`) and each
    entry's word id (:func:`w2v.vocab.vocabulary_and_entry_ids`): the same ids and offsets as
    :func:`encode_corpus` makes by reading the text again. Chunks of the spool are remapped on
    ``threads`` threads (tokens that are not words dropped, the line ends moved back past them), placed
    in order, and written back over the spool by a worker thread, beside the next chunk's placing
    (never ahead of what was read); the spool becomes the encoded corpus's, in memory or in its file.
    A spool in a file is read a chunk at a time into buffers used again for later chunks."""
    from . import kernels
    from .scan import _in_turn, _spare_or_new
    if max_sentence_length < 1:
        raise ValueError(f"max_sentence_length must be at least 1, got {max_sentence_length}")
    ends, total = spooled.line_ends, spooled.tokens
    if spooled.entry_of is not None:  # the spool holds entries of the count's shards
        word_ids = np.ascontiguousarray(word_ids[spooled.entry_of])
    chunks = -(-total // _REMAP_CHUNK)
    cuts = np.searchsorted(ends, np.minimum(np.arange(chunks + 1) * _REMAP_CHUNK, total), side="left")
    cuts[-1] = len(ends)  # the line ends after the last token go with the last chunk

    spare: list = []  # read buffers whose chunk is written back, used again: no fresh pages to fault in

    def remap(chunk: int):
        """The chunk's ids, remapped (from the spool in memory, or in a buffer read from its file)."""
        begin, end = chunk * _REMAP_CHUNK, min(total, (chunk + 1) * _REMAP_CHUNK)
        buffer = None
        if spooled.ids is not None:  # into a new array: in place, the next chunk's write-back could
            # cover these ids in the spool before this chunk's own write-back has copied them
            raw = spooled.ids[begin:end]
            out = np.empty(end - begin, np.int32)
        else:  # in place, in a buffer of its own
            buffer = _spare_or_new(spare, _REMAP_CHUNK, np.int32)
            raw = out = buffer[:end - begin]
            _read_exactly(spooled.fd, raw, 4 * begin)
        kept, moved = kernels.remap_ids(raw, word_ids, ends[cuts[chunk]:cuts[chunk + 1]] - begin, out)
        return chunk, kept, moved, buffer

    new_ends = np.empty_like(ends)
    state = {"written": 0}

    def place(remapped):
        """In the chunks' order: where the chunk's kept ids go (never past its own start, which is read)."""
        chunk, kept, moved, buffer = remapped
        start = state["written"]
        new_ends[cuts[chunk]:cuts[chunk + 1]] = moved + start
        state["written"] = start + len(kept)
        return start, kept, buffer

    def write_back(placed):
        """Over the spool: before the chunk's own end, so only over ids already read (chunks in flight
        after it begin there or later)."""
        start, kept, buffer = placed
        if spooled.ids is not None:
            spooled.ids[start:start + len(kept)] = kept
        else:
            _write_exactly(spooled.fd, kept, 4 * start)
            spare.append(buffer)

    _in_turn(remap, place, iter(range(chunks)), threads, after=write_back)
    written = state["written"]
    if written == 0:
        spooled.close()
        raise ValueError("no word of the corpus is in the vocabulary: nothing to train on")
    offsets = sentence_offsets(new_ends, written, max_sentence_length)
    if spooled.ids is not None:
        result = EncodedCorpus(spooled.ids[:written], offsets)
    else:
        os.ftruncate(spooled.fd, 4 * written)
        result = EncodedCorpus(None, offsets, spooled.fd)
    spooled.fd, spooled.ids = None, None  # the encoded corpus owns them now
    release_free_memory()
    return result


def _read_exactly(fd: int, into: np.ndarray, at: int) -> None:
    view, done = memoryview(into).cast("B"), 0
    while done < len(view):
        got = os.preadv(fd, [view[done:]], at + done)
        if got <= 0:
            raise OSError("the encoded corpus file ended early (was the cache folder cleaned while training?)")
        done += got


#: A lock for each spool file (by descriptor), held while a thread writes to it (:func:`_write_exactly`).
_WRITING: Dict[int, threading.Lock] = {}


def _write_exactly(fd: int, values: np.ndarray, at: int) -> None:
    """Write ``values``' bytes at byte ``at`` of ``fd``, one thread at a time for each file. The passes'
    worker threads write their pieces' ids to the same file; two ``pwrite`` calls at once into the page
    cache of one file contend in the kernel (on ext4 each write takes the file's lock, and a writer waiting
    for it may spin), burning CPU the counting could use (``benchmarks/README.md``, "Spool writes one at a
    time"). A thread waiting here sleeps instead. Writes to two files (two passes in one process: two
    models trained at once from Python, a Dask worker encoding the shards of two runs) do not wait for
    each other."""
    view, done = memoryview(np.ascontiguousarray(values)).cast("B"), 0
    lock = _WRITING.get(fd) or _WRITING.setdefault(fd, threading.Lock())  # (setdefault: one lock, whoever asks first)
    with lock:
        while done < len(view):
            done += os.pwrite(fd, view[done:], at + done)
