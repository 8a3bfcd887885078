import bz2
import gzip
import io
import lzma
import os
import re
import subprocess
import sys
import zlib

import pytest

from conftest import ROOT, VARIED_TEXT, damaged_inside, tar_of, write, zip_of
from w2v import compression
from w2v import corpus as corpus_module
from w2v.corpus import Corpus, resolve_sources


def all_tokens(corpus):
    return [t for toks in corpus.tokens() for t in toks]


def sentences(corpus):
    out, current = [], []
    for toks, ends in corpus.pieces():
        current.extend(toks)
        if ends:
            out.append(current)
            current = []
    return [s for s in out if s]


def test_reads_plain_and_compressed_files_alike(tmp_path):
    text = b"the cat sat\non the mat\n"
    paths = [write(tmp_path / "a.txt", text)]
    for ext, compress in ((".gz", gzip.compress), (".bz2", bz2.compress), (".xz", lzma.compress)):
        paths.append(write(tmp_path / f"a{ext}", compress(text)))
    for p in paths:
        assert sentences(Corpus([p])) == [[b"the", b"cat", b"sat"], [b"on", b"the", b"mat"]], p


def test_folder_is_read_recursively_in_sorted_order(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "b.txt", "two\n")
    write(tmp_path / "a.txt", "one\n")
    write(tmp_path / "sub" / "c.txt", "three\n")
    write(tmp_path / ".hidden", "never\n")
    assert all_tokens(Corpus([str(tmp_path)])) == [b"one", b"two", b"three"]


def test_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a b\nc\n")))
    corpus = Corpus(["-"])
    assert sentences(corpus) == [[b"a", b"b"], [b"c"]]
    with pytest.raises(ValueError, match="already read"):
        sentences(corpus)


def test_missing_input_is_named(tmp_path):
    with pytest.raises(OSError, match="nope.txt: no such file"):
        resolve_sources([str(tmp_path / "nope.txt")])
    with pytest.raises(ValueError, match="no files"):
        resolve_sources([str(tmp_path)])


def test_long_line_streams_in_bounded_blocks_and_tokens_are_never_split(tmp_path):
    words = [f"w{i % 97}" for i in range(20000)]
    path = write(tmp_path / "one_line.txt", " ".join(words))  # no newline at all
    corpus = Corpus([path], block_size=256)
    blocks = [b for b, _ in corpus.blocks()]
    assert max(len(b) for b in blocks) <= 256 + 8  # bounded by the block size (plus a carried token)
    assert [t.decode() for t in all_tokens(corpus)] == words
    assert sentences(corpus) == [[w.encode() for w in words]]


def test_token_longer_than_a_block_is_cut_not_lost(tmp_path):
    path = write(tmp_path / "x.txt", b"a " + b"y" * 1000 + b" b\n")
    toks = all_tokens(Corpus([path], block_size=100))
    assert toks[0] == b"a" and toks[-1] == b"b"
    assert b"".join(toks[1:-1]) == b"y" * 1000


def test_blocks_cut_at_the_last_white_space_even_far_before_the_end(tmp_path):
    """The cut is looked for in a block's last 4 KB first, then in the rest: tokens of 5,000 bytes
    put the last white space of many 16 KB blocks more than 4 KB before their end; the separators
    vary (tab, carriage return, form feed) so that the cut is found by each of them."""
    seps = [b" ", b"\t", b"\r\n", b"\x0c", b"\n"]
    tokens = [(b"t%d-" % i) + b"x" * (9000 if i % 3 == 0 else 7) for i in range(60)]
    text = b"".join(t + seps[i % len(seps)] for i, t in enumerate(tokens))
    path = write(tmp_path / "long_tokens.txt", text)
    reads = [text[i:i + 16384] for i in range(0, len(text), 16384)]  # what each read returns
    last = [max(r.rfind(c) for c in (b" ", b"\t", b"\n", b"\r", b"\x0c")) for r in reads[:-1]]
    assert any(0 <= c < len(r) - 4096 for c, r in zip(last, reads))  # the search past the last 4 KB is used
    corpus = Corpus([path], block_size=16384)
    blocks = [b for b, _ in corpus.blocks()]
    assert all(len(b) <= 16384 + 9100 for b in blocks) and len(blocks) >= 5
    assert all(not b or b[-1:] in (b" ", b"\t", b"\n", b"\x0c", b"\r") for b in blocks[:-1])
    assert all_tokens(corpus) == tokens
    assert b"".join(blocks) == text


def test_lines_do_not_run_across_files(tmp_path):
    a = write(tmp_path / "a.txt", "x y")  # no final newline
    b = write(tmp_path / "b.txt", "z\n")
    assert sentences(Corpus([a, b])) == [[b"x", b"y"], [b"z"]]


def test_lowercase_is_unicode_aware(tmp_path):
    path = write(tmp_path / "u.txt", "Straße ÉCOLE Apple\n".encode())
    assert all_tokens(Corpus([path], lowercase=True)) == ["straße".encode(), "école".encode(), b"apple"]


def test_damaged_compressed_file_is_a_clear_error(tmp_path):
    path = write(tmp_path / "bad.gz", gzip.compress(b"hello world " * 1000)[:50])
    with pytest.raises(OSError, match="bad.gz: cannot read compressed data"):
        all_tokens(Corpus([path]))


@pytest.mark.parametrize("suffix,module,raised", [(".gz", gzip, zlib.error), (".bz2", bz2, OSError),
                                                   (".xz", lzma, lzma.LZMAError)])
