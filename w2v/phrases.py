"""Phrases: word2phrase's joins of frequent pairs ("new york" -> new_york), in compiled code.

Three passes over the text (:mod:`w2v.scan`'s pieces, in order), on every thread:

1. count every token (:func:`w2v.scan.count`: the vocabulary's count, pruned as it is);
2. count the pairs of tokens next to each other on a line that may still join: both tokens seen at
   least ``min_count`` times and, given the threshold of word2phrase's score, a score that can beat
   it with the pair as frequent as its rarer token (no pair of two frequent words can). A pair is
   keyed by the two tokens' entries in the token table (:mod:`w2v.kernels`' pair tables), so no pair's
   bytes are hashed or stored; worker threads count pieces, and each piece is merged in order (by a
   worker, once the piece before is merged, :func:`w2v.scan._in_turn`) with the pair
   that straddles it and the piece before, pruning as the vocabulary does, so the counts do not
   depend on the number of threads;
3. write the text again, left to right, joining a token to the one before it when the pair is among
   those that join (both tokens and the pair seen at least ``min_count`` times, the pair's score above
   ``threshold``: a table of a few thousand pairs, looked up in cache); a token that joined cannot
   join the next one, so one pass makes pairs and a second pass can make triples. Worker threads join
   pieces from a fresh start; a piece whose first token joins the last of the piece before is joined
   again from the right start, so the text does not depend on the threads either.

The default score is word2phrase's ``(count(ab) − min_count) / (count(a) · count(b)) × N`` (N: the
words of the corpus), computed in float32 as word2phrase.c does; ``scoring="npmi"`` is gensim's
normalised pointwise mutual information, in [−1, 1]. Tokens are written one space apart and every
newline is kept: lines stay lines (a file's last line gets a newline if it had none). Deviations
from word2phrase.c: it also counts the pair made by the last word of a line and the first of the
next (its ``start`` flag is cleared before it is tested), though it never joins them; it joins the
keys of pairs with "_", so a pair can collide with a token holding "_" (w2v's keys cannot); and it
starts every output word with a space or an underscore, so its lines begin with a space.

A saved phrase table (:func:`save_phrase_table`) lists the pairs each pass joins; applied
(:func:`read_phrase_table`) it gives the text those passes gave.

Training on phrased text alone takes from each joined word the contexts its phrase gets (``new`` and
``york`` lose what ``new_york`` gains). ``phrased(..., keep_words=True)`` (:class:`WithWordsCorpus`,
``w2v train --keep-words``) reads the text as it is and then its phrased copy, so every epoch trains
the words on all their contexts and the phrases on theirs, at twice the training; the vocabulary is
counted over both copies (a word no phrase takes is counted twice, so ``min_count`` lets in words seen
half as often).

Example::

    >>> from w2v.corpus import Corpus
    >>> from w2v.phrases import count_phrases, write_phrases
    >>> counts = count_phrases(Corpus(["text.txt"]), min_count=5, threshold=100)  # doctest: +SKIP
    >>> write_phrases(Corpus(["text.txt"]), counts, "phrased.txt", min_count=5, threshold=100)  # doctest: +SKIP
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from .corpus import Corpus
from .compression import READ_ERRORS, check_can_write, open_read, read_error
from .files import Output, open_output
from .words import SEPARATORS

__all__ = ["PhraseCounts", "count_phrases", "write_phrases", "check_phrase_options", "phrase_table",
           "save_phrase_table", "read_phrase_table", "PhrasedCorpus", "phrased", "joined_pieces"]


@dataclass
class PhraseCounts:
    """What a pass of phrases counted: the tokens seen at least ``min_count`` times (a token table of
    :mod:`w2v.kernels`, ``n`` entries: :func:`frequent_tokens`), the pairs that may join (a pair table, int64[C, 2]; ``n_pairs`` pairs): pairs of tokens both seen
    at least ``min_count`` times and, when ``at_least`` is set, whose word2phrase score can beat it; the
    corpus's words, and the pruning threshold reached (0: nothing pruned)."""
    table: tuple
    n: int
    pairs: np.ndarray
    n_pairs: int
    total_words: int
    pruned_below: int
    min_count: int
    at_least: Optional[float] = None
    table_only: bool = False  # a saved phrase table: the pairs that join, without counts

    def check_join(self, min_count: int, threshold: float, scoring: str) -> None:
        """``ValueError`` unless joining with these settings can use these counts."""
        if self.table_only:
            return
        if min_count < self.min_count:
            raise ValueError(f"the pairs were counted for min_count {self.min_count}; join with at least that, "
                             f"got {min_count}")
        if self.at_least is not None and (scoring != "word2phrase" or threshold < self.at_least):
            raise ValueError(f"the pairs were counted for word2phrase's score above {self.at_least}; join with "
                             f"that score and a threshold at least as high, got {scoring} {threshold}")

    def _entry(self, word: str) -> int:
        from . import kernels
        return int(kernels.table_lookup(self.table, np.frombuffer(word.encode("utf-8"), np.uint8)))

    def word_count(self, word: str) -> int:
        """How many times ``word`` was counted (0: never, pruned, or fewer than ``min_count`` times)."""
        from . import kernels
        entry = self._entry(word)
        return int(self.table[kernels.TABLE_ENTRIES][entry, 1]) if entry >= 0 else 0

    def pair_count(self, first: str, second: str) -> int:
        """How many times ``first second`` was counted on a line (0: never, pruned, or a word of it seen
        fewer than ``min_count`` times)."""
        from . import kernels
        a, b = self._entry(first), self._entry(second)
        return int(kernels.pairs_count_of(self.pairs, a, b)) if a >= 0 and b >= 0 else 0


