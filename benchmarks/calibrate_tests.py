"""Calibrate the thresholds of the learning tests over many seeds (results go to results/).

The tests run one seed, one thread (deterministic); their thresholds must hold for any seed with a
margin, so this script runs the same training over seeds and reports each measure's minimum:

* planted relations (tests/test_training.py): every combination of architecture and loss on the
  sample corpus, dim 50, 5 epochs, one thread; the lowest per-relation accuracy over seeds;
* continued training (tests/test_model.py): train without any line naming madrid, then
  ``--init --update-vocab`` on the whole sample; does madrid rank first among the capitals for
  spain, and does paris - france + spain give madrid?

    python benchmarks/calibrate_tests.py --seeds 1-20 > benchmarks/results/test-calibration.md
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import planted  # noqa: E402
import w2v  # noqa: E402
from w2v.evaluate import evaluate_analogies  # noqa: E402

COMBOS = {
    "sg-ns": dict(model="sg"), "sg-ns-exact": dict(model="sg", exact=True), "cbow-ns": dict(model="cbow"),
    "sg-hs": dict(model="sg", hs=True, negative=0), "sg-hs-exact": dict(model="sg", hs=True, negative=0, exact=True),
    "cbow-hs": dict(model="cbow", hs=True, negative=0),
}


def seeds(text: str):
    first, _, last = text.partition("-")
    return range(int(first), int(last or first) + 1)


def planted_relations(seed_range, folder):
    questions = planted.write_questions(os.path.join(folder, "planted.txt"))
    print("## Planted relations (dim 50, 5 epochs, 1 thread)\n")
    print("| combination | lowest section accuracy | its seed | mean of the lowest per seed |")
    print("|---|---|---|---|")
    for name, combo in COMBOS.items():
        lows = []
        for seed in seed_range:
            vectors = w2v.train(planted.SAMPLE, dim=50, epochs=5, threads=1, seed=seed, **combo).vectors
            scores = evaluate_analogies(vectors, questions, restrict_vocab=None)
            lows.append((min(s.accuracy for s in scores.sections), seed))
        low, at = min(lows)
        print(f"| {name} | {low:.3f} | {at} | {sum(x for x, _ in lows) / len(lows):.3f} |", flush=True)


def continued_training(seed_range, folder):
    from w2v.corpus import Corpus
    from w2v.training import count_vocabulary
    first = os.path.join(folder, "first.txt")
    with open(planted.SAMPLE) as f, open(first, "w") as out:
        out.writelines(line for line in f if "madrid" not in line)
    capitals = [capital for _, capital in planted.capital_pairs()]
    ranked_first = analogy = 0
    for seed in seed_range:
        base = w2v.train(first, dim=30, epochs=5, threads=1, seed=seed).model
        added = base.update_vocabulary(count_vocabulary(Corpus([planted.SAMPLE]), base.options, lambda m: None))
        assert added == 1
        vectors = base.train([planted.SAMPLE], epochs=3, alpha=0.025).vectors
        ranked_first += max(capitals, key=lambda c: vectors.similarity("spain", c)) == "madrid"
        analogy += vectors.analogy("france", "paris", "spain")[0][0] == "madrid"
    n = len(seed_range)
    print(f"\n## Continued training (dim 30, 5 + 3 epochs, 1 thread), seeds {seed_range[0]}-{seed_range[-1]}\n")
    print(f"madrid first among the capitals for spain: {ranked_first} of {n}; "
          f"paris - france + spain = madrid: {analogy} of {n}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-20", help="a range such as 1-20")
    parser.add_argument("--only", choices=["planted", "continued"])
    args = parser.parse_args(argv)
    seed_range = seeds(args.seeds)
    print(f"# Test calibration, seeds {args.seeds}\n\n`python benchmarks/calibrate_tests.py --seeds {args.seeds}`\n")
    with tempfile.TemporaryDirectory() as folder:
        if args.only in (None, "planted"):
            planted_relations(seed_range, folder)
        if args.only in (None, "continued"):
            continued_training(seed_range, folder)


if __name__ == "__main__":
    main()
