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

The items are sent by a coroutine on the worker's own event loop, over the worker's
connection to the scheduler: an attempt starts no thread and no client of its own, and
neither its first item nor its last waits for the scheduler's answer (the attempt's task
returns as soon as its branch ended; its last items follow). That coroutine also watches
that the attempt's task is still wanted: when the client went away without a word (killed),
the scheduler releases its tasks, and the outbox is abandoned, which ends the attempt.
"""

from __future__ import annotations

import asyncio
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
    """Sends an attempt's items, in order, to the Dask queue ``name``.

    Args:
        scheduler: The worker's RPC to the scheduler (``Worker.scheduler``).
        loop: The worker's event loop, where the items are sent from.
        name: The queue.
        wanted: Whether the attempt's task is still wanted (called on ``loop``, about once
            a second while nothing is sent).
    """

    def __init__(
        self,
        scheduler: Any,
        loop: asyncio.AbstractEventLoop,
        name: str,
        wanted: Callable[[], bool],
    ) -> None:
        self._scheduler = scheduler
        self._loop = loop
        self._name = name
        self._wanted = wanted
        self._slots = threading.Semaphore(OUTBOX_ITEMS)
        self._items: asyncio.Queue[Item] = asyncio.Queue()  # used on ``loop`` only
        self.abandoned = threading.Event()
        """Set when the client released the queue: the attempt has no listener."""
        self._on_abandoned: Callable[[], None] = lambda: None
        asyncio.run_coroutine_threadsafe(self._send_all(), loop)

    def when_abandoned(self, action: Callable[[], None]) -> None:
        """Call ``action`` (from any thread) when the attempt is abandoned, or now if it
        already was."""
        self._on_abandoned = action
        if self.abandoned.is_set():
            action()

    def put(self, item: Item) -> None:
        """Queue ``item``; blocks while the outbox is full (backpressure), unless the
        attempt was abandoned (then it is dropped)."""
        while not self.abandoned.is_set():
            if self._slots.acquire(timeout=_PUT_TIMEOUT_S):
                try:
                    self._loop.call_soon_threadsafe(self._items.put_nowait, item)
                except RuntimeError:  # the worker's loop is closed: the worker is ending
                    self._abandon()
                return

    def close(self) -> None:
        """Queue ``["end"]``, the last item; it and what is queued are sent after."""
        self.put(["end"])

    def _abandon(self) -> None:
        self.abandoned.set()
        self._on_abandoned()

    async def _send_all(self) -> None:
        while True:
            try:
                first = await asyncio.wait_for(self._items.get(), _PUT_TIMEOUT_S)
            except TimeoutError:
                if self._wanted():
                    continue
                self._abandon()
                return
            batches, taken = self._coalesced(first)
            for batch in batches:
                if not await self._send(batch):
                    self._abandon()
                    return
            for _ in range(taken):
                self._slots.release()
            if batches[-1][0] == "end":
                return

    def _coalesced(self, first: Item) -> tuple[list[Item], int]:
        """``first`` and what else is waiting, consecutive lines of a stream merged, and
        how many items that took."""
        batches, taken = [first], 1
        while first[0] != "end" and not self._items.empty():
            item = self._items.get_nowait()
            taken += 1
            last = batches[-1]
            if (
                item[0] == last[0] == "lines"
                and item[1] == last[1]
                and len(last[2]) + len(item[2]) <= BATCH_LINES
            ):
                last[2].extend(item[2])
            else:
                batches.append(item)
                if item[0] == "end":
                    break
        return batches, taken

    async def _send(self, item: Item) -> bool:
        while True:
            try:
                await self._scheduler.queue_put(name=self._name, data=item, timeout=_PUT_TIMEOUT_S)
                return True
            except TimeoutError:  # the queue is full: the client is behind, or gone
                if not self._wanted():
                    return False
            except Exception:
                return False  # released (KeyError on the scheduler) or the cluster is gone
