"""Word-vector files: word2vec text and binary, and our native format.

Formats
-------
* **word2vec text** (``.txt``, ``.vec``): a header ``V D``, then V lines
  ``word v1 ... vD``. Read without the header too (GloVe's files, gensim's
  ``write_header=False``): a first line that is a row, not ``V D``, is the first row.
* **word2vec binary** (``.bin``): the header line ``V D\\n``, then for each word
  ``word``, a space, D little-endian float32 and a newline — byte for byte what
  word2vec.c's ``-binary 1`` writes. The reader also accepts gensim's variant
  without the newline.
* **model** (``.w2vm``, read only here): a whole model (:mod:`w2v.modelfile`); its
  input vectors are read, memory-mapped.
* **compressed** word2vec text or binary (``.txt.gz``, ``.vec.gz``, ``.bin.gz``, and ``.bz2``, ``.xz``,
  ``.zst``: :mod:`w2v.compression`), as GoogleNews-vectors-negative300.bin.gz and fastText's
  ``.vec.gz`` files are downloaded: read and written as a stream, the format decided by the name
  without the compressed extension (or by the content, as for any file). Not a native or model
  file, which are read memory-mapped, as they lie.
* **native** (``.npz``): a NumPy zip of plain arrays — ``vectors`` float32[V, D],
  ``counts`` int64[V], ``words`` (UTF-8 bytes of the words joined by newlines),
  ``norms`` float64[V] (each row's length, so that a memory-mapped file answers
  a query without first reading every row; optional) and ``meta`` (UTF-8 JSON
  object: training configuration). Read member by
  member with every header checked (no object arrays: no file we read can
  run code), and never with pickle.

Words follow :mod:`w2v.words` (no ASCII white space, at most
``MAX_WORD_BYTES`` bytes, valid UTF-8); the writers refuse anything else, and
non-finite values, before they create a file, so every file written here is
read back by :func:`read_vectors`. Writes go through :func:`w2v.files.open_output`
(atomic, never over a special or protected file). Text is written a block of
rows at a time, so memory stays bounded whatever the matrix size; each number as
Python's ``%.9g`` writes it (9 significant digits: read back as the same float32),
by a compiled formatter when training's kernels are already loaded
(:func:`_compiled_rows`), else by Python, to the same bytes; binary entries likewise.

Files of the peers that hold no word vectors w2v reads are named as what they are, with the file
to give instead: fastText's ``.bin`` models, gensim's pickled ``.model``/``.kv`` (never unpickled)
and the folders Spark saves a Word2VecModel in (:func:`is_spark_word2vec`).

Every reader error is a ``ValueError`` naming the file and the line or byte
offset (a cut or damaged compressed file: an ``OSError``). A header is checked
against the file's size before anything is allocated (a compressed file's size
is not known before it is read: its rows are written as they are read, so a
header that promises too many only reserves memory that is never touched, and
the file then ends early, which is the error). Repeated words are kept once (the
first, as gensim does), and the number dropped is reported in
:attr:`VectorFile.repeated`.

This module never imports Numba (it uses a kernel only where Numba is already loaded).

Example::

    >>> from w2v.formats import write_vectors, read_vectors
    >>> import numpy as np
    >>> write_vectors("/tmp/v.bin", ["a", "b"], np.eye(2, dtype=np.float32))
    >>> read_vectors("/tmp/v.bin").words
    ['a', 'b']
"""
from __future__ import annotations

import codecs
import contextlib
import json
import os
import sys
import zipfile
from array import array
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import compression
from .files import STDOUT_NAMES, open_output
from .binaryblock import find_entries, find_spaces
from .modelfile import MAGIC as MODEL_MAGIC, read_model_file
from .textblock import PAD, Rows, parse_rows
from .words import BOM, MAX_WORD_BYTES, SEPARATORS, all_distinct, word_problem

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = ["FORMATS", "VectorFile", "format_for_path", "read_vectors", "write_vectors", "detect_format",
           "check_words", "estimated_size"]

#: Format names, and the extensions that select them.
FORMATS = ("binary", "text", "native")
_EXTENSIONS = {".bin": "binary", ".txt": "text", ".vec": "text", ".npz": "native"}
_NATIVE_VERSION = 1
_TEXT_BLOCK_ROWS = 1024  # rows formatted at a time when writing text
_COMPILED_TEXT_MIN = 1 << 20  # numbers, at least, for the compiled text formatter
# rows, at least, for the compiled binary writer: below, loading the kernel and its buffer would cost a run more
# memory than Python's loop costs it time (benchmarks/README.md, "Vocabularies of millions of words")
_COMPILED_BINARY_ROWS = 1 << 18
_BINARY_WRITE_BYTES = 1 << 20  # binary entries made at a time by the compiled writer
#: The first bytes of a fastText model file (its magic number, 793712314, as little-endian int32).
FASTTEXT_MAGIC = b"\xba\x16\x4f\x2f"
_MOVE_ROWS = 1 << 14  # rows moved at a time when rows are left out of a matrix read (:func:`_without_rows`)
_TEXT_READ_BYTES = 1 << 20  # text read and parsed at a time (~90,000 numbers; benchmarks/results/text-reader-in-place.md)
_TEXT_THREADS = 4  # at most, parsing text blocks (each holds ~10 blocks' worth of temporaries)
_BINARY_READ_BYTES = 1 << 22  # binary read at a time (at least four entries of the longest kind)
_BINARY_BUFFERS = 4  # blocks read ahead, walked and copied at a time


@dataclass
class VectorFile:
    """What a vectors file holds: words, float32[V, D] vectors, optional counts and metadata.

    ``repeated``: entries dropped because their word came earlier in the file. ``not_utf8``: entries whose
    word was not valid UTF-8, decoded with the reader's ``unicode_errors`` (0 with ``"strict"``, which refuses
    them). ``spaced``: rows of a text file without a header (GloVe's) left out because their word holds
    spaces (``. . .`` in glove.840B.300d.txt): a word holds no white space (:mod:`w2v.words`); a ``limit`` counts
    them among its rows.
    """
    words: List[str]
    vectors: np.ndarray
    counts: Optional[np.ndarray] = None
    meta: Dict[str, Any] = field(default_factory=dict)
    repeated: int = 0
    not_utf8: int = 0
    spaced: int = 0
    norms: Optional[np.ndarray] = None  # float64[V] row lengths: stored in native files, found as word2vec files are read


