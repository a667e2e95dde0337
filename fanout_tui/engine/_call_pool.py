"""Long-lived worker processes for ``call`` branches, owned by one run's executor.

A :class:`CallWorker` is one :mod:`~fanout_tui.engine._call_worker` process in its own
process group, serving one module for one folder, environment and ``python_path``: it
imports the module once and runs many calls. Async calls share a worker (up to
:data:`ASYNC_CALLS_PER_WORKER` at once, on its event loop); a plain function has a worker
to itself while it runs, so ending that worker's group stops it and whatever it started.
A target's kind is learned from its first call; until then its other calls wait.

Nothing reads a worker's pipes in the background: whichever attempt is waiting on a worker
takes its turn reading them (:meth:`CallWorker.wait`) and hands every message to the call
it names, so no task outlives the attempts.

A worker that exits or crashes fails the calls it held with a reason that says so (``the
worker exited with code 4 while importing m``) and is replaced by the next call.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel

from fanout_tui.engine import _call_worker as call_worker
from fanout_tui.engine._output import RESULT_CAP, RESULT_CAP_WORDS
from fanout_tui.engine._process import KILL_CONFIRM_S, BranchProcess, signal_name, spawn
from fanout_tui.engine._streams import READ_CHUNK, OutputSink, write_all

ASYNC_CALLS_PER_WORKER = 32
"""Async calls one worker runs at once before another worker starts beside it."""

WorkerKey = tuple[str, Path, frozenset[tuple[bytes, bytes]], tuple[str, ...]]
"""What a worker is for: module, folder, environment and ``python_path``."""


@dataclass(eq=False)
class WorkerCall:
    """One call on its way through a worker."""

    call_id: int
    target: str
    function: str
    kwargs: dict[str, Any]
    stdin: str | None
    sinks: tuple[OutputSink, OutputSink]
    kind: str | None = None
    """``sync`` or ``async`` once the worker found the function."""
    sent: bool = False
    reply: dict[str, Any] | None = None
    """The worker's reply, or ``{"ok": False, "error": reason}`` when it died."""
    done: anyio.Event = field(default_factory=anyio.Event)
    kind_known: anyio.Event = field(default_factory=anyio.Event)
    """Set once ``kind`` is known, or the call ended without it."""
    startable: anyio.Event = field(default_factory=anyio.Event)
    """Set once its worker is ready for it, or the call ended before."""

    def settle(self, reply: dict[str, Any]) -> None:
        """Take the reply (the first one counts)."""
        if self.reply is None:
            self.reply = reply
            self.done.set()
            self.kind_known.set()
            self.startable.set()


