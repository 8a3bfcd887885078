"""Finding the entries of a block of a word2vec binary file with NumPy, without a Python loop per word.

After its header a word2vec binary file holds, per entry, the word's bytes, a space, the row's
``R = 4 D`` bytes and (as word2vec.c and gensim write it) a newline. The row may hold any byte, a
space or a newline too, so where an entry ends is known only from where it starts: a reader walks
the entries one by one. :func:`find_entries` does that walk for a whole block (a few MB) in array
operations:

1. Every space of the block is a candidate end of a word (the true ones and, about once every 256
   bytes of a row, a space inside a row).
2. From each candidate ``s`` the next entry would start at ``s + 1 + R``, one byte later if that
   byte is a newline, and its word would end at the first candidate from there on: one
   ``searchsorted`` gives every candidate its successor.
3. The entries of the block are the successors of the first entry's space, followed from it:
   pointer doubling (``path`` extended by ``jump[path]``, then ``jump = jump[jump]``) lists them in
   about log2(entries) array steps.

The walk stops before an entry whose row does not end inside the block, and before one a plain
reader would not take in stride: an empty word, a word longer than ``longest`` bytes (counted with
the newline before it), or a word holding a newline (two newlines between entries). The caller
reads that entry with its own loop, which also writes the messages; this module only speeds up
what such a loop would accept anyway.

This module never imports Numba.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

__all__ = ["Entries", "find_entries", "find_spaces"]

_SPACE, _NEWLINE = 32, 10


class Entries(NamedTuple):
    """The entries found in a block, in file order; positions are into the block (int64 arrays of E)."""
    entry_starts: np.ndarray  # where each entry starts: its word, or the newline before it
    spaces: np.ndarray  # the space after each word; the row follows it
    words: bytes  # the words' bytes, each followed by one space
    complete: bool  # False: stopped before an entry the caller must read itself (not at the block's end)


def find_spaces(data: np.ndarray) -> np.ndarray:
    """Where the spaces of ``data`` (uint8[B]) are: int64, ascending (step 1 of the module docstring)."""
    return np.flatnonzero(data == _SPACE)


def find_entries(block: np.ndarray, pos: int, row_bytes: int, longest: int, limit: int,
                 spaces: Optional[np.ndarray] = None) -> Optional[Entries]:
    """The entries of ``block`` (uint8[B]) from ``pos`` on whose rows end inside it, at most ``limit``.

    ``row_bytes`` is R = 4 D, ``longest`` the most bytes a word and the newline before it may take.
    ``spaces``: :func:`find_spaces` of the whole block, if the caller has it (found while the block
    was read), else found here. ``complete`` is False when the walk stopped before an entry for the
    caller (module docstring); ``None`` when not even the first entry was found.
    """
    size = block.shape[0]
    if spaces is None:
        spaces = find_spaces(block[pos:])
        spaces += pos
    else:
        spaces = spaces[np.searchsorted(spaces, pos):]
    # the spaces whose row ends inside the block: s + 1 + R <= size (the first ones: spaces are sorted)
    n_fit = int(np.searchsorted(spaces, size - 1 - row_bytes, side="right"))
    if n_fit == 0 or limit <= 0:
        return None
    spaces = spaces[:n_fit]
    # where the entry after each candidate starts, and where its word starts (past one newline)
    after = spaces + (1 + row_bytes)
    word_at = after + (block[np.minimum(after, size - 1)] == _NEWLINE)
    successor = np.searchsorted(spaces, word_at)  # n_fit: none in the block (the sentinel)
    first_word = pos + int(block[pos] == _NEWLINE)
    first = int(np.searchsorted(spaces, first_word))
    if first == n_fit:
        return None
    jump = np.append(successor, n_fit)  # the sentinel leads to itself
    path = np.array([first], dtype=np.int64)
    while path.shape[0] < limit and path[-1] != n_fit:
        path = np.concatenate([path, jump[path]])
        jump = jump[jump]
    stop = np.flatnonzero(path == n_fit)
    path = path[:min(limit, stop[0] if stop.shape[0] else path.shape[0])]
    ends = spaces[path]
    starts = np.empty_like(ends)  # each entry's start: the previous row's end
    starts[0] = pos
    starts[1:] = after[path[:-1]]
    word_starts = np.empty_like(ends)
    word_starts[0] = first_word
    word_starts[1:] = word_at[path[:-1]]
    lengths = ends - word_starts
    # the entries a plain walk takes in stride: a word of 1.. bytes, within ``longest`` with its newline
    good = (lengths > 0) & (ends - starts <= longest)
    complete = bool(good.all())
    if not complete:
        keep = int(np.argmin(good))
        ends, starts, word_starts, lengths = ends[:keep], starts[:keep], word_starts[:keep], lengths[:keep]
    # every word's bytes and its space, gathered in one index: positions word_start .. end
    spans = lengths + 1
    total = int(spans.sum())
    offsets = np.cumsum(spans) - spans
    index = np.arange(total, dtype=np.int64) + np.repeat(word_starts - offsets, spans)
    words = block[index]
    newlines = np.flatnonzero(words == _NEWLINE)
    if newlines.shape[0]:  # a word with a newline inside: stop before it
        keep = int(np.searchsorted(offsets, newlines[0], side="right")) - 1
        complete = False
        ends, starts = ends[:keep], starts[:keep]
        words = words[:offsets[keep]]
    if ends.shape[0] == 0:
        return None
    return Entries(starts, ends, words.tobytes(), complete)
