"""One training run of one system, in a child process: ``python benchmarks/systems.py SYSTEM ...``.

Each system trains with the same hyper-parameters and prints one JSON line:
``train_seconds`` (training alone, vocabulary building excluded where the
tool allows), ``raw_words_per_epoch`` (corpus tokens the trainer walked
through per epoch, out-of-vocabulary ones included; None: all of them),
``effective_words_per_epoch`` (words trained after dropping unknown words
and subsampling, where the tool reports it) and ``vectors`` (the word2vec binary file it wrote).
The parent (:mod:`compare`) measures wall time and peak memory of this
process and evaluates the vectors.

Systems: ``w2v`` (its defaults: batched skip-gram), ``w2v-exact``
(word2vec.c's pair-by-pair updates, ``--exact``), ``w2v-batched`` (``--batched``,
the same as the default today), ``w2v-g<N>`` (batched, with hierarchical softmax's path
shared by groups of N context words; ``w2v-g0``: the whole window; ``w2v-g<N>-p<P>``: and P private
top Huffman nodes per thread), ``word2vec-c`` (the original C tool), ``gensim-file``
(gensim's corpus_file mode), ``gensim-iter`` (gensim with a LineSentence
iterator).

Experiments (w2v with one thing changed, for the quality investigations in benchmarks/README.md):
``w2v-lr-end<R>`` (the learning rate falls in a line to alpha × R, ``min_alpha_ratio``),
``w2v-alpha<A>`` (another starting rate), ``w2v-lr-gensim`` (gensim corpus_file's per-thread
saw-tooth schedule), ``w2v-cinit`` (word2vec.c's initial input vectors), ``w2v-sigmoid-c``
(word2vec.c's sigmoid table: left bin edges), ``w2v-halves`` (each thread trains its own half of
the corpus at the same time, as word2vec.c's threads do), ``w2v-shuffle`` (each epoch's chunks in a
random order drawn from the seed and the epoch: w2v's default since), ``w2v-in-order`` (the
chunks in the corpus's order, the default before), ``w2v-eos`` (hierarchical softmax's tree
with word2vec.c's ``</s>`` leaf), ``w2v-any-width`` (the training kernels that read their row length from the
weights, not those compiled for dim 100's 104 floats: ``w2v.kernels.kernel_for``), ``w2v-interleaved`` (the
fixed-width skip-gram kernel compiled without ``w2v.kernels.FIXED_WIDTH_LLVM_OPTIONS``), ``w2v-lcg`` (subsampling
and the window's shrink drawn from word2vec.c's generator as word2vec.c draws them) and ``w2v-c-all`` (all of those of word2vec.c's
ways at once, with its pair-by-pair updates and no private Huffman nodes: what is left of w2v is
its code, its learning rate's granularity and its threads' timing; ``w2v-c-all-no-PART``: all but
one, PART ``lcg``, ``sigmoid``, ``cinit``, ``halves`` or ``eos``).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

CONFIGS = {  # name: (skip-gram?, negative, hs, alpha)
    "sg-ns": (True, 5, False, 0.025),
    "cbow-ns": (False, 5, False, 0.05),
    "sg-hs": (True, 0, True, 0.025),
}


#: The parts of ``w2v-c-all``, each one of word2vec.c's ways (the use_word2vec_c_* experiments below).
C_ALL_PARTS = ("lcg", "sigmoid", "cinit", "halves", "eos")
W2V_SYSTEMS = {"w2v": (None, None, None), "w2v-exact": (True, None, None), "w2v-batched": (False, None, None)}


def w2v_variant(system: str):
    """``(exact, hs_group, hs_private)`` of a w2v system name (None: the default), or None for another system.

    ``w2v-g<N>``: batched with the Huffman path shared by groups of N; ``w2v-g<N>-p<P>``: and P private
    top Huffman nodes per thread instead of the default ``TrainOptions.hs_private_nodes``.
    """
    if system in W2V_SYSTEMS:
        return W2V_SYSTEMS[system]
    if system == "w2v-c-all" or system in (f"w2v-c-all-no-{part}" for part in C_ALL_PARTS):
        return True, None, 0
    if system in EXPERIMENTS or re.fullmatch(r"w2v-(lr-end|alpha)[0-9.]+", system):
        return W2V_SYSTEMS["w2v"]
    found = re.fullmatch(r"w2v-g(\d+)(?:-p(\d+))?", system)
    if found is None:
        return None
    group, private = found.groups()
    return False, int(group), None if private is None else int(private)


def use_gensim_file_schedule(workers: int) -> None:
    """Experiment (system ``w2v-lr-gensim``): w2v with gensim ``corpus_file``'s learning-rate schedule.

    In corpus_file mode each of gensim's ``workers`` threads reads 1/workers of the file and sets its rate
    from its own words against the whole corpus's (``get_next_alpha`` in word2vec_corpusfile.pyx), so an
    epoch's progress only reaches 1/workers: epoch e runs from alpha(1 - e/E) to alpha(1 - (e + 1/workers)/E),
    a saw-tooth higher on average than word2vec.c's straight line, ending at alpha(1 - (E - 1 + 1/workers)/E).
    """
    from w2v.model import Position

    def alpha_at(self, done, min_ratio):
        per_epoch = self.total_words / self.epochs
        epoch = min(int(done // per_epoch), self.epochs - 1)
        progress = (epoch + (done - epoch * per_epoch) / per_epoch / workers) / self.epochs
        return max(self.alpha * min_ratio, self.alpha * (1.0 - progress))

    Position.alpha_at = alpha_at


def word2vec_c_start(seed: int, words: int, dim: int) -> np.ndarray:
    """float32[words, dim]: word2vec.c's initial input vectors (InitNet), as the seeded build makes them.

    word2vec.c draws ``next_random = next_random * 25214903917 + 11`` (mod 2^64, from 1 + seed) and uses
    its low 16 bits: ``((next_random & 0xFFFF) / 65536 - 0.5) / dim``, row after row. The low 16 bits of
    that generator are a generator mod 2^16 on their own, so the draws repeat every 65,536: rows
    16,384 apart start equal, and the low bits of neighbouring draws are strongly patterned.
    """
    multiplier, state = 25214903917 % 65536, (1 + seed) % 65536
    cycle = np.empty(65536, dtype=np.float32)
    for i in range(65536):
        state = (multiplier * state + 11) % 65536
        cycle[i] = state
    draws = cycle[np.arange(dim, (words + 1) * dim) % 65536].reshape(words, dim)  # row 0 is word2vec.c's </s>
    return (draws / np.float32(65536) - np.float32(0.5)) / np.float32(dim)


def use_word2vec_c_start() -> None:
    """Experiment (system ``w2v-cinit``): w2v trained from word2vec.c's initial vectors."""
    from w2v.model import Model
    initialize = Model.initialize

    def patched(self):
        fresh = self.weights is None
        initialize(self)
        if fresh:
            self.weights.syn0[:, :self.dim] = word2vec_c_start(self.options.seed, len(self.vocab), self.dim)

    Model.initialize = patched


