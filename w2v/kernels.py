"""Numba kernels: the inner loop of word2vec training. Arrays and scalars only.

Every kernel trains one *chunk* of the encoded corpus (sentences
``offsets[s_begin] .. offsets[s_end]`` of ``ids``) and returns
``(loss_sum, predictions, words_trained)``:

* ``loss_sum`` float64: the negative log-likelihood summed over every binary
  prediction made (centre word, each negative sample, each Huffman node):
  ``-log σ(x)`` for label 1 and ``-log σ(-x)`` for label 0;
* ``predictions`` int64: how many such predictions were made;
* ``words_trained`` int64: centre words left after subsampling.

Shapes and dtypes (built in one place, :func:`w2v.model.kernel_args`): ``syn0`` float32[V, D]
input vectors; ``syn1neg`` float32[V, D] negative-sampling output vectors;
``syn1`` float32[V-1, D] hierarchical-softmax inner nodes; ``ids`` int32[N];
``offsets`` int64[S+1]; ``keep`` float32[V] subsampling keep-probabilities;
``alias_prob`` float32[V], ``alias_index`` int32[V] the noise distribution;
``codes`` uint8[V, L], ``points`` int32[V, L], ``code_lengths`` int32[V];
``tables`` float32[2, T+1]: σ(x) and log σ(x) at the centres of T bins of
[-6, 6]. Weights are updated in place, lock-free (Hogwild) when several
threads train chunks at once; the kernels release the GIL. D is the row length, which
may include zero padding (training pads rows to a multiple of 8 floats); zero columns stay
zero under every update here.

The learning rate falls linearly from ``alpha_begin`` to ``alpha_end`` over
the chunk's words (updated at every sentence; word2vec.c every 10,000 words).

Two families, chosen in Python (:data:`w2v.options.KERNELS`, :func:`w2v.model.kernel_function`), each
also compiled for dim 100's row length as a constant (:func:`kernel_for`):

*exact* — word2vec.c's algorithm, pair by pair: skip-gram trains the context
word's input vector against the centre word's outputs; fresh negatives for
every (context, centre) pair; CBOW averages (or sums) the context. Deviations:
the sigmoid table holds bin centres (word2vec.c: left edges); the RNG is
xorshift64* seeded per chunk (word2vec.c: an LCG per thread); negatives come
from an exact alias table (word2vec.c: a 10^8-entry table).

*batched* (skip-gram, after Ji et al. 2016, "HogBatch"): for one centre word,
its B context words form the inputs and the outputs — the centre word plus k
negatives drawn once for the whole window (duplicates merged with a count, a
draw equal to the centre dropped), and/or the centre word's Huffman path — are
shared by all B inputs. Scores ``B × O`` and all gradients are computed from
the weights as they were before the window, then applied. This is the same
objective with the same expected gradient: every (context, centre) pair still
sees k samples from the noise distribution, only the samples are shared
within a window, and an update within the window does not see the window's
own earlier updates (Hogwild already allows that across threads). The rows
are read once per window instead of once per pair, which turns a
memory-latency-bound loop into small dense products.

With hierarchical softmax the shared outputs are the centre word's Huffman
path, whose top nodes are shared by every word of the corpus. The path is
shared by groups of at most ``hs_group`` context words, each group reading the
rows as the previous group left them; with ``hs_group`` 1 (the default in
:class:`w2v.options.TrainOptions`) every context word reads the path as the
previous one left it, as in word2vec.c, and only the negatives of negative
sampling are shared across the window. Larger groups are faster and lose
quality, mostly on semantic analogies (the measurements:
benchmarks/README.md, "Hierarchical softmax").

Every Huffman path starts at the root, so with several threads every update
writes the same few top rows of syn1, and each write waits for the cache line
to come back from the other core. With several threads the batched kernel
therefore trains the top nodes in a copy private to the thread and merges it
every ``hs_sync`` centre words (:func:`sg_batched`). Deviation from word2vec.c
(and from plain Hogwild): a thread sees the other threads' updates of those
rows up to ``hs_sync`` centre words late.

The most frequent words are written all the time too: they are in nearly
every window, as context words (syn0) and as negatives (syn1neg). With
negative sampling the batched kernel keeps their rows private to the thread
in the same way (``private_words``, merged every ``private_sync`` centre
words), with the same deviation.

CBOW has only word2vec.c's updates: sharing negatives across consecutive
centre words was faster but lost quality (benchmarks/README.md, "CBOW").

Negative sampling in :func:`sg_batched` and :func:`cbow_exact` draws a
sentence's negatives (``negative`` per kept word) before training it, and
while a centre word trains asks the CPU for the rows the word ``_AHEAD``
positions on will read first: its output row, its negatives and the context
row that enters its window (:func:`_prefetch_ahead`). Random rows of syn1neg
were the kernels' most missed loads; fetching them ahead made 2-thread
training 5-10% faster on wiki8 (benchmarks/README.md). Only the order of the
random draws changes (each draw is still independent, from the same
distribution); hierarchical softmax, bound by arithmetic, prefetches only
the context row.
"""
from __future__ import annotations

import functools
import math

import numba
import numpy as np
from llvmlite import ir
from llvmlite import binding as llvm_binding
from numba.core import cgutils, config as numba_config
from numba.core.compiler_lock import global_compiler_lock
from numba.core.registry import cpu_target


def prefer_256_bit_vectors() -> bool:
    """On a CPU with AVX-512, have LLVM vectorise with 256-bit registers: ``+prefer-256-bit`` added to the host's
    features (``numba.config.CPU_FEATURES``) before Numba sets up its code generator. Returns whether it did.

    The kernels' loops run over a row of D floats (104 for dim 100); with 512-bit vectors LLVM's loops take 64
    floats a turn and leave 40 to a slower tail loop, with 256-bit ones 32 and a tail of 8, and AMD's Zen 4
    does a 512-bit operation as two 256-bit ones anyway. Measured on Zen 4 (one thread, wiki8): skip-gram with
    negative sampling 3-4% faster, CBOW about 3%, hierarchical softmax 1-4% (benchmarks/README.md). This is
    the tuning ``-mprefer-vector-width=256`` gives a C compiler; the arithmetic is the same. It is left alone
    when the user chose the CPU (``NUMBA_CPU_NAME`` or ``NUMBA_CPU_FEATURES``), and when Numba's code generator
    already exists (something in the process compiled before w2v was imported), since it would not apply;
    it applies to the process's other Numba functions compiled afterwards too (a tuning, not a change of
    results beyond float rounding). Numba keys its cache by the features, so cached kernels of either kind
    are never mixed up.
    """
    if numba_config.CPU_NAME is not None or numba_config.CPU_FEATURES is not None:
        return False
    if "_toplevel_target_context" in vars(cpu_target):  # the code generator exists: too late
        return False
    from numba.core.codegen import get_host_cpu_features
    features = get_host_cpu_features()
    if "+avx512f" not in features.split(","):
        return False
    numba_config.CPU_FEATURES = features + ",+prefer-256-bit"
    return True


#: Whether :func:`prefer_256_bit_vectors` applied (done on import, before any kernel is compiled or loaded).
PREFER_256_BIT = prefer_256_bit_vectors()

from numba.extending import intrinsic  # noqa: E402  (after the features are set)

#: Whether the kernels are cached on disk. Numba's ``cache=True`` needs a writable folder (beside this
#: file, NUMBA_CACHE_DIR, or the user's cache folder); where there is none (a read-only install, HOME and
#: NUMBA_CACHE_DIR), decorating raises, and the kernels are compiled in memory instead: training still
#: runs, and :mod:`w2v.training` says so once.
CACHED = True
CACHE_PROBLEM = ""


def njit(*args, cache=False, **flags):
    """``numba.njit``, falling back to no cache when no cache folder can be written (see CACHED)."""
    def decorate(function):
        global CACHED, CACHE_PROBLEM
        if cache and CACHED:
            try:
                return numba.njit(cache=True, **flags)(function)
            except RuntimeError as error:  # "cannot cache function ...: no locator available"
                CACHED, CACHE_PROBLEM = False, str(error)
        return numba.njit(**flags)(function)
    if args and callable(args[0]):
        return decorate(args[0])
    return decorate

MAX_EXP = 6.0
TABLE_SIZE = 1000

_U12 = np.uint64(12)
_U25 = np.uint64(25)
_U27 = np.uint64(27)
_U32 = np.uint64(32)
_U40 = np.uint64(40)
_MASK24 = np.uint64(0xFFFFFF)
_XS_MULT = np.uint64(2685821657736338717)
_F24 = np.float32(1.0 / (1 << 24))
_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
_MAXF = np.float32(MAX_EXP)
#: The ``skip_outside`` flag of hierarchical softmax's and negative sampling's calls. Not the literals True and
#: False: Numba gives each literal a type of its own and compiles the callee once for each (a batch pass takes
#: about 3 s), where the flag only picks the gradient outside (-6, 6) in :func:`_score`. Likewise a literal 0
#: where another call passes an int64 variable.
_HS = np.bool_(True)
_NS = np.bool_(False)
_SCALE = np.float32(TABLE_SIZE / (2 * MAX_EXP))
_AHEAD = 2  # centre words between a prefetch and the use of its rows (sg_batched, cbow_exact)
_FAST = {"reassoc", "contract"}  # never nnan/ninf: NaN must surface as a NaN loss


def make_tables() -> np.ndarray:
    """float32[2, TABLE_SIZE+1]: σ and log σ at bin centres of [-MAX_EXP, MAX_EXP).

    One spare entry guards against float rounding at the top edge.
    """
    centres = (np.arange(TABLE_SIZE + 1) + 0.5) / TABLE_SIZE * 2 * MAX_EXP - MAX_EXP
    centres = np.minimum(centres, MAX_EXP)
    sig = 1.0 / (1.0 + np.exp(-centres))
    return np.stack([sig, np.log(sig)]).astype(np.float32)


def seed_state(seed: int, *salt: int) -> np.uint64:
    """A non-zero xorshift64* state from a seed and salts (splitmix64 mixing), in Python."""
    mask = (1 << 64) - 1
    z = (seed * 0x9E3779B97F4A7C15) & mask
    for s in salt:
        z = (z ^ ((s + 1) * 0xBF58476D1CE4E5B9)) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
    return np.uint64(z or 0x2545F4914F6CDD1D)


# -- small leaves -------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _next(state):
    """xorshift64*: returns (new state, 64 random bits)."""
    state ^= state >> _U12
    state ^= state << _U25
    state ^= state >> _U27
    return state, state * _XS_MULT


@njit(cache=True, inline="always")
def _uniform(bits):
    """float32 uniform in [0, 1) from the top 24 bits."""
    return np.float32(bits >> _U40) * _F24


@njit(cache=True, inline="always")
def _below(bits, n):
    """Integer uniform in [0, n) from the top 32 bits (multiply-shift)."""
    return np.int64(((bits >> _U32) * np.uint64(n)) >> _U32)


@njit(cache=True, inline="always")
def _draw_noise(state, alias_prob, alias_index):
    """One draw from the alias table: returns (state, word id).

    Both entries are loaded and one is selected, with no branch: for most
    words the chance of keeping ``i`` lies far from 0 and 1, so a branch on
    it is mispredicted often (benchmarks/results/noise-draw-select.md)."""
    state, bits = _next(state)
    i = _below(bits, alias_prob.shape[0])
    u = np.float32(bits & _MASK24) * _F24  # the low 24 bits; the index used the high 32
    other = np.int64(alias_index[i])
    return state, i if u < alias_prob[i] else other


@njit(cache=True, inline="always")
def _score(x, label, tables, skip_outside):
    """Gradient factor and loss of one binary prediction with logit x.

    Returns ``(label - σ(x), -log σ(±x))`` with σ from the table. Outside
    (-6, 6) σ is taken as 0 or 1 (word2vec.c's clipping for negative sampling);
    with ``skip_outside`` (word2vec.c's hierarchical softmax) the gradient is 0.
    The loss uses ``-log σ(-x) = -log σ(x) + x`` and the asymptote
    ``-log σ(x) ≈ -x`` below -6. A NaN x gives a NaN loss.
    """
    if x > -_MAXF and x < _MAXF:
        i = np.int64((x + _MAXF) * _SCALE)
        g = label - tables[0, i]
        loss = -tables[1, i] + (_ONE - label) * x
        return g, loss
    if x >= _MAXF:
        loss = (_ONE - label) * x
        g = label - _ONE
    elif x <= -_MAXF:
        loss = -label * x
        g = label
    else:
        return x, x  # NaN
    if skip_outside:
        g = _ZERO
    return g, loss


@njit(cache=True, inline="always")
def _subsample(ids, begin, end, keep, sen, state):
    """Copy the kept words of ``ids[begin:end]`` into ``sen``; returns (state, length)."""
    n = 0
    for j in range(begin, end):
        w = ids[j]
        k = keep[w]
        if k < _ONE:
            state, bits = _next(state)
            if _uniform(bits) >= k:
                continue
        sen[n] = w
        n += 1
    return state, n


@njit(cache=True, inline="always")
def _sentence_buffer(offsets, s_begin, s_end):
    """int32 scratch as long as the longest sentence of the chunk."""
    longest = 0
    for s in range(s_begin, s_end):
        longest = max(longest, offsets[s + 1] - offsets[s])
    return np.empty(longest, dtype=np.int32)


@njit(cache=True, inline="always")
def _window(state, pos, n, window):
    """word2vec.c's shrunk window: b uniform in [0, window), context positions [lo, hi) around pos."""
    state, bits = _next(state)
    b = _below(bits, window)  # effective window: window - b, uniform in [1, window]
    return state, max(0, pos - window + b), min(n, pos + window - b + 1)


@njit(cache=True, fastmath=_FAST, inline="always")
def _dot(a, b, dim):
    s = _ZERO
    for d in range(dim):
        s += a[d] * b[d]
    return s


@njit(cache=True, fastmath=_FAST, inline="always")
def _axpy(g, x, y, dim):
    """y += g * x"""
    for d in range(dim):
        y[d] += g * x[d]


def _emit_prefetch(builder, pointer) -> None:
    """Emit LLVM's prefetch of ``pointer``'s cache line: a read, kept in every cache level."""
    byte_pointer = ir.IntType(8).as_pointer()
    function = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer] + [ir.IntType(32)] * 3), "llvm.prefetch.p0i8")
    builder.call(function, [builder.bitcast(pointer, byte_pointer), ir.Constant(ir.IntType(32), 0),
                            ir.Constant(ir.IntType(32), 3), ir.Constant(ir.IntType(32), 1)])


@intrinsic
def _prefetch(typingctx, matrix, row, col):
    """Ask the CPU to start loading ``matrix[row, col]``'s cache line (LLVM's prefetch: read, kept in every
    cache level), so that a row needed a little later is on its way instead of missed when it is read."""
    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        _emit_prefetch(builder, cgutils.get_item_pointer(context, builder, array_type, array, [args[1], args[2]]))
        return context.get_dummy_value()
    return numba.types.void(matrix, numba.types.intp, numba.types.intp), codegen


@intrinsic
def _prefetch_item(typingctx, vector, index):
    """:func:`_prefetch` for ``vector[index]`` of a 1-D array."""
    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        _emit_prefetch(builder, cgutils.get_item_pointer(context, builder, array_type, array, [args[1]]))
        return context.get_dummy_value()
    return numba.types.void(vector, numba.types.intp), codegen


@njit(cache=True, inline="always")
def _prefetch_row(matrix, row):
    """:func:`_prefetch` every cache line of ``matrix[row]`` (16 float32 a line)."""
    for d in range(0, matrix.shape[1], 16):
        _prefetch(matrix, row, d)


