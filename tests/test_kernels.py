"""Kernels against slow NumPy references of the same updates, on a tiny vocabulary.

The reference tests fix the random draws: window 1 (so the shrunk window is
always 1), no subsampling, and a noise table whose every draw is word
``NOISE``. The random paths themselves are tested at the end: the shrunk
window's sizes, the negatives drawn and the words kept by subsampling,
against their expected distributions over many draws.
"""
import subprocess
import sys

import numba
import numpy as np
import pytest

from w2v import kernels
from w2v.model import KernelSettings, Tables, Weights, kernel_args, kernel_function
from w2v.vocab import HuffmanTree, Vocabulary

V, D = 6, 8
NOISE = 5
TABLES = kernels.make_tables()


def table_sigmoid(x):
    """σ as the kernels compute it (table, clipped to 0/1 outside ±6)."""
    if x >= 6:
        return 1.0
    if x <= -6:
        return 0.0
    return float(TABLES[0, int(np.float32((x + 6) * np.float32(kernels.TABLE_SIZE / 12)))])


def setup(seed=0, hs=False):
    rng = np.random.default_rng(seed)
    syn0 = (rng.standard_normal((V, D)) * 0.5).astype(np.float32)
    syn1neg = (rng.standard_normal((V, D)) * 0.5).astype(np.float32)
    counts = np.array([50, 30, 20, 10, 5, 2])
    tree = HuffmanTree.build(counts)
    syn1 = (rng.standard_normal((V - 1, D)) * 0.5).astype(np.float32)
    if not hs:
        tree = HuffmanTree(np.zeros((V, 1), np.uint8), np.zeros((V, 1), np.int32), np.zeros(V, np.int32))
    keep = np.ones(V, np.float32)
    alias_prob = np.zeros(V, np.float32)          # never keep the first pick...
    alias_index = np.full(V, NOISE, np.int32)     # ...so every draw is NOISE
    return syn0, syn1neg, syn1, tree, keep, alias_prob, alias_index


def outputs_of(word, tree, negative, hs):
    """[(matrix name, row, label)] in the order word2vec.c trains them."""
    out = []
    if hs:
        for j in range(tree.lengths[word]):
            out.append(("syn1", tree.points[word, j], 1.0 - tree.codes[word, j]))
    if negative:
        out.append(("neg", word, 1.0))
        out += [("neg", NOISE, 0.0)] * negative if word != NOISE else []
    return out


def reference_exact(sentence, model, negative, hs, alpha, cbow_mean=True, seed=0):
    syn0, syn1neg, syn1, tree, *_ = setup(seed, hs)
    mats = {"neg": syn1neg.astype(np.float64), "syn1": syn1.astype(np.float64)}
    syn0 = syn0.astype(np.float64)
    for pos, word in enumerate(sentence):
        ctx = [sentence[c] for c in (pos - 1, pos + 1) if 0 <= c < len(sentence)]
        if model == "sg":
            groups = [([c], syn0[c].copy()) for c in ctx]
        else:
            h = syn0[ctx].sum(axis=0) / (len(ctx) if cbow_mean else 1)
            groups = [(ctx, h)]
        for rows, h in groups:
            neu1e = np.zeros(D)
            for name, row, label in outputs_of(word, tree, negative, hs):
                x = float(np.float32(h @ mats[name][row]))
                if name == "syn1" and abs(x) >= 6:
                    continue
                g = (label - table_sigmoid(x)) * alpha
                neu1e += g * mats[name][row]
                mats[name][row] += g * h
            for r in rows:
                syn0[r] += neu1e
    return syn0, mats["neg"], mats["syn1"]


def reference_batched(sentence, negative, hs, alpha, seed=0, hs_group=0):
    syn0, syn1neg, syn1, tree, *_ = setup(seed, hs)
    mats = {"neg": syn1neg.astype(np.float64), "syn1": syn1.astype(np.float64)}
    syn0 = syn0.astype(np.float64)
    for pos, word in enumerate(sentence):
        ctx = [sentence[c] for c in (pos - 1, pos + 1) if 0 <= c < len(sentence)]
        inputs = syn0[ctx].copy()                        # B x D, old weights
        delta = np.zeros_like(inputs)
        groups = {}
        for name, row, label in outputs_of(word, tree, negative, hs):
            key = (name, row, label)
            groups[key] = groups.get(key, 0) + 1          # duplicates merged with a count
        for name in ("syn1", "neg"):
            outs = [(row, label, n) for (nm, row, label), n in groups.items() if nm == name]
            if not outs:
                continue
            rows = [r for r, _, _ in outs]
            group = hs_group if name == "syn1" and hs_group > 0 else len(ctx)
            for first in range(0, len(ctx), group):      # inputs sharing one read of the output rows
                batch = range(first, min(len(ctx), first + group))
                out = mats[name][rows].copy()             # O x D, the weights before this group
                grads = np.zeros((len(ctx), len(outs)))
                for b in batch:
                    for o, (_, label, n) in enumerate(outs):
                        x = float(np.float32(inputs[b] @ out[o]))
                        if name == "syn1" and abs(x) >= 6:
                            continue
                        grads[b, o] = (label - table_sigmoid(x)) * alpha * n
                delta += grads @ out
                for o, r in enumerate(rows):
                    mats[name][r] += grads[:, o] @ inputs
        for i, c in enumerate(ctx):
            syn0[c] += delta[i]
    return syn0, mats["neg"], mats["syn1"]


def zero_padded(matrix, dim, width):
    """The first ``dim`` columns of ``matrix``, then zeros up to ``width`` columns."""
    padded = np.zeros((matrix.shape[0], width), np.float32)
    padded[:, :dim] = matrix[:, :dim]
    return padded


