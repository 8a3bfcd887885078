"""Safe output: what w2v may write, checked before any work, and written atomically.

The promises (the README repeats them):

* **An output is never an input.** :func:`check_outputs` compares every
  output with every input by device and inode (``os.stat``), so a relative
  path, ``./``, a symbolic link or a hard link to an input is refused before
  anything is read. Two outputs may not be one file either.
* **Special files are never replaced.** ``-``, ``/dev/stdout`` and
  ``/dev/fd/1`` mean standard output; an existing pipe, terminal or
  ``/dev/null`` is written in place, as a stream. Any other existing path
  that is not a regular file (a folder, a device, a socket) is refused.
* **Protected files are respected.** An existing file without write
  permission (for root too: no write bit at all) is refused unless the
  caller passes ``force`` (the CLI's ``--force``); a file that is replaced
  keeps its permission bits (and, for root, its owner).
* **A file is complete or untouched.** Regular files are written to a hidden
  temporary file beside the target, flushed to disk and renamed over it
  (:func:`open_output`); any failure or signal removes the temporary file.
  A symbolic link to a regular file stays a link: its target is replaced.
* **Disk space is checked first.** :func:`check_free_space` compares what a
  run will write with the free space of each file system before the
  expensive work starts; a full disk while writing is reported with the
  file, the folder and what to do.

This module imports neither Numba nor click.
"""
from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from . import compression

__all__ = ["Output", "plan_output", "check_outputs", "open_output", "check_free_space", "file_identity",
           "STDOUT_NAMES", "describe_bytes"]

#: Paths that mean this process's standard output.
STDOUT_NAMES = ("-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


@dataclass(frozen=True)
class Output:
    """How one output will be written.

    path : the path as the user gave it (for messages).
    kind : "file" (atomic write), "stream" (an existing pipe, terminal or
        /dev/null, written in place) or "stdout".
    target : the real path written (symbolic links resolved); "" for stdout.
    """
    path: str
    kind: str
    target: str

    @property
    def folder(self) -> str:
        return os.path.dirname(self.target) if self.kind == "file" else ""


def _special_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISFIFO, "a pipe")):
        if test(mode):
            return name
    return "not a regular file"


def _is_stream_device(target: str, mode: int) -> bool:
    """Existing non-regular files written in place: pipes, /dev/null and terminals."""
    if stat.S_ISFIFO(mode):
        return True
    if stat.S_ISCHR(mode):
        return target == "/dev/null" or target == "/dev/tty" or target.startswith("/dev/pts/")
    return False


def plan_output(path: str, force: bool = False) -> Output:
    """Decide how ``path`` will be written; raise ``OSError`` now if it must not or cannot be.

    Nothing is created or changed, except a probe file made and removed in the
    target's folder to prove it is writable.
    """
    if not path:
        raise OSError("the output path is empty")
    if path in STDOUT_NAMES:
        return Output(path, "stdout", "")
    target = os.path.realpath(path)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as error:
        raise OSError(f"{path}: cannot check the output ({error.strerror or error})") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if _is_stream_device(target, st.st_mode):
            return Output(path, "stream", target)
        if stat.S_ISDIR(st.st_mode):
            raise OSError(f"{path}: is a folder; give a file name for the output")
        raise OSError(f"{path}: is {_special_kind(st.st_mode)}; w2v writes regular files, standard output (-), "
                      f"/dev/null or a pipe, and never replaces a special file")
    if st is not None and not force and (st.st_mode & 0o222 == 0 or not os.access(target, os.W_OK)):
        raise OSError(f"{path}: is read-only; w2v does not replace a protected file "
                      f"(--force replaces it and keeps its permissions)")
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise OSError(f"{path}: the folder {folder} does not exist")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".w2v-probe-")
    except OSError as error:
        raise OSError(f"{path}: cannot write in {folder} ({error.strerror or error})") from None
    os.close(fd)
    os.unlink(probe)
    return Output(path, "file", target)


def temporary_file(folder: Optional[str], prefix: str, suffix: str, what: str, remedy: str) -> Tuple[int, str]:
    """``tempfile.mkstemp`` in ``folder`` (None: the system's temporary folder): ``(fd, path)``. A folder
    where no file can be made (read-only, full, or one such as /proc) raises ``OSError`` naming it:
    "FOLDER: cannot write WHAT there (reason); REMEDY"."""
    try:
        return tempfile.mkstemp(dir=folder, prefix=prefix, suffix=suffix)
    except OSError as error:
        raise OSError(f"{folder or tempfile.gettempdir()}: cannot write {what} there ({error.strerror or error}); "
                      f"{remedy}") from None


