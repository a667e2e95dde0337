"""A branch's result as the dashboard shows it: text as it is, anything else as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import islice

PREVIEW_LINES = 20
"""At most this many lines of a result are kept for a panel (no panel is taller)."""

_PREVIEW_CHARS = 4096
"""A preview is cut from at most this much of a result's text, however large the result."""

_ENCODER = json.JSONEncoder(indent=2, ensure_ascii=False, default=str)


def result_text(result: object) -> str:
    """``result`` as text: a string as it is, anything else as indented JSON (or its
    ``repr`` when it is no JSON: a cycle, keys that are not strings)."""
    if isinstance(result, str):
        return result
    try:
        return _ENCODER.encode(result)
    except (TypeError, ValueError, RecursionError):
        return repr(result)


def preview_lines(result: object) -> tuple[str, ...]:
    """The first lines of ``result`` as :func:`result_text` shows it, at the cost of its
    first few kilobytes only (a reused result can be megabytes)."""
    if isinstance(result, str):
        text = result[:_PREVIEW_CHARS]
    else:
        try:
            text = _head(_ENCODER.iterencode(result))
        except (TypeError, ValueError, RecursionError):
            text = repr(result)[:_PREVIEW_CHARS]
    return tuple(islice(text.splitlines(), PREVIEW_LINES))


def _head(chunks: Iterable[str]) -> str:
    """The first :data:`_PREVIEW_CHARS` characters of an iterable of strings."""
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size >= _PREVIEW_CHARS:
            break
    return "".join(parts)[:_PREVIEW_CHARS]
