"""The worker process that runs a synchronous ``call`` branch, so it can really be stopped.

It is started as a script (``python -u -P call_worker.py REQUEST_FD REPLY_FD``) in the
branch's own process group and imports nothing of fanout-tui, so it starts fast and
the user's imports see only their own ``python_path``. It reads the request (JSON:
``target``, ``kwargs``, ``python_path``) from ``REQUEST_FD``, calls the function and
writes the reply to ``REPLY_FD``: ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": "one sentence"}``. The function's own prints go to stdout and
stderr as usual: they are the branch's output lines, never mixed with the reply.

The same module resolves ``module:function`` targets for the engine, which imports a
target in-process to learn whether it is a coroutine function.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any


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


def resolve(target: str, python_path: Sequence[str] = ()) -> Callable[..., Any]:
    """Import ``target`` (``module:function``, the function part may be dotted).

    ``python_path`` entries are put first on ``sys.path`` (once each).

    Raises:
        CallError: bad form, unimportable module, missing or non-callable attribute.
    """
    module_name, function_name = split_target(target)
    for entry in reversed(python_path):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    try:
        obj: object = importlib.import_module(module_name)
    except Exception as error:  # the module's own code may raise anything
        raise CallError(f"cannot import {module_name}: {_message(error)}") from None
    for part in function_name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise CallError(f"{module_name} has no function {function_name}") from None
    if not callable(obj):
        raise CallError(f"{target} is not callable")
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


def _call(request: dict[str, Any]) -> dict[str, Any]:
    try:
        function = resolve(request["target"], request.get("python_path", ()))
    except CallError as error:
        return {"ok": False, "error": str(error)}
    try:
        value = function(**request.get("kwargs", {}))
        if inspect.isawaitable(value):
            value = asyncio.run(_awaited(value))
    except SystemExit as stop:
        return {"ok": False, "error": f"the function exited (code {stop.code})"}
    except Exception as error:  # any failure of the user's function is the branch's failure
        traceback.print_exc()
        return {"ok": False, "error": exception_reason(error)}
    try:
        return {"ok": True, "result": plain_json(value)}
    except NotJSON as error:
        return {"ok": False, "error": str(error)}


class NotJSON(Exception):
    """A callable's result cannot be JSON; ``str()`` is the failure reason."""


def plain_json(value: Any) -> Any:
    """``value`` as plain JSON data (dicts, lists, str, numbers, bool, None).

    Raises:
        NotJSON: "result is not JSON-serialisable: …" (a set, NaN, a cycle…).
    """
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as error:
        raise NotJSON(f"result is not JSON-serialisable: {_message(error)}") from None


async def _awaited(value: Any) -> Any:
    return await value


def main(argv: Sequence[str]) -> int:
    """Serve one request: read it, call, reply, and exit without waiting for stray threads."""
    request_fd, reply_fd = int(argv[1]), int(argv[2])
    os.set_inheritable(request_fd, False)
    os.set_inheritable(reply_fd, False)
    with os.fdopen(request_fd, "rb") as source:
        request = json.loads(source.read())
    reply = json.dumps(_call(request)).encode()
    with os.fdopen(reply_fd, "wb") as sink:
        sink.write(reply)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
