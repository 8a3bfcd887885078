"""Build word2vec.c with a ``-seed N`` option, for quality comparisons over seeds.

``python benchmarks/seeded_word2vec_c.py -o /tmp/word2vec-seeded`` downloads the PyPI
``word2vec`` source package (the same source ``pip install word2vec`` compiles), changes where
its two random states start, and compiles it with the package's own gcc flags.

Why: word2vec.c has no seed. Its input vectors always start from the same state (1), and
thread ``i`` always starts its state at ``i``, so its runs differ only by thread timing.
Its mean over runs therefore stands for one initialisation, while w2v's mean over seeds
averages over initialisations; comparing those two mixes up seed luck with a real
difference. With ``-seed N`` the initialisation starts from ``1 + N`` and thread ``i``
from ``i + N * 2**20``; ``-seed 0`` (the default) is the original program, bit for bit
with one thread. Nothing else changes. Pass the binary to ``compare.py --word2vec-bin``
together with ``--word2vec-seeded``.
"""
from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import tarfile
import tempfile

PACKAGE = "word2vec==0.11.1"
# gcc flags of the package's setup.py (Linux), so the build runs as fast as the pip one
CFLAGS = "-lm -pthread -Ofast -Wall -march=native -funroll-loops -Wno-unused-result".split()

# (original text, replacement): each original must occur exactly once in word2vec.c
SEED_PATCH = [
    ("real alpha = 0.025,", "long long seed = 0;\nreal alpha = 0.025,"),
    ("unsigned long long next_random = 1;", "unsigned long long next_random = 1 + seed;"),
    ("unsigned long long next_random = (long long)id;",
     "unsigned long long next_random = (long long)id + (seed << 20);"),
    ('if ((i = ArgPos((char *)"-iter", argc, argv)) > 0)',
     'if ((i = ArgPos((char *)"-seed", argc, argv)) > 0) seed = atoll(argv[i + 1]);\n'
     '  if ((i = ArgPos((char *)"-iter", argc, argv)) > 0)'),
]


# --high-bits (a diagnostic for hierarchical softmax's gap): subsampling and the window's
# shrink drawn from bits 16 and up of the generator instead of its low bits; the low 16 bits of
# word2vec.c's LCG repeat every 65,536 draws and its lowest bit alternates
HIGH_BITS_PATCH = [
    ("if (ran < (next_random & 0xFFFF) / (real)65536) continue;",
     "if (ran < ((next_random >> 16) & 0xFFFF) / (real)65536) continue;"),
    ("b = next_random % window;", "b = (next_random >> 16) % window;"),
]


def patch_source(text: str, high_bits: bool = False) -> str:
    """word2vec.c's source with the ``-seed`` option; ValueError if the source is not the expected one."""
    for old, new in SEED_PATCH + (HIGH_BITS_PATCH if high_bits else []):
        found = text.count(old)
        if found != 1:
            raise ValueError(f"word2vec.c: expected {old!r} once, found it {found} times; "
                             f"use the source of {PACKAGE}")
        text = text.replace(old, new)
    return text


def fetch_source(folder: str) -> str:
    """Download the package's source into ``folder``; returns the path of word2vec.c."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                    "--dest", folder, PACKAGE], check=True)
    archive = glob.glob(os.path.join(folder, "word2vec-*.tar.gz"))[0]
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    return glob.glob(os.path.join(folder, "word2vec-*", "word2vec", "includes", "word2vec.c"))[0]


def build(output: str, source: str | None = None, high_bits: bool = False) -> str:
    with tempfile.TemporaryDirectory(prefix="word2vec-c-") as work:
        source = source or fetch_source(work)
        with open(source) as f:
            patched = patch_source(f.read(), high_bits)
        c_file = os.path.join(work, "word2vec_seeded.c")
        with open(c_file, "w") as f:
            f.write(patched)
        partial = output + ".part"
        subprocess.run(["gcc", c_file, "-o", partial] + CFLAGS, check=True)
        os.replace(partial, output)
    return output


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", required=True, help="path of the binary to write")
    parser.add_argument("--source", help="a word2vec.c to patch instead of downloading the package")
    parser.add_argument("--high-bits", action="store_true",
                        help="diagnostic: draw subsampling and window shrinks from bits 16+ of the generator")
    args = parser.parse_args(argv)
    try:
        print(build(args.output, args.source, args.high_bits))
    except (ValueError, OSError, subprocess.CalledProcessError) as error:
        raise SystemExit(f"seeded_word2vec_c: {error}") from None


if __name__ == "__main__":
    main()
