"""The benchmark runner, in quick mode, on w2v alone and a tiny generated corpus (the real runs live in benchmarks/)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, slurp


def test_quick_runner_writes_results(tmp_path, sample_path):
    import planted
    data = tmp_path / "data"
    data.mkdir()
    planted.write_questions(str(data / "questions-words.txt"))
    (data / "wordsim353.tsv").write_text("king\tqueen\t8\nman\tcat\t1\nparis\tfrance\t7\nwalk\tsing\t3\n")
    out = tmp_path / "results"
    command = [sys.executable, os.path.join(ROOT, "benchmarks", "compare.py"), "--quick", "--systems", "w2v",
               "--configs", "sg-ns", "--corpus", sample_path, "--data", str(data), "--out", str(out),
               "--max-tokens", "100000", "--dim", "20", "--line-words", "50", "--no-compile-time", "--name", "t"]
    subprocess.run(command, check=True, capture_output=True, text=True, cwd=str(tmp_path))
    report = json.loads((out / "t.json").read_text())
    assert report["tokens"] == 100000 and report["repeat"] == 1
    (run,) = report["runs"]
    assert run["system"] == "w2v" and run["words_per_second"] > 0 and run["peak_mib"] > 0
    assert 0 < run["effective_words_per_epoch"] < 100000
    assert run["analogy"] > 50  # the planted relations, learned from a quarter of the sample
    assert "| sg-ns | w2v | 2 |" in (out / "t.md").read_text()
    # pooling the report under its own name writes t-2, and leaves the report it read as it was
    recorded = (out / "t.json").read_bytes(), (out / "t.md").read_bytes()
    merge = [sys.executable, os.path.join(ROOT, "benchmarks", "compare.py"), "--merge", str(out / "t.json"),
             "--out", str(out), "--name", "t"]
    done = subprocess.run(merge, check=True, capture_output=True, text=True, cwd=str(tmp_path))
    assert ((out / "t.json").read_bytes(), (out / "t.md").read_bytes()) == recorded
    assert json.loads((out / "t-2.json").read_text())["merged_from"] == ["t.json"]
    assert f"wrote {out / 't-2'}.json and .md" in done.stderr


def test_quick_runs_with_nothing_but_the_repository_and_gensim(tmp_path, monkeypatch, sample_path):
    """Outside this project's development data: the corpus is ./text8 (corpora/download_text8.py writes it
    there) and the evaluation sets are the copies gensim ships; without a corpus, one line says what to do."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import compare
    monkeypatch.setattr(compare, "DATA", str(tmp_path / "no-development-data"))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "results"
    arguments = ["--quick", "--systems", "w2v", "--configs", "sg-ns", "--out", str(out), "--name", "t",
                 "--max-tokens", "100000", "--dim", "20", "--line-words", "50", "--no-compile-time"]
    with pytest.raises(compare.BadArgument, match=r"no corpus: give --corpus FILE, or get text8 with "
                                                  r"`python corpora/download_text8.py"):
        compare.main(arguments)
    assert not out.exists()
    (tmp_path / "text8").write_bytes(slurp(sample_path, "rb"))
    report = compare.main(arguments)
    assert report["corpus"] == "text8" and report["tokens"] == 100000
    (run,) = report["runs"]
    assert {"analogy", "semantic", "syntactic", "wordsim353", "simlex999"} <= set(run)  # gensim's copies scored
    assert compare.default_data().endswith(os.path.join("gensim", "test", "test_data"))


