"""Draw words in 2-D: a PCA projection of their vectors, with arrows for pairs ``a:b``.

Needs matplotlib (``pip install 'w2v[plot]'``); importing this module without
it raises ``ImportError``.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402

from .files import open_output  # noqa: E402
from .vectors import Vectors  # noqa: E402

__all__ = ["plot_words", "parse_items", "pca_2d"]


def parse_items(items: Sequence[str]) -> Tuple[List[str], List[Tuple[str, str]]]:
    """Split ``["man:king", "apple"]`` into words (in order, no repeats) and arrow pairs."""
    words: List[str] = []
    arrows: List[Tuple[str, str]] = []
    for item in items:
        parts = item.split(":")
        if len(parts) > 2 or not all(parts):
            raise ValueError(f"{item!r}: give a word or a pair word:word")
        for w in parts:
            if w not in words:
                words.append(w)
        if len(parts) == 2:
            arrows.append((parts[0], parts[1]))
    return words, arrows


def pca_2d(matrix: np.ndarray) -> np.ndarray:
    """float64[n, 2]: the rows projected on their first two principal components."""
    centred = matrix.astype(np.float64) - matrix.mean(axis=0)
    if len(matrix) < 2:
        return np.zeros((len(matrix), 2))
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    basis = vt[:2].T
    if basis.shape[1] < 2:
        basis = np.hstack([basis, np.zeros((basis.shape[0], 1))])
    return centred @ basis


def plot_words(vectors: Vectors, items: Sequence[str], output: str, force: bool = False) -> None:
    """Write a PNG of ``items`` (words and ``a:b`` pairs) to ``output``, atomically
    (:func:`w2v.files.open_output`; ``force`` replaces a read-only file)."""
    words, arrows = parse_items(items)
    if len(words) < 2:
        raise ValueError("give at least two words to plot")
    ids = vectors.indices(words)
    points = pca_2d(vectors.unit_rows(ids))
    where = {w: points[i] for i, w in enumerate(words)}
    fig, ax = plt.subplots(figsize=(7, 6), dpi=110)
    ax.scatter(points[:, 0], points[:, 1], s=18, color="#1f77b4")
    for w, (x, y) in where.items():
        ax.annotate(w, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=10)
    for a, b in arrows:
        ax.annotate("", xy=where[b], xytext=where[a],
                    arrowprops={"arrowstyle": "->", "color": "#d62728", "lw": 1.4})
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title("word vectors, PCA projection")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    try:
        with open_output(output, "wb", force=force) as f:
            fig.savefig(f, format="png")
    finally:
        plt.close(fig)
