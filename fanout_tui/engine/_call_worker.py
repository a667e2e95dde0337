"""The worker process that runs ``call`` branches, outside fanout-tui's own interpreter.

It is started as a script (``python -u -P _call_worker.py REQUEST_FD REPLY_FD SETUP``) in
its own process group and imports nothing of fanout-tui, so it starts fast and the user's
imports see only their own ``python_path``. ``SETUP`` (JSON) names the one module it
serves, its ``python_path`` and the result cap. It imports the module once, says
``{"ready": true}`` (or ``{"import_error": "…"}`` and exits), then runs every call it is
sent until its request pipe closes: a coroutine function as a task on its own event loop
(many at once), a plain function in a thread. Messages are JSON lines both ways:

* in: ``{"op": "call", "id", "function", "kwargs", "stdin"}``, ``{"op": "cancel", "id"}``;
* out: ``{"id", "kind": "sync"|"async"}`` once the function is found, ``{"id", "out": 0|1,
  "text"}`` for what the call prints, and one reply: ``{"id", "ok": true, "result"}``,
  ``{"id", "ok": false, "error": "one sentence"}`` or ``{"id", "cancelled": true}``.

What a call prints (``sys.stdout``/``sys.stderr``, in its task, the tasks it starts and its
threads: they inherit its context) is framed with its id; text written straight to the
worker's file descriptors (a subprocess, C code, the import itself) reaches the engine on
the worker's own stdout and stderr.

The engine uses :func:`split_target` from here without importing anything of the user's.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import inspect
import io
import json
import os
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TextIO

FLUSH_AT = 64 * 1024
"""Characters a call's buffered output may reach before its writer sends it at once."""


class CallError(Exception):
    """A ``call`` target cannot be used; ``str()`` is one sentence for the operator."""


def split_target(target: str) -> tuple[str, str]:
    """``"pkg.mod:func"`` → ``("pkg.mod", "func")``.

    Raises:
        CallError: the target is not ``module:function``.
    """
    module, sep, function = target.partition(":")
    if not sep or not module.strip() or not function.strip() or ":" in function:
        raise CallError(f"{target!r} is not of the form module:function")
    return module.strip(), function.strip()


def attribute(module: object, module_name: str, function_name: str) -> Callable[..., Any]:
    """The (possibly dotted) callable ``function_name`` of an imported module.

    Raises:
        CallError: missing or not callable.
    """
    obj = module
    for part in function_name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise CallError(f"{module_name} has no function {function_name}") from None
    if not callable(obj):
        raise CallError(f"{module_name}:{function_name} is not callable")
    return obj


def is_async(function: Callable[..., Any]) -> bool:
    """True for a coroutine function (or an object whose ``__call__`` is one)."""
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        getattr(function, "__call__", None)  # noqa: B004 - the method itself is inspected
    )


def exception_reason(error: BaseException) -> str:
    """An exception as a failure reason, as Python prints its last line: its type and the
    first line of its message (``KeyError: 'missing'``), or its type alone.

    A group holding a single exception speaks as that exception.
    """
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    message, name = _message(error), type(error).__name__
    return f"{name}: {message}" if message != name else name


def _message(error: BaseException) -> str:
    """The first line of the exception's message, or its type name when it has none."""
    text = str(error).strip()
    first_line = text.splitlines()[0] if text else ""
    return first_line or type(error).__name__


class _Channel:
    """The reply pipe: whole JSON lines. What is sent during one turn of the event loop
    goes out in one write (each write wakes fanout-tui); any thread may send."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self._queued: list[bytes] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def send(self, message: dict[str, Any] | str) -> None:
        line = message if isinstance(message, str) else json.dumps(message)
        with self._lock:
            self._queued.append(line.encode() + b"\n")
            first = len(self._queued) == 1
        if self._loop is None:
            self.flush()
        elif first:
            self._loop.call_soon_threadsafe(self.flush)

    def batch_on(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Batch what is sent on ``loop`` from now on (``None``: write at once)."""
        self.flush()
        self._loop = loop

    def flush(self) -> None:
        with self._lock:
            data = b"".join(self._queued)
            self._queued.clear()
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]


class _Route:
    """Where one call's prints go: buffered, then framed with its id on the channel."""

    def __init__(self, call_id: int, channel: _Channel, stdin: str | None) -> None:
        self._id = call_id
        self._channel = channel
        self._loop = asyncio.get_running_loop()
        self._buffers: tuple[list[str], list[str]] = ([], [])
        self._size = 0
        self._scheduled = False
        self._lock = threading.RLock()
        self.stdin = io.StringIO(stdin or "")

    def write(self, index: int, text: str) -> None:
        with self._lock:
            self._buffers[index].append(text)
            self._size += len(text)
            if self._size > FLUSH_AT:
                self.flush()
            elif not self._scheduled:
                self._scheduled = True
                self._loop.call_soon_threadsafe(self.flush)

    def flush(self) -> None:
        with self._lock:
            self._scheduled = False
            self._size = 0
            for index, buffer in enumerate(self._buffers):
                text = "".join(buffer)
                buffer.clear()
                for start in range(0, len(text), FLUSH_AT):
                    piece = text[start : start + FLUSH_AT]
                    self._channel.send({"id": self._id, "out": index, "text": piece})