def test_the_runner_never_loads_numba_or_gensim_itself():
    """compare.py is every run's parent: a Numba it had loaded would share LLVM's pages with the w2v child,
    which could then not page them out, and the child's peak memory would read high."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import compare; compare.machine_info(); "
            "compare.default_data(); print(sorted(m for m in ('numba', 'llvmlite', 'gensim') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, os.path.join(ROOT, "benchmarks")], capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_quality_against_time_takes_w2v_s_best_within_each_peer_point():
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from quality_time import compare_curves, summarise
    runs = [dict(config="cbow-ns", system=system, epochs=epochs, seed=seed, wall_seconds=seconds, peak_mib=100,
                 analogy=analogy, wordsim353=0.5)
            for system, epochs, seconds, analogy in (("w2v", 1, 5.0, 10.0), ("w2v", 2, 9.0, 20.0),
                                                     ("w2v", 5, 20.0, 30.0), ("gensim-file", 1, 8.0, 12.0),
                                                     ("gensim-file", 5, 40.0, 28.0))
            for seed, shift in ((1, 0.0), (2, 1.0)) for seconds, analogy in [(seconds + shift, analogy + shift)]]
    points = summarise(runs)
    assert len(points) == 5 and points[0]["repeats"] == 2
    assert points[0]["wall_seconds"] == 5.5 and points[0]["analogy"] == 10.5  # median time, mean score
    rows = {row["epochs"]: row for row in compare_curves(points)}
    assert rows[1]["analogy_peer"] == 12.5 and rows[1]["analogy_w2v"] == 10.5  # only w2v's 1 epoch was as fast
    assert rows[5]["analogy_w2v"] == 30.5  # w2v's 5 epochs took 20.5 s, under gensim's 40.5


def test_seeded_word2vec_c_patch_moves_both_random_states():
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from seeded_word2vec_c import SEED_PATCH, patch_source
    original = "\n".join(old for old, _ in SEED_PATCH)  # word2vec.c's four lines the patch changes
    patched = patch_source(original)
    assert "next_random = 1 + seed;" in patched
    assert "next_random = (long long)id + (seed << 20);" in patched
    assert 'ArgPos((char *)"-seed", argc, argv)) > 0) seed = atoll' in patched
    assert patched.index("long long seed = 0;") < patched.index("1 + seed")  # declared before use
    with pytest.raises(ValueError, match="expected 'unsigned long long next_random = 1;' once, found it 0 times"):
        patch_source(original.replace("next_random = 1;", "next_random = 7;"))


def test_merged_reports_give_the_difference_of_means_and_its_standard_error(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from compare import merge_reports

    def report(date, analogies):  # one w2v and one word2vec-c run per seed
        runs = [{"config": "sg-hs", "system": system, "threads": 2, "words_per_second": speed, "train_seconds": 1.0,
                 "analogy": value + shift, "seed": seed}
                for seed, value in analogies for system, shift, speed in (("w2v", 0.0, 2e6), ("word2vec-c", 1.0, 1e6))]
        path = tmp_path / f"{date}.json"
        path.write_text(json.dumps({"date": date, "corpus": "c.txt", "tokens": 10, "line_words": 5, "epochs": 1,
                                    "dim": 8, "repeat": len(analogies), "runs": runs,
                                    "machine": {"cpu": "x", "cores": 2, "memory_gib": 1, "versions": {}}}))
        return str(path)

    merged = merge_reports([report("d1", [(1, 30.0), (2, 31.0)]), report("d2", [(3, 32.0)])], str(tmp_path), "m")
    (ratio,) = merged["ratios"]
    assert ratio["peer"] == "word2vec-c" and ratio["speed_ratio"] == 2.0
    assert ratio["analogy_mean_delta"] == pytest.approx(-1.0)
    assert ratio["analogy_mean_delta_se"] == pytest.approx((1.0 / 3 + 1.0 / 3) ** 0.5)  # sd 1 in both, n 3
    text = (tmp_path / "m.md").read_text()
    assert "Pooled from d1.json, d2.json." in text and "| sg-hs | 2 | word2vec-c | -1.00 ± 0.82 |" in text


@pytest.mark.parametrize("script,arguments", [
    ("compare.py", ["--merge", "missing.json", "--name", "m"]),
    ("compare.py", ["--corpus", "missing.txt"]),
    ("compare.py", ["--corpus", "not-word2vec.c", "--repeat", "0"]),
    ("compare.py", ["--corpus", "not-word2vec.c", "--threads", "two"]),
    ("compare.py", ["--corpus", "not-word2vec.c", "--configs", "sg-neg"]),
    ("compare.py", ["--corpus", "not-word2vec.c", "--data", "missing"]),
    ("compare.py", ["--corpus", "not-word2vec.c", "--word2vec-bin", "not-word2vec.c"]),
    ("compare.py", ["--no-such-option"]),
    ("quality_time.py", ["--corpus", "missing.txt"]),
    ("quality_time.py", ["--corpus", "not-word2vec.c", "--epochs", "0"]),
    ("quality_time.py", ["--corpus", "not-word2vec.c", "--systems", "fasttext"]),
    ("quality_time.py", ["--corpus", "not-word2vec.c", "--repeat", "0"]),
    ("quality_time.py", ["--corpus", "not-word2vec.c", "--configs", "sg-hs"]),
    ("quality_time.py", ["--corpus", "not-word2vec.c", "--peer-epochs", "one"]),
    ("seeded_word2vec_c.py", ["--source", "not-word2vec.c", "-o", "word2vec-seeded"]),
    ("phrases_bench.py", ["--corpus", "missing.txt"]),
    ("phrases_bench.py", ["--corpus", "not-word2vec.c", "--repeat", "0"]),
    ("phrases_quality.py", ["--corpus", "missing.txt"]),
    ("synthetic_scale.py", ["--word2vec-bin", "missing", "--tokens", "5"]),
    ("synthetic_scale.py", ["--word2vec-bin", "missing", "--systems", "w2v", "--min-count", "0"]),
    ("synthetic_scale.py", ["--word2vec-bin", "missing", "--systems", "w2v", "--exponent", "1"]),
    ("synthetic_scale.py", ["--word2vec-bin", "missing", "--systems", "w2v", "--folder", "missing"]),
    ("thread_overhead.py", ["--words-per-second", "0"]),
    ("distributed_same_stream.py", ["--corpus", "not-word2vec.c", "--dim", "0"]),
    ("thread_overhead.py", ["--corpus", "missing.txt"]),
    ("distributed_same_stream.py", ["--corpus", "missing.txt"]),
    ("distributed_same_stream.py", ["--corpus", "not-word2vec.c", "--seed", "four"]),
    ("thread_overhead.py", ["--threads", "0"]),
    ("thread_overhead.py", ["--chunk-ms", "fast"]),
    ("thread_overhead.py", ["--waves", "1"]),
    ("thread_overhead.py", ["--handed-out", "0"]),
    ("thread_overhead.py", ["--tail-corpus", "missing.txt"]),
    ("thread_overhead.py", ["--tail-threads", "many"]),
    ("synthetic_scale.py", ["--word2vec-bin", "missing", "--systems", "w2v,spark"]),
    ("synthetic_scale.py", ["--word2vec-bin", "missing"]),
    ("synthetic_scale.py", ["--word2vec-bin", "missing", "--systems", "w2v", "--corpus", "missing.txt"]),
    ("phrases_quality.py", ["--corpus", "not-word2vec.c", "--seeds", "one"]),
    ("phrases_quality.py", ["--corpus", "not-word2vec.c", "--epochs", "0"]),
    ("phrases_quality.py", ["--corpus", "not-word2vec.c", "--data", "missing"]),
    ("combine_oracle.py", ["--corpus", "missing.txt"]),
    ("combine_oracle.py", ["--corpus", "not-word2vec.c", "--sync-words", "10"]),
    ("combine_variants.py", ["bogus", "train", "not-word2vec.c", "-o", "v.bin"]),
    ("combine_variants.py", ["eta:0", "train", "not-word2vec.c", "-o", "v.bin"]),
    ("combine_variants.py", ["guard:two", "train", "not-word2vec.c", "-o", "v.bin"]),
    ("combine_variants.py", ["guard-only:syn1", "train", "not-word2vec.c", "-o", "v.bin"]),
    ("combine_variants.py", []),
    ("bzip2_blocks.py", ["--corpus", "missing.txt"]),
    ("bzip2_blocks.py", ["--corpus", "not-word2vec.c", "--repeat", "0"]),
    ("bzip2_blocks.py", ["--corpus", "not-word2vec.c", "--threads", "two"]),
    ("bzip2_blocks.py", ["--corpus", "not-word2vec.c", "--folder", "missing"]),
    ("read_speed.py", ["--corpus", "missing.txt"]),
    ("read_speed.py", ["--corpus", "not-word2vec.c", "--files", "0"]),
    ("read_speed.py", ["--corpus", "not-word2vec.c", "--readers", "0"]),
    ("read_speed.py", ["--corpus", "not-word2vec.c", "--folder", "missing"]),
    ("read_speed.py", ["--corpus", "not-word2vec.c", "--compression", "zip"]),
    ("read_speed.py", ["--corpus", "not-word2vec.c", "--compression", "bz2", "--bz2-readers", "fast"]),
    ("read_speed.py", ["--corpus", "not-word2vec.c", "--compression", "bz2", "--bz2-readers", "blocks,blocks"]),
    ("read_speed.py", ["--corpus", "not-word2vec.c", "--bz2-readers", "standard"]),
    ("kernel_ab.py", ["missing.py", "not-word2vec.c", "--corpus", "not-word2vec.c"]),
    ("kernel_ab.py", ["not-word2vec.c", "not-word2vec.c", "--corpus", "not-word2vec.c"]),
    ("kernel_ab.py", ["not-word2vec.c", "not-word2vec.c", "--corpus", "missing.txt"]),
    ("kernel_ab.py", ["not-word2vec.c", "not-word2vec.c", "--rounds", "0"]),
    ("kernel_ab.py", ["not-word2vec.c", "not-word2vec.c", "--threads", "two"]),
    ("vectors_scale.py", ["--words", "5"]),
    ("vectors_scale.py", ["--dim", "0"]),
    ("vectors_scale.py", ["--words", "100", "--text-words", "200"]),
    ("vectors_scale.py", ["--words", "100", "--glove"]),
    ("vectors_scale.py", ["--folder", "missing"]),
    ("vectors_scale.py", ["--old", "missing"]),
    ("vectors_scale.py", ["--repeat", "two"]),
    ("many_files.py", ["--corpus", "missing.txt"]),
    ("many_files.py", ["--corpus", "not-word2vec.c", "--files", "0"]),
    ("many_files.py", ["--corpus", "not-word2vec.c", "--folder", "missing"]),
    ("many_files.py", ["--corpus", "not-word2vec.c", "--old", "."]),
    ("distributed_files.py", ["--corpus", "missing.txt"]),
    ("distributed_files.py", ["--corpus", "not-word2vec.c", "--files", "0"]),
    ("distributed_files.py", ["--corpus", "not-word2vec.c", "--workers", "two"]),
    ("distributed_timeline.py", ["--corpus", "missing.txt"]),
    ("distributed_timeline.py", ["--corpus", "not-word2vec.c", "--workers", "0"]),
    ("distributed_timeline.py", ["--corpus", "not-word2vec.c", "--repeat", "two"]),
    ("distributed_files.py", ["--corpus", "not-word2vec.c", "--compression", "zip"]),
    ("distributed_files.py", ["--corpus", "not-word2vec.c", "--folder", "missing"]),
    ("distributed_files.py", ["--corpus", "not-word2vec.c", "--old", "."]),
    ("bzip2_layout.py", ["--file", "missing.bz2"]),
    ("bzip2_layout.py", ["--file", "not-word2vec.c"]),
    ("bzip2_layout.py", ["--file", "not-word2vec.c", "--workers", "two"]),
    ("bzip2_layout.py", ["--file", "not-word2vec.c", "--workers", "0"]),
    ("bzip2_layout.py", ["--file", "not-word2vec.c", "--repeat", "0"]),
    ("merge_shards.py", ["--corpus", "missing.txt"]),
    ("merge_shards.py", ["--corpus", "not-word2vec.c", "--shards", "0"]),
    ("merge_shards.py", ["--corpus", "not-word2vec.c", "--shards", "two"]),
    ("merge_shards.py", ["--corpus", "not-word2vec.c", "--repeat", "0"]),
    ("merge_shards.py", ["--corpus", "not-word2vec.c", "--name", "../x"]),
    ("write_speed.py", ["--words", "0"]),
    ("write_speed.py", ["--formats", "npz"]),
    ("write_speed.py", ["--formats", "bin,bin"]),
    ("write_speed.py", ["--threads", "0"]),
    ("write_speed.py", ["--folder", "missing"]),
    ("scan_speed.py", ["--corpus", "missing.txt"]),
    ("scan_speed.py", ["--corpus", "not-word2vec.c", "--repeat", "0"]),
    ("scan_speed.py", ["--corpus", "not-word2vec.c", "--spool", "missing"]),
    ("scan_speed.py", ["--corpus", "not-word2vec.c", "--old", "."]),
    ("scan_speed.py", ["--corpus", "not-word2vec.c", "--pair"]),
    ("vocab_against_c.py", ["--corpus", "missing.txt", "--word2vec-bin", "not-word2vec.c"]),
    ("vocab_against_c.py", ["--corpus", "not-word2vec.c", "--word2vec-bin", "not-word2vec.c"]),
    ("vocab_against_c.py", ["--corpus", "not-word2vec.c", "--word2vec-bin", "missing", "--count-limits", "10,0"]),
    ("vocab_against_c.py", ["--corpus", "not-word2vec.c", "--word2vec-bin", "missing", "--folder", "missing"]),
    ("vocab_against_c.py", ["--corpus", "not-word2vec.c", "--word2vec-bin", "missing", "--out", "missing"]),
])
def test_benchmark_tools_reject_bad_inputs_in_one_line(tmp_path, script, arguments):
    (tmp_path / "not-word2vec.c").write_text("int main() { return 0; }\n")
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", script)] + arguments
                            + (["--out", str(tmp_path)] if script in ("compare.py", "quality_time.py") else []),
                            capture_output=True, text=True, cwd=str(tmp_path))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-word2vec.c"]  # nothing written


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux: --one-core pins with sched_setaffinity")
def test_scan_speed_pair_needs_two_cores(tmp_path):
    """--pair runs two pinned passes at once, one a core: with one core to run on it is refused in one line."""
    (tmp_path / "c.txt").write_text("a b c\n")
    core = min(os.sched_getaffinity(0))
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "scan_speed.py"), "--corpus", "c.txt",
                             "--one-core", "--pair"], capture_output=True, text=True, cwd=str(tmp_path),
                            preexec_fn=lambda: os.sched_setaffinity(0, {core}))
    assert result.returncode != 0
    assert result.stderr.strip() == "scan_speed: --pair needs two cores to run on; this process may use 1", \
        result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt"]


def _speed_row(run, threads, speed, version="now"):
    """A row of scan_speed.py's table, with only what its ratios read."""
    return {"version": version, "threads": threads, "run": run, "MB/s": speed}