# -- writing --------------------------------------------------------------------------
def format_for_path(path: str, fmt: Optional[str] = None) -> str:
    """The format named by ``fmt``, or else by the extension of ``path`` before any compressed one
    (``vectors.bin.gz``: binary; standard output and /dev/null: text). A compressed native file is
    refused: it could no longer be memory-mapped."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    elif path in STDOUT_NAMES or path == os.devnull:
        return "text"
    else:
        ext = os.path.splitext(compression.without_compression(path))[1].lower()
        if ext not in _EXTENSIONS:
            raise ValueError(f"{path}: cannot tell the format from the extension {ext or '(none)'}; use .bin, .txt, "
                             f".vec or .npz (word2vec files may end in .gz, .bz2, .xz or .zst too), or name the format")
        fmt = _EXTENSIONS[ext]
    if fmt == "native" and compression.compression_of(path):
        raise ValueError(f"{path}: a native file is not compressed again (it is a zip already, and a query maps "
                         f"it as it lies); write {compression.without_compression(path)}")
    compression.check_can_write(path)
    return fmt


def check_words(words: Sequence[str]) -> None:
    """Raise ``ValueError`` naming the first word that is not a word (:mod:`w2v.words`) or repeats.

    The usual case, every word fine, is decided on all the words at once (one join, one encoding, a set),
    which takes a few milliseconds for a vocabulary of 100,000 words instead of a tenth of a second;
    only when that finds a problem are the words gone through one by one to name the first."""
    if _all_fine(words):
        return
    seen = set()
    for i, w in enumerate(words):
        problem = word_problem(w)
        if problem is not None:
            shown = repr(w[:40]) + ("..." if len(w) > 40 else "") if isinstance(w, str) else repr(w)[:40]
            raise ValueError(f"cannot write the word {shown} (entry {i + 1}): it {problem}")
        if w in seen:
            raise ValueError(f"cannot write the word {w[:40]!r} (entry {i + 1}): it is listed twice")
        seen.add(w)


def _all_fine(words: Sequence[str]) -> bool:
    """Whether every word is a word and none repeats (:func:`check_words`'s fast path; False: look closer)."""
    if not all(words):
        return False
    try:
        blob = "\n".join(words).encode("utf-8")
    except (TypeError, UnicodeEncodeError):  # not a string; a lone surrogate
        return False
    longest = max(map(len, words), default=0)
    if blob.count(b"\n") != len(words) - 1 or any(bytes([b]) in blob for b in SEPARATORS if b != 10):
        return False
    if 4 * longest > MAX_WORD_BYTES and max(len(w.encode("utf-8")) for w in words) > MAX_WORD_BYTES:
        return False
    return all_distinct(words)



def _first_non_finite(vectors: np.ndarray, block: int = 1 << 16) -> Optional[int]:
    """The first row holding a NaN or an infinity, or None; checked a block of rows at a time."""
    for start in range(0, len(vectors), block):
        ok = np.isfinite(vectors[start:start + block]).all(axis=1)
        if not ok.all():
            return start + int(np.argmin(ok))
    return None


def estimated_size(fmt: str, n_words: int, dim: int, word_bytes: int) -> int:
    """About how many bytes a vectors file of this shape takes (for the free-space check)."""
    per_row = {"binary": 4 * dim + 2, "native": 4 * dim + 9, "text": 13 * dim + 1}[fmt]
    return n_words * per_row + word_bytes + 64 + (1024 if fmt == "native" else 0)


def write_vectors(path: str, words: Sequence[str], vectors: np.ndarray, fmt: Optional[str] = None,
                  counts: Optional[np.ndarray] = None, meta: Optional[Dict[str, Any]] = None,
                  force: bool = False, progress: bool = False, threads: Optional[int] = None) -> None:
    """Write ``vectors`` (float32[V, D]) for ``words`` in ``fmt`` (or the extension's format), atomically.

    Words and values are checked before the file is created (see the module
    docstring); ``force`` replaces a read-only file (keeping its permissions).
    ``progress``: a bar of rows on standard error while text is written, the one slow format
    (Python formats ~5M numbers a second: a minute for 1M × 300).
    ``threads``: where the compiled writers are used (:func:`_compiled_rows`), the blocks of rows are
    made on this many threads (None: every CPU this process may use) while the file is written in
    order; the same bytes on any number.
    """
    fmt = format_for_path(path, fmt)
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    vectors = np.asarray(vectors)  # rows are written one block at a time: a strided view needs no copy
    if vectors.dtype != np.float32:
        vectors = vectors.astype(np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise ValueError(f"vectors of shape {vectors.shape} do not match {len(words)} words")
    if vectors.shape[1] < 1:
        raise ValueError("vectors must have at least one dimension")
    check_words(words)
    bad = _first_non_finite(vectors)
    if bad is not None:
        raise ValueError(f"cannot write the vector of {words[bad][:40]!r} (entry {bad + 1}): it is not finite")
    if counts is not None:
        counts = np.asarray(counts)
        if counts.shape != (len(words),) or counts.dtype.kind not in "iu" or (counts < 0).any():
            raise ValueError(f"counts must be {len(words)} non-negative integers")
    meta = dict(meta or {})
    meta_bytes = json.dumps(meta, sort_keys=True, allow_nan=False).encode("utf-8")
    with open_output(path, "wb", force=force, compress=True) as f:
        if fmt == "native":
            _write_native(f, words, vectors, counts, meta_bytes)
        elif fmt == "binary":
            _write_binary(f, words, vectors, threads)
        else:
            from .progress import ProgressBar  # here, not above: loading vectors never imports tqdm
            with ProgressBar(total=len(words), unit="row", unit_scale=True, desc="writing", leave=False,
                             disable=not progress) as bar:
                _write_text(f, words, vectors, bar, threads)


def _blocks_in_order(make: Callable, starts: range, threads: Optional[int]):
    """``make(start)`` for every start, in order, made on ``threads`` threads (None: every CPU) while the
    caller writes the ones before (:func:`w2v.scan._in_order`: a few blocks in flight, so memory stays
    bounded). Only the compiled writers come here: their kernels run without the GIL."""
    from .options import default_threads
    from .scan import _in_order  # here: a query never loads the counting code
    return _in_order(make, iter(starts), threads or default_threads())


def _write_binary(f, words, vectors, threads: Optional[int] = None) -> None:
    """The header, then per row its word, a space, its float32 little-endian bytes and a newline. Where the
    training kernels are loaded (:func:`_compiled_rows`) a block of rows at a time by
    :func:`w2v.kernels.binary_rows` (benchmarks/README.md, "Vocabularies of millions of words"), made on
    ``threads`` threads beside the writing (:func:`_blocks_in_order`), else a row at a time; the same
    bytes either way."""
    f.write(f"{len(words)} {vectors.shape[1]}\n".encode())
    compiled = _compiled_rows(vectors, "binary_rows")
    if compiled is None:
        little = vectors.astype("<f4", copy=False)
        for w, row in zip(words, little):
            f.write(w.encode("utf-8") + b" " + row.tobytes() + b"\n")
        return
    step = max(1, _BINARY_WRITE_BYTES // (4 * vectors.shape[1] + 2))

    def entries(start: int) -> memoryview:
        block = vectors[start:start + step]
        if block.dtype == np.dtype("<f4") and block.strides[1] == 4:  # rows read in place, padded or not
            rows = block.view(np.uint8)
        else:
            rows = np.ascontiguousarray(block, dtype="<f4").view(np.uint8).reshape(len(block), -1)
        word_bytes, word_ends = _joined_words(words[start:start + len(block)])
        out = np.empty(rows.shape[0] * (rows.shape[1] + 2) + len(word_bytes), dtype=np.uint8)
        return memoryview(out)[:compiled(rows, word_bytes, word_ends, out)]

    for made in _blocks_in_order(entries, range(0, len(words), step), threads):
        f.write(made)


def _joined_words(words: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
    """``(bytes uint8, ends int64)``: the words' UTF-8 bytes one after another and where each ends."""
    joined = np.frombuffer(("\n".join(words) + "\n").encode("utf-8"), dtype=np.uint8)
    newlines = np.flatnonzero(joined == 10)  # words hold no newline (check_words)
    return joined[joined != 10], newlines - np.arange(len(words))


def _write_text(f, words, vectors, bar, threads: Optional[int] = None) -> None:
    """The header, then a line per row: its word and its numbers as ``%.9g``, a block of
    :data:`_TEXT_BLOCK_ROWS` rows at a time, by the compiled formatter on ``threads`` threads beside the
    writing where it is loaded (:func:`_compiled_rows`, :func:`_blocks_in_order`), else by Python."""
    f.write(f"{len(words)} {vectors.shape[1]}\n".encode())
    # 9 significant digits read back as the same float32 (word2vec.c's %lf keeps 6 decimals)
    row_format = " ".join(["%.9g"] * vectors.shape[1])
    compiled = _compiled_rows(vectors, "format_text_rows")
    starts = range(0, len(words), _TEXT_BLOCK_ROWS)
    if compiled is not None:
        for start, text in zip(starts, _blocks_in_order(
                lambda start: _text_block_compiled(compiled, vectors[start:start + _TEXT_BLOCK_ROWS],
                                                   words[start:start + _TEXT_BLOCK_ROWS], row_format),
                starts, threads)):
            f.write(text)
            bar.update(min(_TEXT_BLOCK_ROWS, len(words) - start))
        return
    for start in starts:
        block = vectors[start:start + _TEXT_BLOCK_ROWS]
        rows = block.tolist()  # Python floats for one block only
        lines = [w + " " + row_format % tuple(row) + "\n" for w, row in zip(words[start:start + len(block)], rows)]
        f.write("".join(lines).encode("utf-8"))
        bar.update(len(block))


def _compiled_rows(vectors: np.ndarray, name: str) -> Optional[Callable]:
    """The kernel ``name`` of :mod:`w2v.kernels` (``format_text_rows``, ``binary_rows``) when training's
    kernels are already loaded in this process (``w2v train``) and cached on disk, and the matrix is large
    enough for loading it from the cache to pay (:data:`_COMPILED_TEXT_MIN` numbers, :data:`_COMPILED_BINARY_ROWS`
    rows; benchmarks/README.md, "Vectors at scale", "Vocabularies of millions of words"); else None.
    This module never imports Numba: vectors written anywhere else are written by Python, to the same
    bytes."""
    kernels = sys.modules.get("w2v.kernels")
    large = len(vectors) >= _COMPILED_BINARY_ROWS if name == "binary_rows" else vectors.size >= _COMPILED_TEXT_MIN
    if kernels is None or not kernels.CACHED or not large:
        return None
    return getattr(kernels, name)


def _text_block_compiled(format_text_rows: Callable, block: np.ndarray, words: Sequence[str],
                         row_format: str):
    """The text of a block of rows (bytes-like) by the compiled ``format_text_rows``; a row it leaves to
    Python (a rare number whose rounding the kernel cannot be sure of) by ``row_format``."""
    block = np.ascontiguousarray(block)
    word_bytes, word_ends = _joined_words(words)
    out = np.empty(16 * block.size + len(word_bytes) + 2 * len(words), dtype=np.uint8)
    ends = np.empty(len(block), dtype=np.int64)
    in_python = np.zeros(len(block), dtype=np.bool_)
    n = format_text_rows(block, word_bytes, word_ends, out, ends, in_python)
    if not in_python.any():
        return out[:n]
    parts, begin = [], 0
    for i, (end, python) in enumerate(zip(ends.tolist(), in_python.tolist())):
        if python:
            parts.append((words[i] + " " + row_format % tuple(block[i].tolist()) + "\n").encode("utf-8"))
        else:
            parts.append(out[begin:end].tobytes())
        begin = end
    return b"".join(parts)


def _write_native(f, words, vectors, counts, meta_bytes) -> None:
    arrays = {
        "format": np.frombuffer(b"w2v-native", dtype=np.uint8),
        "version": np.array([_NATIVE_VERSION], dtype=np.int64),
        "vectors": vectors,
        "words": np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8),
        "meta": np.frombuffer(meta_bytes, dtype=np.uint8),
    }
    if counts is not None:
        arrays["counts"] = np.asarray(counts, dtype=np.int64)
    arrays["norms"] = row_norms(vectors)  # so that a memory-mapped file answers without reading every row
    np.savez(f, **arrays)


def row_norms(matrix: np.ndarray, block: int = 1 << 14) -> np.ndarray:
    """float64[V]: the length of every row, a block of rows at a time (a memory-mapped matrix is read
    through once), summed in float64 (no overflow). ``einsum`` casts to float64 in small buffers of its
    own: a float64 copy of each block, 39 MB for 16,384 rows of 300, was mapped and faulted in afresh
    every block (larger than glibc's reuse threshold) and made this 3.7x slower."""
    norms = np.empty(len(matrix), dtype=np.float64)
    for start in range(0, len(matrix), block):
        _lengths_into(matrix[start:start + block], norms[start:start + block])
    return norms


def _lengths_into(rows: np.ndarray, out: np.ndarray) -> bool:
    """out float64[K] = the lengths of rows float32[K, D], summed in float64 (releases the GIL); returns
    whether they are all finite. A row's length (a float64 sum of float32 squares, which cannot
    overflow) is finite exactly when the row is, so this is also the rows' finite check."""
    np.einsum("ij,ij->i", rows, rows, dtype=np.float64, casting="safe", out=out)
    np.sqrt(out, out=out)
    return bool(np.isfinite(out).all())


# -- reading --------------------------------------------------------------------------
def _looks_like_text_row(line: bytes, dim: int) -> bool:
    parts = line.rstrip(b"\r\n").split(b" ")
    while parts and parts[-1] == b"":
        parts.pop()
    if len(parts) != dim + 1:
        return False
    try:
        [float(x) for x in parts[1:]]
    except ValueError:
        return False
    return True


def detect_format(path: str) -> str:
    """The format of a vectors file, from its content (a compressed file's, decompressed): zip is
    native; a header whose first row parses as a word and D numbers is text; anything else binary."""
    try:
        with _opened(path) as (f, _):
            header = f.readline(200)
            if header[:1] == b"\x80" and header[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
                raise ValueError(f"{path}: a Python pickle (gensim's .model or .kv), which w2v never reads (loading "
                                 f"one can run any code); gensim writes its vectors with model.wv.save_word2vec_format("
                                 f"'vectors.bin', binary=True) (kv.save_word2vec_format for a .kv)")
            if header.startswith(FASTTEXT_MAGIC):
                raise ValueError(f"{path}: a fastText model, not a vectors file; fastText writes its vectors as text "
                                 f"too (the .vec file beside the .bin), which w2v reads")
            if header.startswith(b"PK\x03\x04") or header.startswith(MODEL_MAGIC):
                if compression.compression_of(path):
                    raise ValueError(f"{path}: holds a compressed native or model file, which w2v reads as it "
                                     f"lies (memory-mapped); decompress it first")
                return "native" if header.startswith(b"PK") else "model"
            parts = header.split()
            if len(parts) != 2 or not all(p.isdigit() for p in parts) or not header.endswith(b"\n"):
                return "text"  # the reader names what is wrong with the header
            dim = int(parts[1])
            first = f.readline(MAX_WORD_BYTES + 64 * max(dim, 1) + 2)
    except compression.READ_ERRORS as error:
        raise compression.read_error(path, error) from None
    if not first:
        return "text"
    return "text" if _looks_like_text_row(first, dim) else "binary"


@contextlib.contextmanager
def _opened(path: str):
    """``(stream, size)``: the file opened for reading in binary, and its size; a compressed file
    (:mod:`w2v.compression`) as the stream of what it holds, and None; a .zip archive of one file
    (:func:`_zip_member`) as that file, and its size."""
    member = _zip_member(path)
    if member is not None:
        try:
            with zipfile.ZipFile(path) as archive, archive.open(member) as f:
                yield f, member.file_size
        except (zipfile.BadZipFile, NotImplementedError) as error:
            raise ValueError(f"{path}: a damaged zip archive ({error})") from None
        return
    with compression.open_read(path) as f:
        yield f, None if compression.compression_of(path) else os.fstat(f.fileno()).st_size


def _zip_member(path: str) -> Optional[zipfile.ZipInfo]:
    """The file a .zip archive holds, when the archive is not a NumPy one (a native file) and holds one file:
    fastText's wiki-news-300d-1M.vec.zip and crawl-300d-2M.vec.zip are read as they are downloaded. None for
    any other file; an archive of several files (GloVe's glove.6B.zip) is a ``ValueError`` naming them."""
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"PK\x03\x04":
                return None
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (OSError, zipfile.BadZipFile):
        return None  # (the reader says what is wrong)
    if any(info.filename.endswith(".npy") for info in infos):
        return None
    files = [info for info in infos if not info.is_dir() and not info.filename.startswith("__MACOSX/")]
    if len(files) == 1:
        return files[0]
    names = ", ".join(info.filename for info in files[:4]) + (", ..." if len(files) > 4 else "")
    raise ValueError(f"{path}: a zip archive of {len(files)} files ({names}); unzip the one to read "
                     f"(unzip {os.path.basename(path)} FILE)")


def read_vectors(path: str, fmt: Optional[str] = None, limit: Optional[int] = None,
                 unicode_errors: str = "strict", mmap: bool = False) -> VectorFile:
    """Read a vectors file; ``fmt`` None detects it. ``limit`` keeps the first N entries. ``mmap``:
    a native or model file's matrix is memory-mapped read-only, not read (word2vec files are read).
    ``unicode_errors``: how a word2vec file's word that is not valid UTF-8 is read, as ``bytes.decode``'s
    ``errors``: ``"strict"`` refuses it, ``"replace"`` reads each bad sequence as U+FFFD (as training reads
    such a token), ``"ignore"`` drops it; the entries so read are counted in
    :attr:`VectorFile.not_utf8`. word2vec.c writes such words: it keeps a corpus's bytes as they are
    and shortens a word longer than 99 bytes byte by byte, splitting a character where it falls
    (gensim's ``unicode_errors`` is for the same files). Native and model files hold only valid UTF-8.

    Raises ``OSError`` if the file cannot be opened and ``ValueError`` (naming the
    file and the line or byte offset) if it is not a well-formed vectors file.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    try:
        codecs.lookup_error(unicode_errors)
    except (LookupError, TypeError):
        raise ValueError(f"unicode_errors {unicode_errors!r} is not an error handler of bytes.decode; "
                         f"use 'strict', 'replace' or 'ignore'") from None
    if os.path.isdir(path):
        if is_spark_word2vec(path):
            raise ValueError(f"{path}: {SPARK_MODEL}")
        raise OSError(f"{path}: is a folder, not a vectors file")
    if fmt is None:
        fmt = detect_format(path)
    elif fmt not in FORMATS + ("model",):
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS + ('model',))}")
    elif fmt in ("native", "model") and compression.compression_of(path):
        raise ValueError(f"{path}: a compressed {fmt} file cannot be read as it lies (memory-mapped); "
                         f"decompress it first")
    try:
        if fmt == "model":
            data = _read_model(path, limit, mmap)
        elif fmt == "native":
            data = _read_native(path, limit, mmap)
        else:
            with _opened(path) as (f, size):
                decoder = _WordDecoder(path, unicode_errors)
                if fmt == "binary":
                    data = _read_binary(path, f, size, limit, decoder)
                else:
                    data = _read_text(path, f, size, limit, decoder)
                data.not_utf8 = decoder.not_utf8
    except compression.READ_ERRORS as error:
        raise compression.read_error(path, error) from None
    except MemoryError:
        raise ValueError(f"{path}: not enough memory to load it (use a limit to read the first words)") from None
    if _all_fine(data.words):  # the usual case, decided on all the words at once (as check_words does)
        return data
    _refuse_bad_words(path, data.words)
    return _drop_repeats(data)


def _parse_header(path: str, line: bytes, size: Optional[int], min_row_bytes, limit: Optional[int]):
    """(count, dim) from a header line, checked against the file's ``size`` (None: not known, a
    compressed file) before anything is allocated.

    ``min_row_bytes(dim)``: the fewest bytes one entry can take.
    """
    parts = line.split()
    try:
        if len(parts) != 2:
            raise ValueError
        count, dim = int(parts[0]), int(parts[1])
    except ValueError:
        shown = line[:60].decode("utf-8", "replace").strip()
        raise ValueError(f"{path}, line 1: expected a header 'VOCAB_SIZE DIMENSION', got {shown!r}; "
                         f"is this a word2vec file?") from None
    if count < 0 or dim < 1:
        raise ValueError(f"{path}, line 1: bad header: {count} words of dimension {dim}")
    n = count if limit is None else min(limit, count)
    needed = n * min_row_bytes(dim)
    if size is not None and needed > size:
        raise ValueError(f"{path}, line 1: the header promises {count:,} words of dimension {dim:,}, "
                         f"which needs at least {needed:,} bytes, but the file has {size:,}: "
                         f"a damaged header, or not a word2vec file")
    return count, dim


class _WordDecoder:
    """A word2vec file's words as UTF-8: a word that is not valid UTF-8 is refused (``errors`` ``"strict"``:
    ``ValueError`` naming the file and where the word is) or decoded with ``errors`` and counted
    (``not_utf8``)."""

    def __init__(self, path: str, errors: str):
        self.path, self.errors, self.not_utf8 = path, errors, 0

    def word(self, raw: bytes, where: str) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            if self.errors == "strict":
                raise ValueError(f"{self.path}, {where}: the word {bytes(raw[:40])!r} is not valid UTF-8 (to read "
                                 f"such words, as word2vec.c can write them, decode with unicode_errors='replace')"
                                 ) from None
        self.not_utf8 += 1
        return raw.decode("utf-8", self.errors)

    def words(self, raws: List[bytes], where: Callable[[int], str]) -> List[str]:
        """The words' bytes decoded as UTF-8 in one call (joined by newlines, which no UTF-8 sequence
        contains, so each word decodes as it would alone); word by word (:meth:`word`, at ``where(i)``, e.g.
        its line) only when the one call fails, or to keep a word that holds a newline whole (the word
        checks refuse it then)."""
        try:
            words = b"\n".join(raws).decode("utf-8").split("\n")
            if len(words) == len(raws):
                return words
        except UnicodeDecodeError:
            pass
        return [self.word(raw, where(i)) for i, raw in enumerate(raws)]


def _parse_row(path: str, lineno: int, numbers: List[bytes], out: np.ndarray) -> None:
    try:
        values = [float(x) for x in numbers]
    except ValueError:
        bad = next(x for x in numbers if not is_number(x))
        raise ValueError(f"{path}, line {lineno}: {bad[:30]!r} is not a number") from None
    with np.errstate(over="ignore", invalid="ignore"):
        out[:] = values  # rounded to float32: what float32 cannot hold becomes inf
    finite = np.isfinite(out)
    if not finite.all():
        x = numbers[int(np.argmin(finite))]
        raise ValueError(f"{path}, line {lineno}: {x[:30].decode('ascii', 'replace')!r} is not a finite "
                         f"float32 number")


#: What a folder Spark saved a Word2VecModel in is, and what to give w2v instead (:func:`is_spark_word2vec`).
SPARK_MODEL = ("a Spark Word2VecModel (Parquet), not a vectors file; write its vectors as text lines 'word v1 ... vD' "
               "(model.getVectors(), no header needed) and give that file")


def is_spark_word2vec(folder: str) -> bool:
    """Whether ``folder`` is a model Spark saved (``Word2VecModel.save``: ``metadata/part-*``, a JSON line naming
    its class, and the vectors in Parquet under ``data/``)."""
    metadata = os.path.join(folder, "metadata")
    try:
        for name in sorted(os.listdir(metadata)):
            if name.startswith("part-"):
                with open(os.path.join(metadata, name), "rb") as f:
                    return b"feature.Word2VecModel" in f.read(4096)
    except OSError:
        pass
    return False


def _headerless_dim(line: bytes) -> Optional[int]:
    """D when a text file's first line is not a header ``V D`` but a row ``word v1 ... vD`` (GloVe's files,
    which have no header; the layout gensim reads with ``no_header=True``); else None (then the header's
    message names the line: a file that is not vectors at all, a corpus given by mistake, is rarely taken
    for one without a header, as its first line would have to be a word and numbers only)."""
    parts = line.split()
    if len(parts) < 2 or (len(parts) == 2 and all(p.isdigit() for p in parts)):
        return None
    return len(parts) - 1 if _looks_like_text_row(line, len(parts) - 1) else None


class _Prefixed:
    """A binary stream that reads ``prefix`` first, then the rest of ``f`` (what :meth:`readinto` reads)."""

    def __init__(self, prefix: bytes, f):
        self.prefix, self.f = prefix, f

    def readinto(self, view) -> int:
        if not self.prefix:
            return self.f.readinto(view)
        n = min(len(view), len(self.prefix))
        view[:n] = self.prefix[:n]
        self.prefix = self.prefix[n:]
        return n


def _count_rows(path: str, limit: Optional[int]) -> int:
    """The rows of a text file without a header: its lines up to the last one holding anything but white
    space (blank lines at the end are no rows), counted in a pass of their own over the file (a
    compressed one decompressed again); ``limit`` once there are that many, where reading stops (so the
    first rows of a cut compressed file are read as those of a whole one)."""
    newlines = after_text = 0  # every newline read; those after the last byte that is not white space
    text = False
    with _opened(path) as (f, _):
        for block in iter(lambda: f.read(_TEXT_READ_BYTES), b""):
            in_block = block.count(b"\n")
            newlines += in_block
            end = len(block.rstrip())
            if end:
                text, after_text = True, block.count(b"\n", end)
            else:
                after_text += in_block
            if limit is not None and newlines - after_text >= limit:
                return limit
    return newlines - after_text + 1 if text else 0


def _read_text(path, f, size, limit, decoder: _WordDecoder) -> VectorFile:
    """word2vec text: a header line, then a row ``word v1 ... vD`` per word; or, without the header,
    GloVe's files: the rows alone (the first line is a row, not ``V D``), which are first counted in a
    pass of their own (:func:`_count_rows`), the first line then read again before the rest. The rows:
    :func:`_read_text_rows`."""
    line = f.readline()
    if line.startswith(BOM):  # (a Windows editor's byte order mark)
        line = line[len(BOM):]
    dim = _headerless_dim(line)
    if dim is None:
        count, dim = _parse_header(path, line, size, lambda d: 2 * d + 1, limit)
        return _read_text_rows(path, f, limit, decoder, count, dim, 2, "in its header")
    try:
        return _read_text_rows(path, _Prefixed(line, f), limit, decoder, _count_rows(path, limit), dim, 1,
                               "it had when counted")
    except ValueError as error:  # (if this is not such a file, its header would be what is wrong)
        raise ValueError(f"{error} (read as text without a header line, as GloVe's files are, since line 1 is a "
                         f"word and {dim} numbers)") from None


def _read_text_rows(path, f, limit, decoder: _WordDecoder, count: int, dim: int, first_line: int,
                    counted: str) -> VectorFile:
    """The ``count`` rows of ``dim`` numbers of a text file (their first row on line ``first_line``; ``counted``
    says where the count comes from, for the messages); a file without a header (``first_line`` 1) leaves out
    the rows whose word holds spaces (:func:`_text_rows`).

    A :class:`w2v.readahead.ReadAhead` reads the file ``_TEXT_READ_BYTES`` at a time into a ring of
    buffers and counts each block's newlines as it reads (:func:`_text_blocks`); each block of whole
    rows is parsed in place, into its rows of the matrix, by a pool of threads
    (:func:`_parse_text_block`: array operations, which run without the GIL), and finished here in
    file order (:func:`_text_rows`), so the first problem in the file is the one reported. The rows'
    lengths are computed as each block's rows are written (returned as ``norms``, which a query needs
    first). A buffer is read into again once its block is finished."""
    # imported here: reading any other format (a query's native file) never pays for them
    from concurrent.futures import ThreadPoolExecutor
    from .options import default_threads
    from .readahead import ReadAhead

    n = count if limit is None else min(limit, count)
    vectors = np.empty((n, dim), dtype=np.float32)
    norms = np.empty(n, dtype=np.float64)
    words: List[str] = []
    workers = min(_TEXT_THREADS, default_threads())
    _keep_freed_blocks()
    # buffers: a block being parsed by each worker, one more handed to the pool, one being cut, one read ahead
    with ReadAhead(f, _TEXT_READ_BYTES, _TEXT_READ_BYTES, workers + 3, then=_newlines) as ahead, \
            ThreadPoolExecutor(workers, thread_name_prefix="w2v-text") as pool:
        parsing: Deque = deque()  # blocks handed to the pool, in file order

        def finish_oldest():
            block, parsed = parsing.popleft()
            words.extend(_text_rows(path, block, parsed, dim, vectors, norms, decoder, first_line, first_line == 1))
            if block.buffer is not None:
                ahead.give_back(block.buffer)

        blocks = _text_blocks(path, ahead, n, count, first_line, counted)
        stop = None
        while True:
            try:
                block = next(blocks)
            except StopIteration as done:
                rest = done.value
                break
            except ValueError as error:  # the file ends early: reported after any problem in the rows before
                stop = error
                break
            parsing.append((block, pool.submit(_parse_text_block, block, dim, vectors, norms)))
            if len(parsing) > workers:
                finish_oldest()
        while parsing:
            finish_oldest()
        if stop is not None:
            raise stop
        if limit is None:
            while b"\n" not in rest and not rest.strip():  # the rest of the last row's line, if any
                more = ahead.next_bytes()
                if not more:
                    break
                rest += more
            if rest.split(b"\n", 1)[0].strip():
                raise ValueError(f"{path}, line {count + first_line}: more lines than the {count} words {counted}")
    spaced = words.count(None)
    if spaced:
        words, vectors, norms = _without_rows(words, vectors, norms)
    return VectorFile(words, vectors, norms=norms, spaced=spaced)


def _without_rows(words: List[Optional[str]], vectors: np.ndarray, norms: np.ndarray):
    """The rows whose word is None left out: the rows after each moved up in place, a block at a time (the
    matrix is not copied whole); ``(words, vectors, norms)``, the arrays views of the first rows."""
    kept = [i for i, w in enumerate(words) if w is not None]
    at = 0  # where the next kept row goes
    for start, end in _runs(kept):
        for block in range(start, end, _MOVE_ROWS):  # (dst < src: a block's source is read before it is written)
            stop = min(block + _MOVE_ROWS, end)
            vectors[at:at + stop - block] = vectors[block:stop]
            norms[at:at + stop - block] = norms[block:stop]
            at += stop - block
    return [words[i] for i in kept], vectors[:at], norms[:at]


def _runs(rows: List[int]) -> List[Tuple[int, int]]:
    """``(start, end)`` of each run of consecutive numbers in ``rows`` (ascending)."""
    runs: List[Tuple[int, int]] = []
    for i in rows:
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


def _keep_freed_blocks() -> None:
    """Allocate and free 31 MB (untouched, so nothing is written). glibc's malloc takes a freed mapped
    block's size as its new threshold (up to 32 MB): blocks up to it then come from its heap, and up
    to twice that stays free for reuse. Without this, the parse's temporaries (0.1-1 MB each) are
    mapped and unmapped block after block, each time faulting in every page again: a 731 MB text
    file took 5.1 s to read in a fresh process against 3.6 s with it. (The binary reader got slower
    with it: not used there.) Elsewhere it is an allocation and a free."""
    np.empty(31 << 20, dtype=np.uint8)


class _TextBlock(NamedTuple):
    """Whole rows of a text file: ``data[start + PAD:end]``, each row ending with a newline, the first
    of them row ``first`` (0-based); ``PAD`` bytes of any value come first (:mod:`w2v.textblock`'s
    windows). ``buffer``: the :class:`w2v.readahead.ReadAhead` buffer ``data`` is, to give back once the
    block is finished (``None``: ``data`` is a bytes object of its own)."""
    data: Union[bytes, bytearray]
    start: int
    end: int
    first: int
    buffer: Optional[int]


def _newlines(buf: bytearray, start: int, got: int) -> Tuple[int, int]:
    """In the reading thread: how many newlines ``buf[start:start + got]`` holds, and where the last
    one is (-1 if none)."""
    is_newline = np.frombuffer(buf, np.uint8, got, start) == 10
    lines = int(np.count_nonzero(is_newline))
    if not lines:
        return 0, -1
    tail = max(got - (1 << 16), 0)  # the last newline is usually within a row's length of the end
    where = np.flatnonzero(is_newline[tail:])
    if not len(where):
        tail, where = 0, np.flatnonzero(is_newline)
    return lines, start + tail + int(where[-1])


def _text_blocks(path, ahead, n: int, count: int, first_line: int, counted: str):
    """Yield :class:`_TextBlock` s of ``n`` rows in all, read by ``ahead`` (its ``then`` :func:`_newlines`).
    Returns what was read after row n. The first row is on line ``first_line``; ``count`` is the rows the
    file has, as ``counted`` (e.g. "in its header") says.

    What a block leaves unread (a row cut by its end) is put in the slack in front of the next
    buffer's bytes, so that the next block is one run of a buffer, parsed where it was read. A row
    longer than the slack is gathered in a bytes object of its own, the next block with it."""
    slack = ahead.slack
    rows = 0
    held: Union[bytes, memoryview] = b""  # what was read after the last whole row
    while rows < n:
        i, got, (lines, last) = ahead.next()
        buf = ahead.bufs[i]
        if not got and not held:
            ahead.give_back(i)
            raise ValueError(f"{path}, line {rows + first_line}: the file ends after {rows} of the "
                             f"{count} words {counted}")
        if not got:  # at the end, the last row without its newline
            buf[slack] = 10
            got, lines, last = 1, 1, slack
        if len(held) + PAD <= slack:
            start = slack - len(held) - PAD
            buf[start + PAD:slack] = held
            data, buffer, filled = buf, i, slack + got
        else:  # a row longer than the slack: a block of its own
            data = bytes(PAD) + bytes(held) + bytes(buf[slack:slack + got])
            start, last, buffer, filled = 0, PAD + len(held) + (last - slack), None, len(data)
            ahead.give_back(i)
        if not lines:  # a row longer than what was read so far
            held = bytes(data[start + PAD:filled])
            if buffer is not None:
                ahead.give_back(i)
            continue
        end = last + 1
        if lines > n - rows:  # rows past the limit (or the header's count) stay unread
            lines = n - rows
            newlines = np.flatnonzero(np.frombuffer(data, np.uint8, end - start - PAD, start + PAD) == 10)
            end = start + PAD + int(newlines[lines - 1]) + 1
        held = memoryview(data)[end:filled]  # (read before the buffer is given back: the next block copies it)
        yield _TextBlock(data, start, end, rows, buffer)
        rows += lines
    return bytes(held)


def _parse_text_block(block: _TextBlock, dim: int, vectors: np.ndarray, norms: np.ndarray) -> Optional[Rows]:
    """In a worker thread: the block's rows parsed by :func:`w2v.textblock.parse_rows`, their numbers
    written, rounded to float32, into ``vectors[block.first:]``, and their words' offsets (from
    ``block.start``) returned, their lengths written into ``norms[block.first:]``; ``None`` if the
    block is not in word2vec's plain layout or holds something that is not a finite float32 number
    (the caller then reads it row by row). The numbers ``parse_rows`` leaves (such as ``1e-05``) are
    parsed by Python's ``float``. Writing the rows here, not in the thread that reads the file, also
    spreads over the pool the page faults of the fresh matrix; their lengths are summed while they
    are in the cache (a row is finite exactly when its float64 length is)."""
    data, start, first = block.data, block.start, block.first
    rows = parse_rows(np.frombuffer(data, np.uint8, block.end - start, start), dim)
    if rows is None:
        return None
    values = rows.values
    try:
        for r, j in zip(*np.nonzero(~rows.parsed)):
            values[r, j] = float(data[start + rows.number_starts[r, j]:start + rows.number_ends[r, j]])
    except ValueError:
        return None
    out = vectors[first:first + len(values)]
    with np.errstate(over="ignore", invalid="ignore"):
        out[:] = values  # rounded to float32: what float32 cannot hold becomes inf
    return rows if _lengths_into(out, norms[first:first + len(values)]) else None


def _text_rows(path, block: _TextBlock, parsing: "Future", dim: int, vectors: np.ndarray, norms: np.ndarray,
               decoder: _WordDecoder, first_line: int, spaced_ok: bool) -> List[Optional[str]]:
    """Finish the block's rows in file order: their words, their numbers in ``vectors[block.first:]``
    and their lengths in ``norms[block.first:]``. ``parsing``: :func:`_parse_text_block` of the block,
    which wrote the numbers of a block in word2vec's plain layout; any other block is parsed here row
    by row (:func:`_parse_text_row`), which names what is wrong. Both give the same numbers, bit for
    bit: each is the float64 nearest the text, rounded to float32. With ``spaced_ok`` (GloVe's files), a
    row whose word holds spaces has None for its word (:func:`_without_rows` leaves it out)."""
    data, start, first = block.data, block.start, block.first
    line = first + first_line  # the block's first row's line number
    rows = parsing.result()
    if rows is not None:
        raws = [data[start + a:start + b] for a, b in zip(rows.word_starts.tolist(), rows.word_ends.tolist())]
        return decoder.words(raws, lambda i: f"line {line + i}")
    words = [_parse_text_row(path, line + i, text, dim, vectors[first + i], decoder, spaced_ok)
             for i, text in enumerate(bytes(data[start + PAD:block.end]).split(b"\n")[:-1])]
    _lengths_into(vectors[first:first + len(words)], norms[first:first + len(words)])
    return words


def _parse_text_row(path: str, lineno: int, line: bytes, dim: int, out: np.ndarray, decoder: _WordDecoder,
                    spaced_ok: bool = False) -> Optional[str]:
    """One row (without its newline) into ``out``; its word. With ``spaced_ok``, a row of more fields whose
    last ``dim`` are numbers is a word that holds spaces: None (``out`` not written; the row is left out)."""
    parts = line.rstrip(b"\r").split(b" ")
    while parts and parts[-1] == b"":  # word2vec.c writes a trailing space
        parts.pop()
    if spaced_ok and len(parts) > dim + 1 and all(is_number(x) for x in parts[-dim:]):
        return None
    if not parts:
        raise ValueError(f"{path}, line {lineno}: a blank line; expected a word and {dim} numbers")
    if len(parts) != dim + 1:
        raise ValueError(f"{path}, line {lineno}: expected a word and {dim} numbers, got {len(parts) - 1} numbers")
    word = decoder.word(parts[0], f"line {lineno}")
    _parse_row(path, lineno, parts[1:], out)
    return word


def is_number(x: Union[bytes, str]) -> bool:
    """Whether ``float`` reads ``x`` (bytes or text) as a number."""
    try:
        float(x)
        return True
    except ValueError:
        return False


def _read_binary(path, f, size, limit, decoder: _WordDecoder) -> VectorFile:
    """word2vec binary: a header line, then per entry the word, a space, D little-endian float32 and
    (word2vec.c's files) a newline. Where a word ends is only known from the bytes themselves (a row
    may hold any byte), so the entries must be walked in order: :func:`w2v.binaryblock.find_entries`
    walks a whole block read (~4 MB) in array operations; an entry it leaves (an odd one, or the last
    of a block) is read by a loop here, which writes the messages. The words are decoded all at once
    at the end.

    Three threads share the work, so that the time is about the largest of the three parts, not
    their sum: a :class:`w2v.readahead.ReadAhead` reads the next blocks from the disk and finds their
    spaces (step 1 of the walk, :func:`w2v.binaryblock.find_spaces`); this thread walks each block; a
    second thread copies each block's rows into the matrix by one fancy index (paying for the page
    faults of the fresh matrix too) and computes their lengths while they are in the cache (returned
    as ``norms``, which a query needs first; a row is finite where its length is). A buffer is read
    into again only once its rows are copied (and its unread tail, an entry cut by the block's end,
    moved in front of the next block)."""
    from concurrent.futures import ThreadPoolExecutor  # here: reading a native file never pays for it
    from .readahead import ReadAhead

    header = f.readline()
    count, dim = _parse_header(path, header, size, lambda d: 4 * d + 2, limit)
    n = count if limit is None else min(limit, count)
    vectors = np.empty((n, dim), dtype="<f4")
    norms = np.empty(n, dtype=np.float64)
    row_type = np.dtype((np.void, 4 * dim))  # a row's bytes as one item: fancy indexing copies it whole
    words_read: List[bytes] = []  # the words' bytes, each followed by a space
    starts = array("q")  # each word's file offset, for the messages
    rows: List[np.ndarray] = []  # where the rows not yet copied start in the block
    copied = 0
    row_bytes = 4 * dim
    longest = MAX_WORD_BYTES + 1  # a word, and the newline before it
    chunk = max(_BINARY_READ_BYTES, 4 * (row_bytes + longest))
    slack = row_bytes + longest + 2  # the most a block leaves unread: one entry's word (or none) and row, less a byte
    copying: List["Future"] = []  # every copy, in order: each says whether its rows are all finite
    copier = ThreadPoolExecutor(1, thread_name_prefix="w2v-binary")
    ahead = ReadAhead(f, chunk, slack, _BINARY_BUFFERS,
                      then=lambda read, start, got: find_spaces(np.frombuffer(read, np.uint8, got, start)))
    cur = -1  # the buffer that holds the current block, from byte `base` on: the file from byte `offset` on
    buf = bytearray()
    block = np.frombuffer(buf, dtype=np.uint8)
    spaces = find_spaces(block)  # the block's
    base = filled = pos = 0
    offset = len(header)
    walk = True  # whether find_entries may walk the rest of this block (off once it left an entry)

    def done_with_block():
        """Hand the current block's rows to the copier; its buffer is given back once they are copied."""
        nonlocal copied
        if cur < 0:
            return
        if rows:  # every row-long run of the block's bytes, one starting at each byte (a view, no copy)
            runs = np.ndarray(shape=(filled - row_bytes + 1,), dtype=row_type, buffer=buf, offset=base,
                              strides=(1,))
            at = np.concatenate(rows)
            job = copier.submit(_gather_rows, vectors[copied:copied + len(at)], runs, at,
                                norms[copied:copied + len(at)])
            copied += len(at)
            rows.clear()
            copying.append(job)
            job.add_done_callback(lambda _, i=cur: ahead.give_back(i))
        else:
            ahead.give_back(cur)

    try:
        i = 0
        while i < n:
            if walk:
                found = find_entries(block, pos, row_bytes, longest, n - i, spaces)
                if found is not None:
                    words_read.append(found.words)
                    starts.frombytes((found.entry_starts + offset).tobytes())
                    rows.append(found.spaces + 1)
                    i += found.spaces.shape[0]
                    pos = int(found.spaces[-1]) + 1 + row_bytes
                    walk = found.complete
                    continue
                walk = False
            # one entry: a word runs to the next space; leading newlines (word2vec.c's row ends) are skipped
            space = buf.find(b" ", base + pos, base + min(pos + longest + 1, filled)) - base
            while space < 0 or filled - space - 1 < row_bytes:
                if space < 0 and filled - pos > longest:
                    raise ValueError(f"{path}, byte {offset + pos}: no word found (no space within "
                                     f"{MAX_WORD_BYTES:,} bytes, the longest word w2v reads)")
                left = filled - pos  # the unread tail goes in front of the next block
                nxt, got, read_spaces = ahead.next()
                ahead.bufs[nxt][slack - left:slack] = buf[base + pos:base + filled]
                spaces = np.concatenate([spaces[np.searchsorted(spaces, pos):] - pos, read_spaces + left])
                done_with_block()
                cur, buf = nxt, ahead.bufs[nxt]
                offset += pos
                base, filled, pos = slack - left, left + got, 0
                block = np.frombuffer(buf, dtype=np.uint8, count=filled, offset=base)
                if not got:
                    raise ValueError(f"{path}, byte {offset + left}: the file ends inside word {i + 1} "
                                     f"of the {count} in its header (truncated file?)")
                walk = True
                space = buf.find(b" ", base, base + min(longest + 1, filled)) - base
            raw = bytes(buf[base + pos:base + space]).lstrip(b"\n")
            if not raw:
                raise ValueError(f"{path}, byte {offset + pos}: empty word at entry {i + 1}")
            words_read.append(raw + b" ")
            starts.append(offset + pos)
            rows.append(np.array([space + 1]))
            pos = space + 1 + row_bytes
            i += 1
        rest = bytes(buf[base + pos:base + filled])
        if limit is None and not rest.strip(b"\n"):  # the file may end with newlines, nothing else
            rest += ahead.next_bytes()[:2]
        done_with_block()
        all_finite = all([job.result() for job in copying])
    finally:
        ahead.close()  # no read writes a buffer any more
        copier.shutdown(wait=True)  # no copy still reads a buffer or writes the matrix
    if limit is None and rest.strip(b"\n"):
        raise ValueError(f"{path}, byte {offset + pos}: data after the {count} words in the header")
    joined = b"".join(words_read)
    del words_read
    try:  # words hold no space, and no decoding makes one
        words = joined.decode("utf-8").split(" ")
        words.pop()  # what follows the last space
    except UnicodeDecodeError:
        words = decoder.words(joined.split(b" ")[:-1], lambda i: f"byte {starts[i]}")
    vectors = vectors.astype(np.float32, copy=False)
    if not all_finite:
        _refuse_non_finite(path, words, vectors)
    return VectorFile(words, vectors, norms=norms)


