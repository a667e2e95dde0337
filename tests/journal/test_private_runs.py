"""After a real run every file under the journal folder is the owner's only, whatever the
umask: the engine's log files as much as the journal's own."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .cli_runs import fanout, write_spec


def test_a_real_run_leaves_only_private_files_and_folders(tmp_path: Path) -> None:
    journal = tmp_path / ".fanout"
    spec = write_spec(
        tmp_path,
        {
            "talks": "echo out; echo err >&2",
            "big": "head -c 200000 /dev/zero | tr '\\0' x",
            "quiet": "true",
        },
    )
    previous = os.umask(0)  # the child inherits it: nothing may rely on the umask
    try:
        result = fanout(spec, journal)
    finally:
        os.umask(previous)
    assert result.returncode == 0, result.stderr
    paths = [journal, *journal.rglob("*")]
    assert any(p.name.endswith(".stderr") for p in paths)
    assert any(p.parent.name == "results" for p in paths)
    for path in paths:
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
