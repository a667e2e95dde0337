"""A log file that meets a full disk mid-stream: said at once, the branch goes on, and the
log says where it was cut once there is room again (issue 14)."""

from __future__ import annotations

import errno
import io
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from fanout_tui.engine import BranchStatus, _streams
from fanout_tui.engine._attempt import attempt_log_paths
from tests.engine.test_attempt import _attempt, _branch, anyio_backend  # noqa: F401

FULL = "No space left on device"


class _FillingDisk(io.FileIO):
    """A log file whose writes fail with ENOSPC past ``room`` bytes, until space returns."""

    room = 0
    full = True

    def write(self, data: object) -> int:
        size = len(memoryview(data))  # type: ignore[arg-type]
        if _FillingDisk.full and self.tell() + size > _FillingDisk.room:
            raise OSError(errno.ENOSPC, FULL)
        return super().write(data)  # type: ignore[arg-type]


def _filling(path: Path) -> BinaryIO:
    return cast(BinaryIO, _FillingDisk(path, "w"))


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> type[_FillingDisk]:
    monkeypatch.setattr(_FillingDisk, "room", 4)
    monkeypatch.setattr(_FillingDisk, "full", True)
    monkeypatch.setattr(_streams, "_create_private", _filling)
    return _FillingDisk


def test_the_cut_is_marked_once_space_returns(tmp_path: Path, disk: type[_FillingDisk]) -> None:
    log = _streams.LogFile(tmp_path / "out.log", cap=1 << 20)
    assert log.write(b"one\n") is None
    said = log.write(b"two\n")
    assert said is not None and said.startswith(
        f"[fanout-tui] the log of this attempt could not be written: {FULL}; "
    )
    assert log.write(b"three\n") is None  # said once
    disk.full = False
    log.close()
    text = (tmp_path / "out.log").read_text()
    assert text.startswith("one\n")
    assert f"[fanout-tui] the log was cut here: {FULL}" in text
    assert "6 more bytes after it" in text


@pytest.mark.anyio
async def test_a_full_disk_mid_stream_is_said_at_once_and_the_result_is_kept(
    tmp_path: Path, disk: type[_FillingDisk]
) -> None:
    disk.room = 6
    run = await _attempt(_branch(tmp_path, "echo one; echo two"), log_dir=tmp_path)
    assert run.result.status is BranchStatus.SUCCEEDED
    assert run.result.result == "one\ntwo\n"
    lines = run.lines("stdout")
    said = [line for line in lines if line.startswith("[fanout-tui] the log of this attempt")]
    assert len(said) == 1 and FULL in said[0]
    stdout_log, _ = attempt_log_paths(tmp_path, "b", 1)
    assert stdout_log is not None
    # Room came back for the marking line (it bypasses the filling disk).
    assert stdout_log.read_text().endswith(
        f"[fanout-tui] the log was cut here: {FULL}; what was being written is lost\n"
    )
