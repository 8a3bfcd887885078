"""Progress on standard error: tqdm's bar on a terminal, a plain line now and then in a log.

On a terminal tqdm redraws its bar in place (a carriage return, ten times a second at most). Written to a
file or a pipe (``w2v train ... 2> train.log``, ``nohup``, a batch scheduler's log) the same redraws are
one line without end that grows by nearly 1 kB a second (5 kB over a 6 s run of wiki8), some 30 MB
over a ten-hour run, and a message that follows lands on the bar's line. So when the stream is not a terminal,
:class:`ProgressBar` writes the bar's ASCII form as whole lines: the first, then at the first update
at least :data:`LOG_INTERVAL` seconds after the line before, and the last (a bar that clears itself
when it closes, as counting's does, writes no last line): some 1,200 lines over ten hours.
word2vec.c and fastText write carriage returns whatever the stream; gensim logs a line every second.
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


class _Lines:
    """A text stream that writes each of tqdm's redraws as a line of its own: the carriage returns and
    the spaces that pad a redraw are dropped, and a redraw that only clears the line writes nothing."""

    def __init__(self, stream: IO):
        self.stream = stream

    def write(self, text: str) -> None:
        line = text.replace("\r", "").rstrip()
        if line:
            self.stream.write(line + "\n")

    def flush(self) -> None:
        self.stream.flush()


class ProgressBar(tqdm):
    """A tqdm bar on ``file`` (standard error unless given) whose ``update`` may be called from several
    threads (the readers of :func:`w2v.scan.pieces`), written as lines when ``file`` is not a terminal
    (see the module docstring). Takes tqdm's arguments."""

    def __init__(self, *args, file: Optional[IO] = None, **kwargs):
        stream = sys.stderr if file is None else file
        if not kwargs.get("disable") and not is_terminal(stream):
            stream = _Lines(stream)
            kwargs.update(mininterval=LOG_INTERVAL, maxinterval=LOG_INTERVAL, ascii=True, dynamic_ncols=False)
        super().__init__(*args, file=stream, **kwargs)
        self._update_lock = threading.Lock()

    def update(self, n=1):
        with self._update_lock:
            return super().update(n)
