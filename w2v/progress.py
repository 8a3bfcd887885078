"""Progress on standard error: tqdm's bar on a terminal, a plain line now and then in a log.

On a terminal tqdm redraws its bar in place (a carriage return, ten times a second at most). Written
to a file or a pipe (``w2v train ... 2> train.log``, ``nohup``, a batch scheduler's log) the same
redraws are one line without end that grows by nearly 1 kB a second (5 kB over a 6 s run of wiki8),
some 30 MB over a ten-hour run, and a message that follows lands on the bar's line. So when the stream
is not a terminal, :class:`ProgressBar` writes the bar's ASCII form as whole lines: the first, then at
the first update at least :data:`LOG_INTERVAL` seconds after the line before, and the last (a bar that
clears itself when it closes, as counting's does, writes no last line): some 1,200 lines over ten
hours. word2vec.c and fastText write carriage returns whatever the stream; gensim logs a line every
second.

A bar whose stream fails (the reader of a pipe gone, a hung-up terminal, a full disk) goes quiet and
the work goes on (:class:`_Stream`).
"""
from __future__ import annotations

import sys
import threading
from typing import IO, Optional

from tqdm import tqdm

#: Seconds between two progress lines when standard error is not a terminal.
LOG_INTERVAL = 30.0


def is_terminal(stream: IO) -> bool:
    """Whether ``stream`` is a terminal (False for a closed or odd stream)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def stream_gone(error: BaseException) -> bool:
    """Whether a write's ``error`` means the stream is gone (an OSError: its reader ended, the terminal
    hung up, the disk is full; or the ValueError of a closed stream) rather than a bad text."""
    return isinstance(error, OSError) or (isinstance(error, ValueError) and "closed" in str(error))


class _Stream:
    """The stream a bar writes to. With ``lines`` (a log, not a terminal) each of tqdm's redraws becomes a
    line of its own: the carriage returns and the spaces that pad a redraw are dropped, and a redraw that
    only clears the line writes nothing. A write or flush that fails (the reader of a pipe gone, a
    terminal hung up, a full disk) is the last one tried: progress is a report, and losing the place to
    write it must not lose the run (tqdm itself only forgives a hung-up terminal). Everything else, the
    terminal's size for one, is asked of the stream itself."""

    def __init__(self, stream: IO, lines: bool):
        self.stream, self.lines, self.broken = stream, lines, False

    def write(self, text: str) -> None:
        if self.lines:
            text = text.replace("\r", "").rstrip()
            if not text:
                return
            text += "\n"
        self._try(self.stream.write, text)

    def flush(self) -> None:
        self._try(self.stream.flush)

    def _try(self, call, *args) -> None:
        if self.broken:
            return
        try:
            call(*args)
        except (OSError, ValueError) as error:
            if not stream_gone(error):
                raise
            self.broken = True

    def __getattr__(self, name):
        if name == "stream":  # not set yet (a copy being made): no endless look-up
            raise AttributeError(name)
        return getattr(self.stream, name)

    def __eq__(self, other):  # tqdm sizes a bar to the terminal only when its file == sys.stderr or stdout
        return self.stream == getattr(other, "stream", other)

    def __hash__(self):
        return hash(self.stream)


class ProgressBar(tqdm):
    """A tqdm bar on ``file`` (standard error unless given) whose ``update`` may be called from several
    threads (the readers of :func:`w2v.scan.pieces`), written as lines when ``file`` is not a terminal
    (see the module docstring), and silent from the first write that fails. Takes tqdm's arguments."""

    def __init__(self, *args, file: Optional[IO] = None, **kwargs):
        stream = sys.stderr if file is None else file
        lines = not kwargs.get("disable") and not is_terminal(stream)
        if lines:
            kwargs.update(mininterval=LOG_INTERVAL, maxinterval=LOG_INTERVAL, ascii=True, dynamic_ncols=False)
        super().__init__(*args, file=_Stream(stream, lines), **kwargs)
        self._update_lock = threading.Lock()

    def update(self, n=1):
        with self._update_lock:
            return super().update(n)
