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

from typing import Dict, Optional

from .compression import READ_ERRORS, open_read, read_error

__all__ = ["SEPARATORS", "MAX_WORD_BYTES", "word_problem", "read_word_integers"]

#: The bytes that separate words (``bytes.split()``'s white space).
SEPARATORS = b" \t\n\r\x0b\x0c"
_SEPARATOR_CHARS = frozenset(SEPARATORS.decode("ascii"))
#: The longest word, in UTF-8 bytes.
MAX_WORD_BYTES = 10_000


def word_problem(word: str) -> Optional[str]:
    """Why ``word`` cannot be a word (a phrase for an error message), or None if it can."""
    if not isinstance(word, str):
        name = type(word).__name__
        return f"is {'an' if name[:1] in 'aeiou' else 'a'} {name}, not a string"
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


def read_word_integers(path: str, what: str, low: int, high: int) -> Dict[str, int]:
    """{word: integer} from a file of ``word integer`` lines (blank lines skipped): word2vec.c's
    vocabulary files (``what`` "count") and word-class files ("class"). Every problem is a
    ``ValueError`` naming the file and the line: a line that is not two fields, a word that is not
    UTF-8 or not a word, a value that is not an integer in [low, high], a word listed twice."""
    values: Dict[str, int] = {}
    try:
        with open_read(path) as f:
            for lineno, raw in enumerate(f, 1):
                parts = raw.split()
                if not parts:
                    continue
                where = f"{path}, line {lineno}"
                if len(parts) != 2:
                    raise ValueError(f"{where}: expected 'word {what}', got {len(parts)} fields")
                try:
                    word = parts[0].decode("utf-8")
                except UnicodeDecodeError:
                    raise ValueError(f"{where}: the word is not valid UTF-8") from None
                problem = word_problem(word)
                if problem is not None:
                    raise ValueError(f"{where}: the word {word[:40]!r} {problem}")
                try:
                    value = int(parts[1])
                except ValueError:
                    shown = parts[1][:20].decode("utf-8", "replace")
                    raise ValueError(f"{where}: {what} {shown!r} is not an integer") from None
                if value < low:
                    raise ValueError(f"{where}: negative {what} {value}" if low == 0 else
                                     f"{where}: {what} {value} is below {low}")
                if value > high:
                    raise ValueError(f"{where}: the {what} {value} is larger than {high:,}"
                                     if high != 1 << 53 else f"{where}: the {what} {value} is larger than 2^53")
                if word in values:
                    raise ValueError(f"{where}: {word!r} is listed twice")
                values[word] = value
    except READ_ERRORS as error:
        raise read_error(path, error) from None
    return values
