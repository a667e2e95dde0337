"""One output line as the dashboard keeps it, and the compact codes it is kept by."""

from __future__ import annotations

from typing import NamedTuple

from fanout_tui.engine import Stream


class OutputLine(NamedTuple):
    """One line a branch printed, with the attempt and stream it came from."""

    attempt: int
    stream: Stream
    text: str


STDERR_BIT = 1
"""Lines are kept as two parallel deques, texts and ``attempt * 2 + is_stderr`` codes:
no per-line objects for the garbage collector to walk (the hot path under heavy output)."""


def line_code(attempt: int, stream: Stream) -> int:
    """The code of a line of ``attempt``'s ``stream``."""
    return attempt * 2 + (STDERR_BIT if stream == "stderr" else 0)


def decode_line_code(code: int) -> tuple[int, Stream]:
    """The attempt and stream :func:`line_code` made ``code`` of."""
    return code >> 1, "stderr" if code & STDERR_BIT else "stdout"
