"""Serving a run to viewers: its control socket, a snapshot for each, then its events.

:class:`ServedEngine` wraps the engine a front end runs: while :meth:`ServedEngine.run`
runs, the run listens on ``control.sock`` in its folder (0600, in the owner's folder).
Each viewer gets the hellos, a snapshot of the run so far and then every event, and may
send commands, which the engine carries out at once and answers.

The run never waits for a viewer: each reads the engine's events through a bounded
stream (:meth:`~fanout_tui.engine.Engine.events`), which drops a viewer that falls a
whole buffer behind; a send that cannot go out for :data:`SEND_TIMEOUT_S` ends that
viewer's connection. A viewer leaving changes nothing in the run.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import socket
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import SocketListener, SocketStream, TaskGroup

from fanout_tui.engine import Engine, EventStreamDropped, Listener, RunOutcome
from fanout_tui.remote._masked import masked
from fanout_tui.remote._protocol import (
    COMMANDS,
    FINAL_STATE_NAME,
    SOCKET_NAME,
    Decoder,
    ProtocolMismatch,
    Snapshot,
    check_hello,
    encode,
    hello,
    read_frame,
    read_line,
)
from fanout_tui.remote._snapshot import SnapshotKeeper
from fanout_tui.remote._sockets import bind_unix
from fanout_tui.spec import Masker, Plan

VIEWER_BUFFER = 4096
"""Events held for one viewer; one more and it is dropped."""

SEND_TIMEOUT_S = 5.0
"""How long a frame may wait to go out to a viewer before that viewer is let go."""

HELLO_TIMEOUT_S = 5.0
"""How long a viewer may take to say hello."""

_VIEWER_GONE = (
    anyio.EndOfStream,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    ProtocolMismatch,
    TimeoutError,
    OSError,
)

FAREWELL_S = 2.0
"""How long the run's end waits for its viewers to have the last events."""


