"""Compressed files by their extension: .gz, .bz2, .xz and .zst, read and written as streams.

One table for every reader and writer of w2v: corpora (:mod:`w2v.corpus`), word2vec vectors files
(:mod:`w2v.formats`: ``GoogleNews-vectors-negative300.bin.gz`` and fastText's ``.vec.gz`` as they are
downloaded), the text the phrase pass writes and its tables (:mod:`w2v.phrases`), vocabularies, classes
and evaluation sets. Not native or model files, which are read memory-mapped. A name's last extension decides,
as for gzip, bzip2, xz and zstd themselves; what a compressed file holds is decided by the name
without it (``vectors.txt.gz`` is word2vec text).

Reading: gzip with python-isal when installed (the ``gzip`` extra; the same bytes as the standard
library's, inflated 3-4x as fast), zstd with zstandard (the ``zstd`` extra) frame by frame
(:class:`_ZstdRaw`), xz and bzip2 block by block on several threads (:mod:`w2v.xz`, :mod:`w2v.bzip2`; an
xz file of one block on one thread). A damaged stream after the first is an error,
as in the gzip, bzip2 and xz tools, not the silent end of the text it is for the standard library's
bzip2 and xz readers (:mod:`w2v.streams`). A cut or damaged file raises one of
:data:`READ_ERRORS`; :func:`unreadable` is its one-line message. A deflated file inside a .zip archive
(read as a folder by :mod:`w2v.corpus`) is inflated by :func:`raw_inflater`, python-isal's too.

Writing: :func:`compressing` wraps an open binary stream; closing the wrapper writes the end of the
compressed data and leaves the stream open. gzip at level 6 (the gzip tool's default), or python-isal's
level 2 when installed, which writes text some 20 times as fast into a file about a seventh larger
(benchmarks/README.md, "Compressed word2vec files"); either with no file name and a zero time in its
header, so that the same text gives the same bytes. bzip2 at level 9, xz at preset 6, zstd at level 3
with a checksum in every frame (the tools' defaults).

This module imports neither Numba nor tqdm.
"""
from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
import zipfile
import zlib
from typing import BinaryIO, Callable, Dict, Iterator, Optional

from . import bzip2, xz

__all__ = ["EXTENSIONS", "READ_ERRORS", "NeedsPackage", "check_can_write", "compression_of", "compressing",
           "decompressing", "open_read", "raw_inflater", "read_error", "unreadable", "without_compression",
           "zip_data_offset"]

try:  # python-isal (the ``gzip`` extra)
    from isal import igzip as _isal_gzip
    from isal import isal_zlib as _isal_zlib
    from isal.isal_zlib import error as _IsalError
except ImportError:
    _isal_gzip, _isal_zlib, _IsalError = None, None, zlib.error
try:  # zstandard (the ``zstd`` extra)
    import zstandard as _zstandard
    _ZstdError = _zstandard.ZstdError
except ImportError:
    _zstandard, _ZstdError = None, zlib.error

#: What the readers raise on damaged, cut or mislabelled data: damage inside a .gz stream is zlib.error
#: (or isal's), a cut one EOFError; bzip2's damage is OSError, xz's LZMAError, zstd's ZstdError.
READ_ERRORS = (OSError, EOFError, zlib.error, _IsalError, lzma.LZMAError, _ZstdError)


def unreadable(name: str, error: BaseException) -> OSError:
    """The one-line error for compressed data that cannot be read (``name``: how the message names it)."""
    return OSError(f"{name}: cannot read compressed data ({error}); is the file complete and is its extension right?")


