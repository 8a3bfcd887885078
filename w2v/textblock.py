"""Parsing a block of word2vec text rows with NumPy, without a Python loop per number.

A word2vec text file holds, after its header, rows ``word v1 v2 ... vD``; parsing the numbers one
by one with Python's ``float`` (or any per-number parser called from Python) is what makes large
text files slow. :func:`parse_rows` takes a block of whole rows (a few MB) and does the work in
array operations over all the block's numbers at once:

1. The delimiters are the bytes <= 32; the block is taken only if they are all spaces and newlines
   (a carriage return allowed right before a newline), the tokens are separated by single spaces
   (one trailing space or CR before a newline allowed, as word2vec.c writes a space) and every row
   has one word and exactly D numbers.
2. Each number is read from a 16-byte window that ends where it ends (one fancy index over a
   zero-copy view of every 16-byte run of the block): the bytes before it are cleared with a mask,
   the digits are combined eight at a time inside a uint64 (the usual SWAR steps: pairs, fours,
   eights), and the one decimal point, if any, is located from its bit.
3. A number ``[-]digits[.digits]`` of at most 16 characters after its sign, whose digits as an
   integer ``m`` are at most 2**53, is ``m / 10**f`` (``f`` the digits after the point) computed in
   float64: both operands are exact, so the one division rounds correctly and the result equals
   Python's ``float`` of the same text bit for bit. Anything else (an exponent, a plus sign, more
   digits, text) is left to the caller, who parses it with ``float``.

When a block is not in that layout, :func:`parse_rows` returns ``None`` and the caller reads it
row by row, which also produces the error messages: this module only speeds up what a row-by-row
reader would accept anyway. The digit steps assume a little-endian machine; elsewhere it always
returns ``None``.

This module never imports Numba.
"""
from __future__ import annotations

import sys
from typing import NamedTuple, Optional, Tuple

import numpy as np

__all__ = ["PAD", "Rows", "parse_rows", "parse_numbers"]

#: Bytes the caller puts before a block (any value): every number's 16-byte window then lies in it.
PAD = 16
_WINDOW = np.dtype((np.void, PAD))
_U = np.uint64
_POWERS = PAD + 1  # 10**0 .. 10**16: a number's digits after its point
_POW10_INT = 10 ** np.arange(_POWERS, dtype=np.int64)
_SIGNED_POW10 = np.concatenate([10.0 ** np.arange(_POWERS), -10.0 ** np.arange(_POWERS)])  # [_POWERS * negative + fraction]
_KEEP = np.array([[(0xFFFFFFFFFFFFFFFF << (8 * k)) & 0xFFFFFFFFFFFFFFFF if k < 8 else 0,
                   (0xFFFFFFFFFFFFFFFF << (8 * max(k - 8, 0))) & 0xFFFFFFFFFFFFFFFF] for k in range(PAD + 1)],
                 dtype=np.uint64)  # [cleared bytes]: the masks that clear a window's first bytes
_EXACT = 1 << 53  # integers up to this are exact in float64
_LITTLE = sys.byteorder == "little"


class Rows(NamedTuple):
    """A parsed block of R rows of D numbers; offsets are into the padded block (int64)."""
    word_starts: np.ndarray  # [R]
    word_ends: np.ndarray  # [R]
    values: np.ndarray  # float64[R, D]
    parsed: np.ndarray  # bool[R, D]: False where the number was left to the caller (``values`` undefined)
    number_starts: np.ndarray  # [R, D]
    number_ends: np.ndarray  # [R, D]


def parse_rows(padded: np.ndarray, dim: int) -> Optional[Rows]:
    """The rows of one block, or ``None`` if the block is not in the plain layout (see the module).

    ``padded``: uint8[PAD + B], any PAD bytes and then the block's B bytes, whole rows each ending
    with a newline. The numbers not parsed here (e.g. ``1e-05``) are the caller's to parse from
    ``padded[number_starts[r, j]:number_ends[r, j]]``.
    """
    if not _LITTLE:
        return None
    bounds = _token_bounds(padded, dim)
    if bounds is None:
        return None
    starts, ends = bounds
    rows = len(starts)
    # the words are parsed too (a 301st column costs less than copying the numbers' offsets out)
    values, parsed = parse_numbers(padded, starts.reshape(-1), ends.reshape(-1))
    return Rows(starts[:, 0], ends[:, 0], values.reshape(rows, dim + 1)[:, 1:],
                parsed.reshape(rows, dim + 1)[:, 1:], starts[:, 1:], ends[:, 1:])


