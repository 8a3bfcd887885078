"""The ``w2v`` command line: train, vocab, convert, similar, analogy, query, evaluate, plot.

Library errors (``ValueError``, ``OSError``, a missing word) become one-line
click errors with exit status 1; bad options exit 2; Ctrl-C exits 130. No
command prints a traceback for a user's mistake.
"""
from __future__ import annotations

import contextlib
import json
import sys
import time
from typing import List, Optional, Sequence

import click

import w2v
from w2v.formats import FORMATS, check_writable, format_for_path
from w2v.training import TrainingInterrupted  # no Numba: kernels load on first training
from w2v.vectors import MissingWordsError, Vectors

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Interrupted(click.ClickException):
    exit_code = 130

    def show(self, file=None):
        click.echo(f"w2v: {self.message}", err=True)


@contextlib.contextmanager
def user_errors():
    """Turn library errors into one-line click errors (exit 1; Ctrl-C exit 130)."""
    try:
        yield
    except MissingWordsError as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        raise Interrupted("interrupted; nothing was written") from None
    except BrokenPipeError:
        raise  # the reader (`| head`) has gone: click exits quietly, as a filter should
    except (ValueError, OSError) as error:
        raise click.ClickException(str(error)) from None
    except TrainingInterrupted as error:
        raise Interrupted(str(error)) from None


def _log(quiet: bool):
    return (lambda message: None) if quiet else (lambda message: click.echo(message, err=True))


def _load(path: str, limit: Optional[int] = None) -> Vectors:
    with user_errors():
        return Vectors.load(path, limit=limit)


@click.group(context_settings=CONTEXT)
@click.version_option(w2v.__version__, "-V", "--version", prog_name="w2v")
def cli():
    """w2v: train word2vec embeddings fast, query them, and evaluate them.

    \b
    Example:
      w2v train corpora/sample.txt -o vectors.bin
      w2v analogy vectors.bin king - man + woman
    """


# -- train ----------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("corpus", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the vectors; the extension picks the format (.bin, .txt/.vec, .npz).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Output format, whatever the extension.")
@click.option("--model", type=click.Choice(["sg", "cbow"]), default="sg", show_default=True,
              help="Skip-gram or continuous bag of words.")
@click.option("--dim", type=click.IntRange(1, 10000), default=100, show_default=True, help="Vector dimension.")
@click.option("--window", type=click.IntRange(1, 1000), default=5, show_default=True,
              help="Largest distance to a context word (each centre word draws its window in [1, window]).")
@click.option("--negative", type=click.IntRange(0, 1000), default=5, show_default=True,
              help="Negative samples per prediction (0: off).")
@click.option("--hs", is_flag=True, help="Hierarchical softmax (with --negative 0 alone, or both at once).")
@click.option("--sample", type=click.FloatRange(0, 1), default=1e-3, show_default=True,
              help="Subsampling threshold for frequent words (0: off).")
@click.option("--min-count", type=click.IntRange(1), default=5, show_default=True,
              help="Drop words seen fewer times.")
@click.option("--max-vocab", type=click.IntRange(1), default=None, help="Keep at most this many words.")
@click.option("--epochs", type=click.IntRange(1, 10000), default=5, show_default=True, help="Passes over the corpus.")
@click.option("--alpha", type=click.FloatRange(0, 10, min_open=True), default=None,
              help="Starting learning rate  [default: 0.025 sg, 0.05 cbow]")
@click.option("--threads", type=click.IntRange(0, 1024), default=0,
              help="Worker threads  [default: all available CPUs]")
@click.option("--seed", type=click.IntRange(0), default=1, show_default=True,
              help="Random seed; with --threads 1 two runs write identical files.")
@click.option("--cbow-sum", is_flag=True, help="CBOW sums the context vectors instead of averaging them.")
@click.option("--exact/--batched", default=None,
              help="Skip-gram kernel: --exact does word2vec.c's pair-by-pair updates; --batched shares each "
                   "window's negatives (with --hs, each context word still reads the Huffman path afresh): "
                   "faster, at word2vec.c's quality on wiki8  [default: batched]")
@click.option("--ns-exponent", type=float, default=0.75, show_default=True,
              help="Noise distribution ∝ count^exponent.")
@click.option("--lowercase", is_flag=True, help="Lowercase the corpus.")
@click.option("--max-sentence-length", type=click.IntRange(1), default=10000, show_default=True,
              help="Longer lines are cut into pieces of this many words.")
@click.option("--read-vocab", type=click.Path(exists=True, dir_okay=False),
              help="Take the vocabulary from this 'word count' file instead of counting (allows stdin).")