class _ZstdRaw(io.RawIOBase):
    """The text of a .zst file, frame after frame, that raises ``EOFError`` when the file ends inside a
    frame. (zstandard's own ``stream_reader`` returns a cut file's text up to the cut without a word, and
    a file cut short must be an error, as a cut .gz, .bz2 or .xz file is.) Damage inside a frame is found
    by the frame's checksum, which the zstd tool (and :func:`compressing`) writes by default; a frame
    written without one (``zstd --no-check``) cannot show it."""

    #: Compressed bytes decompressed at a time: a frame object's ``decompress`` returns all the text of
    #: what it is given, so this bounds the text held at once (about 200 KB for wiki8's ratio of 3; wiki8
    #: read as fast with 16, 64 or 128 KB). A file compressed far more than text is holds more: 60 MB of
    #: one repeated line, 5.5 KB compressed, peaked 33 MB above the same text read plain.
    READ_BYTES = 64 << 10

    def __init__(self, raw: BinaryIO):
        super().__init__()
        self._raw = raw
        self._decompressor = _zstandard.ZstdDecompressor()
        self._frame = None  # the decompressor object of the frame being read; None between frames
        self._text = b""  # text decompressed and not yet handed out from ``_at`` on
        self._at = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self._at == len(self._text):
            data = self._raw.read(self.READ_BYTES)
            if not data:
                if self._frame is not None:
                    raise EOFError("the file ends inside a zstd frame")
                return 0
            parts = []
            while data:  # the frames that end in these bytes, and the start of the next
                if self._frame is None:
                    self._frame = self._decompressor.decompressobj()
                parts.append(self._frame.decompress(data))
                if not self._frame.eof:
                    break
                data, self._frame = self._frame.unused_data, None
            self._text, self._at = b"".join(parts), 0
        n = min(len(buffer), len(self._text) - self._at)
        buffer[:n] = memoryview(self._text)[self._at:self._at + n]
        self._at += n
        return n


class NeedsPackage(OSError):
    """A compressed file whose format needs a package that is not installed (the message says which)."""


def _needs_zstandard(file, doing: str) -> OSError:
    """``file``: a path, or a file object (named by its name)."""
    name = file if isinstance(file, str) else getattr(file, "name", "the file")
    return NeedsPackage(f"{name}: {doing} .zst files needs the zstandard package (pip install 'w2v[zstd]')")


def _read_zstd(raw: BinaryIO) -> BinaryIO:
    """A .zst file's text (:class:`_ZstdRaw`), buffered; an ``OSError`` when zstandard is not installed."""
    if _zstandard is None:
        raise NeedsPackage(f"{_needs_zstandard(raw, 'reading')}; "
                           f"or decompress it on the way in (zstdcat FILE | w2v ...)")
    return io.BufferedReader(_ZstdRaw(raw), buffer_size=1 << 20)


#: The reader of each compressed extension, given the file opened for reading in binary. One stream is
#: inflated by one thread: gzip with the standard library at ~300 MB/s of text, about what counting does
#: on two cores, with python-isal at ~1.1 GB/s (benchmarks/README.md, "Compressed corpora"); but bzip2,
#: ~26 MB/s a thread, and xz, ~70 MB/s, block by block on several threads (:mod:`w2v.bzip2`, :mod:`w2v.xz`).
READERS: Dict[str, Callable[[BinaryIO], BinaryIO]] = {
    ".gz": _isal_gzip.open if _isal_gzip is not None else gzip.open,
    ".bz2": bzip2.open_read, ".xz": xz.open_read, ".zst": _read_zstd}
#: The extensions :func:`decompressing` and :func:`compressing` know.
EXTENSIONS = tuple(READERS)


def raw_inflater():
    """An inflater of raw deflate data (no header: a zip member's), python-isal's when installed (3-4x
    the standard library's speed), else zlib's: ``decompress(data, max_length)``, ``unconsumed_tail``, ``eof``."""
    return (_isal_zlib or zlib).decompressobj(-15)


def zip_data_offset(f: BinaryIO, info: zipfile.ZipInfo) -> int:
    """Where the data of the zip member ``info`` starts in the archive ``f`` (a binary file): after its
    local header, whose name and extra field may differ in length from the central directory's.
    ``zipfile.BadZipFile`` if no local header is there."""
    f.seek(info.header_offset)
    local = f.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local file header for {info.filename}")
    name_length, extra_length = int.from_bytes(local[26:28], "little"), int.from_bytes(local[28:30], "little")
    return info.header_offset + 30 + name_length + extra_length