def test_scan_speed_gives_each_rounds_own_ratio():
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from scan_speed import PAIRED, round_ratios
    row = _speed_row
    rows = [row(1, "1 (one core)", 100.0), row(1, PAIRED, 90.0), row(1, PAIRED, 95.0), row(1, 1, 110.0),
            row(1, 2, 400.0, version="old"), row(1, 2, 190.0),
            row(2, "1 (one core)", 120.0), row(2, PAIRED, 90.0), row(2, PAIRED, 95.0), row(2, 1, 110.0),
            row(2, 2, 180.0), row(2, 2, 150.0, version="old")]
    assert round_ratios(rows, ("now", "1 (one core)")) == pytest.approx([190 / 100, 180 / 120])
    assert round_ratios(rows, ("now", 1)) == pytest.approx([190 / 110, 180 / 110])
    assert round_ratios(rows, ("old", 2)) == pytest.approx([190 / 400, 180 / 150])  # --old: now against old
    assert round_ratios(rows, ("now", 1), ("now", PAIRED)) == pytest.approx([90 / 110, 90 / 110])


def test_scan_speed_weighs_two_threads_against_the_mean_of_both_cores():
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from scan_speed import ONE, PAIRED, SECOND, against_cores, cores_mean, pair_sums
    row = _speed_row
    rows = [row(1, ONE, 100.0), row(1, SECOND, 120.0), row(1, PAIRED, 95.0), row(1, PAIRED, 115.0),
            row(1, 2, 200.0), row(1, 2, 500.0, version="old"), row(1, SECOND, 999.0, version="old"),
            row(2, ONE, 90.0), row(2, SECOND, 110.0), row(2, PAIRED, 85.0), row(2, PAIRED, 100.0), row(2, 2, 190.0)]
    assert cores_mean(rows) == pytest.approx({1: 110.0, 2: 100.0})
    assert against_cores(rows) == pytest.approx([200 / 110, 190 / 100])
    assert pair_sums(rows) == pytest.approx({1: 210.0, 2: 185.0})
    assert against_cores(rows, pair_sums(rows)) == pytest.approx([210 / 110, 185 / 100])


