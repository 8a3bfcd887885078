"""The relations planted in corpora/sample.txt, as analogy questions (shared by the tests)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SAMPLE = os.path.join(ROOT, "corpora", "sample.txt")
sys.path.insert(0, os.path.join(ROOT, "corpora"))

import make_sample  # noqa: E402


def _pairs_questions(pairs):
    return [(a, b, c, d) for a, b in pairs for c, d in pairs if a != c]


def gender_pairs():
    males = [w for w, (g, _) in make_sample.PEOPLE.items() if g == "m"]
    females = [w for w, (g, _) in make_sample.PEOPLE.items() if g == "f"]
    return list(zip(males, females))


def capital_pairs():
    return [(country, capital) for country, capital, *_ in make_sample.PAIRS]


def tense_pairs():
    return [(base, past) for base, past, *_ in make_sample.VERBS]


def plural_pairs():
    return [(singular, plural) for singular, plural, _ in make_sample.NOUNS]


def questions():
    """{category: [(a, b, c, d)]}: a is to b as c is to d."""
    return {name: _pairs_questions(pairs()) for name, pairs in
            [("gender", gender_pairs), ("capital", capital_pairs), ("tense", tense_pairs), ("plural", plural_pairs)]}


def write_questions(path):
    """Write the planted questions in the questions-words format."""
    with open(path, "w") as f:
        for name, qs in questions().items():
            f.write(f": {name}\n")
            for q in qs:
                f.write(" ".join(q) + "\n")
    return path
