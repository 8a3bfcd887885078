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

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .compression import READ_ERRORS, open_read, read_error

__all__ = ["SEPARATORS", "MAX_WORD_BYTES", "word_problem", "read_word_integers", "read_word_integer_arrays",
           "all_distinct"]

#: The bytes that separate words (``bytes.split()``'s white space).
SEPARATORS = b" \t\n\r\x0b\x0c"
#: UTF-8's byte order mark, which Windows editors put at the start of a text file; the readers of w2v's
#: other text inputs (vocabularies, word2vec text, evaluation sets, phrase tables) drop it there, where it
#: would otherwise join the first word. A corpus keeps it, as word2vec.c and gensim do.
BOM = b"\xef\xbb\xbf"
_SEPARATOR_CHARS = frozenset(SEPARATORS.decode("ascii"))
#: The longest word, in UTF-8 bytes.
MAX_WORD_BYTES = 10_000
_OTHER_SEPARATORS = np.zeros(256, dtype=bool)  # the white space a usual file has none of: tab, CR, VT, FF
_OTHER_SEPARATORS[[9, 11, 12, 13]] = True
#: A ``word integer`` file up to this size is read at once (:func:`_read_at_once`), a larger one a line at a
#: time (a vocabulary of 20 million words takes about 300 MB).
_AT_ONCE_BYTES = 1 << 30


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
    words, values, _ = read_word_integer_arrays(path, what, low, high)
    return dict(zip(words, values.tolist()))


def read_word_integer_arrays(path: str, what: str, low: int, high: int,
                             add_not_utf8: bool = False) -> Tuple[List[str], np.ndarray, int]:
    """:func:`read_word_integers`' words and integers (int64[N]) in the file's order, without a dict: the
    usual file read at once (:func:`_read_at_once`), any other a line at a time; and how many words were
    not valid UTF-8. Those are refused, or with ``add_not_utf8`` (counts) read with U+FFFD for each bad
    sequence, as training reads such a token, and the value of each that then reads as a word listed
    before or after is added to that word's (as counting merges such tokens): word2vec.c's vocabulary
    files hold a corpus's bytes as they are, and words it shortened to 99 bytes byte by byte."""
    try:
        with open_read(path) as f:
            data = f.read(_AT_ONCE_BYTES + 1)
    except READ_ERRORS as error:
        raise read_error(path, error) from None
    if len(data) <= _AT_ONCE_BYTES:
        read = _read_at_once(data[len(BOM):] if data.startswith(BOM) else data, low, high)
        if read is not None:
            return read + (0,)
    del data
    values, not_utf8 = _read_lines(path, what, low, high, add_not_utf8)
    return list(values), np.fromiter(values.values(), dtype=np.int64, count=len(values)), not_utf8


def _read_lines(path: str, what: str, low: int, high: int, add_not_utf8: bool) -> Tuple[Dict[str, int], int]:
    """:func:`read_word_integer_arrays`, a line at a time: the values, and how many words were not UTF-8."""
    values: Dict[str, int] = {}
    replaced = set()  # the texts of words that were not UTF-8 (another word of the same text adds to them)
    not_utf8 = 0
    try:
        with open_read(path) as f:
            for lineno, raw in enumerate(f, 1):
                parts = (raw[len(BOM):] if lineno == 1 and raw.startswith(BOM) else raw).split()
                if not parts:
                    continue
                where = f"{path}, line {lineno}"
                if len(parts) != 2:
                    raise ValueError(f"{where}: expected 'word {what}', got {len(parts)} fields")
                try:
                    word = parts[0].decode("utf-8")
                except UnicodeDecodeError:
                    if not add_not_utf8:
                        raise ValueError(f"{where}: the word is not valid UTF-8") from None
                    word = parts[0].decode("utf-8", "replace")
                    replaced.add(word)
                    not_utf8 += 1
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
                    if word not in replaced:
                        raise ValueError(f"{where}: {word!r} is listed twice")
                    value += values[word]
                    if value > high:
                        raise ValueError(f"{where}: the {what}s of {word!r} add up to more than {high:,}")
                values[word] = value
    except READ_ERRORS as error:
        raise read_error(path, error) from None
    return values, not_utf8


def _read_at_once(data: bytes, low: int, high: int) -> Optional[Tuple[List[str], np.ndarray]]:
    """:func:`read_word_integer_arrays`' result for the usual file, read at once by NumPy: every line a word, one
    space and the digits of an integer in [low, high] (at most 16), ending in a newline (the last may not),
    every word valid UTF-8, at most :data:`MAX_WORD_BYTES` bytes and listed once: the files w2v and
    word2vec.c write. None for anything else (blank lines, CRs, tabs, signs, a problem), which the line
    loop then reads and, if it is a problem, names with its line (benchmarks/README.md, "Vocabularies of
    millions of words")."""
    if data and not data.endswith(b"\n"):
        data += b"\n"
    text = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(text == 10)
    spaces = np.flatnonzero(text == 32)
    n = len(newlines)
    if n == 0 or len(spaces) != n or _OTHER_SEPARATORS[text].any():
        return None
    starts = np.concatenate([[0], newlines[:-1] + 1])
    digits = newlines - spaces - 1
    # one space a line, after a word and before 1 to 16 digits (2^53 has 16)
    if not ((spaces > starts) & (spaces < newlines) & (digits >= 1) & (digits <= 16)).all():
        return None
    if (spaces - starts).max() > MAX_WORD_BYTES:
        return None
    marks = np.zeros(len(text), dtype=np.int8)  # +1 where a number starts, -1 at its end: distinct places
    marks[spaces + 1] = 1
    marks[newlines] = -1
    in_number = np.cumsum(marks, dtype=np.int8) > 0
    if ((text[in_number] - 48) > 9).any():  # (uint8: a byte below '0' wraps past 9 too)
        return None
    numbers = np.zeros(n, dtype=np.int64)
    scale = 1
    for place in range(16):  # from the last digit back
        has = np.flatnonzero(digits > place)
        numbers[has] += (text[newlines[has] - 1 - place].astype(np.int64) - 48) * scale
        scale *= 10
    if numbers.min() < low or numbers.max() > high:
        return None
    in_number[spaces] = True  # the words' bytes and their newlines: one word a line
    try:
        words = text[~in_number].tobytes().decode("utf-8").split("\n")[:-1]
    except UnicodeDecodeError:
        return None
    return (words, numbers) if all_distinct(words) else None  # a word listed twice: the line loop names it


def all_distinct(words: Sequence[str]) -> bool:
    """Whether no word repeats. The words' hashes are sorted and compared (NumPy), which is faster
    than filling a set with the words; only when two hashes are equal does a set decide. The hashes
    stay cached in the strings, so a dict of them built later is faster too."""
    hashes = np.fromiter(map(hash, words), dtype=np.int64, count=len(words))
    hashes.sort()
    if not (hashes[1:] == hashes[:-1]).any():
        return True
    return len(set(words)) == len(words)
