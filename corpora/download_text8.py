"""Download text8 (Matt Mahoney's 100 MB of cleaned Wikipedia), verify it, unpack it.

    python corpora/download_text8.py                  # writes ./text8
    python corpora/download_text8.py -o data/         # writes data/text8

The archive is checked against its known size and MD5 before unpacking; a
download that fails or does not match leaves nothing behind. ``--url`` and
``--md5`` exist for mirrors (and for the tests, which serve a small archive
from 127.0.0.1).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile

from tqdm import tqdm

URL = "http://mattmahoney.net/dc/text8.zip"
MD5 = "f26f94c5209bc6159618bad4a559ff81"
MEMBER = "text8"


def download(url: str, folder: str, md5: str = MD5, member: str = MEMBER, progress: bool = True,
             timeout: float = 60.0) -> str:
    """Fetch ``url`` (a zip), check its MD5, extract ``member`` into ``folder``; returns its path.

    Raises ``OSError`` for network and file errors and ``ValueError`` for a
    checksum mismatch or an archive without ``member``.
    """
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, member)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
        archive = os.path.join(tmp, "archive.zip")
        digest = hashlib.md5()
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(archive, "wb") as out:
                total = response.headers.get("Content-Length")
                with tqdm(total=int(total) if total else None, unit="B", unit_scale=True, desc=member,
                          disable=not progress, file=sys.stderr) as bar:
                    while True:
                        block = response.read(1 << 16)
                        if not block:
                            break
                        digest.update(block)
                        out.write(block)
                        bar.update(len(block))
        except (urllib.error.URLError, OSError) as error:
            raise OSError(f"cannot download {url}: {getattr(error, 'reason', error)}") from None
        if digest.hexdigest() != md5:
            raise ValueError(f"{url}: MD5 {digest.hexdigest()} does not match the expected {md5}; "
                             f"the download is damaged or not text8")
        try:
            with zipfile.ZipFile(archive) as zf, zf.open(member) as src:
                partial = os.path.join(tmp, member)
                with open(partial, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        except KeyError:
            raise ValueError(f"{url}: the archive has no member {member!r}") from None
        except zipfile.BadZipFile as error:
            raise ValueError(f"{url}: not a zip archive ({error})") from None
        os.replace(partial, target)
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=".", help="folder to write text8 into")
    parser.add_argument("--url", default=URL)
    parser.add_argument("--md5", default=MD5)
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        path = download(args.url, args.output, md5=args.md5, progress=not args.quiet)
    except (OSError, ValueError) as error:
        print(f"download_text8: {error}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
