"""Splitting a decoded output stream into display lines, incrementally and with bounded memory.

Rules (what the operator sees; the log file keeps the exact text):

* A line ends at ``\\n``. Trailing ``\\r`` before it is dropped (``\\r\\n`` line endings).
* A ``\\r`` inside a line rewinds it, as a terminal does for progress output: only the text
  after the last ``\\r`` is kept, so ``10%\\r20%\\r30%\\n`` shows as ``30%``. An unfinished
  progress line therefore never grows: each rewind forgets what came before.
* A line longer than ``cap`` characters keeps its first ``cap`` characters and ends with a
  marker saying how many characters were dropped.
"""

from __future__ import annotations

import re
from typing import TextIO

LINE_CAP = 64 * 1024
"""Characters of one line that are shown; the rest is dropped (the log keeps all)."""

_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, clearing
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: a window title, a hyperlink
    r"|\x1b[ -/]*[0-~]"  # any other escape: ESC c (reset), ESC 7, ESC ( B
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # control characters, C1 included
)


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` made safe for a terminal: the one sanitiser of everything a spec or a
    branch puts on a screen (a line of output, a reason, a spec's name, a merged result).

    Escape sequences (CSI such as ``ESC[2J``, OSC such as a window title, ``ESC c``) and
    every other C0 and C1 control character are dropped, so no text can move the
    cursor, clear the screen, retitle the window or reset the terminal.

    Args:
        text: What to show.
        lines: Keep newlines and tabs (a block of lines: ``check``'s plan, a log, a
            result); by default the text is one row: a newline becomes a space and a tab
            four. Carriage returns are dropped either way.
    """
    if text.isprintable():  # the common case, and far cheaper than the expression
        return text
    if lines:
        return _CONTROL.sub("", text)
    row = text.replace("\t", "    ").replace("\r", "").replace("\n", " ")
    return _CONTROL.sub("", row)


def for_terminal(stream: TextIO, text: str) -> str:
    """``text`` as it may be written to ``stream``: sanitised (:func:`printable`, lines
    kept) when it is a terminal, exact when it is a file or a pipe."""
    try:
        tty = stream.isatty()
    except (OSError, ValueError):  # a closed stream: whatever is written fails anyway
        tty = False
    return printable(text, lines=True) if tty else text


class LineSplitter:
    """Turns pieces of text into complete lines, holding only the unfinished one.

    Args:
        cap: Most characters kept of one line.
    """

    __slots__ = ("_cap", "_dropped", "_kept", "_pending_cr", "_pieces")

    def __init__(self, cap: int = LINE_CAP) -> None:
        self._cap = cap
        self._pieces: list[str] = []
        self._kept = 0
        self._dropped = 0
        self._pending_cr = False

    def feed(self, text: str) -> list[str]:
        """Take the next piece of the stream; return the lines it completed."""
        parts = text.split("\n")
        last = len(parts) - 1
        if (
            last >= 2
            and "\r" not in text
            and (len(text) <= self._cap or max(map(len, parts)) <= self._cap)
        ):
            # The common case, kept at C speed: plain lines, none of them too long.
            self._append(parts[0])
            lines = [self._finish(), *parts[1:last]]
        else:
            lines = []
            for part in parts[:last]:
                self._append(part)
                lines.append(self._finish())
        self._append(parts[last])
        return lines

    def flush(self) -> list[str]:
        """End of stream: the unfinished line, if there is one."""
        if self._pieces or self._dropped:
            return [self._finish()]
        return []

    def _append(self, part: str) -> None:
        if not part:
            return
        if self._pending_cr:  # text after a carriage return rewrites the line
            self._reset()
        body = part.rstrip("\r")
        self._pending_cr = len(body) != len(part)
        rewind = body.rfind("\r")
        if rewind >= 0:
            self._reset()
            body = body[rewind + 1 :]
        room = self._cap - self._kept
        if len(body) <= room:
            if body:
                self._pieces.append(body)
                self._kept += len(body)
        else:
            if room > 0:
                self._pieces.append(body[:room])
                self._kept += room
            self._dropped += len(body) - max(room, 0)

    def _finish(self) -> str:
        line = "".join(self._pieces)
        if self._dropped:
            line += f" … [{self._dropped} more characters dropped]"
        self._reset()
        return line

    def _reset(self) -> None:
        self._pieces = []
        self._kept = 0
        self._dropped = 0
        self._pending_cr = False
