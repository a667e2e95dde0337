"""Durations (``500ms``, ``30s``, ``2m``, ``1h30m``), rates (``30/min``) and percentages.

Written here rather than taken from a library: the grammar is three small regular
expressions, the same ones the JSON Schema shows editors, and the errors must speak the
spec's own words.

Editors match the patterns on every keystroke, so each reads a text in only one way: no
optional part inside a repetition, no two ways to share a run of characters between two
parts. Matching then takes time in proportion to the text, whatever is typed.
"""

from __future__ import annotations

import math
import re

from fanout_tui.spec._errors import shown_value
from fanout_tui.spec._plan import Rate

DURATION_PATTERN = r"^\s*(\d+(\.\d+)?\s*(ms|s|m|h)\s*)+$|^\s*\d+(\.\d+)?\s*$"
"""A duration: parts like ``1h``, ``30m``, ``10s``, ``500ms`` in a row, or plain seconds."""
RATE_PATTERN = (
    r"^\s*\d+(\.\d+)?\s*/\s*"
    r"(s|sec|second|min|minute|h|hour|\d+(\.\d+)?\s*(ms|s|m|h)(\s*\d+(\.\d+)?\s*(ms|s|m|h))*)\s*$"
)
"""A rate: a count per second, minute, hour or any duration (``10/5s``, ``100/1m30s``)."""
PERCENT_PATTERN = r"^\s*\d+(\.\d+)?\s*%\s*$"
"""A percentage like ``80%``."""
SHARE_PATTERN = r"^\s*(0*[1-9]\d?(\.\d+)?|0+\.0*[1-9]\d*|0*100(\.0+)?)\s*%\s*$"
"""A percentage above 0% and at most 100% (``80%``), for the JSON Schema: what
:data:`PERCENT_PATTERN` matches, narrowed to the range ``min_success`` accepts."""
ZERO_DURATION_PATTERN = r"^\s*(0+(\.0+)?\s*(ms|s|m|h)\s*)+$|^\s*0+(\.0+)?\s*$"
"""A duration of no time at all (``0``, ``0s``, ``0m0s``), for the JSON Schema, where it
narrows :data:`DURATION_PATTERN`."""

MAX_DURATION_S = 366 * 24 * 3600.0
"""Longest duration a spec may give: longer ones are typing mistakes, not plans (and
would overflow the clocks they are added to)."""

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_RATE = re.compile(r"\s*(?P<count>\d+(?:\.\d+)?)\s*/\s*(?P<per>[a-z]+|\d[\d.\sa-z]*?)\s*")
_RATE_PERIOD = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
}
_RATE_CHECK = re.compile(RATE_PATTERN)
_PERCENT = re.compile(PERCENT_PATTERN)


def parse_duration(value: object) -> float:
    """Seconds in a duration given as text (``1h30m``) or a number of seconds.

    Raises:
        ValueError: with a sentence saying what a duration looks like.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and re.fullmatch(DURATION_PATTERN, value):
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            seconds = sum(
                float(amount) * _UNIT_SECONDS[unit] for amount, unit in _DURATION_PART.findall(text)
            )
    else:
        raise ValueError(
            f"{shown_value(value)} is not a duration; write e.g. 500ms, 30s, 2m or 1h30m"
        )
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{shown_value(value)} is not a duration; it must be 0 or more")
    if seconds > MAX_DURATION_S:
        raise ValueError(
            f"{shown_value(value)} is too long; a duration is at most "
            f"{format_duration(MAX_DURATION_S)} (366 days)"
        )
    return seconds


def parse_rate(value: object) -> Rate:
    """A :class:`Rate` from ``N/s``, ``N/min``, ``N/h`` or ``N/DURATION`` (``10/5s``).

    Raises:
        ValueError: with a sentence saying what a rate looks like.
    """
    match = _RATE.fullmatch(value) if isinstance(value, str) else None
    if match is None or _RATE_CHECK.fullmatch(match.string) is None:
        raise ValueError(
            f"{shown_value(value)} is not a rate; write e.g. 5/s, 30/min, 100/h or 10/5s"
        )
    count = float(match["count"])
    if count <= 0:
        raise ValueError(f"{shown_value(value)} allows nothing; a rate must be above 0")
    unit = match["per"]
    period = _RATE_PERIOD.get(unit)
    if period is None:
        period = parse_duration(unit)
        if period <= 0:
            raise ValueError(
                f"{shown_value(value)} is not a rate; its period must be longer than 0"
            )
    return Rate(count=count, per_s=period)


def parse_percent(value: str) -> float | None:
    """The number in ``"80%"``, or ``None`` when ``value`` is not a percentage."""
    if not _PERCENT.fullmatch(value):
        return None
    return float(value.strip().removesuffix("%").strip())


def format_duration(seconds: float) -> str:
    """A duration as a person writes it: ``500ms``, ``30s``, ``2m``, ``1h30m``."""
    if seconds < 1 and seconds != 0:
        return f"{seconds * 1000:g}ms"
    whole = int(seconds)
    if whole != seconds:
        return f"{seconds:g}s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return "".join(parts) or "0s"