@njit(cache=True, inline="always")
def _prefetch_ahead(syn0, syn1neg, sen, n, pos, window, noise, negative, private_words):
    """Prefetch the rows that the centre word ``_AHEAD`` positions on will need first: its output row
    and its negatives (``noise[k * negative:(k + 1) * negative]`` for centre word k) and the context row
    that enters the window with it. The loops that copy or read these rows were the kernels' most
    missed loads (benchmarks/results/profile-sg-batched.md). Rows below ``private_words`` are skipped:
    the kernel reads its private copies of those (:func:`sg_batched`), and fetching the shared ones
    would only take fill buffers and pull lines the other threads are writing."""
    ahead = pos + _AHEAD
    if ahead < n:
        if negative > 0:
            if sen[ahead] >= private_words:
                _prefetch_row(syn1neg, sen[ahead])
            for j in range(ahead * negative, (ahead + 1) * negative):
                if noise[j] >= private_words:
                    _prefetch_row(syn1neg, noise[j])
        if ahead + window < n and sen[ahead + window] >= private_words:
            _prefetch_row(syn0, sen[ahead + window])


@njit(cache=True, inline="always")
def _alpha_at(alpha_begin, alpha_end, done, total):
    return np.float32(alpha_begin + (alpha_end - alpha_begin) * (done / max(total, 1)))


# -- exact (word2vec.c) updates -------------------------------------------------------
@njit(cache=True, fastmath=_FAST, inline="always")
def _dot_four(h, m, r0, r1, r2, r3, dim):
    """(h·m[r0], h·m[r1], h·m[r2], h·m[r3]): four independent sums over one pass of h."""
    x0 = _ZERO
    x1 = _ZERO
    x2 = _ZERO
    x3 = _ZERO
    for d in range(dim):
        v = h[d]
        x0 += v * m[r0, d]
        x1 += v * m[r1, d]
        x2 += v * m[r2, d]
        x3 += v * m[r3, d]
    return x0, x1, x2, x3


@njit(cache=True, fastmath=_FAST, inline="always")
def _add_four(dst, m, r0, r1, r2, r3, g0, g1, g2, g3, dim):
    """dst += g0·m[r0] + g1·m[r1] + g2·m[r2] + g3·m[r3] (dst float32[D])."""
    for d in range(dim):
        dst[d] += g0 * m[r0, d] + g1 * m[r1, d] + g2 * m[r2, d] + g3 * m[r3, d]


@njit(cache=True, fastmath=_FAST, inline="always")
def _dot_four_two(h0, h1, m, r0, r1, r2, r3, dim):
    """:func:`_dot_four` for two inputs ``h0``, ``h1`` in one pass over the four rows (eight sums)."""
    x0 = x1 = x2 = x3 = y0 = y1 = y2 = y3 = _ZERO
    for d in range(dim):
        a = h0[d]
        b = h1[d]
        v0 = m[r0, d]
        v1 = m[r1, d]
        v2 = m[r2, d]
        v3 = m[r3, d]
        x0 += a * v0
        x1 += a * v1
        x2 += a * v2
        x3 += a * v3
        y0 += b * v0
        y1 += b * v1
        y2 += b * v2
        y3 += b * v3
    return x0, x1, x2, x3, y0, y1, y2, y3


@njit(cache=True, fastmath=_FAST, inline="always")
def _add_four_two(dst0, dst1, m, r0, r1, r2, r3, g0, g1, g2, g3, f0, f1, f2, f3, dim):
    """:func:`_add_four` into two rows in one pass over the four rows of ``m``: dst0 += Σ g_i·m[r_i],
    dst1 += Σ f_i·m[r_i] (each the same sum as :func:`_add_four`'s)."""
    for d in range(dim):
        v0 = m[r0, d]
        v1 = m[r1, d]
        v2 = m[r2, d]
        v3 = m[r3, d]
        dst0[d] += g0 * v0 + g1 * v1 + g2 * v2 + g3 * v3
        dst1[d] += f0 * v0 + f1 * v1 + f2 * v2 + f3 * v3


@njit(cache=True, fastmath=_FAST)
def _one_input_pass(h, neu1e, out_matrix, rows, labels, n, skip_outside, alpha, tables, xs, dim):
    """word2vec.c's updates of one input ``h`` against ``n`` distinct output rows, reordered.

    rows int64[n] and labels float32[n] name the outputs; xs float32[n] is
    scratch. First every x_o = h·out[o] (independent sums the CPU overlaps),
    then g_o = alpha · (label_o − σ(x_o)), then neu1e += Σ g_o · out[o] from
    the old rows (word2vec.c adds to neu1e before it updates the row) and
    out[o] += g_o · h. As h is fixed and the rows are distinct, this is
    word2vec.c's arithmetic, only summed in another order. ``dim`` is the
    row length (see :func:`kernel_for`). Returns (loss, n).
    """
    o = 0
    while o + 4 <= n:
        x0, x1, x2, x3 = _dot_four(h, out_matrix, rows[o], rows[o + 1], rows[o + 2], rows[o + 3], dim)
        xs[o] = x0
        xs[o + 1] = x1
        xs[o + 2] = x2
        xs[o + 3] = x3
        o += 4
    while o < n:
        xs[o] = _dot(h, out_matrix[rows[o]], dim)
        o += 1
    loss = 0.0
    for o in range(n):
        g, l = _score(xs[o], labels[o], tables, skip_outside)
        loss += l
        xs[o] = g * alpha
    o = 0
    while o + 4 <= n:
        _add_four(neu1e, out_matrix, rows[o], rows[o + 1], rows[o + 2], rows[o + 3],
                  xs[o], xs[o + 1], xs[o + 2], xs[o + 3], dim)
        o += 4
    while o < n:
        _axpy(xs[o], out_matrix[rows[o]], neu1e, dim)
        o += 1
    for o in range(n):
        if xs[o] != _ZERO:  # hierarchical softmax skips |x| >= 6
            _axpy(xs[o], h, out_matrix[rows[o]], dim)
    return loss, n


@njit(cache=True, fastmath=_FAST)
def _exact_outputs(h, neu1e, word, alpha, syn1neg, negative, alias_prob, alias_index,
                   syn1, codes, points, code_lengths, tables, state, rows, labels, xs, noise, at, dim):
    """Train input ``h`` (float32[D]) against ``word``'s outputs, as word2vec.c.

    Output rows are updated at once; the input gradient is accumulated in
    ``neu1e`` for the caller to apply. rows int64, labels and xs float32
    (each at least max(negative + 1, code length) long) are scratch. Returns
    (state, loss, predictions). The negatives are ``noise[at:at + negative]``
    (drawn ahead by the caller) or, with ``at`` < 0, drawn here first, in
    word2vec.c's order; when one repeats, the pairs run one by one as in
    word2vec.c (the repeat sees the first update), otherwise as one reordered pass.
    ``dim`` is the row length (see :func:`kernel_for`).
    """
    loss = 0.0
    count = 0
    n = np.int64(code_lengths[word])  # int64, as the count of outputs below: _one_input_pass compiles once
    if n > 0:  # hierarchical softmax: the Huffman path, label = 1 - code
        for j in range(n):
            rows[j] = points[word, j]
            labels[j] = _ONE - np.float32(codes[word, j])
        l, k = _one_input_pass(h, neu1e, syn1, rows, labels, n, _HS, alpha, tables, xs, dim)
        loss += l
        count += k
    if negative > 0:  # the word itself, then the negatives (a draw equal to the word is skipped)
        rows[0] = word
        labels[0] = _ONE
        n = np.int64(1)  # not a literal: _one_input_pass is then compiled for the int64 it gets, once
        repeated = False
        for j in range(negative):
            if at >= 0:
                target = noise[at + j]
            else:
                state, target = _draw_noise(state, alias_prob, alias_index)
            if target == word:
                continue
            for o in range(1, n):
                if rows[o] == target:
                    repeated = True
            rows[n] = target
            labels[n] = _ZERO
            n += 1
        if repeated:
            for o in range(n):
                row = syn1neg[rows[o]]
                g, l = _score(_dot(h, row, dim), labels[o], tables, False)
                loss += l
                g *= alpha
                _axpy(g, row, neu1e, dim)
                _axpy(g, h, row, dim)
            count += n
        else:
            l, k = _one_input_pass(h, neu1e, syn1neg, rows, labels, n, _NS, alpha, tables, xs, dim)
            loss += l
            count += k
    return state, loss, count


@njit(cache=True, inline="always")
def _output_scratch(negative, codes):
    """rows int64, labels and xs float32, each max(negative + 1, longest Huffman code) long."""
    n = max(negative + 1, codes.shape[1])
    return np.empty(n, dtype=np.int64), np.empty(n, dtype=np.float32), np.empty(n, dtype=np.float32)


@njit(cache=True, nogil=True, fastmath=_FAST)
def sg_exact(syn0, syn1neg, syn1, ids, offsets, s_begin, s_end, keep, alias_prob, alias_index,
             codes, points, code_lengths, tables, window, negative, alpha_begin, alpha_end, seed):
    """Skip-gram, word2vec.c pair by pair (see the module docstring), for rows of any length."""
    return _sg_exact(syn0, syn1neg, syn1, ids, offsets, s_begin, s_end, keep, alias_prob, alias_index,
                     codes, points, code_lengths, tables, window, negative, alpha_begin, alpha_end, seed,
                     syn0.shape[1])


@njit(cache=True, fastmath=_FAST)
def _sg_exact(syn0, syn1neg, syn1, ids, offsets, s_begin, s_end, keep, alias_prob, alias_index,
              codes, points, code_lengths, tables, window, negative, alpha_begin, alpha_end, seed, dim):
    """:func:`sg_exact` for rows of ``dim`` floats (see :func:`kernel_for`)."""
    state = seed
    total = offsets[s_end] - offsets[s_begin]
    sen = _sentence_buffer(offsets, s_begin, s_end)
    neu1e = np.empty(dim, dtype=np.float32)
    rows, labels, xs = _output_scratch(negative, codes)
    no_noise = np.empty(0, dtype=np.int64)
    loss = 0.0
    count = 0
    trained = 0
    for s in range(s_begin, s_end):
        alpha = _alpha_at(alpha_begin, alpha_end, offsets[s] - offsets[s_begin], total)
        state, n = _subsample(ids, offsets[s], offsets[s + 1], keep, sen, state)
        trained += n
        for pos in range(n):
            word = sen[pos]
            state, lo, hi = _window(state, pos, n, window)
            for c in range(lo, hi):
                if c == pos:
                    continue
                h = syn0[sen[c]]
                neu1e[:] = _ZERO
                state, l, k = _exact_outputs(h, neu1e, word, alpha, syn1neg, negative, alias_prob,
                                             alias_index, syn1, codes, points, code_lengths, tables, state,
                                             rows, labels, xs, no_noise, -1, dim)
                loss += l
                count += k
                _axpy(_ONE, neu1e, h, dim)
    return loss, count, trained


@njit(cache=True, nogil=True, fastmath=_FAST)
def cbow_exact(syn0, syn1neg, syn1, ids, offsets, s_begin, s_end, keep, alias_prob, alias_index,
               codes, points, code_lengths, tables, window, negative, alpha_begin, alpha_end, seed,
               cbow_mean):
    """CBOW, word2vec.c: the (mean or sum of the) context predicts the centre word.

    As in word2vec.c the input gradient is added in full to every context
    word, also when the context was averaged. For rows of any length.
    """
    return _cbow_exact(syn0, syn1neg, syn1, ids, offsets, s_begin, s_end, keep, alias_prob, alias_index,
                       codes, points, code_lengths, tables, window, negative, alpha_begin, alpha_end, seed,
                       cbow_mean, syn0.shape[1])


@njit(cache=True, fastmath=_FAST)
def _cbow_exact(syn0, syn1neg, syn1, ids, offsets, s_begin, s_end, keep, alias_prob, alias_index,
                codes, points, code_lengths, tables, window, negative, alpha_begin, alpha_end, seed,
                cbow_mean, dim):
    """:func:`cbow_exact` for rows of ``dim`` floats (see :func:`kernel_for`)."""
    state = seed
    total = offsets[s_end] - offsets[s_begin]
    sen = _sentence_buffer(offsets, s_begin, s_end)
    neu1 = np.empty(dim, dtype=np.float32)
    neu1e = np.empty(dim, dtype=np.float32)
    rows, labels, xs = _output_scratch(negative, codes)
    noise = np.empty(sen.shape[0] * negative, dtype=np.int64)
    loss = 0.0
    count = 0
    trained = 0
    for s in range(s_begin, s_end):
        alpha = _alpha_at(alpha_begin, alpha_end, offsets[s] - offsets[s_begin], total)
        state, n = _subsample(ids, offsets[s], offsets[s + 1], keep, sen, state)
        trained += n
        for j in range(n * negative):  # the sentence's negatives, drawn first so they can be fetched ahead
            state, noise[j] = _draw_noise(state, alias_prob, alias_index)
        for pos in range(n):
            word = sen[pos]
            _prefetch_ahead(syn0, syn1neg, sen, n, pos, window, noise, negative, 0)
            state, lo, hi = _window(state, pos, n, window)
            neu1[:] = _ZERO
            cw = 0
            for c in range(lo, hi):
                if c != pos:
                    _axpy(_ONE, syn0[sen[c]], neu1, dim)
                    cw += 1
            if cw == 0:
                continue
            if cbow_mean:
                inv = _ONE / np.float32(cw)
                for d in range(dim):
                    neu1[d] *= inv
            neu1e[:] = _ZERO
            state, l, k = _exact_outputs(neu1, neu1e, word, alpha, syn1neg, negative, alias_prob,
                                         alias_index, syn1, codes, points, code_lengths, tables, state,
                                         rows, labels, xs, noise, pos * negative, dim)
            loss += l
            count += k
            for c in range(lo, hi):
                if c != pos:
                    _axpy(_ONE, neu1e, syn0[sen[c]], dim)
    return loss, count, trained


