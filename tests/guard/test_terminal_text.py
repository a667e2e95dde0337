"""What a spec or a branch writes cannot drive the terminal: one sanitiser for every path
that shows their text on a screen, while files and pipes keep the bytes as they were."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from fanout_tui.cli import main
from fanout_tui.engine import MergeState, PolicyState, for_terminal, printable
from fanout_tui.ui.result_text import preview_lines, result_text
from fanout_tui.ui.screens.merged_screen import merged_body

HOSTILE = "a\x1b]0;pwned\x07b\x1b[2Jc\x1bcd\x9b31me\x00f\x1b[>0cg"
"""A window title (OSC 0), a clear screen, a reset, an 8-bit CSI, a NUL, a query."""

SAFE = "abcd31mefg"


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def no_escapes(text: str) -> bool:
    return not any((ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in text)


def test_escape_sequences_and_controls_are_dropped_lines_and_tabs_kept_in_a_block() -> None:
    assert printable(HOSTILE) == SAFE
    assert printable("one\ttwo\nthree\r\n", lines=True) == "one\ttwo\nthree\n"
    assert printable("one\ttwo\nthree") == "one    two three"  # one row


def test_a_terminal_gets_sanitised_text_a_file_or_pipe_the_exact_text() -> None:
    assert for_terminal(Terminal(), HOSTILE + "\n") == SAFE + "\n"
    assert for_terminal(io.StringIO(), HOSTILE) == HOSTILE


def test_the_dashboard_merged_result_shows_no_escape_sequences() -> None:
    for merged in (HOSTILE, {"text": "x\x9b2Jy"}):
        merge = MergeState(PolicyState.MERGED, merged, (), (), 0)
        assert no_escapes(merged_body(merge).plain)
    failed = MergeState(PolicyState.MERGE_FAILED, None, (), (), 0, error=HOSTILE)
    assert merged_body(failed).plain == SAFE
    assert result_text(HOSTILE) == SAFE
    assert preview_lines(HOSTILE) == (SAFE,)


SPEC = """\
version: 1
name: "n\\e]0;title\\ax\\e[2J"
branches:
  - id: a
    title: "t\\ec"
    run: 'printf "r\\033]0;pwned\\007s\\033[2J\\n"'
"""


@pytest.fixture
def spec_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_check_prints_name_and_title_sanitised_on_a_terminal_exact_to_a_pipe(
    spec_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    assert main(["check", "spec.yaml"]) == 0
    shown = screen.getvalue()
    assert "nx" in shown
    assert no_escapes(shown)
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stdout", pipe)
    assert main(["check", "spec.yaml"]) == 0
    assert "\x1b]0;title" in pipe.getvalue()


def test_headless_progress_and_result_on_a_terminal_drive_nothing_a_pipe_gets_the_bytes(
    spec_folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["spec.yaml", "--headless", "--journal", "j"]) == 0
    piped = capsys.readouterr()
    assert piped.out == "r\x1b]0;pwned\x07s\x1b[2J\n"  # a pipe: exact
    assert "\x1b" not in piped.err  # the spec's name on the summary line
    assert "── nx:" in piped.err

    screen = Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    assert main(["spec.yaml", "--headless", "--no-journal"]) == 0
    assert screen.getvalue() == "rs\n"


def test_runs_show_branch_prints_logs_sanitised_on_a_terminal(
    spec_folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["spec.yaml", "--headless", "--journal", "j"]) == 0
    capsys.readouterr()
    assert main(["runs", "--journal", "j"]) == 0
    run_id = capsys.readouterr().out.splitlines()[1].split()[0]

    assert main(["runs", "show", run_id, "--branch", "a", "--journal", "j"]) == 0
    assert "r\x1b]0;pwned\x07s" in capsys.readouterr().out  # a pipe: exact

    screen = Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    assert main(["runs", "show", run_id, "--branch", "a", "--journal", "j"]) == 0
    assert main(["runs", "show", run_id, "--journal", "j"]) == 0
    shown = screen.getvalue()
    assert "rs\n" in shown
    assert no_escapes(shown)
