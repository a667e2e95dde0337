"""Orphans that dropped the run's mark still come back to fanout-tui, the child subreaper
of what it starts, and are ended with the rest: headless, and after a cancel."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from fanout_tui.engine import _procfs as procfs
from fanout_tui.engine._events import BranchStatus, OutputLines
from fanout_tui.engine._runner import Engine

from .conftest import branch, make_plan

pytestmark = pytest.mark.anyio

ESCAPES = ("env -u FANOUT_TUI_RUN setsid -f", "env -i setsid -f")


def escaping_script(folder: Path, then: str = "") -> str:
    """Start both kinds of orphans, wait until they wrote their pids, then ``then``."""
    lines = []
    for n, escape in enumerate(ESCAPES):
        pidfile = folder / f"orphan{n}.pid"
        lines.append(
            f"{escape} /bin/sh -c 'echo $$ > {pidfile}; exec /bin/sleep 60' "
            "</dev/null >/dev/null 2>&1"
        )
        lines.append(f"while [ ! -s {pidfile} ]; do sleep 0.01; done")
    return "\n".join([*lines, then])


@pytest.fixture
def orphans(tmp_path: Path) -> Iterator[list[Path]]:
    """The orphans' pid files; whatever they name is killed after the test, pass or fail."""
    files = [tmp_path / f"orphan{n}.pid" for n in range(len(ESCAPES))]
    yield files
    for file in files:
        if file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(file.read_text()), signal.SIGKILL)


def gone(files: list[Path]) -> bool:
    pids = [int(file.read_text()) for file in files]
    stats = [procfs.read_stat(pid) for pid in pids]
    return len(pids) == len(ESCAPES) and all(s is None or not s.alive for s in stats)


def test_orphans_are_ended_when_a_headless_run_ends(tmp_path: Path, orphans: list[Path]) -> None:
    spec = tmp_path / "spec.yaml"
    script = escaping_script(tmp_path).replace("\n", "; ")
    spec.write_text(
        "version: 1\nname: orphans\nbranches:\n  - id: escapes\n"
        f"    run: {json.dumps(script)}\n    kill_grace: 200ms\n"
    )
    completed = subprocess.run(
        [sys.executable, "-m", "fanout_tui", str(spec), "--headless", "--no-journal"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert completed.returncode == 0, completed.stderr
    assert gone(orphans)


async def test_orphans_are_ended_when_their_branch_is_cancelled(
    tmp_path: Path, orphans: list[Path]
) -> None:
    script = escaping_script(tmp_path, then="echo ready; sleep 60")
    plan = make_plan(branch("escapes", run=script, kill_grace_s=0.2))
    engine = Engine(plan)
    ready = anyio.Event()

    def listen(event: object) -> None:
        if isinstance(event, OutputLines) and "ready" in event.lines:
            ready.set()

    engine.add_listener(listen)
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.run)
            await ready.wait()
            engine.cancel("escapes")
    (report,) = engine.outcome().branches
    assert report.status is BranchStatus.CANCELLED
    assert gone(orphans)
    for file in orphans:  # reaped too: not even a zombie is left
        assert procfs.read_stat(int(file.read_text())) is None
