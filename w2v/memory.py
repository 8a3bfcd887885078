"""Handing freed memory back to the operating system after the corpus passes.

Counting and encoding make and drop millions of small objects. CPython frees
its own pools as they empty, but glibc's malloc keeps freed heap pages for
reuse: about 12 MB after encoding wiki8 (17M tokens), which Numba's later
allocations happen to reuse, and hundreds of MB after counting a corpus with
millions of distinct tokens, which nothing reuses. ``malloc_trim(0)`` returns
them. Elsewhere (not glibc) this does nothing.

Loading the compiled kernels also maps LLVM's library (llvmlite, about 150 MB
of code and constants) and touches some 65 MB of it, which the operating
system counts in the process's resident memory. Once the kernels are loaded,
training runs their machine code and never calls LLVM again, so
:func:`release_compiler_pages` asks Linux (``madvise(MADV_PAGEOUT)``, Linux
5.4 and later) to drop those clean, file-backed pages; they are read back from
the file if LLVM is ever needed again (compiling another kernel). Elsewhere,
or when the kernel refuses, it does nothing.
"""
from __future__ import annotations

import ctypes
import functools
import sys

__all__ = ["release_free_memory", "release_compiler_pages", "map_large_blocks"]


@functools.lru_cache(maxsize=None)
def _libc_function(name: str, *argtypes):
    """The C library's function ``name`` (Linux only), or None; looked up on first use.

    ``CDLL(None)`` is the running process, whose symbols include the C
    library's, so no search for the library file is needed.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):  # e.g. musl has no malloc_trim
        return None
    function.argtypes = list(argtypes)
    function.restype = ctypes.c_int
    return function


def release_free_memory() -> None:
    """Return the allocator's free pages to the system (where the allocator can)."""
    trim = _libc_function("malloc_trim", ctypes.c_size_t)
    if trim is not None:
        trim(0)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # malloc.h
#: Blocks of at least this many bytes come from their own mappings (:func:`map_large_blocks`).
LARGE_BLOCK = 1 << 20
#: Free memory at the top of the heap kept for later blocks rather than handed back (:func:`map_large_blocks`).
KEEP_FREE_HEAP = 32 << 20


def map_large_blocks() -> None:
    """Make glibc serve every block of :data:`LARGE_BLOCK` bytes or more from a mapping of its own, handed
    back to the system when freed. By default the threshold rises (up to 32 MB) each time such a block
    is freed, so later blocks of a few MB (the text passes' per-piece buffers, made in worker threads)
    come from the threads' heaps instead, which keep them after they are freed: about 25 MB on wiki8
    with 2 threads, more with more. Setting that threshold also fixes the one for handing back the free
    top of the heap at its default, 128 kB, so the reader's blocks of text (just under 1 MB, from the
    heap) would each be faulted in afresh, some 250 pages a MB of text; up to :data:`KEEP_FREE_HEAP`
    of it is kept instead (memory the heap held at its high point anyway, so the peak does not rise),
    and :func:`release_free_memory` hands it back after a pass. Elsewhere (not glibc) this does nothing."""
    mallopt = _libc_function("mallopt", ctypes.c_int, ctypes.c_int)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK)
        mallopt(_M_TRIM_THRESHOLD, KEEP_FREE_HEAP)


_MADV_PAGEOUT = 21  # linux/mman.h


def compiler_mappings(maps_text: str, library: str = "libllvmlite"):
    """[(start, end)] of the read-only mappings of ``library`` in a /proc/PID/maps text.

    Writable mappings are left out: their pages may hold data LLVM changed.
    """
    regions = []
    for line in maps_text.splitlines():
        parts = line.split()
        if len(parts) >= 6 and library in parts[5] and "w" not in parts[1]:
            start, end = (int(x, 16) for x in parts[0].split("-"))
            regions.append((start, end))
    return regions


def release_compiler_pages() -> int:
    """Page out LLVM's read-only library pages (see the module docstring); returns the bytes advised."""
    madvise = _libc_function("madvise", ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    if madvise is None:
        return 0
    try:
        with open("/proc/self/maps") as f:
            regions = compiler_mappings(f.read())
    except OSError:
        return 0
    advised = 0
    for start, end in regions:
        if madvise(start, end - start, _MADV_PAGEOUT) == 0:
            advised += end - start
    return advised