def check_phrase_options(min_count: int, threshold: float, scoring: str, delimiter: str) -> None:
    """Raise ``ValueError`` naming the first bad option."""
    if not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be a positive integer, got {min_count!r}")
    if scoring not in ("word2phrase", "npmi"):
        raise ValueError(f"scoring must be 'word2phrase' or 'npmi', got {scoring!r}")
    if scoring == "npmi" and not -1 <= threshold <= 1:
        raise ValueError(f"with npmi scoring the threshold is in [-1, 1], got {threshold}")
    if scoring == "word2phrase" and not threshold >= 0:
        raise ValueError(f"the threshold of word2phrase's score is at least 0, got {threshold}")
    if not delimiter or any(ch in delimiter for ch in SEPARATORS.decode("ascii")):
        raise ValueError(f"the delimiter must be non-empty and hold no white space, got {delimiter!r}")


def _read_twice(corpus: Corpus) -> None:
    """Refuse a corpus that can be read once only (standard input, a pipe): phrases read it twice."""
    if corpus.read_once:
        raise ValueError(f"phrases read the corpus more than once (counting, then joining), so they cannot read "
                         f"{corpus.read_once}; save it to a file")


def count_phrases(corpus: Corpus, min_count: int = 5, prune_at: Optional[int] = 40_000_000,
                  threads: int = 1, threshold: Optional[float] = None, scoring: str = "word2phrase") -> PhraseCounts:
    """Count the tokens of ``corpus``, then the pairs on a line that may join (module docstring); each
    table holds at most ``prune_at`` entries between pieces. With a ``threshold`` of word2phrase's
    score, only pairs that can beat it are counted (no pair of two frequent words can: on wiki8 3.1
    million distinct pairs instead of 3.6), and the counts join with that threshold or higher; without
    one they join with any."""
    from . import scan
    check_phrase_options(min_count, 0.0 if threshold is None else threshold, scoring, "_")
    _read_twice(corpus)
    words = frequent_tokens(scan.count(corpus, prune_at, threads), min_count)
    at_least, settings = pair_settings(words, min_count, threshold, scoring)
    return phrase_counts(words, count_pairs(corpus, settings, prune_at, threads), min_count, at_least)


