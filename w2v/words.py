"""What a word is: the one definition the tokenizer, the vocabulary and every writer share.

A word is a non-empty run of bytes with none of the six ASCII white-space
bytes (space, tab, newline, carriage return, vertical tab, form feed: what
``bytes.split()`` splits on and what word2vec.c's readers stop at), decoded
as UTF-8, at most :data:`MAX_WORD_BYTES` bytes long. Every other character
is part of a word, Unicode's own spaces included (U+00A0 no-break space,
U+2028, U+3000, U+0085, the ASCII separators U+001C-U+001F): word2vec's text
and binary formats separate fields with ASCII spaces and lines with ``\\n``
only, so such words are written and read back intact, by w2v, gensim and
word2vec.c alike. Python's ``str.split()`` would cut them: nothing in w2v
splits words with it.

Tokens longer than :data:`MAX_WORD_BYTES` (base64 blobs, a file with no white
space at all) never become words: the vocabulary leaves them out and says
how many it left out, the readers refuse them, and the writers refuse them,
so every file w2v writes, w2v reads back. word2vec.c cuts words at 100 bytes;
gensim has no limit.
"""
from __future__ import annotations

from typing import Optional

__all__ = ["SEPARATORS", "MAX_WORD_BYTES", "word_problem"]

#: The bytes that separate words (``bytes.split()``'s white space).
SEPARATORS = b" \t\n\r\x0b\x0c"
_SEPARATOR_CHARS = frozenset(SEPARATORS.decode("ascii"))
#: The longest word, in UTF-8 bytes.
MAX_WORD_BYTES = 10_000


def word_problem(word: str) -> Optional[str]:
    """Why ``word`` cannot be a word (a phrase for an error message), or None if it can."""
    if not isinstance(word, str):
        return f"is a {type(word).__name__}, not a string"
    if not word:
        return "is empty"
    if not _SEPARATOR_CHARS.isdisjoint(word):
        return "contains ASCII white space (space, tab, newline, CR, VT or FF)"
    try:
        size = len(word.encode("utf-8"))
    except UnicodeEncodeError:
        return "cannot be encoded as UTF-8 (it holds a lone surrogate)"
    if size > MAX_WORD_BYTES:
        return f"is {size:,} bytes long; words are at most {MAX_WORD_BYTES:,} bytes"
    return None
