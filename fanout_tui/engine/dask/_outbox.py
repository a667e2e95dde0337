"""The worker's side of an attempt's live output: a bounded outbox sent to a Dask queue.

Why a Dask :class:`distributed.Queue` (one per attempt, on the scheduler) rather than
pub/sub or the worker's event log: a queue has a ``maxsize``, so the stream has
backpressure end to end. The scheduler holds at most :data:`QUEUE_ITEMS` items for an
attempt; when the client falls behind, the outbox's :meth:`Outbox.put` blocks, the worker
stops reading the branch's pipes, and the branch blocks on its writes, as it would writing
to a slow terminal. Pub/sub and events have no such limit (and pub/sub is deprecated).
Items are coalesced batches of lines, so a chatty branch costs one round trip per batch,
not per line. The client releases the queue when the attempt ends; a put to a released
queue fails, which tells the worker that nobody listens any more (see :attr:`abandoned`).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

QUEUE_ITEMS = 16
"""Items (batches) the scheduler holds for one attempt at most."""
OUTBOX_ITEMS = 64
"""Items the worker holds for one attempt at most before :meth:`Outbox.put` blocks."""
BATCH_LINES = 2000
"""Lines coalesced into one item at most."""
_PUT_TIMEOUT_S = 1.0

Item = list[Any]
"""``["placed", worker]``, ``["lines", stream, [line, ...]]`` or ``["end"]``."""


class Outbox:
    """Sends an attempt's items, in order, to the Dask queue ``name`` from a thread."""

    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self._name = name
        self._items: queue.Queue[Item | None] = queue.Queue(OUTBOX_ITEMS)
        self.abandoned = threading.Event()
        """Set when the client released the queue: the attempt has no listener."""
        self.on_abandoned: Callable[[], None] = lambda: None
        """Called (from the sending thread) when :attr:`abandoned` is set."""
        self._thread = threading.Thread(target=self._send_all, daemon=True)
        self._thread.start()

    def put(self, item: Item) -> None:
        """Queue ``item``; blocks while the outbox is full (backpressure), unless the
        attempt was abandoned (then it is dropped)."""
        while not self.abandoned.is_set():
            with contextlib.suppress(queue.Full):
                self._items.put(item, timeout=_PUT_TIMEOUT_S)
                return

    def send_now(self, item: Item) -> None:
        """Send ``item`` from the calling thread, in front of nothing queued (the first
        item); raises when the queue was released (a stale rerun of the attempt)."""
        self._client.sync(self._client.scheduler.queue_put, name=self._name, data=item)

    def close(self) -> None:
        """Send what is queued and ``["end"]``, and wait until it is sent (or abandoned)."""
        self.put(["end"])
        with contextlib.suppress(queue.Full):
            self._items.put(None, timeout=_PUT_TIMEOUT_S)
        while self._thread.is_alive() and not self.abandoned.is_set():
            self._thread.join(_PUT_TIMEOUT_S)

    def _send_all(self) -> None:
        while (item := self._items.get()) is not None:
            for batch in self._coalesced(item):
                if not self._send(batch):
                    self.abandoned.set()
                    self.on_abandoned()
                    return

    def _coalesced(self, first: Item) -> list[Item]:
        """``first`` and what else is waiting, consecutive lines of a stream merged."""
        batches = [first]
        while True:
            try:
                item = self._items.get_nowait()
            except queue.Empty:
                return batches
            if item is None:
                self._items.put(None)  # seen again by _send_all, after these are sent
                return batches
            last = batches[-1]
            if (
                item[0] == last[0] == "lines"
                and item[1] == last[1]
                and len(last[2]) + len(item[2]) <= BATCH_LINES
            ):
                last[2].extend(item[2])
            else:
                batches.append(item)

    def _send(self, item: Item) -> bool:
        while True:
            try:
                self._client.sync(
                    self._client.scheduler.queue_put,
                    name=self._name,
                    data=item,
                    timeout=_PUT_TIMEOUT_S,
                )
                return True
            except TimeoutError:
                continue  # the queue is full: the client is behind
            except Exception:
                return False  # released (KeyError on the scheduler) or the cluster is gone