def test_merging_reports_of_different_settings_is_refused(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from compare import merge_reports
    paths = []
    for dim in (8, 16):
        path = tmp_path / f"d{dim}.json"
        path.write_text(json.dumps({"date": "d", "corpus": "c.txt", "tokens": 10, "line_words": 5, "epochs": 1,
                                    "dim": dim, "runs": []}))
        paths.append(str(path))
    with pytest.raises(SystemExit, match="differ in corpus or settings"):
        merge_reports(paths, str(tmp_path), "m")
    assert not (tmp_path / "m.md").exists()


def test_kernel_ab_refuses_a_file_without_the_kernel_in_one_line(tmp_path):
    (tmp_path / "corpus.txt").write_text("a b c\n")
    (tmp_path / "other.py").write_text("x = 1\n")
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "kernel_ab.py"), "other.py", "other.py",
                             "--corpus", "corpus.txt", "--kernel", "cbow_exact"],
                            capture_output=True, text=True, cwd=str(tmp_path))
    assert result.returncode != 0
    assert result.stderr.strip() == "kernel_ab: other.py: defines no kernel cbow_exact", result.stderr


def test_the_guard_only_variant_guards_one_matrix_of_each_rounds_three(monkeypatch):
    """combine_variants.py's guard-only:M tells the matrices apart by the order a round makes its combiners
    (syn0, syn1neg, syn1): the named one keeps the guard (syn1neg with syn1, the output matrices), the other
    takes the counts alone."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import combine_variants
    from w2v import distributed
    for name in ("__init__", "factor"):  # (restored after the test: the variant patches the class)
        monkeypatch.setattr(distributed._Combiner, name, getattr(distributed._Combiner, name))
    short = np.full((1, 2), 0.5, np.float32)  # three changes as long as 2 on a row of length 0.7: guarded, the mean
    changes, updates = [(None, np.array([[2.0, 0.0]], np.float32))] * 3, [np.array([1.0])] * 3
    guarded, summed = [2.0, 0.0], [6.0, 0.0]
    back = np.array([[-127, 0]], np.int8)  # (the last combined change pointed the other way: the guard applies)
    combine_variants.apply_variant("guard-only:syn1neg")
    made = [distributed.combine(short, changes, updates, eta=0.0, last=back)[0] for _ in range(4)]
    assert [np.allclose(row, guarded) for row in made] == [False, True, True, False]  # (the next round's syn0)
    assert np.allclose(made[0], summed) and np.allclose(made[3], summed)


def test_the_guard_all_variant_guards_rows_whatever_their_last_change(monkeypatch):
    """combine_variants.py's guard-all is the rule before the guard looked at the last combined change: three
    workers' changes of a short row get the mean in the first round (no last change) and when the row goes on
    the way it went, where the rule as it is gives the sum."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import combine_variants
    from w2v import distributed, kernels
    monkeypatch.setattr(distributed._Combiner, "__init__", distributed._Combiner.__init__)
    monkeypatch.setattr(kernels, "reversed_rows", kernels.reversed_rows)  # (restored after the test)
    short = np.full((1, 2), 0.5, np.float32)
    changes, updates = [(None, np.array([[2.0, 0.0]], np.float32))] * 3, [np.array([1.0])] * 3
    on = np.array([[127, 0]], np.int8)
    assert np.allclose(distributed.combine(short, changes, updates, eta=0.0)[0], [6.0, 0.0])
    assert np.allclose(distributed.combine(short, changes, updates, eta=0.0, last=on)[0], [6.0, 0.0])
    combine_variants.apply_variant("guard-all")
    assert np.allclose(distributed.combine(short, changes, updates, eta=0.0)[0], [2.0, 0.0])
    assert np.allclose(distributed.combine(short, changes, updates, eta=0.0, last=on)[0], [2.0, 0.0])


