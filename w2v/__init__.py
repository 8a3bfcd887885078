"""w2v: fast word2vec training (skip-gram, CBOW; negative sampling, hierarchical softmax).

    >>> import w2v
    >>> result = w2v.train(["corpora/sample.txt"], dim=50, epochs=3)   # doctest: +SKIP
    >>> result.vectors.analogy("man", "king", "woman")                  # doctest: +SKIP

Importing ``w2v`` or loading vectors never imports Numba; only training does.
"""
__version__ = "0.1.0"

__all__ = ["train", "TrainOptions", "Model", "Vectors", "MissingWordsError", "load", "read_vectors",
           "write_vectors", "__version__"]


def load(path, fmt=None, limit=None, mmap=False, unicode_errors="strict"):
    """Load word vectors (word2vec text or binary, native, or a model file's); ``mmap`` maps a native or model
    file's matrix read-only instead of reading it; ``unicode_errors`` reads a word2vec file's words that are not
    valid UTF-8 (``"replace"``); see :meth:`Vectors.load`."""
    from .vectors import Vectors
    return Vectors.load(path, fmt=fmt, limit=limit, mmap=mmap, unicode_errors=unicode_errors)


def train(corpus, options=None, **kwargs):
    """Train vectors; see :func:`w2v.training.train`. ``corpus`` is a path or a list of paths."""
    from .training import train as _train
    if isinstance(corpus, str):
        corpus = [corpus]
    return _train(corpus, options, **kwargs)


def __getattr__(name):
    # imported when first used, so that importing w2v (and starting the command line) loads no NumPy yet
    if name in ("read_vectors", "write_vectors"):
        from . import formats
        return getattr(formats, name)
    if name in ("Vectors", "MissingWordsError"):
        from . import vectors
        return getattr(vectors, name)
    if name == "TrainOptions":
        from .options import TrainOptions
        return TrainOptions
    if name == "Model":
        from .model import Model
        return Model
    raise AttributeError(name)
