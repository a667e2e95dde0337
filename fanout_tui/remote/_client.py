"""A viewer's side of a run: an :class:`~fanout_tui.engine.EngineControl` the dashboard
drives as if the run were its own.

Commands answer at once, as the dashboard expects: :class:`RemoteEngine` keeps each
branch's status from the events it has seen and answers as the engine would (``r`` on a
failed branch: yes), sends the command, and the run's own events then show what it did.
When the run answers otherwise (the branch moved on meanwhile), the viewer is told. A
round trip per key instead would freeze the dashboard while the run is busy.

:meth:`RemoteEngine.run` never stops the run: leaving it (the dashboard's ``q``)
only closes this viewer's connection. :meth:`RemoteEngine.shutdown` asks the run to stop.
"""

from __future__ import annotations

import contextlib
import itertools
import pickle
import socket
from collections.abc import Callable
from pathlib import Path

import anyio
from anyio.abc import UNIXSocketStream

from fanout_tui.engine import (
    BranchStateChanged,
    BranchStatus,
    Event,
    Listener,
    RunFinished,
    RunOutcome,
)
from fanout_tui.remote._protocol import (
    FINAL_STATE_NAME,
    SOCKET_NAME,
    Decoder,
    ProtocolMismatch,
    Snapshot,
    check_hello,
    encode,
    hello,
    read_frame,
)
from fanout_tui.remote._sockets import connect_unix
from fanout_tui.spec import Plan

HANDSHAKE_TIMEOUT_S = 10.0
"""How long the run may take to send its hello and snapshot."""

Notify = Callable[[str], None]


class NotServed(Exception):
    """No run answers on the socket; ``str`` is one sentence."""