def test_a_compressed_file_damaged_inside_is_a_clear_error(tmp_path, suffix, module, raised):
    """Bytes changed inside the stream, not cut off: gzip's inflate then raises zlib.error, which is not
    an OSError, and was a traceback."""
    damaged = damaged_inside(module.compress(VARIED_TEXT))
    with pytest.raises(raised):  # what the format's own reader raises on these bytes
        module.decompress(damaged)
    path = write(tmp_path / f"bad{suffix}", damaged)
    with pytest.raises(OSError, match=f"bad{suffix}: cannot read compressed data"):
        all_tokens(Corpus([path]))


GZIP_READERS = [pytest.param(gzip.open, id="gzip"),
                pytest.param("isal", id="isal")]  # python-isal, the gzip extra (the test extra installs it)


def gzip_reader(reader):
    return pytest.importorskip("isal.igzip").open if reader == "isal" else reader


def test_gz_files_are_read_by_isal_when_it_is_installed():
    from w2v import corpus
    isal = pytest.importorskip("isal.igzip")
    assert corpus._OPENERS[".gz"] is isal.open


@pytest.mark.parametrize("reader", GZIP_READERS)
def test_both_gzip_readers_give_the_same_text_and_the_same_errors(tmp_path, monkeypatch, reader):
    """Several members (``cat a.gz b.gz``), an empty stream, zero padding after it; and a stream cut short,
    damaged inside, with a wrong checksum, or not gzip at all: the same tokens, or the same one-line error."""
    from w2v import corpus
    monkeypatch.setattr(corpus, "_OPENERS", dict(corpus._OPENERS, **{".gz": gzip_reader(reader)}))
    text = VARIED_TEXT
    good = {"members": gzip.compress(text[:1000]) + gzip.compress(text[1000:]), "empty": gzip.compress(b""),
            "padded": gzip.compress(text) + bytes(100)}
    for name, data in good.items():
        path = write(tmp_path / f"{name}.gz", data)
        assert b" ".join(all_tokens(Corpus([path]))) == (text if name != "empty" else b""), name
    checksum = bytearray(gzip.compress(text))
    checksum[-8] ^= 1
    bad = {"cut": gzip.compress(text)[:4000], "damaged": damaged_inside(gzip.compress(text)), "checksum": bytes(checksum),
           "plain": text[:5000]}
    for name, data in bad.items():
        path = write(tmp_path / f"{name}.gz", data)
        with pytest.raises(OSError, match=f"{name}.gz: cannot read compressed data"):
            all_tokens(Corpus([path]))