def file_identity(path: str, stream=None) -> Optional[Tuple[int, int]]:
    """(device, inode) of what ``path`` names (``-``: ``stream``, standard input by default), or None
    if it does not exist."""
    try:
        st = os.fstat((stream or sys.stdin).fileno()) if path == "-" else os.stat(path)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None
    return st.st_dev, st.st_ino


def check_outputs(outputs: Sequence[Output], inputs: Iterable[str]) -> None:
    """Raise ``OSError`` if an output is one of the ``inputs``, lies in an input folder, or two
    outputs are one file.

    Files are compared by device and inode, so every spelling of a path
    (relative, ``./``, symbolic or hard links) is caught. Standard input
    counts as an input (``-o /dev/stdin < corpus.txt`` is the corpus). A new
    file inside a corpus folder is refused too: the next run over that folder
    would read it as text.
    """
    inputs = list(inputs)
    # one stat an input (a folder may hold a million files): whether it is a folder, and which file it is
    # where an output's file is one (the outputs' identities are looked up, not the inputs' kept)
    wanted = {file_identity("-", sys.stdout) if out.kind == "stdout" else file_identity(out.target)
              for out in outputs} - {None}
    named: Dict[Tuple[int, int], str] = {}
    folders = []
    for path in inputs:
        try:
            st = os.fstat(sys.stdin.fileno()) if path == "-" else os.stat(path)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            continue
        if path != "-" and stat.S_ISDIR(st.st_mode):
            folders.append(os.path.realpath(path))
        if (st.st_dev, st.st_ino) in wanted:
            named.setdefault((st.st_dev, st.st_ino), "standard input" if path == "-" else path)
    for out in outputs:
        for folder in folders:
            if out.kind == "file" and os.path.commonpath([folder, out.target]) == folder:
                raise OSError(f"{out.path}: lies in the corpus folder {folder}, whose files are all read as text; "
                              f"write the output elsewhere")
    seen: Dict[object, str] = {}
    for out in outputs:
        if out.kind == "stdout":
            key: object = "stdout"
            identity = file_identity("-", sys.stdout)  # `w2v train c.txt -o - >> c.txt`
            if identity is not None and identity in named:
                raise OSError(f"{out.path}: standard output is the input {named[identity]}; "
                              f"w2v never writes over an input")
        else:
            identity = file_identity(out.target)
            if identity is not None and identity in named and out.target != "/dev/null":
                raise OSError(f"{out.path}: is the same file as the input {named[identity]}; "
                              f"w2v never writes over an input (choose another output name)")
            key = identity if identity is not None else out.target
        if out.target == "/dev/null":
            continue
        if key in seen:
            raise OSError(f"{out.path}: is the same output as {seen[key]}; give each output its own file")
        seen[key] = out.path


def _disk_full_message(out: Output, error: OSError) -> str:
    where = out.folder or out.target or "standard output"
    return (f"{out.path}: the disk holding {where} is full ({error.strerror or error}); "
            f"nothing was written: free some space or write the output elsewhere")


def _write_error(out: Output, error: OSError) -> OSError:
    if error.errno in _DISK_FULL:
        return OSError(_disk_full_message(out, error))
    return OSError(f"{out.path}: cannot write ({error.strerror or error})")


class _Guard(io.RawIOBase):
    """A writable wrapper that turns write errors into messages naming the output. Once the output is
    finished with (:meth:`abandon`), what is still written to it is dropped: a buffered wrapper that could not
    be detached after a failed write (its flush raised again) flushes when it is garbage collected, and that
    must neither write into a file already given up nor raise ("Exception ignored in: <_io.BufferedWriter>",
    which Python 3.13 prints)."""

    def __init__(self, raw, out: Output):
        super().__init__()
        self._raw, self._out = raw, out

    def writable(self) -> bool:
        return True

    def abandon(self) -> None:
        self._raw = None

    def write(self, data) -> int:
        if self._raw is None:
            return len(data)
        try:
            return self._raw.write(data)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise _write_error(self._out, error) from None