def frequent_tokens(words, min_count: int):
    """A count of a corpus's tokens (a :class:`w2v.scan.Counted`) cut to the tokens seen at least
    ``min_count`` times, in a table sized to them (the count's own arrays pruned in place, then copied), with
    the count's totals: no pair with a rarer token can join, so the pairs are counted and joined with this
    table alone. Most distinct tokens of a corpus are rare (on wiki8 about 70,000 of 250,000 are kept at
    min count 5), so the pair count holds a few times less, and a distributed run sends its workers a few
    times less (:mod:`w2v.distributed`)."""
    from . import kernels, scan
    if min_count <= 1 or words.total_tokens == 0:
        return words
    scan.prepare("pairs")
    (_, entries, arena), n, used = kernels.table_prune(words.table, words.n, min_count - 1)
    entries, arena = entries[:max(n, 1)].copy(), arena[:max(used, 1)].copy()
    slots = kernels.table_slots(entries, arena, n)
    return scan.Counted((slots, entries, arena), n, words.total_tokens, words.pruned_below)


def pair_settings(words, min_count: int, threshold: Optional[float], scoring: str):
    """For a count of a corpus's tokens (a :class:`w2v.scan.Counted`): (the least score a counted pair must
    be able to beat, or None, and the settings :func:`count_pairs` counts with)."""
    if words.total_tokens == 0:
        raise ValueError("the corpus is empty: no words to join")
    # the bound needs every token's whole count (a pruned count can be below its pairs')
    at_least = float(threshold) if threshold is not None and scoring == "word2phrase" and not words.pruned_below \
        else None
    return at_least, (words.table, min_count, -1.0 if at_least is None else at_least, words.total_tokens)


def phrase_counts(words, pairs: Tuple[np.ndarray, int, int], min_count: int, at_least: Optional[float]) -> PhraseCounts:
    """:class:`PhraseCounts` of a token count and the pairs counted with its :func:`pair_settings` (``(pair
    table, pairs, pruned below)``)."""
    return PhraseCounts(words.table, words.n, pairs[0], pairs[1], words.total_tokens,
                        max(pairs[2], words.pruned_below), min_count, at_least)


def count_pairs(corpus, settings: tuple, prune_at: Optional[int] = 40_000_000,
                threads: int = 1) -> Tuple[np.ndarray, int, int]:
    """The pairs on a line of ``corpus`` that may join under ``settings`` (:func:`pair_settings`), the table
    held to ``prune_at`` pairs between pieces: (pair table, pairs, pruned below)."""
    from . import kernels, scan
    scan.prepare("pairs")  # before the threads below

    def count_piece(piece):
        pairs, _, edges = kernels.count_pairs(piece, *settings, kernels.pairs_new(1 << 14), 0)
        return pairs, edges

    # before: the entry of the last token so far, while no newline has followed it
    state = {"pairs": kernels.pairs_new(1 << 16), "n": 0, "pruned": 0, "before": -1}

    def fold(counted_piece):
        piece_pairs, (tokens, first, newline_first, last, newline_last) = counted_piece
        pairs, n = kernels.pairs_merge(state["pairs"], state["n"], piece_pairs)
        if tokens:
            if not newline_first:  # the pair that straddles two pieces
                pairs, n = kernels.pairs_count(pairs, n, state["before"], first, *settings)
            state["before"] = -1 if newline_last else last
        elif newline_last:  # a piece of white space only, with a line end in it
            state["before"] = -1
        while prune_at is not None and n > prune_at:
            state["pruned"] += 1
            pairs, n = kernels.pairs_prune(pairs, state["pruned"])
        state["pairs"], state["n"] = pairs, n

    scan._in_turn(count_piece, fold, scan.pieces(corpus, "counting pairs", readers=threads), threads)
    return state["pairs"], state["n"], state["pruned"]


def merge_pairs(parts, prune_at: Optional[int] = 40_000_000) -> Tuple[np.ndarray, int, int]:
    """One pair count from the pair counts of a corpus's parts (:func:`count_pairs`'s answers, each table
    possibly only its used rows), in part order, held to ``prune_at`` pairs as :func:`count_pairs` holds
    it: (pair table, pairs, pruned below)."""
    from . import kernels, scan
    scan.prepare("pairs")
    pairs, n, pruned = kernels.pairs_new(1 << 16), 0, 0
    for part_pairs, _, part_pruned in parts:
        pairs, n = kernels.pairs_merge(pairs, n, part_pairs)
        del part_pairs  # (a part fetched as the merge goes is let go before the next comes)
        pruned = max(pruned, part_pruned)
        while prune_at is not None and n > prune_at:
            pruned += 1
            pairs, n = kernels.pairs_prune(pairs, pruned)
    return pairs, n, pruned