@click.option("--save-vocab", type=click.Path(dir_okay=False), help="Also write the vocabulary here.")
@click.option("--cache-dir", type=click.Path(exists=True, file_okay=False),
              help="Folder for the encoded corpus (4 bytes a word, read back chunk by chunk, removed at the "
                   "end)  [default: the system's temporary folder]")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
def train(corpus, output, fmt, model, dim, window, negative, hs, sample, min_count, max_vocab, epochs, alpha,
          threads, seed, cbow_sum, exact, ns_exponent, lowercase, max_sentence_length, read_vocab, save_vocab,
          cache_dir, quiet):
    """Train word vectors on CORPUS (files, folders, .gz/.bz2/.xz, or - for stdin).

    A line is a sentence; words are separated by white space.

    \b
    Example:
      w2v train corpora/sample.txt -o vectors.bin
      w2v train text8 -o text8.bin --model cbow --dim 200 --epochs 10 --threads 4
    """
    from w2v.training import TrainOptions, train as run_training
    from w2v.vocab import Vocabulary

    options = TrainOptions(model=model, dim=dim, window=window, negative=negative, hs=hs, sample=sample,
                           min_count=min_count, max_vocab=max_vocab, epochs=epochs, alpha=alpha, threads=threads,
                           seed=seed, cbow_mean=not cbow_sum, ns_exponent=ns_exponent, exact=exact,
                           lowercase=lowercase, max_sentence_length=max_sentence_length)
    try:
        options.validate()
        fmt = format_for_path(output, fmt)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    if exact is not None and model == "cbow":
        raise click.UsageError("--exact/--batched apply to skip-gram; CBOW always uses word2vec.c's updates")
    say = _log(quiet)
    start = time.perf_counter()
    with user_errors():
        check_writable(output)
        if save_vocab:
            check_writable(save_vocab)
        vocab = Vocabulary.load(read_vocab, min_count=min_count, max_size=max_vocab) if read_vocab else None
        result = run_training(list(corpus), options, progress=not quiet, log=say, vocab=vocab, cache_dir=cache_dir,
                              save_vocab=save_vocab)
        result.vectors.save(output, fmt=fmt)
    last = result.history[-1]
    words = sum(e.words for e in result.history)
    say(f"vocabulary {len(result.vectors):,} words; trained {words:,} words in {result.seconds:.1f} s "
        f"({result.words_per_second:,.0f} words/s, {options.threads} threads); final loss {last.loss:.4f}; "
        f"wrote {output} ({fmt}) after {time.perf_counter() - start:.1f} s in all")


# -- vocab ----------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("corpus", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Save as 'word count' lines (word2vec.c's format).")
@click.option("--min-count", type=click.IntRange(1), default=5, show_default=True, help="Drop words seen fewer times.")
@click.option("--max-vocab", type=click.IntRange(1), default=None, help="Keep at most this many words.")
@click.option("--lowercase", is_flag=True, help="Lowercase the corpus.")
@click.option("--top", type=click.IntRange(0), default=10, show_default=True, help="Show the most frequent words.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def vocab(corpus, output, min_count, max_vocab, lowercase, top, quiet):
    """Count the words of CORPUS and summarise (optionally save) its vocabulary.

    \b
    Example:
      w2v vocab corpora/sample.txt -o vocab.txt --min-count 5
    """
    from w2v.corpus import Corpus
    from w2v.vocab import build_vocabulary

    start = time.perf_counter()
    with user_errors():
        if output:
            check_writable(output)
        source = Corpus(list(corpus), lowercase=lowercase, progress=not quiet)
        vocabulary, counted = build_vocabulary(source, min_count=min_count, max_size=max_vocab)
        if output:
            vocabulary.save(output)
    kept = int(vocabulary.counts.sum())
    click.echo(f"tokens {counted.total_tokens:,}; types {counted.distinct:,}; kept {len(vocabulary):,} types "
               f"(min count {min_count}) covering {kept / counted.total_tokens:.2%} of tokens; "
               f"{time.perf_counter() - start:.1f} s")
    if counted.invalid_bytes:
        click.echo(f"warning: {counted.invalid_bytes:,} bytes of invalid UTF-8 were replaced by U+FFFD", err=True)
    if counted.pruned_below:
        click.echo(f"note: words seen at most {counted.pruned_below} times were pruned while counting to bound memory",
                   err=True)
    if top:
        click.echo("most frequent: " + ", ".join(f"{w} {c:,}" for w, c in
                                                 zip(vocabulary.words[:top], vocabulary.counts[:top].tolist())))
    if output:
        click.echo(f"wrote {output}")


# -- convert --------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.argument("destination", type=click.Path(dir_okay=False))
@click.option("--to", "fmt", type=click.Choice(FORMATS), help="Output format, whatever the extension.")
@click.option("--limit", type=click.IntRange(1), help="Keep only the first N words.")
def convert(source, destination, fmt, limit):
    """Convert vectors between word2vec text, word2vec binary and the native format.

    \b
    Example:
      w2v convert vectors.bin vectors.txt
      w2v convert GoogleNews-vectors.bin small.npz --limit 100000
    """
    try:
        fmt = format_for_path(destination, fmt)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="DESTINATION") from None
    vectors = _load(source, limit)
    with user_errors():
        vectors.save(destination, fmt=fmt)
    click.echo(f"wrote {len(vectors):,} vectors of dimension {vectors.dim} to {destination} ({fmt})")