# -- batched skip-gram ------------------------------------------------------------------
@njit(cache=True, fastmath=_FAST)
def _batch_pass(inputs, b_begin, b_end, out_matrix, private, first_private, out_ids, labels, weights, n_out,
                skip_outside, alpha, tables, out_rows, in_delta, grads, dim):
    """One shared-output update for the inputs ``b_begin .. b_end - 1`` of a window.

    inputs float32[B, D] (copies of the context rows), out_matrix
    the output weights, out_ids int64[O] its distinct rows used here, with
    labels and multiplicities float32[O]. out_rows float32[O, D] and grads
    float32[B, O] are scratch. Adds the input gradients to in_delta
    float32[B, D]; applies the output gradients to out_matrix. Returns
    (loss, predictions).

    Three phases, all from the rows as they were before this call:
    X = In · Outᵀ (B × O dot products); G = alpha · weight · (label − σ(X));
    then in_delta += G · Out and Out += Gᵀ · In. Each phase works in tiles of
    two rows by four (:func:`_dot_four_two`, :func:`_add_four_two`): one pass
    over the dimension reads four rows of one side and two of the other and
    makes eight fused multiply-adds, so a row of in_delta or out_matrix is
    loaded and stored once per four outputs (or inputs), and each of the four
    rows is read once for two rows of the other side; what is left over goes
    four by one, then one pair at a time. A one-pair-at-a-time loop is bound
    by loads and stores, not by arithmetic; tiles of four by four ran slower
    (benchmarks/results/kernel-tiles-two-by-four.md). Each sum is the one a
    pair at a time would make, in another order.

    Rows ``first_private .. first_private + P - 1`` are read from and written
    to ``private[row - first_private]`` (float32[P, D], this thread's copy of
    those rows, see :func:`_sync_private`) instead of ``out_matrix``: the top
    Huffman nodes (the last rows of syn1) or the most frequent words (the
    first rows of syn1neg). ``dim`` is the row length (see :func:`kernel_for`).
    """
    n_private = private.shape[0]
    for o in range(n_out):
        row = out_ids[o]
        src = private[row - first_private] if 0 <= row - first_private < n_private else out_matrix[row]
        for d in range(dim):
            out_rows[o, d] = src[d]
    # X = In · Outᵀ, four outputs per pass over two input rows, then over the last one
    b = b_begin
    while b + 2 <= b_end:
        o = 0
        while o + 4 <= n_out:
            x0, x1, x2, x3, y0, y1, y2, y3 = _dot_four_two(inputs[b], inputs[b + 1], out_rows, o, o + 1, o + 2,
                                                           o + 3, dim)
            grads[b, o] = x0
            grads[b, o + 1] = x1
            grads[b, o + 2] = x2
            grads[b, o + 3] = x3
            grads[b + 1, o] = y0
            grads[b + 1, o + 1] = y1
            grads[b + 1, o + 2] = y2
            grads[b + 1, o + 3] = y3
            o += 4
        while o < n_out:
            grads[b, o] = _dot(inputs[b], out_rows[o], dim)
            grads[b + 1, o] = _dot(inputs[b + 1], out_rows[o], dim)
            o += 1
        b += 2
    for b in range(b, b_end):
        o = 0
        while o + 4 <= n_out:
            x0, x1, x2, x3 = _dot_four(inputs[b], out_rows, o, o + 1, o + 2, o + 3, dim)
            grads[b, o] = x0
            grads[b, o + 1] = x1
            grads[b, o + 2] = x2
            grads[b, o + 3] = x3
            o += 4
        while o < n_out:
            grads[b, o] = _dot(inputs[b], out_rows[o], dim)
            o += 1
    loss = 0.0
    count = 0
    for b in range(b_begin, b_end):
        for o in range(n_out):
            g, l = _score(grads[b, o], labels[o], tables, skip_outside)
            loss += l * weights[o]
            count += np.int64(weights[o])
            grads[b, o] = g * alpha * weights[o]
    # in_delta += G · Out, four outputs per pass over two delta rows, then over the last one
    b = b_begin
    while b + 2 <= b_end:
        o = 0
        while o + 4 <= n_out:
            _add_four_two(in_delta[b], in_delta[b + 1], out_rows, o, o + 1, o + 2, o + 3, grads[b, o],
                          grads[b, o + 1], grads[b, o + 2], grads[b, o + 3], grads[b + 1, o], grads[b + 1, o + 1],
                          grads[b + 1, o + 2], grads[b + 1, o + 3], dim)
            o += 4
        while o < n_out:
            _axpy(grads[b, o], out_rows[o], in_delta[b], dim)
            _axpy(grads[b + 1, o], out_rows[o], in_delta[b + 1], dim)
            o += 1
        b += 2
    for b in range(b, b_end):
        o = 0
        while o + 4 <= n_out:
            _add_four(in_delta[b], out_rows, o, o + 1, o + 2, o + 3, grads[b, o], grads[b, o + 1],
                      grads[b, o + 2], grads[b, o + 3], dim)
            o += 4
        while o < n_out:
            _axpy(grads[b, o], out_rows[o], in_delta[b], dim)
            o += 1
    # Out += Gᵀ · In, straight into the weights (the rows are distinct), four inputs per pass over two
    # output rows, then over the last one
    o = 0
    while o + 2 <= n_out:
        row = out_ids[o]
        dst0 = private[row - first_private] if 0 <= row - first_private < n_private else out_matrix[row]
        row = out_ids[o + 1]
        dst1 = private[row - first_private] if 0 <= row - first_private < n_private else out_matrix[row]
        b = b_begin
        while b + 4 <= b_end:
            _add_four_two(dst0, dst1, inputs, b, b + 1, b + 2, b + 3, grads[b, o], grads[b + 1, o],
                          grads[b + 2, o], grads[b + 3, o], grads[b, o + 1], grads[b + 1, o + 1],
                          grads[b + 2, o + 1], grads[b + 3, o + 1], dim)
            b += 4
        while b < b_end:
            _axpy(grads[b, o], inputs[b], dst0, dim)
            _axpy(grads[b, o + 1], inputs[b], dst1, dim)
            b += 1
        o += 2
    for o in range(o, n_out):
        row = out_ids[o]
        dst = private[row - first_private] if 0 <= row - first_private < n_private else out_matrix[row]
        b = b_begin
        while b + 4 <= b_end:
            _add_four(dst, inputs, b, b + 1, b + 2, b + 3, grads[b, o], grads[b + 1, o],
                      grads[b + 2, o], grads[b + 3, o], dim)
            b += 4
        while b < b_end:
            _axpy(grads[b, o], inputs[b], dst, dim)
            b += 1
    return loss, count


@njit(cache=True, fastmath=_FAST)
def _sync_private(shared, first, private, base, dim):
    """Merge this thread's copy of rows ``first ..`` of ``shared`` and take a fresh one.

    shared float32[R, D]; private and base float32[P, D], first + P <= R; ``dim`` is D (see
    :func:`kernel_for`). shared[first + i] += private[i] − base[i] (this thread's updates since the
    last merge, added to whatever the other threads wrote meanwhile), then
    private[i] = base[i] = shared[first + i].
    """
    for i in range(private.shape[0]):
        row = shared[first + i]
        for d in range(dim):
            v = row[d] + (private[i, d] - base[i, d])
            row[d] = v
            private[i, d] = v
            base[i, d] = v


@njit(cache=True, nogil=True, fastmath=_FAST)
def sg_batched(syn0, syn1neg, syn1, ids, offsets, s_begin, s_end, keep, alias_prob, alias_index,
               codes, points, code_lengths, tables, window, negative, alpha_begin, alpha_end, seed,
               hs_group, hs_private, hs_sync, private_words, private_sync):
    """Skip-gram with outputs shared across each centre word's window (module docstring).

    ``hs_group``: with hierarchical softmax, the Huffman path is shared by at
    most this many context words at a time (0: the whole window); the path's
    rows are read again, updated, for the next group.

    ``hs_private``, ``hs_sync``: the top ``hs_private`` nodes of the Huffman
    tree (the last rows of syn1: Huffman merges the lightest nodes first, so
    the root is row V-2 and the rows below it are the next most visited) are
    trained in a copy private to this call, merged into syn1 every
    ``hs_sync`` centre words and at the end (:func:`_sync_private`). Every
    centre word's path starts at the root, so with several threads these rows
    are written by all of them all the time, and each write waits for the
    cache line to come back from the other core. 0 turns it off (as training
    does with one thread, where nothing else writes the rows).

    ``private_words``, ``private_sync``: with negative sampling, likewise for
    the rows of the ``private_words`` most frequent words (the first rows: the
    vocabulary is sorted by count) in syn0 and syn1neg: trained in copies
    private to this call, merged every ``private_sync`` centre words and at
    the end. These words are in nearly every window, as context words and as
    negatives, so several threads would otherwise write the same rows all the
    time. Deviation from word2vec.c (and plain Hogwild) as for the Huffman
    nodes: a thread sees the other threads' updates of those rows up to
    ``private_sync`` centre words late. 0 turns it off. Not with hierarchical
    softmax alone, which is bound by arithmetic and gained nothing from it.

    For rows of any length.
    """
    return _sg_batched(syn0, syn1neg, syn1, ids, offsets, s_begin, s_end, keep, alias_prob, alias_index,
                       codes, points, code_lengths, tables, window, negative, alpha_begin, alpha_end, seed,
                       hs_group, hs_private, hs_sync, private_words, private_sync, syn0.shape[1])


@njit(cache=True, fastmath=_FAST)
def _sg_batched(syn0, syn1neg, syn1, ids, offsets, s_begin, s_end, keep, alias_prob, alias_index,
                codes, points, code_lengths, tables, window, negative, alpha_begin, alpha_end, seed,
                hs_group, hs_private, hs_sync, private_words, private_sync, dim):
    """:func:`sg_batched` for rows of ``dim`` floats (see :func:`kernel_for`)."""
    state = seed
    total = offsets[s_end] - offsets[s_begin]
    sen = _sentence_buffer(offsets, s_begin, s_end)
    max_in = 2 * window
    max_out = max(negative + 1, codes.shape[1])
    ctx = np.empty(max_in, dtype=np.int64)
    inputs = np.empty((max_in, dim), dtype=np.float32)
    in_delta = np.empty((max_in, dim), dtype=np.float32)
    out_rows = np.empty((max_out, dim), dtype=np.float32)
    grads = np.empty((max_in, max_out), dtype=np.float32)
    out_ids = np.empty(max_out, dtype=np.int64)
    labels = np.empty(max_out, dtype=np.float32)
    weights = np.empty(max_out, dtype=np.float32)
    n_private = max(0, min(hs_private, syn1.shape[0]))
    first_private = syn1.shape[0] - n_private
    private = np.zeros((n_private, dim), dtype=np.float32)
    base = np.zeros((n_private, dim), dtype=np.float32)
    zero = np.int64(0)  # not the literal 0, which would compile _sync_private and _batch_pass again (see _HS)
    _sync_private(syn1, first_private, private, base, dim)  # nothing to merge yet: takes the first copy
    n_words = max(0, min(private_words, syn0.shape[0])) if negative > 0 else 0
    in_private = np.zeros((n_words, dim), dtype=np.float32)  # syn0's first n_words rows, and their base
    in_base = np.zeros((n_words, dim), dtype=np.float32)
    _sync_private(syn0, zero, in_private, in_base, dim)
    out_private = np.zeros((n_words, dim), dtype=np.float32)  # syn1neg's, and their base
    out_base = np.zeros((n_words, dim), dtype=np.float32)
    _sync_private(syn1neg, zero, out_private, out_base, dim)
    noise = np.empty(sen.shape[0] * negative, dtype=np.int64)
    since_sync = 0
    since_words_sync = 0
    loss = 0.0
    count = 0
    trained = 0
    for s in range(s_begin, s_end):
        alpha = _alpha_at(alpha_begin, alpha_end, offsets[s] - offsets[s_begin], total)
        state, n = _subsample(ids, offsets[s], offsets[s + 1], keep, sen, state)
        trained += n
        for j in range(n * negative):  # the sentence's negatives, drawn first so they can be fetched ahead
            state, noise[j] = _draw_noise(state, alias_prob, alias_index)
        for pos in range(n):
            word = sen[pos]
            _prefetch_ahead(syn0, syn1neg, sen, n, pos, window, noise, negative, n_words)
            state, lo, hi = _window(state, pos, n, window)
            n_in = np.int64(0)  # not a literal: _batch_pass is then compiled for the int64 it gets, once
            for c in range(lo, hi):
                if c != pos:
                    w = sen[c]
                    ctx[n_in] = w
                    src = in_private[w] if w < n_words else syn0[w]
                    for d in range(dim):
                        inputs[n_in, d] = src[d]
                        in_delta[n_in, d] = _ZERO
                    n_in += 1
            if n_in == 0:
                continue
            n_hs = np.int64(code_lengths[word])  # int64, as n_out below: _batch_pass compiles once
            if n_hs > 0:  # hierarchical softmax: the centre's Huffman path, label = 1 - code
                for j in range(n_hs):
                    out_ids[j] = points[word, j]
                    labels[j] = _ONE - np.float32(codes[word, j])
                    weights[j] = _ONE
                group = n_in if hs_group <= 0 else hs_group
                for b_begin in range(0, n_in, group):
                    l, k = _batch_pass(inputs, b_begin, min(n_in, b_begin + group), syn1, private, first_private,
                                       out_ids, labels, weights, n_hs, _HS, alpha, tables, out_rows, in_delta,
                                       grads, dim)
                    loss += l
                    count += k
                since_sync += 1
                if n_private > 0 and since_sync >= hs_sync:
                    _sync_private(syn1, first_private, private, base, dim)
                    since_sync = 0
            if negative > 0:  # the centre word, then k shared negatives
                out_ids[0] = word
                labels[0] = _ONE
                weights[0] = _ONE
                n_out = np.int64(1)  # (as n_in)
                for j in range(pos * negative, (pos + 1) * negative):
                    target = noise[j]
                    if target == word:
                        continue
                    for o in range(1, n_out):
                        if out_ids[o] == target:
                            weights[o] += _ONE
                            break
                    else:
                        out_ids[n_out] = target
                        labels[n_out] = _ZERO
                        weights[n_out] = _ONE
                        n_out += 1
                l, k = _batch_pass(inputs, zero, n_in, syn1neg, out_private, zero, out_ids, labels,
                                   weights, n_out, _NS, alpha, tables, out_rows, in_delta, grads, dim)
                loss += l
                count += k
            for i in range(n_in):
                w = ctx[i]
                dst = in_private[w] if w < n_words else syn0[w]
                for d in range(dim):
                    dst[d] += in_delta[i, d]
            since_words_sync += 1
            if n_words > 0 and since_words_sync >= private_sync:
                _sync_private(syn0, zero, in_private, in_base, dim)
                _sync_private(syn1neg, zero, out_private, out_base, dim)
                since_words_sync = 0
    if n_private > 0:
        _sync_private(syn1, first_private, private, base, dim)
    if n_words > 0:
        _sync_private(syn0, zero, in_private, in_base, dim)
        _sync_private(syn1neg, zero, out_private, out_base, dim)
    return loss, count, trained


# -- the training kernels for rows of a fixed length ---------------------------------------------
#: Row lengths for which :func:`kernel_for` compiles the training kernels with the length a constant: 104, the
#: padded row of dim 100 (word2vec.c's and gensim's default). A longer row gained nothing from it (304, dim 300,
#: measured; our reading: loops that long spend little on their control and tail beside the loads).
FIXED_WIDTHS = (104,)


def kernel_for(name: str, width: int):
    """The training kernel ``name`` (``sg_batched``, ``sg_exact`` or ``cbow_exact``) for rows of ``width`` floats.

    It takes the kernel's own arguments, and syn0's rows must be ``width`` long. For a width in :data:`FIXED_WIDTHS`
    it is a kernel compiled with the width a constant: LLVM then knows the trip count of every loop over a row (104
    floats: 13 vector operations of 8) and may unroll it or leave out its tail loop, where the kernel itself, which
    reads the length from syn0, loops 32 floats a turn and ends in a tail. The skip-gram kernel is compiled with
    LLVM options of its own (:data:`FIXED_WIDTH_LLVM_OPTIONS`; from LLVM 15 on, :data:`LLVM_TAKES_OPTIONS_AGAIN`).
    The same arithmetic, but LLVM may sum a row's products in another order (the kernels allow reassociation), so
    the vectors differ from the kernel itself's in rounding (quality the same within the seeds' spread). Measured on
    wiki8 (benchmarks/README.md, "Rows of a fixed length"): on an Intel Xeon skip-gram with negative sampling 4-5%
    more words a second, with hierarchical softmax 13%, CBOW 9-20%; on an AMD Zen 4 CBOW 4%, and skip-gram 7-8% more
    with its options than without them. Each is compiled on its first use (and cached as the others are), so a run
    compiles only the kernel it trains with. Any other width gets the kernel itself.
    """
    kernels = {"sg_batched": sg_batched, "sg_exact": sg_exact, "cbow_exact": cbow_exact}
    if name not in kernels:
        raise ValueError(f"no training kernel {name!r}")
    if width not in FIXED_WIDTHS:
        return kernels[name]
    return _fixed_width_kernel(name, width)