def test_zst_files_are_read_frame_after_frame_and_a_cut_or_damaged_one_is_a_clear_error(tmp_path):
    """zstandard's own stream reader returns a cut file's text up to the cut without an error; w2v's reader
    (the zstd extra) raises one, as for a cut .gz, .bz2 or .xz file. Several frames (``cat a.zst b.zst``),
    an empty frame and a tar archive inside are read or refused as for the other formats."""
    zstandard = pytest.importorskip("zstandard")
    compress = zstandard.ZstdCompressor(write_checksum=True).compress
    text = VARIED_TEXT
    whole = compress(text)
    cut = whole[:len(whole) // 2]
    zstandard.ZstdDecompressor().stream_reader(io.BytesIO(cut), read_across_frames=True).read()  # raises nothing
    good = {"one": (whole, text), "frames": (compress(text[:1000]) + compress(text[1000:]), text),
            "empty": (compress(b""), b""), "none": (b"", b"")}
    for name, (data, expected) in good.items():
        path = write(tmp_path / f"{name}.zst", data)
        assert b" ".join(all_tokens(Corpus([path]))) == expected, name
    damaged = damaged_inside(whole)
    with pytest.raises(zstandard.ZstdError):
        zstandard.ZstdDecompressor().decompress(damaged)
    frames = compress(text[:1000]) + compress(text[1000:])
    bad = {"cut": cut, "cut-second-frame": frames[:len(frames) - 100],
           "damaged": damaged, "plain": text[:5000]}
    for name, data in bad.items():
        path = write(tmp_path / f"{name}.zst", data)
        with pytest.raises(OSError, match=f"{name}.zst: cannot read compressed data"):
            all_tokens(Corpus([path]))
    path = write(tmp_path / "c.tar.zst", compress(tar_of({"a.txt": b"one two\n" * 100})))
    with pytest.raises(OSError, match="c.tar.zst: is a tar archive, not text"):
        all_tokens(Corpus([path]))


def test_a_zst_file_without_zstandard_installed_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(compression, "_zstandard", None)
    path = write(tmp_path / "a.zst", b"\x28\xb5\x2f\xfd" + bytes(20))
    with pytest.raises(OSError, match=re.escape("a.zst: reading .zst files needs the zstandard package "
                                                "(pip install 'w2v[zstd]')")):
        all_tokens(Corpus([path]))


COMPRESSED_AS_TEXT = [
    ("gz.txt", gzip.compress(VARIED_TEXT), "is gzip-compressed data, not text; name it .gz"),
    ("bz2.txt", bz2.compress(VARIED_TEXT), "is bzip2-compressed data, not text; name it .bz2"),
    ("empty-bz2.txt", bz2.compress(b""), "is bzip2-compressed data, not text; name it .bz2"),
    ("xz.txt", lzma.compress(VARIED_TEXT), "is xz-compressed data, not text; name it .xz"),
    ("zst.txt", b"\x28\xb5\x2f\xfd" + bytes(200), "is zstd-compressed data, not text; name it .zst"),
    ("zip.txt", b"PK\x03\x04" + bytes(200), "is a zip archive, not text; name it .zip"),
    ("utf16.txt", "one two\n".encode("utf-16"), "is UTF-16 or UTF-32 text (it starts with a byte order mark), not UTF-8; "
     "convert it to UTF-8 first"),
    ("utf16be.txt", b"\xfe\xff" + "one two\n".encode("utf-16-be"), "is UTF-16 or UTF-32 text"),
    ("utf32.txt", "one two\n".encode("utf-32"), "is UTF-16 or UTF-32 text"),
]


@pytest.mark.parametrize("name,data,message", COMPRESSED_AS_TEXT, ids=[c[0] for c in COMPRESSED_AS_TEXT])
def test_compressed_data_named_as_text_is_refused_by_name(tmp_path, name, data, message):
    """Read as text it would be a vocabulary of binary noise with a warning about invalid UTF-8."""
    path = write(tmp_path / name, data)
    with pytest.raises(OSError, match=re.escape(f"{name}: {message}")):
        all_tokens(Corpus([path]))
    folder = tmp_path / "folder"  # in a folder too, beside text
    folder.mkdir()
    write(folder / "a.txt", b"some text\n")
    write(folder / name, data)
    with pytest.raises(OSError, match=re.escape(f"{name}: {message}")):
        all_tokens(Corpus([str(folder)]))


def test_a_tar_archive_is_refused_plain_or_compressed(tmp_path):
    """tar's headers (names, octal sizes, NUL padding) would be counted among the text."""
    archive = tar_of({"corpus/a.txt": b"one two\n" * 100, "corpus/b.txt": b"three\n" * 100})
    for name, data in (("c.tar", archive), ("c.tar.gz", gzip.compress(archive)), ("c.tar.xz", lzma.compress(archive)),
                       ("c.txt", archive)):
        path = write(tmp_path / name, data)
        with pytest.raises(OSError, match=f"{name}: is a tar archive, not text; unpack it first"):
            all_tokens(Corpus([path]))


def test_text_that_only_looks_like_a_magic_number_is_read():
    from w2v.corpus import check_text_head
    mustard = b"x" * 256 + b"mustard " * 100  # "ustar" at byte 257, where tar has it
    assert mustard[257:262] == b"ustar"
    for text in (b"BZh9 is a word\n", b"BZh91AY&SX", b"PK is text", b"\x1f not gzip", b"", b"B", mustard):
        check_text_head("t.txt", text)  # nothing raised
    with pytest.raises(OSError, match="standard input: is gzip-compressed data, not text; decompress it on the way in"):
        check_text_head("standard input", gzip.compress(b"x"))
    with pytest.raises(OSError, match=re.escape("standard input: is UTF-16 or UTF-32 text (it starts with a byte order "
                                                "mark), not UTF-8; convert it on the way in (iconv")):
        check_text_head("standard input", "x".encode("utf-16"))
    check_text_head("t.txt", "\ufeffa UTF-8 byte order mark".encode())  # UTF-8 is read, mark and all


def test_compressed_standard_input_and_a_compressed_first_part_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(gzip.compress(VARIED_TEXT))))
    with pytest.raises(OSError, match="standard input: is gzip-compressed data"):
        all_tokens(Corpus(["-"]))
    big = write(tmp_path / "big.txt", b"\xfd7zXZ\x00" + bytes(range(256)) * 600)  # cut into byte ranges
    assert os.path.getsize(big) >= 2 * corpus_module.MIN_PART_BYTES
    with pytest.raises(OSError, match="big.txt: is xz-compressed data"):
        all_tokens(Corpus([big]).part(0, 2))
    all_tokens(Corpus([big]).part(1, 2))  # a later range starts inside the file: bytes, not a file's start


def test_small_files_are_one_block_each_and_short_reads_change_nothing(tmp_path, monkeypatch):
    """A plain file smaller than a block comes as one block that ends it; reads that return less than
    asked (as on some network file systems) give the same blocks' text, tokens and sentences."""
    texts = [b"", b"a b", b"c\n", b"D e\r\nf\n", b"g" * 40, b"h i\n" * 15 + b"jj", b"k l\n" * 16, b"m n\n" * 16 + b"o"]
    paths = [write(tmp_path / f"{i:02d}.txt", text) for i, text in enumerate(texts)]  # 63, 64 and 65 bytes last
    expected = [line.split() for text in texts for line in text.lower().split(b"\n") if line.split()]

    def read(lowercase=True):
        corpus = Corpus(paths, block_size=64, lowercase=lowercase)
        return [item for item in corpus.blocks()], sentences(corpus)
    blocks, got = read()
    assert got == expected
    assert [ends for _, ends in blocks[:6]] == [True] * 6  # the files under 64 bytes: one block each
    assert b"".join(block for block, _ in blocks) == b"".join(texts).lower()
    monkeypatch.setattr(Corpus, "_read", lambda self, path, stream: stream.read(5))
    short_blocks, short = read()
    assert short == expected
    assert b"".join(block for block, _ in short_blocks) == b"".join(texts).lower()


def test_fingerprint_is_the_size_and_crcs_of_the_first_and_last_bytes_whatever_the_reads(tmp_path, monkeypatch):
    import os
    import zlib
    texts = [b"", b"0123456789", bytes(range(16)), bytes(range(17)), bytes(range(48)) * 3]
    paths = [write(tmp_path / f"{i}.txt", text) for i, text in enumerate(texts)]
    expected = [[len(t), zlib.crc32(t[:16]), zlib.crc32(t[-16:])] for t in texts]
    assert Corpus(paths).fingerprint(sample=16) == expected
    pread = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, offset: pread(fd, min(n, 3), offset))
    assert Corpus(paths).fingerprint(sample=16) == expected


