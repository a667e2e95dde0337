"""The event bus: every event the engine publishes goes to its listeners and its streams.

Two ways to follow a run, for two kinds of consumer:

* **Synchronous listeners** (:meth:`EventBus.add_listener`) are called in order, on the
  engine's event loop, before :meth:`EventBus.publish` returns. The journal recorder is
  one: it must see every event, in order, and can never be dropped for being slow, since
  a resume trusts what it wrote; it hands each event to its writer thread at once. The
  dashboard is another: it only appends each event to the batch it applies once a frame,
  cheaper than a stream's hand-over per event, and a frame's batch is its only buffer.
  A listener must be cheap; one that raises is dropped (its traceback goes to stderr).
* **Event streams** (:meth:`EventBus.stream`) are for library users and remote viewers
  that consume at their own pace in their own task. Each has a bounded buffer; publishing
  never waits on it. A subscriber whose buffer is full is dropped: its stream delivers
  what it holds, then raises :class:`EventStreamDropped`, so a slow consumer can never
  stall the scheduler. When the run ends (after ``RunFinished``) every stream ends.

A listener that gives the engine a command while an event is delivered sees the events
of that command after the current one, in order, like every other consumer.
"""

from __future__ import annotations

import sys
import traceback
from collections import deque
from types import TracebackType

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from fanout_tui.engine._control import Listener
from fanout_tui.engine._events import Event

DEFAULT_BUFFER = 1024
"""Events a stream holds for its subscriber before the subscriber is dropped."""


class EventStreamDropped(Exception):
    """The subscriber fell a whole buffer behind and was dropped; it gets no more events."""


class EventStream:
    """The engine's events for one subscriber, in order: an async iterator and an async
    context manager (leaving it unsubscribes).

    Iteration ends after the run's last event (``RunFinished``); it raises
    :class:`EventStreamDropped` instead when the subscriber was dropped for falling a
    whole buffer behind (after delivering what the buffer held).
    """

    def __init__(self, receive: MemoryObjectReceiveStream[Event]) -> None:
        self._receive = receive
        self.dropped = False
        """True once the bus dropped this subscriber (its buffer was full)."""

    async def receive(self) -> Event:
        """The next event.

        Raises:
            EventStreamDropped: The subscriber was dropped and the buffer is empty.
            anyio.EndOfStream: The run is over and every event was received.
        """
        try:
            return await self._receive.receive()
        except anyio.EndOfStream:
            if self.dropped:
                raise EventStreamDropped(
                    "this subscriber fell a whole buffer behind and was dropped"
                ) from None
            raise

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        """Unsubscribe (the bus forgets this stream at its next event)."""
        await self._receive.aclose()

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class EventBus:
    """Delivers each published event to every listener and every stream, in order."""

    def __init__(self) -> None:
        self._listeners: tuple[Listener, ...] = ()
        self._streams: dict[MemoryObjectSendStream[Event], EventStream] = {}
        self._delivering = False
        self._backlog: deque[Event] = deque()
        self._closed = False

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every event from now on, in order."""
        self._listeners = (*self._listeners, listener)

    def stream(self, max_buffer: int = DEFAULT_BUFFER) -> EventStream:
        """A new subscriber's stream of every event from now on (see :class:`EventStream`).

        Args:
            max_buffer: Events held for the subscriber; one more and it is dropped.

        Raises:
            ValueError: ``max_buffer`` is less than 1.
        """
        if max_buffer < 1:
            raise ValueError("an event stream needs room for at least one event")
        send, receive = anyio.create_memory_object_stream[Event](max_buffer)
        stream = EventStream(receive)
        if self._closed:
            send.close()
        else:
            self._streams[send] = stream
        return stream

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to everyone; never blocks (see the module docstring)."""
        if self._delivering:  # a listener gave a command: its events follow, in order
            self._backlog.append(event)
            return
        self._delivering = True
        try:
            self._deliver(event)
            while self._backlog:
                self._deliver(self._backlog.popleft())
        finally:
            self._delivering = False

    def close(self) -> None:
        """End every stream (the run is over); listeners stay."""
        self._closed = True
        for send in self._streams:
            send.close()
        self._streams.clear()

    def _deliver(self, event: Event) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                self._drop_listener(listener)
        for send, stream in tuple(self._streams.items()):
            try:
                send.send_nowait(event)
            except anyio.WouldBlock:
                stream.dropped = True
                self._forget(send)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._forget(send)  # its subscriber left

    def _forget(self, send: MemoryObjectSendStream[Event]) -> None:
        del self._streams[send]
        send.close()

    def _drop_listener(self, listener: Listener) -> None:
        self._listeners = tuple(other for other in self._listeners if other is not listener)
        print(
            f"fanout-tui: an event listener failed and receives no more events: {listener!r}",
            file=sys.stderr,
        )
        traceback.print_exc(file=sys.stderr)
