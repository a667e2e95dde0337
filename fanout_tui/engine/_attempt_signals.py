"""Reading one attempt's signals out of its stderr as the lines pass by.

Every executor (local or remote) reports an attempt's output as
:class:`~fanout_tui.engine._events.OutputLines`; the scheduler wraps the attempt's event
sink in an :class:`AttemptSignals`, which passes every event on unchanged and reads each
stderr line that starts with ``::fanout::`` (:mod:`fanout_tui.engine._signals`). Signal
lines stay in the output (the full log shows them dimmed); they never reach the result,
which is stdout. A line with the prefix that is not a known signal is noted once per
attempt, as a line of its own, and otherwise left alone.
"""

from __future__ import annotations

from collections.abc import Callable

from fanout_tui.engine._events import Event, OutputLines, ProcessStarted
from fanout_tui.engine._signals import SIGNAL_PREFIX, BadSignal, RateLimited, Usage, read_signal


class AttemptSignals:
    """One attempt's event sink, reading its signals.

    Args:
        emit: Where every event goes on to.
        rate_limited: Told of each rate-limit signal, as it arrives.
        usage: Told of each usage report, as it arrives.
        began: Told when a process of the attempt has started.
    """

    __slots__ = (
        "_emit",
        "_noted",
        "_on_began",
        "_on_rate_limited",
        "_on_usage",
        "rate_limited",
        "usage",
    )

    def __init__(
        self,
        emit: Callable[[Event], None],
        *,
        rate_limited: Callable[[RateLimited], None],
        usage: Callable[[Usage], None],
        began: Callable[[], None],
    ) -> None:
        self._emit = emit
        self._on_began = began
        self._on_rate_limited = rate_limited
        self._on_usage = usage
        self._noted = False
        self.rate_limited: RateLimited | None = None
        """The attempt's last rate-limit signal, if it sent one."""
        self.usage: Usage | None = None
        """What the attempt reported spending, summed (``None``: nothing)."""

    def __call__(self, event: Event) -> None:
        self._emit(event)
        if isinstance(event, ProcessStarted):
            self._on_began()
        elif isinstance(event, OutputLines) and event.stream == "stderr":
            for line in event.lines:
                if line.startswith(SIGNAL_PREFIX):
                    self._read(event, line)

    def _read(self, event: OutputLines, line: str) -> None:
        signal = read_signal(line)
        if isinstance(signal, BadSignal):
            if not self._noted:
                self._noted = True
                note = (
                    f"[fanout-tui] a ::fanout:: line was not a signal ({signal.why}); "
                    "it stays log text, and later ones are not noted again"
                )
                self._emit(OutputLines(event.branch_id, event.attempt, "stderr", (note,)))
            return
        if signal is None:
            return
        if signal.usage is not None:
            self.usage = signal.usage if self.usage is None else self.usage + signal.usage
            self._on_usage(signal.usage)
        if signal.rate_limited is not None:
            self.rate_limited = signal.rate_limited
            self._on_rate_limited(signal.rate_limited)