_ROUTE: contextvars.ContextVar[_Route | None] = contextvars.ContextVar("route", default=None)


class _RoutedOutput:
    """Stands in for ``sys.stdout`` (``index`` 0) or ``sys.stderr`` (1)."""

    def __init__(self, original: TextIO, index: int) -> None:
        self._original = original
        self._index = index

    def write(self, text: str) -> int:
        route = _ROUTE.get()
        if route is None:
            return self._original.write(text)
        route.write(self._index, text)
        return len(text)

    def flush(self) -> None:
        if _ROUTE.get() is None:
            self._original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class _RoutedInput:
    """Stands in for ``sys.stdin``: a call reads its own input (empty unless given)."""

    def __init__(self, original: TextIO) -> None:
        self._original = original

    def __getattr__(self, name: str) -> Any:
        route = _ROUTE.get()
        return getattr(self._original if route is None else route.stdin, name)

    def __iter__(self) -> Any:
        route = _ROUTE.get()
        return iter(self._original if route is None else route.stdin)


class _Server:
    """Runs the calls sent to this worker on its event loop."""

    def __init__(self, module: object, module_name: str, channel: _Channel, setup: Any) -> None:
        self._module = module
        self._module_name = module_name
        self._channel = channel
        self._cap: int = setup["result_cap"]
        self._cap_words: str = setup["result_cap_words"]
        self._tasks: dict[int, asyncio.Task[None]] = {}

    async def serve(self, request_fd: int) -> None:
        loop = asyncio.get_running_loop()
        closed = asyncio.Event()
        pending = b""

        def readable() -> None:
            nonlocal pending
            try:
                data = os.read(request_fd, 65536)
            except BlockingIOError:
                return
            if not data:
                loop.remove_reader(request_fd)
                closed.set()
                return
            *lines, pending = (pending + data).split(b"\n")
            for line in lines:
                self._handle(json.loads(line))

        os.set_blocking(request_fd, False)
        loop.add_reader(request_fd, readable)
        self._channel.batch_on(loop)
        try:
            await closed.wait()
        finally:
            self._channel.batch_on(None)

    def _handle(self, request: dict[str, Any]) -> None:
        call_id = request["id"]
        if request["op"] == "cancel":
            task = self._tasks.get(call_id)
            if task is not None:
                task.cancel()
            return
        context = contextvars.copy_context()
        route = context.run(_Route, call_id, self._channel, request.get("stdin"))
        context.run(_ROUTE.set, route)
        work = self._run(call_id, route, request["function"], request.get("kwargs", {}))
        self._tasks[call_id] = asyncio.get_running_loop().create_task(work, context=context)

    async def _run(self, call_id: int, route: _Route, name: str, kwargs: dict[str, Any]) -> None:
        try:
            reply = await self._outcome(call_id, name, kwargs)
        finally:
            self._tasks.pop(call_id, None)
        route.flush()
        self._channel.send(reply)

    async def _outcome(
        self, call_id: int, name: str, kwargs: dict[str, Any]
    ) -> dict[str, Any] | str:
        try:
            function = attribute(self._module, self._module_name, name)
        except CallError as error:
            return {"id": call_id, "ok": False, "error": str(error)}
        asynchronous = is_async(function)
        self._channel.send({"id": call_id, "kind": "async" if asynchronous else "sync"})
        if self._tasks.keys() == {call_id}:
            # A call the engine does not know yet comes alone: say what it is at once,
            # before it may block the loop (the engine needs it to stop the call).
            self._channel.flush()
        try:
            if asynchronous:
                value = await function(**kwargs)
            else:
                value = await asyncio.to_thread(function, **kwargs)
                if inspect.isawaitable(value):
                    value = await value
        except asyncio.CancelledError:
            return {"id": call_id, "cancelled": True}
        except SystemExit as stop:
            return {"id": call_id, "ok": False, "error": f"the function exited (code {stop.code})"}
        except BaseException as error:  # any failure of the user's function is the branch's
            traceback.print_exc()
            return {"id": call_id, "ok": False, "error": exception_reason(error)}
        try:
            text = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as error:
            reason = f"result is not JSON-serialisable: {_message(error)}"
            return {"id": call_id, "ok": False, "error": reason}
        if len(text) > self._cap:
            return {"id": call_id, "ok": False, "error": f"result is larger than {self._cap_words}"}
        return f'{{"id": {call_id}, "ok": true, "result": {text}}}'


def main(argv: Sequence[str]) -> int:
    """Import the module, say so, serve calls until the request pipe closes, exit."""
    request_fd, reply_fd, setup = int(argv[1]), int(argv[2]), json.loads(argv[3])
    os.set_inheritable(request_fd, False)
    os.set_inheritable(reply_fd, False)
    channel = _Channel(reply_fd)
    for entry in reversed(setup["python_path"]):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    sys.stdout = _RoutedOutput(sys.stdout, 0)
    sys.stderr = _RoutedOutput(sys.stderr, 1)
    sys.stdin = _RoutedInput(sys.stdin)
    name = setup["module"]
    try:
        module = importlib.import_module(name)
    except Exception as error:  # the module's own code may raise anything
        channel.send({"import_error": f"cannot import {name}: {_message(error)}"})
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    channel.send({"ready": True})
    asyncio.run(_Server(module, name, channel, setup).serve(request_fd))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
