"""The dashboard's terminal driver: Textual's own, made safe against a terminal that hangs up.

When the terminal goes away (an ssh session drops, a tmux session is killed), writing to
it fails. Textual's output thread dies on the first failed write, and the writes that
follow wait forever on its full queue: the app ends every branch but never exits, holding
the journal open. :class:`HangUpSafeDriver` hands that thread a stream that drops what the
terminal can no longer take, so the app quits as it does on ``q``.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any, TextIO

from textual.app import App
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver


class TerminalStream:
    """A terminal stream whose writes and flushes never fail: once the terminal is gone,
    what is written goes nowhere."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        """Write ``text`` to the terminal, or drop it if the terminal is gone."""
        with suppress(OSError, ValueError):
            return self._stream.write(text)
        return len(text)

    def flush(self) -> None:
        """Flush the terminal, if it is still there."""
        with suppress(OSError, ValueError):
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class HangUpSafeDriver(LinuxDriver):
    """Textual's Linux/macOS driver, writing through a :class:`TerminalStream`."""

    def __init__(self, app: App[Any], **options: Any) -> None:
        super().__init__(app, **options)
        self._file = TerminalStream(self._file)  # type: ignore[arg-type, assignment]


def dashboard_driver(default: type[Driver]) -> type[Driver]:
    """The driver for the dashboard: :class:`HangUpSafeDriver` where Textual would use its
    Linux driver, else Textual's own choice ``default``."""
    return HangUpSafeDriver if default is LinuxDriver else default
