"""Sliding windows that hold a resource's rate and token budget as the server measures them.

A rate ``N/PERIOD`` is a promise about *any* window of ``PERIOD`` seconds, not an average:
a token bucket that starts full lets a whole burst through and then refills on top of it,
so a server counting arrivals in a sliding window sees up to twice the rate. Here each
window keeps the log of what it let through during the last period and admits a start
only when that log leaves room, so no window of the period ever holds more than allowed.

The period is widened by a small margin (:func:`server_margin`) because the server sees an
attempt's request a little after the attempt starts (a process must start, a connection
must open), and not always equally late.

Both windows are plain objects on an injected time (``now`` arguments): the pool that owns
them decides when to look, and tests drive them with any clock.
"""

from __future__ import annotations

import bisect
import math
from collections import deque

from fanout_tui.spec import Rate

_MARGIN_SHARE = 0.02
"""Share of the period added as a margin for the delay before the server sees a start."""
_MARGIN_MIN_S = 0.1
_MARGIN_MAX_S = 1.0


def server_margin(period_s: float) -> float:
    """Seconds added to a window's period: 2% of it, at least 100 ms and at most 1 s."""
    return min(_MARGIN_MAX_S, max(_MARGIN_MIN_S, period_s * _MARGIN_SHARE))


def window_shape(rate: Rate) -> tuple[int, float]:
    """A rate as a whole count per period: ``0.5/s`` is 1 per 2 s, ``2.5/s`` is 2 per 0.8 s."""
    count = max(1, math.floor(rate.count))
    return count, rate.per_s * count / rate.count


class StartWindow:
    """At most ``limit`` starts in any window of the rate's period (a sliding log).

    Args:
        rate: ``count`` starts per ``per_s`` seconds.
        burst: Extra starts allowed in a window beyond the rate's count.
    """

    __slots__ = ("_starts", "limit", "period")

    def __init__(self, rate: Rate, burst: int = 0) -> None:
        count, period = window_shape(rate)
        self.limit = count + burst
        """Starts allowed in one window."""
        self.period = period + server_margin(period)
        """The window's length in seconds, margin included."""
        self._starts: deque[float] = deque()

    def _forget(self, now: float) -> None:
        horizon = now - self.period
        starts = self._starts
        while starts and starts[0] <= horizon:
            starts.popleft()

    def used(self, now: float) -> int:
        """Starts in the window that ends at ``now``."""
        self._forget(now)
        return len(self._starts)

    def free_at(self, now: float) -> float:
        """The earliest time from ``now`` on when a start fits (``now`` if one fits now)."""
        self._forget(now)
        starts = self._starts
        if len(starts) < self.limit:
            return now
        # The start that must leave the window before another may enter it.
        return starts[len(starts) - self.limit] + self.period

    def take(self, now: float) -> None:
        """Record a start at ``now`` (the caller checked :meth:`free_at`)."""
        self._starts.append(now)

    def began(self, taken: float, at: float) -> None:
        """The start recorded at ``taken`` really began at the later time ``at`` (its
        process came up): count it from then, so a slow start cannot bring two windows'
        requests closer together at the server than the window allows."""
        starts = self._starts
        if at <= taken:
            return
        try:
            starts.remove(taken)
        except ValueError:
            return  # already out of the window
        index = bisect.bisect_right(starts, at)
        starts.insert(index, at)


class Spend:
    """Tokens one attempt took from a :class:`TokenWindow`; corrected once usage is known."""

    __slots__ = ("at", "tokens")

    def __init__(self, at: float, tokens: float) -> None:
        self.at = at
        self.tokens = tokens


class TokenWindow:
    """At most ``budget`` tokens spent in any window of the period (``40000/min``).

    An attempt takes its estimate before it starts; when it reports what it really spent,
    :meth:`correct` replaces the estimate, so later attempts see the real use.

    Args:
        rate: ``count`` tokens per ``per_s`` seconds.
    """

    __slots__ = ("_spends", "budget", "period")

    def __init__(self, rate: Rate) -> None:
        self.budget = rate.count
        """Tokens allowed in one window."""
        self.period = rate.per_s + server_margin(rate.per_s)
        self._spends: deque[Spend] = deque()

    def _forget(self, now: float) -> None:
        horizon = now - self.period
        spends = self._spends
        while spends and spends[0].at <= horizon:
            spends.popleft()

    def used(self, now: float) -> float:
        """Tokens spent in the window that ends at ``now``."""
        self._forget(now)
        return sum(spend.tokens for spend in self._spends)

    def left(self, now: float) -> float:
        """Tokens still available in the window that ends at ``now`` (never below 0)."""
        return max(0.0, self.budget - self.used(now))

    def free_at(self, now: float, tokens: float) -> float:
        """The earliest time from ``now`` on when ``tokens`` more fit (``now`` if they do).

        An estimate of nothing still waits while the window is spent out, so that attempts
        without an estimate cannot keep spending an exhausted budget.
        """
        self._forget(now)
        need = min(tokens, self.budget)
        used = sum(spend.tokens for spend in self._spends)
        if (used + need <= self.budget and used < self.budget) or not self._spends:
            return now
        for spend in self._spends:
            used -= spend.tokens
            if used + need <= self.budget and used < self.budget:
                return spend.at + self.period
        return self._spends[-1].at + self.period

    def take(self, now: float, tokens: float) -> Spend:
        """Record an estimate of ``tokens`` spent at ``now``; keep it to :meth:`correct` it."""
        spend = Spend(now, max(0.0, tokens))
        self._spends.append(spend)
        return spend

    @staticmethod
    def correct(spend: Spend, tokens: float) -> None:
        """Replace an attempt's estimate with what it reported spending."""
        spend.tokens = max(0.0, tokens)