def test_a_folder_refuses_a_named_pipe_or_a_broken_link_and_leaves_links_to_folders(tmp_path):
    """A named pipe in a corpus folder would wait for a writer forever: it is an error naming it, as is
    a broken link; a link to a file is read, a link to a folder is left (as os.walk leaves it)."""
    import os
    import threading
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    write(corpus / "a.txt", "one\n")
    write(corpus / "sub" / "b.txt", "two\n")
    other = tmp_path / "other"
    other.mkdir()
    write(other / "c.txt", "three\n")
    os.symlink(other / "c.txt", corpus / "linked.txt")
    os.symlink(other, corpus / "linked-folder")
    assert all_tokens(Corpus([str(corpus)])) == [b"one", b"three", b"two"]
    assert Corpus([str(corpus)]).read_once is None
    os.mkfifo(corpus / "pipe.txt")
    with pytest.raises(OSError, match="pipe.txt: is a named pipe, not a file, in the corpus folder"):
        Corpus([str(corpus)])
    os.unlink(corpus / "pipe.txt")
    os.symlink(tmp_path / "missing.txt", corpus / "broken.txt")
    with pytest.raises(OSError, match="broken.txt: is a broken symbolic link in the corpus folder"):
        Corpus([str(corpus)])
    fifo = str(tmp_path / "named")  # a pipe named as an input is read, as <(zcat a.gz) is
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: write(fifo, "four five\n"), daemon=True)
    writer.start()
    piped = Corpus([fifo])
    assert piped.read_once == f"{fifo} (a pipe)" and piped.fingerprint() is None  # (reading it would take its text)
    assert all_tokens(piped) == [b"four", b"five"]
    writer.join(5)
    with pytest.raises(ValueError, match="named \\(a pipe\\) was already read"):
        all_tokens(piped)