def test_the_turned_mean_variant_averages_the_rows_the_rule_guards(monkeypatch):
    """combine_variants.py's turned-mean: a row three workers changed whose change turned back gets their plain
    mean, even a long row the guard leaves the sum; a row that went on gets the counts' shares (the sum here)."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import combine_variants
    from w2v import distributed
    monkeypatch.setattr(distributed._Combiner, "factor", distributed._Combiner.factor)  # (restored after the test)
    long = np.full((1, 2), 1000.0, np.float32)
    changes, updates = [(None, np.array([[2.0, 0.0]], np.float32))] * 3, [np.array([1.0])] * 3
    back, on = np.array([[-127, 0]], np.int8), np.array([[127, 0]], np.int8)
    assert np.allclose(distributed.combine(long, changes, updates, eta=0.0, last=back)[0], [6.0, 0.0], rtol=1e-2)
    combine_variants.apply_variant("turned-mean")
    assert np.allclose(distributed.combine(long, changes, updates, eta=0.0, last=back)[0], [2.0, 0.0])
    assert np.allclose(distributed.combine(long, changes, updates, eta=0.0, last=on)[0], [6.0, 0.0])
    assert np.allclose(distributed.combine(long, changes, updates, eta=0.0)[0], [6.0, 0.0])


NAMED_RESULTS = ["bzip2_blocks.py", "bzip2_layout.py", "combine_oracle.py", "compare.py", "distributed_count_memory.py",
                 "distributed_files.py",
                 "distributed_runs.py",
                 "distributed_same_stream.py", "distributed_timeline.py",
                 "end_to_end.py", "first_run.py", "many_files.py", "merge_shards.py", "model_runs.py",
                 "phrases_quality.py", "quality_time.py",
                 "read_speed.py", "repeated_corpus.py", "scan_speed.py", "synthetic_scale.py", "thread_overhead.py",
                 "timeline.py", "vectors_scale.py", "vocab_against_c.py", "write_speed.py"]


def test_every_benchmark_with_a_results_name_covered():
    """The list below is every script with ``--name``: a new one must refuse paths too."""
    named = sorted(name for name in os.listdir(os.path.join(ROOT, "benchmarks"))
                   if name.endswith(".py") and '"--name"' in slurp(os.path.join(ROOT, "benchmarks", name)))
    assert named == sorted(NAMED_RESULTS)


@pytest.mark.parametrize("script", NAMED_RESULTS)
@pytest.mark.parametrize("name", ["../escaped", "/tmp/escaped"])
def test_a_results_name_with_a_path_is_refused_before_anything_runs(tmp_path, script, name):
    """``--name`` is a file name in results/ (or --out): a path would write outside it, after the whole run."""
    # (a timeout: were the name let through, some scripts would start a whole benchmark on the default corpus)
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", script), "--name", name],
                            capture_output=True, text=True, cwd=str(tmp_path), timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"{name!r} is not a results file's name" in result.stderr.strip().splitlines()[-1], result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_timeline_of_a_run_has_every_step_in_order(tmp_path, sample_path):
    """timeline.py hooks private names of w2v: a renamed one would leave its step out, or its calls."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import timeline
    row = timeline.run_child(sample_path, str(tmp_path / "v.bin"), ["--epochs", "1", "--threads", "2", "--dim", "20"])
    ends = [row[step] for step in timeline.STEPS]
    assert ends == sorted(ends) and 0 < ends[0] and ends[-1] < row["wall s (from outside)"]
    assert row["counting kernels loaded"] <= row["counting first start"] < row["counting last end"] \
        <= row["counted (vocabulary built)"] <= row["training first start"]
    assert row["training threads"] == 2 and row["training calls"] >= 2
    assert row["counting calls"] >= 3  # a piece's count, its merge and its copy to the spool, at least
    assert 0 < row["counting count s"] and 0 < row["counting merge s"] and 0 < row["counting spool s"]
    for label in ("counting", "training"):
        busy, span = row[f"{label} busy s"], row[f"{label} last end"] - row[f"{label} first start"]
        assert 0 < busy <= row[f"{label} threads"] * span + 1e-6
        assert abs(row[f"{label} waited s"] - (row[f"{label} threads"] * span - busy)) < 1e-6
    assert (tmp_path / "v.bin").read_bytes().split(b"\n", 1)[0].endswith(b" 20")  # the run wrote its vectors
    table = timeline.markdown([row, row], "python benchmarks/timeline.py --corpus c", ["--epochs", "1"])
    assert "| training threads | 2 | 2 | 2 |" in table