@functools.cache
def _fixed_width_kernel(name, width):
    """A kernel that calls the body of kernel ``name`` with ``width``, a constant (a closure's cell: Numba
    compiles it in, and keys its cache by it). The arguments are spelt out: through ``*args`` the width would
    reach the body as a variable."""
    if name == "sg_batched":
        def kernel(syn0, syn1neg, syn1, ids, offsets, s_begin, s_end, keep, alias_prob, alias_index, codes, points,
                   code_lengths, tables, window, negative, alpha_begin, alpha_end, seed, hs_group, hs_private,
                   hs_sync, private_words, private_sync):
            if syn0.shape[1] != width:
                raise ValueError("syn0's rows are not as long as the kernel's")
            return _sg_batched(syn0, syn1neg, syn1, ids, offsets, s_begin, s_end, keep, alias_prob, alias_index,
                               codes, points, code_lengths, tables, window, negative, alpha_begin, alpha_end, seed,
                               hs_group, hs_private, hs_sync, private_words, private_sync, width)
    elif name == "sg_exact":
        def kernel(syn0, syn1neg, syn1, ids, offsets, s_begin, s_end, keep, alias_prob, alias_index, codes, points,
                   code_lengths, tables, window, negative, alpha_begin, alpha_end, seed):
            if syn0.shape[1] != width:
                raise ValueError("syn0's rows are not as long as the kernel's")
            return _sg_exact(syn0, syn1neg, syn1, ids, offsets, s_begin, s_end, keep, alias_prob, alias_index,
                             codes, points, code_lengths, tables, window, negative, alpha_begin, alpha_end, seed,
                             width)
    else:
        def kernel(syn0, syn1neg, syn1, ids, offsets, s_begin, s_end, keep, alias_prob, alias_index, codes, points,
                   code_lengths, tables, window, negative, alpha_begin, alpha_end, seed, cbow_mean):
            if syn0.shape[1] != width:
                raise ValueError("syn0's rows are not as long as the kernel's")
            return _cbow_exact(syn0, syn1neg, syn1, ids, offsets, s_begin, s_end, keep, alias_prob, alias_index,
                               codes, points, code_lengths, tables, window, negative, alpha_begin, alpha_end, seed,
                               cbow_mean, width)
    dispatcher = njit(cache=True, nogil=True, fastmath=_FAST)(kernel)
    options = FIXED_WIDTH_LLVM_OPTIONS.get(name) if LLVM_TAKES_OPTIONS_AGAIN else None
    if options:
        compile_now = dispatcher.compile

        def compile_with_options(signature):
            with global_compiler_lock:  # no other compile sees the options
                for option, _ in options:
                    set_llvm_option(option)
                try:
                    return compile_now(signature)
                finally:
                    for _, default in options:
                        set_llvm_option(default)
        dispatcher.compile = compile_with_options  # Numba's dispatch compiles, or loads its cache, through it
    return dispatcher


#: LLVM options under which :func:`kernel_for`'s fixed-width kernel of a name is compiled, each with the value
#: that gives LLVM's own choice back. LLVM's loop vectoriser may run two vectors of a row loop side by side
#: ("interleave"); on a Zen 4 CPU it did in the 104-float kernel's hottest loop (16 floats a turn, then an 8-float
#: tail). Told not to interleave, it emits fewer vector operations (482 FMAs in ``_batch_pass`` against 554; some
#: row loops stay loops, and which change makes the gain was not traced). Skip-gram's kernel only: there it
#: measured +8-9% words a second with negative sampling and +7% with hierarchical softmax on Zen 4, where CBOW's
#: kernel measured -5% and rows of any length -9% (benchmarks/README.md, "Rows of a fixed length"); not measured
#: on an Intel CPU. The options are LLVM's, for the whole process: they are set for that kernel's compile only,
#: under Numba's compiler lock (no other compile sees them), and reset after; its callees that take the width are
#: compiled for it alone (their types hold the constant). A kernel loaded from Numba's cache is not compiled, and
#: the options do not apply.
FIXED_WIDTH_LLVM_OPTIONS = {"sg_batched": (("-force-vector-interleave=1", "-force-vector-interleave=0"),)}
#: Whether this process's LLVM takes a command-line option more than once. LLVM before 15 (llvmlite before 0.44,
#: so numba before 0.61, and Python 3.9's last numba is 0.60) takes each option once: setting it again prints
#: "w2v: for the --force-vector-interleave option: may only occur zero or one times!" and keeps the first
#: value, so the options could not be reset after the compile (and every later compile in the process would see
#: them). There the fixed skip-gram kernel compiles with LLVM's own choice, as the other kernels do.
LLVM_TAKES_OPTIONS_AGAIN = llvm_binding.llvm_version_info >= (15,)


def set_llvm_option(option: str) -> None:
    """Set one of LLVM's command-line options for this process (llvmlite's ``set_option``)."""
    llvm_binding.set_option("w2v", option)


# -- text: tokens, counting and encoding (w2v.scan runs these over pieces of the corpus) ----------
# A token table maps the bytes of a token to an entry: entries are numbered in first-seen order and their
# bytes live in one arena, so growing the table or merging two never copies a token twice. State, a tuple:
# slots uint64[C] (each the high 32 bits of a token's hash over its entry + 1 in the low 32; 0: empty; C a
# power of two, at most two thirds full, the low bits of the hash giving the home slot), entries int64[M, 2]
# (the place of the bytes in the arena, start and length packed in one int64 by _place, and the count), arena
# uint8[A]; and the scalars n (entries, at most MAX_ENTRIES) and used (arena bytes). A look-up that finds its
# token touches one slot, one entry row and the token's bytes: three cache lines. Slots of 8 bytes, not 16,
# halve the largest array of a count with millions of distinct tokens; entries of 16 bytes, not 24, never
# straddle two cache lines and save 8 bytes more a token; and no hashes are kept beside the entries (8 bytes
# more): the counting loop hands the hashes of a piece's new entries to its caller for the piece's merge, and
# a table that grows hashes its tokens again from its own arena, read in order (benchmarks/README.md, "Slots
# of eight bytes", "Entries of sixteen bytes", "No hashes kept", "Slots two thirds full"). Tokens are runs of
# bytes other than the six ASCII white-space bytes (w2v.words.SEPARATORS); the hash is 64-bit FNV-1a.
_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)
_PLACE, _COUNT = 0, 1
#: Where a token table's arrays are in its tuple, for the readers of a table outside the kernels.
TABLE_SLOTS, TABLE_ENTRIES, TABLE_ARENA = 0, 1, 2
#: An entry's place packs the start of its token's bytes in the arena over their length, in 28 bits: a
#: token is at most 2**28 - 1 bytes (w2v.corpus cuts tokens at its block size) and an arena 2**35 bytes.
ENTRY_LENGTH_BITS = 28
_LENGTH_MASK = (1 << ENTRY_LENGTH_BITS) - 1
MAX_TOKEN_BYTES = _LENGTH_MASK
MAX_ARENA_BYTES = 1 << 35
_HIGH = np.uint64(0xFFFFFFFF00000000)
_LOW = np.uint64(0xFFFFFFFF)
#: The most entries a token table holds: a merge's map and the spool hold entries as int32 (and an entry + 1
#: must fit the low 32 bits of its slot).
MAX_ENTRIES = (1 << 31) - 1
#: A token table's slots are at most two thirds full, not half: word2vec.c's 21 million tokens then fit 2**25
#: slots (256 MiB, not 512), and a piece's table more often fits the caches; the longer probes cost the merges
#: into a table of millions about 5% (benchmarks/README.md, "Slots two thirds full").
_MAX_LOAD_NUM, _MAX_LOAD_DEN = 2, 3


@njit(cache=True, inline="always")
def _too_full(n, slots_size):
    """Whether ``n`` entries fill ``slots_size`` slots past two thirds (the rule above)."""
    return _MAX_LOAD_DEN * n > _MAX_LOAD_NUM * slots_size


@njit(cache=True, inline="always")
def _is_space(b):
    return b <= 32 and (b == 32 or b == 10 or b == 9 or b == 13 or b == 11 or b == 12)  # most bytes: one test


@njit(cache=True, inline="always")
def _fnv(data, start, end):
    h = _FNV_OFFSET
    for i in range(start, end):
        h = (h ^ np.uint64(data[i])) * _FNV_PRIME
    return h


@njit(cache=True, inline="always")
def _same(data, start, end, arena, at):
    for i in range(end - start):
        if data[start + i] != arena[at + i]:
            return False
    return True


def entry_places(places):
    """``(starts, lengths)`` of entries' places (an entry's first column: one int64, or an int64 array),
    in Python, for the readers of a table outside the kernels."""
    return places >> ENTRY_LENGTH_BITS, places & _LENGTH_MASK


@njit(cache=True, inline="always")
def _place(start, length):
    """An entry's first column: ``start`` (the token's first byte in the arena) over its ``length``."""
    return (np.int64(start) << ENTRY_LENGTH_BITS) | np.int64(length)


@njit(cache=True, inline="always")
def _start_of(entries, e):
    return entries[e, _PLACE] >> ENTRY_LENGTH_BITS


@njit(cache=True, inline="always")
def _length_of(entries, e):
    return entries[e, _PLACE] & _LENGTH_MASK


@njit(cache=True)
def table_new(capacity):
    """An empty token table with room for about ``capacity`` entries (see the section comment)."""
    slots_size = 1024
    while _too_full(capacity, slots_size):
        slots_size *= 2
    entries = max(capacity, 16)
    return (np.zeros(slots_size, np.uint64), np.empty((entries, 2), np.int64),
            np.empty(max(8 * entries, 1024), np.uint8))


@njit(cache=True, inline="always")
def _entry_hash(entries, arena, e):
    """The hash of entry ``e``'s token, from its bytes."""
    start = _start_of(entries, e)
    return _fnv(arena, start, start + _length_of(entries, e))


_REHASH_BLOCK = 256  # entries hashed at a time before their slots are written (_rehash)


@njit(cache=True)
def _rehash(slots_size, entries, arena, n):
    """New slots uint64[slots_size] for the first ``n`` entries (:func:`_rehash_into`)."""
    return _rehash_into(np.zeros(slots_size, np.uint64), entries, arena, n)


@njit(cache=True)
def _rehash_into(slots, entries, arena, n):
    """``slots`` (uint64, a power of two long, all 0) filled for the first ``n`` entries, each token hashed
    again from its bytes (the entries, and so the arena, are read in order). A block of entries is hashed
    first and its slots written after: the writes, each a miss in a table past the caches, then follow one
    another without a hash's chain of multiplies between them, so the core keeps many misses in flight."""
    slots_size = slots.shape[0]
    mask = np.uint64(slots_size - 1)
    block = np.empty(_REHASH_BLOCK, np.uint64)
    for first in range(0, n, _REHASH_BLOCK):
        last = min(n, first + _REHASH_BLOCK)
        for e in range(first, last):
            block[e - first] = _entry_hash(entries, arena, e)
        for e in range(first, last):
            h = block[e - first]
            s = np.int64(h & mask)
            while slots[s] != 0:
                s = (s + 1) & (slots_size - 1)
            slots[s] = (h & _HIGH) | np.uint64(e + 1)
    return slots


@njit(cache=True)
def table_slots(entries, arena, n):
    """Slots for a table of the first ``n`` entries of ``entries`` over ``arena`` (a table of just those
    entries, looked up, not added to: :func:`w2v.phrases.frequent_tokens`), as few as keep it at most two
    thirds full (as :func:`table_new`)."""
    slots_size = 1024
    while _too_full(n, slots_size):
        slots_size *= 2
    return _rehash(slots_size, entries, arena, n)


@njit(cache=True, inline="always")
def _copy_items(dst, dst_start, src, src_start, n):
    """``dst[dst_start:dst_start + n] = src[src_start:src_start + n]`` for 1-D arrays, as a loop: Numba
    compiles an array-to-slice assignment together with its shape-mismatch message, several seconds of
    compiling on every first run (and every run without a writable cache) for nothing here, where the
    shapes always agree."""
    for i in range(n):
        dst[dst_start + i] = src[src_start + i]


@njit(cache=True, inline="always")
def _copy_rows(dst, src, n):
    """``dst[:n] = src[:n]`` for 2-D arrays of as many columns, as a loop (:func:`_copy_items`)."""
    for i in range(n):
        for j in range(src.shape[1]):
            dst[i, j] = src[i, j]


@njit(cache=True, inline="always")
def _find(slots, entries, arena, data, start, end, h):
    """(slot, entry or -1) of the token data[start:end] with hash h."""
    size = slots.shape[0]
    s = np.int64(h & np.uint64(size - 1))
    tag = h & _HIGH
    while True:
        stored = slots[s]
        if stored == 0:
            return s, -1
        if stored & _HIGH == tag:
            e = np.int64(stored & _LOW) - 1
            if _length_of(entries, e) == end - start and _same(data, start, end, arena, _start_of(entries, e)):
                return s, e
        s = (s + 1) & (size - 1)


@njit(cache=True)
def table_add(table, n, used, data, start, end, h, count):
    """Add a new token data[start:end] (hash h, not in the table) with ``count``; returns (table, n, used),
    grown as needed. Callers look the token up first: this passes the arrays in and out."""
    slots, entries, arena = table
    length = end - start
    if n >= MAX_ENTRIES:
        raise ValueError("a token table holds at most 2**31 - 1 distinct tokens")
    if length > MAX_TOKEN_BYTES or used + length > MAX_ARENA_BYTES:
        raise ValueError("a token table holds tokens of at most 2**28 - 1 bytes, 2**35 bytes in all")
    if n == entries.shape[0]:
        entries2 = np.empty((2 * n, 2), np.int64)
        _copy_rows(entries2, entries, n)
        entries = entries2
    if used + length > arena.shape[0]:
        arena2 = np.empty(min(max(2 * arena.shape[0], used + length), MAX_ARENA_BYTES), np.uint8)
        _copy_items(arena2, 0, arena, 0, used)
        arena = arena2
    s = _find(slots, entries, arena, data, start, end, h)[0]
    _store(slots, s, entries, arena, n, used, data, start, end, h, count)
    n += 1
    used += length
    if _too_full(n, slots.shape[0]):
        slots = _rehash(2 * slots.shape[0], entries, arena, n)
    return (slots, entries, arena), n, used


@njit(cache=True, inline="always")
def _store(slots, s, entries, arena, n, used, data, start, end, h, count):
    """Write the new token data[start:end] (hash h) as entry ``n``, its bytes at arena[used:], into the
    empty slot ``s``; the arrays must have room for it."""
    _copy_items(arena, used, data, start, end - start)
    entries[n, _PLACE] = _place(used, end - start)
    entries[n, _COUNT] = count
    slots[s] = (h & _HIGH) | np.uint64(n + 1)


@njit(cache=True, inline="always")
def _add_at(table, n, used, s, data, start, end, h, count):
    """:func:`table_add` for a token whose look-up ended at the empty slot ``s``: written there at once
    when the table has room for it, stays at most two thirds full and within its limits, else through
    :func:`table_add` (which grows the table and looks the slot up again, or says which limit the token
    would pass). Returns (table, n, used)."""
    slots, entries, arena = table
    if (n < entries.shape[0] and used + (end - start) <= arena.shape[0] and not _too_full(n + 1, slots.shape[0])
            and n < MAX_ENTRIES and end - start <= MAX_TOKEN_BYTES):
        _store(slots, s, entries, arena, n, used, data, start, end, h, count)
        return table, n + 1, used + (end - start)
    return table_add(table, n, used, data, start, end, h, count)


@njit(cache=True, inline="always")
def _appended(values, n, value):
    """``values`` (doubled when full) with values[n] = value; returns (values, n + 1)."""
    if n == values.shape[0]:
        grown = np.empty(2 * n, values.dtype)
        _copy_items(grown, 0, values, 0, n)
        values = grown
    values[n] = value
    return values, n + 1