def test_with_keep_fingerprint_a_pass_takes_each_plain_files_fingerprint_so_none_is_read_again(tmp_path, monkeypatch):
    """The fingerprint after a pass comes from the pass's own reads (a folder of a million small files paid
    some 6 s to read every file again); it equals the one taken by reading the files, for files smaller,
    as large as and larger than the sample, read in one block or in many (block size 64), with no white
    space, lowercased, and compressed (those are still read here: the print is of the bytes on disk)."""
    import zlib
    from w2v import corpus as corpus_module
    from w2v.corpus import PRINT_SAMPLE
    S = PRINT_SAMPLE
    texts = [b"", b"The Cat\n", b"x" * S, b"A b\n" * (S // 4) + b"Z", bytes(range(256)) * (3 * S // 256 + 7),
             b"y" * (5 * S + 3), b"w " * (2 * S)]
    paths = [write(tmp_path / f"{i}.txt", text) for i, text in enumerate(texts)]
    paths.append(write(tmp_path / "z.gz", gzip.compress(b"gz text\n")))
    expected = Corpus(paths).fingerprint()
    assert expected[3] == [len(texts[3]), zlib.crc32(texts[3][:S]), zlib.crc32(texts[3][-S:])]
    file_print = corpus_module._file_print
    read = []
    monkeypatch.setattr(corpus_module, "_file_print", lambda path, sample: read.append(path) or file_print(path, sample))
    for block_size in (64, 1000, 3 * S, corpus_module.DEFAULT_BLOCK_SIZE):
        for lowercase in (False, True):
            corpus = Corpus(paths, block_size=block_size, lowercase=lowercase, keep_fingerprint=True)
            for _ in corpus.blocks():
                pass
            read.clear()
            assert corpus.fingerprint() == expected, (block_size, lowercase)
            assert read == [paths[-1]]  # the compressed file only
            assert corpus.fingerprint(sample=16) == Corpus(paths).fingerprint(sample=16)  # another sample: read
    # a pass stopped before a file's end keeps nothing of that file: it is read here
    corpus = Corpus([paths[5]], block_size=1000, keep_fingerprint=True)
    next(iter(corpus.blocks()))
    read.clear()
    assert corpus.fingerprint() == [expected[5]] and read == [paths[5]]
    # without keep_fingerprint (counting alone, phrases) a pass keeps nothing
    corpus = Corpus(paths[:2])
    for _ in corpus.blocks():
        pass
    read.clear()
    assert corpus.fingerprint() == expected[:2] and read == paths[:2]


def test_a_zip_archive_is_read_as_a_folder_of_its_files(tmp_path):
    """text8.zip, as the word2vec demo downloads it, is one file inside; an archive of several is read as
    the folder it was made from: files in name order, hidden ones (macOS's __MACOSX/._*) and folders left
    out, lines not running from one file into the next."""
    import zipfile
    files = {"corpus/b.txt": b"four five\n", "corpus/a.txt": b"one two\nthree", "__MACOSX/corpus/._a.txt": b"junk",
             "corpus/.hidden": b"never", "corpus/sub/": b""}
    folder = tmp_path / "folder"
    for name, data in files.items():
        if not name.endswith("/"):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
    expected = sentences(Corpus([str(folder / "corpus")]))
    assert expected == [[b"one", b"two"], [b"three"], [b"four", b"five"]]
    for method in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        path = write(tmp_path / f"c{method}.zip", zip_of(files, method))
        assert sentences(Corpus([path])) == expected, method
        assert sentences(Corpus([path], block_size=64)) == expected, method
    one = write(tmp_path / "text8.zip", zip_of({"text8": VARIED_TEXT}))
    assert b" ".join(all_tokens(Corpus([one]))) == VARIED_TEXT


def encrypted_flag(archive: bytes) -> bytes:
    """``archive`` with its one file marked encrypted (bit 0 of the flags, in the local and central headers)."""
    marked = bytearray(archive)
    marked[6] |= 1
    marked[archive.index(b"PK\x01\x02") + 8] |= 1
    return bytes(marked)


def test_a_cut_damaged_or_unreadable_zip_is_one_clear_error(tmp_path):
    whole = zip_of({"a.txt": VARIED_TEXT})
    crc = bytearray(zip_of({"a.txt": VARIED_TEXT}, 0))  # stored: a changed byte of text fails only the CRC
    crc[100] ^= 0x20
    bad = {"cut": (whole[:len(whole) // 2], "cannot read compressed data (File is not a zip file)"),
           "damaged": (damaged_inside(whole), "cannot read compressed data"),
           "crc": (bytes(crc), "cannot read compressed data (Bad CRC-32"),
           "plain": (VARIED_TEXT[:5000], "cannot read compressed data (File is not a zip file)"),
           "nested": (zip_of({"a.txt": b"x\n", "b.txt.gz": gzip.compress(b"y\n")}),
                      "b.txt.gz inside is an archive or compressed; unpack the .zip first"),
           "encrypted": (encrypted_flag(zip_of({"a.txt": b"x\n"})), "a.txt inside is encrypted; unpack the .zip first")}
    for name, (data, message) in bad.items():
        path = write(tmp_path / f"{name}.zip", data)
        with pytest.raises(OSError, match=re.escape(f"{name}.zip: {message}")):
            all_tokens(Corpus([path]))


UNREADABLE_ZIPS = """
import gc, sys
from w2v.corpus import Corpus
for path in sys.argv[1:]:
    try:
        list(Corpus([path]).tokens())
    except OSError as error:
        print(error)
    gc.collect()
"""


def test_a_zip_refused_as_it_opens_leaves_nothing_for_its_finalizer_to_raise(tmp_path):
    """A .zip refused while its reader was made (cut, or a file inside that is compressed or encrypted) left
    a half-made reader whose finalizer's close() raised AttributeError; Python 3.13 prints that ("Exception
    ignored in: <w2v.corpus._ZipText ...>" and a traceback), as Python's development mode does on any version."""
    whole = zip_of({"a.txt": b"x y\n", "b.txt.gz": gzip.compress(b"y\n")})
    paths = [write(tmp_path / "cut.zip", whole[:60]), write(tmp_path / "nested.zip", whole),
             write(tmp_path / "encrypted.zip", encrypted_flag(zip_of({"a.txt": b"x\n"})))]
    done = subprocess.run([sys.executable, "-X", "dev", "-c", UNREADABLE_ZIPS, *map(str, paths)], capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, PYTHONPATH=ROOT))
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 3, done.stderr
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("inflater", ["isal", "zlib"])
def test_a_deflated_zip_member_is_inflated_and_checked_as_zipfile_does(tmp_path, monkeypatch, inflater):
    """w2v inflates a deflated file inside a .zip itself (python-isal's inflater when installed, 3x
    zipfile's zlib): the same text as zipfile in any block size, and a wrong CRC-32, a wrong size or
    deflate data cut before its end are each the one-line error."""
    if inflater == "zlib":
        monkeypatch.setattr(compression, "_isal_zlib", None)
    else:
        pytest.importorskip("isal")
    runs = b"a " * 300_000 + b" b" * 50_000 + b"\n"  # much text from little input
    whole = zip_of({"a.txt": VARIED_TEXT, "b.txt": runs, "c.txt": b""})
    path = write(tmp_path / "good.zip", whole)
    expected = VARIED_TEXT + b"\n" + runs + b"\n" + b"\n"
    for block_size in (64, 4096, 1 << 20):
        assert b" ".join(all_tokens(Corpus([path], block_size=block_size))) == b" ".join(expected.split())
    one = zip_of({"a.txt": VARIED_TEXT})
    central = one.index(b"PK\x01\x02")

    def changed(offset, value):
        data = bytearray(one)
        data[central + offset:central + offset + 4] = value.to_bytes(4, "little")
        return bytes(data)
    crc, compressed, size = (int.from_bytes(one[central + k:central + k + 4], "little") for k in (16, 20, 24))
    bad = {"crc": changed(16, crc ^ 1), "size": changed(24, size - 1), "short": changed(20, compressed - 100)}
    for name, data in bad.items():
        path = write(tmp_path / f"{name}.zip", data)
        with pytest.raises(OSError, match=re.escape(f"{name}.zip: cannot read compressed data (Bad CRC-32 or size")):
            all_tokens(Corpus([path]))


def deflated_zip(name: bytes, text: bytes, deflated: bytes) -> bytes:
    """A .zip of one file ``name`` whose data is ``deflated`` (raw deflate) and whose sizes and CRC-32
    are ``text``'s, built by hand."""
    import struct
    crc = zlib.crc32(text)
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(deflated), len(text), len(name), 0)
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(deflated), len(text),
                          len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(name) + len(deflated), 0)
    return local + name + deflated + central + end