def test_a_recorded_result_is_never_replaced(tmp_path):
    """A second run under a name taken (a benchmark's default, or a name given twice) is written beside
    the first, as NAME-2, NAME-3, ...: results/ is the project's record of what was measured."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from timing import free_stem, write_result
    first = write_result("run", ["# first"], folder=str(tmp_path))
    second = write_result("run", "# second\n", folder=str(tmp_path))
    third = write_result("run", ["# third"], folder=str(tmp_path))
    assert [os.path.basename(p) for p in (first, second, third)] == ["run.md", "run-2.md", "run-3.md"]
    assert [(tmp_path / n).read_text() for n in ("run.md", "run-2.md", "run-3.md")] == \
        ["# first\n", "# second\n", "# third\n"]
    # a stem is free only when none of its files is there (a comparison writes .json, .md and .png)
    (tmp_path / "plot.png").write_bytes(b"")
    assert free_stem("plot", (".json", ".md"), str(tmp_path)) == "plot"
    assert free_stem("plot", (".json", ".md", ".png"), str(tmp_path)) == "plot-2"
    os.symlink(str(tmp_path / "nowhere"), str(tmp_path / "dangling.md"))  # a dangling link is taken too
    assert free_stem("dangling", folder=str(tmp_path)) == "dangling-2"
    with pytest.raises(ValueError, match="is not a results file's name"):
        free_stem("../up", folder=str(tmp_path))


def test_a_recorded_command_can_be_run_again_as_written():
    """An argument with a space (first_run.py's ``--args``) is recorded quoted, not as words of its own."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from timing import invocation
    assert invocation("/x/first_run.py", ["--args", "--threads 1", "--repeat", "3"]) == \
        "python benchmarks/first_run.py --args '--threads 1' --repeat 3"


def test_no_benchmark_opens_a_results_file_to_replace_it():
    """Every script records through timing's helpers (:func:`write_result`, or :func:`free_stem` and
    ``create_new``), not an ``open(..., "w")`` of results/ or of a ``--name`` stem."""
    folder = os.path.join(ROOT, "benchmarks")
    offenders = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py") and name != "timing.py":
            for number, line in enumerate(slurp(os.path.join(folder, name)).splitlines(True), 1):
                if ('"w")' in line or '"wb")' in line) and any(k in line for k in ("results", "stem", "args.name", "args.out")):
                    offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == []


def test_write_result_refuses_a_path(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from timing import write_result
    target = tmp_path / "escaped"
    with pytest.raises(ValueError, match="is not a results file's name"):
        write_result(str(target), ["# nothing"])
    for name in ("../escaped", ".hidden", "-n", ""):
        with pytest.raises(ValueError, match="is not a results file's name"):
            write_result(name, ["# nothing"])
    assert not (tmp_path / "escaped.md").exists()
    assert not os.path.exists(os.path.join(ROOT, "benchmarks", "escaped.md"))


@pytest.mark.parametrize("script,arguments", [("kernel_ab.py", ["a.py", "b.py", "--rounds", "0"]),
                                              ("profile_kernel.py", ["--seconds", "soon"])])
def test_benchmarks_with_a_numba_cache_of_their_own_leave_no_folder_behind(tmp_path, script, arguments):
    """kernel_ab.py and profile_kernel.py compile into a temporary Numba cache made when they start; it goes
    when they end, however they end (here: a bad option), or every test run and benchmark leaves one."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", script)] + arguments,
                            capture_output=True, text=True, cwd=str(tmp_path), timeout=120,
                            env={**os.environ, "TMPDIR": str(scratch)})
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert list(scratch.iterdir()) == []


def test_the_bzip2_benchmarks_read_with_the_standard_library_when_asked(tmp_path):
    import bz2

    from w2v import bzip2, compression
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import bzip2_blocks
    path = tmp_path / "t.txt.bz2"
    path.write_bytes(bz2.compress(b"the cat sat\n" * 100))
    assert bzip2_blocks.STANDARD_PATCH in bzip2_blocks.STANDARD_LIBRARY  # the children's reader is the same
    with bzip2_blocks.standard_library_bzip2():
        with compression.open_read(str(path)) as f:
            assert isinstance(f, bz2.BZ2File) and f.read() == b"the cat sat\n" * 100
    with compression.open_read(str(path)) as f:  # the block reader is back
        assert isinstance(f.raw, bzip2.ParallelBzip2) and f.read() == b"the cat sat\n" * 100


@pytest.mark.parametrize("compression", ["gz", "bz2"])
def test_a_corpus_of_one_line_is_cut_into_files_of_about_equal_size_at_white_space(tmp_path, compression):
    import bz2
    import gzip
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import read_speed
    text = b" ".join(b"word%d" % (i % 97) for i in range(20_000))  # one line, no line end
    corpus = tmp_path / "one-line.txt"
    corpus.write_bytes(text)
    (tmp_path / "parts").mkdir()
    paths, sizes = read_speed.split_compressed(str(corpus), 3, str(tmp_path / "parts"), compression)
    opener = {"gz": gzip.open, "bz2": bz2.open}[compression]
    parts = []
    for path in paths:
        with opener(path, "rb") as f:
            parts.append(f.read())
    assert b"".join(parts) == text and [len(p) for p in parts] == sizes
    assert all(abs(len(p) - len(text) / 3) < 20 for p in parts)
    assert all(p.endswith(b" ") for p in parts[:-1])  # no token cut


def test_distributed_files_counts_each_parts_compressed_bytes(tmp_path, monkeypatch):
    """distributed_files.py counts the reads of the files w2v.corpus opens: a change there would count nothing."""
    import gzip
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import distributed_files
    import read_speed
    files = []
    for i in range(4):
        files.append(str(tmp_path / f"{i}.txt.gz"))
        with gzip.open(files[-1], "wb") as f:
            f.write(b"word%d " % i * 2000)
    sizes = [os.path.getsize(path) for path in files]
    read = distributed_files.read_bytes(ROOT, files, 2)
    assert sum(read) == sum(sizes) and all(read)  # each file read once, by one part of two
    assert distributed_files.read_bytes(ROOT, files[:1], 2) == [sizes[0]] * 2  # one file: shared by both
    rng = __import__("random").Random(1)
    (tmp_path / "corpus.txt").write_bytes(b" ".join(b"w%d" % rng.randrange(100_000) for _ in range(150_000)))
    (tmp_path / "xz").mkdir()
    monkeypatch.setattr(read_speed, "XZ_BLOCK", 128 << 10)
    paths, _ = read_speed.split_compressed(str(tmp_path / "corpus.txt"), 1, str(tmp_path / "xz"), "xz")
    assert os.path.getsize(paths[0]) > 2 * (64 << 10)  # (large enough to be cut between two parts)
    read = distributed_files.read_bytes(ROOT, paths, 2)  # 1 MB of text in 8 blocks: half a part, and a block
    assert len(read) == 2 and all(0.4 < b / os.path.getsize(paths[0]) < 0.7 for b in read), read
    one_bz2 = str(tmp_path / "one.txt.bz2")  # cut by its blocks: each part scans its half for the layout
    with open(one_bz2, "wb") as f:            # its workers find together, then reads the blocks of its half
        f.write(__import__("bz2").compress((tmp_path / "corpus.txt").read_bytes() * 2, 1))
    read = distributed_files.read_bytes(ROOT, [one_bz2], 2)
    assert len(read) == 2 and all(0.9 < b / os.path.getsize(one_bz2) < 1.25 for b in read), read


def test_vocab_against_c_reports_the_words_only_one_side_keeps(tmp_path, sample_path):
    """vocab_against_c.py compares w2v's vocabulary with word2vec.c's word by word: a stand-in for word2vec.c
    (its vocabulary file made from w2v's own, one word dropped, one added, one count changed, and ``</s>``)
    must show up as one word in each column."""
    ours = tmp_path / "ours.txt"
    subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), "vocab", sample_path, "-o", str(ours), "-q",
                    "--min-count", "3"], check=True)
    sentence_end, *lines = ours.read_text().splitlines()
    assert sentence_end == "</s> 0"  # (left out as word2vec.c's is)
    (first, _), (second, count), *rest = [line.split() for line in lines]
    theirs = "".join(f"{w} {c}\n" for w, c in [("</s>", "99"), (second, int(count) + 1)] + rest + [("zzz", "3")])
    fake = tmp_path / "word2vec"
    fake.write_text("#!" + sys.executable + "\nimport sys\n"
                    f"open(sys.argv[sys.argv.index('-save-vocab') + 1], 'w').write({theirs!r})\n")
    fake.chmod(0o755)
    out = tmp_path / "results"
    out.mkdir()
    subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "vocab_against_c.py"), "--corpus", sample_path,
                    "--word2vec-bin", str(fake), "--count-limits", "1000000", "--min-count", "3", "--folder",
                    str(tmp_path), "--out", str(out), "--name", "t"], check=True, capture_output=True)
    table = (out / "t.md").read_text()
    words = len(rest) + 2
    assert f" | {words:,} | | | |" in table  # word2vec.c's own row: its words, </s> left out
    assert f" | {words:,} | 1 | 1 | 1 |" in table  # first only in ours, zzz only in theirs, second's count
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ours.txt", "results", "word2vec"]  # its folder removed
