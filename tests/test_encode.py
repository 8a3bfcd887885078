import numpy as np
import pytest

from conftest import write
from w2v.corpus import Corpus
from w2v.encode import encode_corpus
from w2v.vocab import Vocabulary


def test_ids_and_offsets_drop_unknown_words_and_empty_sentences(tmp_path):
    vocab = Vocabulary(["a", "b", "c"], [5, 4, 3])
    path = write(tmp_path / "c.txt", "a x b\nzzz\n\nc c a\nb")
    enc = encode_corpus(Corpus([path]), vocab)
    assert enc.ids.dtype == np.int32 and enc.offsets.dtype == np.int64
    assert enc.ids.tolist() == [0, 1, 2, 2, 0, 1]
    assert enc.offsets.tolist() == [0, 2, 5, 6]


def test_long_lines_are_cut_into_pieces_never_dropped(tmp_path):
    vocab = Vocabulary(["w"], [10])
    path = write(tmp_path / "long.txt", "w " * 25 + "\nw w\n")
    enc = encode_corpus(Corpus([path], block_size=64), vocab, max_sentence_length=10)
    assert enc.offsets.tolist() == [0, 10, 20, 25, 27]
    assert enc.n_words == 27


def test_memory_mapped_cache_gives_the_same_arrays_and_cleans_up(tmp_path, sample_path):
    from w2v.vocab import build_vocabulary
    corpus = Corpus([sample_path])
    vocab, _ = build_vocabulary(corpus)
    in_memory = encode_corpus(corpus, vocab)
    cache = tmp_path / "cache"
    cache.mkdir()
    mapped = encode_corpus(corpus, vocab, cache_dir=str(cache))
    assert isinstance(mapped.ids, np.memmap)
    np.testing.assert_array_equal(in_memory.ids, mapped.ids)
    np.testing.assert_array_equal(in_memory.offsets, mapped.offsets)
    assert len(list(cache.iterdir())) == 2
    mapped.close()
    assert list(cache.iterdir()) == []


def test_nothing_in_vocabulary_is_an_error(tmp_path):
    path = write(tmp_path / "c.txt", "x y z\n")
    with pytest.raises(ValueError, match="nothing to train on"):
        encode_corpus(Corpus([path]), Vocabulary(["a"], [1]))