@pytest.mark.parametrize("inflater", ["isal", "zlib"])
def test_a_zip_member_whose_deflate_data_never_ends_is_an_error(tmp_path, monkeypatch, inflater):
    """All of the text, the right size and CRC-32, but deflate data without its last block (flushed, not
    finished): damaged, as zipfile says too."""
    if inflater == "zlib":
        monkeypatch.setattr(compression, "_isal_zlib", None)
    else:
        pytest.importorskip("isal")
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    unfinished = packer.compress(VARIED_TEXT) + packer.flush(zlib.Z_SYNC_FLUSH)
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    finished = packer.compress(VARIED_TEXT) + packer.flush()
    good = write(tmp_path / "good.zip", deflated_zip(b"a.txt", VARIED_TEXT, finished))
    assert b" ".join(all_tokens(Corpus([good]))) == VARIED_TEXT
    bad = write(tmp_path / "bad.zip", deflated_zip(b"a.txt", VARIED_TEXT, unfinished))
    with pytest.raises(OSError, match=re.escape("bad.zip: cannot read compressed data (Bad CRC-32 or size")):
        all_tokens(Corpus([bad]))


def test_files_are_dealt_whole_by_size_and_the_largest_part_stays_within_its_bound():
    from w2v.corpus import deal_files
    sizes = [7, 5, 4, 3, 3, 0]
    parts = deal_files(sizes, 2)
    # largest first, each to the lighter part (ties: the lower part; equal sizes: the earlier file)
    assert parts == [0, 1, 1, 0, 1, 0]
    assert deal_files([5, 5, 5, 5], 4) == [0, 1, 2, 3]
    assert deal_files([1, 2, 3], 1) == [0, 0, 0]
    rng = __import__("random").Random(3)
    for _ in range(200):
        n = rng.randint(1, 7)
        sizes = [rng.choice([1, 10, 100, 1000]) * rng.randint(1, 9) for _ in range(rng.randint(0, 30))]
        loads = [0] * n
        for size, k in zip(sizes, deal_files(sizes, n)):
            assert 0 <= k < n
            loads[k] += size
        assert max(loads, default=0) <= sum(sizes) / n + max(sizes, default=0)  # Graham's bound


def test_compressed_files_go_whole_to_one_part_unless_that_unbalances_the_parts():
    from w2v.corpus import CUT, DEAL_BALANCE, DEAL_BALANCE_OTHER, MIN_PART_BYTES, SHARED, split_roles
    big = MIN_PART_BYTES * 2
    gz, bz, plain = DEAL_BALANCE_OTHER, DEAL_BALANCE[".bz2"], None
    assert (gz, bz) == (0.02, 0.2)
    # ten compressed files of a similar size: each to one part, no part 2 % above an even share
    sizes = [1000, 1010, 990, 1000, 1005, 995, 1000, 1000, 1002, 998]
    roles = split_roles(sizes, [gz] * 10, 2)
    assert SHARED not in roles and CUT not in roles and sorted(set(roles)) == [0, 1]
    assert abs(sum(s for s, r in zip(sizes, roles) if r == 0) - sum(sizes) / 2) <= 0.02 * sum(sizes) / 2
    # one compressed file alone (a .bz2 dump), or too large against the others: shared by every part
    assert split_roles([10 ** 9], [bz], 2) == [SHARED]
    assert split_roles([10 ** 6, 1000, 1000, 1000], [gz] * 4, 3) == [SHARED, 0, 1, 2]
    # three equal files on two parts: 2 against 1 is 33 % over; the largest (the first) is shared,
    # and the other two are dealt one a part; four are dealt evenly, and 500 + 10 against 490 is 2 % over
    assert split_roles([500, 500, 500], [gz] * 3, 2) == [SHARED, 0, 1]
    assert split_roles([500, 500, 500, 500], [gz] * 4, 2) == [0, 1, 0, 1]
    assert split_roles([500, 490, 10], [gz] * 3, 2) == [0, 1, 1]
    # the tolerance is the largest compressed file's: .bz2 files may be 20 % over before one is shared
    assert split_roles([500, 500, 500, 500, 500], [gz] * 5, 2) == [SHARED, 0, 1, 0, 1]  # 3 against 2: 20 % over
    assert split_roles([500, 500, 500, 500, 500], [bz] * 5, 2) == [0, 1, 0, 1, 0]
    assert split_roles([500, 500, 500], [bz] * 3, 2) == [SHARED, 0, 1]  # 33 % over
    assert split_roles([500, 500, 500, 500, 500], [bz, gz, gz, gz, gz], 2) == [0, 1, 0, 1, 0]
    assert split_roles([500, 500, 500, 500, 500], [gz, bz, bz, bz, bz], 2) == [SHARED, 0, 1, 0, 1]
    # ... unless a large plain file, cut evenly, makes that small against the whole
    assert split_roles([500, 500, 500, 100 * big], [gz, gz, gz, plain], 2) == [0, 1, 0, CUT]
    # the cut file's bytes count on every part: 20,000 + big / 2 on one part is more than 2 % over an
    # even share of 23,000 + big, so that file is shared; then 3,000 + (20,000 + big) / 2 is not
    assert split_roles([20_000, 3_000, big], [gz, gz, plain], 2) == [SHARED, 0, CUT]
    # small plain files are dealt, never shared, however uneven; large ones are cut
    assert split_roles([big - 1, 10, big], [plain] * 3, 2) == [0, 1, CUT]
    assert split_roles([], [], 3) == []
    assert split_roles([0, 0], [gz, plain], 2) == [0, 0]