def run_kernel(name, sentence, negative, hs, alpha, cbow_mean=True, seed=0, hs_group=0, hs_private=0, hs_sync=1,
               dim=D, width=D, private_words=0, private_sync=1, kernel=None, wide=False):
    """Train ``sentence`` once with ``kernel`` (default: training's kernel for rows of ``width``); the weights
    are setup()'s first ``dim`` columns, zero-padded to ``width`` (``wide``: random in all ``width`` columns)."""
    syn0, syn1neg, syn1, tree, keep, alias_prob, alias_index = setup(seed, hs)
    if wide:
        rng = np.random.default_rng(seed + 1)
        syn0, syn1neg, syn1 = ((rng.standard_normal((m.shape[0], width)) * 0.2).astype(np.float32)
                               for m in (syn0, syn1neg, syn1))
    elif (dim, width) != (D, D):
        syn0, syn1neg, syn1 = (zero_padded(m, dim, width) for m in (syn0, syn1neg, syn1))
    ids = np.array(sentence, dtype=np.int32)
    offsets = np.array([0, len(ids)], dtype=np.int64)
    tables = Tables(keep, alias_prob, alias_index, tree.codes, tree.points, tree.lengths, TABLES)
    settings = KernelSettings(1, negative, cbow_mean, hs_group, hs_private, hs_sync, private_words, private_sync)
    kernel = kernel or kernel_function(name, width)
    loss, count, trained = kernel(*kernel_args(name, Weights(syn0, syn1neg, syn1), tables, ids, offsets, 0, 1,
                                               settings, alpha, alpha, kernels.seed_state(3)))
    return syn0, syn1neg, syn1, loss, count, trained


SENTENCE = [0, 1, 2, 3, 1, 4, 0]
CASES = [(3, False), (0, True), (2, True)]  # (negative, hs): NS, HS, both
# negative 3 draws NOISE three times (the one-pair-at-a-time path for repeated negatives);
# negative 1 cannot repeat (the reordered pass)
EXACT_CASES = CASES + [(1, False), (1, True)]


@pytest.mark.parametrize("negative,hs", EXACT_CASES)
@pytest.mark.parametrize("model,cbow_mean", [("sg", True), ("cbow", True), ("cbow", False)])
def test_exact_kernels_match_reference(model, cbow_mean, negative, hs):
    name = "sg_exact" if model == "sg" else "cbow_exact"
    syn0, syn1neg, syn1, loss, count, trained = run_kernel(name, SENTENCE, negative, hs, 0.1, cbow_mean)
    ref0, refneg, ref1 = reference_exact(SENTENCE, model, negative, hs, 0.1, cbow_mean)
    np.testing.assert_allclose(syn0, ref0, atol=1e-5)
    np.testing.assert_allclose(syn1neg, refneg, atol=1e-5)
    np.testing.assert_allclose(syn1, ref1, atol=1e-5)
    assert trained == len(SENTENCE)
    assert count > 0 and np.isfinite(loss) and loss > 0
    assert not np.allclose(syn0, setup(0, hs)[0])  # something was learned


@pytest.mark.parametrize("negative,hs,hs_group", [c + (0,) for c in CASES] + [(0, True, 1), (2, True, 1)])
def test_batched_kernel_matches_reference(negative, hs, hs_group):
    syn0, syn1neg, syn1, loss, count, trained = run_kernel("sg_batched", SENTENCE, negative, hs, 0.1,
                                                           hs_group=hs_group)
    ref0, refneg, ref1 = reference_batched(SENTENCE, negative, hs, 0.1, hs_group=hs_group)
    np.testing.assert_allclose(syn0, ref0, atol=1e-5)
    np.testing.assert_allclose(syn1neg, refneg, atol=1e-5)
    np.testing.assert_allclose(syn1, ref1, atol=1e-5)
    assert trained == len(SENTENCE) and count > 0


@pytest.mark.parametrize("hs_private,hs_sync", [(3, 1), (3, 1000), (100, 2)])
def test_private_huffman_nodes_merge_back_every_update(hs_private, hs_sync):
    # one thread: training the top nodes in a private copy and merging it is the same update
    # (hs_private 100 > the 5 inner nodes: all of them)
    syn0, syn1neg, syn1, *_ = run_kernel("sg_batched", SENTENCE, 2, True, 0.1, hs_group=1,
                                         hs_private=hs_private, hs_sync=hs_sync)
    ref0, refneg, ref1 = reference_batched(SENTENCE, 2, True, 0.1, hs_group=1)
    np.testing.assert_allclose(syn0, ref0, atol=1e-5)
    np.testing.assert_allclose(syn1neg, refneg, atol=1e-5)
    np.testing.assert_allclose(syn1, ref1, atol=1e-5)


@pytest.mark.parametrize("negative,hs", CASES)
@pytest.mark.parametrize("private_words,private_sync", [(2, 1), (2, 1000), (100, 3)])
def test_private_word_rows_merge_back_every_update(negative, hs, private_words, private_sync):
    # one thread: training the most frequent words' rows (syn0, syn1neg) in private copies and merging
    # them is the same update (private_words 100 > the 5 words: all of them; sync 1000: only at the end)
    syn0, syn1neg, syn1, *_ = run_kernel("sg_batched", SENTENCE, negative, hs, 0.1, private_words=private_words,
                                         private_sync=private_sync)
    ref0, refneg, ref1 = reference_batched(SENTENCE, negative, hs, 0.1)
    np.testing.assert_allclose(syn0, ref0, atol=1e-5)
    np.testing.assert_allclose(syn1neg, refneg, atol=1e-5)
    np.testing.assert_allclose(syn1, ref1, atol=1e-5)
    assert not np.allclose(syn0, setup(0, hs)[0])


def test_private_rows_merge_adds_this_threads_change_to_the_others():
    rng = np.random.default_rng(0)
    shared = rng.random((5, 4), dtype=np.float32)
    base = shared[2:].copy()                     # the copy taken at the last merge
    private = base + np.float32(0.5)             # this thread's updates since
    shared[2:] += np.float32(0.25)               # another thread's, meanwhile
    untouched, expected = shared[:2].copy(), base + np.float32(0.75)
    kernels._sync_private(shared, 2, private, base, shared.shape[1])
    np.testing.assert_allclose(shared[2:], expected, atol=1e-6)
    np.testing.assert_array_equal(shared[:2], untouched)
    np.testing.assert_array_equal(private, shared[2:])  # a fresh copy for both
    np.testing.assert_array_equal(base, shared[2:])


