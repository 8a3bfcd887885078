"""Handing freed memory back to the operating system after the corpus passes.

Counting and encoding make and drop millions of small objects. CPython frees
its own pools as they empty, but glibc's malloc keeps freed heap pages for
reuse: about 12 MB after encoding wiki8 (17M tokens), which Numba's later
allocations happen to reuse, and hundreds of MB after counting a corpus with
millions of distinct tokens, which nothing reuses. ``malloc_trim(0)`` returns
them. Elsewhere (not glibc) this does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["release_free_memory"]


def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # musl and others have no malloc_trim
        return None


_TRIM = _malloc_trim()


def release_free_memory() -> None:
    """Return the allocator's free pages to the system (where the allocator can)."""
    if _TRIM is not None:
        _TRIM(0)
