"""The run journal: every run recorded in SQLite under ``.fanout/``, resumable after a crash."""

from fanout_tui.journal._errors import JournalError
from fanout_tui.journal._history import list_runs
from fanout_tui.journal._locate import LocatedRun, locate_run
from fanout_tui.journal._recorder import RunRecorder
from fanout_tui.journal._resume import Resumption
from fanout_tui.journal._show import show_run
from fanout_tui.journal._store import Journal

__all__ = [
    "Journal",
    "JournalError",
    "LocatedRun",
    "Resumption",
    "RunRecorder",
    "list_runs",
    "locate_run",
    "show_run",
]
