"""Time for the engine, injectable so timeouts and backoff are tested in milliseconds."""

from __future__ import annotations

import time
from typing import Protocol

import anyio


class Clock(Protocol):
    """Where the engine reads time and sleeps. ``now`` is monotonic seconds."""

    def now(self) -> float:
        """Monotonic seconds; only differences mean anything."""
        ...

    def wall(self) -> float:
        """Wall-clock seconds since the epoch, for reports and the journal."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    def wall(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Sleep for real."""
        await anyio.sleep(seconds)