# -- queries --------------------------------------------------------------------------
def parse_expression(tokens: Sequence[str]):
    """``king - man + woman`` -> (['king', 'woman'], ['man']); ``a b c`` -> a is to b as c is to ?

    Returns (positive, negative). Signs may stand alone or be glued to a word (``-man``).
    """
    tokens = [t for token in tokens for t in token.split()]
    if len(tokens) == 3 and not any(t in "+-" or t[0] in "+-" for t in tokens):
        a, b, c = tokens  # word2vec.c's word-analogy: a is to b as c is to ?
        return [b, c], [a]
    positive: List[str] = []
    negative: List[str] = []
    sign = "+"
    for token in tokens:
        if token in ("+", "-"):
            sign = token
            continue
        if token[0] in "+-" and len(token) > 1:
            sign, token = token[0], token[1:]
        (positive if sign == "+" else negative).append(token)
        sign = "+"
    if not positive and not negative:
        raise ValueError("empty expression")
    return positive, negative


def _print_neighbours(pairs):
    for word, score in pairs:
        click.echo(f"{word}\t{score:.4f}")


@cli.command(context_settings=CONTEXT)
@click.argument("vectors", type=click.Path(exists=True, dir_okay=False))
@click.argument("words", nargs=-1, required=True)
@click.option("--topn", type=click.IntRange(1), default=10, show_default=True)
@click.option("--restrict-vocab", type=click.IntRange(1), help="Search only the N most frequent words.")
def similar(vectors, words, topn, restrict_vocab):
    """Nearest neighbours (cosine) of WORDS (their vectors are summed).

    \b
    Example:
      w2v similar vectors.bin france --topn 5
    """
    vecs = _load(vectors)
    with user_errors():
        _print_neighbours(vecs.most_similar(list(words), topn=topn, restrict_vocab=restrict_vocab))


@cli.command(context_settings=CONTEXT)
@click.argument("vectors", type=click.Path(exists=True, dir_okay=False))
@click.argument("expression", nargs=-1, required=True)
@click.option("--method", type=click.Choice(["add", "mul"]), default="add", show_default=True,
              help="3CosAdd or 3CosMul (Levy & Goldberg).")
@click.option("--topn", type=click.IntRange(1), default=5, show_default=True)
@click.option("--restrict-vocab", type=click.IntRange(1), help="Search only the N most frequent words.")
def analogy(vectors, expression, method, topn, restrict_vocab):
    """Solve an analogy: an EXPRESSION like `king - man + woman`, or three words `man king woman`.

    Three bare words read as word2vec.c's word-analogy tool reads them: the
    first is to the second as the third is to ?

    \b
    Example:
      w2v analogy vectors.bin king - man + woman
      w2v analogy vectors.bin man king woman --method mul
    """
    vecs = _load(vectors)
    with user_errors():
        positive, negative = parse_expression(expression)
        if method == "mul":
            if len(positive) != 2 or len(negative) != 1:
                raise ValueError("--method mul needs exactly b - a + c (two words added, one subtracted)")
            answers = vecs.analogy(negative[0], positive[0], positive[1], method="mul", topn=topn,
                                   restrict_vocab=restrict_vocab)
        else:
            answers = vecs.most_similar(positive, negative, topn=topn, restrict_vocab=restrict_vocab)
        _print_neighbours(answers)


