"""How long a branch sleeps between two automatic attempts.

Exponential backoff from ``retry.backoff_s``, doubling after each failed attempt of the
set and capped at ``retry.max_backoff_s``, with *equal jitter*: the delay is drawn
uniformly from the upper half of the exponential step, ``[step / 2, step]``. Equal
jitter (rather than full jitter, ``[0, step]``) spreads retries of branches that failed
together while never retrying at once, which is what an operator expects of "backoff".

Written here rather than taken from a retry library because the sleep must happen on
the engine's injected clock inside the branch's cancel scope; the formula is all we need.
"""

from __future__ import annotations

from collections.abc import Callable

from fanout_tui.spec import RetryPolicy

_MAX_DOUBLINGS = 64
"""Beyond this many doublings every sensible cap has been reached; avoids float overflow."""


def backoff_step(retry: RetryPolicy, failures: int) -> float:
    """The capped exponential step after the ``failures``-th failed attempt (from 1)."""
    doublings = min(max(failures - 1, 0), _MAX_DOUBLINGS)
    return min(retry.max_backoff_s, retry.backoff_s * 2.0**doublings)


def backoff_delay(retry: RetryPolicy, failures: int, random: Callable[[], float]) -> float:
    """Seconds to sleep after the ``failures``-th failed attempt of an attempt set.

    Args:
        retry: The branch's retry policy (``jitter`` switches the jitter on).
        failures: How many attempts of the current set have failed so far, from 1.
        random: Returns a float in ``[0, 1)``; injected so tests are exact.
    """
    step = backoff_step(retry, failures)
    if not retry.jitter:
        return step
    return step / 2 + random() * step / 2