def _token_bounds(padded: np.ndarray, dim: int) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """int64[R, D + 1] start and end of every token of every row, or ``None`` unless every row is a
    word and D numbers separated by single spaces (and at most one space or CR before the newline)."""
    if len(padded) <= PAD or padded[-1] != 10:
        return None
    delims = np.flatnonzero(padded[PAD:] <= 32) + PAD
    kinds = padded[delims]
    newline = kinds == 10
    if not (newline | (kinds == 32)).all():
        ends_line = (kinds == 13)[:-1] & (delims[1:] == delims[:-1] + 1) & newline[1:]  # a CR right before a newline
        if not (newline[:-1] | (kinds[:-1] == 32) | ends_line).all():
            return None  # a tab, a lone carriage return, a control byte: the row reader decides
    starts = np.empty(len(delims), dtype=np.int64)
    starts[0] = PAD
    starts[1:] = delims[:-1] + 1
    empty = delims == starts
    if empty.any():  # only a newline right after one space or CR, after a token, may close an empty token
        where = np.flatnonzero(empty)
        if where[0] == 0 or not (newline[where] & ~newline[where - 1] & ~empty[where - 1]).all():
            return None
        keep = ~empty
        starts, ends = starts[keep], delims[keep]
    else:
        ends = delims
    rows = int(np.count_nonzero(newline))
    if len(starts) != rows * (dim + 1):
        return None
    # each row must hold exactly dim + 1 tokens: the row's last token ends before its newline
    row_newlines = delims[newline]
    last_ends = ends[dim::dim + 1]
    first_starts = starts[::dim + 1]
    if not ((last_ends <= row_newlines).all() and (first_starts[1:] > row_newlines[:-1]).all()):
        return None
    return starts.reshape(rows, dim + 1), ends.reshape(rows, dim + 1)


def _eight_digits(v: np.ndarray) -> np.ndarray:
    """uint64 lanes of eight byte digits (0-9, the first byte the most significant) -> their value,
    computed in ``v`` itself (returned) with one temporary: a third faster than a fresh array per step."""
    shifted = v >> _U(8)
    v *= _U(10)
    v += shifted
    v &= _U(0x00FF00FF00FF00FF)
    np.right_shift(v, _U(16), out=shifted)
    v *= _U(100)
    v += shifted
    v &= _U(0x0000FFFF0000FFFF)
    np.right_shift(v, _U(32), out=shifted)
    v *= _U(10000)
    v += shifted
    v &= _U(0xFFFFFFFF)
    return v


_BYTE_ONES = _U(0x0101010101010101)


def _true_bytes(lanes: np.ndarray) -> np.ndarray:
    """uint8[N]: how many of the eight bytes of each of ``lanes`` (uint64[N], each byte 0 or 1: bools viewed
    as uint64) are 1. One multiplication by 0x0101010101010101 sums the bytes into the top byte (at most 8, so
    no byte carries). ``np.bitwise_count`` gives the same, but only from NumPy 2.0; w2v runs on NumPy 1.22 on."""
    return ((lanes * _BYTE_ONES) >> _U(56)).astype(np.uint8)


def parse_numbers(padded: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """float64[N] values of the numbers ``padded[starts[i]:ends[i]]`` and bool[N] which were parsed
    (``[-]digits[.digits]``, at most 16 characters after the sign, at most 2**53 as an integer);
    the values of the others are undefined. ``starts`` >= PAD (the window before each number)."""
    n = len(starts)
    negative = padded[starts] == 45  # '-'
    length = ends - starts - negative  # after the sign
    lead = np.clip(PAD - length, 0, PAD)  # window bytes before the digits: cleared
    every_window = np.ndarray(shape=(len(padded) - PAD + 1,), dtype=_WINDOW, buffer=padded, strides=(1,))
    lanes = every_window[ends - PAD].view(_U)  # [2n]: bytes 0-7 and 8-15 of each window
    lanes.reshape(n, 2)[...] &= np.take(_KEEP, lead, axis=0)  # (take: ten times faster than a fancy index here)
    chars = lanes.view(np.uint8)
    is_point = chars == 46
    good = ((chars - np.uint8(48)) < 10) | is_point
    points = is_point.view(_U).reshape(n, 2)
    n_points = _true_bytes(points[:, 0]) + _true_bytes(points[:, 1])
    good_lanes = good.view(_U).reshape(n, 2)
    n_good = _true_bytes(good_lanes[:, 0]) + _true_bytes(good_lanes[:, 1])
    # every byte after the cleared ones a digit or the point; at most one point; a digit at least
    parsed = (n_good + lead == PAD) & (length <= PAD) & (n_points <= 1) & (n_good > n_points)
    # the point's column: its byte is 0x01 at bit 8 * column of the window's 128 bits (exact in float64)
    bit = np.frexp(points[:, 0].astype(np.float64) + points[:, 1].astype(np.float64) * 2.0 ** 64)[1] - 1
    fraction = np.where(n_points == 1, PAD - 1 - bit // 8, 0)
    # each byte's low four bits: the digit, 0 for a cleared byte, 14 for the point
    lanes &= _U(0x0F0F0F0F0F0F0F0F)
    eights = _eight_digits(lanes)
    joined = (eights[0::2] * _U(100_000_000) + eights[1::2]).astype(np.int64)
    scale = np.take(_POW10_INT, fraction)
    joined -= np.where(n_points == 1, 14 * scale, 0)  # now the point is a 0 digit
    # take that 0 digit out: m = (the digits before it) * 10**fraction + (the digits after it)
    below = joined % scale
    mantissa = np.where(n_points == 1, (joined - below) // 10 + below, joined)  # (// a scalar: fast)
    parsed &= mantissa <= _EXACT
    # dividing by -10**f gives -0.0 for "-0": the sign as float() gives it
    values = mantissa.astype(np.float64) / np.take(_SIGNED_POW10, negative.view(np.uint8) * np.intp(_POWERS) + fraction)
    return values, parsed
