"""The two passes over the text, counting and encoding, in compiled code on every core.

The corpus is read in blocks (:meth:`w2v.corpus.Corpus.sources`) by reader threads, each reading its
share of the files one after the other (:func:`read_sources`): one for plain files, up to one a worker
for compressed ones, which decompress in parallel (one stream beside the parsing). The blocks are
gathered in order into *pieces* of about :data:`PIECE_BYTES`, each cut at white space (a block each at
the start, and smaller at the end when the corpus's size is known, :func:`_piece_target`).
Worker threads count or encode the pieces with the text kernels of :mod:`w2v.kernels`, which release
the GIL, and the results are taken in the pieces' order: counting merges each piece's
table into the corpus's in a worker thread, once the piece before is merged (:func:`_in_turn`: a
piece whose turn has not come is left to the thread merging the one before, so no thread waits);
encoding hands its pieces back to the main thread. So the result is the same whatever the number of
threads, and memory is bounded by the pieces in flight (one per thread, and one more; the counting
that spools keeps their buffers for the pieces after, so their pages are not faulted in again).

Pieces join the blocks of one file as they are; after a file whose text does not end with a newline
one is put, so a line never runs on into the next file, and after a token that a block had to cut (a run of more than the block
size without white space) a space, so the cut stays where the reader made it. Tokens, lines and
sentences are therefore exactly what the line-by-line Python reader made.

Counting (:func:`count`) keeps one token table for the corpus (from four threads up, one a thread,
each holding the tokens its hash picks, merged into at once and joined at the end:
:class:`_ShardedCount`): each piece's table is merged into it in order, and as long as it holds
more than ``prune_at`` distinct tokens (or more than :data:`w2v.options.TOKEN_BYTES_PER_LIMIT`
bytes of them a token allowed), every token seen at most
``m`` times is dropped and ``m`` grows by one (word2vec.c's ReduceVocab). Pruning happens at piece
boundaries, so the vocabulary of a pruned count does not depend on the number of threads either, and
memory holds at most ``prune_at`` tokens, of ``TOKEN_BYTES_PER_LIMIT * prune_at`` bytes at most, plus
those of the pieces in flight.

Training reads the text once (:func:`count_and_spool`): the counting pass also writes down each
token's entry in the count (merging a piece's table gives where its entries went; the merge takes the
piece's place in the spool in turn, and the copy there is made after the turn is passed on, beside the
next piece's merge, which left the serial part of a piece about 40% shorter), and once the
vocabulary is known :func:`w2v.encode.encode_spooled` maps the entries to word ids, which gives what
encoding the text again gives. Pruning renumbers the entries, so a pruned count drops that spool.

Encoding (:func:`encode_pieces`) looks every token up in a table of the vocabulary's words; a token that is
not found and is not valid UTF-8 is looked up again as it reads with its invalid bytes replaced (the
vocabulary counted it that way). Sentences are cut from the line ends as
:func:`w2v.encode.sentence_offsets` says.
"""
from __future__ import annotations

import collections
import concurrent.futures
import os
import queue
import threading
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .corpus import Corpus
from .options import TOKEN_BYTES_PER_LIMIT

__all__ = ["PIECE_BYTES", "pieces", "count", "count_and_spool", "Spooled", "merge", "merge_mapped", "Counted",
           "word_table", "encode_pieces"]

#: About how many bytes of text one piece holds.
PIECE_BYTES = 4 << 20
#: Entries gathered at a time by :meth:`Counted.words`.
WORDS_SHARE = 1 << 18
#: How many pieces at the start of a corpus are a single block each (:func:`_piece_target`).
FIRST_BLOCKS = 2
_SPACE = frozenset(b" \t\n\r\x0b\x0c")


def pieces(corpus: Corpus, desc: str, piece_bytes: Optional[int] = None, readers: int = 1,
           spare: Optional[List[np.ndarray]] = None) -> Iterator[np.ndarray]:
    """uint8 arrays of about ``piece_bytes`` (default :data:`PIECE_BYTES`) of the corpus, each ending at
    white space (module docstring). The files are read (and decompressed) ahead by up to ``readers``
    threads, each a file at a time (:func:`read_sources`; one thread when every file is plain), and a
    .bz2 or .xz file's blocks are inflated on ``readers`` threads (the command's ``--threads``). With
    ``spare``, a list the consumer puts back the pieces it is done with (:func:`_give_back`), each piece
    is a view of such a buffer, used again, instead of a new array: no fresh pages to fault in (some 250
    a MB of text).

    The first pieces are a block each, and when the corpus's size is known (plain files) the last ones
    shrink (:func:`_piece_target`), so the threads working on them start sooner and finish together.
    The pieces depend on the corpus and ``piece_bytes`` only, never on the number of threads, so a
    pruned count does not either."""
    piece_bytes = piece_bytes or PIECE_BYTES
    threads = readers  # the command's threads: a .bz2 or .xz file's blocks are inflated on as many
    total = corpus.plain_bytes() if isinstance(corpus, Corpus) else None  # (a phrased corpus's is not known)
    if total is not None:  # plain files: one reader keeps up (a copy from the page cache, or the disk's pace);
        readers = 1        # more would only take the GIL in turn over many small files
    parts: List[bytes] = []
    size = done = made = 0

    def joined() -> np.ndarray:
        if spare is None:
            return np.frombuffer(b"".join(parts), dtype=np.uint8)
        length = sum(len(part) for part in parts)  # (``size`` leaves out the separators put in)
        buffer = _spare_or_new(spare, length, np.uint8, slack=length >> 2)
        if len(parts) > 16:  # a folder's small files: one join, not an array assignment each (~1 µs)
            buffer[:length] = np.frombuffer(b"".join(parts), dtype=np.uint8)
            return buffer[:length]
        at = 0
        for part in parts:  # a few large blocks: each copied once, straight into the buffer
            buffer[at:at + len(part)] = np.frombuffer(part, dtype=np.uint8)
            at += len(part)
        return buffer[:length]

    ended_line = True  # whether the file's text so far ends with a newline
    bar = corpus.progress_bar(desc)
    try:
        for block, ends_file in read_sources(corpus.sources(bar, threads), readers, size=_block_bytes):
            if block:
                parts.append(block)
                size += len(block)
                ended_line = block[-1] == 10
                if not ends_file and block[-1] not in _SPACE:  # a token cut by the reader stays cut
                    parts.append(b" ")
            if ends_file:
                if not ended_line:  # a line never runs on into the next file
                    parts.append(b"\n")
                ended_line = True
            if size >= _piece_target(made, done, total, piece_bytes):
                yield joined()
                parts, done, size, made = [], done + size, 0, made + 1
    finally:
        bar.close()
    if size:
        yield joined()