def compression_of(path: str) -> Optional[str]:
    """The compressed extension ``path`` ends with (lower case), or None."""
    ext = os.path.splitext(path)[1].lower()
    return ext if ext in READERS else None


def without_compression(path: str) -> str:
    """``path`` without its compressed extension, if it has one (``vectors.bin.gz``: ``vectors.bin``)."""
    return os.path.splitext(path)[0] if compression_of(path) else path


def check_can_write(path: str) -> None:
    """A :class:`NeedsPackage` error when ``path``'s compression needs a package that is not installed:
    checked before the work whose result it would hold."""
    if compression_of(path) == ".zst" and _zstandard is None:
        raise _needs_zstandard(path, "writing")


@contextlib.contextmanager
def open_read(path: str) -> Iterator[BinaryIO]:
    """``path`` opened for reading in binary; a compressed one (by its extension) as the stream of what
    it holds. A reader catches :data:`READ_ERRORS` and raises :func:`read_error`."""
    ext = compression_of(path)
    with open(path, "rb") as raw:
        if ext is None:
            yield raw
            return
        with decompressing(raw, ext) as f:
            yield f


def read_error(path: str, error: BaseException) -> OSError:
    """The one-line error for a file that cannot be read (one of :data:`READ_ERRORS`): a system error,
    a missing package, or compressed data that is cut, damaged or not what its extension says."""
    if isinstance(error, NeedsPackage):
        return error
    if isinstance(error, OSError) and error.errno is not None:
        return OSError(f"{path}: cannot read ({error.strerror or error})")
    return unreadable(path, error)


def decompressing(raw: BinaryIO, ext: str, threads: Optional[int] = None) -> BinaryIO:
    """A buffered stream of what ``raw`` (a binary file, read from where it stands) holds compressed
    by ``ext`` (one of :data:`EXTENSIONS`). Closing it leaves ``raw`` open: close both. ``threads``: the
    threads a .bz2 or .xz file's blocks are inflated on (None: every core; the other kinds take one thread)."""
    if ext in (".bz2", ".xz"):
        return READERS[ext](raw, threads)
    return READERS[ext](raw)


class _Compressing(io.RawIOBase):
    """Writes to ``compressor`` (a stream that compresses into ``raw``); closing it closes the compressor,
    which writes the end of its data, and leaves ``raw`` open."""

    def __init__(self, compressor):
        super().__init__()
        self._compressor = compressor

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._compressor.write(data)
        return len(memoryview(data).cast("B"))

    def close(self) -> None:
        if not self.closed:
            try:
                self._compressor.close()
            finally:
                super().close()


def compressing(raw: BinaryIO, ext: str) -> BinaryIO:
    """A binary stream that writes what it is given to ``raw`` compressed by ``ext`` (one of
    :data:`EXTENSIONS`; module docstring for the levels). Close it to finish the compressed data;
    ``raw`` stays open. An ``OSError`` for .zst when zstandard is not installed."""
    if ext == ".gz":
        if _isal_gzip is not None:
            compressor = _isal_gzip.IGzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
        else:
            compressor = gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=raw, mtime=0)
    elif ext == ".bz2":
        compressor = bz2.BZ2File(raw, "wb", compresslevel=9)
    elif ext == ".xz":
        compressor = lzma.LZMAFile(raw, "wb", preset=6)
    elif ext == ".zst":
        if _zstandard is None:
            raise _needs_zstandard(raw, "writing")
        compressor = _zstandard.ZstdCompressor(level=3, write_checksum=True).stream_writer(raw, closefd=False)
    else:
        raise ValueError(f"unknown compression {ext!r}; choose one of {', '.join(EXTENSIONS)}")
    return _Compressing(compressor)