def joined_pieces(corpus: Corpus, counts: PhraseCounts, min_count: int = 5, threshold: float = 100.0,
                  scoring: str = "word2phrase", delimiter: str = "_", threads: int = 1, desc: str = "joining"):
    """Yield the text of ``corpus`` with its phrases joined (module docstring), piece by piece in order:
    uint8 arrays. Worker threads join pieces from a fresh start (no token before); the main thread mends
    a piece whose first token turns out to join the last token of the piece before by joining it again
    from the right start, so the text does not depend on the number of threads."""
    from . import kernels, scan
    check_phrase_options(min_count, threshold, scoring, delimiter)
    counts.check_join(min_count, threshold, scoring)
    _read_twice(corpus)
    scan.prepare("pairs")
    counts = joining(counts, min_count, threshold, scoring)
    settings = (counts.table, counts.pairs, np.frombuffer(delimiter.encode("utf-8"), np.uint8))
    space = np.frombuffer(b" ", np.uint8)

    def join_piece(piece):
        text, state, first = kernels.join_pairs(piece, *settings, np.array([0, -1, 0], np.int64))
        return piece, text, state, first

    carried = np.array([0, -1, 0], np.int64)  # may join, last entry, a token on the line
    for piece, text, state, (tokens, first, newline_first) in scan._in_order(
            join_piece, scan.pieces(corpus, desc, readers=threads), threads):
        if not tokens:  # white space: the line ends (if any) are the text
            if len(text):
                carried = state
            yield text
        elif newline_first or not carried[2]:  # the piece starts a line: a fresh start is the right one
            carried = state
            yield text
        elif carried[0] and kernels.pair_joins(counts.pairs, carried[1], first):
            text, carried, _ = kernels.join_pairs(piece, *settings, carried)
            yield text
        else:
            carried = state
            yield space
            yield text


def joining(counts: PhraseCounts, min_count: int, threshold: float, scoring: str) -> PhraseCounts:
    """The pairs that join (:func:`phrase_table`'s) as a table of their own, over the same tokens: what
    joining looks pairs up in. It holds thousands of pairs where the counts hold millions, so it stays
    in the processor's cache; joining with it is joining with the counts (it is how a saved table joins)."""
    from . import kernels
    if counts.table_only:
        return counts
    firsts, seconds, _, _ = kernels.pair_scores(counts.table, counts.pairs, min_count, float(threshold),
                                                max(counts.total_words, 1), scoring == "npmi")
    pairs, n = kernels.pairs_from(firsts, seconds)
    return PhraseCounts(counts.table, counts.n, pairs, n, counts.total_words, counts.pruned_below,
                        counts.min_count, table_only=True)


def check_text_output(path: str) -> None:
    """Raise when the joined text could not be written to ``path`` so that it reads back: a .zip name
    (read as an archive; the text is one file) or a compression whose package is missing. A name
    ending in .gz, .bz2, .xz or .zst is written compressed so (:mod:`w2v.compression`)."""
    if os.path.splitext(path)[1].lower() == ".zip":
        raise ValueError(f"{path}: the joined text is one text file, and a .zip is read as an archive; name it "
                         f".txt, or .gz, .bz2, .xz or .zst to write it compressed")
    check_can_write(path)


def write_phrases(corpus: Corpus, counts: PhraseCounts, output, min_count: int = 5, threshold: float = 100.0,
                  scoring: str = "word2phrase", delimiter: str = "_", force: bool = False, threads: int = 1) -> None:
    """Write ``corpus`` with its phrases joined (module docstring) to ``output`` (a path or a planned
    :class:`w2v.files.Output`), atomically; compressed by its extension (:func:`check_text_output`)."""
    check_text_output(output.path if isinstance(output, Output) else output)
    pieces = joined_pieces(corpus, counts, min_count, threshold, scoring, delimiter, threads)
    with open_output(output, "wb", force=force, compress=True) as f:
        for text in pieces:
            f.write(memoryview(text))


