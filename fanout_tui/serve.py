"""``fanout-tui serve``: the attach dashboard of one run, in browsers (textual-serve).

Each browser that connects gets its own ``fanout-tui attach RUN`` behind a websocket;
many browsers, one run. Every request (the page, its files, its websocket) must carry the
token printed at start: in the URL (``?token=...``), which sets a same-site cookie that
the page's later requests then carry. Without it the answer is 403.
"""

from __future__ import annotations

import hmac
import secrets
import shlex
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fanout_tui.engine import ExitCode
from fanout_tui.journal import JournalError, locate_run

LOCAL_HOST = "127.0.0.1"
TOKEN_COOKIE = "fanout_token"


def serve_run(
    journal: Path,
    run_ref: str | None,
    *,
    host: str | None = None,
    port: int = 8000,
    read_only: bool = False,
) -> int:
    """Serve the dashboard of run ``run_ref`` (default: the latest live one) until
    interrupted; return the command's exit code (2: no run, or no ``[web]`` extra)."""
    try:
        from aiohttp import web
        from textual_serve.server import Server
    except ImportError:
        print(
            "fanout-tui: serve needs textual-serve: pip install 'fanout-tui[web]'",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    try:
        run = locate_run(journal, run_ref)
    except JournalError as error:
        print(f"fanout-tui: {error}; nothing to serve", file=sys.stderr)
        return ExitCode.USAGE

    token = secrets.token_urlsafe(24)
    bind = host or LOCAL_HOST
    shown = socket.gethostname() if bind in ("0.0.0.0", "::", "") else bind
    public_url = f"http://{shown}:{port}"
    command = shlex.join(
        [
            sys.executable,
            "-m",
            "fanout_tui",
            "attach",
            run.run_id,
            "--journal",
            str(journal.resolve()),
            *(["--read-only"] if read_only else []),
        ]
    )

    @web.middleware  # type: ignore[untyped-decorator,unused-ignore]
    async def require_token(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        given = request.query.get("token") or request.cookies.get(TOKEN_COOKIE, "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            return web.Response(status=403, text="fanout-tui: this needs the URL with its token\n")
        response = await handler(request)
        if request.query.get("token") and not response.prepared:
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
        return response

    class TokenServer(Server):  # type: ignore[misc]
        async def _make_app(self) -> Any:
            app = await super()._make_app()
            app.middlewares.append(require_token)
            return app

    if host is not None and bind != LOCAL_HOST:
        print(
            f"fanout-tui: listening on {bind}:{port}: anyone who can reach it and has the "
            f"token can watch run {run.run_id}"
            + ("" if read_only else ", retry and cancel its branches and stop it")
            + "; the token travels unencrypted (plain HTTP)",
            file=sys.stderr,
        )
    print(f"fanout-tui: {public_url}/?token={token}", file=sys.stderr, flush=True)
    server = TokenServer(
        command, host=bind, port=port, title=f"fanout-tui · run {run.run_id}", public_url=public_url
    )
    server.serve()
    return ExitCode.OK