@njit(cache=True, inline="always")
def _count_all(data, table, n, used, ids, keep_ids, hashes, keep_hashes):
    """Count every token of ``data`` into the table; with ``keep_ids`` (a constant of the caller) also
    write each token's entry to ``ids`` (room for every token ``data`` can hold) and note the line ends;
    with ``keep_hashes`` (likewise) write the hash of each entry added to ``hashes[entry]`` (room for
    ``n`` and every token), for a merge of this table (:func:`table_merge_map`).
    Returns (table, n, used, tokens, line_ends int64[L]: the line ends, as the tokens before each (see
    :func:`w2v.encode.sentence_offsets` for which newlines are kept)).

    A token already in the table is counted in place; a new one is added where its look-up ended
    (:func:`_add_at`). The table's arrays are taken anew only after an addition, and ``ids`` never:
    an array variable assigned on every token (``ids = _appended(ids, ...)``, ``table = ...``) kept
    the loop ~1.6x slower (benchmarks/README.md, "Array variables in the counting loop").
    """
    line_ends = np.empty(16, np.int64)
    n_lines = 0
    tokens = 0
    slots, entries, arena = table
    i = 0
    while True:
        start, i, newlines, h = _next_hashed(data, i)
        if keep_ids:
            for _ in range(min(newlines, 1)):  # one line end for a run of newlines (w2v.encode.sentence_offsets)
                line_ends, n_lines = _appended(line_ends, n_lines, tokens)
        if start < 0:
            break
        s, e = _find(slots, entries, arena, data, start, i, h)
        if e >= 0:
            entries[e, _COUNT] += 1
        else:
            table, n, used = _add_at(table, n, used, s, data, start, i, h, np.int64(1))  # one signature with merges
            slots, entries, arena = table
            e = n - 1
            if keep_hashes:
                hashes[e] = h
        if keep_ids:
            ids[tokens] = e
        tokens += 1
    return table, n, used, tokens, line_ends[:n_lines].copy()


@njit(cache=True, nogil=True)
def count_tokens(data, table, n, used):
    """Count every token of ``data`` (uint8[B], cut at white space) into the table.

    Returns (table, n, used, tokens): the table as grown, and how many tokens ``data`` held.
    """
    table, n, used, tokens, _ = _count_all(data, table, n, used, np.empty(0, np.int32), False,
                                           np.empty(0, np.uint64), False)
    return table, n, used, tokens