def phrase_table(counts: PhraseCounts, min_count: int = 5, threshold: float = 100.0,
                 scoring: str = "word2phrase"):
    """[(first word, second word, score, count)] of the pairs a pass with these settings joins, best
    score first (ties by the words)."""
    from . import kernels
    counts.check_join(min_count, threshold, scoring)
    words = scan_words(counts)
    firsts, seconds, scores, found = kernels.pair_scores(counts.table, counts.pairs, min_count, float(threshold),
                                                         max(counts.total_words, 1), scoring == "npmi")
    rows = [(words(a), words(b), score, count)
            for a, b, score, count in zip(firsts.tolist(), seconds.tolist(), scores.tolist(), found.tolist())]
    rows.sort(key=lambda row: (-row[2], row[0], row[1]))
    return rows


def scan_words(counts: PhraseCounts):
    """entry -> its token, decoded (with replacement)."""
    from . import kernels
    entries, arena = counts.table[kernels.TABLE_ENTRIES], counts.table[kernels.TABLE_ARENA]

    def word(entry: int) -> str:
        start, length = kernels.entry_places(int(entries[entry, 0]))
        return arena[start:start + length].tobytes().decode("utf-8", "replace")
    return word


def save_phrase_table(path, passes, force: bool = False) -> None:
    """Write the pairs each pass joins (``passes``: one list of :func:`phrase_table` rows a pass) as
    ``first second<TAB>score<TAB>count`` lines (the pair's two words one space apart, so a word that
    already holds the delimiter stays unambiguous), each pass after a ``# pass K`` line from the second
    on (a one-pass table has none), atomically; compressed if the name ends in .gz, .bz2, .xz or .zst
    (:mod:`w2v.compression`), and :func:`read_phrase_table` reads it so."""
    with open_output(path, "w", force=force, compress=True) as f:
        for number, rows in enumerate(passes, 1):
            if number > 1:
                f.write(f"{PASS_LINE}{number}\n")
            f.write("".join(f"{a} {b}\t{score:.9g}\t{count}\n" for a, b, score, count in rows))


#: What starts the pairs of pass K of a saved table (a line without a tab, so never a pair's line).
PASS_LINE = "# pass "


def read_phrase_table(path: str) -> List[PhraseCounts]:
    """A saved phrase table, one :class:`PhraseCounts` a pass, ready for :func:`write_phrases`: applied
    in order they give the text the passes that saved them gave. ``ValueError`` naming the file and
    line of a malformed one."""
    from .words import BOM, word_problem
    passes: List[list] = [[]]
    try:
        with open_read(path) as f:
            for lineno, raw in enumerate(f, 1):
                if lineno == 1 and raw.startswith(BOM):
                    raw = raw[len(BOM):]
                if not raw.strip():
                    continue
                line = raw.rstrip(b"\r\n")
                if line == f"{PASS_LINE}{len(passes) + 1}".encode():
                    passes.append([])
                    continue
                fields = line.split(b"\t")
                try:
                    words = fields[0].decode("utf-8").split(" ")
                    float(fields[1]), int(fields[2])
                    if len(fields) != 3 or len(words) != 2 or any(word_problem(w) for w in words):
                        raise ValueError
                except (ValueError, IndexError, UnicodeDecodeError):
                    raise ValueError(f"{path}, line {lineno}: expected 'first second<TAB>score<TAB>count' "
                                     f"or '{PASS_LINE}{len(passes) + 1}'") from None
                passes[-1].append(words)
    except READ_ERRORS as error:
        raise read_error(path, error) from None
    return [_table_of(pairs) for pairs in passes]


def _table_of(pairs) -> PhraseCounts:
    """Counts that join exactly ``pairs`` ([first, second] words, as str or as their UTF-8 bytes)."""
    from . import kernels
    table, n, used = kernels.table_new(max(2 * len(pairs), 16)), 0, 0
    entries = np.empty((len(pairs), 2), np.int64)
    for i, words in enumerate(pairs):
        for j, word in enumerate(words):
            array = np.frombuffer(word if isinstance(word, bytes) else word.encode("utf-8"), np.uint8)
            table, n, used = kernels.table_count(table, n, used, array, 0, len(array))
            entries[i, j] = kernels.table_lookup(table, array)
    pair_table, n_pairs = kernels.pairs_from(entries[:, 0], entries[:, 1])
    return PhraseCounts(table, n, pair_table, n_pairs, 0, 0, 1, table_only=True)