@cli.command(context_settings=CONTEXT)
@click.argument("vectors", type=click.Path(exists=True, dir_okay=False))
@click.option("--topn", type=click.IntRange(1), default=10, show_default=True)
def query(vectors, topn):
    """Answer queries read from standard input, one a line, like word2vec.c's distance tool.

    A line is a word (neighbours), several words (neighbours of their sum), or
    an expression such as `king - man + woman`. An unknown word is reported and
    the next line is read. Ends at end of input or an `EXIT` line.

    \b
    Example:
      echo "king - man + woman" | w2v query vectors.bin
    """
    vecs = _load(vectors)
    interactive = sys.stdin.isatty()
    if interactive:
        click.echo(f"{len(vecs):,} words of dimension {vecs.dim}; enter a word or an expression (Ctrl-D ends)",
                   err=True)
    while True:
        if interactive:
            click.echo("> ", nl=False, err=True)
        line = sys.stdin.readline()
        if not line or line.strip() == "EXIT":
            break
        tokens = line.split()
        if not tokens:
            continue
        try:
            if len(tokens) == 1 or not any(t.startswith(("+", "-")) for t in tokens):
                answers = vecs.most_similar(tokens, topn=topn)
            else:
                positive, negative = parse_expression(tokens)
                answers = vecs.most_similar(positive, negative, topn=topn)
        except (MissingWordsError, ValueError) as error:
            click.echo(f"w2v: {error}", err=True)
            continue
        click.echo(f"# {line.strip()}")
        _print_neighbours(answers)


# -- evaluate -------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("vectors", type=click.Path(exists=True, dir_okay=False))
@click.option("--analogies", "analogy_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="An analogy file in the questions-words format (repeatable).")
@click.option("--pairs", "pair_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A word-pair file: word1<TAB>word2<TAB>score, # comments (repeatable).")
@click.option("--restrict-vocab", type=click.IntRange(1), default=30000, show_default=True,
              help="Analogies: answer within the N most frequent words; questions outside are skipped.")
@click.option("--method", type=click.Choice(["add", "mul"]), default="add", show_default=True)
@click.option("--case-sensitive", is_flag=True, help="Compare words as they are (default: ignore case).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def evaluate(vectors, analogy_files, pair_files, restrict_vocab, method, case_sensitive, as_json):
    """Evaluate VECTORS on analogy sets and word-pair similarity sets.

    Conventions are gensim's evaluate_word_analogies / evaluate_word_pairs
    (and word2vec.c's compute-accuracy with threshold 30000).

    \b
    Example:
      w2v evaluate vectors.bin --analogies questions-words.txt --pairs wordsim353.tsv
    """
    from w2v.evaluate import evaluate_analogies, evaluate_pairs

    if not analogy_files and not pair_files:
        raise click.UsageError("give at least one --analogies or --pairs file")
    vecs = _load(vectors)
    report = {"vectors": vectors, "analogies": {}, "pairs": {}}
    with user_errors():
        for path in analogy_files:
            result = evaluate_analogies(vecs, path, restrict_vocab=restrict_vocab,
                                        case_insensitive=not case_sensitive, method=method)
            report["analogies"][path] = result.as_dict()
        for path in pair_files:
            report["pairs"][path] = evaluate_pairs(vecs, path, case_insensitive=not case_sensitive).as_dict()
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for path, result in report["analogies"].items():
        click.echo(f"{path} (3Cos{method.capitalize()}, {restrict_vocab:,} most frequent words)")
        click.echo(f"  {'section':<32}{'accuracy':>9}{'correct':>9}{'answered':>10}{'skipped':>9}")
        rows = list(result["sections"].items()) + [(k, result[k]) for k in ("semantic", "syntactic", "total")]
        for name, s in rows:
            click.echo(f"  {name:<32}{s['accuracy']:>9.2%}{s['correct']:>9}{s['answered']:>10}{s['skipped']:>9}")
        click.echo(f"  coverage {result['coverage']:.2%} of questions answered")
    for path, result in report["pairs"].items():
        click.echo(f"{path}: Spearman {result['spearman']:.4f}  Pearson {result['pearson']:.4f}  "
                   f"OOV {result['oov_ratio']:.1f}% ({result['oov']} of {result['pairs'] + result['oov']} pairs)")


# -- plot -----------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("vectors", type=click.Path(exists=True, dir_okay=False))
@click.argument("words", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="PNG file to write.")
def plot(vectors, words, output):
    """Project WORDS to 2-D (PCA) and draw them; `a:b` draws an arrow from a to b.

    Needs matplotlib (pip install 'w2v[plot]').

    \b
    Example:
      w2v plot vectors.bin man:king woman:queen france:paris italy:rome -o analogies.png
    """
    try:
        from w2v.plot import plot_words
    except ImportError:
        raise click.ClickException("plotting needs matplotlib: pip install 'w2v[plot]'") from None
    vecs = _load(vectors)
    with user_errors():
        plot_words(vecs, list(words), output)
    click.echo(f"wrote {output}")


def main(argv=None):
    """Console-script entry point."""
    cli.main(args=argv, prog_name="w2v")


if __name__ == "__main__":
    main()
