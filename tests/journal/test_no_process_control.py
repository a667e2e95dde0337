"""The journal records; the engine acts: no journal module loads the engine's process code
or an event loop library, so preparing a resume can neither signal a process nor start a
loop of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import fanout_tui.journal

ACTING = (
    "fanout_tui.engine._process",
    "fanout_tui.engine._run_mark",
    "fanout_tui.engine._leftovers",
    "anyio",
)


def test_the_journal_loads_no_process_control_nor_event_loop() -> None:
    folder = Path(fanout_tui.journal.__file__).parent
    modules = sorted(
        f"fanout_tui.journal.{path.stem}"
        for path in folder.glob("_*.py")
        if path.stem != "__init__"
    )
    code = (
        f"import sys, {', '.join(modules)}\n"
        f"print(','.join(sorted(set(sys.modules) & {set(ACTING)!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"the journal loads {result.stdout.strip()}"