@pytest.mark.parametrize("name", ["sg_batched", "sg_exact", "cbow_exact"])
@pytest.mark.parametrize("negative,hs", CASES)
def test_zero_padded_rows_train_the_same_and_stay_zero(name, negative, hs):
    # training pads rows to a multiple of 8 floats (w2v.model.ROW_PAD): same update, padding stays 0
    dim = 5
    plain = run_kernel(name, SENTENCE, negative, hs, 0.1, hs_group=1, dim=dim, width=dim)[:3]
    padded = run_kernel(name, SENTENCE, negative, hs, 0.1, hs_group=1, dim=dim, width=8)[:3]
    for p, q in zip(plain, padded):
        np.testing.assert_allclose(q[:, :dim], p, atol=1e-6)
        assert not q[:, dim:].any()
    assert not np.allclose(plain[0], setup(0, hs)[0][:, :dim])  # something was learned


@pytest.mark.parametrize("name", ["sg_batched", "sg_exact", "cbow_exact"])
@pytest.mark.parametrize("negative,hs", CASES)
def test_a_kernel_for_a_fixed_row_length_trains_as_the_kernel_itself(name, negative, hs):
    # kernel_for compiles the common row lengths in (dim 100's 104 floats): the same updates, summed in
    # another order at most, on weights random in every column; zero padding stays zero
    width = 104
    assert width in kernels.FIXED_WIDTHS
    fixed, itself = kernels.kernel_for(name, width), getattr(kernels, name)
    assert fixed is not itself and kernels.kernel_for(name, width) is fixed  # built once
    for wide, dim in ((True, width), (False, 5)):
        expected = run_kernel(name, SENTENCE, negative, hs, 0.1, hs_group=1, dim=dim, width=width, wide=wide,
                              kernel=itself)
        got = run_kernel(name, SENTENCE, negative, hs, 0.1, hs_group=1, dim=dim, width=width, wide=wide)
        for p, q in zip(expected[:3], got[:3]):
            np.testing.assert_allclose(q, p, rtol=1e-5, atol=1e-6)
            assert not q[:, dim:].any()
        assert got[3] == pytest.approx(expected[3], rel=1e-5) and got[4:] == expected[4:]
        assert not np.allclose(got[0][:, :dim], run_kernel(name, SENTENCE, negative, hs, 0.0, dim=dim, width=width,
                                                             wide=wide)[0][:, :dim])  # something was learned


def test_other_row_lengths_get_the_kernel_itself_and_a_fixed_kernel_checks_its_rows():
    for name in ("sg_batched", "sg_exact", "cbow_exact"):
        for width in (8, 56, 304):
            assert kernels.kernel_for(name, width) is getattr(kernels, name)
    with pytest.raises(ValueError, match="no training kernel 'sg'"):
        kernels.kernel_for("sg", 104)
    with pytest.raises(ValueError, match="rows are not as long"):  # 8-float rows handed to the 104-float kernel
        run_kernel("sg_batched", SENTENCE, 2, False, 0.1, kernel=kernels.kernel_for("sg_batched", 104))


def test_the_fixed_skip_gram_kernel_compiles_under_its_llvm_options_and_sets_the_defaults_back(monkeypatch):
    # LLVM's options are the process's: kernel_for's fixed skip-gram kernel sets them for its own compile only,
    # under Numba's compiler lock, and gives LLVM's defaults back after, also when the compile fails; the
    # other fixed kernels compile without them
    from numba.core.compiler_lock import global_compiler_lock
    assert kernels.FIXED_WIDTH_LLVM_OPTIONS["sg_batched"] == (("-force-vector-interleave=1",
                                                                "-force-vector-interleave=0"),)
    events = []
    monkeypatch.setattr(kernels, "set_llvm_option", lambda option: events.append((option,
                                                                                 global_compiler_lock.is_locked())))
    width, set_and_reset = 104, [("-force-vector-interleave=1", True), ("-force-vector-interleave=0", True)]
    if not kernels.LLVM_TAKES_OPTIONS_AGAIN:  # LLVM before 15: compiled without them (the test below)
        set_and_reset = []
    for name in ("sg_batched", "sg_exact", "cbow_exact"):
        run_kernel(name, SENTENCE, 2, True, 0.1, dim=5, width=width)  # compiled (or loaded) for these types
        fixed = kernels.kernel_for(name, width)
        events.clear()
        fixed.compile(fixed.signatures[0])  # compiled already: Numba hands back the overload it has
        assert events == (set_and_reset if name == "sg_batched" else []), name
    events.clear()
    with pytest.raises(TypeError):  # one argument where the kernel takes 24
        kernels.kernel_for("sg_batched", width).compile((numba.types.int64,))
    assert events == set_and_reset


def test_llvm_options_are_set_only_where_llvm_takes_them_again(monkeypatch):
    """LLVM before 15 (numba before 0.61, as on Python 3.9) takes an option once: setting it again printed "w2v:
    for the --force-vector-interleave option: may only occur zero or one times!" and kept the first value. Where
    this process's LLVM is said to take options again, setting them twice over says nothing; where not, the fixed
    skip-gram kernel compiles without them."""
    setting = ("from w2v import kernels\nfor _ in range(2):\n    for option in "
               "kernels.FIXED_WIDTH_LLVM_OPTIONS['sg_batched'][0]:\n        kernels.set_llvm_option(option)\n")
    if kernels.LLVM_TAKES_OPTIONS_AGAIN:
        result = subprocess.run([sys.executable, "-c", setting], capture_output=True, text=True, timeout=120)
        assert (result.returncode, result.stderr) == (0, "")
    width = 104
    run_kernel("sg_batched", SENTENCE, 2, True, 0.1, dim=5, width=width)
    signature = kernels.kernel_for("sg_batched", width).signatures[0]
    events = []
    monkeypatch.setattr(kernels, "set_llvm_option", events.append)
    monkeypatch.setattr(kernels, "LLVM_TAKES_OPTIONS_AGAIN", False)
    kernels._fixed_width_kernel.__wrapped__("sg_batched", width).compile(signature)  # a new dispatcher: not cached
    assert events == []


