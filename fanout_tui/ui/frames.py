"""Frame pacing: the engine's events, folded into the model in batches about thirty times a
second, and handed to the open screens as one :class:`Frame` each.

The engine's listener only appends events to a buffer; each frame folds the buffer into the
run model and tells every subscribed screen what changed. Screens subscribe while they are
mounted and redraw only what a frame touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import ceil
from time import perf_counter

from fanout_tui.engine import Clock, Event
from fanout_tui.ui.model import Changes, RunModel

FRAME_SECONDS = 1 / 30
"""The dashboard redraws at most this often."""
LOG_RELOAD_FRAMES = 30
"""An open log screen reloads its files at most once per this many frames."""
LOG_RELOAD_SHARE = 0.1
"""A reload that takes long (a log of hundreds of thousands of lines) waits until it has
cost at most this share of the time, so that keys stay responsive."""
OUTPUT_ROWS_PER_FRAME = 25
"""Output alone redraws panels only after one frame per this many panels it touched (at
most :data:`MAX_OUTPUT_FRAMES`): one chatty branch shows every frame, two hundred show
about four times a second, and the frames in between are free for keys."""
MAX_OUTPUT_FRAMES = 8

FrameListener = Callable[["Frame"], None]


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame's news, for the screens that follow the run."""

    number: int
    """Frames drawn so far, this one included."""
    news: Changes
    """Everything this frame's events changed (open screens follow it at once)."""
    shown: Changes
    """What the dashboard redraws now: the news, with panels whose only news is output held
    back while they are due (see :data:`OUTPUT_ROWS_PER_FRAME`)."""
    elapsed: float
    """Seconds since the run started (frozen while every branch has settled)."""
    tick: bool
    """Whether the elapsed second changed since the last frame (running clocks move)."""


class FrameFeed:
    """Batches the engine's events into frames and hands each frame to its subscribers.

    The subscribers are plain callbacks called in order, rather than a Textual ``Signal``:
    a signal logs and swallows an error raised by a subscriber, and a dashboard that
    silently stops redrawing is worse than one that stops with a traceback.
    """

    def __init__(self, model: RunModel, clock: Clock) -> None:
        self.model = model
        """The run as the frames so far have folded it in."""
        self._clock = clock
        self._pending: list[Event] = []
        self._listeners: list[FrameListener] = []
        self._started_at = clock.now()
        self._settled_at: float | None = None
        self._last_second = -1
        self._unshown_output: set[str] = set()
        self._output_shown_at = 0
        self.number = 0
        """Frames drawn so far."""

    def add(self, event: Event) -> None:
        """Buffer ``event`` for the next frame (the engine's listener: no drawing here)."""
        self._pending.append(event)

    def subscribe(self, listener: FrameListener) -> None:
        """Call ``listener`` with every frame from now on."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: FrameListener) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def elapsed(self) -> float:
        """Seconds since the run started (frozen while every branch has settled)."""
        end = self._settled_at if self._settled_at is not None else self._clock.now()
        return max(0.0, end - self._started_at)

    def draw(self) -> Frame:
        """Fold the buffered events into the model and hand the frame to every subscriber."""
        news = Changes()
        if self._pending:
            events = self._pending.copy()
            self._pending.clear()
            news = self.model.apply(events)
        self.number += 1
        if self.model.active == 0:
            if self._settled_at is None:
                self._settled_at = self._clock.now()
        else:
            self._settled_at = None
        elapsed = self.elapsed()
        second = int(elapsed)
        tick = second != self._last_second
        self._last_second = second
        frame = Frame(self.number, news, self._paced(news), elapsed, tick)
        for listener in list(self._listeners):
            listener(frame)
        return frame

    def _paced(self, news: Changes) -> Changes:
        """``news``, with panels whose only news is output held back while it is due;
        anything else shows at once, with them."""
        if not (news or self._unshown_output):
            return Changes()
        self._unshown_output |= news.branches
        wait = min(MAX_OUTPUT_FRAMES, len(self._unshown_output) // OUTPUT_ROWS_PER_FRAME)
        due = self.number - self._output_shown_at >= wait
        shown = Changes(set(), news.statuses, news.merge, news.finished)
        if due or news.statuses or news.merge or news.finished:
            shown.branches, self._unshown_output = self._unshown_output, set()
            self._output_shown_at = self.number
        return shown


class LogReloadPacer:
    """When an open log reloads its files: after its branch changed, at most once per
    :data:`LOG_RELOAD_FRAMES` frames, and less often when a reload takes long (reading
    files is not free)."""

    def __init__(self, opened_at: int) -> None:
        """Pace the reloads of a log read in full at frame ``opened_at``."""
        self.opened_at = opened_at
        self._stale = False
        self._reloaded_at = opened_at
        self._every = LOG_RELOAD_FRAMES

    def changed(self) -> None:
        """The branch changed since the log was last read."""
        self._stale = True

    def follow(self, frame: Frame, reload: Callable[[], None]) -> None:
        """Call ``reload`` if the branch changed and a reload is due at ``frame``."""
        if self._stale and frame.number - self._reloaded_at >= self._every:
            self._stale = False
            self._reloaded_at = frame.number
            began = perf_counter()
            reload()
            cost = (perf_counter() - began) / FRAME_SECONDS / LOG_RELOAD_SHARE
            self._every = max(LOG_RELOAD_FRAMES, ceil(cost))
