"""The model file (``.w2vm``): a whole training state, without pickle, memory-mappable.

Layout (all integers little-endian)::

    b"W2VMODEL"                 8 bytes, the magic
    version                     uint32 (1, or 2 with the last changes below; read up to FORMAT_VERSION)
    header length H             uint64
    header                      H bytes of UTF-8 JSON (an object, below)
    zero padding                to a multiple of 64 bytes
    arrays                      each at a 64-byte aligned offset, C order, no padding rows

The header holds ``options`` (:class:`w2v.options.TrainOptions` as a dict),
``state`` (the training position and history, plain JSON), ``meta`` (free
JSON) and ``arrays``: for each name its ``dtype`` (``<f4``, ``<i8``, ``|u1``),
``shape``, ``offset`` and ``crc32``. The arrays are ``words`` (uint8: the
UTF-8 words joined by newlines), ``counts`` int64[V] and the weights
``syn0`` float32[V, D], ``syn1neg`` float32[V or 0, D] and ``syn1``
float32[V-1 or 0, D]. A file's size is about the weights' (2 × V × D × 4
bytes with one output layer) plus the words.

A checkpoint of a distributed run of three or more workers that has not
finished also holds ``last_syn0``, ``last_syn1neg`` and ``last_syn1``, int8
arrays of its weights' shapes: the direction of each row's last combined
change (:mod:`w2v.distributed`), which the next sync's combine reads, so that
a resumed run goes on as one that never stopped. Such a file is version 2
(a w2v that reads only version 1 says to upgrade); every other file is
version 1.

Reading checks, before it allocates or maps anything: the magic, the version
(a newer one is refused with "upgrade w2v"), the header's JSON, every array's
dtype, its shape against V and D, its offset and length against the file's
size; then the checksums (skipped with ``mmap=True`` unless ``verify=True``),
the words and the counts. Every problem is a ``ValueError`` naming the file.
Writing goes through :func:`w2v.files.open_output` (atomic).

No Numba here.
"""
from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy as np

from .files import open_output

__all__ = ["ModelFile", "write_model_file", "read_model_file", "MAGIC", "FORMAT_VERSION", "is_model_file"]

MAGIC = b"W2VMODEL"
FORMAT_VERSION = 2  # (the newest this module reads; it writes 1 unless a file holds the last changes' directions)
_ALIGN = 64
_PREAMBLE = struct.Struct("<8sIQ")
_DTYPES = {"words": "|u1", "counts": "<i8", "syn0": "<f4", "syn1neg": "<f4", "syn1": "<f4"}
#: The arrays a version-2 file adds: int8 directions of each weight matrix's last combined change, its shape.
LAST_CHANGES = {"last_syn0": "syn0", "last_syn1neg": "syn1neg", "last_syn1": "syn1"}
_DTYPES_2 = dict(_DTYPES, **{name: "|i1" for name in LAST_CHANGES})  # (a version-2 file's arrays)
_BLOCK_ROWS = 1 << 14  # rows written and checksummed at a time


@dataclass
class ModelFile:
    """What a model file holds. Weight arrays are float32[rows, D] (memory maps when read with mmap)."""
    words: list
    counts: np.ndarray
    syn0: np.ndarray
    syn1neg: np.ndarray
    syn1: np.ndarray
    options: Dict[str, Any]
    state: Dict[str, Any] = field(default_factory=dict)
    meta: Dict[str, Any] = field(default_factory=dict)
    last_changes: Optional[tuple] = None  # (int8 arrays of syn0's, syn1neg's and syn1's shapes: LAST_CHANGES)


