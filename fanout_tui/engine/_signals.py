"""Signals from a branch: ``::fanout:: {JSON}`` lines on its stderr, read as messages.

A branch in any language talks back by printing one line to stderr::

    ::fanout:: {"rate_limited": {"retry_after": 12.5}}
    ::fanout:: {"usage": {"input_tokens": 900, "output_tokens": 120, "cost_usd": 0.0021}}

One line may carry both keys. Python callables get the same through
:mod:`fanout_tui.signals`, which prints these lines. A line that starts with the prefix
but is not a known signal stays log text; the reader notes that once per attempt.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

SIGNAL_PREFIX = "::fanout::"
"""What a signal line starts with."""

MAX_RETRY_AFTER_S = 600.0
"""The longest pause a signal may ask for; longer (or infinite) ones are cut to this."""


@dataclass(frozen=True, slots=True)
class Usage:
    """What attempts spent, as they reported it (summed per attempt, branch and run)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        """Input and output tokens together."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cost_usd + other.cost_usd,
        )

    def as_dict(self) -> dict[str, int | float]:
        """The JSON form, as in the results document's ``usage``."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": round(self.cost_usd, 6),
        }

    def describe(self) -> str:
        """A few words for a panel or a progress line: ``1,020 tokens · $0.0021``."""
        text = f"{self.tokens:,} tokens"
        if self.cost_usd:
            text += f" · ${self.cost_usd:.4f}"
        return text


@dataclass(frozen=True, slots=True)
class RateLimited:
    """The server refused with a rate limit; wait ``retry_after_s`` (``None``: not said)."""

    retry_after_s: float | None
    note: str | None = None
    """Why the asked-for wait was changed (negative, not a number, too long), if it was."""


@dataclass(frozen=True, slots=True)
class Signal:
    """One signal line, read."""

    rate_limited: RateLimited | None = None
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class BadSignal:
    """A line with the signal prefix that is not a known signal."""

    why: str


def signal_line(message: dict[str, Any]) -> str:
    """The line (without its line break) that sends ``message`` as a signal."""
    return f"{SIGNAL_PREFIX} {json.dumps(message, separators=(',', ':'))}"


def read_signal(line: str) -> Signal | BadSignal | None:
    """What ``line`` says: a :class:`Signal`, a :class:`BadSignal`, or ``None`` when it does
    not start with :data:`SIGNAL_PREFIX` (it is ordinary log text)."""
    if not line.startswith(SIGNAL_PREFIX):
        return None
    body = line[len(SIGNAL_PREFIX) :].strip()
    try:
        message = json.loads(body)
    except ValueError:
        return BadSignal("not JSON after ::fanout::")
    if not isinstance(message, dict) or not message:
        return BadSignal('a signal is a JSON object such as {"usage": {...}}')
    unknown = sorted(set(message) - {"rate_limited", "usage"})
    if unknown:
        return BadSignal(f"unknown signal {unknown[0]!r} (known: rate_limited, usage)")
    try:
        rate_limited = _rate_limited(message["rate_limited"]) if "rate_limited" in message else None
        usage = _usage(message["usage"]) if "usage" in message else None
    except ValueError as error:
        return BadSignal(str(error))
    return Signal(rate_limited=rate_limited, usage=usage)


def _rate_limited(value: object) -> RateLimited:
    if value is True or value is None or value == {}:
        return RateLimited(None)
    if not isinstance(value, dict) or set(value) - {"retry_after"}:
        raise ValueError('rate_limited takes {"retry_after": SECONDS}')
    after = value.get("retry_after")
    if after is None:
        return RateLimited(None)
    if isinstance(after, bool) or not isinstance(after, int | float):
        raise ValueError("retry_after must be a number of seconds")
    if math.isnan(after):
        return RateLimited(MAX_RETRY_AFTER_S, f"retry_after NaN taken as {MAX_RETRY_AFTER_S:g}s")
    if after < 0:
        return RateLimited(0.0, f"negative retry_after {after:g}s taken as 0s")
    if after > MAX_RETRY_AFTER_S:
        return RateLimited(
            MAX_RETRY_AFTER_S, f"retry_after {after:g}s cut to {MAX_RETRY_AFTER_S:g}s"
        )
    return RateLimited(float(after))


def _usage(value: object) -> Usage:
    fields = ("input_tokens", "output_tokens", "cost_usd")
    if not isinstance(value, dict) or not value or set(value) - set(fields):
        raise ValueError("usage takes input_tokens, output_tokens and cost_usd")
    numbers: dict[str, float] = {}
    for name in fields:
        number = value.get(name, 0)
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ValueError(f"usage {name} must be a number")
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"usage {name} must be a finite number, 0 or more")
        numbers[name] = number
    return Usage(
        int(numbers["input_tokens"]), int(numbers["output_tokens"]), float(numbers["cost_usd"])
    )
