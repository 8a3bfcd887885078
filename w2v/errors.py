"""Why training stopped early: the exceptions :mod:`w2v.training` raises, in a module of their own so
that the command line can catch them without importing training (and its imports) for every query."""
from __future__ import annotations

__all__ = ["TrainingDiverged", "TrainingInterrupted"]


class TrainingDiverged(ValueError):
    """The loss became NaN or infinite."""


class TrainingInterrupted(Exception):
    """Training was stopped (a signal, a stop event or a callback) before its schedule ended."""
