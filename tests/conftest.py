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


def write(path, data):
    """Write bytes or text to ``path`` and return it as a string."""
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)
    return str(path)


def slowed(function, seconds):
    """``function``, each call of it delayed by ``seconds`` first (to widen a race between threads)."""
    import time

    def slow(*args):
        time.sleep(seconds)
        return function(*args)
    return slow