def test_loss_counts_every_prediction_with_the_true_objective():
    # sentence [0, 1], window 1, one negative (always NOISE), a learning rate too small to move the weights:
    # centre 0 is predicted from context 1, centre 1 from context 0; each pair makes 2 predictions
    syn0, syn1neg, *_ = setup(0)
    syn0, syn1neg = syn0.astype(np.float64), syn1neg.astype(np.float64)
    expected = 0.0
    for centre, context in ((0, 1), (1, 0)):
        h = syn0[context]
        expected += np.log1p(np.exp(-(h @ syn1neg[centre])))   # -log σ(x) for the centre word
        expected += np.log1p(np.exp(h @ syn1neg[NOISE]))       # -log σ(-x) for the negative
    for name in ("sg_exact", "sg_batched"):
        *_, loss, count, _ = run_kernel(name, [0, 1], 1, False, 1e-9)
        assert count == 4
        assert loss == pytest.approx(expected, rel=1e-2)


def test_sigmoid_table_is_close_to_the_sigmoid():
    x = np.linspace(-5.99, 5.99, 2001)
    approx = np.array([table_sigmoid(v) for v in x])
    assert np.abs(approx - 1 / (1 + np.exp(-x))).max() < 0.004


def test_subsampling_drops_frequent_words_at_the_expected_rate():
    syn0, syn1neg, syn1, tree, keep, alias_prob, alias_index = setup(0)
    keep = np.array([0.25, 1, 1, 1, 1, 1], np.float32)
    ids = np.array([0, 1] * 20000, dtype=np.int32)
    offsets = np.arange(0, len(ids) + 1, 1000, dtype=np.int64)
    tables = Tables(keep, alias_prob, alias_index, tree.codes, tree.points, tree.lengths, TABLES)
    _, _, trained = kernels.sg_batched(*kernel_args("sg_batched", Weights(syn0, syn1neg, syn1), tables, ids, offsets,
                                                    0, len(offsets) - 1, KernelSettings(2, 1, hs_group=0), 1e-6,
                                                    1e-6, kernels.seed_state(9)))
    expected = 20000 * 1.25
    assert abs(trained - expected) < 4 * np.sqrt(20000 * 0.25 * 0.75)


# -- the random paths, against their distributions ----------------------------------------------
def chi_square_ok(observed, expected):
    """Pearson's chi-square below the 0.999 quantile (Wilson-Hilferty), for len(observed) - 1 degrees."""
    observed, expected = np.asarray(observed, float), np.asarray(expected, float)
    k = len(observed) - 1
    if k == 0:
        return observed[0] == expected[0]
    statistic = ((observed - expected) ** 2 / expected).sum()
    z = 3.09  # the 0.999 quantile of the standard normal
    return statistic < k * (1 - 2 / (9 * k) + z * np.sqrt(2 / (9 * k))) ** 3


@pytest.mark.parametrize("window", [1, 2, 5, 10])
def test_the_shrunk_window_is_uniform_in_1_to_window(window):
    # word2vec.c: b uniform in [0, window), so the effective window window - b is uniform in [1, window]
    state, sizes = kernels.seed_state(11), np.zeros(window + 1, dtype=np.int64)
    for _ in range(20_000):
        state, lo, hi = kernels._window(np.uint64(state), 500, 1000, window)
        assert 500 - lo == hi - 501  # symmetric around the centre, far from the sentence's ends
        sizes[500 - lo] += 1
    assert sizes[0] == 0
    assert chi_square_ok(sizes[1:], np.full(window, 20_000 / window))


