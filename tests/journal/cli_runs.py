"""Run the real command (``python -m fanout_tui``) on specs in a temporary folder.

Branches append a line to ``counts/<id>`` each time they run, so a test can prove what
ran again after a resume or a crash.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

COMMAND_TIMEOUT_S = 60


def counted(branch_id: str, check: str = "") -> str:
    """A shell command that records one run of ``branch_id``, then prints its id, or
    fails when the shell command ``check`` fails."""
    gate = f"{check} && " if check else ""
    return f"echo ran >> counts/{branch_id}; {gate}echo {branch_id}"


def write_spec(
    folder: Path,
    branches: Mapping[str, str],
    *,
    name: str = "counted",
    extra: str = "",
) -> Path:
    """Write a spec of ``run`` branches (id → shell command) to ``folder/spec.yaml``."""
    (folder / "counts").mkdir(exist_ok=True)
    lines = ["version: 1", f"name: {name}", extra.strip(), "branches:"]
    for branch_id, command in branches.items():
        lines += [f"  - id: {branch_id}", f"    run: {_yaml_string(command)}"]
    spec = folder / "spec.yaml"
    spec.write_text("\n".join(line for line in lines if line) + "\n")
    return spec


def _yaml_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def runs_of(folder: Path, branch_id: str) -> int:
    """How many times ``branch_id`` ran."""
    path = folder / "counts" / branch_id
    return len(path.read_text().splitlines()) if path.exists() else 0


def fanout_command(spec: Path, journal: Path, *args: str) -> list[str]:
    """The command line of a headless, journaled run of ``spec``."""
    return [
        sys.executable,
        "-m",
        "fanout_tui",
        str(spec),
        "--headless",
        "--journal",
        str(journal),
        *args,
    ]


def fanout(
    spec: Path, journal: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``spec`` headless with the journal at ``journal`` and wait for it."""
    return subprocess.run(
        fanout_command(spec, journal, *args),
        cwd=spec.parent,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        env={**os.environ, **(env or {})},
        check=False,
    )


def query(journal: Path, sql: str, args: Sequence[object] = ()) -> list[sqlite3.Row]:
    """Read the journal's database directly."""
    connection = sqlite3.connect(journal / "journal.db")
    connection.row_factory = sqlite3.Row
    try:
        return connection.execute(sql, args).fetchall()
    finally:
        connection.close()


def wait_for_rows(journal: Path, sql: str, *, timeout_s: float = 20) -> list[sqlite3.Row]:
    """Poll the journal of a running fanout-tui until ``sql`` returns rows."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            rows = query(journal, sql)
        except sqlite3.OperationalError:  # not created yet
            rows = []
        if rows:
            return rows
        time.sleep(0.05)
    raise AssertionError(f"no rows for {sql!r} within {timeout_s}s")


def integrity(journal: Path) -> str:
    """``PRAGMA integrity_check`` of the journal's database (``"ok"`` when sound)."""
    return str(query(journal, "PRAGMA integrity_check")[0][0])