@njit(cache=True, inline="always")
def _room_for_hashes(hashes, n, data):
    """``hashes``, or a new uint64 array when it has no room for ``n`` entries and every token of ``data``."""
    if hashes.shape[0] < n + data.shape[0] // 2 + 1:
        return np.empty(n + data.shape[0] // 2 + 1, np.uint64)
    return hashes


@njit(cache=True, nogil=True)
def count_tokens_hashed(data, table, n, used, hashes):
    """:func:`count_tokens`, also giving the hash of each entry added, for its merge: the tables keep no
    hashes (section comment), and the counting loop has each at hand.

    ``hashes`` uint64[n + data.shape[0] // 2 + 1 or more] (a smaller one is replaced by a new array of
    that size; the caller may use it again, as :func:`count_tokens_ids`'s ``ids``). Returns (table, n,
    used, tokens, hashes[:n]), hashes[e] being entry e's for every entry this call added."""
    hashes = _room_for_hashes(hashes, n, data)
    table, n, used, tokens, _ = _count_all(data, table, n, used, np.empty(0, np.int32), False, hashes, True)
    return table, n, used, tokens, hashes[:n]


@njit(cache=True, nogil=True)
def count_tokens_ids(data, table, n, used, ids, hashes):
    """:func:`count_tokens_hashed`, also saying which entry each token is: the one pass that counts and
    encodes.

    ``ids`` int32[data.shape[0] // 2 + 1 or more]: where the entries are written, room for the most
    tokens the bytes can hold (a byte and a separator each); a smaller one is replaced by a new array
    of that size before counting starts. The caller may use it again for a later piece (no fresh pages
    to fault in), and pages past the tokens written are never touched. ``hashes`` as
    :func:`count_tokens_hashed`'s. Returns (table, n, used, entries int32[T] (a view of ``ids``),
    line_ends int64[L], hashes[:n]): the table as grown, every token's entry in this table in order, for
    every newline how many tokens came before it, and the hashes of the entries added.
    """
    if ids.shape[0] < data.shape[0] // 2 + 1:
        ids = np.empty(data.shape[0] // 2 + 1, np.int32)
    hashes = _room_for_hashes(hashes, n, data)
    table, n, used, tokens, line_ends = _count_all(data, table, n, used, ids, True, hashes, True)
    return table, n, used, ids[:tokens], line_ends, hashes[:n]


@njit(cache=True, nogil=True)
def table_hashes(table, n):
    """uint64[n]: the hash of each of the table's first ``n`` entries, from its bytes (for a merge of a
    table counted without :func:`count_tokens_hashed`)."""
    entries, arena = table[1], table[2]
    hashes = np.empty(n, np.uint64)
    for e in range(n):
        hashes[e] = _entry_hash(entries, arena, e)
    return hashes


@njit(cache=True, nogil=True)
def table_merge(table, n, used, other, other_n, o_hashes):
    """Add every entry of ``other`` (its first ``other_n``, whose hashes are ``o_hashes`` uint64[other_n]:
    :func:`count_tokens_hashed`, :func:`table_hashes`) to ``table``, in ``other``'s order."""
    table, n, used, _ = table_merge_map(table, n, used, other, other_n, o_hashes)
    return table, n, used


#: How many of the other table's entries ahead a merge asks for the slot its look-up starts at; at half
#: that distance the slot has arrived and the entry it holds is asked for.
_MERGE_AHEAD = 8


@njit(cache=True, inline="always")
def _prefetch_merge(slots, entries, o_hashes, e, other_n):
    """Prefetch for a merge's look-ups ahead of entry ``e``: the home slot of entry e + _MERGE_AHEAD, and
    the entry row named by the home slot of entry e + _MERGE_AHEAD // 2 (a hint: a later probe or a hash
    that differs only costs a wasted load). A merge looks up every distinct token of a piece in the
    corpus's table (slots and entries of several MB, past the caches): without this each look-up waited
    for two misses in turn (benchmarks/README.md, "Prefetching the merge")."""
    mask = np.uint64(slots.shape[0] - 1)
    if e + _MERGE_AHEAD < other_n:
        _prefetch_item(slots, np.int64(o_hashes[e + _MERGE_AHEAD] & mask))
    if e + _MERGE_AHEAD // 2 < other_n:
        stored = slots[np.int64(o_hashes[e + _MERGE_AHEAD // 2] & mask)]
        if stored != 0:
            _prefetch(entries, np.int64(stored & _LOW) - 1, 0)


@njit(cache=True, nogil=True)
def table_merge_map(table, n, used, other, other_n, o_hashes):
    """:func:`table_merge`, also returning where each of ``other``'s entries went: (table, n, used,
    int32[other_n]). ``other``'s slots are not read, so a table of entries and arena alone, with any
    slots, can be merged (:func:`w2v.scan.merge`)."""
    o_entries, o_arena = other[1], other[2]
    where = np.empty(other_n, np.int32)
    for e in range(other_n):
        _prefetch_merge(table[0], table[1], o_hashes, e, other_n)
        table, n, used, where[e] = _merge_entry(table, n, used, o_entries, o_arena, e, o_hashes[e])
    return table, n, used, where


@njit(cache=True, inline="always")
def _merge_entry(table, n, used, o_entries, o_arena, e, h):
    """Entry ``e`` of another table (its token's hash ``h``) merged into ``table``: its count added to
    the token's entry, or the token added as entry ``n``. Returns (table, n, used, the token's entry)."""
    slots, entries, arena = table
    start = _start_of(o_entries, e)
    end = start + _length_of(o_entries, e)
    s, found = _find(slots, entries, arena, o_arena, start, end, h)
    if found >= 0:
        entries[found, _COUNT] += o_entries[e, _COUNT]
        return table, n, used, found
    table, n, used = _add_at(table, n, used, s, o_arena, start, end, h, o_entries[e, _COUNT])
    return table, n, used, n - 1


@njit(cache=True, inline="always")
def _shard_of(h, shards):
    """The shard of a token whose hash is ``h``: its tag (the hash's high 32 bits, which a slot keeps) modulo
    ``shards``; the home slot comes from the low bits, so a shard's tokens still spread over its slots."""
    return np.int64((h >> np.uint64(32)) % np.uint64(shards))


@njit(cache=True, nogil=True)
def table_merge_shard(table, n, used, other, other_n, o_hashes, shard, shards, where):
    """:func:`table_merge_map` of the entries of ``other`` that fall in ``shard`` of ``shards``
    (:func:`_shard_of`), in ``other``'s order, into ``table``, that shard's own table; for each of them
    ``where[e]`` (int32[other_n]) is set to its entry there times ``shards`` plus ``shard`` (the others' are
    left to their shards). Returns (table, n, used). Each shard's table is merged into by one thread at a
    time, and the shards of a piece by as many threads at once (:func:`w2v.scan.count_and_spool`)."""
    o_entries, o_arena = other[1], other[2]
    mine = np.empty(other_n, np.int64)
    k = 0
    for e in range(other_n):
        if _shard_of(o_hashes[e], shards) == shard:
            mine[k] = e
            k += 1
    mine_hashes = np.empty(k, np.uint64)
    for j in range(k):
        mine_hashes[j] = o_hashes[mine[j]]
    for j in range(k):
        _prefetch_merge(table[0], table[1], mine_hashes, j, k)
        table, n, used, found = _merge_entry(table, n, used, o_entries, o_arena, mine[j], mine_hashes[j])
        if found * shards + shard > MAX_ENTRIES:
            raise ValueError("a token table holds at most 2**31 - 1 distinct tokens")
        where[mine[j]] = found * shards + shard
    return table, n, used


@njit(cache=True, nogil=True)
def table_join_shard(entries, arena, hashes, at, start, shard_entries, shard_arena, k, used):
    """One shard's part of a joined table (:meth:`w2v.scan._ShardedCount.joined`): its ``k`` entries
    copied to ``entries[at:at + k]`` with their places moved ``start`` bytes on, its ``used`` bytes to
    ``arena[start:start + used]``, and each entry's hash, from its bytes, to ``hashes[at:at + k]``."""
    for i in range(used):
        arena[start + i] = shard_arena[i]
    for i in range(k):
        entries[at + i, _PLACE] = shard_entries[i, _PLACE] + (np.int64(start) << ENTRY_LENGTH_BITS)
        entries[at + i, _COUNT] = shard_entries[i, _COUNT]
        hashes[at + i] = _entry_hash(entries, arena, at + i)


def joined_slots_size(n):
    """How many slots a table of ``n`` entries gets (a power of two, at most two thirds full)."""
    size = 1024
    while _MAX_LOAD_DEN * n > _MAX_LOAD_NUM * size:
        size *= 2
    return size


@njit(cache=True, nogil=True)
def slots_fill_range(slots, hashes, n, lo, hi):
    """Fill the slots of the entries ``0 .. n - 1`` (hashes uint64[n]) whose home slot is in ``lo .. hi -
    1``, writing only slots in that range, so that threads fill ranges of one array at once. An entry whose
    probe would run past ``hi - 1`` is left out: returns (int64 array of those entries, how many), for
    :func:`slots_fill_left`."""
    mask = np.uint64(slots.shape[0] - 1)
    left = np.empty(16, np.int64)
    n_left = 0
    for e in range(n):
        h = hashes[e]
        s = np.int64(h & mask)
        if s < lo or s >= hi:
            continue
        while s < hi and slots[s] != 0:
            s += 1
        if s == hi:
            left, n_left = _appended(left, n_left, e)
        else:
            slots[s] = (h & _HIGH) | np.uint64(e + 1)
    return left, n_left


@njit(cache=True)
def slots_fill_left(slots, hashes, left, n_left):
    """The entries :func:`slots_fill_range` left out, each in the first free slot from its home on (the
    table then answers every look-up as one filled in order would)."""
    size = slots.shape[0]
    for j in range(n_left):
        e = left[j]
        h = hashes[e]
        s = np.int64(h & np.uint64(size - 1))
        while slots[s] != 0:
            s = (s + 1) & (size - 1)
        slots[s] = (h & _HIGH) | np.uint64(e + 1)


@njit(cache=True, nogil=True)
def remap_ids(raw, word_ids, line_ends, out):
    """Entries to word ids: (ids int32[k], line_ends int64[L]) for ``raw`` int32[T] (entries of a count),
    ``word_ids`` int32[n] (-1: not a word, dropped) and ``line_ends`` int64[L] (places in ``raw``, sorted,
    at most T) moved back past the dropped tokens before them. The ids are written into ``out``
    int32[T or more] and returned as ``out[:k]``; ``out`` may be ``raw`` itself (each id is written at
    or before the entry it comes from, which is read first)."""
    moved = np.empty(line_ends.shape[0], np.int64)
    k = 0
    j = 0
    for i in range(raw.shape[0]):
        while j < line_ends.shape[0] and line_ends[j] <= i:
            moved[j] = k
            j += 1
        w = word_ids[raw[i]]
        if w >= 0:
            out[k] = w
            k += 1
    while j < line_ends.shape[0]:
        moved[j] = k
        j += 1
    return out[:k], moved


@njit(cache=True, nogil=True)
def take_into(values, indexes, out):
    """``out[i] = values[indexes[i]]`` for every i, returned as ``out[:len(indexes)]``; ``indexes`` valid
    indexes of ``values``, ``out`` may be ``indexes`` itself. (NumPy's ``take`` would first copy int32
    indexes into a new int64 array, whose fresh pages cost more than the gather.)"""
    for i in range(indexes.shape[0]):
        out[i] = values[indexes[i]]
    return out[:indexes.shape[0]]


@njit(cache=True, nogil=True)
def table_prune(table, n, at_most):
    """Drop every entry counted ``at_most`` times or fewer (word2vec.c's ReduceVocab), keeping the
    order of the rest; returns (table, n, used) with the arena compacted. The table's own arrays are
    reused, its slots emptied and filled again: new slots beside the old would add their size to the
    peak of a count at its limit (256 MiB at 21 million tokens; benchmarks/README.md, "Pruning in place")."""
    slots, entries, arena = table
    kept = np.int64(0)  # not the literal 0, which would compile _rehash_into a second time (see _HS)
    used = 0
    for e in range(n):
        if entries[e, _COUNT] > at_most:
            length, source = _length_of(entries, e), _start_of(entries, e)
            for i in range(length):  # moves bytes left (used <= source): a forward copy is safe
                arena[used + i] = arena[source + i]
            entries[kept, _PLACE] = _place(used, length)
            entries[kept, _COUNT] = entries[e, _COUNT]
            kept += 1
            used += length
    for s in range(slots.shape[0]):
        slots[s] = 0
    return (_rehash_into(slots, entries, arena, kept), entries, arena), kept, used


@njit(cache=True)
def table_lookup(table, token):
    """The entry of ``token`` (uint8[L]) or -1."""
    slots, entries, arena = table
    return _find(slots, entries, arena, token, 0, token.shape[0], _fnv(token, 0, token.shape[0]))[1]


@njit(cache=True, inline="always")
def _continuation(arena, at, end):
    return at < end and 0x80 <= arena[at] <= 0xBF


@njit(cache=True, inline="always")
def _utf8_lead(b):
    """For a byte ``b`` >= 0x80 that starts a UTF-8 sequence: ``(need, low, high)``, the continuation
    bytes that follow it and the range its first one must be in (Unicode's table 3-7: no overlong forms,
    no surrogates, nothing past U+10FFFF); ``need`` 0 for a byte that starts none."""
    if 0xC2 <= b <= 0xDF:
        return 1, 0x80, 0xBF
    if b == 0xE0:
        return 2, 0xA0, 0xBF
    if 0xE1 <= b <= 0xEC or 0xEE <= b <= 0xEF:
        return 2, 0x80, 0xBF
    if b == 0xED:
        return 2, 0x80, 0x9F
    if b == 0xF0:
        return 3, 0x90, 0xBF
    if 0xF1 <= b <= 0xF3:
        return 3, 0x80, 0xBF
    if b == 0xF4:
        return 3, 0x80, 0x8F
    return 0, 0, 0


@njit(cache=True, inline="always")
def _utf8_run(data, i, end):
    """The bytes from ``data[i]`` (>= 0x80) to ``end`` that a UTF-8 decoder takes as one: ``(length,
    valid)``, the whole sequence when valid, else its longest valid beginning (at least one byte), which
    Python's decoder replaces by one U+FFFD (Unicode's "maximal subpart")."""
    need, low, high = _utf8_lead(data[i])
    if need == 0 or i + 1 >= end or data[i + 1] < low or data[i + 1] > high:
        return 1, False
    k = 2
    while k <= need and _continuation(data, i + k, end):
        k += 1
    return k, k > need


@njit(cache=True)
def _utf8_valid(arena, start, end):
    """Whether arena[start:end] is valid UTF-8 as Python's strict decoder reads it."""
    i = start
    while i < end:
        if arena[i] < 0x80:
            i += 1
            continue
        length, valid = _utf8_run(arena, i, end)
        if not valid:
            return False
        i += length
    return True


@njit(cache=True, inline="always")
def _replaced(data, start, end, out):
    """Write data[start:end] to ``out`` (room for 3 bytes a byte) as Python's ``decode("utf-8", "replace")``
    reads it, encoded again: every invalid run (:func:`_utf8_run`) as U+FFFD (EF BF BD). Returns the
    bytes written and the bytes replaced (what ``w2v.corpus.decode_token`` counts)."""
    i = start
    o = 0
    bad = 0
    while i < end:
        if data[i] < 0x80:
            out[o] = data[i]
            o += 1
            i += 1
            continue
        length, valid = _utf8_run(data, i, end)
        if valid:
            for k in range(length):
                out[o + k] = data[i + k]
            o += length
        else:
            out[o] = 0xEF
            out[o + 1] = 0xBF
            out[o + 2] = 0xBD
            o += 3
            bad += length
        i += length
    return o, bad


@njit(cache=True, inline="always")
def _replaced_hashed(data, start, end, out):
    """:func:`_replaced` into ``out`` (replaced by a larger array when it has no room) and the result's
    hash: ``(out, size, bytes replaced, hash)``."""
    if out.shape[0] < 3 * (end - start):
        out = np.empty(3 * (end - start), np.uint8)
    size, bad = _replaced(data, start, end, out)
    return out, size, bad, _fnv(out, 0, size)


@njit(cache=True, nogil=True)
def table_replaced(table, invalid):
    """The texts that the entries ``invalid`` (int64[I], tokens that are not valid UTF-8) read as once
    every invalid run is replaced by U+FFFD (:func:`_replaced`), merged: ``(texts, r, group int32[I], bad
    int64[I], valid int64[r])``. ``texts`` is a token table of the ``r`` distinct texts (encoded UTF-8),
    each counted as the sum of its entries' counts; ``group[j]``: the text of ``invalid[j]``; ``bad[j]``:
    the bytes replaced in it; ``valid[t]``: the entry of ``table`` whose token is text ``t`` byte for byte
    (a valid token that reads as that text), or -1. For :func:`w2v.vocab._candidates`, which decoded every
    invalid token in Python before: a Python call a token and one an invalid run (a count of binary or
    Latin-1 text holds millions)."""
    slots, entries, arena = table
    k = invalid.shape[0]
    texts = table_new(max(k, 16))
    r = 0
    used = 0
    group = np.empty(k, np.int32)
    bad = np.empty(k, np.int64)
    valid = np.empty(k, np.int64)  # (r <= k)
    out = np.empty(64, np.uint8)
    for j in range(k):
        e = invalid[j]
        start = _start_of(entries, e)
        out, size, bad[j], h = _replaced_hashed(arena, start, start + _length_of(entries, e), out)
        s, t = _find(texts[0], texts[1], texts[2], out, 0, size, h)
        if t >= 0:
            texts[1][t, _COUNT] += entries[e, _COUNT]
        else:  # a new text: added, and looked up among the valid tokens once
            t = r
            valid[t] = _find(slots, entries, arena, out, 0, size, h)[1]
            texts, r, used = _add_at(texts, r, used, s, out, 0, size, h, entries[e, _COUNT])
        group[j] = t
    return texts, r, group, bad, valid[:r].copy()


@njit(cache=True, nogil=True)
def table_candidates(table, n, min_count, max_bytes):
    """One pass over the ``n`` entries of a count's table for its vocabulary (:func:`w2v.vocab._candidates`):
    ``(candidates int64[C], invalid int64[I], n_valid, too_long, most)``.

    ``candidates``: the entries whose tokens are valid UTF-8, at most ``max_bytes`` long and counted at
    least ``min_count`` times; ``invalid``: the entries whose tokens are not valid UTF-8 (both in
    ascending order). ``n_valid``: how many entries are valid UTF-8; ``too_long``: how many of those are
    longer than ``max_bytes``; ``most``: the largest count among them (0 if none). One read of each
    entry's row and bytes, where masks over the table's columns read the whole table once each."""
    entries, arena = table[1], table[2]
    candidates = np.empty(n, np.int64)  # (address space: only the pages that candidates fill are touched)
    invalid = np.empty(16, np.int64)
    c = 0
    m = 0
    too_long = 0
    most = 0
    for e in range(n):
        s = _start_of(entries, e)
        length = _length_of(entries, e)
        count = entries[e, _COUNT]
        ascii_only = True
        for i in range(s, s + length):
            if arena[i] >= 0x80:
                ascii_only = False
                break
        if not ascii_only and not _utf8_valid(arena, s, s + length):
            invalid, m = _appended(invalid, m, e)
            continue
        most = max(most, count)
        if length > max_bytes:
            too_long += 1
        elif count >= min_count:
            candidates[c] = e
            c += 1
    return candidates[:c], invalid[:m], n - m, too_long, most


#: How many wanted entries ahead :func:`table_tokens_joined` asks for the entry row (first loop) and the
#: token's bytes (second loop): the vocabulary's entries in frequency order are scattered over the count's
#: table, so without it each one waited for its misses in turn.
_GATHER_AHEAD = 16


@njit(cache=True, nogil=True)
def table_tokens_joined(table, wanted):
    """uint8[]: the tokens of the entries ``wanted`` (int64[K]), in that order, a newline between two
    (one copy; Python decodes and splits it at once, :meth:`w2v.scan.Counted.words`)."""
    entries, arena = table[1], table[2]
    k = wanted.shape[0]
    size = 0
    for j in range(k):
        if j + _GATHER_AHEAD < k:
            _prefetch(entries, wanted[j + _GATHER_AHEAD], 0)
        size += _length_of(entries, wanted[j]) + 1
    out = np.empty(max(size - 1, 0), np.uint8)
    at = 0
    for j in range(k):
        if j + _GATHER_AHEAD < k:
            _prefetch_item(arena, _start_of(entries, wanted[j + _GATHER_AHEAD]))
        if j:
            out[at] = 10
            at += 1
        s = _start_of(entries, wanted[j])
        for i in range(_length_of(entries, wanted[j])):
            out[at + i] = arena[s + i]
        at += _length_of(entries, wanted[j])
    return out


@njit(cache=True, nogil=True)
def table_frequency_order(table, wanted, counts, extra_keys):
    """The vocabulary's rows by count descending, then by the first 8 bytes of their tokens:
    ``(order int64[K], ordered_counts int64[K], ordered_keys uint64[K])``.

    The rows are the entries ``wanted`` (int64[W]) of the table, then K - W rows given by their keys
    ``extra_keys`` (uint64[K - W]); ``counts`` int64[K] (at least 0) are the rows' counts. A row's key is
    its first 8 bytes as a big-endian number (zeros after a shorter token), so that comparing keys
    compares the tokens' beginnings byte by byte. ``order``: the rows sorted by ``(-count, key)``, rows
    equal in both in their own order (:func:`table_ties_in_order` then puts those in order by their whole
    tokens); ``ordered_counts``, ``ordered_keys``: the rows' counts and keys in that order
    (``counts[order]``), from which the ties are found without a miss a row.

    A stable least-significant-digit radix sort, a byte a pass: the key's 8, then as many bytes of
    ``largest count - count`` as the largest difference needs; a pass whose byte is the same in every
    row is skipped. O(K) where two NumPy argsorts are O(K log K) (``benchmarks/README.md``, "The
    vocabulary in two kernels")."""
    entries, arena = table[1], table[2]
    k = counts.shape[0]
    w = wanted.shape[0]
    keys = np.empty(k, np.uint64)
    for j in range(w):
        s = _start_of(entries, wanted[j])
        length = _length_of(entries, wanted[j])
        key = np.uint64(0)
        for i in range(8):
            key = key << np.uint64(8)
            if i < length:
                key |= np.uint64(arena[s + i])
        keys[j] = key
    for j in range(w, k):
        keys[j] = extra_keys[j - w]
    return _radix_order(counts, keys)


@njit(cache=True, nogil=True)
def _radix_pass(keys, rows, to_keys, to_rows, shift, starts):
    """One stable counting pass on byte ``shift // 8`` of ``keys`` (uint64[K]): ``keys`` and their
    ``rows`` (int64[K]) moved to ``to_keys``, ``to_rows``; ``starts`` int64[256] where each byte value's
    first goes (advanced as they are placed)."""
    for i in range(keys.shape[0]):
        key = keys[i]
        d = (key >> shift) & np.uint64(0xFF)
        j = starts[d]
        starts[d] = j + 1
        to_keys[j] = key
        to_rows[j] = rows[i]


@njit(cache=True, nogil=True)
def _radix_order(counts, keys):
    """``(order, ordered_counts, ordered_keys)`` of the rows of ``counts`` int64[K] and ``keys``
    uint64[K], by count descending, then key ascending, stable (:func:`table_frequency_order`).

    Each pass reads the rows' sort keys in their current order and moves them with their row numbers,
    so that the passes read and write memory in order: reading each row's byte through the order (a miss
    a row and pass once the rows outgrow the caches) made 6.5 million rows take 1.05 s against 0.36 s
    (benchmarks/README.md, "The vocabulary's order, its keys moved along"). The count's sort key
    (``largest - count``) is gathered once, after the key's passes; the ordered keys once at the end."""
    k = counts.shape[0]
    if k == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.uint64)
    largest, smallest = counts[0], counts[0]
    for i in range(1, k):  # (a loop: counts.max() and .min() cost a first run about 0.8 s more to compile)
        largest, smallest = max(largest, counts[i]), min(smallest, counts[i])
    count_bytes = 0
    while count_bytes < 8 and ((largest - smallest) >> (8 * count_bytes)) > 0:
        count_bytes += 1
    passes = 8 + count_bytes
    hist = np.empty((passes, 256), np.int64)  # each pass's byte values, all counted in one reading
    for p in range(passes):  # (loops, not np.zeros and np.arange: a first run would compile each overload)
        for d in range(256):
            hist[p, d] = 0
    for i in range(k):
        key = keys[i]
        for p in range(8):
            hist[p, (key >> np.uint64(8 * p)) & np.uint64(0xFF)] += 1
        below = np.uint64(largest - counts[i])
        for p in range(count_bytes):
            hist[8 + p, (below >> np.uint64(8 * p)) & np.uint64(0xFF)] += 1
    sort_keys, other_keys = keys.copy(), np.empty(k, np.uint64)
    order, other = np.empty(k, np.int64), np.empty(k, np.int64)
    for i in range(k):
        order[i] = i
    starts = np.empty(256, np.int64)
    for p in range(passes):
        if p == 8:  # the key's bytes done: the count's next, ``largest - count`` gathered once
            for i in range(k):
                sort_keys[i] = np.uint64(largest - counts[order[i]])
        shift = np.uint64(8 * (p - 8 if p >= 8 else p))
        if hist[p, (sort_keys[0] >> shift) & np.uint64(0xFF)] == k:  # one value of this byte in every row
            continue
        at = 0
        for d in range(256):
            starts[d] = at
            at += hist[p, d]
        _radix_pass(sort_keys, order, other_keys, other, shift, starts)
        sort_keys, other_keys = other_keys, sort_keys
        order, other = other, order
    ordered_counts = np.empty(k, np.int64)
    for i in range(k):
        ordered_counts[i] = counts[order[i]]
        other_keys[i] = keys[order[i]]
    return order, ordered_counts, other_keys


@njit(cache=True, inline="always")
def _row_token(entries, arena, wanted, extra, extra_starts, row):
    """The bytes of row ``row`` of :func:`table_ties_in_order`: ``(data, start, end)``."""
    w = wanted.shape[0]
    if row < w:
        s = _start_of(entries, wanted[row])
        return arena, s, s + _length_of(entries, wanted[row])
    return extra, extra_starts[row - w], extra_starts[row - w + 1]


@njit(cache=True)
def _token_less(entries, arena, wanted, extra, extra_starts, a, b):
    """Whether row ``a``'s token comes before row ``b``'s in byte order (a token before any longer one
    it begins), as Python compares bytes."""
    da, sa, ea = _row_token(entries, arena, wanted, extra, extra_starts, a)
    db, sb, eb = _row_token(entries, arena, wanted, extra, extra_starts, b)
    n = min(ea - sa, eb - sb)
    for i in range(n):
        x, y = da[sa + i], db[sb + i]
        if x != y:
            return x < y
    return ea - sa < eb - sb


@njit(cache=True, nogil=True)
def table_ties_in_order(table, wanted, order, ordered_counts, ordered_keys, extra, extra_starts):
    """Put in order by their whole tokens, in place, the runs of ``order`` whose rows are equal in count
    and key (what :func:`table_frequency_order` leaves in their own order); returns ``order``.

    Rows as in :func:`table_frequency_order`: the entries ``wanted`` (int64[W]) of the table, then rows
    whose tokens are given as bytes, row ``W + j``'s being ``extra[extra_starts[j]:extra_starts[j + 1]]``
    (uint8[X], int64[K - W + 1]). ``order`` int64[K]; ``ordered_counts`` int64[K] and ``ordered_keys``
    uint64[K]: the counts and keys of ``order``'s rows, in its order (unchanged by the ties). Byte order
    is UTF-8's order of code points, so the result is the order of ``(-count, word)`` over Python strings.
    A run is sorted by insertion when short, else by a bottom-up merge sort: a vocabulary of millions of
    rare words has runs of thousands of tokens that begin alike (benchmarks/README.md, "Vocabularies of
    millions of words")."""
    entries, arena = table[1], table[2]
    k = order.shape[0]
    scratch = np.empty(k, np.int64)
    a = 0
    while a < k:
        b = a + 1
        while b < k and ordered_counts[b] == ordered_counts[a] and ordered_keys[b] == ordered_keys[a]:
            b += 1
        if b - a <= 16:
            for i in range(a + 1, b):
                row = order[i]
                j = i
                while j > a and _token_less(entries, arena, wanted, extra, extra_starts, row, order[j - 1]):
                    order[j] = order[j - 1]
                    j -= 1
                order[j] = row
        else:
            src, dst = order, scratch
            in_scratch = False  # whether src is scratch
            width = 1
            while width < b - a:
                for lo in range(a, b, 2 * width):
                    mid, hi = min(lo + width, b), min(lo + 2 * width, b)
                    i, j, t = lo, mid, lo
                    while i < mid and j < hi:
                        if _token_less(entries, arena, wanted, extra, extra_starts, src[j], src[i]):
                            dst[t] = src[j]
                            j += 1
                        else:
                            dst[t] = src[i]
                            i += 1
                        t += 1
                    _copy_items(dst, t, src, i, mid - i)
                    t += mid - i
                    _copy_items(dst, t, src, j, hi - j)
                src, dst = dst, src
                in_scratch = not in_scratch
                width *= 2
            if in_scratch:
                _copy_items(order, a, scratch, a, b - a)
        a = b
    return order


@njit(cache=True, nogil=True)
def encode_tokens(data, table, n, ids_of_entry):
    """Encode ``data`` (uint8[B], cut at white space) with a table of the vocabulary.

    ``ids_of_entry`` int32[n]: the word id of each entry. Returns (ids int32[T], line_ends int64[L]): the
    ids of the known tokens in order, and the line ends, as the ids before each
    (:func:`w2v.encode.sentence_offsets` says which newlines are kept). A token not
    found that is not valid UTF-8 is looked up again as it reads with its invalid runs replaced by U+FFFD
    (:func:`_replaced`, Python's ``decode("utf-8", "replace")``), as the vocabulary counted it, here and
    not a token at a time in Python (benchmarks/README.md, "Invalid UTF-8 in compiled code").
    """
    slots, entries, arena = table
    size = data.shape[0]
    ids = np.empty(size // 2 + 1, np.int32)  # room for every token there can be: never grown (_count_all)
    line_ends = np.empty(16, np.int64)
    out = np.empty(64, np.uint8)  # an invalid token's replaced text
    n_ids = 0
    n_lines = 0
    i = 0
    while i < size:
        b = data[i]
        if _is_space(b):
            if b == 10 and (n_lines == 0 or line_ends[n_lines - 1] != n_ids):  # (w2v.encode.sentence_offsets)
                line_ends, n_lines = _appended(line_ends, n_lines, n_ids)
            i += 1
            continue
        start = i
        high = np.uint8(0)
        h = _FNV_OFFSET
        while i < size:  # find the token's end, hash it and note a non-ASCII byte in one pass
            b = data[i]
            if _is_space(b):
                break
            high |= b
            h = (h ^ np.uint64(b)) * _FNV_PRIME
            i += 1
        e = _find(slots, entries, arena, data, start, i, h)[1]
        if e < 0 and high >= 0x80:
            out, replaced_size, bad, replaced_hash = _replaced_hashed(data, start, i, out)
            if bad > 0:
                e = _find(slots, entries, arena, out, 0, replaced_size, replaced_hash)[1]
        if e >= 0:
            ids[n_ids] = ids_of_entry[e]
            n_ids += 1
    return ids[:n_ids].copy(), line_ends[:n_lines].copy()


@njit(cache=True, nogil=True)
def table_entry_ids(table, n, words):
    """Each of the ``n`` entries of a count's ``table`` looked up in ``words``, a table of a vocabulary
    whose entry ``i`` is word ``i`` (:func:`w2v.scan.word_table`), as :func:`encode_tokens` looks a token
    up (a token not found that is not valid UTF-8 again as its replaced text): int32[n], the word id of
    each entry or -1 (not a word). For a count spooled before the vocabulary its words go into was made
    (``--update-vocab``: the new text's count merged into a model's vocabulary, whose rows do not follow
    the count's own)."""
    slots, entries, arena = table
    w_slots, w_entries, w_arena = words
    ids = np.empty(n, np.int32)
    out = np.empty(64, np.uint8)
    for e in range(n):
        start = _start_of(entries, e)
        end = start + _length_of(entries, e)
        w = _find(w_slots, w_entries, w_arena, arena, start, end, _fnv(arena, start, end))[1]
        if w < 0:
            out, size, bad, replaced_hash = _replaced_hashed(arena, start, end, out)
            if bad > 0:
                w = _find(w_slots, w_entries, w_arena, out, 0, size, replaced_hash)[1]
        ids[e] = w
    return ids


# -- text: phrases (word2phrase; w2v.phrases runs these) -------------------------------------------
# Phrases count in two tables: the tokens in a token table (above), counted first, and the pairs of
# tokens next to each other on a line in a *pair table* keyed by the two tokens' entries in it, a
# 64-bit integer (first << 32 | second) + 1, so that a look-up hashes one integer and touches one slot
# instead of hashing and comparing the pair's bytes. A pair table is int64[C, 2]: a key and its count
# side by side (one cache line a look-up), C a power of two, key 0 an empty slot, open addressing with
# linear probing, at most half full; n, the pairs held, travels beside it. Entries stay below 2**31. Only pairs of two tokens seen at least min_count times are counted:
# no other pair can join.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def pairs_new(capacity):
    """An empty pair table with room for ``capacity`` pairs: int64[C, 2] (key, count)."""
    size = 1024
    while size < 2 * capacity:
        size *= 2
    return np.zeros((size, 2), np.int64)


@njit(cache=True, inline="always")
def _pair_code(a, b):
    return (np.int64(a) << 32 | np.int64(b)) + 1


@njit(cache=True, inline="always")
def _pair_slot(pairs, key):
    """The slot holding ``key``, or the empty slot where it would go."""
    mask = pairs.shape[0] - 1
    s = np.int64((np.uint64(key) * _GOLDEN) >> np.uint64(32)) & mask
    while pairs[s, 0] != 0 and pairs[s, 0] != key:
        s = (s + 1) & mask
    return s


@njit(cache=True)
def _pairs_rebuilt(pairs, size, above):
    """A pair table of ``size`` slots holding the pairs of ``pairs`` counted more than ``above`` times;
    returns (pairs, n)."""
    new = np.zeros((size, 2), np.int64)
    n = 0
    for s in range(pairs.shape[0]):
        if pairs[s, 0] != 0 and pairs[s, 1] > above:
            t = _pair_slot(new, pairs[s, 0])
            new[t, 0] = pairs[s, 0]
            new[t, 1] = pairs[s, 1]
            n += 1
    return new, n


@njit(cache=True, inline="always")
def _pair_add(pairs, n, key, count):
    s = _pair_slot(pairs, key)
    if pairs[s, 0] != 0:
        pairs[s, 1] += count
        return pairs, n
    pairs[s, 0] = key
    pairs[s, 1] = count
    n += 1
    if 2 * n > pairs.shape[0]:
        pairs, n = _pairs_rebuilt(pairs, 2 * pairs.shape[0], np.int64(0))  # not a literal (see _HS)
    return pairs, n


@njit(cache=True, nogil=True)
def pairs_merge(pairs, n, other):
    """Add every pair of the ``other`` table to this one; returns (pairs, n)."""
    for s in range(other.shape[0]):
        if other[s, 0] != 0:
            pairs, n = _pair_add(pairs, n, other[s, 0], other[s, 1])
    return pairs, n


@njit(cache=True)
def pairs_from(firsts, seconds):
    """A pair table holding each pair of entries (firsts[i], seconds[i]) once; returns (pairs, n)."""
    pairs = pairs_new(firsts.shape[0])
    n = 0
    for i in range(firsts.shape[0]):
        s = _pair_slot(pairs, _pair_code(firsts[i], seconds[i]))
        if pairs[s, 0] == 0:
            pairs[s, 0] = _pair_code(firsts[i], seconds[i])
            pairs[s, 1] = 1
            n += 1
    return pairs, n


@njit(cache=True, nogil=True)
def pairs_prune(pairs, at_most):
    """Drop every pair counted ``at_most`` times or fewer (word2vec.c's ReduceVocab); returns (pairs, n)."""
    return _pairs_rebuilt(pairs, pairs.shape[0], at_most)


@njit(cache=True)
def pairs_count_of(pairs, a, b):
    """How many times the pair of entries (a, b) was counted (0: never)."""
    return pairs[_pair_slot(pairs, _pair_code(a, b)), 1]


@njit(cache=True, inline="always")
def _next_hashed(data, i):
    """The next token at or after ``i``: (start, end, newlines skipped before it, its FNV-1a hash);
    start -1 at the end."""
    size = data.shape[0]
    newlines = 0
    while i < size and _is_space(data[i]):
        if data[i] == 10:
            newlines += 1
        i += 1
    if i >= size:
        return -1, size, newlines, _FNV_OFFSET
    start = i
    h = _FNV_OFFSET
    while i < size:
        b = data[i]
        if _is_space(b):
            break
        h = (h ^ np.uint64(b)) * _FNV_PRIME
        i += 1
    return start, i, newlines, h


@njit(cache=True)
def table_count(table, n, used, key, start, end):
    """Count the token key[start:end] once more; returns (table, n, used)."""
    slots, entries, arena = table
    h = _fnv(key, start, end)
    e = _find(slots, entries, arena, key, start, end, h)[1]
    if e >= 0:
        entries[e, _COUNT] += 1
        return table, n, used
    return table_add(table, n, used, key, start, end, h, np.int64(1))


@njit(cache=True, inline="always")
def _worth_counting(entries, a, b, min_count, at_least, total):
    """Whether the pair of entries (a, b) may join: both tokens seen ``min_count`` times, and, when
    ``at_least`` >= 0, a count of the pair no larger than either token's (the most it can be) would give
    word2phrase's score above ``at_least``. The bound is computed in float64 with a margin of 1e-6 over
    the float32 score's rounding (under 5e-7), so no pair that can pass is left out."""
    pa, pb = entries[a, _COUNT], entries[b, _COUNT]
    if pa < min_count or pb < min_count:
        return False
    if at_least < 0:
        return True
    return (min(pa, pb) - min_count) * np.float64(total) * (1.0 + 1e-6) > at_least * np.float64(pa) * np.float64(pb)


@njit(cache=True)
def pairs_count(pairs, n, a, b, table, min_count, at_least, total):
    """Count the pair of entries (a, b) once more when :func:`count_pairs` would; returns (pairs, n)."""
    if a >= 0 and b >= 0 and _worth_counting(table[1], a, b, min_count, at_least, total):
        return _pair_add(pairs, n, _pair_code(a, b), 1)
    return pairs, n


@njit(cache=True, nogil=True)
def count_pairs(data, table, min_count, at_least, total, pairs, n):
    """Count the pairs of tokens next to each other on a line of ``data`` (uint8[B], cut at white space)
    that may join (:func:`_worth_counting`: both tokens in the token ``table`` seen ``min_count`` times,
    and with ``at_least`` >= 0 a score that can beat it).

    Returns (pairs, n, edges int64[5]): edges = the tokens of ``data``, the first token's entry
    (-1: not in the table), whether a newline comes before it, the last token's entry, and whether a
    newline comes after it (or, without tokens, whether ``data`` holds one), so that the caller counts
    the pair that straddles two pieces (:func:`pairs_count`).
    """
    slots, entries, arena = table
    edges = np.zeros(5, np.int64)
    tokens = 0
    prev = -1
    newline = False
    i = 0
    while True:
        start, i, newlines, h = _next_hashed(data, i)
        newline = newline or newlines > 0
        if start < 0:
            break
        e = _find(slots, entries, arena, data, start, i, h)[1]
        if tokens == 0:
            edges[1] = e
            edges[2] = 1 if newline else 0
        elif not newline and prev >= 0 and e >= 0 and _worth_counting(entries, prev, e, min_count, at_least, total):
            pairs, n = _pair_add(pairs, n, _pair_code(prev, e), 1)
        tokens += 1
        prev = e
        newline = False
    edges[0] = tokens
    edges[3] = prev
    edges[4] = 1 if newline else 0
    return pairs, n, edges


@njit(cache=True, inline="always")
def _pair_score(pa, pb, pab, min_count, total, npmi):
    """word2phrase's score (float32, as word2phrase.c), or gensim's normalised PMI."""
    if npmi:
        p_ab = pab / total
        return np.log(p_ab / ((pa / total) * (pb / total))) / -np.log(p_ab)
    return np.float64(np.float32(np.float32(np.float32(pab - min_count) / np.float32(pa)) / np.float32(pb))
                      * np.float32(total))


@njit(cache=True, inline="always")
def _scores_above(entries, pairs, a, b, min_count, threshold, total, npmi):
    """Whether the pair of entries (a, b) joins by its counts: both tokens and the pair seen at least
    ``min_count`` times and the pair's score above ``threshold``."""
    pa, pb = entries[a, _COUNT], entries[b, _COUNT]
    if pa < min_count or pb < min_count:
        return False
    pab = pairs[_pair_slot(pairs, _pair_code(a, b)), 1]
    return pab >= min_count and _pair_score(pa, pb, pab, min_count, total, npmi) > threshold


@njit(cache=True, inline="always")
def _listed(joining, a, b):
    """Whether the pair of entries (a, b) (-1: an unknown token) is in the table of pairs that join."""
    return a >= 0 and b >= 0 and joining[_pair_slot(joining, _pair_code(a, b)), 0] != 0


@njit(cache=True)
def pair_joins(joining, a, b):
    """:func:`join_pairs`'s rule for one pair of entries (-1: an unknown token)."""
    return _listed(joining, a, b)


@njit(cache=True, nogil=True)
def join_pairs(data, table, joining, delimiter, state):
    """Write ``data`` with the pairs of the pair table ``joining`` joined by ``delimiter``.

    word2phrase's greedy rule, left to right: a token joins the one before it when their pair is one
    that joins (``joining`` holds them: :func:`pair_scores`' pairs, or a saved phrase table's); a token
    that joined cannot join the next. Tokens are looked up in the token ``table`` the pairs' entries
    refer to; they are written one space apart and every newline is kept, so lines stay lines.

    ``state`` int64[3] carries a piece's end into the next: whether the last token may still join, its
    entry (-1: none or unknown), and whether a token was written on the current line. Returns (output
    uint8[], state, first int64[3]): first = the piece's tokens, its first token's entry and whether a
    newline comes before it (so that a piece joined from a fresh state can be mended: w2v.phrases).
    """
    slots, entries, arena = table
    size = data.shape[0]
    out = np.empty(size * (1 + delimiter.shape[0]) + 16, np.uint8)
    first = np.zeros(3, np.int64)
    first[1] = -1
    n_out = 0
    may_join = state[0] == 1
    prev = state[1]
    on_line = state[2] == 1
    tokens = 0
    i = 0
    while True:
        start, i, newlines, h = _next_hashed(data, i)
        for _ in range(newlines):  # every line end is kept
            out[n_out] = 10
            n_out += 1
        if newlines:
            may_join = False
            on_line = False
            prev = -1
        if start < 0:
            break
        e = _find(slots, entries, arena, data, start, i, h)[1]
        if tokens == 0:
            first[1] = e
            first[2] = 1 if newlines else 0
        tokens += 1
        joined = may_join and _listed(joining, prev, e)
        if on_line:
            if joined:
                for k in range(delimiter.shape[0]):
                    out[n_out] = delimiter[k]
                    n_out += 1
            else:
                out[n_out] = 32
                n_out += 1
        for k in range(start, i):
            out[n_out] = data[k]
            n_out += 1
        on_line = True
        may_join = not joined
        prev = e
    first[0] = tokens
    state[0] = 1 if may_join else 0
    state[1] = prev
    state[2] = 1 if on_line else 0
    return out[:n_out].copy(), state, first


@njit(cache=True, nogil=True)
def pair_scores(table, pairs, min_count, threshold, total, npmi):
    """The pairs that join by their counts (both tokens and the pair seen at least ``min_count`` times,
    the score above ``threshold``): (first entries int64[k], second entries int64[k], scores float64[k],
    counts int64[k]), in slot order; :func:`join_pairs` joins them."""
    entries = table[1]
    firsts = np.empty(pairs.shape[0], np.int64)
    seconds = np.empty(pairs.shape[0], np.int64)
    scores = np.empty(pairs.shape[0], np.float64)
    found = np.empty(pairs.shape[0], np.int64)
    k = 0
    for s in range(pairs.shape[0]):
        if pairs[s, 0] == 0:
            continue
        code = pairs[s, 0] - 1
        a, b = code >> 32, code & 0xFFFFFFFF
        if not _scores_above(entries, pairs, a, b, min_count, threshold, total, npmi):
            continue
        firsts[k] = a
        seconds[k] = b
        scores[k] = _pair_score(entries[a, _COUNT], entries[b, _COUNT], pairs[s, 1], min_count, total, npmi)
        found[k] = pairs[s, 1]
        k += 1
    return firsts[:k].copy(), seconds[:k].copy(), scores[:k].copy(), found[:k].copy()


# -- vectors as word2vec binary ----------------------------------------------------------------------
@njit(cache=True, nogil=True)
def binary_rows(rows, words, word_ends, out):
    """word2vec binary entries of ``rows`` uint8[R, 4D] (each row's float32 little-endian bytes; a view of
    padded rows is read in place): per row its
    word (bytes ``words[word_ends[r-1]:word_ends[r]]`` of uint8 ``words``, int64 ``word_ends``), a space, the
    row's bytes and a newline, one entry after another in ``out`` uint8[R (4D + 2) + len(words)] or more.
    Returns the bytes written: the bytes :func:`w2v.formats._write_binary` writes a row at a time."""
    at = 0
    word_start = 0
    width = rows.shape[1]
    for r in range(rows.shape[0]):
        n = word_ends[r] - word_start
        _copy_items(out, at, words, word_start, n)
        at += n
        word_start = word_ends[r]
        out[at] = 32
        _copy_items(out, at + 1, rows[r], 0, width)
        out[at + 1 + width] = 10
        at += width + 2
    return at


# -- vectors as word2vec text ------------------------------------------------------------------------
_POW10 = 10.0 ** np.arange(61)  # exact up to 10^22, within an ulp beyond


@njit(cache=True, inline="always")
def _nine_digits(a, e):
    """(m, e): ``a`` (a positive float32's value) rounded to 9 significant digits, m·10^(e-8) with
    10^8 <= m < 10^9, given e = floor(log10 a) or one less; m = -1 when this cannot be sure of the
    rounding (the caller then uses Python).

    For 0 <= 8-e <= 12, a·10^(8-e) is exact in float64 (a float32 has a 24-bit mantissa and
    5^12 < 2^28), so ``rint`` (half to even) rounds it exactly as Python's ``%.9g`` does. Otherwise
    the scaled value carries an error of a few ulps (~1e-7 at 1e9): it is trusted only when its
    fraction is more than 1e-6 away from one half, which leaves out very few numbers
    (benchmarks/results/text-writer-compiled.md)."""
    for _ in range(3):
        k = 8 - e
        p = a * _POW10[k] if k >= 0 else a / _POW10[-k]
        m = np.rint(p)
        if m < 1e8:
            e -= 1
        elif m >= 1e9:
            e += 1
        else:
            if (k < 0 or k > 12) and abs(abs(p - m) - 0.5) < 1e-6:
                return -1.0, e
            return m, e
    return -1.0, e


@njit(cache=True, inline="always")
def _put_digits(out, at, digits, first, last):
    for i in range(first, last + 1):
        out[at] = 48 + digits[i]
        at += 1
    return at


@njit(cache=True, nogil=True)
def format_text_rows(block, words, word_ends, out, ends, in_python):
    """word2vec text rows of ``block`` float32[R, D]: per row its word (bytes ``words[word_ends[r-1]:
    word_ends[r]]`` of uint8 ``words``, int64 ``word_ends``), a space, the numbers as Python's
    ``"%.9g"`` writes them separated by single spaces, and a newline, one row after another in ``out``
    uint8[16 R D + len(words) + 2 R or more]; ``ends`` int64[R] gets where each row ends. A row holding a
    number that is not finite, or whose rounding :func:`_nine_digits` cannot be sure of, is left out
    (its end is the previous row's) and marked in ``in_python`` bool[R] for the caller to format with
    Python. Returns the bytes written.

    %.9g: the value rounded to 9 significant digits, m·10^X; for -4 <= X < 9 in fixed notation
    (``0.`` and zeros before the digits of a number below 1), else as ``d.dddddddde±XX`` (at least two
    exponent digits); trailing zeros and a bare point dropped either way; 0 is ``0``, -0 ``-0``."""
    digits = np.empty(9, np.int64)
    at = 0
    word_start = 0
    for r in range(block.shape[0]):
        row_start = at
        for i in range(word_start, word_ends[r]):
            out[at] = words[i]
            at += 1
        word_start = word_ends[r]
        for c in range(block.shape[1]):
            v = np.float64(block[r, c])
            a = abs(v)
            if not a < np.inf:  # NaN or an infinity
                in_python[r] = True
                break
            out[at] = 32
            at += 1
            if v < 0 or (v == 0 and math.copysign(1.0, v) < 0):
                out[at] = 45  # '-'
                at += 1
            if a == 0:
                out[at] = 48
                at += 1
                continue
            m, e = _nine_digits(a, np.int64(np.floor((math.frexp(a)[1] - 1) * 0.30102999566398120)))
            if m < 0:
                in_python[r] = True
                break
            q = np.int64(m)
            for i in range(8, -1, -1):
                digits[i] = q % 10
                q //= 10
            last = 8
            while digits[last] == 0:
                last -= 1
            if -4 <= e < 9:
                if e >= 0:
                    at = _put_digits(out, at, digits, 0, e)
                    if last > e:
                        out[at] = 46  # '.'
                        at = _put_digits(out, at + 1, digits, e + 1, last)
                else:
                    out[at] = 48
                    out[at + 1] = 46
                    at += 2
                    for i in range(-e - 1):
                        out[at] = 48
                        at += 1
                    at = _put_digits(out, at, digits, 0, last)
            else:
                at = _put_digits(out, at, digits, 0, 0)
                if last > 0:
                    out[at] = 46
                    at = _put_digits(out, at + 1, digits, 1, last)
                out[at] = 101  # 'e'
                out[at + 1] = 45 if e < 0 else 43
                x = abs(e)
                out[at + 2] = 48 + x // 10
                out[at + 3] = 48 + x % 10
                at += 4
        if in_python[r]:
            at = row_start
        else:
            out[at] = 10
            at += 1
        ends[r] = at
    return at


# -- the vocabulary's tables for training (w2v.vocab builds them with these) ----------------------------
@njit(cache=True)
def alias_pairs(scaled):
    """Vose's alias method over ``scaled`` (float64[V], each probability times V; used up as scratch):
    ``(probability float64[V], alias int32[V])``, the loop :func:`w2v.vocab.alias_table` describes. The
    small and the large entries are two stacks, each entry taken from the top and put back on it, in
    float64 with no reassociation: the table is the one the same loop over Python floats makes
    (benchmarks/README.md, "Vocabularies of millions of words")."""
    n = scaled.shape[0]
    prob = np.ones(n, np.float64)
    alias = np.arange(n).astype(np.int32)
    small = np.empty(n, np.int64)
    large = np.empty(n, np.int64)
    n_small = n_large = 0
    for i in range(n):
        n_small, n_large = _onto_stack(small, n_small, large, n_large, i, scaled[i])
    while n_small > 0 and n_large > 0:
        n_small -= 1
        n_large -= 1
        s, big = small[n_small], large[n_large]
        prob[s] = scaled[s]
        alias[s] = big
        scaled[big] = scaled[big] + scaled[s] - 1.0
        n_small, n_large = _onto_stack(small, n_small, large, n_large, big, scaled[big])
    return prob, alias


@njit(cache=True, inline="always")
def _onto_stack(small, n_small, large, n_large, i, scaled_i):
    """Put entry ``i`` on top of the small stack (``scaled_i`` below 1) or of the large one; returns the
    stacks' sizes."""
    if scaled_i < 1.0:
        small[n_small] = i
        return n_small + 1, n_large
    large[n_large] = i
    return n_small, n_large + 1


#: A count no real node reaches, for the inner nodes not made yet (word2vec.c's 1e15, larger).
_NOT_MADE = (2 ** 63 - 1) // 4


@njit(cache=True)
def huffman_merge(counts):
    """:func:`w2v.vocab.huffman_merge`'s pairing (its docstring gives the rule), compiled:
    ``(parent int64[2V], binary uint8[2V])`` of ``counts`` int64[V]."""
    v = counts.shape[0]
    count = np.empty(2 * v, np.int64)
    _copy_items(count, 0, counts, 0, v)
    count[v:] = _NOT_MADE
    parent = np.zeros(2 * v, np.int64)
    binary = np.zeros(2 * v, np.uint8)
    pos1, pos2 = v - 1, v
    for a in range(v - 1):
        m1, pos1, pos2 = _lightest(count, pos1, pos2)
        m2, pos1, pos2 = _lightest(count, pos1, pos2)
        count[v + a] = count[m1] + count[m2]
        parent[m1] = v + a
        parent[m2] = v + a
        binary[m2] = 1
    return parent, binary


@njit(cache=True, inline="always")
def _lightest(count, pos1, pos2):
    """The lighter of the next leaf (``pos1``, going down) and the next inner node (``pos2``, going up), the
    inner node on a tie: ``(node, pos1, pos2)`` with that queue moved on."""
    if pos1 >= 0 and count[pos1] < count[pos2]:
        return pos1, pos1 - 1, pos2
    return pos2, pos1, pos2 + 1


@njit(cache=True)
def huffman_paths(parent, binary, v):
    """:func:`w2v.vocab.huffman_paths`, compiled: ``(codes uint8[v, L], points int32[v, L], lengths
    int32[v])`` of the leaves ``0 .. v-1`` of the tree ``parent`` int64[2N], ``binary`` uint8[2N] (root
    first, zeros after a path). A node's parent comes after it (an inner node is made after its two
    children), so the depths are found in one pass from the root down."""
    leaves = parent.shape[0] // 2
    root = 2 * leaves - 2
    depth = np.zeros(max(root + 1, 1), np.int32)
    for node in range(root - 1, -1, -1):
        depth[node] = depth[parent[node]] + 1
    longest = 0
    for w in range(v):
        longest = max(longest, depth[w])
    codes = np.zeros((v, longest), np.uint8)
    points = np.zeros((v, longest), np.int32)
    lengths = np.zeros(v, np.int32)
    for w in range(v):
        n = depth[w]
        lengths[w] = n
        node = w
        for j in range(n - 1, -1, -1):
            codes[w, j] = binary[node]
            node = parent[node]
            points[w, j] = node - leaves
    return codes, points, lengths


_INT16_STEPS = np.float32(32767.0)


@njit(cache=True, inline="always")
def _pack_row(delta, dim, values, scale, i):
    """Row ``i`` of :func:`pack_scaled`'s output from ``delta`` float32[dim] (the row's change)."""
    largest = _ZERO
    for j in range(dim):
        a = abs(delta[j])
        if a > largest:
            largest = a
    scale[i] = largest
    steps = _INT16_STEPS / largest if largest > _ZERO else _ZERO
    for j in range(dim):
        values[i, j] = np.int16(min(max(np.rint(delta[j] * steps), -_INT16_STEPS), _INT16_STEPS))


@njit(cache=True, nogil=True)
def pack_scaled(total, factor, rows, dim, values, scale):
    """A change of rows as it crosses the network (:func:`w2v.distributed.pack_change`): for each
    ``i``, the row ``r = rows[i]`` of ``total`` float32[V, P] times ``factor[r]`` (float32[V]) in its first
    ``dim`` columns; ``scale[i]`` (float32[len(rows)]) is its largest magnitude and ``values[i, :dim]``
    (int16[len(rows), dim]) those columns in whole steps of ``scale[i] / 32767``, rounded to the nearest
    (half to even). An all-zero row has scale 0 and values 0."""
    delta = np.empty(dim, np.float32)
    for i in range(rows.shape[0]):
        r = rows[i]
        f = factor[r]
        for j in range(dim):
            delta[j] = total[r, j] * f
        _pack_row(delta, dim, values, scale, i)


@njit(cache=True, nogil=True)
def pack_difference(now, before, rows, dim, values, scale):
    """:func:`pack_scaled` of the rows' change ``now[r] - before[r]`` (float32[V, P] both): what a worker
    sends of a round, without making the change's rows in memory first."""
    delta = np.empty(dim, np.float32)
    for i in range(rows.shape[0]):
        r = rows[i]
        for j in range(dim):
            delta[j] = now[r, j] - before[r, j]
        _pack_row(delta, dim, values, scale, i)


@njit(cache=True, nogil=True)
def changed_rows(now, before, dim):
    """int64 indices, ascending, of the rows of ``now`` that differ from ``before`` (float32[V, P] both) in
    their first ``dim`` columns (a NaN differs)."""
    found = np.empty(now.shape[0], np.int64)
    n = 0
    for r in range(now.shape[0]):
        for j in range(dim):
            if now[r, j] != before[r, j]:
                found[n] = r
                n += 1
                break
    return found[:n]


@njit(cache=True, nogil=True)
def add_unpacked(matrix, rows, values, scale):
    """``matrix[rows[i], j] += values[i, j] · (scale[i] / 32767)`` for the columns of ``values``
    (int16[len(rows), dim]; ``matrix`` float32[V, P]): the change :func:`pack_scaled` packed. Two IEEE
    float32 operations a value and one division a row, and no fastmath, so the client and every worker
    compute the same bits."""
    for i in range(rows.shape[0]):
        r = rows[i]
        step = scale[i] / _INT16_STEPS
        for j in range(values.shape[1]):
            matrix[r, j] += np.float32(values[i, j]) * step


@njit(cache=True, nogil=True)
def accumulate_unpacked(total, rows, values, scale, moved):
    """:func:`add_unpacked` into ``total``, and ``moved[i]`` (float64) the Euclidean length of row ``i``'s
    unpacked change (summed in float64): how the client takes in one worker's change."""
    for i in range(rows.shape[0]):
        r = rows[i]
        step = scale[i] / _INT16_STEPS
        length = 0.0
        for j in range(values.shape[1]):
            d = np.float32(values[i, j]) * step
            total[r, j] += d
            length += np.float64(d) * np.float64(d)
        moved[i] = np.sqrt(length)


@njit(cache=True, nogil=True)
def keep_directions(direction, rows, values):
    """``direction[rows[i], j]`` (int8[V, dim]) = ``values[i, j]`` (int16[len(rows), dim], a packed change
    whose row's largest magnitude is 32767) in 127ths of that largest, rounded to the nearest (half to even):
    the direction of each row's combined change, a quarter of its float32 bytes, kept for the next sync's
    combine (:func:`reversed_rows`)."""
    for i in range(rows.shape[0]):
        r = rows[i]
        for j in range(values.shape[1]):
            direction[r, j] = np.int8(np.rint(np.float64(values[i, j]) * (127.0 / 32767.0)))


@njit(cache=True, nogil=True)
def reversed_rows(direction, total, rows, dim, out):
    """``out[i]`` (bool) = the dot product of ``direction[r]`` (int8[V, dim], :func:`keep_directions`) and
    ``total[r]`` (float32[V, P]) over the first ``dim`` columns, summed in float64, is negative, for
    ``r = rows[i]``: whether the workers' summed change of a row points against its last combined change."""
    for i in range(rows.shape[0]):
        r = rows[i]
        s = 0.0
        for j in range(dim):
            s += np.float64(direction[r, j]) * np.float64(total[r, j])
        out[i] = s < 0.0
