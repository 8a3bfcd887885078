import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from planted import SAMPLE  # noqa: E402


@pytest.fixture(scope="session")
def sample_path():
    assert os.path.exists(SAMPLE), "corpora/sample.txt is missing: run python corpora/make_sample.py"
    return SAMPLE


def invoke_apart(*args, input=None):
    """Run the ``w2v`` command in this process with its standard output and standard error apart
    (``result.stdout``, ``result.stderr``): click 8.2 on keeps them apart by default, click 8.0 and 8.1
    (Python 3.9's newest is 8.1) only when asked, and then ``result.output`` is standard output alone."""
    from click.testing import CliRunner
    from w2v.cli import cli
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click 8.2 on: always apart
        runner = CliRunner()
    return runner.invoke(cli, [str(a) for a in args], input=input)


def slurp(path, mode="r", **kwargs):
    """What ``open(path, mode, **kwargs).read()`` reads, the file closed at once (not when it is collected)."""
    with open(path, mode, **kwargs) as f:
        return f.read()


def write(path, data):
    """Write bytes or text to ``path`` and return it as a string."""
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)
    return str(path)


class Pipe:
    """A binary stream of ``data`` that cannot seek, as a pipe."""

    def __init__(self, data: bytes):
        import io
        self._f = io.BytesIO(data)

    def readable(self):
        return True

    def seekable(self):
        return False

    def read(self, n=-1):
        return self._f.read(n)


#: 200,000 tokens of 997 kinds, 1 MB: enough for a compressed stream to hold many blocks.
VARIED_TEXT = " ".join(f"w{i % 997}" for i in range(200_000)).encode()


def damaged_at(data: bytes, at: int, mask: int = 0x55) -> bytes:
    """``data`` with byte ``at`` changed (XOR ``mask``)."""
    damaged = bytearray(data)
    damaged[at] ^= mask
    return bytes(damaged)


def damaged_inside(compressed: bytes) -> bytes:
    """``compressed`` with 100 bytes changed at offset 500: damage inside the stream, not a cut."""
    damaged = bytearray(compressed)
    damaged[500:600] = bytes(b ^ 0x5A for b in damaged[500:600])
    return bytes(damaged)


def tar_of(files: dict) -> bytes:
    """A tar archive (bytes) of ``{name: bytes}``."""
    import io
    import tarfile
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def zip_of(files: dict, method=None) -> bytes:
    """A .zip archive (bytes) of ``{name: bytes}``, in that order."""
    import io
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method if method is not None else zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def slowed(function, seconds):
    """``function``, each call of it delayed by ``seconds`` first (to widen a race between threads)."""
    import time

    def slow(*args):
        time.sleep(seconds)
        return function(*args)
    return slow


def slow_first(kernel, calls: list, seen, threads: set):
    """``kernel`` with ``seen(args)`` of each call appended to ``calls`` and the calling thread added to
    ``threads``, its first call finishing 50 ms late (so that on several threads the first block is made last)."""
    import threading
    import time

    def spy(*args):
        first = not calls
        result = kernel(*args)
        calls.append(seen(args))
        threads.add(threading.get_ident())
        if first:
            time.sleep(0.05)
        return result
    return spy
