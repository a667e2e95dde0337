"""Headless mode: no TUI; progress lines on stderr, the merged result on stdout.

Used with ``--headless`` and whenever stdout is not a terminal. Never imports Textual.
"""

from fanout_tui.headless.progress import ProgressPrinter
from fanout_tui.headless.runner import run_headless

__all__ = ["ProgressPrinter", "run_headless"]
