"""Word classes: k-means on the unit vectors, word2vec.c's ``-classes``, seeded and in bounded memory.

Spherical k-means, as word2vec.c does it: every word's vector is scaled to unit length, each word
goes to the centroid with the largest dot product, and each centroid is the sum of its words'
vectors scaled to unit length; a cluster left empty keeps its centroid. It stops when no word
changes class, or after ``iterations`` passes (word2vec.c: always 10).

Deviations from word2vec.c, both for better classes at the same cost per pass: the start is
greedy k-means++ (centroids drawn one by one with probability proportional to the squared distance
from the nearest one chosen so far, the best of 2 + ln K candidates each time, as scikit-learn does;
word2vec.c deals words round-robin into classes, so its first centroids are all near the mean), drawn
from a sample of at most ``max(10 K, 10,000)`` words so that it costs
what a pass costs even for millions of words; and the loop ends early once nothing moves.

Memory: the unit vectors are formed a block of rows at a time and the dot products with the K
centroids one block at a time (16,384 × K floats), so V = 3M, K = 1000 needs the labels, the
centroids and one block, never a normalised copy of the matrix or a V × K table.

No Numba here.

Example::

    >>> from w2v import Vectors
    >>> from w2v.classes import kmeans
    >>> vectors = Vectors.load("vectors.bin")                    # doctest: +SKIP
    >>> labels, centroids, passes = kmeans(vectors, 500, seed=1)  # doctest: +SKIP
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from .files import open_output
from .progress import ProgressBar
from .vectors import Vectors
from .words import read_word_integers

__all__ = ["kmeans", "write_classes", "read_classes"]

_BLOCK = 1 << 14


def _unit_blocks(vectors: Vectors):
    for start in range(0, len(vectors), _BLOCK):
        end = min(start + _BLOCK, len(vectors))
        yield start, end, vectors.unit_rows(np.arange(start, end))


def _initial_centroids(vectors: Vectors, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ on a sample of the unit vectors (module docstring)."""
    size = min(len(vectors), max(10 * k, 10_000))
    sample = np.sort(rng.choice(len(vectors), size=size, replace=False))
    points = vectors.unit_rows(sample).astype(np.float64)
    centroids = np.empty((k, points.shape[1]), dtype=np.float64)
    centroids[0] = points[rng.integers(size)]
    nearest = ((points - centroids[0]) ** 2).sum(axis=1)
    trials = 2 + int(np.log(k))  # greedy k-means++: of a few candidates, the one that helps most
    for c in range(1, k):
        total = nearest.sum()
        if total <= 0:
            candidates = rng.integers(size, size=trials)
        else:
            candidates = rng.choice(size, size=trials, p=nearest / total)
        best, best_nearest = None, None
        for pick in candidates.tolist():
            trial = np.minimum(nearest, ((points - points[pick]) ** 2).sum(axis=1))
            if best_nearest is None or trial.sum() < best_nearest.sum():
                best, best_nearest = pick, trial
        centroids[c] = points[best]
        nearest = best_nearest
    return centroids.astype(np.float32)


def kmeans(vectors: Vectors, k: int, iterations: int = 10, seed: int = 1,
           progress: bool = False) -> Tuple[np.ndarray, np.ndarray, int]:
    """Cluster the words of ``vectors`` into ``k`` classes (module docstring).

    Returns ``(labels int32[V], centroids float32[K, D] of unit length, passes made)``. Raises
    ``ValueError`` for ``k`` outside [1, V] or ``iterations`` below 1. ``progress``: a bar of passes
    on standard error, with how many words the last pass moved (1M words, K = 500 take ~2 s a pass).
    """
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= len(vectors):
        raise ValueError(f"k must be between 1 and the number of words ({len(vectors):,}), got {k}")
    if not isinstance(iterations, (int, np.integer)) or iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    rng = np.random.default_rng(seed)
    centroids = _initial_centroids(vectors, int(k), rng)
    labels = np.full(len(vectors), -1, dtype=np.int32)
    passes = 0
    with ProgressBar(total=iterations, desc="k-means", unit="pass", disable=not progress, leave=False) as bar:
        for passes in range(1, iterations + 1):
            sums = np.zeros(centroids.shape, dtype=np.float64)
            moved = 0
            for start, end, unit in _unit_blocks(vectors):
                chosen = np.argmax(unit @ centroids.T, axis=1).astype(np.int32)
                moved += int((chosen != labels[start:end]).sum())
                labels[start:end] = chosen
                order = np.argsort(chosen, kind="stable")
                classes, firsts = np.unique(chosen[order], return_index=True)
                sums[classes] += np.add.reduceat(unit[order].astype(np.float64), firsts, axis=0)
            lengths = np.linalg.norm(sums, axis=1)
            filled = lengths > 0  # an empty class keeps its centroid
            centroids[filled] = (sums[filled] / lengths[filled, None]).astype(np.float32)
            bar.set_postfix_str(f"{moved:,} word{'s' if moved != 1 else ''} moved", refresh=False)
            bar.update(1)
            if moved == 0:
                break
    return labels, centroids, passes


def write_classes(path: str, words, labels: np.ndarray, force: bool = False) -> None:
    """Write ``word class`` lines (word2vec.c's ``-classes`` output), sorted by class, then by the words'
    order within a class, atomically (:func:`w2v.files.open_output`); compressed if the name ends in .gz,
    .bz2, .xz or .zst (:mod:`w2v.compression`), and :func:`read_classes` reads it so."""
    order = np.argsort(labels, kind="stable")
    with open_output(path, "w", force=force, compress=True) as f:
        for start in range(0, len(order), _BLOCK):
            rows = order[start:start + _BLOCK]
            f.write("".join(f"{words[i]} {labels[i]}\n" for i in rows.tolist()))


def read_classes(path: str) -> dict:
    """{word: class} from a file of ``word class`` lines; ``ValueError`` naming the file and line."""
    return read_word_integers(path, "class", 0, 1 << 31)