class CallWorker:
    """One worker process (see the module docstring)."""

    def __init__(self, key: WorkerKey, proc: BranchProcess, request_fd: int, reply_fd: int) -> None:
        self.key = key
        self.module = key[0]
        self.proc = proc
        self._request_fd = request_fd
        self._reply_fd = reply_fd
        self.calls: dict[int, WorkerCall] = {}
        self.ready = anyio.Event()
        self.dead = anyio.Event()
        self.ending_reason: str | None = None
        """Why we are ending it, for the calls it holds that did not ask for it."""
        self._reading = anyio.Lock()
        self._outbox: list[bytes] = []
        self._pending = b""
        self._decoders = [codecs.getincrementaldecoder("utf-8")("replace") for _ in range(2)]
        self._released = False

    @property
    def usable(self) -> bool:
        """Alive and not being ended: it may take calls."""
        return not self.dead.is_set() and self.ending_reason is None

    def holds_only_async(self) -> bool:
        """Every call it holds is a known async call."""
        return all(call.kind == "async" for call in self.calls.values())

    def take(self, call: WorkerCall) -> None:
        """Hold ``call`` from now on (it is sent once the worker is ready)."""
        self.calls[call.call_id] = call
        if self.ready.is_set():
            call.startable.set()

    async def send(self, call: WorkerCall) -> None:
        """Send ``call`` to the worker (which must be ready)."""
        request = {
            "op": "call",
            "id": call.call_id,
            "function": call.function,
            "kwargs": call.kwargs,
            "stdin": call.stdin,
        }
        call.sent = True
        # YAML may give dates: the worker gets them as their text, as fingerprints do.
        await self._write(json.dumps(request, default=str))

    async def cancel(self, call: WorkerCall) -> None:
        """Ask the worker to cancel ``call``."""
        if not self.dead.is_set():
            await self._write(json.dumps({"op": "cancel", "id": call.call_id}))

    async def _write(self, line: str) -> None:
        # The calls that start together go out in one write: each write wakes the worker,
        # and on a busy machine that costs about a millisecond.
        self._outbox.append(line.encode() + b"\n")
        await anyio.lowlevel.cancel_shielded_checkpoint()
        if self._outbox:
            data = b"".join(self._outbox)
            self._outbox.clear()
            with anyio.CancelScope(shield=True):
                await write_all(self._request_fd, data)

    async def wait(self, event: anyio.Event | None = None) -> None:
        """Read the worker's pipes (taking turns with other waiters) until ``event`` is
        set or the worker is gone (every call it held is then settled)."""
        event = event or self.dead
        if event.is_set() or self.dead.is_set():
            return
        async with anyio.create_task_group() as tg:

            async def read() -> None:
                async with self._reading:
                    if not event.is_set() and not self.dead.is_set():
                        await self._read()
                tg.cancel_scope.cancel()

            tg.start_soon(read)
            await event.wait()
            tg.cancel_scope.cancel()

    async def end(self, grace_s: float, reason: str | None = None) -> None:
        """End the worker's whole process group and fail what it still holds."""
        if self.ending_reason is None:
            self.ending_reason = reason or "the worker was ended"
        with anyio.CancelScope(shield=True):
            with contextlib.suppress(OSError):
                os.close(self._request_fd)  # an idle worker leaves at once
            await self.proc.end(grace_s)
            with anyio.move_on_after(KILL_CONFIRM_S):
                await self.wait()
            self.release()

    def release(self) -> None:
        """Close its descriptors once it is gone; idempotent."""
        if self._released or not self.dead.is_set():
            return
        self._released = True
        for fd in (self._request_fd, self._reply_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.proc.release()

    async def _read(self) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._read_fd, self._reply_fd, self._take_channel)
            tg.start_soon(self._read_fd, self.proc.stdout_fd, self._raw_output(0))
            tg.start_soon(self._read_fd, self.proc.stderr_fd, self._raw_output(1))
            code = await self.proc.wait()
            tg.cancel_scope.cancel()
        for fd, take in (
            (self._reply_fd, self._take_channel),
            (self.proc.stdout_fd, self._raw_output(0)),
            (self.proc.stderr_fd, self._raw_output(1)),
        ):
            _drain(fd, take)
        self._died(code)

    async def _read_fd(self, fd: int, take: Any) -> None:
        while _drain(fd, take):
            await anyio.wait_readable(fd)
        await anyio.sleep_forever()  # its end came: wait for the exit

    def _raw_output(self, index: int) -> Any:
        decoder = self._decoders[index]

        def take(data: bytes) -> None:
            text = decoder.decode(data)
            if text:
                for call in list(self.calls.values()):
                    call.sinks[index].take(text, len(text))

        return take

    def _take_channel(self, data: bytes) -> None:
        *lines, self._pending = (self._pending + data).split(b"\n")
        for line in lines:
            self._dispatch(json.loads(line))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "ready" in message:
            self.ready.set()
            for waiting in self.calls.values():
                waiting.startable.set()
            return
        if "import_error" in message:
            self._fail_all(message["import_error"])
            return
        call = self.calls.get(message["id"])
        if call is None:
            return  # a call that was given up on
        if "kind" in message:
            call.kind = message["kind"]
            call.kind_known.set()
        elif "out" in message:
            text = message["text"]
            call.sinks[message["out"]].take(text, len(text))
        else:
            del self.calls[call.call_id]
            call.settle(message)

    def _died(self, code: int) -> None:
        self.dead.set()
        how = f"was killed by {signal_name(-code)}" if code < 0 else f"exited with code {code}"
        for call in list(self.calls.values()):
            if self.ending_reason is not None and call.reply is None and call.sent:
                reason = self.ending_reason
            elif not self.ready.is_set():
                reason = f"the worker {how} while importing {self.module}"
            else:
                reason = f"the worker {how} while calling {call.target}"
            call.settle({"ok": False, "error": reason})
        self.calls.clear()

    def _fail_all(self, reason: str) -> None:
        for call in list(self.calls.values()):
            call.settle({"ok": False, "error": reason})
        self.calls.clear()
        self.ending_reason = reason


def _drain(fd: int, take: Any) -> bool:
    """Read what ``fd`` holds now into ``take``; ``False`` at its end."""
    while True:
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not data:
            return False
        take(data)


def start_worker(key: WorkerKey, env: Mapping[bytes, bytes]) -> CallWorker:
    """Start a worker for ``key`` in its own process group.

    Raises:
        StartError: its folder is missing, or Python cannot start.
    """
    module, cwd, _, python_path = key
    setup = {
        "module": module,
        "python_path": list(python_path),
        "result_cap": RESULT_CAP,
        "result_cap_words": RESULT_CAP_WORDS,
    }
    request_r, request_w = os.pipe()
    reply_r, reply_w = os.pipe()
    argv = [sys.executable, "-u", "-P", call_worker.__file__]
    argv += [str(request_r), str(reply_w), json.dumps(setup)]
    try:
        proc = spawn(argv, cwd=cwd, env=env, pass_fds=(request_r, reply_w))
    except BaseException:
        os.close(request_w)
        os.close(reply_r)
        raise
    finally:
        os.close(request_r)
        os.close(reply_w)
    os.set_blocking(request_w, False)
    os.set_blocking(reply_r, False)
    return CallWorker(key, proc, request_w, reply_r)
