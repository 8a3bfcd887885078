"""Experiment: CBOW with negatives shared by B consecutive centre words, quality and speed on wiki8.

    python benchmarks/cbow_batch_quality.py --seeds 1,2 --batches 0,1,2,4,8

Batch 0 is the exact kernel (word2vec.c's updates). Prints words/s, analogy
accuracy (questions-words, 30,000 words) and WordSim-353 per run.
"""
import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from w2v.corpus import Corpus  # noqa: E402
from w2v.encode import encode_corpus  # noqa: E402
from w2v.evaluate import evaluate_analogies, evaluate_pairs  # noqa: E402
from w2v.training import TrainOptions, train_encoded  # noqa: E402
from w2v.vocab import build_vocabulary  # noqa: E402

DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--corpus", default=os.path.join(DATA, "wiki8.txt.gz"))
parser.add_argument("--data", default=DATA)
parser.add_argument("--seeds", default="1")
parser.add_argument("--batches", default="0,1,2,4,8")
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()
corpus = Corpus([args.corpus])
vocab, _ = build_vocabulary(corpus)
encoded = encode_corpus(corpus, vocab)
for seed in [int(s) for s in args.seeds.split(",")]:
    for batch in [int(b) for b in args.batches.split(",")]:
        options = TrainOptions(model="cbow", threads=args.threads, seed=seed, exact=batch == 0,
                               cbow_batch=max(batch, 1)).validate()
        result = train_encoded(encoded, vocab, options)
        words = sum(e.words for e in result.history)
        analogy = evaluate_analogies(result.vectors, os.path.join(args.data, "questions-words.txt"))
        ws = evaluate_pairs(result.vectors, os.path.join(args.data, "wordsim353.tsv"))
        print(f"seed {seed} batch {batch} ({options.kernel_name}): {words / result.seconds:,.0f} words/s, "
              f"analogy {100 * analogy.accuracy:.2f}, WS353 {ws.spearman:.3f}", flush=True)
