"""Streaming corpus reader: files, folders, .gz/.bz2/.xz/.zst, .zip archives and stdin, in bounded memory.

A *token* is a run of bytes other than ASCII white space (space, tab, newline,
CR, VT, FF), as word2vec.c reads words (:mod:`w2v.words` is the one
definition); a *line* is a sentence. Files are read
in blocks of ``block_size`` bytes and cut at the last white space of each block,
so memory is bounded by the block size, never by the length of a line: text8 is
a single 100 MB line and streams like any other file.

Tokens stay ``bytes`` while streaming (splitting and counting bytes is several
times faster than decoding every token); the vocabulary decodes each distinct
token once, as UTF-8 with invalid bytes replaced and counted.

Differences from word2vec.c: no ``</s>`` token is inserted for newlines (gensim
does the same), and a word is not cut at 100 bytes.

A file read as text (and standard input) that begins with the signature of compressed data (gzip,
bzip2, xz, zstd, zip), a tar archive (also inside a compressed file) or a UTF-16/32 byte order
mark is refused with an ``OSError`` saying what it is (:func:`check_text_head`), rather than
counted as binary noise.

Example::

    >>> from w2v.corpus import Corpus
    >>> corpus = Corpus(["corpora/sample.txt"])       # doctest: +SKIP
    >>> for piece, ends_line in corpus.pieces():      # doctest: +SKIP
    ...     pass
"""
from __future__ import annotations

import array
import bisect
import codecs
import collections.abc
import functools
import heapq
import io
import os
import stat
import sys
import threading
import zipfile
import zlib
from typing import BinaryIO, Callable, Iterator, List, Optional, Sequence, Tuple

from tqdm import tqdm

from . import bzip2, compression, xz
from .progress import ProgressBar
from .words import SEPARATORS

__all__ = ["Corpus", "CorpusPart", "resolve_sources", "decode_token", "check_text_head", "source_name", "STDIN"]

#: The name that stands for standard input.
STDIN = "-"
#: Default read size (960 KB); also the longest token that is never cut. Under
#: :data:`w2v.memory.LARGE_BLOCK` (1 MB) with room for a carried token, so that a read and the block
#: cut from it come from the heap, used again, rather than from fresh mappings whose every page faults
#: (a third of the counting pass's page faults on wiki8).
DEFAULT_BLOCK_SIZE = (1 << 20) - (64 << 10)
#: The largest block: a token a block had to cut is at most this long, which a count's entry can hold
#: (w2v.kernels.MAX_TOKEN_BYTES, 28 bits of length).
MAX_BLOCK_SIZE = (1 << 28) - 1
_WHITESPACE = tuple(SEPARATORS[i:i + 1] for i in range(len(SEPARATORS)))


class _ZipText(io.RawIOBase):
    """The files inside a .zip archive, read as a folder is: in the order of their names, with hidden
    ones (a part of the name starting with "."), macOS's ``__MACOSX`` folder and folder entries left
    out, and a line end after each, so that lines do not run from one file into the next. Each file is
    inflated as it is read and its CRC checked at its end (a deflated one by :class:`_InflatedMember`,
    any other by ``zipfile``), so memory stays bounded;
    text8.zip, as the word2vec demo downloads it, is read as it is. A file inside that is encrypted,
    compressed or an archive is an ``OSError`` naming the archive and the file."""

    def __init__(self, raw: BinaryIO):
        super().__init__()
        # set before anything can raise: the finalizer of an instance whose __init__ raised calls close() (and
        # Python 3.13 prints what close() raises there: "Exception ignored in: <w2v.corpus._ZipText ...>")
        self._member: Optional[BinaryIO] = None
        self._archive: Optional[zipfile.ZipFile] = None
        self._archive = zipfile.ZipFile(raw)
        self._raw = raw
        self._members = sorted((info for info in self._archive.infolist() if not info.is_dir() and not any(
            part.startswith(".") or part == "__MACOSX" for part in info.filename.split("/"))),
            key=lambda info: info.filename)
        for info in self._members:
            if info.flag_bits & 0x1:
                raise OSError(f"{raw.name}: {info.filename} inside is encrypted; unpack the .zip first")
            if os.path.splitext(info.filename)[1].lower() in _OPENERS or info.filename.lower().endswith(".tar"):
                raise OSError(f"{raw.name}: {info.filename} inside is an archive or compressed; unpack the .zip first")
        self._next = 0
        self._line_end = False  # a line ending is owed after the member just read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while True:
            if self._line_end:
                self._line_end = False
                buffer[:1] = b"\n"
                return 1
            if self._member is None:
                if self._next == len(self._members):
                    return 0
                info = self._members[self._next]
                self._member = (_InflatedMember(self._raw, info) if info.compress_type == zipfile.ZIP_DEFLATED
                                else self._archive.open(info))
                self._next += 1
            n = self._member.readinto(buffer)
            if n:
                return n
            self._member.close()
            self._member, self._line_end = None, True

    def close(self) -> None:
        if self._member is not None:
            self._member.close()
        if self._archive is not None:
            self._archive.close()
        super().close()


class _InflatedMember(io.RawIOBase):
    """A deflated file inside a .zip archive, inflated from the archive's file by
    :func:`w2v.compression.raw_inflater` (python-isal's when installed: wiki8 zipped, 0.3 s through
    ``zipfile``'s zlib), and checked at its end as ``zipfile`` checks it: its size and CRC-32, and that
    its deflate data ends where the archive says (``zipfile.BadZipFile``, or ``EOFError`` for a file cut
    short). ``raw`` is read only here while the member is read (the archive's directory is read first)."""

    #: Compressed bytes read at a time.
    READ_BYTES = 256 << 10

    def __init__(self, raw: BinaryIO, info: zipfile.ZipInfo):
        super().__init__()
        self._raw, self._info = raw, info
        self._at = compression.zip_data_offset(raw, info)  # where the deflate data starts
        self._left = info.compress_size  # compressed bytes not yet read
        self._inflate = compression.raw_inflater()
        self._crc = self._size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while True:
            data = self._inflate.unconsumed_tail
            if not data and self._left:
                self._raw.seek(self._at)
                data = self._raw.read(min(self._left, self.READ_BYTES))
                if not data:
                    raise EOFError(f"the archive ends inside {self._info.filename}")
                self._at += len(data)
                self._left -= len(data)
            if not data and self._inflate.eof:
                self._finish()
                return 0
            text = self._inflate.decompress(data, len(buffer))  # (b"": what it still holds, once all is read)
            if not data and not text:  # all read, and the deflate data has not ended: damaged
                self._finish()
                return 0
            if text:
                buffer[:len(text)] = text
                self._crc = zlib.crc32(text, self._crc)
                self._size += len(text)
                return len(text)

    def _finish(self) -> None:
        info = self._info
        if not self._inflate.eof or self._size != info.file_size or self._crc != info.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32 or size for file {info.filename!r}")