def _gather_rows(values: np.ndarray, runs: np.ndarray, at: np.ndarray, norms: np.ndarray) -> bool:
    """``values[k] = runs[at[k]]`` (values float32[K, D], runs a view with one row-long item at each
    byte) by a fancy index, which runs without the GIL (``np.take`` would first copy ``runs``, an
    overlapping view, whole); then ``norms`` float64[K] = the rows' lengths, as :func:`row_norms`
    computes them. Returns whether the rows are all finite (:func:`_lengths_into`)."""
    values.view(runs.dtype).reshape(len(values))[...] = runs[at]
    return _lengths_into(values, norms)


def _refuse_non_finite(path: str, words: List[str], vectors: np.ndarray) -> None:
    bad = _first_non_finite(vectors)
    if bad is not None:
        raise ValueError(f"{path}: the vector of {words[bad][:40]!r} (entry {bad + 1}) is not finite")


def _refuse_bad_words(path: str, words: List[str]) -> None:
    """Raise ``ValueError`` naming the first entry whose word is not a word (:mod:`w2v.words`)."""
    for i, w in enumerate(words):
        problem = word_problem(w)
        if problem is not None:
            raise ValueError(f"{path}: entry {i + 1}, the word {w[:40]!r}, {problem}")


def _drop_repeats(data: VectorFile) -> VectorFile:
    """Keep the first entry of each word (gensim keeps the first too). Called once the words are known
    to be words and :func:`_all_fine` found a repeat."""
    seen, keep = set(), []
    for i, w in enumerate(data.words):
        if w not in seen:
            seen.add(w)
            keep.append(i)
    rows = np.array(keep, dtype=np.int64)
    counts = None if data.counts is None else data.counts[rows]
    norms = None if data.norms is None else data.norms[rows]
    return VectorFile([data.words[i] for i in keep], data.vectors[rows], counts, data.meta,
                      repeated=len(data.words) - len(keep), not_utf8=data.not_utf8, spaced=data.spaced, norms=norms)