def test_the_window_seen_by_the_kernel_averages_window_plus_one_context_words():
    # through the whole kernel: in a long sentence each centre word sees on average 2 * E[size] = window + 1
    # context words, each one prediction with negative 0 and hierarchical softmax over a 1-node tree
    window, n = 5, 40_000
    counts = np.array([n // 2, n // 2])
    tree = HuffmanTree.build(counts)
    syn0, syn1neg, syn1 = np.zeros((2, 8), np.float32), np.zeros((0, 8), np.float32), np.zeros((1, 8), np.float32)
    ids = np.tile(np.array([0, 1], np.int32), n // 2)
    offsets = np.array([0, n], np.int64)
    tables = Tables(np.ones(2, np.float32), np.ones(2, np.float32), np.zeros(2, np.int32), tree.codes, tree.points,
                    tree.lengths, TABLES)
    for name in ("sg_exact", "sg_batched", "cbow_exact"):
        _, predictions, trained = kernel_function(name)(*kernel_args(
            name, Weights(syn0.copy(), syn1neg, syn1.copy()), tables, ids, offsets, 0, 1,
            KernelSettings(window, 0, hs_group=1), 0.0, 0.0, kernels.seed_state(2)))
        assert trained == n
        if name == "cbow_exact":  # one prediction per centre word, whatever its window
            assert predictions == n
        else:  # expected (window + 1) per centre word; sd of the mean about 0.02 here
            assert abs(predictions / n - (window + 1)) < 0.1, (name, predictions / n)


def test_negatives_are_drawn_from_count_to_the_exponent():
    counts = np.array([1000, 400, 150, 60, 20, 7, 3, 1])
    vocab = Vocabulary([f"w{i}" for i in range(len(counts))], counts)
    for exponent in (0.75, 0.0, 1.0, -0.5):
        prob, alias = vocab.noise_alias(exponent)
        state, drawn = kernels.seed_state(5), np.zeros(len(counts), dtype=np.int64)
        for _ in range(40_000):
            state, word = kernels._draw_noise(np.uint64(state), prob, alias)
            drawn[word] += 1
        expected = counts.astype(float) ** exponent
        assert chi_square_ok(drawn, 40_000 * expected / expected.sum()), (exponent, drawn)


def test_negatives_drawn_inside_the_kernel_follow_the_noise_distribution():
    # sg_exact with one negative: the loss of each negative pair is -log sigma(-h.out[w]) = log 2 when the
    # outputs are zero, so nothing is learnt from it; what is learnt is which rows of syn1neg were touched:
    # a row's update is proportional to the number of times it was drawn
    counts = np.array([4000, 1000, 250, 60])
    vocab = Vocabulary(["a", "b", "c", "d"], counts)
    prob, alias = vocab.noise_alias(0.75)
    n = 20_000
    syn0 = np.zeros((4, 8), np.float32)
    syn0[:, 0] = 1.0  # every input vector the same: an update of a row measures its draws
    syn1neg = np.zeros((4, 8), np.float32)
    ids = np.zeros(n, np.int32)  # centre and context always word 0, whose own row gets label 1
    empty = HuffmanTree(np.zeros((4, 1), np.uint8), np.zeros((4, 1), np.int32), np.zeros(4, np.int32))
    tables = Tables(np.ones(4, np.float32), prob, alias, empty.codes, empty.points, empty.lengths, TABLES)
    kernels.sg_exact(*kernel_args("sg_exact", Weights(syn0, syn1neg, np.zeros((0, 8), np.float32)), tables, ids,
                                  np.array([0, n], np.int64), 0, 1, KernelSettings(1, 1), 1e-7, 1e-7,
                                  kernels.seed_state(8)))
    # each draw of w != 0 adds alpha * (0 - sigma(0)) * h to syn1neg[w]: -0.5e-7 per draw in column 0
    drawn = np.rint(syn1neg[1:, 0] / np.float32(-0.5e-7)).astype(np.int64)
    pairs = 2 * (n - 1)  # every word of the sentence has its neighbours as context (window 1)
    p = counts.astype(float) ** 0.75
    p /= p.sum()
    assert chi_square_ok(np.append(drawn, pairs - drawn.sum()), pairs * np.append(p[1:], p[0]))


# -- code generation ------------------------------------------------------------------------
PROBE = ("import sys; sys.path.insert(0, sys.argv[1])\n"
         "from numba.core.codegen import get_host_cpu_features\n"
         "from numba.core.registry import cpu_target\n"
         "{before}\n"
         "import w2v.kernels as k\n"
         "k.sg_exact  # a kernel exists\n"
         "used = cpu_target.target_context.codegen()._tm_features.split(',')\n"
         "print(k.PREFER_256_BIT, '+prefer-256-bit' in used, '+avx512f' in get_host_cpu_features().split(','))\n")


@pytest.mark.parametrize("before, env, expect", [
    ("", {}, "host"),  # on by itself exactly where the CPU has AVX-512
    ("", {"NUMBA_CPU_FEATURES": "+sse2"}, "off"),  # the user's choice of features is kept
    ("import numba; numba.njit(lambda: 1)()", {}, "off"),  # Numba set up before w2v: left as it is
])
def test_256_bit_vectors_preferred_on_avx512_unless_chosen_otherwise(before, env, expect):
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(kernels.__file__)))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CPU")}
    environment.update(env, NUMBA_DISABLE_JIT="0")
    out = subprocess.run([sys.executable, "-c", PROBE.format(before=before), root], capture_output=True, text=True,
                         env=environment, check=True).stdout.split()
    applied, used, avx512 = (word == "True" for word in out)
    assert applied == used  # the flag says what the code generator got
    assert applied == (avx512 and expect == "host")


# Compiled in a fresh cache, with the shared parts replaced by stubs that record their argument types (a stub
# compiles in milliseconds where _batch_pass takes about 3 s).
ONE_VERSION_PROBE = """
import inspect, sys
sys.path.insert(0, sys.argv[1])
from numba import njit
from w2v import kernels, precompile
from w2v.options import TrainOptions


def stub(name, returns):
    params = list(inspect.signature(getattr(kernels, name).py_func).parameters)
    scope = {}
    exec(f"def {name}({', '.join(params)}):\\n    return {returns.format(*params)}", scope)
    setattr(kernels, name, njit(scope[name]))


stub("_batch_pass", "0.0, 0")
stub("_one_input_pass", "0.0, 0")
stub("_sync_private", "None")
stub("_rehash_into", "{0}")
stub("_pairs_rebuilt", "{0}, {1}")
for exact in (False, True):  # CBOW's kernel calls the same _exact_outputs as skip-gram's exact one
    options = TrainOptions(exact=exact, hs=True, negative=2, dim=4).resolved()
    assert options.dim not in kernels.FIXED_WIDTHS  # the kernels themselves
    kernel, args = precompile.stand_in(options)
    kernel(*args)
table = kernels.table_new(16)
kernels._rehash(1024, table[1], table[2], 0)  # a table grown (table_add)
kernels.table_prune(table, 0, 1)
kernels.pairs_count(kernels.pairs_new(16), 0, 0, 0, table, 1, -1.0, 1)  # a pair table grown
kernels.pairs_prune(kernels.pairs_new(16), 1)
print(*(len(getattr(kernels, name).signatures) for name in ("_batch_pass", "_one_input_pass", "_sync_private",
                                                            "_rehash_into", "_pairs_rebuilt")))
"""


def test_the_kernels_shared_parts_are_each_compiled_once(tmp_path):
    # hierarchical softmax and negative sampling call the same pass, a table grown and a table pruned (of tokens,
    # or of pairs) fill its slots alike, with arguments of the same types: a literal (0, True, False) or an int32
    # where another call has an int64 compiles the part again (2-3 s more for _batch_pass on a first run)
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(kernels.__file__)))
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), NUMBA_DISABLE_JIT="0")
    out = subprocess.run([sys.executable, "-c", ONE_VERSION_PROBE, root], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "1", "1", "1", "1"]


