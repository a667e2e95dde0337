"""The installed command in a real terminal (tmux): fix a failing branch, retry it with r."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

SPEC = """\
version: 1
name: e2e-fix-and-retry
branches:
  - id: steady
    run: >-
      echo '{"doc": "steady", "words": 120}'
    output: {format: json}
  - id: fragile
    run: >-
      if test -f fixed.marker; then echo '{"doc": "fragile", "words": 80}';
      else echo "fixed.marker is missing" >&2; exit 3; fi
    output: {format: json}
merge: {strategy: key, key: doc}
policy: {mode: all_or_nothing}
output: merged.json
"""


class Terminal:
    """A tmux server of our own, with one session running one command."""

    def __init__(self, socket: str, folder: Path) -> None:
        self.socket = socket
        self.folder = folder

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return result.stdout

    def start(self, command: str) -> None:
        self.tmux(
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            "120",
            "-y",
            "35",
            "-c",
            str(self.folder),
            command,
        )

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "e2e")

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", "e2e", key)
            time.sleep(0.1)

    def wait_for(self, predicate: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            if (self.folder / "exit.txt").exists():
                break  # the command ended early
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; the screen shows:\n{screen}")


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(f"fanout-e2e-{os.getpid()}", tmp_path)
    try:
        yield term
    finally:
        subprocess.run(["tmux", "-L", term.socket, "kill-server"], capture_output=True)


def test_a_failing_branch_is_fixed_retried_with_r_and_the_merge_appears(
    terminal: Terminal, tmp_path: Path
) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    command = Path(sys.executable).parent / "fanout-tui"
    terminal.start(f"{command} spec.yaml --no-journal; echo EXIT=$? > exit.txt; sleep 60")

    screen = terminal.wait_for(lambda s: "blocked: 1 failed" in s, "the run to block")
    assert "✗ failed" in screen
    assert "fixed.marker is missing" in screen  # the failing branch's stderr on its panel

    (tmp_path / "fixed.marker").write_text("", encoding="utf-8")
    terminal.keys("l", "r")  # focus moves from steady to fragile; r retries it
    screen = terminal.wait_for(lambda s: "Merged result — complete" in s, "the merged result")
    assert "✓ 2 succeeded" in screen

    terminal.keys("q")  # everything settled: quits without asking
    terminal.wait_for(lambda _: (tmp_path / "exit.txt").exists(), "the command to exit")
    assert (tmp_path / "exit.txt").read_text().strip() == "EXIT=0"
    merged = json.loads((tmp_path / "merged.json").read_text(encoding="utf-8"))
    assert merged["steady"]["words"] == 120 and merged["fragile"]["words"] == 80
    assert '"fragile"' in terminal.screen()  # the merged result printed on quitting


ATTACH_SPEC = """\
version: 1
name: e2e-attach
branches:
  - id: steady
    run: "while ! test -f stop.marker; do sleep 0.05; done; echo steady done"
  - id: fragile
    run: >-
      if test -f fixed.marker; then echo fragile fixed;
      else echo "fixed.marker is missing" >&2; exit 3; fi
"""


def test_attach_retries_in_a_headless_run_and_q_leaves_it_going(
    terminal: Terminal, tmp_path: Path
) -> None:
    (tmp_path / "spec.yaml").write_text(ATTACH_SPEC, encoding="utf-8")
    command = Path(sys.executable).parent / "fanout-tui"
    with (tmp_path / "headless.err").open("w") as errors:
        headless = subprocess.Popen(
            [str(command), "spec.yaml", "--headless"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    try:
        deadline = time.monotonic() + 30
        while not list(tmp_path.glob(".fanout/runs/*/control.sock")):
            assert time.monotonic() < deadline, "the headless run never served its socket"
            time.sleep(0.05)
        terminal.start(f"{command} attach; echo EXIT=$? > exit.txt; sleep 60")
        screen = terminal.wait_for(lambda s: "fixed.marker is missing" in s, "the failed branch")
        assert "✗ failed" in screen

        (tmp_path / "fixed.marker").write_text("", encoding="utf-8")
        terminal.keys("l", "r")  # r on the failed branch: the headless run retries it
        terminal.wait_for(lambda s: "fragile fixed" in s, "the retry's output")
        terminal.keys("q")  # detaches, no question asked
        terminal.wait_for(lambda _: (tmp_path / "exit.txt").exists(), "attach to exit")
        assert (tmp_path / "exit.txt").read_text().strip() == "EXIT=0"
        assert headless.poll() is None  # the run goes on

        (tmp_path / "stop.marker").write_text("", encoding="utf-8")
        assert headless.wait(timeout=30) == 0
        assert "fragile  succeeded" in (tmp_path / "headless.err").read_text()
    finally:
        if headless.poll() is None:
            headless.terminate()
            headless.wait(timeout=30)