def _read_model(path: str, limit: Optional[int], mmap: bool) -> VectorFile:
    """A model file's input vectors with its words, counts and options."""
    model = read_model_file(path, mmap=mmap)
    n = len(model.words) if limit is None else min(limit, len(model.words))
    vectors = model.syn0[:n]
    if not mmap:  # a mapped matrix is not read through at load (that is its point)
        _refuse_non_finite(path, model.words, vectors)
    return VectorFile(model.words[:n], vectors, model.counts[:n], {"options": model.options, **model.meta})


# -- native ---------------------------------------------------------------------------
_NATIVE_MEMBERS = {  # name: (allowed dtype kinds, itemsize, ndim)
    "format": ("u", 1, 1), "version": ("iu", 8, 1), "vectors": ("f", 4, 2), "words": ("u", 1, 1),
    "meta": ("u", 1, 1), "counts": ("iu", 8, 1), "norms": ("f", 8, 1),
}


def _native_array(path: str, archive: zipfile.ZipFile, name: str, rows: Optional[int] = None,
                  mmap: bool = False) -> np.ndarray:
    """One member of a native file, its header checked before anything is allocated; ``rows`` reads
    only the first rows of a 2-D member; ``mmap`` maps a stored (uncompressed) member read-only."""
    kinds, itemsize, ndim = _NATIVE_MEMBERS[name]
    try:
        info = archive.getinfo(name + ".npy")
    except KeyError:
        raise ValueError(f"{path}: a damaged native vectors file (no {name!r} array)") from None
    with archive.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(f)
        except (ValueError, SyntaxError, TypeError) as error:
            raise ValueError(f"{path}: a damaged native vectors file ({name!r}: {error})") from None
        if (dtype.hasobject or dtype.kind not in kinds or dtype.itemsize != itemsize or len(shape) != ndim
                or fortran or any(d < 0 for d in shape)):
            raise ValueError(f"{path}: a damaged native vectors file: {name!r} is a {dtype} array of shape "
                             f"{shape}; expected {ndim}-D, {itemsize}-byte {'/'.join(kinds)} values")
        if rows is not None and ndim == 2:
            shape = (min(rows, shape[0]), shape[1])
        nbytes = int(np.prod(shape, dtype=object)) * itemsize
        if nbytes > info.file_size:
            raise ValueError(f"{path}: a damaged native vectors file: {name!r} claims shape {shape}, "
                             f"{nbytes:,} bytes, in a member of {info.file_size:,}")
        if mmap and info.compress_type == zipfile.ZIP_STORED and nbytes:
            return np.memmap(path, dtype=dtype, mode="r", shape=shape,
                             offset=_member_data_offset(path, info) + f.tell())
        array = np.empty(shape, dtype=dtype)  # the file's byte order; made native below
        view = memoryview(array).cast("B") if nbytes else memoryview(b"")
        got = 0
        while got < nbytes:
            n = f.readinto(view[got:])
            if not n:
                raise ValueError(f"{path}: a damaged native vectors file ({name!r} is cut short)")
            got += n
    return array.astype(dtype.newbyteorder("="), copy=False)


