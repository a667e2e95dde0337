"""What an async ``call`` prints goes to its own branch, not to fanout-tui's stdout.

An async call runs on the engine's event loop, so a plain ``print`` would land on
fanout-tui's own stdout, which in headless mode carries the merged result. Once the first
async call runs, ``sys.stdout`` and ``sys.stderr`` become stand-ins: text written in a
call's context (its task, the tasks it starts, the threads it runs through anyio, all of
which inherit the context) goes to that call's output sinks, masked, logged and shown as
its lines; everything else goes, unchanged, to where it went before. The stand-ins stay
in place afterwards; outside a call they only pass text through.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

from fanout_tui.engine._streams import OutputSink

_ROUTE: ContextVar[tuple[OutputSink, OutputSink] | None] = ContextVar(
    "fanout_tui_call_output", default=None
)


class _RoutedStream:
    """Stands in for ``sys.stdout`` (``index`` 0) or ``sys.stderr`` (1)."""

    def __init__(self, original: TextIO, index: int) -> None:
        self._original = original
        self._index = index

    def write(self, text: str) -> int:
        route = _ROUTE.get()
        if route is None:
            return self._original.write(text)
        # What the sink's listeners print while it delivers is theirs, not the call's.
        token = _ROUTE.set(None)
        try:
            route[self._index].take(text, len(text))
        finally:
            _ROUTE.reset(token)
        return len(text)

    def flush(self) -> None:
        if _ROUTE.get() is None:
            self._original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


@contextmanager
def routed_output(stdout: OutputSink, stderr: OutputSink) -> Iterator[None]:
    """Within this block (and what it starts), prints go to ``stdout`` and ``stderr``.

    The sinks are finished (held-back text released) when the block ends.
    """
    _install()
    token = _ROUTE.set((stdout, stderr))
    try:
        yield
    finally:
        _ROUTE.reset(token)
        stdout.finish()
        stderr.finish()


def _install() -> None:
    if sys.stdout is not None and not isinstance(sys.stdout, _RoutedStream):
        sys.stdout = _RoutedStream(sys.stdout, 0)
    if sys.stderr is not None and not isinstance(sys.stderr, _RoutedStream):
        sys.stderr = _RoutedStream(sys.stderr, 1)