def test_parts_read_each_dealt_compressed_file_once_and_hold_every_token_once(tmp_path, monkeypatch):
    """Five .gz files of similar size and one .bz2 file too large to deal evenly: a .gz file dealt to a
    part is opened by that part only, any .gz file shared by every part, and the .bz2 file is cut by its
    blocks (not opened as a whole file by any part); the parts' tokens are the whole's."""
    import random
    rng = random.Random(5)
    words = [b"w%d" % i for i in range(300)] + ["\u00e9t\u00e9".encode(), b"x\xffy"]

    def text(n_words):
        return b"\n".join(b" ".join(rng.choice(words) for _ in range(rng.randint(1, 60)))
                          for _ in range(n_words // 30)) + b"\n"
    paths = [write(tmp_path / f"{i}.txt.gz", gzip.compress(text(3000), mtime=0)) for i in range(5)]
    paths.append(write(tmp_path / "big.txt.bz2", bz2.compress(text(60000))))
    paths.append(write(tmp_path / "small.txt", text(30)))
    whole = sorted(all_tokens(Corpus(paths, block_size=4096)))
    opened = []
    real_open = Corpus._open
    monkeypatch.setattr(Corpus, "_open", lambda self, path, threads=None: (opened.append((self.k, path)),
                                                                           real_open(self, path, threads))[1])
    for n in (2, 3):
        opened.clear()
        parts = [Corpus(paths, block_size=4096).part(k, n) for k in range(n)]
        assert parts[0].roles[5] == corpus_module.BLOCKS
        assert sorted(t for part in parts for t in all_tokens(part)) == whole
        roles = parts[0].roles
        assert all(part.roles == roles for part in parts)
        assert sum(0 <= role < n for role in roles[:5]) >= 3  # most .gz files dealt
        for i, path in enumerate(paths):
            readers = sorted(k for k, p in opened if p == path)
            assert readers == ([] if roles[i] == corpus_module.BLOCKS else list(range(n))
                               if roles[i] == corpus_module.SHARED else [roles[i]])


@pytest.mark.parametrize("streams", ["one stream", "a stream a block (pbzip2)"])
def test_one_large_bz2_file_is_cut_among_the_parts_by_its_blocks(tmp_path, monkeypatch, streams):
    """A .bz2 file that would be shared is cut by its blocks: each part inflates about its share of them
    (and those where its range ends), and the parts' tokens, in order, are the whole's; the layout is
    found once a process for the unchanged file. Where the layout is not certain (a block mark found by
    chance), every part reads the file whole as a shared one, with the same tokens."""
    import random
    from w2v import bzip2
    rng = random.Random(3)
    words = [b"w%d" % i for i in range(2000)] + ["\u00e9t\u00e9".encode(), b"x\xffy", b"z" * 3000]
    text = b"\n".join(b" ".join(rng.choice(words) for _ in range(rng.randint(1, 80))) for _ in range(8000)) + b"\n"
    if streams == "one stream":
        data = bz2.compress(text, 1)
    else:  # streams of 90 kB of text each, cut inside tokens
        data = b"".join(bz2.compress(text[i:i + 90_000], 1) for i in range(0, len(text), 90_000))
    path = write(tmp_path / "dump.txt.bz2", data)
    n_blocks = len(bzip2.blocks_of(io.BytesIO(data)))
    assert n_blocks >= 9
    whole = all_tokens(Corpus([path]))
    inflated = []
    real_inflate = bzip2._inflate_block
    monkeypatch.setattr(bzip2, "_inflate_block", lambda *job: (inflated.append(1), real_inflate(*job))[1])
    for n in (2, 3, 4):
        parts = [Corpus([path]).part(k, n) for k in range(n)]
        assert all(part.roles == [corpus_module.BLOCKS] for part in parts)
        per_part = []
        tokens = []
        for part in parts:
            inflated.clear()
            tokens += all_tokens(part)
            per_part.append(len(inflated))
        assert tokens == whole
        assert n_blocks <= sum(per_part) <= n_blocks + n - 1, per_part
        assert n_blocks // n - 2 <= min(per_part) and max(per_part) <= n_blocks // n + 3, per_part

    # the layout was found once for all these parts (the file did not change), and found again if it does
    scans = []
    real_blocks_of = bzip2.blocks_of
    monkeypatch.setattr(bzip2, "blocks_of", lambda raw: (scans.append(1), real_blocks_of(raw))[1])
    all_tokens(Corpus([path]).part(1, 2))
    assert scans == []
    os.utime(path, ns=(0, 0))
    all_tokens(Corpus([path]).part(1, 2))
    assert scans == [1]

    corpus_module.forget_bzip2_layouts()
    found = bzip2._marks  # a mark by chance in the middle of the file: every part reads it whole
    middle = os.path.getsize(path) // 2
    monkeypatch.setattr(bzip2, "_marks", lambda data, begin, end, which: sorted(
        found(data, begin, end, which) + ([middle * 8 + 3] if which == bzip2.BLOCK_MARK and begin <= middle < end
                                         else [])))
    opened = []
    real_open = Corpus._open
    monkeypatch.setattr(Corpus, "_open", lambda self, path, threads=None: (opened.append(self.k),
                                                                           real_open(self, path, threads))[1])
    parts = [Corpus([path]).part(k, 2) for k in range(2)]
    assert sorted(t for part in parts for t in all_tokens(part)) == sorted(whole) and opened == [0, 1]


def test_parts_take_the_layout_their_machines_found_together(tmp_path, monkeypatch):
    """On a cluster each of n workers scans 1/n of a .bz2 file cut by its blocks for its marks
    (:func:`bzip2_scan_share`), and the layout from all the shares, kept in every worker, is the whole
    file's: the parts then read without scanning the file. A layout kept for another version of the
    file (another modification time) is not used: the part scans the file itself."""
    from w2v import bzip2
    text = b"\n".join(b" ".join(b"w%d" % ((i * 7919 + j) % 5003) for j in range(60)) for i in range(6_000))
    data = bz2.compress(text, 1)
    path = write(tmp_path / "dump.txt.bz2", data)
    whole = bzip2.blocks_of(io.BytesIO(data))
    assert len(whole) >= 9
    for n in (1, 3, 4):
        shares = [corpus_module.bzip2_scan_share(path, k, n) for k in range(n)]
        assert len({share[:3] for share in shares}) == 1 and shares[0][2] == data[:4]
        for k, (size, _, _, marks) in enumerate(shares):  # each share holds the marks of its bytes only
            assert size == len(data) and all(size * k // n <= mark.bit // 8 < size * (k + 1) // n for mark in marks)
        size, mtime_ns, head, _ = shares[0]
        assert bzip2.layout_of(head, [mark for *_, marks in shares for mark in marks]) == whole
    expected = all_tokens(Corpus([path]))
    scans = []
    real_blocks_of = bzip2.blocks_of
    monkeypatch.setattr(bzip2, "blocks_of", lambda raw: (scans.append(1), real_blocks_of(raw))[1])
    corpus_module.forget_bzip2_layouts()
    corpus_module.keep_bzip2_layout(path, size, mtime_ns, whole)
    parts = [Corpus([path]).part(k, 3) for k in range(3)]
    assert [t for part in parts for t in all_tokens(part)] == expected and scans == []
    corpus_module.forget_bzip2_layouts()
    corpus_module.keep_bzip2_layout(path, size, mtime_ns + 1, whole[:2])  # another version's
    assert [t for part in parts for t in all_tokens(part)] == expected and scans == [1]


@pytest.mark.parametrize("kind", ["cut plain", "dealt .gz", "shared .gz", ".bz2 cut by blocks", ".xz of blocks"])
def test_a_file_gone_since_the_split_is_one_line_naming_it(tmp_path, monkeypatch, kind):
    """A part opens its files when it reads them, on another machine and perhaps much later: a file gone
    by then is "cannot read (No such file or directory)" naming it, whatever its role, not a traceback or
    a guess that the data is damaged."""
    monkeypatch.setattr(corpus_module, "MIN_PART_BYTES", 1 << 10)
    text = b" ".join(b"w%d" % (i % 997) for i in range(300_000))
    compress = {"cut plain": bytes, "dealt .gz": gzip.compress, "shared .gz": gzip.compress,
                ".bz2 cut by blocks": lambda data: bz2.compress(data, 1),
                ".xz of blocks": lambda data: b"".join(lzma.compress(data[i:i + 50_000])
                                                       for i in range(0, len(data), 50_000))}[kind]
    ext = {"cut plain": ".txt", ".bz2 cut by blocks": ".bz2", ".xz of blocks": ".xz"}.get(kind, ".gz")
    path = write(tmp_path / f"gone{ext}", compress(text))
    paths = [path] + ([write(tmp_path / "other.gz", gzip.compress(text))] if kind == "dealt .gz" else [])
    part = Corpus(paths).part(0, 2)
    assert part.roles[0] == {"cut plain": corpus_module.CUT, "dealt .gz": 0, "shared .gz": corpus_module.SHARED,
                             ".bz2 cut by blocks": corpus_module.BLOCKS, ".xz of blocks": corpus_module.CUT}[kind]
    corpus_module.forget_bzip2_layouts()
    os.remove(path)
    with pytest.raises(OSError) as error:
        list(part.blocks())
    assert str(error.value) == f"{path}: cannot read (No such file or directory)"


def test_a_part_weighs_its_files_by_their_sizes_on_disk_and_kinds(tmp_path):
    """The roles come from the sizes and names alone (nothing is read): five files of 500 bytes on two
    parts are 20 % over an even share, which .bz2 files tolerate and .gz, .xz and .zst files do not."""
    from w2v.corpus import SHARED
    for ext, expected in ((".bz2", [0, 1, 0, 1, 0]), (".gz", [SHARED, 0, 1, 0, 1]), (".xz", [SHARED, 0, 1, 0, 1]),
                          (".zst", [SHARED, 0, 1, 0, 1]), (".txt", [0, 1, 0, 1, 0])):
        paths = [write(tmp_path / f"{i}{ext}", b"x" * 500) for i in range(5)]
        assert [Corpus(paths).part(k, 2).roles for k in (0, 1)] == [expected] * 2, ext


def test_a_block_size_a_count_cannot_hold_is_refused(tmp_path):
    """A token a block had to cut is as long as a block, and a count's entry holds 28 bits of length:
    a larger block size is refused when the corpus is made, before anything is read."""
    from w2v import kernels
    from w2v.corpus import MAX_BLOCK_SIZE
    path = write(tmp_path / "t.txt", "a b\n")
    assert MAX_BLOCK_SIZE == kernels.MAX_TOKEN_BYTES
    assert Corpus([path], block_size=MAX_BLOCK_SIZE).block_size == MAX_BLOCK_SIZE
    for bad in (63, MAX_BLOCK_SIZE + 1):
        with pytest.raises(ValueError, match="block_size must be at least 64 bytes and at most 268,435,455"):
            Corpus([path], block_size=bad)
