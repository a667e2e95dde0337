"""Results as the dashboard shows them, a branch's or the merged one: text as it is,
anything else as JSON (or its ``repr`` when it is no JSON: a cycle, keys that are not
strings).

What comes out is for the screen: escape sequences and control characters a branch put
in its result are dropped (:func:`~fanout_tui.engine.printable`); saving a result writes
its exact text, not this.
"""

from __future__ import annotations

import json
from itertools import islice

from fanout_tui.engine import printable

PREVIEW_LINES = 20
"""At most this many lines of a result are kept for a panel (no panel is taller)."""

_PREVIEW_CHARS = 4096
"""A panel's preview is cut from at most this much of a result's text."""


def result_text(result: object) -> str:
    """``result`` as text for the screen: a string as it is, anything else as indented
    JSON."""
    if isinstance(result, str):
        return printable(result, lines=True)
    try:
        return printable(_encoder(2).encode(result), lines=True)
    except (TypeError, ValueError, RecursionError):
        return printable(repr(result), lines=True)


def result_head(result: object, chars: int, *, indent: int | None = 2) -> str:
    """The first ``chars`` characters of :func:`result_text`, encoding only that far (a
    result can be megabytes)."""
    if isinstance(result, str):
        return printable(result[:chars], lines=True)
    parts: list[str] = []
    size = 0
    try:
        for chunk in _encoder(indent).iterencode(result):
            parts.append(chunk)
            size += len(chunk)
            if size >= chars:
                break
    except (TypeError, ValueError, RecursionError):
        return printable(repr(result)[:chars], lines=True)
    return printable("".join(parts)[:chars], lines=True)


def preview_lines(result: object) -> tuple[str, ...]:
    """The first lines of ``result`` as :func:`result_text` shows it, for a panel."""
    return tuple(islice(result_head(result, _PREVIEW_CHARS).splitlines(), PREVIEW_LINES))


def _encoder(indent: int | None) -> json.JSONEncoder:
    return json.JSONEncoder(indent=indent, ensure_ascii=False, default=str)
