"""Evaluation on analogy sets and word-pair similarity sets, with gensim's conventions.

Analogies (:func:`evaluate_analogies`) use the questions-words format: lines
``: section`` start a section, other lines hold four words ``a b c d`` meaning
a : b :: c : d. The prediction is the word nearest to ``b − a + c`` (3CosAdd,
or 3CosMul with ``method="mul"``) among the ``restrict_vocab`` most frequent
words, excluding ``a``, ``b`` and ``c``; with ``case_insensitive`` words are
compared upper-cased and each maps to its most frequent variant. A question
with a word outside those ``restrict_vocab`` words is skipped and counted.
Accuracy = correct / answered, per section, over semantic sections (names not
starting with ``gram``), syntactic (``gram*``), and in total. These are the
numbers of gensim's ``evaluate_word_analogies(restrict_vocab=30000,
case_insensitive=True)`` and word2vec.c's ``compute-accuracy`` with threshold
30000.

Word pairs (:func:`evaluate_pairs`): ``word1 word2 score`` lines, fields separated
by tabs (else by white space, else by commas: MTurk-771's CSV), ``#`` comments.
The score is the first column after the two words that holds a number on the
first data line (the third usually; the fourth in SimLex-999's and SimVerb-3500's
own files, which have a part-of-speech column first); other columns are ignored.
A first line with no number after its two words is a header. Spearman (ties get
average ranks) and Pearson correlations between the human scores and the cosines,
over pairs whose words are both known; the out-of-vocabulary ratio is in percent,
as gensim's ``evaluate_word_pairs``.

No Numba here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from .compression import READ_ERRORS, open_read, read_error
from .formats import is_number
from .vectors import Vectors

__all__ = ["AnalogyResult", "PairResult", "evaluate_analogies", "evaluate_pairs", "read_analogies",
           "read_pairs", "spearman", "pearson"]

_BATCH = 256  # questions scored per matrix product (256 x 30000 float32 scores: 31 MB)


@dataclass
class SectionScore:
    name: str
    correct: int = 0
    answered: int = 0
    skipped: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


@dataclass
class AnalogyResult:
    """Per-section and aggregate accuracy; ``skipped`` questions had an unknown word."""
    sections: List[SectionScore] = field(default_factory=list)
    semantic: SectionScore = field(default_factory=lambda: SectionScore("semantic"))
    syntactic: SectionScore = field(default_factory=lambda: SectionScore("syntactic"))
    total: SectionScore = field(default_factory=lambda: SectionScore("total"))

    @property
    def accuracy(self) -> float:
        return self.total.accuracy

    @property
    def coverage(self) -> float:
        """Fraction of questions answered (not skipped as out of vocabulary)."""
        n = self.total.answered + self.total.skipped
        return self.total.answered / n if n else 0.0

    def as_dict(self) -> Dict:
        def one(s):
            return {"correct": s.correct, "answered": s.answered, "skipped": s.skipped, "accuracy": s.accuracy}
        return {"sections": {s.name: one(s) for s in self.sections}, "semantic": one(self.semantic),
                "syntactic": one(self.syntactic), "total": one(self.total), "coverage": self.coverage}


@dataclass
class PairResult:
    spearman: float
    pearson: float
    oov_ratio: float  # percent of pairs with an unknown word
    pairs: int        # pairs used
    oov: int          # pairs skipped

    def as_dict(self) -> Dict:
        return {"spearman": self.spearman, "pearson": self.pearson, "oov_ratio": self.oov_ratio,
                "pairs": self.pairs, "oov": self.oov}


def _read_lines(path: str):
    try:
        with open_read(path) as f:
            data = f.read()
    except READ_ERRORS as error:
        raise read_error(path, error) from None
    try:
        text = data.decode("utf-8-sig")  # (a byte order mark at the start is dropped)
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}, byte {error.start}: not valid UTF-8") from None
    return text.splitlines()


def read_analogies(path: str) -> List[Tuple[str, List[Tuple[str, str, str, str]]]]:
    """Parse a questions-words file into [(section, [(a, b, c, d), ...])]."""
    sections: List[Tuple[str, List]] = []
    for lineno, line in enumerate(_read_lines(path), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(":"):
            sections.append((line[1:].strip(), []))
            continue
        words = line.split()
        if len(words) != 4:
            raise ValueError(f"{path}, line {lineno}: expected 4 words (a b c d), got {len(words)}")
        if not sections:
            raise ValueError(f"{path}, line {lineno}: a question before the first ': section' line")
        sections[-1][1].append(tuple(words))
    if not any(q for _, q in sections):
        raise ValueError(f"{path}: no analogy questions found (expected ': section' lines and 'a b c d' lines)")
    return sections


def evaluate_analogies(vectors: Vectors, path: str, restrict_vocab: Optional[int] = 30000,
                       case_insensitive: bool = True, method: str = "add") -> AnalogyResult:
    """Accuracy on an analogy file; conventions in the module docstring."""
    if method not in ("add", "mul"):
        raise ValueError(f"method must be 'add' or 'mul', got {method!r}")
    if restrict_vocab is not None and restrict_vocab < 1:
        raise ValueError(f"restrict_vocab must be at least 1, got {restrict_vocab}")
    sections = read_analogies(path)
    limit = vectors.searched(restrict_vocab)
    if case_insensitive:
        def find(word):
            return vectors.lookup_ci(word, limit)
        # the row that stands for each row's upper-cased form (its most frequent variant)
        canonical = np.array([vectors.lookup_ci(w) for w in vectors.words[:limit]], dtype=np.int64)
    else:
        def find(word):
            i = vectors.index.get(word)
            return i if i is not None and i < limit else None
        canonical = np.arange(limit, dtype=np.int64)

    result = AnalogyResult()
    for name, questions in sections:
        score = SectionScore(name)
        known = []
        for q in questions:
            ids = [find(w) for w in q]
            if any(i is None for i in ids):
                score.skipped += 1
            else:
                known.append(ids)
        for start in range(0, len(known), _BATCH):
            batch = np.array(known[start:start + _BATCH], dtype=np.int64)
            a, b, c, d = batch.T
            scores = vectors.analogy_scores(a, b, c, method=method, limit=limit)
            # the question words (and their case variants) are never answers
            for col in (a, b, c):
                scores[canonical[None, :] == col[:, None]] = -np.inf
            predicted = canonical[np.argmax(scores, axis=1)]
            score.correct += int((predicted == d).sum())
            score.answered += len(batch)
        result.sections.append(score)
        group = result.syntactic if name.startswith("gram") else result.semantic
        for agg in (group, result.total):
            agg.correct += score.correct
            agg.answered += score.answered
            agg.skipped += score.skipped
    return result


def read_pairs(path: str) -> List[Tuple[str, str, float]]:
    """Parse a word-pair file into [(word1, word2, score)]; see the module docstring."""
    pairs = []
    column = None  # the score's, chosen on the first data line
    first = True
    for lineno, line in enumerate(_read_lines(path), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) < 3 and "\t" not in line and len(line.split(",")) >= 3:
            fields = line.split(",")  # a CSV file (MTurk-771)
        if len(fields) < 3:
            raise ValueError(f"{path}, line {lineno}: expected 'word1<TAB>word2<TAB>score', got {len(fields)} fields")
        if column is None:
            column = next((i for i in range(2, len(fields)) if is_number(fields[i])), None)
            if column is None:
                if first:  # a header line
                    first = False
                    continue
                raise ValueError(f"{path}, line {lineno}: no score (a number) after the two words")
        first = False
        if column >= len(fields):
            raise ValueError(f"{path}, line {lineno}: {len(fields)} fields, no score in column {column + 1}")
        try:
            score = float(fields[column])
        except ValueError:
            raise ValueError(f"{path}, line {lineno}: the score {fields[column][:20]!r} (column {column + 1}) is not "
                             f"a number") from None
        pairs.append((fields[0].strip(), fields[1].strip(), score))
    if not pairs:
        raise ValueError(f"{path}: no word pairs found")
    return pairs


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=np.float64)
    sorted_x = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def pearson(x, y) -> float:
    x = np.asarray(x, dtype=np.float64) - np.mean(x)
    y = np.asarray(y, dtype=np.float64) - np.mean(y)
    denominator = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denominator) if denominator > 0 else float("nan")


def spearman(x, y) -> float:
    return pearson(_ranks(np.asarray(x, dtype=np.float64)), _ranks(np.asarray(y, dtype=np.float64)))


def evaluate_pairs(vectors: Vectors, path: str, restrict_vocab: Optional[int] = 300000,
                   case_insensitive: bool = True) -> PairResult:
    """Correlations of cosine similarity with human scores; see the module docstring."""
    pairs = read_pairs(path)
    limit = vectors.searched(restrict_vocab)
    gold, model = [], []
    oov = 0
    for a, b, score in pairs:
        if case_insensitive:
            ia, ib = vectors.lookup_ci(a, limit), vectors.lookup_ci(b, limit)
        else:
            ia, ib = vectors.index.get(a), vectors.index.get(b)
            ia = ia if ia is not None and ia < limit else None
            ib = ib if ib is not None and ib < limit else None
        if ia is None or ib is None:
            oov += 1
            continue
        gold.append(score)
        unit = vectors.unit_rows([ia, ib])
        model.append(float(unit[0] @ unit[1]))
    n = len(gold)
    if n < 2:
        return PairResult(float("nan"), float("nan"), 100.0 * oov / len(pairs), n, oov)
    return PairResult(spearman(gold, model), pearson(gold, model), 100.0 * oov / len(pairs), n, oov)
