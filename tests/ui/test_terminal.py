"""A terminal that hangs up: the dashboard quits and ends every branch, as on ``q``."""

from __future__ import annotations

import os
import pty
import select
import sys
import textwrap
import time
from pathlib import Path

from textual.drivers.headless_driver import HeadlessDriver
from textual.drivers.linux_driver import LinuxDriver

from fanout_tui.ui.terminal import HangUpSafeDriver, TerminalStream, dashboard_driver

TIMEOUT_S = 60


class GoneTerminal:
    """A stream whose terminal has hung up."""

    def write(self, text: str) -> int:
        raise OSError(5, "Input/output error")

    def flush(self) -> None:
        raise OSError(5, "Input/output error")

    def fileno(self) -> int:
        return 2


def test_a_terminal_stream_drops_what_a_gone_terminal_cannot_take() -> None:
    stream = TerminalStream(GoneTerminal())  # type: ignore[arg-type]
    assert stream.write("frame") == 5
    stream.flush()
    assert stream.fileno() == 2


def test_the_dashboard_uses_the_hang_up_safe_driver_in_place_of_textuals() -> None:
    assert dashboard_driver(LinuxDriver) is HangUpSafeDriver
    assert dashboard_driver(HeadlessDriver) is HeadlessDriver


def test_the_dashboard_exits_when_its_terminal_hangs_up(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(
        textwrap.dedent(
            """\
            version: 1
            name: hangup
            branches:
              - {id: waits, run: "echo started > waits.pid; exec sleep 600"}
              - {id: ticks, run: "while :; do echo tick; sleep 0.05; done"}
            """
        )
    )
    command = [sys.executable, "-m", "fanout_tui", "spec.yaml", "--no-journal"]
    pid, master = pty.fork()
    if pid == 0:  # the child: a new session whose controlling terminal is the pty
        os.chdir(tmp_path)
        os.execv(sys.executable, command)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not (tmp_path / "waits.pid").exists():  # drain the screen until it runs
            assert time.monotonic() < deadline, "the dashboard never started its branches"
            if select.select([master], [], [], 0.1)[0]:
                os.read(master, 65536)
    finally:
        os.close(master)  # the terminal hangs up: SIGHUP
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        raise AssertionError("the dashboard did not exit after its terminal hung up")
    assert os.waitstatus_to_exitcode(status) == 130