def use_word2vec_c_sigmoid() -> None:
    """Experiment (system ``w2v-sigmoid-c``): σ read from word2vec.c's table, whose entries are the
    bins' left edges (w2v's are their centres), so every σ is about half a bin low."""
    import w2v.kernels as kernels

    def make_tables():
        edges = np.arange(kernels.TABLE_SIZE + 1) / kernels.TABLE_SIZE * 2 * kernels.MAX_EXP - kernels.MAX_EXP
        sig = 1.0 / (1.0 + np.exp(-np.minimum(edges, kernels.MAX_EXP)))
        return np.stack([sig, np.log(sig)]).astype(np.float32)

    kernels.make_tables = make_tables


def use_word2vec_c_halves() -> None:
    """Experiment (system ``w2v-halves``): the chunks of each epoch taken from the corpus's two halves in
    turn, so that with 2 threads one trains the first half while the other trains the second at the same
    time, as word2vec.c's threads each start at their own part of the file (w2v's took the chunks in
    order, so both trained neighbouring text). The learning rate still follows the words done by both.
    The epochs take this plan in its order, not shuffled (:func:`use_chunks_in_order`)."""
    import w2v.training as training
    use_chunks_in_order()
    plan = training.plan_chunks

    def interleaved(offsets, chunk_words):
        chunks = plan(offsets, chunk_words)
        half = (len(chunks) + 1) // 2
        first, second = chunks[:half], chunks[half:]
        return [c for pair in zip(first, second + [None]) for c in pair if c is not None]

    training.plan_chunks = interleaved


