import struct

import numpy as np
import pytest
from conftest import slowed, write

from w2v import formats
from w2v.binaryblock import find_entries, find_spaces
from w2v.formats import read_vectors


def walk(block: bytes, pos: int, row_bytes: int, longest: int, limit: int):
    """The plain walk, one entry at a time: ([(entry start, space)], why it stopped)."""
    entries = []
    while len(entries) < limit:
        space = block.find(b" ", pos, min(pos + longest + 1, len(block)))
        if space < 0:
            return entries, "odd" if pos + longest + 1 <= len(block) else "end"
        if space + 1 + row_bytes > len(block):
            return entries, "end"
        raw = block[pos:space]
        word = raw[1:] if raw[:1] == b"\n" else raw
        if not word or b"\n" in word:
            return entries, "odd"
        entries.append((pos, space))
        pos = space + 1 + row_bytes
    return entries, "limit"


def random_block(rng, dim, entries, odd_share, newline_share):
    """Entries with short words (some multi-byte) and rows whose bytes are often spaces and newlines;
    a share of them odd (an empty word, two newlines, a newline inside a word, a long word)."""
    out, starts = bytearray(), []
    for _ in range(entries):
        starts.append(len(out))
        word = "".join(rng.choice(list("ab\u00e9\u4e2dz"), size=rng.integers(1, 6))).encode()
        if rng.random() < odd_share:
            word = [b"", b"\n" + word, word[:1] + b"\n" + word, word * 9][rng.integers(4)]
        row = rng.choice(np.array([32, 10, 0, 65, 200], np.uint8), size=4 * dim).tobytes()
        out += word + b" " + row + (b"\n" if rng.random() < newline_share else b"")
    return bytes(out), starts


