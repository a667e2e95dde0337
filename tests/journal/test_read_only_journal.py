"""``fanout-tui runs`` and ``runs show`` only read: a journal on a read-only mount works.

As root, permissions do not stop writes, so the read-only folder is a real read-only bind
mount in a mount namespace of its own (``unshare -m``); as anyone else, the folder and its
files lose their write permission.
"""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from fanout_tui.engine._events import BranchStatus
from fanout_tui.journal import Journal, list_runs, show_run
from fanout_tui.journal._schema import DATABASE_NAME, MIGRATIONS, connect, migrate, schema_version

from .builders import make_plan, outcome_of, run_branch

TIMEOUT_S = 60


def _record_run(root: Path, tmp_path: Path) -> str:
    plan = make_plan(tmp_path, {"a": "echo a"})
    with Journal.open(root) as journal:
        recorder = journal.start_run(plan)
        run_branch(recorder, plan, "a", result="A")
        recorder.finish(outcome_of(plan, {"a": BranchStatus.SUCCEEDED}, merged="A\n"))
    return recorder.run_id


def _fanout(args: Sequence[str], *, read_only: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m fanout_tui ARGS`` while the folder ``read_only`` is read-only to it."""
    command = [sys.executable, "-m", "fanout_tui", *args]
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.skip("no unshare")
        folder = str(read_only)
        mount = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}"
        probe = f"{mount} && ! touch {folder}/.probe 2>/dev/null"
        if subprocess.run(["unshare", "-m", "sh", "-c", probe], check=False).returncode:
            pytest.skip("cannot make a read-only mount here (unshare -m)")
        command = ["unshare", "-m", "sh", "-c", f'{mount} && exec "$@"', "sh", *command]
    with _without_write_permission(read_only):
        return subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )


@contextmanager
def _without_write_permission(folder: Path) -> Iterator[None]:
    if os.geteuid() == 0:
        yield  # the mount does it
        return
    paths = [folder, *folder.iterdir()]
    modes = {path: stat.S_IMODE(path.stat().st_mode) for path in paths}
    for path in paths:
        path.chmod(modes[path] & ~0o222)
    try:
        yield
    finally:
        for path in paths:
            path.chmod(modes[path])


def test_a_journal_closed_cleanly_is_listed_and_shown_from_a_read_only_folder(
    tmp_path: Path,
) -> None:
    root = tmp_path / "j"
    run_id = _record_run(root, tmp_path)
    assert not (root / "journal.db-wal").exists()  # no write-ahead log to read
    listed = _fanout(["runs", "--journal", str(root)], read_only=root)
    assert listed.returncode == 0, listed.stderr
    assert run_id in listed.stdout
    shown = _fanout(["runs", "show", run_id, "--journal", str(root)], read_only=root)
    assert (shown.returncode, shown.stdout, shown.stderr) == (0, "A\n", "")


def test_a_journal_being_written_is_listed_from_a_read_only_folder(tmp_path: Path) -> None:
    root = tmp_path / "j"
    first = _record_run(root, tmp_path)
    plan = make_plan(tmp_path, {"a": "echo a"})
    with Journal.open(root) as journal:
        live = journal.start_run(plan)
        run_branch(live, plan, "a", result="A")
        live.flush()
        assert (root / "journal.db-wal").exists() and (root / "journal.db-shm").exists()
        listed = _fanout(["runs", "--journal", str(root)], read_only=root)
        assert listed.returncode == 0, listed.stderr
        assert first in listed.stdout
        assert live.run_id in listed.stdout  # committed in the write-ahead log only
        shown = _fanout(
            ["runs", "show", live.run_id, "--branch", "a", "--journal", str(root)], read_only=root
        )
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.startswith("branch a: succeeded")


def test_listing_and_showing_never_write_the_database(tmp_path: Path) -> None:
    root = tmp_path / "j"
    root.mkdir()
    # A journal of schema version 1: opening it to write would migrate it.
    connection = connect(root / DATABASE_NAME)
    migrate(connection, MIGRATIONS[:1])
    connection.execute(
        "INSERT INTO runs (id, spec_name, started_at, ended_at, outcome, exit_code, "
        "branch_count, merge_state, merged) "
        "VALUES ('r1', 'old', 1.0, 2.0, 'succeeded', 0, 0, 'merged', '\"done\"')"
    )
    connection.close()
    before = (root / DATABASE_NAME).read_bytes()
    assert list_runs(root, out=io.StringIO()) == 0
    out = io.StringIO()
    assert show_run(root, "r1", branch_id=None, out=out) == 0
    assert out.getvalue() == "done\n"
    assert (root / DATABASE_NAME).read_bytes() == before
    with Journal.open_for_reading(root) as journal:
        assert schema_version(journal.connection) == 1
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            journal.connection.execute("DELETE FROM runs")