def use_chunks_in_order() -> None:
    """Experiment (system ``w2v-in-order``): every epoch takes its chunks in the corpus's order, as w2v's
    default did before it shuffled them (``--in-order``)."""
    import w2v.training as training
    order = training.chunk_order
    training.chunk_order = lambda n_chunks, seed, epoch, shuffle: order(n_chunks, seed, epoch, False)


def use_kernels_for_any_width() -> None:
    """Experiment (system ``w2v-any-width``): train with the kernels that read the row length from the weights,
    as w2v did before it compiled the common row lengths in (``w2v.kernels.FIXED_WIDTHS``)."""
    from w2v import kernels
    kernels.FIXED_WIDTHS = ()


def use_interleaving_vectoriser() -> None:
    """Experiment (system ``w2v-interleaved``): the fixed-width skip-gram kernel compiled with LLVM's own choice
    of loop interleaving, as before ``w2v.kernels.FIXED_WIDTH_LLVM_OPTIONS``. Numba's cache does not key its
    entries by LLVM's options, so this system keeps its kernels in a cache folder of its own."""
    if "numba" in sys.modules:
        raise RuntimeError("w2v-interleaved must choose Numba's cache folder before Numba is imported")
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(tempfile.gettempdir(), "w2v-interleaved-numba-cache")
    from w2v import kernels
    kernels.FIXED_WIDTH_LLVM_OPTIONS = {}


def use_word2vec_c_eos_leaf(corpus: str) -> None:
    """Experiment (system ``w2v-eos``): hierarchical softmax over word2vec.c's tree, which has one more
    leaf, ``</s>`` (counted once a line, never trained), kept first in its vocabulary whatever its
    count. Its tree-building takes leaves from the rarest up and assumes them sorted, so ``</s>``
    (17,000 lines of wiki8 in 1,000-word lines: the count of a word of rank ~300) is taken after every
    word, and pairs with the smallest inner node left, putting every word under that node one bit
    deeper. The words' codes and paths are read off that tree; syn1 gets its V inner nodes."""
    from w2v import vocab as vocab_module
    from w2v.model import Model
    with open(corpus, "rb") as f:
        lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b""))

    def build(cls, counts):
        counts = np.asarray(counts, dtype=np.int64)
        with_eos = np.concatenate([[lines], counts])
        return cls(*vocab_module.huffman_paths(*vocab_module.huffman_merge(with_eos), len(with_eos)))

    def eos_removed(cls, counts):
        codes, points, lengths = build(cls, counts).__dict__.values()
        return cls(codes[1:], points[1:], lengths[1:])

    vocab_module.HuffmanTree.build = classmethod(eos_removed)
    shapes = Model._shapes

    def with_one_more_node(self):
        syn0, syn1neg, syn1 = shapes(self)
        return syn0, syn1neg, (syn1[0] + 1, syn1[1]) if syn1[0] else syn1

    Model._shapes = with_one_more_node