class RemoteEngine:
    """A run going in another process, seen through its control socket (or, for a run
    that is over, its final state), with the surface of an engine."""

    def __init__(
        self,
        snapshot: Snapshot,
        *,
        connection: socket.socket | None,
        decoder: Decoder | None = None,
        read_only: bool = False,
    ) -> None:
        self.plan: Plan = snapshot.plan
        self.run_id = snapshot.run_id
        self.read_only = read_only
        self.finished = snapshot.finished
        """Whether the run is over (its final state is all there is to see)."""
        self.notify: Notify = lambda message: None
        """Where what the viewer should know goes (the app's notifications)."""
        self._events = snapshot.events
        self._outcome = snapshot.outcome
        self._connection = connection
        self._decoder = decoder or Decoder()
        self._listeners: list[Listener] = []
        self._statuses: dict[str, BranchStatus] = {}
        self._reused: set[str] = set()
        self._requests = itertools.count(1)
        self._asked: dict[int, tuple[str, tuple[object, ...], object]] = {}
        self._outbox_send, self._outbox = anyio.create_memory_object_stream[bytes](1024)
        for event in snapshot.events:
            self._track(event)

    # -- reaching a run ----------------------------------------------------------------

    @classmethod
    def connect(cls, run_dir: Path, *, read_only: bool = False) -> RemoteEngine:
        """Attach to the run served in ``run_dir``: hellos, then its snapshot.

        Raises:
            NotServed: nothing answers on the run's socket.
            ProtocolMismatch: the run is of another fanout-tui.
        """
        try:
            connection = connect_unix(run_dir / SOCKET_NAME)
        except OSError as error:
            raise NotServed(f"the run does not answer on its socket: {error.strerror}") from None
        try:
            connection.settimeout(HANDSHAKE_TIMEOUT_S)
            snapshot, decoder = _handshake(connection)
            connection.settimeout(None)
        except BaseException:
            connection.close()
            raise
        return cls(snapshot, connection=connection, decoder=decoder, read_only=read_only)

    @classmethod
    def final_state(cls, run_dir: Path) -> RemoteEngine | None:
        """The last state a served run left in ``run_dir`` when it ended, if any."""
        try:
            with (run_dir / FINAL_STATE_NAME).open("rb") as file:
                snapshot = pickle.load(file)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None
        if not isinstance(snapshot, Snapshot):
            return None
        return cls(snapshot, connection=None)

    # -- events ------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with the run so far (its snapshot) at once, then every event."""
        self._listeners.append(listener)
        for event in self._events:
            listener(event)

    def _deliver(self, event: Event) -> None:
        self._track(event)
        for listener in self._listeners:
            listener(event)

    def _track(self, event: Event) -> None:
        if isinstance(event, BranchStateChanged):
            self._statuses[event.branch_id] = event.status
            if event.reused_from is not None:
                self._reused.add(event.branch_id)
            elif event.status is not BranchStatus.SUCCEEDED:
                self._reused.discard(event.branch_id)
        elif isinstance(event, RunFinished):
            self._outcome = event.outcome
            self.finished = True

    async def run(self, *, stay_open: bool = False) -> RunOutcome:
        """Follow the run until the viewer leaves (cancel this: the run goes on).

        Returns only when the viewer has nothing to follow and ``stay_open`` is false.
        """
        if self._connection is None:
            if stay_open:
                await anyio.sleep_forever()
            return self._outcome
        stream = await UNIXSocketStream.from_socket(self._connection)
        async with stream, anyio.create_task_group() as group:
            group.start_soon(self._send_commands, stream)
            await self._follow(stream)
            group.cancel_scope.cancel()
        if stay_open:
            await anyio.sleep_forever()
        return self._outcome

    async def _follow(self, stream: UNIXSocketStream) -> None:
        try:
            while True:
                frame = await read_frame(stream, self._decoder)
                kind = frame[0]
                if kind == "event":
                    self._deliver(frame[1])
                elif kind == "reply":
                    self._replied(frame[1], frame[2])
                elif kind == "dropped":
                    self.notify(f"{frame[1][:1].upper()}{frame[1][1:]}: attach again to follow it.")
        except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
            pass
        if self.finished:
            self.notify(f"Run {self.run_id} is finished: this is its final state.")
        else:
            self.notify(f"Run {self.run_id} is gone: its process ended without a last word.")

    async def _send_commands(self, stream: UNIXSocketStream) -> None:
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            async for frame in self._outbox:
                await stream.send(frame)

    # -- commands ----------------------------------------------------------------------

    def _ask(self, name: str, args: tuple[object, ...], expected: object) -> object:
        """Send a command if it can act; return ``expected`` (what the run will answer)."""
        if self.read_only:
            self.notify("Read-only: this viewer sends no commands to the run.")
            return type(expected)()
        if self._connection is None or self.finished:
            self.notify(f"Run {self.run_id} is finished: nothing can change it now.")
            return type(expected)()
        if not expected and name != "shutdown":
            return expected
        request = next(self._requests)
        self._asked[request] = (name, args, expected)
        try:
            self._outbox_send.send_nowait(encode(("command", request, name, args)))
        except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
            del self._asked[request]
            self.notify("The run is not taking commands from this viewer now.")
            return type(expected)()
        return expected

    def _replied(self, request: int, result: object) -> None:
        asked = self._asked.pop(request, None)
        if asked is None or asked[2] == result:
            return
        name, args, _ = asked
        what = {"retry": "retry", "cancel": "cancel", "retry_failed": "retry"}.get(name, name)
        target = f" {args[0]}" if args else f" {result} branches" if result else ""
        self.notify(f"The run did not {what}{target}: it had moved on; see the panels.")

    def _retryable(self, branch_id: str) -> bool:
        status = self._statuses.get(branch_id)
        if status is None:
            return False
        return status.retryable or (status is BranchStatus.SUCCEEDED and branch_id in self._reused)

    def retry(self, branch_id: str) -> bool:
        """Ask the run to retry ``branch_id``; whether it will (as far as seen here)."""
        return bool(self._ask("retry", (branch_id,), self._retryable(branch_id)))

    def cancel(self, branch_id: str) -> bool:
        """Ask the run to cancel ``branch_id``; whether it will (as far as seen here)."""
        status = self._statuses.get(branch_id)
        return bool(self._ask("cancel", (branch_id,), status is not None and status.cancellable))

    def retry_failed(self) -> int:
        """Ask the run to retry every retryable branch; how many it will."""
        count = sum(status.retryable for status in self._statuses.values())
        result = self._ask("retry_failed", (), count)
        return result if isinstance(result, int) else 0

    def cancel_all(self) -> int:
        """Ask the run to cancel every active branch; how many it will."""
        count = sum(status.cancellable for status in self._statuses.values())
        result = self._ask("cancel_all", (), count)
        return result if isinstance(result, int) else 0

    def shutdown(self, *, interrupted: bool = False, kill_now: bool = False) -> None:
        """Ask the run itself to stop (the operator confirmed it); it ends as on SIGTERM."""
        self._ask("shutdown", (), True)

    def outcome(self) -> RunOutcome:
        """The run as of attaching, or as it ended."""
        return self._outcome


def _handshake(connection: socket.socket) -> tuple[Snapshot, Decoder]:
    """The hellos and the snapshot, on a blocking socket; return the decoder with what
    came after them."""
    decoder = Decoder()

    def receive(what: str) -> None:
        data = connection.recv(65536)
        if not data:
            raise NotServed(f"the run closed the connection before {what}")
        decoder.feed(data)

    while (line := decoder.line()) is None:
        receive("its hello")
    check_hello(line, expected_role="run")
    connection.sendall(hello("viewer"))
    while (frame := decoder.frame()) is None:
        receive("its snapshot")
    if frame[0] != "snapshot" or not isinstance(frame[1], Snapshot):
        raise ProtocolMismatch("the run sent no snapshot")
    return frame[1], decoder
