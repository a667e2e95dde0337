"""End to end: the command a branch runs finds its own process in the journal.

Each branch's command opens the journal itself and looks up its own pid, process group
and start time: the gate keeps the pid across ``exec``, so the row it finds is the one a
resume would use to end it. (That the command waits for the commit is shown in
``tests/engine/test_attempt.py``, where the hold is under the test's control.)
"""

from __future__ import annotations

import sys
from pathlib import Path

from .cli_runs import fanout, write_spec

LOOK_UP_MY_PID = (
    "import os, sqlite3, sys\n"
    "db = sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True)\n"
    "row = db.execute('SELECT pgid, process_start_time FROM attempts WHERE pid = ?',"
    " (os.getpid(),)).fetchone()\n"
    "stat = open(f'/proc/{os.getpid()}/stat').read().rsplit(')', 1)[1].split()\n"
    "print('recorded' if row == (os.getpgid(0), int(stat[19])) else f'not recorded: {row}')\n"
)


def test_every_process_is_recorded_before_its_command_runs(tmp_path: Path) -> None:
    journal = tmp_path / ".fanout"
    script = tmp_path / "look_up_my_pid.py"
    script.write_text(LOOK_UP_MY_PID)
    database = journal / "journal.db"
    command = f"exec {sys.executable} {script} {database}"
    spec = write_spec(
        tmp_path,
        {f"b{i}": command for i in range(12)},
        extra="concurrency: 6\nmerge: {strategy: concatenate}",
    )
    done = fanout(spec, journal)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["recorded"] * 12
