import io

from click.testing import CliRunner

from cli import cli
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


def test_a_terminal_gets_the_bar_redrawn_in_place():
    screen = Terminal()
    with ProgressBar(total=3, desc="training", file=screen, mininterval=0) as bar:
        for _ in range(3):
            bar.update(1)
    text = screen.getvalue()
    assert text.count("\r") >= 4 and text.count("\n") == 1


def test_train_writing_its_progress_to_a_log_writes_lines(tmp_path, sample_path):
    result = CliRunner().invoke(cli, ["train", sample_path, "-o", str(tmp_path / "v.bin"), "--dim", "20",
                                      "--epochs", "2", "--threads", "2"])
    assert result.exit_code == 0, result.output
    assert "\r" not in result.stderr
    lines = result.stderr.splitlines()
    assert any(line.startswith("counting:   0%") for line in lines), lines
    finished = [line for line in lines if line.startswith("training: 100%")]
    assert len(finished) == 1 and "epoch 2/2" in finished[0], lines
    assert lines[-1].startswith("vocabulary ") and "wrote" in lines[-1]
