"""Phrases: word2phrase's joins of frequent pairs ("new york" -> new_york), in compiled code.

Two passes over the text (:mod:`w2v.scan`'s pieces, in order), as word2phrase.c makes them:

1. count every token and every pair of tokens next to each other on a line (worker threads count
   pieces; the main thread adds the pair that straddles two pieces and merges in order, pruning as
   the vocabulary does, so the counts do not depend on the number of threads);
2. write the text again, left to right, joining a token to the one before it when both and their
   pair were seen at least ``min_count`` times and the pair's score beats ``threshold``; a token that
   joined cannot join the next one, so one pass makes pairs and a second pass can make triples.

The default score is word2phrase's ``(count(ab) − min_count) / (count(a) · count(b)) × N`` (N: the
words of the corpus), computed in float32 as word2phrase.c does; ``scoring="npmi"`` is gensim's
normalised pointwise mutual information, in [−1, 1]. Tokens are written one space apart and every
newline is kept: lines stay lines (a file's last line gets a newline if it had none). Deviations from word2phrase.c: it also counts the pair made by
the last word of a line and the first of the next (its ``start`` flag is never set), though it never
joins them; and it starts every output word with a space or an underscore, so its lines begin with a
space.

Example::

    >>> from w2v.corpus import Corpus
    >>> from w2v.phrases import count_phrases, write_phrases
    >>> counts = count_phrases(Corpus(["text.txt"]))                         # doctest: +SKIP
    >>> write_phrases(Corpus(["text.txt"]), counts, "phrased.txt")           # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .corpus import STDIN, Corpus
from .files import open_output
from .words import SEPARATORS

__all__ = ["PhraseCounts", "count_phrases", "write_phrases", "check_phrase_options", "phrase_table",
           "save_phrase_table", "read_phrase_table", "PhrasedCorpus", "phrased"]


@dataclass
class PhraseCounts:
    """Token and pair counts (a token table of :mod:`w2v.kernels`), the corpus's words, and the
    pruning threshold reached (0: nothing pruned)."""
    table: tuple
    n: int
    total_words: int
    pruned_below: int
    table_only: bool = False  # a saved phrase table: the pairs that join, without counts


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


def _no_stdin(corpus: Corpus) -> None:
    if STDIN in corpus.files:
        raise ValueError("phrases read the corpus twice (counting, then joining), so they cannot read standard "
                         "input; save it to a file")


def count_phrases(corpus: Corpus, prune_at: Optional[int] = 40_000_000, threads: int = 1) -> PhraseCounts:
    """Count the tokens and the pairs on a line of ``corpus`` (module docstring)."""
    from . import kernels, scan
    _no_stdin(corpus)
    scan.prepare()

    def count_piece(piece):
        table, n, _, tokens, edges = kernels.count_pairs(piece, kernels.table_new(1 << 14), 0, 0)
        first = piece[edges[0]:edges[1]].copy() if tokens else None
        last = piece[edges[3]:edges[4]].copy() if tokens else None
        return table, n, tokens, first, bool(edges[2]), last, bool(edges[5])

    table, n, used = kernels.table_new(1 << 16), 0, 0
    total = pruned = 0
    before: Optional[np.ndarray] = None  # the last token so far, while no newline has followed it
    for piece_table, piece_n, tokens, first, newline_first, last, newline_last in scan._in_order(
            count_piece, scan.pieces(corpus, "counting pairs"), threads):
        table, n, used = kernels.table_merge(table, n, used, piece_table, piece_n)
        total += tokens
        if tokens:
            if before is not None and not newline_first:  # the pair that straddles two pieces
                key = np.concatenate([before, np.frombuffer(b"\n", np.uint8), first])
                table, n, used = kernels.table_count(table, n, used, key, 0, len(key))
            before = None if newline_last else last
        elif newline_last:  # a piece of white space only, with a line end in it
            before = None
        while prune_at is not None and n > prune_at:
            pruned += 1
            table, n, used = kernels.table_prune(table, n, pruned)
    if total == 0:
        raise ValueError("the corpus is empty: no words to join")
    return PhraseCounts(table, n, total, pruned)


def write_phrases(corpus: Corpus, counts: PhraseCounts, output, min_count: int = 5, threshold: float = 100.0,
                  scoring: str = "word2phrase", delimiter: str = "_", force: bool = False) -> None:
    """Write ``corpus`` with its phrases joined (module docstring) to ``output`` (a path or a planned
    :class:`w2v.files.Output`), atomically."""
    from . import kernels, scan
    check_phrase_options(min_count, threshold, scoring, delimiter)
    _no_stdin(corpus)
    state, prev = np.zeros(3, np.int64), np.zeros(0, np.uint8)
    glue = np.frombuffer(delimiter.encode("utf-8"), np.uint8)
    with open_output(output, "wb", force=force) as f:
        for piece in scan.pieces(corpus, "joining"):
            text, state, prev = kernels.join_pairs(piece, counts.table, min_count, float(threshold),
                                                   max(counts.total_words, 1), scoring == "npmi", glue, state,
                                                   prev, counts.table_only)
            f.write(text.tobytes())


def phrase_table(counts: PhraseCounts, min_count: int = 5, threshold: float = 100.0,
                 scoring: str = "word2phrase"):
    """[(first word, second word, score, count)] of the pairs a pass with these settings joins, best
    score first (ties by the words)."""
    from . import kernels
    entries, scores, splits = kernels.pair_scores(counts.table, counts.n, min_count, float(threshold),
                                                  counts.total_words, scoring == "npmi")
    rows = []
    for entry, score, split in zip(entries.tolist(), scores.tolist(), splits.tolist()):
        start, length, count = (int(x) for x in counts.table[2][entry])
        key = counts.table[3][start:start + length].tobytes().decode("utf-8", "replace")
        rows.append((key[:split], key[split + 1:], score, count))
    rows.sort(key=lambda row: (-row[2], row[0], row[1]))
    return rows


def save_phrase_table(path, rows, force: bool = False) -> None:
    """Write ``first second<TAB>score<TAB>count`` lines (the pair's two words one space apart, so a word
    that already holds the delimiter stays unambiguous), atomically."""
    with open_output(path, "w", force=force) as f:
        f.write("".join(f"{a} {b}\t{score:.9g}\t{count}\n" for a, b, score, count in rows))


def read_phrase_table(path: str) -> PhraseCounts:
    """A saved phrase table, ready for :func:`write_phrases`: the text it gives is the text the pass
    that saved it gave. ``ValueError`` naming the file and line of a malformed one."""
    from . import kernels
    from .words import word_problem
    keys = []
    try:
        with open(path, "rb") as f:
            for lineno, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                fields = raw.rstrip(b"\r\n").split(b"\t")
                try:
                    words = fields[0].decode("utf-8").split(" ")
                    float(fields[1]), int(fields[2])
                    if len(fields) != 3 or len(words) != 2 or any(word_problem(w) for w in words):
                        raise ValueError
                except (ValueError, IndexError, UnicodeDecodeError):
                    raise ValueError(f"{path}, line {lineno}: expected 'first second<TAB>score<TAB>count'") from None
                keys.append("\n".join(words).encode("utf-8"))
    except OSError as error:
        raise OSError(f"{path}: cannot read ({error.strerror or error})") from None
    table, n, used = kernels.table_new(max(len(keys), 16)), 0, 0
    for key in keys:
        array = np.frombuffer(key, dtype=np.uint8)
        table, n, used = kernels.table_count(table, n, used, array, 0, len(array))
    return PhraseCounts(table, n, 0, 0, table_only=True)


class PhrasedCorpus:
    """A corpus read with its phrases joined, as :func:`write_phrases` would write it, without writing it:
    what training reads with ``--phrases`` or ``--phrase-table``. It has what the passes of
    :mod:`w2v.scan` use of a :class:`w2v.corpus.Corpus`: ``files``, ``fingerprint()`` and ``blocks()``,
    whose blocks end at white space."""

    def __init__(self, corpus, counts: PhraseCounts, min_count: int = 5, threshold: float = 100.0,
                 scoring: str = "word2phrase", delimiter: str = "_"):
        check_phrase_options(min_count, threshold, scoring, delimiter)
        _no_stdin(corpus)
        self.corpus, self.counts = corpus, counts
        self.min_count, self.threshold, self.scoring = min_count, float(threshold), scoring
        self.glue = np.frombuffer(delimiter.encode("utf-8"), np.uint8)
        self.files = corpus.files

    def fingerprint(self):
        return self.corpus.fingerprint()

    def blocks(self, desc: str = "reading"):
        from . import kernels, scan
        state, prev = np.zeros(3, np.int64), np.zeros(0, np.uint8)
        carry = b""
        for piece in scan.pieces(self.corpus, desc):
            text, state, prev = kernels.join_pairs(piece, self.counts.table, self.min_count, self.threshold,
                                                   max(self.counts.total_words, 1), self.scoring == "npmi",
                                                   self.glue, state, prev, self.counts.table_only)
            block = carry + text.tobytes()
            cut = max(block.rfind(b" "), block.rfind(b"\n"))  # the last token may still be joined to
            carry = block[cut + 1:]
            if cut >= 0:
                yield block[:cut + 1], False
        yield carry + (b"\n" if carry else b""), True


def phrased(corpus, passes: int = 1, thresholds=(100.0,), min_count: int = 5, scoring: str = "word2phrase",
            delimiter: str = "_", table: Optional[str] = None, threads: int = 1):
    """``corpus`` read through ``passes`` passes of phrases (counted on the text the pass before
    made), or through a saved phrase ``table``; see :class:`PhrasedCorpus`."""
    if table is not None:
        return PhrasedCorpus(corpus, read_phrase_table(table), min_count, thresholds[0], scoring, delimiter)
    thresholds = list(thresholds) * passes if len(thresholds) == 1 else list(thresholds)
    if len(thresholds) != passes:
        raise ValueError(f"{len(thresholds)} thresholds for {passes} passes of phrases; give one, or one a pass")
    for threshold in thresholds:
        corpus = PhrasedCorpus(corpus, count_phrases(corpus, threads=threads), min_count, threshold, scoring,
                               delimiter)
    return corpus