def _open_zip(raw: BinaryIO) -> BinaryIO:
    """The text files inside a .zip archive (:class:`_ZipText`), buffered."""
    return io.BufferedReader(_ZipText(raw), buffer_size=1 << 20)


#: The reader of each compressed extension (:mod:`w2v.compression`), and of a .zip archive, given the file
#: opened for reading in binary.
_OPENERS = {**compression.READERS, ".zip": _open_zip}
#: What the readers raise on damaged, cut or mislabelled data (:data:`w2v.compression.READ_ERRORS`); a .zip
#: file's damage zipfile.BadZipFile, a method zipfile lacks NotImplementedError.
_READ_ERRORS = compression.READ_ERRORS + (zipfile.BadZipFile, NotImplementedError, ValueError)


def source_name(path: str) -> str:
    """How messages name a corpus file: its path, or "standard input" for ``-``."""
    return "standard input" if path == STDIN else path


def _unreadable(path: str, error: BaseException) -> OSError:
    """The one-line error for compressed data that cannot be read."""
    return compression.unreadable(source_name(path), error)


def _open_file(path: str, buffering: int = -1) -> BinaryIO:
    """``path`` opened for reading bytes; a file gone or unreadable since it was listed (or since the
    corpus was split among machines) is one line naming it (:func:`w2v.compression.read_error`)."""
    try:
        return open(path, "rb", buffering=buffering)
    except OSError as error:
        raise compression.read_error(path, error) from None


