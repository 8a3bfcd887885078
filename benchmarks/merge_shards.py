"""The serial part of the counting pass: the pieces' counts merged in order, into one table or in shards.

    python benchmarks/merge_shards.py --corpus /tmp/wiki8.txt --shards 1,2 --repeat 5
    python benchmarks/merge_shards.py --corpus /tmp/zipf25m.txt --shards 1,2 --repeat 3

The counting pass (``w2v.scan.count_and_spool``) counts the pieces of the text on every thread, but merges
each piece's count into the corpus's only after the piece before: however many threads count, the pass
cannot take less time than that chain of merges. This script counts every piece first (one thread,
untimed, all kept in memory) and then times the chain alone as the pass makes it: into one table
(``--shards 1``), or into S shards a piece's tokens are merged into on S threads at once
(``w2v.scan._ShardedCount``), the shards joined into one table at the end (timed apart, and in the
total). Rounds alternate the shard counts. It reports each chain's seconds and the MB/s of text that
chain allows the counting pass on any number of threads, and a digest of each count's tokens and counts,
which must be one. Pruning is not exercised (no count limit).
"""
from __future__ import annotations

import hashlib
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from compare import BadArgument, OneLineParser, at_least_one, positive_ints, run_in_one_line  # noqa: E402
from timing import invocation, result_name, write_result  # noqa: E402


def counted_pieces(path: str) -> tuple:
    """``(pieces, bytes)``: every piece of the corpus counted alone, as ``(table, n, hashes)``."""
    from w2v import kernels, scan
    from w2v.corpus import Corpus
    scan.prepare("spool")
    scan.prepare("shards")
    counted, size = [], 0
    for piece in scan.pieces(Corpus([path]), "counting"):
        size += len(piece)
        ids = np.empty(len(piece) // 2 + 16, np.int32)
        hashes = np.empty(len(piece) // 2 + 16, np.uint64)
        table, n, _, _, _, hashes = kernels.count_tokens_ids(piece.copy(), kernels.table_new(1 << 16), 0, 0, ids,
                                                             hashes)
        counted.append((table, n, hashes))
    return counted, size


def merge_chain(counted: list, shards: int) -> tuple:
    """``(merge seconds, join seconds, table, n)``: the pieces merged in order into ``shards`` tables."""
    from w2v import kernels, scan
    start = time.perf_counter()
    if shards == 1:
        table, n, used = kernels.table_new(1 << 16), 0, 0
        for other, other_n, hashes in counted:
            table, n, used, _ = kernels.table_merge_map(table, n, used, other, other_n, hashes)
        return time.perf_counter() - start, 0.0, table, n
    sharded = scan._ShardedCount(shards)
    try:
        for other, other_n, hashes in counted:
            sharded.merge_map(other, other_n, hashes)
        merged = time.perf_counter()
        table, n, _ = sharded.joined()
    finally:
        sharded.close()
    return merged - start, time.perf_counter() - merged, table, n


def digest(table: tuple, n: int) -> str:
    """Of the count's tokens and counts, in the tokens' byte order (whatever the entries' order)."""
    from w2v import kernels
    tokens = kernels.table_tokens_joined(table, np.arange(n, dtype=np.int64)).tobytes().split(b"\n")
    counts = table[kernels.TABLE_ENTRIES][:n, 1]
    order = sorted(range(n), key=tokens.__getitem__)
    h = hashlib.sha256(b"\n".join(tokens[i] for i in order))
    h.update(counts[np.asarray(order, dtype=np.int64)].tobytes())
    return h.hexdigest()[:12]


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, help="a plain text file")
    parser.add_argument("--shards", default="1,2", help="comma-separated shard counts to compare")
    parser.add_argument("--repeat", type=at_least_one, default=5, help="rounds, each timing every shard count")
    parser.add_argument("--name", type=result_name, default="merge-shards")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.corpus):
        raise BadArgument(f"--corpus {args.corpus}: no such file")
    shard_counts = positive_ints("--shards", args.shards)
    counted, size = counted_pieces(args.corpus)
    distinct = sum(n for _, n, _ in counted)
    print(f"{len(counted)} pieces, {size / 1e6:.1f} MB, {distinct:,} distinct tokens summed over the pieces",
          flush=True)
    rows, digests = [], {}
    for round_ in range(1, args.repeat + 1):
        order = shard_counts if round_ % 2 else shard_counts[::-1]
        for shards in order:
            merge_s, join_s, table, n = merge_chain(counted, shards)
            if shards not in digests:
                digests[shards] = digest(table, n)
            rows.append((shards, round_, merge_s, join_s, n))
            print(f"shards {shards} round {round_}: merges {merge_s:.3f} s, join {join_s:.3f} s, {n:,} tokens",
                  flush=True)
    lines = ["# The counting pass's merges, in one table or in shards", "",
             f"`{invocation(__file__, argv)}` ({size / 1e6:.1f} MB of text in {len(counted)} pieces; "
             f"{distinct:,} distinct tokens summed over the pieces; rounds alternate)", "",
             "| shards | round | merges s | join s | chain s | MB/s the chain allows | tokens |",
             "|---|---|---|---|---|---|---|"]
    for shards, round_, merge_s, join_s, n in rows:
        chain = merge_s + join_s
        lines.append(f"| {shards} | {round_} | {merge_s:.3f} | {join_s:.3f} | {chain:.3f} | {size / 1e6 / chain:.0f} "
                     f"| {n:,} |")
    lines.append("")
    for shards in shard_counts:
        chains = [m + j for s, _, m, j, _ in rows if s == shards]
        median = statistics.median(chains)
        lines.append(f"- {shards} shard(s): chain median {median:.3f} s ({size / 1e6 / median:.0f} MB/s), "
                     f"digest {digests[shards]}")
    lines.append(f"- digests: {sorted(set(digests.values()))} (one digest: the same tokens and counts)")
    write_result(args.name, lines)


if __name__ == "__main__":
    run_in_one_line(main, "merge_shards.py")
