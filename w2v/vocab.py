"""Vocabulary: counting, pruning, frequency order, and the tables training needs.

Counting is one pass over the corpus with bounded memory: whenever more than
``prune_at`` distinct tokens are held (or more than
:data:`w2v.options.TOKEN_BYTES_PER_LIMIT` bytes of them a token allowed), every
token seen at most ``m`` times is dropped and ``m`` grows by one (word2vec.c's
ReduceVocab, gensim's ``max_vocab_size``). Words are then kept if seen at least
``min_count`` times, sorted by count (descending), ties broken by the word itself
so the order is deterministic, and optionally capped at ``max_size`` words.

Derived tables (all NumPy, no Numba):

* :meth:`Vocabulary.keep_probabilities` — word2vec.c's subsampling: a word of
  corpus frequency ``f = count / total`` is kept with probability
  ``min(1, sqrt(t / f) + t / f)`` where ``t`` is ``sample``.
* :meth:`Vocabulary.noise_alias` — the negative-sampling noise distribution
  ``P(w) ∝ count(w) ** exponent`` (0.75 by default) as a Walker alias table:
  exact and O(1) per draw from two arrays of V entries, where word2vec.c's
  10^8-entry unigram table (400 MB) quantises the distribution and thrashes
  the cache.
* :meth:`Vocabulary.huffman` — the Huffman tree for hierarchical softmax, built
  as word2vec.c's CreateBinaryTree builds it.

Words are what :mod:`w2v.words` says: tokens longer than ``MAX_WORD_BYTES``
are left out of the vocabulary (and counted in :class:`CountSummary`).
Counts are at most :data:`MAX_TOTAL_COUNT` in all, so every sum and
frequency stays exact in int64 and float64.

The vocabulary file format is word2vec.c's ``-save-vocab``: one ``word count``
per line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .corpus import Corpus, source_name
from .files import open_output
from .memory import release_free_memory
from .options import COUNT_LIMIT
from .words import MAX_WORD_BYTES, read_word_integer_arrays

__all__ = ["Vocabulary", "HuffmanTree", "CountSummary", "build_vocabulary", "vocabulary_from_count", "MAX_TOTAL_COUNT"]

#: The largest total of counts a vocabulary holds (2^53: float64 represents every integer up to it).
MAX_TOTAL_COUNT = 1 << 53


@dataclass
class CountSummary:
    """What :func:`build_vocabulary` reports of its counting pass (the raw counts are dropped)."""
    total_tokens: int
    distinct: int      # distinct tokens seen (after any pruning)
    invalid_bytes: int
    pruned_below: int
    too_long: int = 0  # distinct tokens longer than MAX_WORD_BYTES, left out


def too_long_phrase(n: int) -> str:
    """"N distinct tokens longer than MAX_WORD_BYTES bytes are not words", in the singular for one. A token
    longer than a read block (a file with no white space) is counted as the pieces it was cut into."""
    return (f"{n:,} distinct {'token' if n == 1 else 'tokens'} longer than {MAX_WORD_BYTES:,} bytes "
            f"{'is not a word' if n == 1 else 'are not words'}")


def _candidates(counted, min_count: int):
    """The words a count (a :class:`w2v.scan.Counted`) may keep: ``(entries, odd, summary, most)``.

    ``entries`` int64[K]: the entries of valid UTF-8 tokens of at most ``MAX_WORD_BYTES`` bytes seen at
    least ``min_count`` times. ``odd``: for the text of every token that is not valid UTF-8 (invalid
    bytes replaced by U+FFFD, as encoding will read them) and that is seen at least ``min_count`` times
    and is short enough, ``[count, entries]``: the merged count and every entry that reads as that text,
    a valid token of the same text included (and then left out of ``entries``). Tokens are decoded only
    when kept: decoding millions of rare tokens only to drop them would double the pass's peak memory, and
    the invalid ones are replaced and merged by a kernel (:func:`w2v.kernels.table_replaced`), not a
    Python call each. ``most``: the largest count (for messages).
    """
    from . import kernels
    counts, lengths = counted.counts, counted.lengths
    entries, invalid, n_valid, too_long, most = kernels.table_candidates(counted.table, counted.n, min_count,
                                                                          MAX_WORD_BYTES)
    odd: Dict[str, list] = {}
    invalid_bytes = n_odd = 0
    if len(invalid):
        from .scan import Counted
        texts, n_odd, group, bad, twin = kernels.table_replaced(counted.table, invalid)
        replaced = Counted(texts, n_odd, 0, 0)
        invalid_bytes = int((bad * counts[invalid]).sum())
        text_counts, text_lengths = replaced.counts.copy(), replaced.lengths
        # a valid token whose text is an odd word's is merged into it (``most`` stays: the merged count is no
        # smaller)
        has_twin = twin >= 0
        taken = twin[has_twin]
        text_counts[has_twin] += counts[taken]
        if len(taken):
            entries = entries[~np.isin(entries, taken)]
            n_valid -= len(taken)
            too_long -= int((lengths[taken] > MAX_WORD_BYTES).sum())
        too_long += int((text_lengths > MAX_WORD_BYTES).sum())
        most = max(most, int(text_counts.max()))
        kept = np.flatnonzero((text_counts >= min_count) & (text_lengths <= MAX_WORD_BYTES))
        if len(kept):
            words = replaced.words(kept)
            by_text = np.argsort(group, kind="stable")
            bounds = np.searchsorted(group[by_text], np.stack([kept, kept + 1]))
            for word, t, (first, last) in zip(words, kept.tolist(), bounds.T.tolist()):
                odd[word] = [int(text_counts[t]), invalid[by_text[first:last]].tolist()
                             + ([int(twin[t])] if twin[t] >= 0 else [])]
    summary = CountSummary(counted.total_tokens, n_valid + n_odd, invalid_bytes, counted.pruned_below, too_long)
    return entries, odd, summary, most


def _bytes_key(token: bytes) -> int:
    """The key :func:`w2v.kernels.table_frequency_order` gives a token (its first 8 bytes, big-endian), for
    one token given as bytes."""
    return int.from_bytes(token[:8].ljust(8, b"\0"), "big")


def _frequency_order(counts: np.ndarray, keys: np.ndarray, token: Callable[[int], bytes]) -> np.ndarray:
    """int64[K]: the rows in vocabulary order, by count descending, then by token.

    ``counts`` int64[K]; ``keys`` uint64[K] the first 8 bytes of each row's token (:func:`_bytes_key`);
    ``token(row)`` its whole UTF-8 bytes. Two NumPy sorts order the rows by ``(-count, key)``, then
    :func:`_ties_by_token` the rest (a count's vocabulary takes the first step from
    :func:`w2v.kernels.table_frequency_order` instead, in linear time).
    """
    order = np.argsort(keys)  # (ties of key and count are put in order after, so this need not be stable)
    return _ties_by_token(order[np.argsort(-counts[order], kind="stable")], counts, keys, token)


def _ties_by_token(order: np.ndarray, counts: np.ndarray, keys: np.ndarray,
                   token: Callable[[int], bytes]) -> np.ndarray:
    """``order`` (int64[K], the rows by ``(-count, key)``) with the rows whose counts and keys are equal
    put in order by their whole tokens, in Python, in place. UTF-8's byte order is the order of the code
    points, so the result is the order of the key ``(-count, word)`` over Python strings."""
    c, k = counts[order], keys[order]
    tied = np.flatnonzero((c[1:] == c[:-1]) & (k[1:] == k[:-1]))  # order[p] and order[p + 1] tie
    if len(tied):
        joined = tied[1:] == tied[:-1] + 1
        firsts = tied[np.r_[True, ~joined]]
        lasts = tied[np.r_[~joined, True]] + 2  # a run of ties p..q holds the rows at p..q+1
        for a, b in zip(firsts.tolist(), lasts.tolist()):
            order[a:b] = sorted(order[a:b].tolist(), key=token)
    return order


#: Lines of a vocabulary file made and written at a time by :meth:`Vocabulary.save`.
_SAVE_BLOCK = 1 << 16
#: word2vec.c's entry 0, the end of a sentence, which its vocabulary files list first (:meth:`Vocabulary.save`).
SENTENCE_END = "</s>"


class Vocabulary:
    """Words in frequency order with their counts.

    Attributes
    ----------
    words : list[str], length V, most frequent first.
    counts : int64[V], the corpus count of each word.
    index : dict[str, int], word -> row (made when first asked for, where the words are known to be
        distinct: training from a count never needs it).
    total_tokens : int, tokens in the corpus including out-of-vocabulary ones
        (0 when unknown, e.g. a vocabulary read from a file).
    not_utf8 : int, words of the file :meth:`load` read that were not valid UTF-8 (read with U+FFFD).

    ``distinct=True``: the caller knows the words are distinct (a count's tokens are), so they are not
    checked and the index waits until it is used.
    """

    def __init__(self, words: Sequence[str], counts: Sequence[int], total_tokens: int = 0,
                 distinct: bool = False):
        self.words = list(words)
        if len(self.words) != len(counts):
            raise ValueError("words and counts differ in length")
        try:
            self.counts = np.asarray(counts, dtype=np.int64)
        except OverflowError:
            raise ValueError("a count does not fit in 64 bits") from None
        if len(self.counts) and (self.counts.min() < 0 or self.counts.max() > MAX_TOTAL_COUNT
                                 or float(self.counts.sum(dtype=np.float64)) > MAX_TOTAL_COUNT):
            raise ValueError("the counts must be non-negative and add up to at most 2^53")
        self._index: Optional[Dict[str, int]] = None
        if not distinct and len(self.index) != len(self.words):
            raise ValueError("the vocabulary has a repeated word")
        self.total_tokens = int(total_tokens)
        self.not_utf8 = 0  # words of the file read (:meth:`load`) that were not valid UTF-8

    @property
    def index(self) -> Dict[str, int]:
        if self._index is None:
            self._index = {w: i for i, w in enumerate(self.words)}
        return self._index

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    @classmethod
    def from_counts(cls, counts: Dict[str, int], min_count: int = 5,
                    max_size: Optional[int] = None, total_tokens: int = 0) -> "Vocabulary":
        """Keep words seen at least ``min_count`` times, most frequent first, at most ``max_size``."""
        try:
            values = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
        except OverflowError:
            raise ValueError("a count does not fit in 64 bits") from None
        words, kept_counts = _select(list(counts), values, min_count, max_size, int(values.max(initial=0)))
        return cls(words, kept_counts, total_tokens, distinct=True)  # a dict's keys

    # -- word2vec.c vocabulary files --------------------------------------------------
    def save(self, path: str, force: bool = False) -> None:
        """Write ``word count`` lines (word2vec.c's -save-vocab format), atomically
        (:func:`w2v.files.open_output`; ``force`` replaces a read-only file); compressed if the name ends
        in .gz, .bz2, .xz or .zst (:mod:`w2v.compression`), and :meth:`load` reads it so.

        The first line is word2vec.c's sentence end, ``</s> 0`` (``</s>`` with its count when the text held
        that token, and then not again further down), as word2vec.c's own files start with ``</s>``: its
        ``-read-vocab`` keeps the file's first entry in place and its training takes entry 0 for the end of
        a sentence, whatever word it is, so without the line word2vec.c would never train the most frequent
        word and would end a sentence at each of its occurrences. :meth:`load` drops it (a count of 0 is
        below any ``min_count``)."""
        words, counts = self.words, self.counts.tolist()
        try:  # the text's own token: first, with its count
            at = words.index(SENTENCE_END)
        except ValueError:
            first = f"{SENTENCE_END} 0\n"
        else:
            first = f"{SENTENCE_END} {counts[at]}\n"
            words, counts = words[:at] + words[at + 1:], counts[:at] + counts[at + 1:]
        with open_output(path, "w", force=force, compress=True) as f:
            f.write(first)
            for start in range(0, len(words), _SAVE_BLOCK):  # a write a block, not a word: 6.5M words 2.6 s -> 1.3
                f.write("".join([f"{w} {c}\n" for w, c in zip(words[start:start + _SAVE_BLOCK],
                                                              counts[start:start + _SAVE_BLOCK])]))

    @classmethod
    def load(cls, path: str, min_count: int = 1, max_size: Optional[int] = None) -> "Vocabulary":
        """Read ``word count`` lines; raises ``ValueError`` naming the file and line of a bad entry. A word
        that is not valid UTF-8 (word2vec.c writes a corpus's bytes as they are) is read with U+FFFD for each
        bad sequence, as counting reads such a token, and its count added to a word that then reads the same;
        how many there were is in ``not_utf8``."""
        words, counts, not_utf8 = read_word_integer_arrays(path, "count", 0, MAX_TOTAL_COUNT, add_not_utf8=True)
        if not words:
            raise ValueError(f"{path}: the vocabulary file is empty")
        if sum(counts.tolist()) > MAX_TOTAL_COUNT:  # (Python's ints: exact, never wrapping)
            raise ValueError(f"{path}: the counts add up to more than 2^53")
        kept_words, kept_counts = _select(words, counts, min_count, max_size, int(counts.max()))
        vocab = cls(kept_words, kept_counts, distinct=True)  # the reader refuses a word listed twice
        vocab.not_utf8 = not_utf8
        return vocab

    # -- derived tables ---------------------------------------------------------------
    def keep_probabilities(self, sample: float) -> np.ndarray:
        """float32[V]: probability of keeping one occurrence of each word.

        word2vec.c: ``ran = (sqrt(c / (t*T)) + 1) * (t*T) / c`` with ``T`` the
        in-vocabulary token count, i.e. ``sqrt(t/f) + t/f`` for ``f = c/T``;
        clipped to 1 here (word2vec.c compares against a uniform draw, the same).
        ``sample <= 0`` keeps everything.
        """
        if sample < 0:
            raise ValueError(f"sample must be >= 0, got {sample}")
        if sample == 0:
            return np.ones(len(self), dtype=np.float32)
        threshold = sample * float(self.counts.sum())
        ratio = threshold / self.counts.astype(np.float64)
        return np.minimum(1.0, np.sqrt(ratio) + ratio).astype(np.float32)

    def noise_alias(self, exponent: float = 0.75):
        """Walker alias table of ``P(w) ∝ count(w) ** exponent``.

        Returns ``(probability float32[V], alias int32[V])``: draw ``i`` uniform
        in [0, V) and ``u`` uniform in [0, 1); the sample is ``i`` if
        ``u < probability[i]`` else ``alias[i]``.
        """
        return alias_table(self.noise_distribution(exponent))

    def noise_distribution(self, exponent: float = 0.75) -> np.ndarray:
        """float64[V]: the normalised noise distribution itself.

        Raises ``ValueError`` when ``count ** exponent`` overflows or vanishes
        for this vocabulary (an exponent far from word2vec.c's 0.75).
        """
        with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
            weights = np.maximum(self.counts, 1).astype(np.float64) ** exponent
            total = weights.sum()
            p = weights / total
        if not (np.isfinite(total) and total > 0 and np.isfinite(p).all() and p.max() > 0):
            raise ValueError(f"ns_exponent {exponent}: count ** {exponent} is not a usable distribution for "
                             f"these counts (it overflows or vanishes); use a value near 0.75")
        return p

    def huffman(self) -> "HuffmanTree":
        """The Huffman tree over word counts (see :class:`HuffmanTree`)."""
        return HuffmanTree.build(self.counts)


def alias_table(p: np.ndarray):
    """Vose's alias method for a distribution ``p`` (float64[V], sums to 1): ``(probability float32[V],
    alias int32[V])``.

    The entries with ``p * V`` below 1 (small) and the others (large) are two stacks in index order; while
    both hold some, the top small ``s`` takes the top large ``l`` as its alias with its own ``p * V`` as
    probability, and ``l`` keeps ``p * V + p[s] * V - 1`` (in that order, in float64) and goes back on the
    stack it now belongs to; what is left keeps probability 1 (1 up to rounding). Compiled
    (:func:`w2v.kernels.alias_pairs`)."""
    from .kernels import alias_pairs
    prob, alias = alias_pairs(np.asarray(p, dtype=np.float64) * len(p))
    return prob.astype(np.float32), alias


@dataclass
class HuffmanTree:
    """Codes and paths for hierarchical softmax, as word2vec.c's CreateBinaryTree.

    codes : uint8[V, L], ``codes[w, :lengths[w]]`` is w's code, root first.
    points : int32[V, L], ``points[w, j]`` is the inner node (a row of the
        V-1 output vectors) whose output decides bit ``codes[w, j]``.
    lengths : int32[V], code lengths (>= 1 when V >= 2).
    """
    codes: np.ndarray
    points: np.ndarray
    lengths: np.ndarray

    @classmethod
    def build(cls, counts: np.ndarray) -> "HuffmanTree":
        counts = np.asarray(counts, dtype=np.int64)
        v = len(counts)
        if v < 2:
            raise ValueError("hierarchical softmax needs at least 2 words in the vocabulary")
        order = np.argsort(-counts, kind="stable")
        if not np.array_equal(order, np.arange(v)):
            raise ValueError("counts must be sorted in descending order")
        return cls(*huffman_paths(*huffman_merge(counts), v))


def huffman_merge(counts: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """word2vec.c's pairing of V leaves (``counts`` int64[V], taken from the last to the first)
    into V-1 inner nodes: ``(parent, binary)``, int64[2V] and uint8[2V], node ``V + a`` being the
    a-th inner node made. Two queues, leaves from the rarest (the end of ``counts``) and inner nodes
    in the order made; of equal counts the inner node is taken. The Huffman tree when ``counts`` is
    sorted in descending order (:meth:`HuffmanTree.build` checks it). Compiled
    (:func:`w2v.kernels.huffman_merge`; benchmarks/README.md, "Vocabularies of millions of words")."""
    from . import kernels
    return kernels.huffman_merge(np.asarray(counts, dtype=np.int64))


def huffman_paths(parent: np.ndarray, binary: np.ndarray, v: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The codes, points and lengths (:class:`HuffmanTree`'s arrays) of leaves ``0 .. v-1`` of the tree
    :func:`huffman_merge` made of ``len(parent) // 2`` leaves (its root is its last inner node):
    each leaf's path from the root, the bit each node on it decides and the inner node (its row of
    syn1) above. Compiled (:func:`w2v.kernels.huffman_paths`)."""
    from . import kernels
    return kernels.huffman_paths(np.asarray(parent, dtype=np.int64), np.asarray(binary, dtype=np.uint8), int(v))


def _check_limits(min_count: int, max_size: Optional[int]) -> None:
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    if max_size is not None and max_size < 1:
        raise ValueError(f"max_size must be at least 1, got {max_size}")


#: Above this many rows tied in count and first 8 bytes, :func:`_select` puts them in order by the compiled
#: kernel (loading it costs more than Python's ``sorted`` takes for a few thousand words).
_TIES_IN_PYTHON = 4096


def _select(words: List[str], counts: np.ndarray, min_count: int, max_size: Optional[int], most: int):
    """(words, counts) of ``words`` (distinct) and their ``counts`` (int64) seen at least ``min_count`` times,
    by count descending then word, at most ``max_size``; ``most`` is the largest count (for the error).

    The words' UTF-8 bytes are made in one join, their first 8 bytes (the sort keys) cut from it by NumPy, and
    the ties of count and key put in order by whole tokens, by :func:`w2v.kernels.table_ties_in_order` when
    there are many, not a word at a time in Python (benchmarks/README.md, "Vocabularies of millions of
    words")."""
    _check_limits(min_count, max_size)
    kept = np.flatnonzero(counts >= min_count)
    if not len(kept):
        raise _no_word(min_count, most)
    if len(kept) < len(words):
        words, counts = [words[i] for i in kept.tolist()], counts[kept]
    joined = np.frombuffer(("\n".join(words) + "\n").encode("utf-8", "surrogatepass"), dtype=np.uint8)
    ends = np.flatnonzero(joined == 10)
    if len(ends) != len(words):  # a word holds a newline (not a word: refused later), one at a time then
        tokens = [w.encode("utf-8", "surrogatepass") for w in words]  # still in code point order
        order = _frequency_order(counts, np.array([_bytes_key(t) for t in tokens], dtype=np.uint64),
                                 tokens.__getitem__)
    else:
        starts = np.concatenate([[0], ends[:-1] + 1])
        lengths = ends - starts
        # each word's first 8 bytes in one gather from a sliding window of the bytes (no index a byte), those
        # past a short word's end zeroed, read as big-endian numbers (_bytes_key): 0.14 s for 6.5 million
        # words, where a gather a byte took 0.62 s
        heads = np.lib.stride_tricks.sliding_window_view(np.concatenate([joined, np.zeros(8, np.uint8)]), 8)[starts]
        short = np.flatnonzero(lengths < 8)
        heads[short] *= np.arange(8) < lengths[short, None]
        keys = heads.view(">u8").ravel().astype(np.uint64)
        del heads
        order = np.argsort(keys)  # (ties of key and count are put in order after, so this need not be stable)
        order = order[np.argsort(-counts[order], kind="stable")]
        c, k = counts[order], keys[order]
        if int(((c[1:] == c[:-1]) & (k[1:] == k[:-1])).sum()) > _TIES_IN_PYTHON:
            from . import kernels
            token_bytes = joined[joined != 10].copy()
            token_starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
            order = kernels.table_ties_in_order(kernels.table_new(16), np.zeros(0, np.int64), order, c, k,
                                                token_bytes, token_starts)
        else:
            order = _ties_by_token(order, counts, keys,
                                   lambda row: joined[starts[row]:ends[row]].tobytes())
    if max_size is not None:
        order = order[:max_size]
    return [words[i] for i in order.tolist()], counts[order].tolist()


#: Rows of a frequency order, at least, for :func:`_ties_in_order` to share its ties out to threads.
_TIES_SHARED_FROM = 1 << 18


def _ties_in_order(table, wanted, order, ordered_counts, ordered_keys, extra, extra_starts, threads: int):
    """:func:`w2v.kernels.table_ties_in_order` of the whole ``order`` (in place; returned), on ``threads``
    threads when it holds at least :data:`_TIES_SHARED_FROM` rows: the order is cut into as many parts,
    each cut moved on to where a run of ties ends, and each part's runs are put in order by the kernel (which
    runs without the GIL) in its part of ``order``, a view, so the parts never touch (benchmarks/README.md,
    "The vocabulary's words and ties on every thread")."""
    from . import kernels
    k = len(order)
    if threads <= 1 or k < _TIES_SHARED_FROM:
        return kernels.table_ties_in_order(table, wanted, order, ordered_counts, ordered_keys, extra, extra_starts)
    # where a new run starts: the row differs from the one before in count or key
    starts = np.flatnonzero((ordered_counts[1:] != ordered_counts[:-1]) | (ordered_keys[1:] != ordered_keys[:-1])) + 1
    cuts = [0] + sorted({int(starts[min(np.searchsorted(starts, k * i // threads), len(starts) - 1)])
                         for i in range(1, threads) if len(starts)}) + [k]
    parts = [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(len(parts), thread_name_prefix="w2v-ties") as pool:
        for done in [pool.submit(kernels.table_ties_in_order, table, wanted, order[a:b], ordered_counts[a:b],
                                 ordered_keys[a:b], extra, extra_starts) for a, b in parts]:
            done.result()
    return order


def _no_word(min_count: int, most: int) -> ValueError:
    most_said = "once" if most == 1 else f"{most:,} times"
    return ValueError(f"no word occurs at least {min_count:,} times (the most frequent occurs {most_said}); "
                      f"lower --min-count or give a larger corpus")


def build_vocabulary(corpus: Corpus, min_count: int = 5, max_size: Optional[int] = None,
                     prune_at: Optional[int] = COUNT_LIMIT, threads: int = 1):
    """Count ``corpus`` on ``threads`` threads and keep its vocabulary; returns ``(Vocabulary, CountSummary)``.

    The vocabulary is the same whatever the number of threads (:mod:`w2v.scan`)."""
    from . import scan
    _check_limits(min_count, max_size)  # before the corpus is read
    if prune_at is not None and prune_at < 1:
        raise ValueError(f"prune_at must be positive, got {prune_at}")
    return vocabulary_from_count(scan.count(corpus, prune_at, threads), min_count, max_size,
                                 ", ".join(map(source_name, corpus.files)), threads)


def vocabulary_from_count(counted, min_count: int = 5, max_size: Optional[int] = None, source: str = "the corpus",
                          threads: int = 1):
    """The vocabulary of a finished count (a :class:`w2v.scan.Counted`, e.g. merged from several
    machines' counts by :mod:`w2v.distributed`): ``(Vocabulary, CountSummary)``, as :func:`build_vocabulary`.
    ``threads`` put the ties in order (:func:`_ties_in_order`) and gather the words
    (:meth:`w2v.scan.Counted.words`): the same vocabulary on any number."""
    vocab, summary, _ = _counted_vocabulary(counted, min_count, max_size, source, with_ids=False, threads=threads)
    return vocab, summary


def vocabulary_and_entry_ids(counted, min_count: int = 5, max_size: Optional[int] = None,
                             source: str = "the corpus", threads: int = 1):
    """:func:`vocabulary_from_count`, and int32[n] the word id of each of the count's entries (-1 for a
    token that is not a word), which :func:`w2v.encode.encode_spooled` maps a spool with; a token that
    is not valid UTF-8 has the id of the word its replaced text is, as when encoding."""
    return _counted_vocabulary(counted, min_count, max_size, source, with_ids=True, threads=threads)


def _counted_vocabulary(counted, min_count: int, max_size: Optional[int], source: str, with_ids: bool,
                        threads: int = 1):
    from . import kernels, scan
    _check_limits(min_count, max_size)
    scan.prepare("vocabulary", counted.table)  # before the threads below
    entries, odd, summary, most = _candidates(counted, min_count)
    if summary.total_tokens == 0:
        raise ValueError(f"the corpus is empty: no words in {source}")
    if not len(entries) and not odd:
        if summary.too_long:
            raise ValueError(f"no word: the corpus's {too_long_phrase(summary.too_long)}, and no other token "
                             f"occurs at least {min_count:,} time{'s' if min_count > 1 else ''}; is it text with "
                             f"white space between words?")
        raise _no_word(min_count, most)
    k = len(entries)
    odd_tokens = [w.encode("utf-8") for w in odd]
    counts = np.concatenate([counted.counts[entries], np.array([c for c, _ in odd.values()], dtype=np.int64)])
    order, ordered_counts, ordered_keys = kernels.table_frequency_order(
        counted.table, entries, counts, np.array([_bytes_key(t) for t in odd_tokens], dtype=np.uint64))
    odd_starts = np.cumsum([0] + [len(t) for t in odd_tokens], dtype=np.int64)
    order = _ties_in_order(counted.table, entries, order, ordered_counts, ordered_keys,
                           np.frombuffer(b"".join(odd_tokens), dtype=np.uint8).copy(), odd_starts, threads)
    del ordered_keys
    if max_size is not None:
        order, ordered_counts = order[:max_size], ordered_counts[:max_size].copy()  # not a view of all K
    if odd:
        words = counted.words(entries, threads) + list(odd)
        words = [words[row] for row in order.tolist()]
    else:  # the usual case: gathered and decoded in their order
        words = counted.words(entries[order], threads)
    vocab = Vocabulary(words, ordered_counts, summary.total_tokens, distinct=True)
    del words
    ids = None
    if with_ids:
        rank = np.full(len(counts), -1, dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        ids = np.full(counted.n, -1, dtype=np.int32)
        ids[entries] = rank[:k]
        for row, (_, odd_entries) in enumerate(odd.values(), start=k):
            ids[odd_entries] = rank[row]
    release_free_memory()
    return vocab, summary, ids