def _bzip2_block_follows(head: bytes) -> bool:
    """After bzip2's "BZh": a block-size digit 1-9, then a block's magic (or the end of an empty stream's)."""
    return head[3:4] in b"123456789" and head[4:10] in (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")


#: How compressed data (or text that is not UTF-8) begins, a check of the bytes after (or None), what it
#: is, and what a user who gave it as text should do: with a file, and on standard input. None of these
#: can begin UTF-8 text: each starts with a control byte or a byte UTF-8 never begins with, or for bzip2
#: with binary magic after "BZh".
_ON_THE_WAY_IN = "decompress it on the way in (zcat, bzcat, xzcat or zstdcat FILE | w2v ...)"
_NOT_TEXT = (
    ((b"\x1f\x8b\x08",), None, "is gzip-compressed data, not text",
     "name it .gz (w2v decompresses .gz files) or decompress it first", _ON_THE_WAY_IN),
    ((b"BZh",), _bzip2_block_follows, "is bzip2-compressed data, not text",
     "name it .bz2 (w2v decompresses .bz2 files) or decompress it first", _ON_THE_WAY_IN),
    ((b"\xfd7zXZ\x00",), None, "is xz-compressed data, not text",
     "name it .xz (w2v decompresses .xz files) or decompress it first", _ON_THE_WAY_IN),
    ((b"\x28\xb5\x2f\xfd",), None, "is zstd-compressed data, not text",
     "name it .zst (w2v decompresses .zst files) or decompress it first", _ON_THE_WAY_IN),
    ((b"PK\x03\x04",), None, "is a zip archive, not text",
     "name it .zip (w2v reads the files inside) or unpack it first", "unpack it first"),
    ((b"\xff\xfe", b"\xfe\xff"), None, "is UTF-16 or UTF-32 text (it starts with a byte order mark), not UTF-8",
     "convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8)",
     "convert it on the way in (iconv -f UTF-16 -t UTF-8 FILE | w2v ...)"),
)
#: The first bytes of all of them: one look for most files.
_NOT_TEXT_FIRST = frozenset(start[:1] for starts, *_ in _NOT_TEXT for start in starts)


def _is_tar(head: bytes) -> bool:
    """A tar header: "ustar" at byte 257 and a header checksum that adds up (text that merely has those
    letters there, as in "mustard", is not one)."""
    if head[257:262] != b"ustar" or len(head) < 512:
        return False
    try:
        stored = int(head[148:156].replace(b"\x00", b" ").strip() or b"x", 8)
    except ValueError:
        return False
    return stored == sum(head[:148]) + 8 * 32 + sum(head[156:512])  # (the checksum field counted as spaces)


def check_text_head(name: str, head: bytes, decompressed: bool = False) -> None:
    """Raise an ``OSError`` naming ``name`` when ``head``, the first bytes of a file or stream read as
    text, begins compressed data, an archive or UTF-16/32 text: counting it would make a vocabulary of
    binary noise, with only a warning about invalid UTF-8, or of tar's headers among the text.
    ``decompressed``: the bytes came out of a compressed file, so only an archive is looked for
    (``corpus.tar.gz``)."""
    if _is_tar(head):
        raise OSError(f"{name}: is a tar archive, not text; unpack it first (tar xf) and give the folder")
    if decompressed or head[:1] not in _NOT_TEXT_FIRST:
        return
    for starts, confirm, what, advice, advice_for_standard_input in _NOT_TEXT:
        if head.startswith(starts) and (confirm is None or confirm(head)):
            raise OSError(f"{name}: {what}; {advice_for_standard_input if name == 'standard input' else advice}")


# Counting invalid UTF-8 needs a codec error handler; it adds the number of
# replaced bytes to this one-element list.
_invalid_bytes = [0]


def _count_and_replace(error: UnicodeDecodeError):
    _invalid_bytes[0] += error.end - error.start
    return "\ufffd", error.end


codecs.register_error("w2v.count_replace", _count_and_replace)


def decode_token(token: bytes) -> Tuple[str, int]:
    """Decode one token as UTF-8; returns (text, number of invalid bytes replaced by U+FFFD)."""
    before = _invalid_bytes[0]
    text = token.decode("utf-8", "w2v.count_replace")
    return text, _invalid_bytes[0] - before


def resolve_sources(paths: Sequence[str]) -> List[str]:
    """Expand the user's inputs into a list of files (or ``-`` for stdin).

    Folders are walked recursively, files in sorted order, hidden files and
    folders skipped, as are links to folders (never followed, as ``os.walk``
    does not). Raises ``OSError`` naming the first input that does not exist,
    a folder that cannot be listed, and a file in a folder that is a broken
    link or not a regular file (a named pipe there would wait for a writer
    forever; a pipe named on the command line, ``<(zcat a.gz)``, is read);
    ``ValueError`` when nothing is left to read.
    """
    if not paths:
        raise ValueError("no corpus given: name one or more files, folders, or - for standard input")
    files: List[str] = []
    for path in paths:
        if path == STDIN:
            files.append(STDIN)
        elif os.path.isdir(path):
            files.extend(sorted(_folder_files(path)))
        elif os.path.exists(path):
            files.append(path)
        else:
            raise OSError(f"{path}: no such file or folder")
    if not files:
        raise ValueError(f"no files to read in {', '.join(paths)}")
    if files.count(STDIN) > 1:
        raise ValueError("standard input (-) can be read only once")
    return files


def _read_once_name(path: str) -> Optional[str]:
    """How messages name ``path`` if it can be read once only ("standard input", "/dev/fd/63 (a pipe)"),
    else None (a regular file, a folder, or a path that does not exist)."""
    if path == STDIN:
        return "standard input"
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return f"{path} ({'a pipe' if stat.S_ISFIFO(mode) else 'not a regular file'})"


def _folder_files(folder: str) -> List[str]:
    """The paths of the regular files below ``folder`` (links to them included), hidden ones and links to
    folders left out, in no particular order (:func:`resolve_sources` sorts them)."""
    found: List[str] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as entries:
                listed = list(entries)
        except OSError as error:
            raise OSError(f"{current}: cannot list the folder ({error.strerror or error})") from None
        for entry in listed:
            if entry.name.startswith("."):
                continue
            try:
                folder_here, regular = entry.is_dir(follow_symlinks=False), entry.is_file()  # (a link is followed)
                linked_folder = not folder_here and not regular and entry.is_dir()
            except OSError as error:
                raise compression.read_error(entry.path, error) from None
            if folder_here:
                pending.append(entry.path)
            elif regular:
                found.append(entry.path)
            elif not linked_folder:  # (a link to a folder is left, as os.walk leaves it)
                raise OSError(_not_a_file(entry.path, folder))
    return found


def _not_a_file(path: str, folder: str) -> str:
    """Why ``path``, in the corpus folder ``folder`` and neither a regular file nor a folder, cannot be read."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        if os.path.islink(path):
            return f"{path}: is a broken symbolic link in the corpus folder {folder}; mend it or remove it"
        return f"{path}: cannot read ({error.strerror or error})"
    kinds = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"))
    kind = next((name for test, name in kinds if test(mode)), "not a regular file")
    return (f"{path}: is {kind}, not a file, in the corpus folder {folder}, whose files are all read as text; "
            f"move it out")


def _last_space(data: bytes) -> int:
    """Where the last white space byte of ``data`` is, or -1: looked for in the last 4 KB first (a
    separator that is not in the text would otherwise make a search of the whole block)."""
    tail = max(0, len(data) - 4096)
    cut = max(data.rfind(w, tail) for w in _WHITESPACE)
    if cut < 0 and tail:
        cut = max(data.rfind(w, 0, tail) for w in _WHITESPACE)
    return cut


def _read_at(fd: int, offset: int, n: int) -> bytes:
    """Up to ``n`` bytes of the open file ``fd`` from ``offset``: fewer only at the end of the file (a read
    that returns less, as some network file systems do, is followed by another)."""
    parts = []
    while n > 0:
        data = os.pread(fd, n, offset)
        if not data:
            break
        parts.append(data)
        offset += len(data)
        n -= len(data)
    return parts[0] if len(parts) == 1 else b"".join(parts)


#: The bytes at each end of a file whose CRC-32 :meth:`Corpus.fingerprint` takes.
PRINT_SAMPLE = 1 << 16


def _ends_print(size: int, head: bytes, tail: Callable[[], bytes], sample: int) -> List[int]:
    """[size, CRC-32 of ``head`` (a file's first ``sample`` bytes), CRC-32 of ``tail()`` (its last)]: the last
    are the first in a file no larger than ``sample``, and ``tail`` is then not called."""
    first = zlib.crc32(head)
    return [size, first, first if size <= sample else zlib.crc32(tail())]


def _file_print(path: str, sample: int) -> List[int]:
    """[size, CRC-32 of the first and of the last ``sample`` bytes] of the file at ``path``, read with the
    operating system's calls, a file no larger than ``sample`` once (its first bytes are its last)."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            return _ends_print(size, _read_at(fd, 0, sample), lambda: _read_at(fd, size - sample, sample), sample)
        finally:
            os.close(fd)
    except OSError as error:
        raise compression.read_error(path, error) from None


class _PrintTaker:
    """:func:`_file_print` of a plain file (``PRINT_SAMPLE`` bytes) taken from its bytes as a pass reads them
    in order (:meth:`add` each read), so that the fingerprint after a pass reads no file again (0.6 s for a
    folder of 100,000 small files). Holds the first bytes and the last reads that cover the
    sample (references to the reads, not copies)."""

    def __init__(self) -> None:
        self.size = 0
        self.head = b""
        self.recent: collections.deque = collections.deque()
        self.recent_bytes = 0

    def add(self, data: bytes) -> None:
        if len(self.head) < PRINT_SAMPLE:
            self.head += data[:PRINT_SAMPLE - len(self.head)]
        self.size += len(data)
        self.recent.append(data)
        self.recent_bytes += len(data)
        while self.recent_bytes - len(self.recent[0]) >= PRINT_SAMPLE:
            self.recent_bytes -= len(self.recent.popleft())

    def value(self) -> List[int]:
        def tail() -> bytes:
            last = self.recent[-1]
            return last[-PRINT_SAMPLE:] if len(last) >= PRINT_SAMPLE else b"".join(self.recent)[-PRINT_SAMPLE:]
        return _ends_print(self.size, self.head, tail, PRINT_SAMPLE)


class FileSources(collections.abc.Sequence):
    """The sources of a corpus's files (:meth:`Corpus.sources`), each made when it is asked for:
    ``make(i)`` for each ``i`` of ``indexes`` (a slice is another such sequence). A list of them made at
    once would be as many objects as files, kept while the files are read, which Python's garbage
    collector walks again and again as the list grows (most of the time it takes to make it)."""

    def __init__(self, make: Callable[[int], Callable[[], Iterator]], indexes: range):
        self.make, self.indexes = make, indexes

    def __len__(self) -> int:
        return len(self.indexes)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return FileSources(self.make, self.indexes[i])
        return self.make(self.indexes[i])


class Corpus:
    """A re-readable stream of sentence pieces from one or more sources.

    Parameters
    ----------
    paths : the user's inputs (files, folders, ``-``); expanded by :func:`resolve_sources`.
    lowercase : lowercase every token (Unicode-aware).
    block_size : bytes read at a time; bounds memory for lines of any length.
    progress : show a tqdm bar of bytes read on stderr.
    keep_fingerprint : take each plain file's :meth:`fingerprint` as a pass reads it (training, which
        records it, asks for this; it costs about 0.7 µs a file, and saves reading every file again).

    Standard input, and a pipe or device named as a file (``<(zcat a.gz)``,
    ``/dev/stdin``), can be read once only (:attr:`read_once`): a second pass
    over such a corpus raises ``ValueError`` (train from a file, or use the
    encoded-corpus cache, to make two passes).
    """

    def __init__(self, paths: Sequence[str], lowercase: bool = False,
                 block_size: int = DEFAULT_BLOCK_SIZE, progress: bool = False, keep_fingerprint: bool = False):
        if not 64 <= block_size <= MAX_BLOCK_SIZE:
            raise ValueError(f"block_size must be at least 64 bytes and at most {MAX_BLOCK_SIZE:,}, got {block_size}")
        self.files = resolve_sources(paths)
        self.lowercase = lowercase
        self.block_size = block_size
        self.progress = progress
        # the inputs that can be read once only, as messages name them; a folder's files are regular files
        # (:func:`resolve_sources`), so only the paths named are looked at
        self._once_names = {path: name for path, name in zip(paths, map(_read_once_name, paths)) if name}
        #: The first input that can be read once only, as messages name it ("standard input", or a pipe's
        #: path), or None.
        self.read_once: Optional[str] = next(iter(self._once_names.values()), None)
        self._once_read: set = set()  # those of them read already
        self._total: Optional[int] = None  # the files' bytes, taken once (a folder may hold a million files)
        # with keep_fingerprint, file i's fingerprint as the last pass that read it whole saw it, at [3i, 3i + 3)
        # (size -1: none yet): 24 bytes a file, not a list of Python ints (a folder may hold a million files)
        self.keep_fingerprint = keep_fingerprint
        self._prints = array.array("q", [-1]) * (3 * len(self.files) if keep_fingerprint else 0)

    def fingerprint(self, sample: int = PRINT_SAMPLE) -> Optional[List[List[int]]]:
        """A cheap identity of the files: [size, CRC-32 of the first and of the last ``sample`` bytes]
        each (compressed files as they lie on disk); None when an input can be read once only (standard
        input, a pipe: reading it here would take its text). With ``keep_fingerprint``, a plain file that
        a pass over this corpus read whole has it from that reading (the bytes the pass saw); any other
        file is read here (:func:`_file_print`): a folder may hold a million small files."""
        if self.read_once:
            return None
        kept = self._prints if sample == PRINT_SAMPLE else None
        return [kept[3 * i:3 * i + 3].tolist() if kept and kept[3 * i] >= 0 else _file_print(path, sample)
                for i, path in enumerate(self.files)]

    # -- raw blocks -----------------------------------------------------------------
    def _open(self, path: str, threads: Optional[int] = None) -> Tuple[BinaryIO, BinaryIO]:
        """Return (decompressed stream, raw stream whose position counts progress); close both. ``threads``:
        the threads a .bz2 or .xz file's blocks are inflated on (None: every core)."""
        once = self._once_names.get(path)
        if once:
            if path in self._once_read:
                raise ValueError(f"{once} was already read (it can be read once only); train from a file to "
                                 f"make two passes")
            self._once_read.add(path)
        if path == STDIN:
            stream = sys.stdin.buffer
            return stream, stream
        ext = os.path.splitext(path)[1].lower()
        opener = _OPENERS.get(ext)
        if opener is None:  # unbuffered: each read of a block is one system call into its bytes, no copy
            raw = _open_file(path, buffering=0)
            return raw, raw
        raw = _open_file(path)
        try:
            if ext in compression.READERS:
                return compression.decompressing(raw, ext, threads), raw
            return opener(raw), raw  # (a .zip archive)
        except BaseException as error:  # the file is not left open
            raw.close()
            # a .zip file's directory is read at once; an OSError already says what is wrong (no zstandard
            # for a .zst file, what a .zip file holds)
            if isinstance(error, _READ_ERRORS) and not isinstance(error, OSError):
                raise _unreadable(path, error) from None
            raise

    def part(self, k: int, n: int) -> "CorpusPart":
        """Part ``k`` of ``n`` of this corpus (:class:`CorpusPart`): every token is in exactly one part."""
        return CorpusPart(self.files, k, n, lowercase=self.lowercase, block_size=self.block_size)

    def _total_bytes(self) -> Optional[int]:
        """The files' bytes as they lie on disk (None when an input can be read once only): the bars' totals,
        a hint taken at the first pass and kept."""
        if self.read_once:
            return None
        if self._total is None:
            total = 0
            for path in self.files:
                try:
                    total += os.path.getsize(path)
                except OSError as error:  # (gone since the folder was listed)
                    raise compression.read_error(path, error) from None
            self._total = total
        return self._total

    def plain_bytes(self) -> Optional[int]:
        """The bytes of text the corpus holds when every file is read as it is (no standard input, no
        compressed file), else None."""
        if self.read_once or any(os.path.splitext(f)[1].lower() in _OPENERS for f in self.files):
            return None
        return self._total_bytes()

    def blocks(self, desc: str = "reading", threads: Optional[int] = None) -> Iterator[Tuple[bytes, bool]]:
        """Yield ``(block, ends_file)``: byte blocks that never split a token (``threads``: see :meth:`sources`).

        Each block ends at white space (or at the end of a file), so tokens are
        whole. A single token longer than ``block_size`` is cut (the only way
        to keep memory bounded on input with no white space at all).
        """
        bar = self.progress_bar(desc)
        try:
            for source in self.sources(bar, threads):
                yield from source()
        finally:
            bar.close()

    def progress_bar(self, desc: str) -> tqdm:
        """The bar of bytes read that :meth:`sources` update (thread-safe; disabled without ``progress``)."""
        return ProgressBar(total=self._total_bytes(), unit="B", unit_scale=True, desc=desc,
                           disable=not self.progress, leave=False)

    def sources(self, bar: tqdm, threads: Optional[int] = None) -> Sequence[Callable[[], Iterator[Tuple[bytes, bool]]]]:
        """One function per file, in order, each making the iterator of that file's :meth:`blocks`
        (which it opens and closes): :meth:`blocks` is their blocks one file after the other, and
        :func:`w2v.scan.pieces` reads several at once on threads of their own (decompressing one file
        is sequential, several files are not, and a .bz2 or .xz file's blocks are inflated on ``threads``
        threads: the command's, None for every core)."""
        return FileSources(lambda i: functools.partial(self._whole_file_blocks, i, bar, threads),
                           range(len(self.files)))

    def _whole_file_blocks(self, i: int, bar: tqdm, threads: Optional[int] = None) -> Iterator[Tuple[bytes, bool]]:
        """File ``i``'s blocks (:meth:`_file_blocks`); a plain file's fingerprint is taken as it is read."""
        path = self.files[i]
        stream, raw = self._open(path, threads)
        try:
            first, taker = b"", None
            keep = self.keep_fingerprint
            if stream is raw and stream is not sys.stdin.buffer:  # a plain file: a small one is one item
                first = self._read(path, stream)
                check_text_head(path, first)
                if len(first) < self.block_size:
                    more = self._read(path, stream)  # (a short read is the end on a local disk, not everywhere)
                    if not more:
                        bar.update(len(first))
                        if keep:
                            self._keep_print(i, _ends_print(len(first), first[:PRINT_SAMPLE],
                                                            lambda: first[-PRINT_SAMPLE:], PRINT_SAMPLE))
                        yield self._lower(first), True
                        return
                    first += more
                taker = _PrintTaker() if keep else None
            yield from self._file_blocks(path, stream, raw, bar, first, taker, i)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
                raw.close()

    def _read(self, path: str, stream: BinaryIO) -> bytes:
        """Up to a block of ``stream`` (``path``'s); a stream that cannot be read is an ``OSError`` naming it."""
        try:
            return stream.read(self.block_size)
        except _READ_ERRORS as error:
            raise _unreadable(path, error) from None

    def _keep_print(self, i: int, value: List[int]) -> None:
        j = 3 * i
        self._prints[j], self._prints[j + 1], self._prints[j + 2] = value

    def _file_blocks(self, path, stream, raw, bar, first: bytes = b"", taker: Optional[_PrintTaker] = None,
                     i: int = -1) -> Iterator[Tuple[bytes, bool]]:
        """The blocks of ``stream``, each ending at white space (:meth:`blocks`), the last with ``True``;
        ``first``: bytes already read from it, taken before the rest; ``taker``: takes the fingerprint of
        the corpus's file ``i`` from its reads (kept once the file is read to its end). Text that starts at
        the file's start (standard input, a decompressed file, a part's first range) is refused if it begins
        compressed data or an archive (:func:`check_text_head`; a plain file's ``first`` was looked at
        already)."""
        carry = b""
        position = 0
        head = not first and getattr(stream, "start", 0) == 0
        while True:
            data, first = (first, b"") if first else (self._read(path, stream), b"")
            if head:
                check_text_head(source_name(path), data, stream is not raw)
                head = False
            if taker is not None:
                if data:
                    taker.add(data)
                else:
                    self._keep_print(i, taker.value())
            try:  # compressed bytes read so far, so the bar matches the file size
                now = raw.tell()
            except (OSError, ValueError):  # a pipe
                now = position + len(data)
            bar.update(now - position)
            position = now
            if not data:
                if carry:
                    yield self._lower(carry), True
                else:
                    yield b"", True
                return
            cut = _last_space(data)  # the carry never holds white space: it is what followed the last
            if cut < 0:
                block = carry + data
                if len(block) >= self.block_size:  # one giant token: cut it
                    yield self._lower(block), False
                    carry = b""
                else:
                    carry = block
                continue
            if not carry and cut + 1 == len(data):
                block = data
            else:  # one copy: the carry and the data up to the cut
                block = b"".join((carry, memoryview(data)[:cut + 1]))
            carry = data[cut + 1:]
            yield self._lower(block), False

    def _lower(self, block: bytes) -> bytes:
        if not self.lowercase:
            return block
        if block.isascii():
            return block.lower()
        # surrogateescape keeps invalid bytes as they are for the vocabulary to count
        return block.decode("utf-8", "surrogateescape").lower().encode("utf-8", "surrogateescape")

    # -- tokens and sentences -------------------------------------------------------
    def tokens(self, desc: str = "counting") -> Iterator[List[bytes]]:
        """Yield lists of tokens, block by block (line structure ignored)."""
        for block, _ in self.blocks(desc):
            toks = block.split()
            if toks:
                yield toks

    def pieces(self, desc: str = "encoding") -> Iterator[Tuple[List[bytes], bool]]:
        """Yield ``(tokens, ends_sentence)`` pieces of lines.

        A line that spans several blocks comes as several pieces, the last with
        ``ends_sentence`` True; a line never runs on into the next file.
        """
        for block, ends_file in self.blocks(desc):
            lines = block.split(b"\n")
            last = len(lines) - 1
            for i, line in enumerate(lines):
                if i < last:
                    yield line.split(), True
                elif line or ends_file:
                    yield line.split(), ends_file


#: A plain file smaller than this is not cut into parts: it goes whole to one part.
MIN_PART_BYTES = 1 << 16


class _Range:
    """A binary stream over bytes ``[start, end)`` of a file (``read`` and ``tell`` only)."""

    def __init__(self, file: BinaryIO, start: int, end: int):
        self.file, self.start, self.end = file, start, end
        file.seek(start)

    def read(self, size: int) -> bytes:
        return self.file.read(max(0, min(size, self.end - self.file.tell())))

    def tell(self) -> int:
        return self.file.tell()

    def close(self) -> None:
        self.file.close()


def token_start(file: BinaryIO, offset: int, size: int) -> int:
    """The first place at or after ``offset`` where a token may start: 0, ``size``, or just after white space."""
    if offset <= 0:
        return 0
    position = offset - 1
    file.seek(position)
    while position < size:
        data = file.read(1 << 16)
        if not data:
            break
        cuts = [i for i in (data.find(w) for w in _WHITESPACE) if i >= 0]
        if cuts:
            return position + min(cuts) + 1
        position += len(data)
    return size


#: :attr:`CorpusPart.roles` of a file cut into ranges, one a part (a plain file's bytes, the text of an
#: .xz file of several blocks).
CUT = -1
#: :attr:`CorpusPart.roles` of a compressed file every part inflates, keeping every ``n``-th block.
SHARED = -2
#: :attr:`CorpusPart.roles` of a .bz2 file that :func:`split_roles` would share: cut by its blocks instead,
#: a part inflating the blocks whose marks lie in its share of the file's bytes (:class:`w2v.bzip2.Bzip2Range`).
BLOCKS = -3
#: How far above an even share of the corpus's bytes a part may get from dealing compressed files of
#: each kind whole before the largest of them is shared instead (:func:`split_roles`). Every round of
#: distributed training waits for the part with the most words, so a part 2 % over makes every epoch 2 %
#: longer; sharing a file among ``n`` parts makes each inflate ``1 - 1/n`` of it more, twice a run
#: (counting, encoding). On one core bzip2 inflates about 24 MB of text a second, xz about 70, zlib and
#: zstd hundreds, against some 6 MB/s trained (sg-ns): over 5 epochs, sharing costs a part about 10 %
#: (2 parts) to 30 % (4 parts) of its training time for .bz2, 3-10 % for .xz and 1-2 % for .gz or .zst.
DEAL_BALANCE = {".bz2": 0.2, ".xz": 0.05}
#: :data:`DEAL_BALANCE` of the other compressed files.
DEAL_BALANCE_OTHER = 0.02


def deal_files(sizes: Sequence[int], n: int) -> List[int]:
    """The part (``0 .. n - 1``) each file goes to: the largest first, each to the part with the fewest
    bytes so far (ties: the lower part; equal sizes: the earlier file), Graham's longest-processing-time
    rule, whose largest part is at most the even share plus the largest file (and within 4/3 of the best)."""
    loads = [(0, k) for k in range(n)]  # a heap of (bytes, part)
    parts = [0] * len(sizes)
    for i in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        load, k = heapq.heappop(loads)
        parts[i] = k
        heapq.heappush(loads, (load + sizes[i], k))
    return parts


def split_roles(sizes: Sequence[int], tolerances: Sequence[Optional[float]], n: int) -> List[int]:
    """How :class:`CorpusPart` splits files of these sizes on disk among ``n`` parts (``tolerances``: each
    compressed file's :data:`DEAL_BALANCE`, None for a file that can be cut: plain, or .xz of several
    blocks): :data:`CUT` for such a file of at least ``n`` times :data:`MIN_PART_BYTES`; the others are
    dealt whole (:func:`deal_files`) unless a part would get more above an even share of all the files'
    bytes (the cut and shared ones spread evenly) than the largest compressed file's tolerance; then
    that file is made :data:`SHARED` and the rest dealt again, until the deal is even enough or no
    compressed file is left to share (small plain files are each under ``n`` times
    :data:`MIN_PART_BYTES`). Bytes on disk are what is weighed: a compressed file holds several times its
    size in text, but a corpus's files are mostly compressed alike. The same sizes give the same roles
    on every machine."""
    roles = [CUT if tolerance is None and size >= MIN_PART_BYTES * n else 0
             for size, tolerance in zip(sizes, tolerances)]
    whole = [i for i in range(len(sizes)) if roles[i] != CUT]
    shareable = sorted((i for i in whole if tolerances[i] is not None), key=lambda i: (-sizes[i], i))
    total = sum(sizes)
    while whole:
        dealt = deal_files([sizes[i] for i in whole], n)
        loads = [0] * n
        for i, k in zip(whole, dealt):
            loads[k] += sizes[i]
        spread = (total - sum(loads)) / n  # the cut and shared files' bytes, even over the parts
        if not shareable or max(loads) + spread <= (1 + tolerances[shareable[0]]) * total / n:
            for i, k in zip(whole, dealt):
                roles[i] = k
            break
        largest = shareable.pop(0)
        roles[largest] = SHARED
        whole.remove(largest)
    return roles


#: The layouts of .bz2 files cut by their blocks that this process keeps, by (path, size, mtime in ns),
#: the most recently used last: a worker that counts its part and then encodes it scans the file once,
#: and a cluster's client gives every worker the layout its workers found together
#: (:func:`keep_bzip2_layout`), so that none scans the whole file.
_BZIP2_LAYOUTS: "collections.OrderedDict[Tuple[str, int, int], Optional[List[bzip2.Block]]]" = \
    collections.OrderedDict()
#: How many layouts a process keeps.
BZIP2_LAYOUTS_KEPT = 16
_BZIP2_LAYOUTS_LOCK = threading.Lock()


def keep_bzip2_layout(path: str, size: int, mtime_ns: int, blocks: Optional[List[bzip2.Block]]) -> None:
    """Keep ``blocks`` (:func:`w2v.bzip2.layout_of`, None if uncertain) as the layout of the .bz2 file
    ``path`` while its size and modification time are ``size`` and ``mtime_ns``."""
    with _BZIP2_LAYOUTS_LOCK:
        _BZIP2_LAYOUTS[(path, size, mtime_ns)] = blocks
        _BZIP2_LAYOUTS.move_to_end((path, size, mtime_ns))
        while len(_BZIP2_LAYOUTS) > BZIP2_LAYOUTS_KEPT:
            _BZIP2_LAYOUTS.popitem(last=False)


def forget_bzip2_layouts() -> None:
    """Drop every kept layout: the next part of a .bz2 file cut by its blocks scans the file again."""
    with _BZIP2_LAYOUTS_LOCK:
        _BZIP2_LAYOUTS.clear()


def _bzip2_layout(path: str, size: int, mtime_ns: int) -> Optional[List[bzip2.Block]]:
    """The kept layout of the unchanged .bz2 file ``path``, else :func:`w2v.bzip2.blocks_of` of it (the
    whole file read, not inflated), kept for this process's later passes."""
    key = (path, size, mtime_ns)
    with _BZIP2_LAYOUTS_LOCK:
        if key in _BZIP2_LAYOUTS:
            _BZIP2_LAYOUTS.move_to_end(key)
            return _BZIP2_LAYOUTS[key]
    with open(path, "rb") as raw:
        blocks = bzip2.blocks_of(raw)
    keep_bzip2_layout(path, size, mtime_ns, blocks)
    return blocks


def bzip2_scan_share(path: str, k: int, n: int) -> Tuple[int, int, bytes, List[bzip2.Mark]]:
    """Share ``k`` of ``n`` of the scan for the layout of the .bz2 file ``path``: its size and
    modification time (ns), its first 4 bytes, and the marks that start in byte range ``k`` of it
    (:func:`w2v.bzip2.marks_in`). The shares' marks joined in order, with the first 4 bytes, give its
    layout (:func:`w2v.bzip2.layout_of`): each of ``n`` machines reads ``1/n`` of the file instead of
    all of it."""
    try:
        with open(path, "rb") as raw:
            info = os.fstat(raw.fileno())
            head = raw.read(4)
            marks = bzip2.marks_in(raw, info.st_size * k // n, info.st_size * (k + 1) // n)
    except OSError as error:
        raise compression.read_error(path, error) from None
    return info.st_size, info.st_mtime_ns, head, marks


class CorpusPart(Corpus):
    """Part ``k`` of ``n`` of a corpus's files, for counting and training on several machines.

    A plain file of at least :data:`MIN_PART_BYTES` times ``n`` bytes is cut into ``n`` byte ranges of
    about equal size, moved forward to where a token starts (:func:`token_start`), so that every token
    lies in exactly one part; part ``k`` reads range ``k`` of every such file. So is the text of an .xz
    file of several blocks (``xz -T``, pixz), whose index gives every block's place and text size: a part
    inflates only the blocks of its range and those where its ends are found (:class:`w2v.xz.XzRange`).
    The other files (smaller plain files, and compressed files, whose streams cannot be cut at a byte
    offset) are dealt whole to the parts by size (:func:`deal_files`), so that each is read, and
    inflated, by one part only. Where that cannot be done near enough an even split
    (:data:`DEAL_BALANCE`: a compressed file too large against the others, a single dump), the largest
    compressed files are shared instead. A .bz2 file so shared is cut by its blocks (:data:`BLOCKS`): a
    part inflates the blocks whose marks lie in its share of the file's bytes, laid out from the whole
    file's marks, its ends moved to just after white space (:class:`w2v.bzip2.Bzip2Range`). Every part
    inflates any other shared file and keeps the blocks ``j`` with ``j mod n == k`` (blocks end at white
    space, :meth:`Corpus.blocks`), which splits its text evenly at the cost of inflating it ``n`` times.
    A part's share of the words sets how long it trains each round, the slowest part setting the pace, so
    balance comes before saving the inflating. The parts' counts therefore add up to the whole corpus's
    counts exactly. A line that crosses a cut is two sentences, one in each part; nothing else differs
    from reading the whole corpus. Every part computes the same split from the files' sizes on disk.
    Standard input cannot be cut.
    """

    def __init__(self, files: Sequence[str], k: int, n: int, lowercase: bool = False,
                 block_size: int = DEFAULT_BLOCK_SIZE):
        if STDIN in files:
            raise ValueError("standard input cannot be shared among several machines; save it to a file")
        if not 0 <= k < n:
            raise ValueError(f"part {k} of {n} does not exist")
        super().__init__(files, lowercase=lowercase, block_size=block_size)
        self.k, self.n = k, n
        sizes = []
        for path in self.files:
            try:
                sizes.append(os.path.getsize(path))
            except OSError as error:
                raise compression.read_error(path, error) from None
        extensions = [os.path.splitext(path)[1].lower() for path in self.files]
        tolerances = [DEAL_BALANCE.get(ext, DEAL_BALANCE_OTHER) if ext in _OPENERS else None for ext in extensions]
        #: file -> the blocks of an .xz file of several blocks, which is cut by its text as a plain file is
        self._xz_blocks = {}
        for i, (path, ext, size) in enumerate(zip(self.files, extensions, sizes)):
            if ext == ".xz" and size >= MIN_PART_BYTES * n:
                try:
                    with open(path, "rb") as raw:
                        blocks = xz.blocks_of(raw)
                except OSError as error:
                    raise compression.read_error(path, error) from None
                if blocks is not None:
                    self._xz_blocks[i], tolerances[i] = blocks, None
        #: How each file is split: :data:`CUT` (byte ranges), :data:`SHARED` (every part inflates it and
        #: keeps every ``n``-th block), :data:`BLOCKS` (a .bz2 file that would be shared, cut by its blocks)
        #: or the part that reads it whole (:func:`split_roles`).
        self.roles: List[int] = [BLOCKS if role == SHARED and ext == ".bz2" else role
                                 for role, ext in zip(split_roles(sizes, tolerances, n), extensions)]
        self._sizes = sizes

    def _total_bytes(self) -> Optional[int]:
        return None

    def progress_bar(self, desc: str) -> tqdm:
        return tqdm(disable=True)

    def sources(self, bar: tqdm, threads: Optional[int] = None) -> Sequence[Callable[[], Iterator[Tuple[bytes, bool]]]]:
        return FileSources(lambda i: functools.partial(self._part_blocks, i, self.files[i], bar, threads),
                           range(len(self.files)))

    def _part_blocks(self, i: int, path: str, bar: tqdm, threads: Optional[int] = None) -> Iterator[Tuple[bytes, bool]]:
        role = self.roles[i]
        if role == SHARED:
            yield from self._shared_blocks(path, bar, threads)
        elif role == BLOCKS:
            yield from self._bzip2_range(i, path, bar, threads)
        elif role != CUT:
            if role == self.k:
                yield from self._opened_blocks(path, bar, threads)
        elif i in self._xz_blocks:
            yield from self._xz_range(path, self._xz_blocks[i], bar, threads)
        else:
            size = self._sizes[i]
            with _open_file(path) as file:
                start = token_start(file, size * self.k // self.n, size)
                end = token_start(file, size * (self.k + 1) // self.n, size)
                stream = _Range(file, start, end)
                yield from self._file_blocks(path, stream, stream, bar)

    def _opened_blocks(self, path: str, bar: tqdm, threads: Optional[int]) -> Iterator[Tuple[bytes, bool]]:
        """The blocks of a whole file, opened (and decompressed) as :meth:`Corpus._open` opens it."""
        stream, raw = self._open(path, threads)
        try:
            yield from self._file_blocks(path, stream, raw, bar)
        finally:
            stream.close()
            raw.close()

    def _shared_blocks(self, path: str, bar: tqdm, threads: Optional[int]) -> Iterator[Tuple[bytes, bool]]:
        """The blocks ``j`` with ``j mod n == k`` of a file every part reads whole (:data:`SHARED`)."""
        for j, (block, ends_file) in enumerate(self._opened_blocks(path, bar, threads)):
            if ends_file:
                yield (block if j % self.n == self.k else b""), True
            elif j % self.n == self.k:
                yield block, False

    def _bzip2_range(self, i: int, path: str, bar: tqdm, threads: Optional[int]) -> Iterator[Tuple[bytes, bool]]:
        """The text of the blocks of a .bz2 file (:data:`BLOCKS`) whose marks lie in byte range ``k`` of the
        file, its ends moved to just after white space (:class:`w2v.bzip2.Bzip2Range`). Every part lays out
        the blocks from the whole file's marks (the layout a cluster's workers found together, given to
        this process by :func:`keep_bzip2_layout`; else :func:`w2v.bzip2.blocks_of`, reading the whole
        file, not inflating it, once a process: :func:`_bzip2_layout`); where that layout is not certain
        (a mark found by chance, damage), every part finds it so and reads the file as a :data:`SHARED`
        one, whose reading raises the whole file's error if any."""
        try:
            info = os.stat(path)
            blocks = _bzip2_layout(path, info.st_size, info.st_mtime_ns)
        except OSError as error:  # (gone, or unreadable, since the corpus was split)
            raise compression.read_error(path, error) from None
        if blocks is None:
            yield from self._shared_blocks(path, bar, threads)
            return
        bits, size = [block.bit for block in blocks], self._sizes[i] * 8
        first = bisect.bisect_left(bits, size * self.k // self.n)
        last = bisect.bisect_left(bits, size * (self.k + 1) // self.n)
        with _open_file(path) as raw:
            stream = bzip2.Bzip2Range(raw, blocks, first, last, SEPARATORS, threads)
            try:
                yield from self._file_blocks(path, stream, raw, bar)
            finally:
                stream.close()

    def _xz_range(self, path: str, blocks, bar: tqdm, threads: Optional[int]) -> Iterator[Tuple[bytes, bool]]:
        """Range ``k`` of the text of an .xz file of many blocks, cut as a plain file's bytes are (its
        places found in the blocks that hold them, :class:`w2v.xz.TextAt`), only the blocks that hold
        the range inflated (:class:`w2v.xz.XzRange`)."""
        with _open_file(path) as raw:
            text = xz.TextAt(raw, blocks)
            try:  # (the blocks where the range's ends are found are kept, and not inflated again)
                end = text.size if self.k == self.n - 1 else token_start(text, text.size * (self.k + 1) // self.n,
                                                                         text.size)
                start = token_start(text, text.size * self.k // self.n, text.size)
            except _READ_ERRORS as error:  # (a damaged block: the whole file's reading would fail too)
                raise _unreadable(path, error) from None
            stream = xz.XzRange(raw, blocks, start, end, threads, known=text.kept)
            try:
                yield from self._file_blocks(path, stream, raw, bar)
            finally:
                stream.close()
