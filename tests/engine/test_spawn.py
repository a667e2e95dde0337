"""Starting a branch's process: the ``posix_spawn`` path and the ``Popen`` one behave alike."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from fanout_tui.engine import _exec
from fanout_tui.engine import _procfs as procfs
from fanout_tui.engine._live_groups import group_alive
from fanout_tui.engine._process import BranchProcess, StartError, spawn

pytestmark = pytest.mark.anyio

SIGPIPE_BIT = 1 << (signal.SIGPIPE - 1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Our own folder is ``tmp_path`` (the folder ``posix_spawn`` starts in)."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


async def _run(proc: BranchProcess) -> tuple[int, bytes]:
    chunks = []
    code = await proc.wait()
    while True:
        try:
            data = os.read(proc.stdout_fd, 65536)
        except BlockingIOError:
            break
        if not data:
            break
        chunks.append(data)
    proc.release()
    return code, b"".join(chunks)


def _shell(script: str, cwd: Path) -> BranchProcess:
    return spawn(["/bin/sh", "-c", script], cwd=cwd, env=dict(os.environ))


async def test_a_shell_command_in_our_folder_is_posix_spawned(in_tmp: Path) -> None:
    proc = _shell("echo $$ $(cut -d' ' -f6 /proc/self/stat); pwd; exit 3", in_tmp)
    assert proc._popen is None
    code, out = await _run(proc)
    first, folder = out.decode().splitlines()
    assert code == 3
    assert int(first.split()[0]) == proc.pid  # it leads its own session
    assert folder == str(in_tmp)


async def test_both_paths_give_sigpipe_its_default_handling(in_tmp: Path) -> None:
    elsewhere = in_tmp / "sub"
    elsewhere.mkdir()
    for cwd, spawned in ((in_tmp, True), (elsewhere, False)):
        proc = _shell("grep SigIgn /proc/self/status", cwd)
        assert (proc._popen is None) is spawned
        code, out = await _run(proc)
        assert code == 0
        assert not int(out.split()[1], 16) & SIGPIPE_BIT


async def test_a_killed_leader_reports_its_signal(in_tmp: Path) -> None:
    code, _ = await _run(_shell("kill -9 $$", in_tmp))
    assert code == -signal.SIGKILL


async def test_stdin_is_dev_null_or_the_fed_pipe(in_tmp: Path) -> None:
    code, out = await _run(_shell("cat", in_tmp))
    assert (code, out) == (0, b"")
    proc = spawn(["/bin/cat"], cwd=in_tmp, env=dict(os.environ), feed_stdin=True)
    assert proc.stdin_fd is not None
    os.write(proc.stdin_fd, b"fed\n")
    proc.close_stdin()
    assert await _run(proc) == (0, b"fed\n")


async def test_an_inheritable_descriptor_of_ours_is_not_inherited(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_exec, "_swept", False)
    read, write = os.pipe()
    try:
        os.set_inheritable(write, True)
        code, out = await _run(_shell(f"[ -e /proc/self/fd/{write} ] && echo leaked", in_tmp))
        assert (code, out) == (1, b"")
    finally:
        os.close(read)
        os.close(write)


def test_a_missing_program_is_one_sentence_on_either_path(in_tmp: Path) -> None:
    with pytest.raises(StartError, match="command not found: /no/such/program"):
        spawn(["/no/such/program"], cwd=in_tmp, env=dict(os.environ))
    with pytest.raises(StartError, match="command not found: no-such-program"):
        spawn(["no-such-program"], cwd=in_tmp, env=dict(os.environ))
    script = in_tmp / "script"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(StartError, match="not executable"):
        spawn([str(script)], cwd=in_tmp, env=dict(os.environ))


async def test_a_leader_reaped_elsewhere_reads_as_exit_0(in_tmp: Path) -> None:
    proc = _shell("exit 5", in_tmp)
    assert proc._popen is None
    await anyio.wait_readable(proc._pidfd)  # type: ignore[arg-type]
    _reap_behind_its_back(proc.pid)
    assert await proc.wait() == 0
    proc.release()


def _reap_behind_its_back(pid: int) -> None:
    os.waitpid(pid, 0)


async def test_ending_many_groups_at_once_shares_the_scans_of_proc(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scans = 0
    scan = procfs.live_processes

    def counted() -> list[procfs.ProcStat]:
        nonlocal scans
        scans += 1
        return scan()

    procs = [_shell("trap '' TERM; sleep 30 & sleep 30; wait", in_tmp) for _ in range(40)]
    try:
        monkeypatch.setattr(procfs, "live_processes", counted)
        async with anyio.create_task_group() as group:
            for proc in procs:
                group.start_soon(proc.end, 0.05)
        assert all(not group_alive(proc.pgid) for proc in procs)
        assert scans < len(procs)
    finally:
        for proc in procs:
            await proc.end(0)
            await proc.wait()
            proc.release()


def test_a_group_started_after_a_scan_is_not_taken_for_gone(in_tmp: Path) -> None:
    first = _shell("sleep 30", in_tmp)
    second = None
    try:
        assert group_alive(first.pgid)  # a scan, fresh for a while
        second = _shell("sleep 30", in_tmp)
        assert group_alive(second.pgid)
    finally:
        for proc in (first, second):
            if proc is not None:
                os.killpg(proc.pgid, signal.SIGKILL)
                _reap_behind_its_back(proc.pid)
                proc.release()