@contextlib.contextmanager
def open_output(output, mode: str = "wb", force: bool = False, compress: bool = False):
    """Open an :class:`Output` (or a path, planned here) for writing; see the module docstring.

    ``mode`` is "wb" or "w" (UTF-8, ``\\n`` line ends). A regular file appears
    complete, under its name, only if the block succeeds. ``compress``: what is written is
    compressed by the path's extension, if it is one of :data:`w2v.compression.EXTENSIONS`
    (:func:`w2v.compression.compressing`), for the writers whose files are read back so.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    # planned again even when given a plan: the file system may have changed since
    out = plan_output(output.path if isinstance(output, Output) else output, force)
    if out.kind != "file":
        stream = sys.stdout.buffer if out.kind == "stdout" else open(out.target, "wb")
        try:
            yield from _yield_wrapped(stream, out, mode, compress)
        finally:
            if out.kind != "stdout":
                stream.close()
        return
    existing = _stat_or_none(out.target)
    fd, tmp = tempfile.mkstemp(dir=out.folder, prefix="." + os.path.basename(out.target) + ".", suffix=".tmp")
    try:
        _take_mode(fd, existing)
        with os.fdopen(fd, "wb") as raw:
            yield from _yield_wrapped(raw, out, mode, compress)
            try:
                raw.flush()
                os.fsync(raw.fileno())
            except OSError as error:
                raise _write_error(out, error) from None
        os.replace(tmp, out.target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _yield_wrapped(raw, out: Output, mode: str, compress: bool):
    guard = _Guard(raw, out)
    guarded = io.BufferedWriter(guard, buffer_size=1 << 20)
    ext = compression.compression_of(out.path) if compress else None
    packed = compression.compressing(guarded, ext) if ext else None
    binary = io.BufferedWriter(packed, buffer_size=1 << 20) if packed is not None else guarded
    f = io.TextIOWrapper(binary, encoding="utf-8", newline="\n") if mode == "w" else binary
    try:
        yield f
        f.flush()
        if packed is not None:
            packed.close()  # the end of the compressed data
            guarded.flush()
    finally:  # detach the wrappers: the caller's stream stays open, and they write nothing more
        for wrapper in (f, binary, guarded):
            with contextlib.suppress(Exception):
                wrapper.detach()
        guard.abandon()  # (a wrapper whose detach failed, its flush raising, is dropped when collected)


def _stat_or_none(path: str):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st


def _take_mode(fd: int, existing) -> None:
    """Give the new file the replaced file's permissions (and owner, for root), or the umask's."""
    if existing is None:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        return
    os.fchmod(fd, stat.S_IMODE(existing.st_mode))
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        with contextlib.suppress(OSError):
            os.fchown(fd, existing.st_uid, existing.st_gid)


def describe_bytes(n: float) -> str:
    """``n`` bytes for a message: 1,234 bytes, 5.6 MB ... (powers of 1000, up to TB)."""
    unit = "bytes"
    for bigger in ("KB", "MB", "GB", "TB"):
        if n < 1000:
            break
        n, unit = n / 1000, bigger
    return f"{n:,.0f} bytes" if unit == "bytes" else f"{n:,.1f} {unit}"


def check_free_space(needs: Sequence[Tuple[str, int, str]]) -> None:
    """Raise ``OSError`` if a file system lacks room for what will be written on it.

    ``needs``: (folder, bytes, what) for each file to come; needs on one file
    system (same device) are added up. Folders that cannot be measured are
    passed over (the write itself will report a full disk).
    """
    by_device: Dict[int, List[Tuple[str, int, str]]] = {}
    for folder, size, what in needs:
        if not folder or size <= 0:
            continue
        try:
            device = os.stat(folder).st_dev
        except OSError:
            continue
        by_device.setdefault(device, []).append((folder, size, what))
    for items in by_device.values():
        total = sum(size for _, size, _ in items)
        folder = items[0][0]
        try:
            free = shutil.disk_usage(folder).free
        except OSError:
            continue
        if total > free:
            listed = " and ".join(f"{what} ({describe_bytes(size)})" for _, size, what in items)
            raise OSError(f"{folder}: not enough free disk space: this run writes about {describe_bytes(total)} "
                          f"there, {listed}, and {describe_bytes(free)} are free; free some space or "
                          f"choose another folder (-o, --cache-dir)")