def _block_bytes(item: Tuple[bytes, bool]) -> int:
    """The bytes of a ``(block, ends_file)`` item of :meth:`w2v.corpus.Corpus.sources` (at least 1: an empty
    block that ends a file still costs a hand-off)."""
    return len(item[0]) or 1


def _piece_target(made: int, done: int, total: Optional[int], piece_bytes: int) -> int:
    """The bytes of text a piece is cut after, when ``made`` pieces of ``done`` bytes are made of a corpus of
    ``total`` (None: unknown).

    The first :data:`FIRST_BLOCKS` pieces are a single block each, so that the first workers start as soon
    as a block each is read, not five (``benchmarks/README.md``, "Where two threads idle"). When the total
    is known the last pieces shrink, each about a quarter of what is left (down to a block), so the
    threads' last pieces end close together instead of one thread counting a whole piece alone while the
    others wait: a piece takes ~70 ms on wiki8, and a smaller one costs only its merge (a few ms, in turn,
    beside the counting).
    """
    if made < FIRST_BLOCKS:
        return 1
    if total is None:
        return piece_bytes
    return max(1, min(piece_bytes, (total - done) // 4))


def _spare_or_new(spare: List[np.ndarray], length: int, dtype, slack: int = 0) -> np.ndarray:
    """A buffer of at least ``length`` items taken from ``spare`` (buffers given back, shared by threads),
    or a new one with ``slack`` more when none is there or the one taken is too short (then dropped)."""
    try:
        buffer = spare.pop()  # (not checked first: another thread may take the last one in between)
    except IndexError:
        buffer = None
    if buffer is None or len(buffer) < length:
        buffer = np.empty(length + slack, dtype=dtype)
    return buffer


def _spare_table(spare: List[tuple], capacity: int) -> tuple:
    """A piece's token table: one given back to ``spare`` (after its merge), its slots emptied (the rest is
    written before it is read), or a new one for ``capacity`` tokens when none is there."""
    from . import kernels
    try:
        table = spare.pop()
    except IndexError:
        return kernels.table_new(capacity)
    table[kernels.TABLE_SLOTS].fill(0)
    return table


def _give_back(spare: List[np.ndarray], piece: np.ndarray) -> None:
    """Put a piece of :func:`pieces` (``spare=``) back for a later one, once nothing reads it any more."""
    spare.append(piece.base if isinstance(piece.base, np.ndarray) else piece)


#: Hand-offs the reader threads of :func:`read_sources` (:func:`read_ahead`) may be ahead of the passes, in all.
READ_AHEAD = 8
#: With ``size``, a reader hands over its items in batches of about this many bytes (one block of a large
#: file is a batch of its own; a folder's small files go over many to a batch, not three hand-offs a file).
READ_BATCH_BYTES = 256 << 10
_END = object()


class _Failure:
    """A source's exception, carried to the consumer in the place of the source's next item."""

    def __init__(self, error: BaseException):
        self.error = error


def read_ahead(items: Iterator, depth: Optional[int] = None) -> Iterator:
    """The items of ``items`` made by a thread of its own, up to ``depth`` (default :data:`READ_AHEAD`)
    ahead: reading and decompressing a corpus release the GIL, so the passes never wait on them (one
    ``.gz`` stream cannot be decompressed in parallel, but it can be beside the parsing). An exception
    of the reader is raised here; when the consumer stops early, the reader stops and closes ``items``."""
    reader = _Reader([lambda: items], depth or READ_AHEAD)
    try:
        yield from reader.next_source()
    finally:
        reader.close()


def read_sources(sources: Sequence[Callable[[], Iterator]], readers: int = 1,
                 size: Optional[Callable] = None) -> Iterator:
    """The items of every source (a function making an iterator, e.g. of one file's blocks), one source
    after the other, read ahead by up to ``readers`` threads (:class:`_Reader`), reader ``k`` making
    sources ``k``, ``k + readers``, ``k + 2·readers``, … one after the other: several compressed files are
    decompressed in parallel, and a folder of many small files costs no thread a file. With ``size`` (an
    item's bytes), each reader hands its items over in batches of about :data:`READ_BATCH_BYTES`, the
    ends of its sources among them, not one hand-off an item (``benchmarks/README.md``, "Many small files").
    At most :data:`READ_AHEAD` hand-offs are in flight whatever ``readers``: shared among the readers, at
    least 2 each, so at most ``READ_AHEAD // 2`` readers run at once (4 gzip streams give ~900 MB/s of
    text, more than the in-order merge of the counting pass takes). A source's error is raised where its
    items would have come; an early stop closes every reader and the source each has open."""
    readers = max(1, min(readers, len(sources), READ_AHEAD // 2))
    depth = max(2, READ_AHEAD // readers)
    group = [_Reader(sources[k::readers], depth, size) for k in range(readers)]
    try:
        for i in range(len(sources)):
            yield from group[i % readers].next_source()
    finally:
        for reader in group:
            reader.close()


class _Reader:
    """A thread that makes the items of ``sources`` (functions making iterators), one source after the
    other, up to ``depth`` hand-offs ahead of the consumer, which takes each source's items in turn with
    :meth:`next_source`; :meth:`close` stops the thread and closes the iterator it has open. A hand-off
    is a list: one item, or with ``size`` items (and the ends of sources) of about
    :data:`READ_BATCH_BYTES` in all."""

    def __init__(self, sources: Sequence[Callable[[], Iterator]], depth: int, size: Optional[Callable] = None):
        self.sources = sources
        self.size = size
        self.handoff: queue.Queue = queue.Queue(depth)
        self.taken: collections.deque = collections.deque()  # the consumer's: the last hand-off's items left
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, name="w2v-reader", daemon=True)
        self.thread.start()

    def _offer(self, batch: list) -> bool:
        while not self.stop.is_set():
            try:
                self.handoff.put(batch, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        batch: list = []
        weight = 0
        for source in self.sources:
            items = None
            try:
                items = source()
                for item in items:
                    batch.append(item)
                    weight += self.size(item) if self.size is not None else READ_BATCH_BYTES
                    if weight >= READ_BATCH_BYTES:
                        if not self._offer(batch):
                            return
                        batch, weight = [], 0
                batch.append(_END)
                if self.size is None:  # unbatched: every end at once
                    if not self._offer(batch):
                        return
                    batch, weight = [], 0
            except BaseException as error:  # handed to the consumer, which raises it where the items were due
                batch.append(_Failure(error))
                self._offer(batch)
                return
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()
        if batch:
            self._offer(batch)

    def next_source(self) -> Iterator:
        """The items of the next of this reader's sources; its error, if it failed."""
        taken = self.taken
        while True:
            if not taken:
                taken.extend(self.handoff.get())
            item = taken.popleft()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=1.0)  # a reader blocked on a read (standard input) is left to end with the process


def _close(items: Iterator) -> None:
    """Close ``items`` (a generator of :func:`pieces`: its readers and the files they have open) now, not
    when it is collected: an error's traceback keeps it alive, and with it, say, a pipe's read end, so
    that the program writing to the pipe would wait instead of being told the reading stopped."""
    close = getattr(items, "close", None)
    if close is not None:
        close()


def _in_order(work: Callable, items: Iterator, threads: int) -> Iterator:
    """``work(item)`` for every item on ``threads`` threads, results in the items' order, at most
    ``threads + 1`` in flight (one waiting while the reader makes the next); ``items`` is closed at the
    end (:func:`_close`)."""
    try:
        if threads <= 1:
            for item in items:
                yield work(item)
            return
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            in_flight: collections.deque = collections.deque()
            for item in items:
                in_flight.append(pool.submit(work, item))
                while len(in_flight) > threads:
                    yield in_flight.popleft().result()
            while in_flight:
                yield in_flight.popleft().result()
    finally:
        _close(items)


def _in_turn(work: Callable, fold: Callable, items: Iterator, threads: int,
             after: Optional[Callable] = None) -> None:
    """``work(item)`` for every item on ``threads`` threads, and ``fold(result)`` for each result in the
    items' order, at most ``threads + 1`` items worked on or waiting for their fold; with ``after``,
    ``after(fold's result)`` once the turn is passed on, in any order.

    The folds, serial by nature, are done by the worker threads, overlapping the other threads' work,
    and no thread waits for a turn: a result whose turn has not come is left for the thread that folds
    the one before it, which folds it next (after its own ``after``), while the thread that made it
    goes on to the next item. ``after`` takes out of the fold what need not be serial (copying a result
    to the place the fold gave it). An exception in ``work``, ``fold`` or ``after`` stops the items
    after it and is raised here. ``items`` is closed at the end (:func:`_close`)."""
    try:
        _turns(work, fold, items, threads, after)
    finally:
        _close(items)


def _turns(work: Callable, fold: Callable, items: Iterator, threads: int, after: Optional[Callable]) -> None:
    """:func:`_in_turn`'s work, without the closing of ``items``."""
    if threads <= 1:
        for item in items:
            folded = fold(work(item))
            if after is not None:
                after(folded)
        return
    turn = threading.Condition()
    state = {"next": 0, "folding": False, "failed": False}
    ready: dict = {}  # index -> result, worked on and waiting for its fold

    def take_turn(index: Optional[int] = None, result=None):
        """Leave ``result`` (of item ``index``) to be folded; then the next result to fold, making this
        thread the folder, or None (not ready yet, or another thread folds)."""
        with turn:
            if index is not None:
                ready[index] = result
            if state["failed"] or state["folding"] or state["next"] not in ready:
                return None
            state["folding"] = True
            return ready.pop(state["next"])

    def task(index: int, item) -> None:
        try:
            result = take_turn(index, work(item))
            while result is not None:
                try:
                    folded = fold(result)
                except BaseException:
                    with turn:  # no fold after this one
                        state["failed"] = True
                    raise
                with turn:
                    state["next"] += 1
                    state["folding"] = False
                    turn.notify_all()
                if after is not None:
                    after(folded)
                result = take_turn()
        except BaseException:
            with turn:
                state["failed"] = True
                turn.notify_all()
            raise

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        in_flight: collections.deque = collections.deque()
        try:
            for index, item in enumerate(items):
                with turn:  # at most threads + 1 results not folded yet
                    while index - state["next"] > threads and not state["failed"]:
                        turn.wait()
                    if state["failed"]:
                        break
                in_flight.append(pool.submit(task, index, item))
                while in_flight and in_flight[0].done():
                    in_flight.popleft().result()
            while in_flight:
                in_flight.popleft().result()
        except BaseException:
            with turn:  # the tasks still working return without folding
                state["failed"] = True
                turn.notify_all()
            raise


@dataclass
class Counted:
    """A counted corpus: the token table (see :mod:`w2v.kernels`), its size, the tokens seen, and the
    pruning threshold reached (0: nothing pruned)."""
    table: tuple
    n: int
    total_tokens: int
    pruned_below: int

    def words(self, entries: np.ndarray, threads: int = 1) -> List[str]:
        """The given entries' tokens decoded as UTF-8 (valid ones only), gathered with one copy a share of
        :data:`WORDS_SHARE` entries. With ``threads``, the shares are gathered on that many threads (a
        kernel without the GIL: a miss or two an entry, 0.58 s for 6.5 million in vocabulary order) while
        this thread decodes and splits the ones before (benchmarks/README.md, "The vocabulary's words
        and ties on every thread")."""
        from . import kernels
        entries = np.asarray(entries, dtype=np.int64)
        starts = range(0, len(entries), WORDS_SHARE)
        words: List[str] = []

        def gathered(start: int) -> np.ndarray:
            return kernels.table_tokens_joined(self.table, entries[start:start + WORDS_SHARE])

        for joined in _in_order(gathered, iter(starts), threads if len(starts) > 1 else 1):
            words.extend(joined.tobytes().decode("utf-8").split("\n"))
        return words

    def token(self, entry: int) -> bytes:
        from . import kernels
        start, length = kernels.entry_places(int(self.table[kernels.TABLE_ENTRIES][entry, 0]))
        return self.table[kernels.TABLE_ARENA][start:start + length].tobytes()

    def compact(self) -> tuple:
        """``(hashes, entries, arena)`` trimmed to what the table holds, with its tokens' hashes (the table
        keeps none): what :func:`merge` takes."""
        from . import kernels
        entries, arena = self.table[kernels.TABLE_ENTRIES][:self.n], self.table[kernels.TABLE_ARENA]
        starts, lengths = kernels.entry_places(entries[:, 0])
        used = int((starts + lengths).max(initial=0))
        return kernels.table_hashes(self.table, self.n), entries.copy(), arena[:used].copy()

    @property
    def counts(self) -> np.ndarray:
        from . import kernels
        return self.table[kernels.TABLE_ENTRIES][:self.n, 1]

    @property
    def lengths(self) -> np.ndarray:
        from . import kernels
        return kernels.entry_places(self.table[kernels.TABLE_ENTRIES][:self.n, 0])[1]


def prepare(pass_name: str, table: Optional[tuple] = None) -> None:
    """Load (or compile) the text kernels of one pass (:data:`PASSES`: ``"count"``, ``"spool"``:
    :func:`count_and_spool`, ``"shards"``: its count merged in shards, ``"merge"``, ``"encode"``,
    ``"vocabulary"``: the vocabulary of a count, on its ``table``, ``"lookup"``: a count's entries looked up
    in a vocabulary (:func:`entry_ids`), or ``"pairs"``: the phrases' pairs), each
    once, on a few bytes, then hand LLVM's pages back (:func:`w2v.memory.release_compiler_pages`): loading
    touches them, the passes never use them. A pass loads only its own kernels (each takes ~15 ms from the
    cache, and a first run compiles it): ``w2v train`` needs only the spool's and the vocabulary's, encoding
    with a vocabulary only the two that make its word table and look the tokens up in it, and a count whose
    vocabulary is not made (phrases, a distributed worker's part) none of the vocabulary's (about 4 s of
    compiling on a first run). When a helper process is compiling the pass's kernels
    (:func:`w2v.precompile.passes_aside`), it is waited for first and they are loaded from the cache it
    wrote."""
    from . import kernels
    from .memory import map_large_blocks, release_compiler_pages
    if pass_name in _prepared:
        return
    check_passes([pass_name])
    wait = _aside.pop(pass_name, None)
    if wait is not None:
        wait()
    map_large_blocks()
    data = np.frombuffer(b"a b\n\xff", dtype=np.uint8)  # read-only, as the encoding pass's pieces
    if pass_name == "encode":  # a vocabulary's table (word_table: no hashes kept) and the tokens looked up in it
        table, n, _, _ = kernels.count_tokens(data, kernels.table_new(16), 0, 0)
        kernels.encode_tokens(data, table, n, np.arange(n, dtype=np.int32))
    elif pass_name == "lookup":  # a vocabulary's table (word_table) and a count's entries looked up in it
        table, n, _, _ = kernels.count_tokens(data, kernels.table_new(16), 0, 0)
        kernels.table_entry_ids(table, n, table)
    elif pass_name == "shards":  # a count merged in shards (_ShardedCount), as well as the spool's kernels
        table, n, _, _, hashes = kernels.count_tokens_hashed(data.copy(), kernels.table_new(16), 0, 0,
                                                             np.empty(0, np.uint64))
        kernels.table_merge_shard(kernels.table_new(16), 0, 0, table, n, hashes, 1, 2, np.empty(n, np.int32))
        joined = np.empty((16, 2), np.int64), np.empty(1024, np.uint8), np.empty(n, np.uint64)
        kernels.table_join_shard(*joined, 0, 0, table[1], table[2], n, 3)
        slots = np.zeros(1024, np.uint64)
        kernels.slots_fill_left(slots, joined[2], *kernels.slots_fill_range(slots, joined[2], n, 0, 512))
    elif pass_name == "vocabulary":
        _load_vocabulary_kernels(kernels.table_new(16) if table is None else table)
    elif pass_name == "pairs":
        _load_pair_kernels(data)
    else:
        _load_count_kernels(pass_name, data)
    release_compiler_pages()
    _prepared.add(pass_name)


def _load_count_kernels(pass_name: str, data: np.ndarray) -> None:
    """:func:`prepare`'s kernels of a count (``"count"``, ``"spool"`` or ``"merge"``): counting a piece (not
    for a merge, which only merges the parts' tables) and merging it. Not pruning (``table_prune``): only a
    count past its limit prunes, and it loads (or on a first run compiles, 0.3-0.4 s) it at its first call."""
    from . import kernels
    if pass_name == "merge":  # the parts' counts merged with the map of where their entries went
        kernels.table_merge_map(kernels.table_new(16), 0, 0, kernels.table_new(16), 0, np.empty(0, np.uint64))
    elif pass_name == "spool":  # its pieces are writable buffers used again (:func:`pieces` with ``spare``)
        table, n, _, _, _, hashes = kernels.count_tokens_ids(data.copy(), kernels.table_new(16), 0, 0,
                                                             np.empty(len(data) // 2 + 16, np.int32),
                                                             np.empty(len(data) // 2 + 16, np.uint64))
        kernels.table_merge_map(kernels.table_new(16), 0, 0, table, n, hashes)
        kernels.remap_ids(np.zeros(2, np.int32), np.zeros(n, np.int32), np.zeros(1, np.int64),
                          np.zeros(2, np.int32))
        kernels.take_into(np.zeros(n, np.int32), np.zeros(2, np.int32), np.zeros(2, np.int32))
    else:  # the counting pass's pieces are writable (as the spool's)
        table, n, _, _, hashes = kernels.count_tokens_hashed(data.copy(), kernels.table_new(16), 0, 0,
                                                             np.empty(0, np.uint64))
        kernels.table_merge(kernels.table_new(16), 0, 0, table, n, hashes)


def _load_vocabulary_kernels(table: tuple) -> None:
    """:func:`prepare`'s kernels of a count's vocabulary (:func:`w2v.vocab.vocabulary_from_count`): the
    candidates, their order, their ties and their words, each called on ``table`` for no entry."""
    from . import kernels
    none = np.zeros(0, np.int64)
    kernels.table_candidates(table, 0, 1, 8)
    order, ordered_counts, ordered_keys = kernels.table_frequency_order(table, none, none, np.zeros(0, np.uint64))
    kernels.table_ties_in_order(table, none, order, ordered_counts, ordered_keys, np.zeros(1, np.uint8),
                                np.zeros(1, np.int64))
    kernels.table_tokens_joined(table, none)


def _load_pair_kernels(data: np.ndarray) -> None:
    """:func:`prepare`'s kernels of the phrases' pairs (:mod:`w2v.phrases`): the table of the frequent tokens
    (:func:`w2v.phrases.frequent_tokens`); counting a piece's pairs (read-only pieces), merging, counting the
    pair that straddles two pieces and pruning; their scores and the table of those that join; joining a
    piece's pairs and looking one up."""
    from . import kernels
    (_, entries, arena), _, _ = kernels.table_prune(kernels.table_new(16), 0, 0)
    kernels.table_slots(entries, arena, 0)
    table = kernels.table_new(16)
    settings = (table, 1, -1.0, 1)  # the token table, min count, least score, total tokens (count_phrases)
    counted, n, _ = kernels.count_pairs(data, *settings, kernels.pairs_new(16), 0)
    pairs, n = kernels.pairs_merge(kernels.pairs_new(16), 0, counted)
    pairs, n = kernels.pairs_count(pairs, n, -1, -1, *settings)
    pairs, n = kernels.pairs_prune(pairs, 1)
    firsts, seconds, _, _ = kernels.pair_scores(table, pairs, 1, 100.0, 1, False)
    joining, _ = kernels.pairs_from(firsts, seconds)
    _, state, _ = kernels.join_pairs(data, table, joining, np.frombuffer(b"_", np.uint8), np.zeros(3, np.int64))
    kernels.pair_joins(joining, state[1], 0)


#: The passes :func:`prepare` knows.
PASSES = ("count", "spool", "shards", "merge", "encode", "vocabulary", "lookup", "pairs")


def check_passes(names) -> None:
    """Refuse a name that is not one of :data:`PASSES` (ValueError naming the first)."""
    unknown = [name for name in names if name not in PASSES]
    if unknown:
        raise ValueError(f"no pass {unknown[0]!r}; the passes are {', '.join(PASSES)}")


_prepared: set = set()

#: ``pass name -> wait()`` of the passes whose kernels a helper process is compiling (:func:`prepare`).
_aside: dict = {}


def count(corpus: Corpus, prune_at: Optional[int], threads: int = 1, shards: Optional[int] = None) -> Counted:
    """Count every token of ``corpus`` on ``threads`` threads; memory bounded by ``prune_at`` distinct tokens.
    ``shards``: as :func:`count_and_spool`'s."""
    from . import kernels
    prepare("count")
    sharded = _sharded_count(threads, shards)

    # as in count_and_spool: a piece's buffer, its token table and its hashes, once done with, serve a later piece
    spare_tables: List[tuple] = []
    spare_hashes: List[np.ndarray] = []
    spare_pieces: List[np.ndarray] = []

    def count_piece(piece):
        table = _spare_table(spare_tables, 1 << 14)
        buffer = _spare_or_new(spare_hashes, len(piece) // 2 + 16, np.uint64, slack=1 << 17)
        table, n, _, tokens, hashes = kernels.count_tokens_hashed(piece, table, 0, 0, buffer)
        _give_back(spare_pieces, piece)  # the table holds its tokens' bytes: the piece is read
        return table, n, tokens, hashes, buffer

    state = {"table": kernels.table_new(1 << 16), "n": 0, "used": 0, "total": 0, "pruned": 0}

    def fold(counted_piece):
        piece_table, piece_n, tokens, hashes, buffer = counted_piece
        if sharded is not None:
            sharded.merge_map(piece_table, piece_n, hashes)
            state["pruned"] = sharded.prune(state["pruned"], prune_at)
        else:
            table, n, used = kernels.table_merge(state["table"], state["n"], state["used"], piece_table, piece_n,
                                                 hashes)
            state["table"], state["n"], state["used"], state["pruned"] = _prune(table, n, used, state["pruned"],
                                                                                prune_at)
        spare_tables.append(piece_table)
        spare_hashes.append(buffer)
        state["total"] += tokens

    try:
        _in_turn(count_piece, fold, pieces(corpus, "counting", readers=threads, spare=spare_pieces), threads)
        if sharded is not None:
            state["table"], state["n"], _ = sharded.joined()
    finally:
        if sharded is not None:
            sharded.close()
    return Counted(state["table"], state["n"], state["total"], state["pruned"])


def _prune(table, n: int, used: int, pruned: int, prune_at: Optional[int]):
    """word2vec.c's ReduceVocab for as long as the table holds more than ``prune_at`` tokens, or more
    than ``TOKEN_BYTES_PER_LIMIT * prune_at`` bytes of them (``used``): every token seen at most
    ``pruned + 1`` times is dropped, and that bound grows by one each time. Returns ``(table, n, used,
    pruned)``."""
    from . import kernels
    while prune_at is not None and (n > prune_at or used > TOKEN_BYTES_PER_LIMIT * prune_at):
        pruned += 1
        table, n, used = kernels.table_prune(table, n, pruned)
    return table, n, used, pruned


@dataclass
class Spooled:
    """Every token of a corpus as its entry in the corpus's count (:func:`count_and_spool`): int32 in
    memory (``ids``) or in an unlinked file (``fd``), and the line ends as the tokens before each (those of
    empty lines left out: :func:`w2v.encode.sentence_offsets`)."""
    ids: Optional[np.ndarray]
    fd: Optional[int]
    line_ends: np.ndarray
    tokens: int
    #: With a count merged in shards (:class:`_ShardedCount`), the spool holds each token's entry in its
    #: shard (``entry * shards + shard``) and this int32 array maps those to the count's entries; None: the
    #: spool holds the count's entries.
    entry_of: Optional[np.ndarray] = None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.ids = None


#: From how many threads :func:`count` and :func:`count_and_spool` merge the pieces' counts in shards (as many
#: as threads):
#: below it the in-order merge keeps up with the counting on the other threads on usual text, and the join
#: of the shards at the end (see :class:`_ShardedCount`) would only add to the serial part of the pass
#: (benchmarks/README.md, "Merging in shards").
SHARDED_FROM_THREADS = 4


def merge_shards(threads: int) -> int:
    """How many shards :func:`count` and :func:`count_and_spool` merge a count in on ``threads`` threads
    (1: one table)."""
    return threads if threads >= SHARDED_FROM_THREADS else 1


def _sharded_count(threads: int, shards: Optional[int]) -> Optional["_ShardedCount"]:
    """The shards a count is merged in (``shards``, default :func:`merge_shards`), or None for one table."""
    shards = merge_shards(threads) if shards is None else shards
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    if shards == 1:
        return None
    prepare("shards")
    return _ShardedCount(shards)


class _ShardedCount:
    """A count kept in ``shards`` token tables, a token in the one its hash picks
    (:func:`w2v.kernels.table_merge_shard`), so that a piece's count is merged into all of them at once, on
    ``shards`` threads, where one table takes the pieces one at a time: with many threads, or millions of
    distinct tokens, that serial merge is what limits the counting pass. A piece is still merged only after
    the one before, and pruning applies word2vec.c's rule to every shard at once at the same piece
    boundaries (on the shards' total of tokens and bytes), so :meth:`joined` gives the count one table
    gives, tokens and counts alike; only the numbering of its entries differs (each shard's, one after the
    other), which nothing after the count depends on."""

    def __init__(self, shards: int):
        from . import kernels
        self.shards = shards
        self.tables = [kernels.table_new(max(1 << 10, (1 << 16) // shards)) for _ in range(shards)]
        self.ns = [0] * shards
        self.useds = [0] * shards
        self._pool = concurrent.futures.ThreadPoolExecutor(shards - 1, thread_name_prefix="w2v-shard")

    def _on_every_shard(self, work: Callable[[int], None]) -> None:
        """``work(shard)`` for every shard at once, on the pool's threads and this one."""
        others = [self._pool.submit(work, shard) for shard in range(1, self.shards)]
        try:
            work(0)
        finally:
            for future in others:
                future.result()

    def merge_map(self, other: tuple, other_n: int, hashes: np.ndarray) -> np.ndarray:
        """Merge a piece's table into the shards; returns int32[other_n], each entry's place in its shard
        (``entry * shards + shard``)."""
        from . import kernels
        where = np.empty(other_n, np.int32)

        def merge(shard: int) -> None:
            self.tables[shard], self.ns[shard], self.useds[shard] = kernels.table_merge_shard(
                self.tables[shard], self.ns[shard], self.useds[shard], other, other_n, hashes, shard, self.shards,
                where)

        self._on_every_shard(merge)
        return where

    def prune(self, pruned: int, prune_at: Optional[int]) -> int:
        """:func:`_prune` over the shards together; returns the new bound."""
        from . import kernels
        while prune_at is not None and (sum(self.ns) > prune_at or sum(self.useds) > TOKEN_BYTES_PER_LIMIT * prune_at):
            pruned += 1

            def prune(shard: int) -> None:
                self.tables[shard], self.ns[shard], self.useds[shard] = kernels.table_prune(
                    self.tables[shard], self.ns[shard], pruned)

            self._on_every_shard(prune)
        return pruned

    def joined(self) -> Tuple[tuple, int, np.ndarray]:
        """``(table, n, entry_of)``: the shards as one table, and int32[shards * largest] mapping ``entry *
        shards + shard`` to the entry in it. Each shard's entries and bytes are copied after the shard
        before's and hashed again on a thread of their own; then each thread fills the slots of one range
        of the new slot array, those whose probe would leave the range filled last (a few)."""
        from . import kernels
        n, used = sum(self.ns), sum(self.useds)
        entries = np.empty((max(n, 16), 2), np.int64)
        arena = np.empty(max(used, 1024), np.uint8)
        hashes = np.empty(n, np.uint64)
        ats = np.cumsum([0] + self.ns)
        starts = np.cumsum([0] + self.useds)
        entry_of = np.zeros(self.shards * max(self.ns), np.int32)
        parts = [(table[kernels.TABLE_ENTRIES], table[kernels.TABLE_ARENA]) for table in self.tables]
        self.tables = []  # the shards' slots go now, and each shard's entries and bytes once copied

        def join(shard: int) -> None:
            at = int(ats[shard])
            kernels.table_join_shard(entries, arena, hashes, at, int(starts[shard]), *parts[shard], self.ns[shard],
                                     self.useds[shard])
            parts[shard] = ()
            entry_of[shard::self.shards][:self.ns[shard]] = np.arange(at, at + self.ns[shard], dtype=np.int32)

        self._on_every_shard(join)
        slots = np.zeros(kernels.joined_slots_size(n), np.uint64)
        bounds = [len(slots) * shard // self.shards for shard in range(self.shards + 1)]
        left: List[tuple] = [()] * self.shards

        def fill(shard: int) -> None:
            left[shard] = kernels.slots_fill_range(slots, hashes, n, bounds[shard], bounds[shard + 1])

        self._on_every_shard(fill)
        for rest, n_rest in left:
            kernels.slots_fill_left(slots, hashes, rest, n_rest)
        return (slots, entries, arena), n, entry_of

    def close(self) -> None:
        self._pool.shutdown()


def count_and_spool(corpus: Corpus, prune_at: Optional[int], threads: int = 1, folder: Optional[str] = None,
                    on_prune: Optional[Callable[[], None]] = None,
                    shards: Optional[int] = None) -> Tuple[Counted, Optional[Spooled]]:
    """:func:`count`, writing down each token's entry as it goes (in memory, or with ``folder`` in an
    unlinked file there), so that encoding is a look-up per entry instead of a second reading of the
    text (:func:`w2v.encode.encode_spooled`); this is how a corpus read once (standard input) is trained
    without a vocabulary file. Pruning renumbers the entries, so once it happens the spool is dropped
    (``None``) and encoding must read the text again. The count is :func:`count`'s, whatever the threads.
    ``on_prune`` is called at the first prune, before the spool is dropped; an exception it raises stops
    the count there, so a caller that cannot read the text again (standard input) says so at once, not
    after reading the rest. ``shards``: merge the pieces' counts in that many tables at once
    (:class:`_ShardedCount`; default :func:`merge_shards` of the threads); the count and the encoded corpus
    are the same either way."""
    from . import kernels
    from .encode import _Sink
    prepare("spool")
    sharded = _sharded_count(threads, shards)

    # a piece's token table and its hashes once merged, and its ids' buffer once copied, serve a later piece:
    # no fresh pages to fault in (some 20 a MB of text each); at most one of each a piece in flight
    spare_tables: List[tuple] = []
    spare_hashes: List[np.ndarray] = []
    spare_ids: List[np.ndarray] = []
    spare_pieces: List[np.ndarray] = []

    def count_piece(piece):
        table = _spare_table(spare_tables, 1 << 16)
        # room for the most tokens the piece can hold (and for a later piece a block longer)
        buffer = _spare_or_new(spare_ids, len(piece) // 2 + 16, np.int32, slack=1 << 20)
        hashes_buffer = _spare_or_new(spare_hashes, len(piece) // 2 + 16, np.uint64, slack=1 << 17)
        table, n, _, ids, ends, hashes = kernels.count_tokens_ids(piece, table, 0, 0, buffer, hashes_buffer)
        _give_back(spare_pieces, piece)  # the table holds its tokens' bytes: the piece is read
        return table, n, ids, ends, buffer, hashes, hashes_buffer

    state = {"table": kernels.table_new(1 << 16), "n": 0, "used": 0, "total": 0, "pruned": 0, "spooling": True}
    size = corpus.plain_bytes() if folder is None and isinstance(corpus, Corpus) else None
    # room for a token every 4 bytes of plain text (wiki8 has one every 5.9); address space, not memory
    ids_sink, ends_sink = _Sink(np.int32, folder, capacity=max(1 << 20, (size or 0) // 4)), _Sink(np.int64)

    def fold(counted_piece):
        """Merge the piece's count in turn and take its place in the spool; returns what to copy there."""
        piece_table, piece_n, ids, ends, buffer, hashes, hashes_buffer = counted_piece
        before = state["pruned"]
        if sharded is not None:
            where = sharded.merge_map(piece_table, piece_n, hashes)
            state["pruned"] = sharded.prune(before, prune_at)
        else:
            table, n, used, where = kernels.table_merge_map(state["table"], state["n"], state["used"],
                                                            piece_table, piece_n, hashes)
            state["table"], state["n"], state["used"], state["pruned"] = _prune(table, n, used, before, prune_at)
        spare_tables.append(piece_table)
        spare_hashes.append(hashes_buffer)
        if state["spooling"] and state["pruned"] > before:  # the entries were renumbered: the spool is of no use
            if on_prune is not None:
                on_prune()
            state["spooling"] = False
            ids_sink.discard(wait=True)  # once the pieces before have copied theirs
        start = None
        if state["spooling"]:
            ends_sink.append(ends + state["total"])
            start = ids_sink.reserve(len(ids))
        state["total"] += len(ids)
        return start, where, ids, buffer

    def copy_to_spool(folded):
        """The piece's entries as the count's (``where``), written at its place, beside the next fold."""
        start, where, ids, buffer = folded
        if start is not None:
            ids_sink.fill_mapped(start, where, ids)
        spare_ids.append(buffer)

    try:
        _in_turn(count_piece, fold, pieces(corpus, "counting", readers=threads, spare=spare_pieces), threads,
                 after=copy_to_spool)
        entry_of = None
        if sharded is not None:
            state["table"], state["n"], entry_of = sharded.joined()
        spooled = None
        if state["spooling"]:
            spooled_ids, fd = ids_sink.finish()
            spooled = Spooled(spooled_ids, fd, ends_sink.finish()[0], state["total"], entry_of)
    except BaseException:
        ids_sink.discard()
        raise
    finally:
        if sharded is not None:
            sharded.close()
    return Counted(state["table"], state["n"], state["total"], state["pruned"]), spooled


def merge(parts, prune_at: Optional[int]) -> Counted:
    """One count from the counts of a corpus's parts (``(compact table, total_tokens, pruned_below)`` each,
    see :meth:`Counted.compact`), merged in the given order with :func:`count`'s pruning rule. When no
    part was pruned and the merge is not, the result holds exactly the counts of counting the whole."""
    return merge_mapped(parts, prune_at)[0]


def merge_mapped(parts, prune_at: Optional[int]) -> Tuple[Counted, Optional[List[np.ndarray]]]:
    """:func:`merge`, and for each part int32[its entries]: the merged count's entry each of its entries
    went to, so that a part's spool (:func:`count_and_spool`) can be encoded with the merged count's
    vocabulary; None when the merge had to prune, which renumbers the entries."""
    from . import kernels
    prepare("merge")
    table, n, used = kernels.table_new(1 << 16), 0, 0
    total = pruned = 0
    wheres: Optional[List[np.ndarray]] = []
    no_slots = np.zeros(1, np.uint64)  # (a merge never reads the other table's slots)
    for (hashes, entries, arena), tokens, part_pruned in parts:
        table, n, used, where = kernels.table_merge_map(table, n, used, (no_slots, entries, arena), len(entries),
                                                        hashes)
        del hashes, entries, arena  # (a part fetched as the merge goes is let go before the next comes)
        total += tokens
        before = max(pruned, part_pruned)
        table, n, used, pruned = _prune(table, n, used, before, prune_at)
        if pruned != before:
            wheres = None
        if wheres is not None:
            wheres.append(where)
    return Counted(table, n, total, pruned), wheres


def word_table(words: List[str]) -> Tuple[tuple, int]:
    """A token table of ``words`` whose entry ``i`` is word ``i`` (words hold no white space)."""
    from . import kernels
    blob = np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8)
    table, n, _, _ = kernels.count_tokens(blob, kernels.table_new(max(len(words), 16)), 0, 0)
    if n != len(words):
        raise ValueError("the vocabulary's words must be distinct and hold no white space")
    return table, n


def entry_ids(counted: Counted, words: List[str]) -> np.ndarray:
    """int32[counted.n]: the id of each of the count's entries among ``words`` (-1: not one of them), its
    token looked up as encoding looks one up (:func:`w2v.kernels.table_entry_ids`), for
    :func:`w2v.encode.encode_spooled` to encode a spool of the count with, when the vocabulary was not made
    from this count alone (a model's vocabulary with the count's new words added: ``--update-vocab``)."""
    from . import kernels
    prepare("lookup")
    table, n = word_table(words)
    return kernels.table_entry_ids(counted.table, counted.n, table)


def encode_pieces(corpus: Corpus, words: List[str], threads: int = 1):
    """Yield (ids int32[T], line_ends int64[L]) for each piece of ``corpus`` in order: the word ids of
    its known tokens (:func:`w2v.kernels.encode_tokens`) and its line ends, as the ids before each."""
    from . import kernels
    prepare("encode")
    table, n = word_table(words)
    ids_of_entry = np.arange(n, dtype=np.int32)

    def encode_piece(piece):
        return kernels.encode_tokens(piece, table, n, ids_of_entry)

    yield from _in_order(encode_piece, pieces(corpus, "encoding", readers=threads), threads)