@pytest.mark.parametrize("seed", range(40))
def test_entries_found_are_the_plain_walks(seed):
    rng = np.random.default_rng(seed)
    dim = int(rng.integers(1, 4))
    data, starts = random_block(rng, dim, int(rng.integers(1, 300)), [0, 0, 0.01, 0.1][seed % 4],
                                [1, 1, 0, 0.5][seed // 4 % 4])
    longest = 16
    for _ in range(20):
        block = data[:int(rng.integers(1, len(data) + 1))]
        pos = int(rng.choice([s for s in starts if s < len(block)]))
        limit = int(rng.choice([1, 2, 7, 10 ** 6]))
        expected, why = walk(block, pos, 4 * dim, longest, limit)
        found = find_entries(np.frombuffer(block, np.uint8), pos, 4 * dim, longest, limit)
        # the same with the block's spaces found beforehand, as the reader finds them while reading
        given = find_entries(np.frombuffer(block, np.uint8), pos, 4 * dim, longest, limit,
                             find_spaces(np.frombuffer(block, np.uint8)))
        if found is None:
            assert expected == [] and given is None
            continue
        assert list(zip(found.entry_starts.tolist(), found.spaces.tolist())) == expected
        assert given.entry_starts.tolist() == found.entry_starts.tolist() and given.words == found.words
        assert given.spaces.tolist() == found.spaces.tolist() and given.complete == found.complete
        words = [block[s:e].lstrip(b"\n") for s, e in expected]
        assert found.words == b"".join(w + b" " for w in words)
        if not found.complete:
            assert why == "odd"
        if why in ("end", "limit"):
            assert found.complete


def test_a_block_without_a_whole_entry_finds_none():
    row = struct.pack("<2f", 1, 2)
    assert find_entries(np.frombuffer(b"abc " + row[:5], np.uint8), 0, 8, 100, 10) is None
    assert find_entries(np.frombuffer(b"abc" * 10, np.uint8), 0, 8, 100, 10) is None
    assert find_entries(np.frombuffer(b" " + row, np.uint8), 0, 8, 100, 10) is None  # empty word
    found = find_entries(np.frombuffer(b"ab " + row + b"\ncd " + row + b"\n", np.uint8), 0, 8, 100, 10)
    assert found.spaces.tolist() == [2, 14] and found.words == b"ab cd " and found.complete


def reference_read(data: bytes):
    """word2vec binary read one entry at a time (a good file)."""
    header, _, rest = data.partition(b"\n")
    count, dim = map(int, header.split())
    words, rows, pos = [], [], 0
    for _ in range(count):
        space = rest.index(b" ", pos)
        words.append(rest[pos:space].lstrip(b"\n").decode())
        rows.append(np.frombuffer(rest[space + 1:space + 1 + 4 * dim], "<f4"))
        pos = space + 1 + 4 * dim
    return words, np.array(rows, np.float32).reshape(count, dim)


@pytest.mark.parametrize("seed", range(6))
def test_files_read_across_small_blocks_equal_a_plain_reading(tmp_path, monkeypatch, seed):
    # blocks of 40 KB (the least the reader takes: four entries of the longest word): rows that hold
    # spaces and newlines, every block boundary somewhere else, with and without limits
    monkeypatch.setattr(formats, "_BINARY_READ_BYTES", 1)
    rng = np.random.default_rng(100 + seed)
    dim = [1, 2, 3, 50, 300, 7][seed]
    n = 200_000 // (4 * dim + 6)
    words = [f"w{i}" + "\u00e9" * int(rng.integers(3)) + "x" * int(rng.integers(0, 30) == 0) * 200
             for i in range(n)]
    matrix = rng.choice(np.array([struct.unpack("<f", b"\x20\x0a\x20\x0a")[0], 0.5, -2.0], np.float32),
                        size=(n, dim))
    newline = seed % 2 == 0
    data = f"{n} {dim}\n".encode() + b"".join(
        w.encode() + b" " + row.astype("<f4").tobytes() + (b"\n" if newline else b"") for w, row in zip(words, matrix))
    path = write(tmp_path / "v.bin", data)
    expected_words, expected = reference_read(data)
    got = read_vectors(path)
    assert got.words == expected_words == words
    assert got.vectors.tobytes() == expected.tobytes()
    for limit in (1, 5, n // 3, n - 1):
        got = read_vectors(path, limit=limit)
        assert got.words == words[:limit] and got.vectors.tobytes() == expected[:limit].tobytes()


@pytest.mark.parametrize("record,message", [
    (b" ", "byte {place}: empty word at entry 3001"),
    (b"\n\n ", "byte {place}: empty word at entry 3001"),
    (b"a\nb ", "entry 3001, the word 'a\\nb', "),
    (b"x" * 10_002 + b" ", "byte {place}: no word found (no space within 10,000 bytes"),
], ids=["empty", "two-newlines", "newline-inside", "too-long"])
def test_a_bad_entry_deep_in_a_block_is_named_with_its_place(tmp_path, record, message):
    # 3,000 good entries before the bad one: the walk stops before it and the loop names it
    row = struct.pack("<2f", 3, 4)
    good = b"".join(f"w{i} ".encode() + row + b"\n" for i in range(3000))
    data = b"3002 2\n" + good + record + row + b"\nlast " + row + b"\n"
    path = write(tmp_path / "bad.bin", data)
    with pytest.raises(ValueError) as caught:
        read_vectors(path, fmt="binary")
    place = len(b"3002 2\n") + len(good) - 1  # the entry starts at the newline that ends the row before
    assert message.format(place=place) in str(caught.value)


def test_a_buffer_is_read_into_again_only_after_its_rows_are_copied(tmp_path, monkeypatch):
    # the copies run in a second thread; slowed down, they would see the next-but-one block's bytes
    # if the reader did not wait for them before reusing their buffer
    monkeypatch.setattr(formats, "_BINARY_READ_BYTES", 1)
    monkeypatch.setattr(formats, "_gather_rows", slowed(formats._gather_rows, 0.02))
    rng = np.random.default_rng(7)
    n, dim = 2_000, 50
    words = [f"w{i}" for i in range(n)]
    matrix = rng.standard_normal((n, dim)).astype(np.float32)
    data = f"{n} {dim}\n".encode() + b"".join(
        w.encode() + b" " + row.astype("<f4").tobytes() + b"\n" for w, row in zip(words, matrix))
    got = read_vectors(write(tmp_path / "v.bin", data))
    assert got.words == words
    assert got.vectors.tobytes() == matrix.tobytes()


@pytest.mark.parametrize("bad", [3, 2_500, 5_999])
def test_the_first_row_that_is_not_finite_is_named_wherever_its_block(tmp_path, monkeypatch, bad):
    # the rows are checked block by block as they are copied; 6,000 rows of 200 floats span several blocks
    monkeypatch.setattr(formats, "_BINARY_READ_BYTES", 1)
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((6000, 200)).astype(np.float32)
    matrix[bad, 7] = np.nan
    matrix[5_999 if bad < 5_999 else 0, 0] = np.inf if bad < 5_999 else 1.0  # a later one is not named
    words = [f"w{i}" for i in range(6000)]
    data = b"6000 200\n" + b"".join(w.encode() + b" " + row.tobytes() + b"\n" for w, row in zip(words, matrix))
    path = write(tmp_path / "v.bin", data)
    with pytest.raises(ValueError, match=rf"v.bin: the vector of 'w{bad}' \(entry {bad + 1}\) is not finite"):
        read_vectors(path)
    assert read_vectors(path, limit=bad).words == words[:bad]  # the rows before it are fine


def test_the_lengths_found_while_reading_are_the_rows_lengths(tmp_path, monkeypatch):
    # computed block by block as the rows are copied; a repeated word's entry is dropped with its length
    from w2v.formats import row_norms
    monkeypatch.setattr(formats, "_BINARY_READ_BYTES", 1)
    rng = np.random.default_rng(8)
    matrix = rng.standard_normal((3000, 100)).astype(np.float32)
    matrix[10] = 0
    matrix[20] *= np.float32(1e30)  # its squares overflow float32
    words = [f"w{i}" for i in range(3000)]
    words[2999] = "w5"
    data = b"3000 100\n" + b"".join(w.encode() + b" " + row.tobytes() + b"\n" for w, row in zip(words, matrix))
    path = write(tmp_path / "v.bin", data)
    got = read_vectors(path)
    assert got.repeated == 1 and len(got.words) == 2999
    assert got.norms.tobytes() == row_norms(matrix[:2999]).tobytes()
    assert read_vectors(path, limit=1234).norms.tobytes() == row_norms(matrix[:1234]).tobytes()
