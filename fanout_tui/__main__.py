"""Allow ``python -m fanout_tui``."""

from fanout_tui.cli import entry

entry()
