"""Slow, plain-Python references of counting and encoding (what w2v did before its compiled passes).

The compiled passes of :mod:`w2v.scan` must give exactly these results: the same vocabulary (words,
counts, summary) and the same ids and sentence offsets.
"""
from collections import Counter
from typing import Dict, List

import numpy as np

from w2v.corpus import Corpus, decode_token
from w2v.words import MAX_WORD_BYTES


def count(corpus: Corpus):
    """{word: count} of every token (invalid UTF-8 read with replacement and merged), total tokens."""
    counter: Counter = Counter()
    total = 0
    for toks in corpus.tokens():
        total += len(toks)
        counter.update(toks)
    odd: Dict[str, int] = {}
    for tok in [t for t in counter if not t.isascii()]:
        word, bad = decode_token(tok)
        if bad:
            odd[word] = odd.get(word, 0) + counter.pop(tok)
    for word in odd:
        odd[word] += counter.pop(word.encode("utf-8"), 0)
    words = {t.decode("utf-8"): c for t, c in counter.items()}
    words.update(odd)
    return words, total


def vocabulary(corpus: Corpus, min_count: int):
    """(words, counts) as build_vocabulary keeps them: by count, then word."""
    words, _ = count(corpus)
    kept = sorted(((w, c) for w, c in words.items() if c >= min_count and len(w.encode()) <= MAX_WORD_BYTES),
                  key=lambda wc: (-wc[1], wc[0]))
    return [w for w, _ in kept], [c for _, c in kept]


def encode(corpus: Corpus, words: List[str], max_sentence_length: int):
    """(ids int32[N], offsets int64[S+1]) from the corpus's lines, one token at a time."""
    index = {w: i for i, w in enumerate(words)}

    def lookup(token: bytes) -> int:
        word, _ = decode_token(token)
        return index.get(word, -1)

    ids: List[int] = []
    offsets = [0]
    start = 0
    for tokens, ends in corpus.pieces():
        ids.extend(i for i in map(lookup, tokens) if i >= 0)
        while len(ids) - start > max_sentence_length:
            start += max_sentence_length
            offsets.append(start)
        if ends and len(ids) > start:
            offsets.append(len(ids))
            start = len(ids)
    if len(ids) > start:
        offsets.append(len(ids))
    return np.array(ids, dtype=np.int32), np.array(offsets, dtype=np.int64)