def joined_tokens(corpus) -> Tuple[List[bytes], str, bool]:
    """What a :func:`phrased` corpus joins: the pairs of tokens each pass joins (:func:`joined_pairs`), its
    delimiter, and whether it keeps the words (``keep_words``). :func:`phrased_by_tokens` reads another corpus
    (a part of this one, on another machine) through the same joins, without counting (a distributed run's
    workers: :mod:`w2v.distributed`). Tens of thousands of pairs a pass on wiki8, where the counts hold
    millions."""
    keep_words = isinstance(corpus, WithWordsCorpus)
    current = corpus.phrased_copy if keep_words else corpus
    passes: List[bytes] = []
    delimiter = "_"
    while isinstance(current, PhrasedCorpus):
        min_count, threshold, scoring, delimiter = current.settings
        passes.append(joined_pairs(current.counts, min_count, threshold, scoring))
        current = current.corpus
    return passes[::-1], delimiter, keep_words


def joined_pairs(counts: PhraseCounts, min_count: int, threshold: float, scoring: str) -> bytes:
    """The pairs a pass of these counts and settings joins (:func:`joining`), as their tokens' bytes, a
    ``first second`` line each, sorted: one bytes object, which a token (never white space) cannot confuse,
    and which goes to another process at once (a list of 50,000 pairs of bytes took Dask's ``scatter`` 7 s)."""
    from . import kernels
    joins = joining(counts, min_count, threshold, scoring)
    keys = joins.pairs[:, 0]
    codes = keys[keys != 0] - 1  # (first << 32 | second) + 1 a pair, 0 an empty slot
    entries, arena = joins.table[kernels.TABLE_ENTRIES], joins.table[kernels.TABLE_ARENA]

    def token(entry: int) -> bytes:
        start, length = kernels.entry_places(int(entries[entry, 0]))
        return arena[start:start + length].tobytes()
    return b"".join(sorted(token(code >> 32) + b" " + token(code & 0xFFFFFFFF) + b"\n" for code in codes.tolist()))


def phrased_by_tokens(corpus, passes, delimiter: str = "_", keep_words: bool = False, threads: int = 1):
    """``corpus`` read through the joins of :func:`joined_tokens` (``passes``, ``delimiter``,
    ``keep_words``): the text :func:`phrased` gave the corpus they were taken from, for this corpus's
    text, with nothing counted."""
    plain = corpus
    for pairs in passes:
        corpus = PhrasedCorpus(corpus, _table_of([line.split(b" ") for line in pairs.split(b"\n") if line]),
                               delimiter=delimiter, threads=threads)
    return WithWordsCorpus(plain, corpus) if keep_words else corpus


class _NoBar:
    def __init__(self, desc: str):
        self.desc = desc

    def close(self) -> None:
        pass


class _ReadThrough:
    """A corpus read through another (``base``): it has what the passes of :mod:`w2v.scan` use of a
    :class:`w2v.corpus.Corpus`: ``files`` and ``fingerprint()`` (the base's), ``progress_bar()`` (none
    of its own: the passes under it show theirs, but it keeps ``desc`` for ``sources()``), and in the
    subclasses ``sources()`` and ``blocks()``, whose blocks end at white space."""

    phrase_settings = None  # set by phrased()

    def __init__(self, base):
        self.base = base
        self.files = base.files
        self.read_once = base.read_once

    def fingerprint(self):
        return self.base.fingerprint()

    def progress_bar(self, desc: str):
        return _NoBar(desc)


