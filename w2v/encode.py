"""Encode a corpus as word ids for training.

The result is two flat arrays, the contract with the kernels:

* ``ids``: int32[N], the in-vocabulary tokens of the whole corpus in order
  (out-of-vocabulary tokens are dropped, as word2vec.c drops them);
* ``offsets``: int64[S+1], sentence ``s`` is ``ids[offsets[s]:offsets[s+1]]``.

A line is a sentence; a sentence longer than ``max_sentence_length`` ids is
cut into pieces of that length (the remainder is trained too, never dropped;
word2vec.c cuts at 1000 words after subsampling, gensim at 10,000 before).
Sentences left empty by dropping unknown words are skipped.

The arrays live in memory, or with ``cache_dir`` in memory-mapped files there
(for corpora larger than memory); the files are removed by :meth:`EncodedCorpus.close`.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from .corpus import Corpus, decode_token
from .vocab import Vocabulary

__all__ = ["EncodedCorpus", "encode_corpus"]

_FLUSH = 1 << 16  # ids buffered in a Python list before becoming an int32 array


@dataclass
class EncodedCorpus:
    """ids int32[N] and offsets int64[S+1] (see the module docstring)."""
    ids: np.ndarray
    offsets: np.ndarray
    files: tuple = ()

    @property
    def n_words(self) -> int:
        return int(len(self.ids))

    @property
    def n_sentences(self) -> int:
        return int(len(self.offsets) - 1)

    def close(self) -> None:
        """Drop the arrays and remove any memory-mapped files."""
        self.ids = np.zeros(0, np.int32)
        self.offsets = np.zeros(1, np.int64)
        for path in self.files:
            try:
                os.unlink(path)
            except OSError:
                pass
        self.files = ()


class _TokenIds(dict):
    """bytes token -> vocabulary id, -1 for unknown tokens.

    Tokens that are not valid UTF-8 are decoded with replacement (as the
    vocabulary counted them) and cached; other misses are not cached, so
    memory stays bounded by the vocabulary.
    """

    def __init__(self, vocab: Vocabulary):
        super().__init__((w.encode("utf-8"), i) for i, w in enumerate(vocab.words))
        self._index = vocab.index

    def __missing__(self, token: bytes) -> int:
        if token.isascii():
            return -1
        word, bad = decode_token(token)
        if not bad:
            return -1
        found = self._index.get(word, -1)
        if found >= 0:
            self[token] = found
        return found


class _Sink:
    """Appends int arrays in memory or to a file; ``finish`` returns one array.

    In memory it fills one buffer of ``capacity`` entries, growing it by half
    when full, so the peak is the array itself (plus growth slack), not the
    array twice as a final concatenation would need.
    """

    def __init__(self, dtype, folder: Optional[str], name: str, capacity: int = 1 << 16):
        self.dtype = np.dtype(dtype)
        self.buffer = np.empty(max(capacity, 1), dtype=self.dtype) if folder is None else None
        self.length = 0
        self.path = None
        self.file = None
        if folder is not None:
            fd, self.path = tempfile.mkstemp(dir=folder, prefix=f"w2v-{name}-", suffix=".bin")
            self.file = os.fdopen(fd, "wb")

    def append(self, values) -> None:
        arr = np.asarray(values, dtype=self.dtype)
        if not len(arr):
            return
        if self.file is not None:
            arr.tofile(self.file)
        else:
            end = self.length + len(arr)
            if end > len(self.buffer):
                self.buffer = np.resize(self.buffer, max(end, len(self.buffer) * 3 // 2))
            self.buffer[self.length:end] = arr
        self.length += len(arr)

    def finish(self) -> np.ndarray:
        if self.file is None:
            if self.length == len(self.buffer):
                return self.buffer
            return self.buffer[:self.length].copy()
        self.file.close()
        if self.length == 0:
            return np.zeros(0, self.dtype)
        return np.memmap(self.path, dtype=self.dtype, mode="r", shape=(self.length,))

    def discard(self) -> None:
        if self.file is not None:
            self.file.close()
            os.unlink(self.path)


def encode_corpus(corpus: Corpus, vocab: Vocabulary, max_sentence_length: int = 10_000,
                  cache_dir: Optional[str] = None) -> EncodedCorpus:
    """Encode ``corpus`` with ``vocab``; see the module docstring for the layout.

    The vocabulary's counts size the ids array up front: when the vocabulary
    was counted from this corpus, they add up to exactly N.
    """
    if max_sentence_length < 1:
        raise ValueError(f"max_sentence_length must be at least 1, got {max_sentence_length}")
    if cache_dir is not None and not os.path.isdir(cache_dir):
        raise OSError(f"{cache_dir}: the cache folder does not exist")
    lookup = _TokenIds(vocab)
    get = lookup.__getitem__
    ids_sink = _Sink(np.int32, cache_dir, "ids", capacity=int(vocab.counts.sum()))
    offsets_sink = _Sink(np.int64, cache_dir, "offsets")
    try:
        offsets_sink.append([0])
        pending: List[int] = []
        written = 0        # ids before ``pending``
        start = 0          # where the current sentence starts
        cuts: List[int] = []
        for tokens, ends in corpus.pieces():
            pending.extend(i for i in map(get, tokens) if i >= 0)
            end = written + len(pending)
            while end - start > max_sentence_length:
                start += max_sentence_length
                cuts.append(start)
            if ends and end > start:
                cuts.append(end)
                start = end
            if len(pending) >= _FLUSH:
                ids_sink.append(pending)
                offsets_sink.append(cuts)
                written += len(pending)
                pending, cuts = [], []
        end = written + len(pending)
        if end > start:  # the last sentence may lack its line end
            cuts.append(end)
        ids_sink.append(pending)
        offsets_sink.append(cuts)
        ids = ids_sink.finish()
        offsets = offsets_sink.finish()
    except BaseException:
        ids_sink.discard()
        offsets_sink.discard()
        raise
    if len(ids) == 0:
        ids_sink.discard()
        offsets_sink.discard()
        raise ValueError("no word of the corpus is in the vocabulary: nothing to train on")
    files = tuple(p for p in (ids_sink.path, offsets_sink.path) if p)
    return EncodedCorpus(ids, offsets, files)