def _member_data_offset(path: str, info: zipfile.ZipInfo) -> int:
    """Where a stored zip member's bytes start in the file (after its local header)."""
    try:
        with open(path, "rb") as f:
            return compression.zip_data_offset(f, info)
    except zipfile.BadZipFile:
        raise ValueError(f"{path}: a damaged native vectors file (a zip member's header)") from None


def _read_native(path, limit, mmap=False) -> VectorFile:
    try:
        with zipfile.ZipFile(path) as archive:
            if bytes(_native_array(path, archive, "format")) != b"w2v-native":
                raise ValueError(f"{path}: a NumPy archive, but not a w2v native vectors file")
            version = _native_array(path, archive, "version")
            if version.shape != (1,):
                raise ValueError(f"{path}: a damaged native vectors file: 'version' must hold one integer")
            if int(version[0]) > _NATIVE_VERSION or int(version[0]) < 1:
                raise ValueError(f"{path}: native format version {int(version[0])} is not one this w2v reads "
                                 f"(1 to {_NATIVE_VERSION}); upgrade w2v")
            vectors = _native_array(path, archive, "vectors", rows=limit, mmap=mmap)
            raw_words = bytes(_native_array(path, archive, "words"))
            words = raw_words.decode("utf-8").split("\n") if raw_words else []
            counts = _native_array(path, archive, "counts") if "counts.npy" in archive.namelist() else None
            norms = _native_array(path, archive, "norms") if "norms.npy" in archive.namelist() else None
            meta = json.loads(bytes(_native_array(path, archive, "meta")).decode("utf-8"))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, json.JSONDecodeError, UnicodeDecodeError,
            NotImplementedError) as error:
        raise ValueError(f"{path}: a damaged native vectors file ({error})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: a damaged native vectors file: 'meta' is not a JSON object")
    if limit is not None:
        words = words[:limit]
        counts = counts[:limit] if counts is not None else None
        norms = norms[:limit] if norms is not None else None
    if norms is not None and (norms.shape != (len(words),) or not np.isfinite(norms).all()):
        raise ValueError(f"{path}: a damaged native vectors file: its norms are not {len(words)} finite numbers")
    if len(words) != len(vectors):
        raise ValueError(f"{path}: inconsistent native file: {len(words)} words, vectors {vectors.shape}")
    if counts is not None:
        if counts.shape != (len(words),):
            raise ValueError(f"{path}: inconsistent native file: counts of shape {counts.shape} for {len(words)} words")
        if counts.dtype.kind == "u" and counts.size and counts.max() > np.iinfo(np.int64).max:
            raise ValueError(f"{path}: a damaged native vectors file: a count does not fit in 64 bits")
        counts = counts.astype(np.int64)
        if (counts < 0).any():
            raise ValueError(f"{path}: a damaged native vectors file: negative counts")
    if not isinstance(vectors, np.memmap):  # a mapped matrix is not read through at load (that is its point)
        _refuse_non_finite(path, words, vectors)
    return VectorFile(words, vectors if isinstance(vectors, np.memmap) else vectors.astype(np.float32, copy=False),
                      counts, meta, norms=norms)