def _text_values():
    """float32 values of every kind: normal ones of many scales, random bit patterns, powers of ten and
    their neighbours, zeros, the extremes, NaN and infinities."""
    rng = np.random.default_rng(3)
    scales = [rng.standard_normal(4000).astype(np.float32) * s for s in (1e-4, 1e-3, 0.1, 1, 10, 1e5, 1e8, 1e9)]
    patterns = rng.integers(0, 2 ** 32, 20000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    tens = np.float32(10.0) ** np.arange(-6, 11).astype(np.float32)
    near = np.concatenate([np.nextafter(tens, np.float32(0)), tens, np.nextafter(tens, np.float32(np.inf))])
    special = np.float32([0.0, -0.0, 9.99999995e-5, 1.00000005e-4, 999999940, 99999999.5, 3.4e38, 1e-45,
                          np.inf, -np.inf, np.nan, 0.1, 0.5, 123456789])
    values = np.concatenate(scales + [patterns, near, -near, special]).astype(np.float32)
    return values


def test_text_rows_are_pythons_percent_9g_byte_for_byte():
    values = _text_values()
    dim = 3
    block = values[:len(values) // dim * dim].reshape(-1, dim)
    words = [f"w{i}" + "\u00e9" * (i % 2) for i in range(len(block))]
    word_bytes = np.frombuffer("".join(words).encode(), np.uint8)
    word_ends = np.cumsum([len(w.encode()) for w in words])
    out = np.empty(16 * block.size + len(word_bytes) + 2 * len(block), np.uint8)
    ends = np.empty(len(block), np.int64)
    in_python = np.zeros(len(block), np.bool_)
    n = kernels.format_text_rows(block, word_bytes, word_ends, out, ends, in_python)
    text = out[:n].tobytes()
    begin = 0
    unsure = 0
    for r, row in enumerate(block):
        python = ["%.9g" % float(v) for v in row]
        finite = np.isfinite(row).all()
        if finite and in_python[r]:
            unsure += 1  # a rounding the kernel could not be sure of
        if not finite:
            assert in_python[r]
        elif not in_python[r]:
            assert text[begin:ends[r]].decode() == words[r] + " " + " ".join(python) + "\n"
        begin = ends[r]
    assert ends[-1] == n
    assert unsure <= 2  # very few: about one number in a million
    assert sum("e" in p for p in text.decode().split()) > 1000  # exponents written here, as %.9g writes them


def _tokens_in_first_seen_order(data: bytes):
    words, lines, seen = [], [], {}
    for line in data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n"):
        words.extend(line.split())
        lines.append(len(words))
    for word in words:
        seen.setdefault(word, len(seen))
    return words, seen, lines[:data.count(b"\n")]


@pytest.mark.parametrize("capacity, ids_room", [(16, 3), (1 << 16, None)], ids=["grown mid-piece", "room for all"])
def test_token_table_counts_and_ids_whether_added_in_place_or_grown(capacity, ids_room):
    """A new token is written where its look-up ended when the table has room (the counting loop's
    fast path), else the table grows (entries, arena and slots, with a rehash) and an ids buffer too
    small for the piece is replaced: both give every token's entry in first-seen order, the counts,
    the line ends, and a table that finds every token again."""
    rng = np.random.default_rng(3)
    vocabulary = [bytes(rng.integers(97, 123, size=int(k))) for k in rng.integers(1, 40, size=700)]
    vocabulary += ["ü".encode() * 3, b"x" * 300]
    picks = rng.zipf(1.3, size=6000) % len(vocabulary)
    data = b"".join(vocabulary[p] + (b"\n" if i % 97 == 96 else b" \t"[i % 2:i % 2 + 1])
                    for i, p in enumerate(picks))
    words, first_seen, line_ends = _tokens_in_first_seen_order(data)
    array = np.frombuffer(data, dtype=np.uint8).copy()
    room = len(array) // 2 + 1 if ids_room is None else ids_room
    buffer = np.full(room, -7, np.int32)
    table, n, used, ids, ends, hashes = kernels.count_tokens_ids(array, kernels.table_new(capacity), 0, 0, buffer,
                                                                 np.empty(0, np.uint64))
    assert n == len(first_seen) and used == sum(map(len, first_seen))
    assert ids.tolist() == [first_seen[w] for w in words]
    assert ends.tolist() == line_ends
    assert hashes.tolist() == [int(kernels._fnv(np.frombuffer(w, np.uint8), 0, len(w))) for w in first_seen]
    assert kernels.table_hashes(table, n).tolist() == hashes.tolist()
    assert np.shares_memory(ids, buffer) == (ids_room is None)  # the caller's buffer, when it has room
    counts = {w: 0 for w in first_seen}
    for w in words:
        counts[w] += 1
    assert table[kernels.TABLE_ENTRIES][:n, 1].tolist() == list(counts.values())
    assert [kernels.table_lookup(table, np.frombuffer(w, np.uint8)) for w in first_seen] == list(range(n))
    assert kernels.table_lookup(table, np.frombuffer(b"absent-token", np.uint8)) == -1
    only_counts = kernels.count_tokens(array, kernels.table_new(capacity), 0, 0)
    assert only_counts[1:] == (n, used, len(words))
    assert only_counts[0][kernels.TABLE_ENTRIES][:n, 1].tolist() == list(counts.values())
    hashed = kernels.count_tokens_hashed(array, kernels.table_new(capacity), 0, 0, np.empty(0, np.uint64))
    assert hashed[1:4] == (n, used, len(words)) and hashed[4].tolist() == hashes.tolist()
    # merged into a small table (grown as it goes) and into one that holds half of them already
    half = data.index(b" ", len(data) // 2)
    for into in (kernels.table_new(16), kernels.count_tokens(array[:half].copy(), kernels.table_new(capacity),
                                                                  0, 0)[:3]):
        into_table, into_n, into_used = into if isinstance(into[1], int) else (into, 0, 0)
        before = into_table[kernels.TABLE_ENTRIES][:into_n, 1].copy()
        merged, m, _, where = kernels.table_merge_map(into_table, into_n, into_used, table, n, hashes)
        assert m == n and where.tolist() == list(range(n))  # the half counted first is the tokens seen first
        expected = np.array(list(counts.values()))
        expected[:into_n] += before
        assert merged[kernels.TABLE_ENTRIES][:m, 1].tolist() == expected.tolist()


def test_a_slot_whose_hash_half_matches_is_taken_only_when_the_bytes_match_too():
    """A slot keeps only the high 32 bits of its token's hash: a look-up whose hash shares them with the
    slot's compares the bytes and, when they differ, goes on probing."""
    data = np.frombuffer(b"alpha beta alpha", np.uint8).copy()
    table = kernels.count_tokens(data, kernels.table_new(16), 0, 0)[0]
    slots, mask = table[0], np.uint64(len(table[0]) - 1)
    gamma = np.frombuffer(b"gamma", np.uint8)
    h = np.uint64(kernels._fnv(gamma, 0, len(gamma)))  # (a Python int: NumPy 1.x would not & it with a uint64)
    home = int(h & mask)
    assert slots[home] == 0  # gamma's home slot is free here
    alpha_slot = next(s for s in range(len(slots)) if slots[s] & np.uint64(0xFFFFFFFF) == 1)  # entry 0 + 1
    slots[home] = (h & np.uint64(0xFFFFFFFF00000000)) | np.uint64(1)  # gamma's hash half, alpha's entry
    assert kernels.table_lookup(table, gamma) == -1
    slots[home] = 0
    slots[alpha_slot] = (h & np.uint64(0xFFFFFFFF00000000)) | np.uint64(1)  # alpha's entry under gamma's half
    assert kernels.table_lookup(table, np.frombuffer(b"alpha", np.uint8)) == -1
    assert kernels.table_lookup(table, np.frombuffer(b"beta", np.uint8)) == 1


@pytest.mark.parametrize("how", ["counted", "merged"])
def test_a_token_tables_slots_double_past_two_thirds_full(how):
    """1024 slots hold 682 tokens and the 683rd doubles them, whether the tokens are counted (the loop's
    fast path, then table_add) or merged; table_new sizes its slots by the same rule."""
    for k, size in ((682, 1024), (683, 2048)):
        tokens = [b"t%d" % i for i in range(k)]
        data = np.frombuffer(b" ".join(tokens), np.uint8).copy()
        table, n, used, _, hashes = kernels.count_tokens_hashed(data, kernels.table_new(16), 0, 0,
                                                                np.empty(0, np.uint64))
        if how == "merged":
            table, n, used = kernels.table_merge(kernels.table_new(16), 0, 0, table, n, hashes)
        slots = table[kernels.TABLE_SLOTS]
        assert n == k and len(slots) == size and np.count_nonzero(slots) == k
        assert [kernels.table_lookup(table, np.frombuffer(t, np.uint8)) for t in tokens] == list(range(k))
        assert len(kernels.table_new(k)[kernels.TABLE_SLOTS]) == size


def test_pruning_a_token_table_keeps_the_rest_in_order_in_its_own_arrays():
    """table_prune drops the tokens counted at most ``at_most`` times, keeps the others' order, counts and
    bytes, and finds them again; it reuses the table's slots, entries and arena (new slots beside the old
    would raise the peak of a count at its limit by their size)."""
    tokens = [b"w%d" % i for i in range(900)]
    times = [1 + i % 4 for i in range(900)]  # 1, 2, 3, 4, 1, 2, ...
    data = np.frombuffer(b" ".join(t for t, k in zip(tokens, times) for _ in range(k)), np.uint8).copy()
    table, n, used, _ = kernels.count_tokens(data, kernels.table_new(16), 0, 0)
    assert n == 900
    pruned, kept, kept_used = kernels.table_prune(table, n, 2)
    survivors = [t for t, k in zip(tokens, times) if k > 2]
    assert kept == len(survivors) == 450 and kept_used == sum(map(len, survivors))
    assert all(a is b for a, b in zip(pruned, table))  # the same arrays, not copies
    assert np.count_nonzero(pruned[kernels.TABLE_SLOTS]) == kept
    assert pruned[kernels.TABLE_ENTRIES][:kept, 1].tolist() == [k for k in times if k > 2]
    assert [kernels.table_lookup(pruned, np.frombuffer(t, np.uint8)) for t in survivors] == list(range(kept))
    assert [kernels.table_lookup(pruned, np.frombuffer(t, np.uint8)) for t in tokens[:2]] == [-1, -1]


def test_invalid_tokens_are_replaced_and_merged_as_pythons_decoder_reads_them():
    """table_candidates finds the tokens Python's strict decoder refuses, and table_replaced reads each as
    ``decode("utf-8", "replace")`` does (the same text, and as many bytes replaced as decode_token counts),
    merges the tokens that read alike (their counts summed) and finds a valid token of the same text: on
    5,000 tokens of random non-ASCII bytes, cut sequences and valid characters."""
    import random
    from w2v.corpus import decode_token
    from w2v.scan import Counted
    rng = random.Random(0)
    parts = [bytes([b]) for b in range(0x80, 0x100)] + [c.encode() for c in "éЖ€😀a"] + [b"\xef\xbf\xbd"]
    tokens = []
    for _ in range(5000):
        token = b"".join(rng.choice(parts) for _ in range(rng.randint(1, 6)))
        tokens.append(token[:rng.randint(1, len(token))])
    tokens += [b"caf\xe9", b"caf\xef\xbf\xbd", b"caf\xff", b"caf\xe9"]  # three read as one, one of them valid
    data = np.frombuffer(b" ".join(tokens), np.uint8).copy()
    table, n, _, _ = kernels.count_tokens(data, kernels.table_new(16), 0, 0)
    counted = Counted(table, n, len(tokens), 0)
    candidates, invalid, n_valid, _, _ = kernels.table_candidates(table, n, 1, 10_000)

    def valid(token):
        try:
            token.decode("utf-8")
            return True
        except UnicodeDecodeError:
            return False
    distinct = set(tokens)
    assert {counted.token(e) for e in invalid.tolist()} == {t for t in distinct if not valid(t)}
    assert {counted.token(e) for e in candidates.tolist()} == {t for t in distinct if valid(t)}
    texts, r, group, bad, twin = kernels.table_replaced(table, invalid)
    replaced = Counted(texts, r, 0, 0)
    expected = {}
    for j, e in enumerate(invalid.tolist()):
        text, n_bad = decode_token(counted.token(e))
        assert replaced.token(int(group[j])) == text.encode() and bad[j] == n_bad
        expected[text.encode()] = expected.get(text.encode(), 0) + tokens.count(counted.token(e))
    assert {replaced.token(t): c for t, c in enumerate(replaced.counts.tolist())} == expected
    for t in range(r):
        assert (counted.token(int(twin[t])) if twin[t] >= 0 else None) == \
            (replaced.token(t) if replaced.token(t) in distinct else None)
    caf = [replaced.token(t) for t in range(r)].index("caf\ufffd".encode())
    assert replaced.counts[caf] == 3 and counted.token(int(twin[caf])) == b"caf\xef\xbf\xbd"


def test_a_token_table_refuses_more_entries_than_its_slots_can_number():
    """A merge's map and the spool hold entries as int32: the table says when it is full instead of
    wrapping."""
    token = np.frombuffer(b"one", np.uint8)
    with pytest.raises(ValueError, match="2\\*\\*31 - 1 distinct tokens"):
        kernels.table_add(kernels.table_new(16), kernels.MAX_ENTRIES, 0, token, 0, 3, kernels._fnv(token, 0, 3), 1)


def test_a_token_table_refuses_a_token_or_an_arena_longer_than_an_entry_can_place():
    """An entry packs its token's start and length in one int64 (28 bits of length): a longer token, or
    an arena past 2**35 bytes, is refused with a clear error, also where a new token would be stored at
    once (the arena here has room for it; its pages are never touched)."""
    token = np.frombuffer(b"one", np.uint8)
    h = kernels._fnv(token, 0, 3)
    too_long = kernels.MAX_TOKEN_BYTES + 1
    with pytest.raises(ValueError, match="2\\*\\*28 - 1 bytes"):
        kernels.table_add(kernels.table_new(16), 0, 0, token, 0, too_long, h, 1)
    with pytest.raises(ValueError, match="2\\*\\*35 bytes in all"):
        kernels.table_add(kernels.table_new(16), 0, kernels.MAX_ARENA_BYTES - 2, token, 0, 3, h, 1)
    slots, entries, _ = kernels.table_new(16)
    roomy = (slots, entries, np.empty(too_long + 64, np.uint8))
    with pytest.raises(ValueError, match="2\\*\\*28 - 1 bytes"):
        kernels._add_at(roomy, 0, 0, 0, token, 0, too_long, h, 1)


def test_an_ids_buffer_one_token_short_is_replaced_before_counting():
    """Text of one-byte tokens holds the most tokens its bytes can (len // 2 + 1): a buffer with room for
    them all is written in place, one a token short is replaced by a new array (never written past)."""
    array = np.frombuffer(b"a " * 500 + b"b", dtype=np.uint8).copy()
    for room, in_place in ((501, True), (500, False)):
        buffer = np.full(room + 8, -7, np.int32)[:room]  # a canary past the buffer's end
        ids = kernels.count_tokens_ids(array, kernels.table_new(16), 0, 0, buffer, np.empty(0, np.uint64))[3]
        assert ids.tolist() == [0] * 500 + [1]
        assert np.shares_memory(ids, buffer) == in_place
        assert (buffer.base[room:] == -7).all()


def batch_pass_reference(inputs, b_begin, b_end, out_matrix, private, first_private, out_ids, labels, weights,
                         alpha):
    """_batch_pass in float64 NumPy: X = In·Outᵀ, G = alpha·weight·(label − σ(X)), in_delta += G·Out and
    Out += Gᵀ·In from the rows as they were, the private rows read and written in ``private``."""
    rows = out_matrix.astype(np.float64)
    own = private.astype(np.float64)

    def row_of(r):
        return own[r - first_private] if 0 <= r - first_private < len(own) else rows[r]

    ins = inputs[b_begin:b_end].astype(np.float64)
    outs = np.array([row_of(r) for r in out_ids])
    x = (ins @ outs.T).astype(np.float32)
    sigma = np.vectorize(table_sigmoid)(x)
    grads = (labels[None, :] - sigma) * alpha * weights[None, :]
    delta = grads @ outs
    for o, r in enumerate(out_ids):
        row_of(r)[:] += grads[:, o] @ ins
    return delta, rows, own


@pytest.mark.parametrize("n_in", range(1, 8))
@pytest.mark.parametrize("n_out", range(1, 8))
def test_batch_pass_matches_numpy_for_every_tile_and_remainder(n_in, n_out):
    """The shared-output pass works in tiles of two rows by four, then what is left one row at a time:
    every number of inputs and outputs around those sizes, some output rows private, gives NumPy's
    update (inputs from an offset, so b_begin > 0 is covered too)."""
    rng = np.random.default_rng(100 * n_in + n_out)
    dim, rows_total, first_private = 21, 12, 9     # dim not a multiple of any vector width
    inputs = rng.standard_normal((n_in + 2, dim)).astype(np.float32) * np.float32(0.4)
    out_matrix = rng.standard_normal((rows_total, dim)).astype(np.float32) * np.float32(0.4)
    private = rng.standard_normal((rows_total - first_private, dim)).astype(np.float32) * np.float32(0.4)
    out_ids = rng.permutation(rows_total)[:n_out].astype(np.int64)  # distinct, private ones among them at times
    labels = (rng.random(n_out) < 0.3).astype(np.float32)
    weights = rng.integers(1, 3, n_out).astype(np.float32)
    alpha = 0.05
    want_delta, want_rows, want_private = batch_pass_reference(inputs, 2, 2 + n_in, out_matrix, private,
                                                               first_private, out_ids, labels, weights, alpha)
    in_delta = np.zeros_like(inputs)
    out_rows = np.empty((8, dim), np.float32)
    grads = np.empty((n_in + 2, 8), np.float32)
    kernels._batch_pass(inputs, 2, 2 + n_in, out_matrix, private, first_private, out_ids, labels, weights,
                        n_out, False, np.float32(alpha), TABLES, out_rows, in_delta, grads, dim)
    np.testing.assert_allclose(in_delta[2:], want_delta, atol=1e-5)
    np.testing.assert_array_equal(in_delta[:2], 0)
    np.testing.assert_allclose(out_matrix, want_rows, atol=1e-5)
    np.testing.assert_allclose(private, want_private, atol=1e-5)
    assert not np.allclose(in_delta[2:], 0)
