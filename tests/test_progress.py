import fcntl
import io
import os
import pty
import struct
import sys
import termios

import pytest

from conftest import invoke_apart
from w2v import progress
from w2v.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_log_gets_whole_lines_and_only_the_first_and_last_when_updates_come_fast():
    log = io.StringIO()
    with ProgressBar(total=1000, desc="training", file=log) as bar:
        for _ in range(1000):
            bar.update(1)
    text = log.getvalue()
    assert "\r" not in text and text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("training:   0%") and lines[1].startswith("training: 100%")
    assert "1000/1000" in lines[1] and "#" in lines[1]  # the ASCII bar


def test_a_log_gets_a_line_each_interval_and_a_cleared_bar_writes_nothing(monkeypatch):
    monkeypatch.setattr(progress, "LOG_INTERVAL", 0.0)
    log = io.StringIO()
    bar = ProgressBar(total=4, desc="counting", file=log, leave=False)
    for _ in range(4):
        bar.update(1)
    bar.close()
    lines = log.getvalue().split("\n")
    assert lines[-1] == ""  # every line ended
    assert [line.split("|")[0] for line in lines[:-1]] == [
        "counting:   0%", "counting:  25%", "counting:  50%", "counting:  75%", "counting: 100%"]
    assert all(line == line.rstrip() for line in lines)


def test_a_terminal_gets_the_bar_redrawn_in_place_as_wide_as_the_terminal(monkeypatch):
    leader, follower = pty.openpty()  # a terminal 100 columns wide, whose size tqdm asks of the file's descriptor
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    screen = Terminal()
    screen.fileno = lambda: follower
    monkeypatch.setattr(sys, "stderr", screen)
    try:
        with ProgressBar(total=3, desc="training", mininterval=0) as bar:
            for _ in range(3):
                bar.update(1)
    finally:
        os.close(leader)
        os.close(follower)
    text = screen.getvalue()
    assert text.count("\r") >= 4 and text.count("\n") == 1
    assert max(len(redraw) for redraw in text.split("\r")) >= 90


class Gone(io.StringIO):
    """A stream whose reader has gone: every write fails."""
    writes = 0

    def write(self, text):
        self.writes += 1
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("stream", [Gone, type("GoneTerminal", (Gone,), {"isatty": lambda self: True})])
def test_a_bar_whose_stream_is_gone_goes_quiet_and_the_work_goes_on(stream):
    gone = stream()
    with ProgressBar(total=100, file=gone, mininterval=0) as bar:
        for _ in range(100):
            bar.update(1)
    assert bar.n == 100 and gone.writes == 1


def test_train_writing_its_progress_to_a_log_writes_lines(tmp_path, sample_path):
    result = invoke_apart("train", sample_path, "-o", tmp_path / "v.bin", "--dim", "20", "--epochs", "2",
                          "--threads", "2")
    assert result.exit_code == 0, result.output
    assert "\r" not in result.stderr
    lines = result.stderr.splitlines()
    assert any(line.startswith("counting:   0%") for line in lines), lines
    finished = [line for line in lines if line.startswith("training: 100%")]
    assert len(finished) == 1 and "epoch 2/2" in finished[0], lines
    assert lines[-1].startswith("vocabulary ") and "wrote" in lines[-1]


def test_a_bar_whose_stream_was_closed_goes_quiet():
    closed = io.StringIO()
    closed.close()
    with ProgressBar(total=10, file=closed, mininterval=0) as bar:
        bar.update(10)
    assert bar.n == 10
