"""kill -9 at random moments, resume after each: the journal stays sound and nothing whose
success was committed runs again."""

from __future__ import annotations

import io
import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from fanout_tui.journal import list_runs

from .cli_runs import fanout, fanout_command, integrity, query, runs_of, write_spec

KILLS = 20
BRANCHES = 12
SEED = 20261128
MARKER = f"crash-loop-{os.getpid()}"
"""Names this session's branch shells in /proc (their command line holds it)."""


def _branch(branch_id: str, pause: float) -> str:
    # The marker names the branch's shell in /proc, so the harness can wait for orphans.
    return f": {MARKER}; sleep {pause:.2f}; echo ran >> counts/{branch_id}; echo {branch_id}"


def _orphans() -> list[int]:
    """Branch shells of this test still running (a killed run's processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if MARKER.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _wait_for_orphans() -> None:
    deadline = time.monotonic() + 10
    while _orphans():
        assert time.monotonic() < deadline, "branch processes outlived the test's patience"
        time.sleep(0.02)


def _latest_run(journal: Path) -> str | None:
    """The newest run's id (``None`` when the kill came before any run was recorded)."""
    try:
        rows = query(journal, "SELECT id FROM runs ORDER BY started_at DESC LIMIT 1")
    except sqlite3.OperationalError:  # killed before the schema was created
        return None
    return rows[0]["id"] if rows else None


def _committed_successes(journal: Path) -> set[str]:
    latest = _latest_run(journal)
    if latest is None:
        return set()
    rows = query(
        journal,
        "SELECT id FROM branches WHERE run_id = ? AND status = 'succeeded' "
        "AND (result IS NOT NULL OR result_file IS NOT NULL)",
        (latest,),
    )
    return {row["id"] for row in rows}


@pytest.mark.slow
def test_kill_minus_nine_at_random_moments_then_resume(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    journal = tmp_path / "journal"
    branch_ids = [f"b{i:02d}" for i in range(BRANCHES)]
    spec = write_spec(
        tmp_path,
        {b: _branch(b, rng.uniform(0.05, 0.4)) for b in branch_ids},
        extra="concurrency: 3",
    )
    committed_counts: dict[str, int] = {}
    for _ in range(KILLS):
        # Always --resume, as a retrying script would: it starts afresh while there is
        # no run yet (a kill before the first run was recorded).
        process = subprocess.Popen(
            fanout_command(spec, journal, "--resume"),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.0, 1.5))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        _wait_for_orphans()
        if (journal / "journal.db").exists():
            assert integrity(journal) == "ok"
        for branch_id in _committed_successes(journal):
            count = runs_of(tmp_path, branch_id)
            # Once committed, a success is never run again.
            assert committed_counts.setdefault(branch_id, count) == count, branch_id

    final = fanout(spec, journal, "--resume")
    assert final.returncode == 0, final.stderr
    assert final.stdout.split() == branch_ids
    for branch_id, count in committed_counts.items():
        assert runs_of(tmp_path, branch_id) == count, branch_id
    assert all(runs_of(tmp_path, b) >= 1 for b in branch_ids)
    assert integrity(journal) == "ok"
    killed = query(journal, "SELECT COUNT(*) FROM runs WHERE ended_at IS NULL")[0][0]
    assert killed >= 1
    listing = io.StringIO()
    assert list_runs(journal, out=listing) == 0
    outcomes = [line.split()[4] for line in listing.getvalue().splitlines()[1:]]
    assert outcomes[0] == "succeeded"
    assert outcomes.count("interrupted") == killed
