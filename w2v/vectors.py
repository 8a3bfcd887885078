"""Trained word vectors: lookup, similarity, nearest neighbours, analogies.

No Numba here: loading and querying vectors is plain NumPy.

Example::

    >>> from w2v import Vectors
    >>> vecs = Vectors.load("vectors.bin")                       # doctest: +SKIP
    >>> vecs.most_similar("france", topn=3)                      # doctest: +SKIP
    [('paris', 0.81), ...]
    >>> vecs.analogy("man", "king", "woman")                     # doctest: +SKIP
    [('queen', 0.77), ...]                 # king - man + woman

Conventions (gensim's): similarities are cosines; the query words are never
among the answers; ``restrict_vocab=N`` searches only the N most frequent
words (the first N rows, as files are in frequency order).
"""
from __future__ import annotations

import mmap
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .formats import all_distinct, read_vectors, row_norms, write_vectors

__all__ = ["Vectors", "MissingWordsError"]

_BLOCK = 1 << 14  # rows at a time in norms and cosines (16,384 x 300 floats: 20 MB)
SCANS = 8  # look-ups answered by searching the word list before Vectors.index is built (Vectors.row)


def _release(block: np.ndarray) -> None:
    """Drop a memory-mapped block's pages from this process (``madvise(MADV_DONTNEED)``): the file stays
    in the operating system's cache and is read again from there if needed, but a query over a map of
    millions of rows then holds one block at a time, not the whole matrix, in its resident memory."""
    mm = getattr(block, "_mmap", None)
    if mm is None or not hasattr(mm, "madvise") or not hasattr(mmap, "MADV_DONTNEED"):
        return
    try:
        base = np.frombuffer(mm, dtype=np.uint8).ctypes.data
        start = block.ctypes.data - base
        first = -(-start // mmap.PAGESIZE) * mmap.PAGESIZE
        last = (start + block.nbytes) // mmap.PAGESIZE * mmap.PAGESIZE
        if last > first:
            mm.madvise(mmap.MADV_DONTNEED, first, last - first)
    except (ValueError, OSError, BufferError):
        pass


class MissingWordsError(KeyError):
    """One or more words are not in the vocabulary; ``.words`` lists them all."""

    def __init__(self, words: Sequence[str]):
        self.words = list(words)
        super().__init__(self.words)

    def __str__(self) -> str:
        listed = ", ".join(repr(w) for w in self.words)
        return f"not in the vocabulary: {listed}"


class Vectors:
    """Words and their vectors.

    Attributes
    ----------
    words : list[str], V words, most frequent first when trained by w2v.
    matrix : float32[V, D], one row per word (not copied: it may be a view, e.g. of a model's
        weights, or a read-only memory map).
    index : dict[str, int], word -> row; built when first used (see :meth:`row`).
    counts : int64[V] or None.
    meta : dict, e.g. the training options (native format only).
    repeated : int, entries of the file loaded that repeated an earlier word (dropped).
    not_utf8 : int, entries of the word2vec file loaded whose word was not valid UTF-8 (read with
        ``unicode_errors``).
    spaced : int, rows of the GloVe file (text without a header) loaded that were left out because their word
        holds spaces.

    A repeated word is refused (ValueError naming it) unless ``distinct`` says the caller has checked
    (a file reader, a vocabulary).
    """

    def __init__(self, words: Sequence[str], matrix: np.ndarray, counts: Optional[np.ndarray] = None,
                 meta: Optional[Dict[str, Any]] = None, norms: Optional[np.ndarray] = None,
                 distinct: bool = False):
        self.words = list(words)
        matrix = np.asanyarray(matrix)
        # kept as given when float32 (a model's vectors are a view of its padded rows, a memory map stays one)
        self.matrix = matrix if matrix.dtype == np.float32 else matrix.astype(np.float32)
        if self.matrix.ndim != 2 or len(self.words) != self.matrix.shape[0]:
            raise ValueError(f"{len(self.words)} words but a matrix of shape {self.matrix.shape}")
        if not distinct and not all_distinct(self.words):
            seen = set()
            twice = next(w for w in self.words if w in seen or seen.add(w))
            raise ValueError(f"the word {twice!r} is listed twice")
        self._index: Optional[Dict[str, int]] = None
        self._scans = 0
        self.repeated = 0
        self.not_utf8 = 0
        self.spaced = 0
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        self.meta = dict(meta or {})
        self._norms: Optional[np.ndarray] = None
        if norms is not None:  # stored beside the matrix (native files)
            norms = np.asarray(norms, dtype=np.float64)
            if norms.shape != (len(self.words),) or not np.isfinite(norms).all():
                raise ValueError(f"norms must be {len(self.words)} finite numbers")
            self._norms = np.where(norms > 0, norms, 1.0)
        self._lower_index: Optional[Dict[str, int]] = None

    # -- files ------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str, fmt: Optional[str] = None, limit: Optional[int] = None,
             mmap: bool = False, unicode_errors: str = "strict") -> "Vectors":
        """Read word2vec text or binary, native or a model file; ``fmt`` None detects it; ``limit`` first N
        words; ``mmap`` maps a native or model file's matrix read-only instead of reading it (ready at
        once, in memory only as far as it is used); ``unicode_errors``: how a word2vec file's word that is
        not valid UTF-8 is read (``"strict"`` refuses the file, ``"replace"`` reads its bad bytes as
        U+FFFD, as the command line does; :func:`w2v.formats.read_vectors`)."""
        data = read_vectors(path, fmt=fmt, limit=limit, mmap=mmap, unicode_errors=unicode_errors)
        vectors = cls(data.words, data.vectors, data.counts, data.meta, norms=data.norms, distinct=True)
        vectors.repeated = data.repeated
        vectors.not_utf8 = data.not_utf8
        vectors.spaced = data.spaced
        return vectors

    def save(self, path: str, fmt: Optional[str] = None, force: bool = False, progress: bool = False,
             threads: Optional[int] = None) -> None:
        """Write atomically (:func:`w2v.formats.write_vectors`); ``fmt`` None follows the extension
        (.bin, .txt/.vec, .npz); ``force`` replaces a read-only file; ``progress`` shows a bar on
        standard error while text is written; ``threads`` (None: every CPU) make the blocks of a
        word2vec file where the compiled writers are loaded (after training)."""
        write_vectors(path, self.words, self.matrix, fmt=fmt, counts=self.counts, meta=self.meta, force=force,
                      progress=progress, threads=threads)

    # -- basics -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return self.row(word) is not None

    @property
    def index(self) -> Dict[str, int]:
        """dict[str, int]: word -> row, built on first use: for a large vocabulary the dict costs more than
        loading a memory-mapped file and answering a query (benchmarks/README.md, "Vectors at scale")."""
        if self._index is None:
            self._index = dict(zip(self.words, range(len(self.words))))
        return self._index

    def row(self, word: str) -> Optional[int]:
        """The row of ``word``, or None. The first :data:`SCANS` look-ups before :attr:`index` exists search
        the word list instead (a loop in C, far cheaper than building the dict), so a command asking about a
        few words never builds the index; later ones build it."""
        if self._index is None and self._scans < SCANS:
            self._scans += 1
            try:
                return self.words.index(word)
            except ValueError:
                return None
        return self.index.get(word)

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def norms(self) -> np.ndarray:
        """float64[V]: each row's length (1 for a zero row, which then stays zero when divided);
        computed once, a block of rows at a time in float64 (no overflow, bounded memory)."""
        if self._norms is None:
            norms = row_norms(self.matrix, _BLOCK)
            finite = np.isfinite(norms)
            if not finite.all():  # a memory-mapped file is checked here, when first read through
                bad = int(np.argmin(finite))
                raise ValueError(f"the vector of {self.words[bad][:40]!r} (entry {bad + 1}) is not finite")
            norms[norms == 0] = 1
            self._norms = norms
        return self._norms

    def unit_rows(self, rows) -> np.ndarray:
        """float32[k, D]: the given rows scaled to unit length."""
        rows = np.asarray(rows, dtype=np.int64)
        return (np.asarray(self.matrix[rows], dtype=np.float64) / self.norms[rows, None]).astype(np.float32)

    @property
    def unit(self) -> np.ndarray:
        """float32[V, D]: every row scaled to unit length, as a new matrix (V × D floats: the queries
        never make it; they divide by :attr:`norms` a block at a time)."""
        return np.concatenate([self.unit_rows(np.arange(start, min(start + _BLOCK, len(self))))
                               for start in range(0, len(self), _BLOCK)] or [np.zeros((0, self.dim), np.float32)])

    def cosines(self, queries: np.ndarray, limit: Optional[int] = None) -> np.ndarray:
        """float32[Q, N]: the cosine of each of Q query vectors (unit length, float32[Q, D]) with each of
        the first N rows (all without ``limit``), computed a block of rows at a time, so memory holds
        the answer and one block, never a normalised copy of the matrix."""
        n = len(self) if limit is None else min(limit, len(self))
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        norms = self.norms
        out = np.empty((len(queries), n), dtype=np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            for start in range(0, n, _BLOCK):
                end = min(start + _BLOCK, n)
                block = np.asarray(self.matrix[start:end])
                scores = (queries @ block.T) / norms[start:end]
                if not np.isfinite(scores).all():  # float32 products overflowed (values near 1e19): again in float64
                    scores = (queries.astype(np.float64) @ block.astype(np.float64).T) / norms[start:end]
                out[:, start:end] = scores
                _release(self.matrix[start:end])
        return out

    def indices(self, words: Iterable[str]) -> List[int]:
        """Rows of ``words``; raises :class:`MissingWordsError` naming every unknown one."""
        words = list(words)
        rows = [self.row(w) for w in words]
        missing = [w for w, i in zip(words, rows) if i is None]
        if missing:
            raise MissingWordsError(missing)
        return rows

    def vector(self, word: str) -> np.ndarray:
        """float32[D]: the raw vector of ``word``."""
        return self.matrix[self.indices([word])[0]]

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words."""
        unit = self.unit_rows(self.indices([a, b]))
        return float(unit[0] @ unit[1])

    # -- neighbours -----------------------------------------------------------------------
    def _top(self, scores: np.ndarray, exclude: Iterable[int], topn: int) -> List[Tuple[str, float]]:
        scores = scores.astype(np.float64, copy=True)
        for i in exclude:
            if i < len(scores):
                scores[i] = -np.inf
        topn = min(topn, int(np.isfinite(scores).sum()))
        if topn <= 0:
            return []
        best = np.argpartition(-scores, topn - 1)[:topn]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.words[i], float(scores[i])) for i in best]

    def searched(self, restrict_vocab: Optional[int] = None) -> int:
        """How many rows a query searches: the ``restrict_vocab`` most frequent words (None: all)."""
        return len(self) if restrict_vocab is None else min(restrict_vocab, len(self))

    def _check(self, topn: int, restrict_vocab: Optional[int]) -> int:
        if topn < 1:
            raise ValueError(f"topn must be at least 1, got {topn}")
        if restrict_vocab is not None and restrict_vocab < 1:
            raise ValueError(f"restrict_vocab must be at least 1, got {restrict_vocab}")
        return self.searched(restrict_vocab)

    def most_similar(self, positive: Sequence[str] | str = (), negative: Sequence[str] | str = (),
                     topn: int = 10, restrict_vocab: Optional[int] = None) -> List[Tuple[str, float]]:
        """Words nearest (by cosine) to the mean of the unit vectors of ``positive``
        minus those of ``negative`` (3CosAdd). Returns [(word, cosine)], best first."""
        positive = [positive] if isinstance(positive, str) else list(positive)
        negative = [negative] if isinstance(negative, str) else list(negative)
        if not positive and not negative:
            raise ValueError("give at least one word")
        limit = self._check(topn, restrict_vocab)
        pos, neg = self.indices(positive), self.indices(negative)
        query = self.unit_rows(pos).sum(axis=0) - self.unit_rows(neg).sum(axis=0)
        norm = np.linalg.norm(query)
        if norm > 0:
            query = query / norm
        return self._top(self.cosines(query, limit)[0], pos + neg, topn)

    def analogy(self, a: str, b: str, c: str, method: str = "add", topn: int = 1,
                restrict_vocab: Optional[int] = None) -> List[Tuple[str, float]]:
        """``a`` is to ``b`` as ``c`` is to ?  (b − a + c; ``analogy('man', 'king', 'woman')`` → queen).

        Scores are :meth:`analogy_scores`'; the three words are never answers.
        """
        limit = self._check(topn, restrict_vocab)
        ia, ib, ic = self.indices([a, b, c])
        scores = self.analogy_scores([ia], [ib], [ic], method=method, limit=limit)[0]
        return self._top(scores, [ia, ib, ic], topn)

    def analogy_scores(self, a, b, c, method: str = "add", limit: Optional[int] = None) -> np.ndarray:
        """float32[Q, N]: how well each of the first N words (all without ``limit``) answers each of Q
        questions ``a[q]`` : ``b[q]`` :: ``c[q]`` : ? (rows; the question words are not excluded here).

        "add" (3CosAdd): cos(x, b − a + c) with unit vectors, which ranks as cos(x, b) − cos(x, a) + cos(x, c);
        "mul" (Levy & Goldberg's 3CosMul): cos'(x, b) · cos'(x, c) / (cos'(x, a) + 1e-3), with cosines
        shifted to [0, 1] as cos' = (cos + 1) / 2.
        """
        if method not in ("add", "mul"):
            raise ValueError(f"method must be 'add' or 'mul', got {method!r}")
        a, b, c = (np.asarray(x, dtype=np.int64) for x in (a, b, c))
        if method == "add":
            query = self.unit_rows(b) + self.unit_rows(c) - self.unit_rows(a)
            query /= np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-12)
            return self.cosines(query, limit)
        sim_a, sim_b, sim_c = ((self.cosines(self.unit_rows(x), limit) + 1) / 2 for x in (a, b, c))
        return sim_b * sim_c / (sim_a + 1e-3)

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word furthest from the mean of the others' unit vectors (gensim's rule: from the mean of all)."""
        words = list(words)
        if len(words) < 2:
            raise ValueError("give at least two words")
        ids = self.indices(words)
        unit = self.unit_rows(ids)
        mean = unit.mean(axis=0)
        mean /= max(np.linalg.norm(mean), 1e-12)
        return words[int(np.argmin(unit @ mean))]

    # -- case-insensitive lookup for evaluation ------------------------------------------
    def lookup_ci(self, word: str, limit: Optional[int] = None) -> Optional[int]:
        """Row of the most frequent word equal to ``word`` ignoring case, within the first ``limit``."""
        if self._lower_index is None:
            index: Dict[str, int] = {}
            for i, w in enumerate(self.words):
                index.setdefault(w.upper(), i)
            self._lower_index = index
        i = self._lower_index.get(word.upper())
        if i is None or (limit is not None and i >= limit):
            return None
        return i