def use_word2vec_c_random() -> None:
    """Experiment (system ``w2v-lcg``): subsampling and the window's shrink drawn as word2vec.c draws them.

    word2vec.c's generator is an LCG, ``next = next * 25214903917 + 11`` (mod 2^64), advanced for every
    word read; a word is dropped when its keep probability is below the generator's *low* 16 bits / 65536
    (which repeat every 65,536 draws), and the window shrinks by ``next % window``. w2v draws from
    xorshift64*, only for words that may be dropped, from the top bits. The two kernel helpers are
    replaced before anything is compiled, and the kernels compiled afresh in a Numba cache of their own
    (a temporary folder), so that the cached kernels are neither used nor overwritten."""
    from timing import numba_cache_of_its_own  # (beside this file)
    numba_cache_of_its_own("w2v-lcg-numba-")
    import numba
    import w2v.kernels as kernels
    multiplier, increment, low16 = np.uint64(25214903917), np.uint64(11), np.uint64(0xFFFF)

    @numba.njit(inline="always")
    def subsample(ids, begin, end, keep, sen, state):
        n = 0
        for j in range(begin, end):
            w = ids[j]
            state = state * multiplier + increment
            if keep[w] < np.float32(state & low16) / np.float32(65536):
                continue
            sen[n] = w
            n += 1
        return state, n

    @numba.njit(inline="always")
    def shrunk_window(state, pos, n, window):
        state = state * multiplier + increment
        b = np.int64(state % np.uint64(window))
        return state, max(0, pos - window + b), min(n, pos + window - b + 1)

    kernels._subsample = subsample
    kernels._window = shrunk_window


#: The experiments that change w2v in one way: system name → what to apply before it runs as ``w2v``.
EXPERIMENTS = {
    "w2v-lr-gensim": lambda args: use_gensim_file_schedule(args.threads),
    "w2v-sigmoid-c": lambda args: use_word2vec_c_sigmoid(),
    "w2v-cinit": lambda args: use_word2vec_c_start(),
    "w2v-halves": lambda args: use_word2vec_c_halves(),
    "w2v-shuffle": lambda args: None,  # each epoch's chunks in a random order: the default since it was measured
    "w2v-in-order": lambda args: use_chunks_in_order(),
    "w2v-eos": lambda args: use_word2vec_c_eos_leaf(args.corpus),
    "w2v-any-width": lambda args: use_kernels_for_any_width(),
    "w2v-interleaved": lambda args: use_interleaving_vectoriser(),
    "w2v-lcg": lambda args: use_word2vec_c_random(),
}


def run_w2v(args, exact, hs_group=None, hs_private=None):
    from w2v.training import TrainOptions, train
    sg, negative, hs, alpha = CONFIGS[args.config]
    alpha = args.alpha or alpha
    schedule = {"min_alpha_ratio": args.min_alpha_ratio} if args.min_alpha_ratio else {}
    variant = {name: value for name, value in (("hs_group", hs_group), ("hs_private_nodes", hs_private))
               if value is not None}
    options = TrainOptions(model="sg" if sg else "cbow", dim=args.dim, window=args.window, negative=negative, hs=hs,
                           sample=args.sample, min_count=args.min_count, epochs=args.epochs, alpha=alpha,
                           threads=args.threads, seed=args.seed, exact=exact, **variant, **schedule)
    result = train([args.corpus], options)  # counts, encodes and trains as `w2v train` does: one reading
    result.vectors.save(args.output)
    return {"train_seconds": result.seconds, "compile_seconds": result.compile_seconds,
            "raw_words_per_epoch": result.model.vocab.total_tokens,
            "effective_words_per_epoch": sum(e.trained for e in result.history) / len(result.history),
            "losses": result.losses}