class ServedEngine:
    """An engine whose run is served on the control socket of ``run_dir`` (an
    :class:`~fanout_tui.engine.EngineControl`: front ends run it as the engine itself)."""

    def __init__(
        self,
        engine: Engine,
        *,
        run_id: str,
        run_dir: Path,
        viewer_buffer: int = VIEWER_BUFFER,
        send_timeout_s: float = SEND_TIMEOUT_S,
    ) -> None:
        self._engine = engine
        self.plan: Plan = engine.plan
        self.run_id = run_id
        self.socket_path = run_dir / SOCKET_NAME
        self._final_state = run_dir / FINAL_STATE_NAME
        self._viewer_buffer = viewer_buffer
        self._send_timeout_s = send_timeout_s
        self._masker = Masker.from_environ(engine.plan.secrets)
        self._keeper = SnapshotKeeper()
        engine.add_listener(self._keeper.add)
        self._viewers = 0
        self._no_viewers = anyio.Event()
        self._no_viewers.set()
        self.listening = anyio.Event()
        """Set once the control socket takes viewers."""

    # -- EngineControl, handed on ------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """See :meth:`~fanout_tui.engine.Engine.add_listener`."""
        self._engine.add_listener(listener)

    def retry(self, branch_id: str) -> bool:
        """See :meth:`~fanout_tui.engine.Engine.retry`."""
        return self._engine.retry(branch_id)

    def cancel(self, branch_id: str) -> bool:
        """See :meth:`~fanout_tui.engine.Engine.cancel`."""
        return self._engine.cancel(branch_id)

    def retry_failed(self) -> int:
        """See :meth:`~fanout_tui.engine.Engine.retry_failed`."""
        return self._engine.retry_failed()

    def cancel_all(self) -> int:
        """See :meth:`~fanout_tui.engine.Engine.cancel_all`."""
        return self._engine.cancel_all()

    def shutdown(self, *, interrupted: bool = False, kill_now: bool = False) -> None:
        """See :meth:`~fanout_tui.engine.Engine.shutdown`."""
        self._engine.shutdown(interrupted=interrupted, kill_now=kill_now)

    def outcome(self) -> RunOutcome:
        """See :meth:`~fanout_tui.engine.Engine.outcome`."""
        return self._engine.outcome()

    # -- the run, served ---------------------------------------------------------------

    async def run(self, *, stay_open: bool = False) -> RunOutcome:
        """Run the engine and serve it until it returns; then leave the final state in
        the run's folder for viewers that come later."""
        listener = bind_unix(self.socket_path)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._accept, listener, group)
                self.listening.set()
                outcome = await self._engine.run(stay_open=stay_open)
                self._write_final_state()
                with anyio.move_on_after(FAREWELL_S):
                    await self._no_viewers.wait()
                group.cancel_scope.cancel()
        finally:
            listener.close()
            with contextlib.suppress(OSError):
                self.socket_path.unlink()
        return outcome

    def snapshot(self) -> Snapshot:
        """The run so far, as a joining viewer gets it (no secret in it)."""
        snapshot = Snapshot(
            run_id=self.run_id,
            plan=self.plan,
            events=self._keeper.events(),
            outcome=self._engine.outcome(),
            finished=self._keeper.finished,
        )
        return masked(snapshot, self._masker)

    def _write_final_state(self) -> None:
        temporary = self._final_state.with_suffix(".tmp")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                pickle.dump(self.snapshot(), file, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, self._final_state)
        except OSError:  # a viewer then sees the journal's word on it, not the panels
            with contextlib.suppress(OSError):
                temporary.unlink()

    async def _accept(self, listener: socket.socket, group: TaskGroup) -> None:
        accepting = await SocketListener.from_socket(listener)
        while True:
            group.start_soon(self._serve_viewer, await accepting.accept())

    async def _serve_viewer(self, stream: SocketStream) -> None:
        self._viewers += 1
        self._no_viewers = anyio.Event() if self._viewers == 1 else self._no_viewers
        try:
            async with stream:
                await self._talk(stream)
        except* _VIEWER_GONE:
            pass  # the viewer left, is stuck or is no viewer: the run goes on as it was
        finally:
            self._viewers -= 1
            if not self._viewers:
                self._no_viewers.set()

    async def _talk(self, stream: SocketStream) -> None:
        buffer = Decoder()
        await stream.send(hello("run", run_id=self.run_id))
        with anyio.fail_after(HELLO_TIMEOUT_S):
            check_hello(await read_line(stream, buffer), expected_role="viewer")
        # Snapshot and subscription in one step of the loop: no event falls between them.
        snapshot = self.snapshot()
        events = self._engine.events(self._viewer_buffer)
        lock = anyio.Lock()
        async with events, anyio.create_task_group() as group:
            group.start_soon(self._take_commands, stream, buffer, lock, group)
            await self._send(stream, lock, ("snapshot", snapshot))
            try:
                async for event in events:
                    await self._send(stream, lock, ("event", event))
            except EventStreamDropped:
                await self._send(
                    stream,
                    lock,
                    ("dropped", "this viewer fell too far behind the run and was let go"),
                )
            group.cancel_scope.cancel()

    async def _send(self, stream: SocketStream, lock: anyio.Lock, frame: tuple[Any, ...]) -> None:
        """Send ``frame``; a viewer that takes none of it in time is let go."""
        async with lock:
            with anyio.fail_after(self._send_timeout_s):
                await stream.send(encode(frame))

    async def _take_commands(
        self, stream: SocketStream, buffer: Decoder, lock: anyio.Lock, group: TaskGroup
    ) -> None:
        try:
            while True:
                frame = await read_frame(stream, buffer)
                if len(frame) != 4 or frame[0] != "command" or frame[2] not in COMMANDS:
                    continue
                _, request, name, args = frame
                await self._send(stream, lock, ("reply", request, self._execute(name, args)))
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            group.cancel_scope.cancel()  # the viewer left

    def _execute(self, name: str, args: tuple[Any, ...]) -> object:
        if name == "retry":
            return self._engine.retry(str(args[0]))
        if name == "cancel":
            return self._engine.cancel(str(args[0]))
        if name == "retry_failed":
            return self._engine.retry_failed()
        if name == "cancel_all":
            return self._engine.cancel_all()
        self._engine.shutdown(interrupted=True)
        return True
