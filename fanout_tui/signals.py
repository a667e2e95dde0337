"""Tell fanout-tui what a branch ran into: the helper for ``call:`` branches.

A command in any language prints ``::fanout:: {JSON}`` lines on stderr (DESIGN.md,
"Signals from a branch"); a Python callable calls these functions instead, which print the
same lines. They work alike in an async callable and in a plain function (both run in a
worker process, where what a call prints is its own)::

    from fanout_tui import signals

    def ask(doc: str) -> dict:
        reply = client.post(...)
        if reply.status_code == 429:
            signals.rate_limited(retry_after=float(reply.headers.get("Retry-After", 1)))
            raise RuntimeError("rate limited")
        signals.usage(input_tokens=900, output_tokens=120, cost_usd=0.0021)
        return reply.json()
"""

from __future__ import annotations

import sys

from fanout_tui.engine import signal_line

__all__ = ["rate_limited", "usage"]


def rate_limited(retry_after: float | None = None) -> None:
    """Say the server refused with a rate limit and, if it said, how long to wait.

    Every resource the branch uses pauses for every branch until then, and the branch's
    next attempt waits at least that long.
    """
    body = {} if retry_after is None else {"retry_after": retry_after}
    _send({"rate_limited": body})


def usage(input_tokens: int = 0, output_tokens: int = 0, cost_usd: float = 0.0) -> None:
    """Report what this attempt spent; reports add up per attempt, branch and run."""
    _send(
        {
            "usage": {
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cost_usd": cost_usd,
            }
        }
    )


def _send(message: dict[str, object]) -> None:
    stream = sys.stderr
    stream.write(signal_line(message) + "\n")
    stream.flush()