class PhrasedCorpus(_ReadThrough):
    """A corpus read with its phrases joined, as :func:`write_phrases` would write it, without writing it:
    what training reads with ``--phrases`` or ``--phrase-table``."""

    def __init__(self, corpus, counts: PhraseCounts, min_count: int = 5, threshold: float = 100.0,
                 scoring: str = "word2phrase", delimiter: str = "_", threads: int = 1):
        check_phrase_options(min_count, threshold, scoring, delimiter)
        _read_twice(corpus)
        super().__init__(corpus)
        self.corpus, self.counts, self.threads = corpus, counts, threads
        self.settings = (min_count, float(threshold), scoring, delimiter)

    def sources(self, bar, threads=None) -> list:
        """One source, the whole phrased text (joining crosses files), read on this corpus's own threads:
        see :meth:`w2v.corpus.Corpus.sources`."""
        return [functools.partial(self.blocks, bar.desc)]

    def blocks(self, desc: str = "reading"):
        carry = b""
        for text in joined_pieces(self.corpus, self.counts, *self.settings, threads=self.threads, desc=desc):
            block = carry + text.tobytes()
            cut = max(block.rfind(b" "), block.rfind(b"\n"))  # the last token may still be joined to
            carry = block[cut + 1:]
            if cut >= 0:
                yield block[:cut + 1], False
        yield carry + (b"\n" if carry else b""), True


class WithWordsCorpus(_ReadThrough):
    """A corpus read as it is and then again with its phrases joined (``phrased(..., keep_words=True)``):
    the text the words are trained on keeps every context a phrase would take from them, and the phrases
    get vectors from the phrased copy. Each epoch trains on both, so it costs twice the training."""

    def __init__(self, plain, phrased_copy):
        super().__init__(plain)
        self.plain, self.phrased_copy = plain, phrased_copy

    def sources(self, bar, threads=None) -> list:
        """The text as it is (one source, with the corpus's own bar), then its phrased copy."""
        return [functools.partial(self.plain.blocks, bar.desc, threads)] + self.phrased_copy.sources(bar, threads)

    def blocks(self, desc: str = "reading"):
        for source in self.sources(_NoBar(desc)):
            yield from source()


def phrased(corpus, passes: int = 1, thresholds=(100.0,), min_count: int = 5, scoring: str = "word2phrase",
            delimiter: str = "_", table: Optional[str] = None, threads: int = 1, keep_words: bool = False):
    """``corpus`` read through ``passes`` passes of phrases (counted on the text the pass before
    made), or through the passes of a saved phrase ``table``; see :class:`PhrasedCorpus`. With
    ``keep_words``, the text as it is and then its phrased copy (:class:`WithWordsCorpus`). The result's
    ``phrase_settings`` (a dict of these arguments, the table's absolute path) is what a checkpoint
    records, so that a resumed run reads the corpus as the run it resumes did."""
    settings = phrase_settings(passes, thresholds, min_count, scoring, delimiter, table, keep_words)
    plain = corpus
    if table is not None:
        for counts in read_phrase_table(table):
            corpus = PhrasedCorpus(corpus, counts, min_count, thresholds[0], scoring, delimiter, threads)
    else:
        for threshold in pass_thresholds(passes, thresholds):
            counts = count_phrases(corpus, min_count, threads=threads, threshold=threshold, scoring=scoring)
            corpus = PhrasedCorpus(corpus, counts, min_count, threshold, scoring, delimiter, threads)
    if keep_words:
        corpus = WithWordsCorpus(plain, corpus)
    corpus.phrase_settings = settings
    return corpus


def phrase_settings(passes: int = 1, thresholds=(100.0,), min_count: int = 5, scoring: str = "word2phrase",
                    delimiter: str = "_", table: Optional[str] = None, keep_words: bool = False) -> dict:
    """:func:`phrased`'s arguments as the dict a checkpoint records (``phrase_settings``), which ``phrased(corpus,
    **settings)`` reads the corpus through again."""
    settings = {"passes": passes, "thresholds": [float(t) for t in thresholds], "min_count": min_count,
                "scoring": scoring, "delimiter": delimiter, "table": os.path.abspath(table) if table else None}
    if keep_words:
        settings["keep_words"] = True  # (absent from the settings of a run without it, as before it existed)
    return settings


def pass_thresholds(passes: int, thresholds) -> List[float]:
    """The threshold of each of ``passes`` passes: one for all, or one a pass (else ValueError)."""
    thresholds = list(thresholds) * passes if len(thresholds) == 1 else list(thresholds)
    if len(thresholds) != passes:
        raise ValueError(f"{len(thresholds)} thresholds for {passes} passes of phrases; give one, or one a pass")
    return thresholds
