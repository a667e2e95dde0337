"""Process groups: ending all of one, and recognising a leftover one by pid and start time."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from fanout_tui.engine import _procfs as procfs
from fanout_tui.engine._live_groups import group_alive
from fanout_tui.engine._process import (
    end_process_group,
    end_process_group_if_same,
    signal_name,
)

pytestmark = pytest.mark.anyio

STUBBORN = "trap '' TERM; sleep 30 & sleep 30 & echo ready; wait"
"""A leader and two grandchildren, all ignoring SIGTERM (ignored signals are inherited)."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def stubborn_group() -> Iterator[subprocess.Popen[bytes]]:
    """A process group that only SIGKILL ends; always cleaned up."""
    process = subprocess.Popen(
        ["sh", "-c", STUBBORN], stdout=subprocess.PIPE, start_new_session=True
    )
    assert process.stdout is not None
    assert process.stdout.readline() == b"ready\n"
    yield process
    anyio.run(end_process_group, process.pid, 0.0)
    process.wait()
    process.stdout.close()


def test_group_members_lists_the_leader_and_its_descendants(
    stubborn_group: subprocess.Popen[bytes],
) -> None:
    members = procfs.group_members(stubborn_group.pid)
    assert len(members) == 3
    assert {m.pgid for m in members} == {stubborn_group.pid}
    assert group_alive(stubborn_group.pid)


async def test_ending_a_group_escalates_to_sigkill_after_the_grace(
    stubborn_group: subprocess.Popen[bytes],
) -> None:
    started = anyio.current_time()
    assert await end_process_group(stubborn_group.pid, 0.2)
    assert anyio.current_time() - started >= 0.2
    assert procfs.group_members(stubborn_group.pid) == []


def test_a_group_that_obeys_sigterm_ends_without_waiting_the_grace() -> None:
    process = subprocess.Popen(["sh", "-c", "sleep 30 & wait"], start_new_session=True)
    started = time.monotonic()
    assert anyio.run(end_process_group, process.pid, 10)
    assert time.monotonic() - started < 5
    process.wait()
    assert procfs.group_members(process.pid) == []


def test_ending_a_gone_group_is_a_no_op() -> None:
    process = subprocess.Popen(["true"], start_new_session=True)
    process.wait()
    assert anyio.run(end_process_group, process.pid, 1)


async def test_a_leftover_group_is_ended_only_if_the_start_time_matches(
    stubborn_group: subprocess.Popen[bytes],
) -> None:
    pid = stubborn_group.pid
    start_time = procfs.start_time(pid)
    assert start_time is not None
    assert not await end_process_group_if_same(pid, pid, start_time + 1, 0.1)
    assert not await end_process_group_if_same(pid, pid, None, 0.1)
    assert len(procfs.group_members(pid)) == 3
    assert await end_process_group_if_same(pid, pid, start_time, 0.1)
    assert procfs.group_members(pid) == []


def test_a_leftover_group_whose_leader_is_gone_is_still_ended() -> None:
    process = subprocess.Popen(
        ["sh", "-c", "sleep 30 >/dev/null & echo $!"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    out, _ = process.communicate()  # the leader exits; its background sleep stays
    child = procfs.read_stat(int(out))
    assert child is not None and child.alive
    # The journal recorded the leader's start time, no later than its child's.
    ended = anyio.run(end_process_group_if_same, process.pid, process.pid, child.start_time, 0.5)
    assert ended
    assert procfs.group_members(process.pid) == []


def test_read_stat_copes_with_parentheses_in_the_command_name(tmp_path: Path) -> None:
    odd = tmp_path / "we ird) (name"
    odd.symlink_to("/bin/sleep")
    process = subprocess.Popen([str(odd), "30"], start_new_session=True)
    try:
        stat = procfs.read_stat(process.pid)
        assert stat is not None
        assert stat.pgid == process.pid and stat.alive
    finally:
        process.kill()
        process.wait()


def test_signal_names() -> None:
    assert signal_name(9) == "SIGKILL"
    assert signal_name(99) == "signal 99"
