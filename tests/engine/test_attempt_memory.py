"""A branch printing ~100 MB keeps the engine's memory bounded; the log gets every byte."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from fanout_tui.engine._attempt import attempt_log_paths, execute_attempt
from fanout_tui.engine._clock import SystemClock
from fanout_tui.engine._events import Event, OutputLines
from fanout_tui.spec._masking import Masker
from fanout_tui.spec._plan import BranchPlan

SIZE = 100 * 1024 * 1024
LINE = "some line of text, secret-ish"
BOUND = 64 * 1024 * 1024
"""Most the peak resident memory may grow while 100 MB stream through."""


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # resets VmHWM to the current resident size
    except OSError:
        return False
    return True


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def test_a_hundred_megabytes_keep_memory_bounded(tmp_path: Path) -> None:
    if not _reset_peak_rss():
        pytest.skip("this kernel does not let us reset the peak resident size")
    branch = BranchPlan(id="big", index=0, run=f"yes '{LINE}' | head -c {SIZE}", cwd=tmp_path)
    lines = 0

    def emit(event: Event) -> None:
        nonlocal lines
        if isinstance(event, OutputLines):
            lines += len(event.lines) + event.skipped

    async def attempt() -> str | None:
        with anyio.fail_after(60):
            result = await execute_attempt(
                branch,
                1,
                emit=emit,
                masker=Masker({"TOKEN": "secret-ish"}),
                clock=SystemClock(),
                log_dir=tmp_path,
            )
        return result.reason

    before = _status_kib("VmRSS")
    reason = anyio.run(attempt)
    growth = (_status_kib("VmHWM") - before) * 1024
    assert growth < BOUND, f"peak memory grew by {growth / 2**20:.0f} MiB"
    assert reason == "output is larger than 16 MiB"
    whole, rest = divmod(SIZE, len(LINE) + 1)
    assert lines == whole + 1
    # Every byte reached the log, each secret masked: "secret-ish" (10) became "***" (3).
    masked = whole + LINE[:rest].count("secret-ish")
    stdout_log, _ = attempt_log_paths(tmp_path, "big", 1)
    assert stdout_log is not None and stdout_log.stat().st_size == SIZE - 7 * masked
