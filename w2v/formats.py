"""Word-vector files: word2vec text and binary, our native format, atomic writes.

Formats
-------
* **word2vec text** (``.txt``, ``.vec``): a header ``V D``, then V lines
  ``word v1 ... vD``.
* **word2vec binary** (``.bin``): the header line ``V D\\n``, then for each word
  ``word``, a space, D little-endian float32 and a newline — byte for byte what
  word2vec.c's ``-binary 1`` writes. The reader also accepts gensim's variant
  without the newline.
* **native** (``.npz``): a NumPy zip of plain arrays — ``vectors`` float32[V, D],
  ``counts`` int64[V], ``words`` (UTF-8 bytes of the words joined by newlines)
  and ``meta`` (UTF-8 JSON: training configuration). Loaded with
  ``allow_pickle=False``: no file we read can run code.

Every write goes to a temporary file in the destination folder, renamed into
place once complete (:func:`atomic_output`), so an interrupted or failed write
leaves any existing file untouched. Every reader error is a ``ValueError``
naming the file and the line or byte offset.

This module never imports Numba.

Example::

    >>> from w2v.formats import write_vectors, read_vectors
    >>> import numpy as np
    >>> write_vectors("/tmp/v.bin", ["a", "b"], np.eye(2, dtype=np.float32))
    >>> read_vectors("/tmp/v.bin").words
    ['a', 'b']
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

__all__ = ["FORMATS", "VectorFile", "atomic_output", "check_writable", "format_for_path",
           "read_vectors", "write_vectors", "detect_format"]

#: Format names, and the extensions that select them.
FORMATS = ("binary", "text", "native")
_EXTENSIONS = {".bin": "binary", ".txt": "text", ".vec": "text", ".npz": "native"}
_NATIVE_VERSION = 1


@dataclass
class VectorFile:
    """What a vectors file holds: words, float32[V, D] vectors, optional counts and metadata."""
    words: List[str]
    vectors: np.ndarray
    counts: Optional[np.ndarray] = None
    meta: Dict[str, Any] = field(default_factory=dict)


# -- writing --------------------------------------------------------------------------
def check_writable(path: str) -> None:
    """Raise ``OSError`` now if ``path`` cannot be written (before hours of training)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise OSError(f"{path}: is a folder; give a file name for the output")
    if not os.path.isdir(folder):
        raise OSError(f"{path}: the folder {folder} does not exist")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".w2v-probe-")
    except OSError as error:
        raise OSError(f"{path}: cannot write in {folder} ({error.strerror or error})") from None
    os.close(fd)
    os.unlink(probe)


