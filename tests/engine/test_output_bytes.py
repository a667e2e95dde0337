"""Output stays bytes from the pipe to the log and the result: exact, capped, masked."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import anyio
import pytest

from fanout_tui.engine._attempt import execute_attempt
from fanout_tui.engine._clock import SystemClock
from fanout_tui.engine._events import BranchStatus, Event, OutputLines
from fanout_tui.engine._streams import LogFile, OutputPump, OutputSink
from fanout_tui.spec import load_plan_text
from fanout_tui.spec._masking import Masker
from fanout_tui.spec._plan import DEFAULT_LOG_CAP, BranchPlan

pytestmark = pytest.mark.anyio

MIB = 1024 * 1024


async def _run(
    tmp_path: Path, run: str, masker: Masker | None = None, **fields: object
) -> tuple[object, list[OutputLines]]:
    branch = BranchPlan(id="b", index=0, run=run, cwd=tmp_path, **fields)  # type: ignore[arg-type]
    events: list[Event] = []
    with anyio.fail_after(60):
        result = await execute_attempt(
            branch,
            1,
            emit=events.append,
            masker=masker or Masker({}),
            clock=SystemClock(),
            log_dir=tmp_path / "logs",
        )
    return result, [e for e in events if isinstance(e, OutputLines)]


def _digits(size: int) -> bytes:
    """``size`` bytes of ``seq``'s output, as the test's own reference."""
    numbers = b"".join(b"%d\n" % n for n in range(1, size // 2 + 2))
    assert len(numbers) >= size
    return numbers[:size]


async def test_a_64_mib_log_and_a_16_mib_result_keep_every_byte(tmp_path: Path) -> None:
    """The log holds the whole stream as it came; the result (read back from the log,
    past what is held in memory) is exactly the stdout."""
    source = tmp_path / "data"
    source.write_bytes(_digits(64 * MIB))
    result, _ = await _run(tmp_path, f"cat {source}")
    log = tmp_path / "logs" / "b.attempt-1.stdout"
    assert hashlib.sha256(log.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
    assert result.reason == "output is larger than 16 MiB"  # type: ignore[attr-defined]

    exact = tmp_path / "exact"
    exact.write_bytes(_digits(16 * MIB))
    result, lines = await _run(tmp_path, f"cat {exact}")
    assert result.status is BranchStatus.SUCCEEDED  # type: ignore[attr-defined]
    assert result.result.encode() == exact.read_bytes()  # type: ignore[attr-defined]
    data = exact.read_bytes()
    whole = data.count(b"\n") + (not data.endswith(b"\n"))
    assert sum(len(e.lines) + e.skipped for e in lines) == whole


async def test_binary_output_is_logged_as_it_came(tmp_path: Path) -> None:
    source = tmp_path / "noise"
    source.write_bytes(os.urandom(3 * MIB))
    await _run(tmp_path, f"cat {source} >&2")
    assert (tmp_path / "logs" / "b.attempt-1.stderr").read_bytes() == source.read_bytes()


async def test_the_log_cap_cuts_the_log_and_marks_the_cut(tmp_path: Path) -> None:
    result, lines = await _run(tmp_path, "seq 1 100000", log_cap=1000)
    log = (tmp_path / "logs" / "b.attempt-1.stdout").read_bytes()
    expected = b"".join(b"%d\n" % n for n in range(1, 100_001))
    assert log.startswith(expected[:1000] + b"\n[fanout-tui] the log was cut here, at its cap")
    assert log.endswith(
        b"[fanout-tui] %d more bytes were not written to this log\n" % (len(expected) - 1000)
    )
    shown = [line for event in lines for line in event.lines]
    assert any(line.startswith("[fanout-tui] the log was cut here") for line in shown)
    # A log cut below the result cap leaves the result in memory, whole.
    assert result.result == expected.decode()  # type: ignore[attr-defined]


def test_a_secret_split_across_two_reads_is_still_masked(tmp_path: Path) -> None:
    shown: list[str] = []
    log = LogFile(tmp_path / "log", cap=DEFAULT_LOG_CAP)
    sink = OutputSink(
        on_lines=lambda got, _skipped: shown.extend(got),
        masker=Masker({"TOKEN": "s3cr3t-välue"}),
        log=log,
        keep_limit=1 << 20,
    )
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    secret = "s3cr3t-välue".encode()
    pieces = [b"x" * 60_000 + secret[:5], secret[5:9], secret[9:] + b" end\n"]

    async def pump() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(OutputPump(read_end, sink).run)
            for piece in pieces:
                os.write(write_end, piece)
                await anyio.sleep(0.01)  # each piece its own read
            os.close(write_end)

    anyio.run(pump)
    sink.finish()
    kept = sink.result()
    log.close()
    os.close(read_end)
    assert shown[-1].endswith("x*** end")
    assert kept == "x" * 60_000 + "*** end\n"
    assert (tmp_path / "log").read_bytes() == b"x" * 60_000 + b"*** end\n"


def test_log_cap_is_a_size_in_the_spec_and_defaults_inherit_it() -> None:
    plan = load_plan_text(
        "version: 1\nname: n\ndefaults: {log_cap: 64MiB}\n"
        "branches: [{id: a, run: x}, {id: b, run: x, log_cap: 1000}]\n"
    )
    assert plan.branch("a").log_cap == 64 * MIB
    assert plan.branch("b").log_cap == 1000
    assert (
        load_plan_text("version: 1\nname: n\nbranches: [{id: a, run: x}]\n").branch("a").log_cap
        == DEFAULT_LOG_CAP
    )
