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
import tempfile
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .corpus import Corpus, decode_token
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
    """Appends integers in memory or to an unlinked temporary file; ``finish`` returns the array or the fd.

    In memory it fills one buffer of ``capacity`` entries, growing it by half
    when full, so the peak is the array itself (plus growth slack), not the
    array twice as a final concatenation would need; slack never written is
    never touched, so a generous ``capacity`` costs address space, not memory.
    """

    def __init__(self, dtype, folder: Optional[str] = None, capacity: int = 1 << 16):
        self.dtype = np.dtype(dtype)
        self.buffer = np.empty(max(capacity, 1), dtype=self.dtype) if folder is None else None
        self.scratch = np.empty(0, dtype=self.dtype)  # reused by append_mapped on the way to the file
        self.length = 0
        self.folder = folder
        self.file = None
        if folder is not None:
            fd, path = tempfile.mkstemp(dir=folder, prefix="w2v-ids-", suffix=".bin")
            try:
                os.unlink(path)  # nothing is left behind, however the process ends
            except OSError:  # not POSIX: removed when closed instead
                os.close(fd)
                fd = os.open(path, os.O_RDWR | getattr(os, "O_TEMPORARY", 0))
            self.file = os.fdopen(fd, "w+b")

    def append(self, values) -> None:
        arr = np.ascontiguousarray(values, dtype=self.dtype)
        if not len(arr):
            return
        if self.file is not None:
            self._write(arr)
        else:
            self._reserve(self.length + len(arr))
            self.buffer[self.length:self.length + len(arr)] = arr
        self.length += len(arr)

    def append_mapped(self, mapping: np.ndarray, indexes: np.ndarray) -> None:
        """Append ``mapping[indexes]`` (``mapping`` of the sink's dtype, ``indexes`` valid indexes of it)
        without making that array: gathered straight into the buffer in memory, or into a scratch
        buffer reused for every write to the file."""
        n = len(indexes)
        if not n:
            return
        if self.file is not None:
            if len(self.scratch) < n:
                self.scratch = np.empty(n, dtype=self.dtype)
            np.take(mapping, indexes, out=self.scratch[:n], mode="clip")  # clip: no bounds-check copy
            self._write(self.scratch[:n])
        else:
            self._reserve(self.length + n)
            np.take(mapping, indexes, out=self.buffer[self.length:self.length + n], mode="clip")
        self.length += n

    def _reserve(self, end: int) -> None:
        if end > len(self.buffer):  # (np.resize would tile the old values over the new room: slow)
            grown = np.empty(max(end, len(self.buffer) * 3 // 2), dtype=self.dtype)
            grown[:self.length] = self.buffer[:self.length]
            self.buffer = grown

    def _write(self, arr: np.ndarray) -> None:
        try:
            self.file.write(memoryview(arr).cast("B"))  # the array's own bytes, no copy
        except OSError as e:
            raise self._write_error(e) from None

    def finish(self):
        """(ids array, None) in memory; (None, file descriptor) when spooled."""
        if self.file is None:
            return self.buffer[:self.length], None  # the slack beyond was never touched
        try:
            self.file.flush()
        except OSError as e:
            raise self._write_error(e) from None
        fd = os.dup(self.file.fileno())
        self.file.close()
        return None, fd

    def _write_error(self, error: OSError) -> OSError:
        return OSError(f"{self.folder}: cannot write the encoded corpus there ({error.strerror or error}); "
                       f"free some space or give another folder (--cache-dir)")

    def discard(self) -> None:
        """Close the spooled file, dropping what it holds; a failing close (a full disk) is not news."""
        if self.file is not None:
            with contextlib.suppress(OSError):  # the buffered writer closes its fd even when the flush fails
                self.file.close()
            self.file = None


def sentence_offsets(line_ends: np.ndarray, total: int, max_sentence_length: int) -> np.ndarray:
    """int64[S+1] sentence offsets from the places where lines end (sorted, int64) in ``total`` ids.

    Every line with ids is a sentence, cut into pieces of ``max_sentence_length`` (the last piece
    may be shorter; nothing is dropped); lines left empty are skipped.
    """
    ends = np.append(np.asarray(line_ends, dtype=np.int64), np.int64(total))
    starts = np.concatenate([np.zeros(1, np.int64), ends[:-1]])
    lengths = ends - starts
    nonempty = lengths > 0
    starts, lengths = starts[nonempty], lengths[nonempty]
    pieces = (lengths + max_sentence_length - 1) // max_sentence_length
    first = np.cumsum(pieces) - pieces  # each line's first piece
    within = np.arange(int(pieces.sum()), dtype=np.int64) - np.repeat(first, pieces)
    return np.append(np.repeat(starts, pieces) + within * max_sentence_length, np.int64(total))


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
    index = vocab.index

    def resolve(token: bytes) -> int:  # a token that is not valid UTF-8 reads as its replaced text
        return index.get(decode_token(token)[0], -1)

    ids_sink = _Sink(np.int32, cache_dir, capacity=int(vocab.counts.sum()))
    line_ends = _Sink(np.int64)
    try:
        written = 0
        for ids, ends in encode_pieces(corpus, vocab.words, resolve, threads):
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


#: Tokens remapped at a time by :func:`encode_spooled`.
_REMAP_CHUNK = 1 << 20


def encode_spooled(spooled, word_ids: np.ndarray, max_sentence_length: int = 10_000,
                   threads: int = 1) -> EncodedCorpus:
    """The encoded corpus from a spool of count entries (:func:`w2v.scan.count_and_spool`) and each
    entry's word id (:func:`w2v.vocab.vocabulary_and_entry_ids`): the same ids and offsets as
    :func:`encode_corpus` makes by reading the text again. Chunks of the spool are remapped on
    ``threads`` threads (tokens that are not words dropped, the line ends moved back past them) and
    written back in order over the spool (never ahead of what was read), which becomes the encoded
    corpus's, in memory or in its file."""
    from . import kernels
    from .scan import _in_order
    if max_sentence_length < 1:
        raise ValueError(f"max_sentence_length must be at least 1, got {max_sentence_length}")
    ends, total = spooled.line_ends, spooled.tokens
    chunks = -(-total // _REMAP_CHUNK)
    cuts = np.searchsorted(ends, np.minimum(np.arange(chunks + 1) * _REMAP_CHUNK, total), side="left")
    cuts[-1] = len(ends)  # the line ends after the last token go with the last chunk

    def remap(chunk: int):
        begin, end = chunk * _REMAP_CHUNK, min(total, (chunk + 1) * _REMAP_CHUNK)
        if spooled.ids is not None:
            raw = spooled.ids[begin:end]
        else:
            raw = np.empty(end - begin, np.int32)
            _read_exactly(spooled.fd, raw, 4 * begin)
        return kernels.remap_ids(raw, word_ids, ends[cuts[chunk]:cuts[chunk + 1]] - begin)

    new_ends = np.empty_like(ends)
    written = 0
    for chunk, (kept, moved) in enumerate(_in_order(remap, range(chunks), threads)):
        new_ends[cuts[chunk]:cuts[chunk + 1]] = moved + written
        if spooled.ids is not None:
            spooled.ids[written:written + len(kept)] = kept  # written <= the chunk's start: already read
        else:
            _write_exactly(spooled.fd, kept, 4 * written)
        written += len(kept)
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


def _write_exactly(fd: int, values: np.ndarray, at: int) -> None:
    view, done = memoryview(np.ascontiguousarray(values)).cast("B"), 0
    while done < len(view):
        done += os.pwrite(fd, view[done:], at + done)
