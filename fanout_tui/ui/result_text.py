"""A branch's result as the dashboard shows it: text as it is, anything else as JSON."""

from __future__ import annotations

import json
from itertools import islice

PREVIEW_LINES = 20
"""At most this many lines of a result are kept for a panel (no panel is taller)."""

_PREVIEW_CHARS = 4096
"""Of a long text result, only this much is split into preview lines."""


def result_text(result: object) -> str:
    """``result`` as text: a string as it is, anything else as indented JSON."""
    if isinstance(result, str):
        return result
    return json.dumps(result, indent=2, ensure_ascii=False, default=str)


def preview_lines(result: object) -> tuple[str, ...]:
    """The first lines of ``result`` as :func:`result_text` shows it."""
    text = result_text(result)[:_PREVIEW_CHARS]
    return tuple(islice(text.splitlines(), PREVIEW_LINES))
