import random
import re

import numpy as np
import pytest

from w2v import textblock
from w2v.textblock import PAD, parse_rows

PLAIN = re.compile(r"-?(\d+\.?\d*|\.\d+)")  # what parse_rows parses itself (with the limits below)


def parsable(token: str) -> bool:
    digits = token.lstrip("-")
    return (PLAIN.fullmatch(token) is not None and len(digits) <= 16
            and int(digits.replace(".", "")) <= 2 ** 53)


def padded(block: bytes) -> np.ndarray:
    return np.frombuffer(b"\xff" * PAD + block, dtype=np.uint8)  # padding bytes of any value


def tokens(seed: int, n: int):
    rng = random.Random(seed)
    fixed = ["0", "-0", "-0.0", "5.", ".5", "-.5", "007.50", "0.000000", "1234567890123456", "9007199254740992",
             "9007199254740993", "900719925474099.3", "12345678.12345678", "123456789.1234567", "1e5", "+1.5",
             "1.2.3", "-", ".", "-.", "1-2", "1_0", "0x10", "nan", "inf", "1E-3", "3.5e38", "00000000000000001"]
    out = list(fixed)
    while len(out) < n:
        x = rng.gauss(0, 10 ** rng.randint(-9, 6))
        fmt = rng.choice(["%.9g", "%f", "%.17g", "%.*f", "%d", "%e", "%.3f"])
        if fmt == "%.*f":
            out.append("%.*f" % (rng.randint(0, 14), x))
        elif fmt == "%d":
            out.append("%d" % (x * 10 ** rng.randint(0, 12)))
        else:
            out.append(fmt % x)
    return out


@pytest.mark.parametrize("dim", [1, 7])
def test_numbers_parsed_equal_pythons_float_bit_for_bit(dim):
    numbers = tokens(dim, 20_000 - 20_000 % dim)
    rows = [numbers[i:i + dim] for i in range(0, len(numbers), dim)]
    block = "".join(f"w{i} " + " ".join(row) + (" \n" if i % 3 else "\n") for i, row in enumerate(rows)).encode()
    got = parse_rows(padded(block), dim)
    assert got is not None
    expected = np.array([parsable(t) for t in numbers]).reshape(-1, dim)
    np.testing.assert_array_equal(got.parsed, expected)
    assert 0.5 < expected.mean() < 0.95  # both kinds are well represented
    floats = np.array([float(t) if ok else 0.0 for t, ok in zip(numbers, expected.ravel())]).reshape(-1, dim)
    np.testing.assert_array_equal(got.values[expected].view(np.int64), floats[expected].view(np.int64))
    # what is left to the caller is where the token is
    data = padded(block).tobytes()
    left = [data[s:e].decode() for s, e in zip(got.number_starts[~expected], got.number_ends[~expected])]
    assert left == [t for t, ok in zip(numbers, expected.ravel()) if not ok]
    assert [data[s:e].decode() for s, e in zip(got.word_starts, got.word_ends)] == [f"w{i}" for i in range(len(rows))]


@pytest.mark.parametrize("block", [
    b"a 1\tb 2\n", b"a 1 2\r\r\n", b"a 1\r2\n", b"a\r 1 2\n", b"a 1 2 \r\n", b"a  1 2\n", b" a 1 2\n",
    b"a 1 2\n\nb 1 2\n", b"a 1\n", b"a 1 2 3\n", b"a 1 2", b"a 1 2  \n", b"a 1 2\nb 1\nc 1 2 3\n", b"a 1 2\x0c\n",
    b"", b"\n",
])
def test_blocks_not_in_the_plain_layout_are_left_to_the_row_reader(block):
    assert parse_rows(padded(block), 2) is None


@pytest.mark.parametrize("end", [b" \n", b"\r\n"])
def test_a_plain_block_with_a_trailing_space_or_crlf_is_parsed(end):
    got = parse_rows(padded(b"a 1 2" + end + b"bcd -3.5 .25" + end), 2)
    np.testing.assert_array_equal(got.values, [[1, 2], [-3.5, 0.25]])
    assert got.parsed.all()
    assert got.word_starts.tolist() == [PAD, PAD + 7] and got.word_ends.tolist() == [PAD + 1, PAD + 10]


def test_true_bytes_counts_the_ones_of_bools_viewed_as_uint64():
    """What np.bitwise_count gives on bools viewed as uint64 (NumPy 2.0 on), on any NumPy: all 256 patterns of
    eight bytes each 0 or 1, and a strided column as parse_numbers hands it."""
    patterns = np.array([[(k >> i) & 1 for i in range(8)] for k in range(256)], dtype=np.bool_)
    counted = textblock._true_bytes(patterns.view(np.uint64).ravel())
    assert counted.dtype == np.uint8 and counted.tolist() == [bin(k).count("1") for k in range(256)]
    pairs = patterns.view(np.uint64).reshape(128, 2)
    assert textblock._true_bytes(pairs[:, 1]).tolist() == [bin(k).count("1") for k in range(1, 256, 2)]