def is_model_file(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _aligned(n: int) -> int:
    return -(-n // _ALIGN) * _ALIGN


def _blocks(array: np.ndarray):
    """C-contiguous little-endian byte blocks (memoryviews) of ``array``'s rows: a block of a view of padded
    rows is copied once, a contiguous little-endian array's rows not at all (``tobytes`` copied them once
    more: 0.15-0.17 s more a pass over 2.6 GB; benchmarks/README.md, "Model files of millions of words")."""
    little = array.dtype.newbyteorder("<")
    if array.ndim == 1:
        yield memoryview(np.ascontiguousarray(array, dtype=little)).cast("B")
        return
    for start in range(0, len(array), _BLOCK_ROWS):
        yield memoryview(np.ascontiguousarray(array[start:start + _BLOCK_ROWS], dtype=little)).cast("B")


def _checksum(array: np.ndarray) -> int:
    """The CRC-32 of ``array``'s little-endian bytes (:func:`_blocks`)."""
    crc = 0
    for block in _blocks(array):
        crc = zlib.crc32(block, crc)
    return crc


def _checksums(arrays) -> List[int]:
    """:func:`_checksum` of each array, each on a thread of its own: zlib and NumPy's copies run without
    the GIL, so the two weight matrices take the time of one (benchmarks/README.md, "Model files of
    millions of words")."""
    from concurrent.futures import ThreadPoolExecutor
    arrays = list(arrays)
    with ThreadPoolExecutor(max(1, len(arrays)), thread_name_prefix="w2v-crc") as pool:
        return list(pool.map(_checksum, arrays))


def write_model_file(path: str, words, counts: np.ndarray, syn0: np.ndarray, syn1neg: np.ndarray,
                     syn1: np.ndarray, options: Dict[str, Any], state: Dict[str, Any],
                     meta: Optional[Dict[str, Any]] = None, force: bool = False,
                     last_changes: Optional[tuple] = None) -> None:
    """Write a model file atomically; weight arrays may be views (e.g. rows cut out of padded ones). A
    name ending in a compressed extension is refused: a model file is read memory-mapped, as it lies.
    ``last_changes``: int8 arrays of the three weights' shapes (:data:`LAST_CHANGES`), written as version 2."""
    from .compression import compression_of
    if compression_of(path):
        raise ValueError(f"{path}: a model file is not compressed (it is read memory-mapped, as it lies); "
                         f"name it .w2vm")
    arrays = {"words": np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8),
              "counts": np.asarray(counts, dtype="<i8"), "syn0": syn0, "syn1neg": syn1neg, "syn1": syn1}
    for name in ("syn0", "syn1neg", "syn1"):
        if arrays[name].dtype != np.float32 or arrays[name].ndim != 2:
            raise ValueError(f"{name} must be a float32 matrix, got {arrays[name].dtype} {arrays[name].shape}")
    dtypes = _DTYPES if last_changes is None else _DTYPES_2
    for (name, of), array in zip(LAST_CHANGES.items(), last_changes or ()):
        if array.dtype != np.int8 or array.shape != arrays[of].shape:
            raise ValueError(f"{name} must be an int8 matrix of {of}'s shape {arrays[of].shape}, got "
                             f"{array.dtype} {array.shape}")
        arrays[name] = array
    entries = {}
    for (name, array), crc in zip(arrays.items(), _checksums(arrays.values())):
        entries[name] = {"dtype": dtypes[name], "shape": list(array.shape), "crc32": crc,
                         "nbytes": int(array.size) * array.dtype.itemsize}
    header = {"format": "w2v-model", "options": options, "state": state, "meta": meta or {}, "arrays": entries}
    # the offsets depend on the header's length, which depends on the offsets' digits: repeat until settled
    start = -1
    while True:
        text = json.dumps(header, sort_keys=True, allow_nan=False).encode("utf-8")
        if _aligned(_PREAMBLE.size + len(text)) == start:
            break
        start = offset = _aligned(_PREAMBLE.size + len(text))
        for name in arrays:
            entries[name]["offset"] = offset
            offset = _aligned(offset + entries[name]["nbytes"])
    with open_output(path, "wb", force=force) as f:
        f.write(_PREAMBLE.pack(MAGIC, 1 if last_changes is None else 2, len(text)) + text)
        written = _PREAMBLE.size + len(text)
        for name, array in arrays.items():
            f.write(b"\0" * (entries[name]["offset"] - written))
            written = entries[name]["offset"]
            for block in _blocks(array):
                f.write(block)
                written += len(block)
        f.write(b"\0" * (_aligned(written) - written))


def _damaged(path: str, what: str) -> ValueError:
    return ValueError(f"{path}: a damaged w2v model file ({what})")


def read_model_file(path: str, mmap: bool = False, verify: Optional[bool] = None) -> ModelFile:
    """Read a model file; ``mmap`` maps the weights read-only instead of reading them.

    ``verify`` (default: not ``mmap``) checks every array's CRC-32.
    """
    verify = (not mmap) if verify is None else verify
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            preamble = f.read(_PREAMBLE.size)
            if len(preamble) < _PREAMBLE.size or preamble[:8] != MAGIC:
                raise ValueError(f"{path}: not a w2v model file (it does not start with {MAGIC!r})")
            _, version, length = _PREAMBLE.unpack(preamble)
            if version > FORMAT_VERSION or version < 1:
                raise ValueError(f"{path}: model format version {version} is not one this w2v reads "
                                 f"(1 to {FORMAT_VERSION}); upgrade w2v")
            if _PREAMBLE.size + length > size:
                raise _damaged(path, f"a header of {length:,} bytes in a file of {size:,}: truncated?")
            try:
                header = json.loads(f.read(length).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise _damaged(path, f"its header is not JSON: {error}") from None
            arrays = _check_layout(path, header, size, version)
            data = {name: _read_array(path, f, spec, mmap) for name, spec in arrays.items()}
        if verify:  # every array read first, then checked at once (:func:`_checksums`)
            for name, crc in zip(data, _checksums(data.values())):
                if crc != arrays[name]["crc32"]:
                    raise _damaged(path, "a checksum does not match: the file was changed or damaged")
    except OSError as error:
        raise OSError(f"{path}: cannot read ({error.strerror or error})") from None
    raw = bytes(data["words"])
    try:
        words = raw.decode("utf-8").split("\n") if raw else []
    except UnicodeDecodeError:
        raise _damaged(path, "the words are not UTF-8") from None
    counts = np.asarray(data["counts"], dtype=np.int64)
    if len(words) != len(counts):
        raise _damaged(path, f"{len(words)} words but {len(counts)} counts")
    if len(set(words)) != len(words) or (counts < 0).any():
        raise _damaged(path, "repeated words or negative counts")
    last = tuple(data[name] for name in LAST_CHANGES) if "last_syn0" in data else None
    return ModelFile(words, counts, data["syn0"], data["syn1neg"], data["syn1"], header["options"],
                     header.get("state", {}), header.get("meta", {}), last)


def _check_layout(path: str, header, size: int, version: int) -> Dict[str, Dict[str, Any]]:
    """The arrays' specs, checked against each other and the file's size (version 2: with the last changes)."""
    if not isinstance(header, dict) or header.get("format") != "w2v-model":
        raise _damaged(path, "its header is not a w2v model header")
    for key in ("options", "state", "meta", "arrays"):
        if not isinstance(header.get(key), dict):
            raise _damaged(path, f"{key!r} is missing or not an object")
    arrays = header["arrays"]
    dtypes = _DTYPES_2 if version >= 2 else _DTYPES
    if set(arrays) != set(dtypes):
        raise _damaged(path, f"arrays {sorted(arrays)}, expected {sorted(dtypes)}")
    for name, spec in arrays.items():
        shape = spec.get("shape") if isinstance(spec, dict) else None
        if (not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape)
                or spec.get("dtype") != dtypes[name] or not isinstance(spec.get("offset"), int)
                or not isinstance(spec.get("crc32"), int)):
            raise _damaged(path, f"the entry of {name!r} is malformed")
        if len(shape) != (1 if name in ("words", "counts") else 2):
            raise _damaged(path, f"{name!r} has shape {shape}")
        nbytes = int(np.prod(shape, dtype=object)) * np.dtype(spec["dtype"]).itemsize
        if spec["offset"] % _ALIGN or spec["offset"] < _PREAMBLE.size or spec["offset"] + nbytes > size:
            raise _damaged(path, f"{name!r} ({nbytes:,} bytes at {spec['offset']:,}) lies outside the file of "
                                 f"{size:,} bytes: truncated?")
        spec["nbytes"] = nbytes
    v, dim = arrays["syn0"]["shape"]
    if arrays["counts"]["shape"] != [v] or arrays["syn1neg"]["shape"] not in ([v, dim], [0, dim]) \
            or arrays["syn1"]["shape"] not in ([max(v - 1, 0), dim], [0, dim]) \
            or any(arrays[name]["shape"] != arrays[of]["shape"] for name, of in LAST_CHANGES.items() if name in arrays):
        raise _damaged(path, "the arrays' shapes do not agree with each other")
    return arrays


def _read_array(path: str, f, spec, mmap: bool) -> np.ndarray:
    dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
    if not spec["nbytes"]:
        array = np.empty(shape, dtype=dtype)
    elif mmap:
        array = np.memmap(path, dtype=dtype, mode="r", offset=spec["offset"], shape=shape)
    else:
        array = np.empty(shape, dtype=dtype)
        f.seek(spec["offset"])
        if f.readinto(memoryview(array).cast("B")) != spec["nbytes"]:
            raise _damaged(path, "an array is cut short: truncated?")
    return array