@contextlib.contextmanager
def atomic_output(path: str, mode: str = "wb"):
    """Open a temporary file beside ``path``; rename it to ``path`` only if the block succeeds."""
    check_writable(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        kwargs = {"encoding": "utf-8", "newline": "\n"} if "b" not in mode else {}
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def format_for_path(path: str, fmt: Optional[str] = None) -> str:
    """The format named by ``fmt``, or else by the extension of ``path``."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        return fmt
    ext = os.path.splitext(path)[1].lower()
    if ext not in _EXTENSIONS:
        raise ValueError(f"{path}: cannot tell the format from the extension {ext or '(none)'}; "
                         f"use .bin, .txt, .vec or .npz, or name the format")
    return _EXTENSIONS[ext]


def write_vectors(path: str, words: Sequence[str], vectors: np.ndarray, fmt: Optional[str] = None,
                  counts: Optional[np.ndarray] = None, meta: Optional[Dict[str, Any]] = None) -> None:
    """Write ``vectors`` (float32[V, D]) for ``words`` in ``fmt`` (or the extension's format), atomically."""
    fmt = format_for_path(path, fmt)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise ValueError(f"vectors of shape {vectors.shape} do not match {len(words)} words")
    for w in words:
        if not w or any(ch.isspace() for ch in w):
            raise ValueError(f"cannot write the word {w!r}: words must be non-empty and contain no white space")
    with atomic_output(path, "wb") as f:
        if fmt == "native":
            _write_native(f, words, vectors, counts, meta or {})
        elif fmt == "binary":
            _write_binary(f, words, vectors)
        else:
            _write_text(f, words, vectors)


def _write_binary(f, words, vectors) -> None:
    f.write(f"{len(words)} {vectors.shape[1]}\n".encode())
    little = vectors.astype("<f4", copy=False)
    for w, row in zip(words, little):
        f.write(w.encode("utf-8") + b" " + row.tobytes() + b"\n")


def _write_text(f, words, vectors) -> None:
    f.write(f"{len(words)} {vectors.shape[1]}\n".encode())
    # 9 significant digits read back as the same float32 (word2vec.c's %lf keeps 6 decimals)
    row_format = " ".join(["%.9g"] * vectors.shape[1])
    for w, row in zip(words, vectors.tolist()):
        f.write((w + " " + row_format % tuple(row) + "\n").encode("utf-8"))


def _write_native(f, words, vectors, counts, meta) -> None:
    arrays = {
        "format": np.frombuffer(b"w2v-native", dtype=np.uint8),
        "version": np.array([_NATIVE_VERSION], dtype=np.int64),
        "vectors": vectors,
        "words": np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8),
        "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8),
    }
    if counts is not None:
        arrays["counts"] = np.asarray(counts, dtype=np.int64)
    np.savez(f, **arrays)


# -- reading --------------------------------------------------------------------------
def detect_format(path: str) -> str:
    """Guess a vectors file's format from its first bytes (zip: native; else binary or text)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as error:
        raise OSError(f"{path}: cannot read ({error.strerror or error})") from None
    if head.startswith(b"PK\x03\x04"):
        return "native"
    newline = head.find(b"\n")
    body = head[newline + 1:] if newline >= 0 else b""
    # float32 bytes almost surely include a control or non-ASCII byte within a few vectors;
    # text vectors are printable ASCII after the word (words may be UTF-8)
    try:
        body.decode("utf-8")
        is_text = not any(b < 9 or 13 < b < 32 for b in body)
    except UnicodeDecodeError as error:
        is_text = error.start >= len(body) - 3 and not any(b < 9 or 13 < b < 32 for b in body[:error.start])
    return "text" if is_text else "binary"


def read_vectors(path: str, fmt: Optional[str] = None, limit: Optional[int] = None,
                 unicode_errors: str = "strict") -> VectorFile:
    """Read a vectors file; ``fmt`` None detects it. ``limit`` keeps the first N words.

    Raises ``OSError`` if the file cannot be opened and ``ValueError`` (naming the
    file and the line or byte offset) if it is not a well-formed vectors file.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if fmt is None:
        fmt = detect_format(path)
    elif fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    try:
        if fmt == "native":
            return _read_native(path, limit)
        with open(path, "rb") as f:
            if fmt == "binary":
                return _read_binary(path, f, limit, unicode_errors)
            return _read_text(path, f, limit, unicode_errors)
    except OSError as error:
        if isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise OSError(f"{path}: cannot read ({error.strerror or error})") from None
        raise


def _parse_header(path: str, line: bytes):
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
    return count, dim


def _decode_word(path: str, raw: bytes, where: str, unicode_errors: str) -> str:
    try:
        return raw.decode("utf-8", unicode_errors)
    except UnicodeDecodeError:
        raise ValueError(f"{path}, {where}: the word {raw[:40]!r} is not valid UTF-8") from None


def _read_text(path, f, limit, unicode_errors) -> VectorFile:
    count, dim = _parse_header(path, f.readline())
    n = count if limit is None else min(limit, count)
    vectors = np.empty((n, dim), dtype=np.float32)
    words: List[str] = []
    for i in range(n):
        lineno = i + 2
        line = f.readline()
        if not line:
            raise ValueError(f"{path}, line {lineno}: the file ends after {i} of the {count} words in its header")
        parts = line.rstrip(b"\r\n").split(b" ")
        while parts and parts[-1] == b"":  # word2vec.c writes a trailing space
            parts.pop()
        if len(parts) != dim + 1:
            raise ValueError(f"{path}, line {lineno}: expected a word and {dim} numbers, got {len(parts) - 1} numbers")
        words.append(_decode_word(path, parts[0], f"line {lineno}", unicode_errors))
        try:
            vectors[i] = [float(x) for x in parts[1:]]
        except ValueError:
            bad = next(x for x in parts[1:] if not _is_float(x))
            raise ValueError(f"{path}, line {lineno}: {bad[:30]!r} is not a number") from None
    if limit is None and f.readline().strip():
        raise ValueError(f"{path}, line {count + 2}: more lines than the {count} words in the header")
    return VectorFile(words, vectors)


def _is_float(x: bytes) -> bool:
    try:
        float(x)
        return True
    except ValueError:
        return False


def _read_binary(path, f, limit, unicode_errors) -> VectorFile:
    header = f.readline()
    count, dim = _parse_header(path, header)
    n = count if limit is None else min(limit, count)
    vectors = np.empty((n, dim), dtype=np.float32)
    words: List[str] = []
    row_bytes = 4 * dim
    buf = b""
    pos = 0
    offset = len(header)  # file offset of buf[0]
    chunk = max(1 << 20, 4 * row_bytes)
    for i in range(n):
        # a word runs to the next space; leading newlines (word2vec.c's row ends) are skipped
        while True:
            space = buf.find(b" ", pos)
            if space >= 0 and space - pos <= 1000 and len(buf) - space - 1 >= row_bytes:
                break
            if space < 0 and len(buf) - pos > 1000 + row_bytes:
                raise ValueError(f"{path}, byte {offset + pos}: no word found (no space within 1000 bytes)")
            more = f.read(chunk)
            if not more:
                raise ValueError(f"{path}, byte {offset + len(buf)}: the file ends inside word {i + 1} "
                                 f"of the {count} in its header (truncated file?)")
            offset += pos
            buf = buf[pos:] + more
            pos = 0
        raw = buf[pos:space].lstrip(b"\n")
        if not raw:
            raise ValueError(f"{path}, byte {offset + pos}: empty word at entry {i + 1}")
        words.append(_decode_word(path, raw, f"byte {offset + pos}", unicode_errors))
        start = space + 1
        vectors[i] = np.frombuffer(buf, dtype="<f4", count=dim, offset=start)
        pos = start + row_bytes
    if limit is None:
        rest = buf[pos:] + f.read(2)
        if rest.strip(b"\n"):
            raise ValueError(f"{path}, byte {offset + pos}: data after the {count} words in the header")
    if not np.isfinite(vectors).all():
        bad = int(np.argwhere(~np.isfinite(vectors))[0][0])
        raise ValueError(f"{path}: the vector of {words[bad]!r} (entry {bad + 1}) is not finite")
    return VectorFile(words, vectors)


def _read_native(path, limit) -> VectorFile:
    try:
        with np.load(path, allow_pickle=False) as data:
            if "format" not in data or bytes(data["format"]) != b"w2v-native":
                raise ValueError(f"{path}: a NumPy archive, but not a w2v native vectors file")
            version = int(data["version"][0])
            if version > _NATIVE_VERSION:
                raise ValueError(f"{path}: native format version {version} is newer than this w2v reads "
                                 f"({_NATIVE_VERSION}); upgrade w2v")
            vectors = data["vectors"]
            words = bytes(data["words"]).decode("utf-8").split("\n")
            counts = data["counts"] if "counts" in data else None
            meta = json.loads(bytes(data["meta"]).decode("utf-8"))
    except (zipfile.BadZipFile, EOFError, KeyError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: a damaged native vectors file ({error})") from None
    except ValueError as error:
        if str(error).startswith(path):
            raise
        raise ValueError(f"{path}: a damaged native vectors file ({error})") from None
    if vectors.ndim != 2 or vectors.dtype != np.float32 or len(words) != len(vectors):
        raise ValueError(f"{path}: inconsistent native file: {len(words)} words, vectors {vectors.shape} {vectors.dtype}")
    if counts is not None and counts.shape != (len(words),):
        raise ValueError(f"{path}: inconsistent native file: counts of shape {counts.shape}")
    if limit is not None:
        words, vectors = words[:limit], vectors[:limit]
        counts = counts[:limit] if counts is not None else None
    return VectorFile(words, np.ascontiguousarray(vectors), counts, meta)