def run_word2vec_c(args):
    sg, negative, hs, alpha = CONFIGS[args.config]
    binary = args.word2vec_bin
    vocab_file = args.output + ".vocab"
    common = ["-train", args.corpus, "-min-count", str(args.min_count)]
    # count once (no -output: word2vec.c saves the vocabulary and stops), then time training alone
    subprocess.run([binary] + common + ["-save-vocab", vocab_file], check=True, stdout=subprocess.DEVNULL)
    command = [binary] + common + ["-read-vocab", vocab_file, "-output", args.output, "-binary", "1",
                                   "-size", str(args.dim), "-window", str(args.window), "-sample", str(args.sample),
                                   "-negative", str(negative), "-hs", "1" if hs else "0", "-cbow", "0" if sg else "1",
                                   "-iter", str(args.epochs), "-threads", str(args.threads), "-alpha", str(alpha)]
    if args.word2vec_seeded:  # a build of seeded_word2vec_c.py: its random states start from the seed
        command += ["-seed", str(args.seed)]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    os.unlink(vocab_file)
    # word2vec.c walks through every token (its "Words in train file" counts in-vocabulary words and </s>)
    return {"train_seconds": seconds, "raw_words_per_epoch": None, "effective_words_per_epoch": None,
            "note": "time includes reading the vocabulary, the 1e8-entry unigram table and writing the output"}


def run_gensim(args, mode: str):
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence
    sg, negative, hs, alpha = CONFIGS[args.config]
    model = Word2Vec(vector_size=args.dim, window=args.window, min_count=args.min_count, sample=args.sample,
                     negative=negative, hs=1 if hs else 0, sg=1 if sg else 0, workers=args.threads, alpha=alpha,
                     seed=args.seed, max_vocab_size=None)
    if mode == "file":
        model.build_vocab(corpus_file=args.corpus)
        start = time.perf_counter()
        effective, raw = model.train(corpus_file=args.corpus, total_words=model.corpus_total_words,
                                     epochs=args.epochs)
    else:
        model.build_vocab(LineSentence(args.corpus))
        start = time.perf_counter()
        effective, raw = model.train(LineSentence(args.corpus), total_examples=model.corpus_count,
                                     epochs=args.epochs)
    seconds = time.perf_counter() - start
    model.wv.save_word2vec_format(args.output, binary=True)
    return {"train_seconds": seconds, "raw_words_per_epoch": raw / args.epochs,
            "effective_words_per_epoch": effective / args.epochs}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system", help="w2v, w2v-exact, w2v-batched, w2v-g<N>, word2vec-c, gensim-file or gensim-iter")
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--config", choices=list(CONFIGS), default="sg-ns")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--sample", type=float, default=1e-3)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--word2vec-bin", default="word2vec")
    parser.add_argument("--word2vec-seeded", action="store_true", help="the binary takes -seed (seeded_word2vec_c.py)")
    parser.set_defaults(alpha=None, min_alpha_ratio=None)  # set by the experiment systems below
    args = parser.parse_args(argv)
    if args.system in EXPERIMENTS:
        EXPERIMENTS[args.system](args)
        args.system = "w2v"
    elif args.system.startswith("w2v-c-all"):  # w2v-c-all-no-PART: all but one
        left_out = args.system[len("w2v-c-all-no-"):] if args.system != "w2v-c-all" else None
        uses = dict(zip(C_ALL_PARTS, (use_word2vec_c_random, use_word2vec_c_sigmoid, use_word2vec_c_start,
                                      use_word2vec_c_halves, lambda: use_word2vec_c_eos_leaf(args.corpus))))
        for name, use in uses.items():  # the generator first: it sets Numba's cache folder before Numba loads
            if name != left_out:
                use()
    elif args.system.startswith("w2v-lr-end"):  # experiment: the rate falls in a line to alpha × R
        args.min_alpha_ratio = float(args.system[len("w2v-lr-end"):])
        args.system = "w2v"
    elif args.system.startswith("w2v-alpha"):  # experiment: another starting rate
        args.alpha = float(args.system[len("w2v-alpha"):])
        args.system = "w2v"
    variant = w2v_variant(args.system)
    if variant is not None:
        result = run_w2v(args, *variant)
    elif args.system == "word2vec-c":
        result = run_word2vec_c(args)
    elif args.system in ("gensim-file", "gensim-iter"):
        result = run_gensim(args, args.system[len("gensim-"):])
    else:
        parser.error(f"unknown system {args.system!r}")
    result["vectors"] = args.output
    print(json.dumps(result))


if __name__ == "__main__":
    main()
