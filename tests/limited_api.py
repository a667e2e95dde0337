"""A real rate-limited HTTP API on 127.0.0.1 for tests: it enforces limits and logs arrivals.

The server allows ``concurrency`` requests in flight, ``rate`` requests in any sliding
window of ``period`` seconds and ``tokens`` tokens (a request's ``X-Tokens`` header) in the
same window, the way a real API does, and answers ``429`` with ``Retry-After`` when a
limit is broken. It can also be told to refuse the next requests with a 429 of its own
(:meth:`LimitedAPI.refuse_next`). Its log, :attr:`LimitedAPI.arrivals`, is what tests judge
by: what the server saw, not what the client believes it did.

Every request holds for ``latency`` seconds and answers ``{"n": N, "path": ...}`` in JSON.
Clients in this module's tests: :data:`CLIENT` (a script for ``run:`` branches) and
:func:`ask` / :func:`ask_async` (for ``call:`` branches).
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CLIENT = Path(__file__).with_name("limited_api_client.py")
"""A command-line client: ``python CLIENT URL [TOKENS]``; prints the reply, or on a 429
prints a rate-limit signal on stderr and exits 75."""


@dataclass(frozen=True)
class Arrival:
    """One request as the server saw it."""

    at: float
    """Server time (monotonic seconds) when it arrived."""
    path: str
    status: int
    why: str = ""
    """What a 429 was for: ``concurrency``, ``rate``, ``tokens`` or ``refused``."""
    tokens: int = 0


@dataclass
class LimitedAPI:
    """The server's limits and its log; :func:`serve` runs it."""

    concurrency: int | None = None
    rate: int | None = None
    period: float = 60.0
    tokens: int | None = None
    latency: float = 0.0
    arrivals: list[Arrival] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_flight: int = 0
    _accepted: deque[tuple[float, int]] = field(default_factory=deque)
    _refusals: list[float] = field(default_factory=list)

    def refuse_next(self, count: int, retry_after: float) -> None:
        """Answer the next ``count`` requests with a 429 and ``Retry-After: retry_after``."""
        with self._lock:
            self._refusals.extend([retry_after] * count)

    def broken_limits(self) -> list[Arrival]:
        """Every 429 the declared limits caused (not the ones :meth:`refuse_next` asked for)."""
        return [a for a in self.arrivals if a.status == 429 and a.why != "refused"]

    def most_in_a_window(self) -> int:
        """The most accepted requests that arrived within one window of ``period``."""
        times = sorted(a.at for a in self.arrivals if a.status == 200)
        best = first = 0
        for last, at in enumerate(times):
            while at - times[first] >= self.period:
                first += 1
            best = max(best, last - first + 1)
        return best

    def _admit(self, path: str, tokens: int) -> tuple[int, str, float]:
        """Status, why and retry-after for a request arriving now; counts it in if admitted."""
        now = time.monotonic()
        with self._lock:
            horizon = now - self.period
            while self._accepted and self._accepted[0][0] <= horizon:
                self._accepted.popleft()
            status, why, after = 200, "", 0.0
            if self._refusals:
                status, why, after = 429, "refused", self._refusals.pop(0)
            elif self.concurrency is not None and self._in_flight >= self.concurrency:
                status, why, after = 429, "concurrency", 1.0
            elif self.rate is not None and len(self._accepted) >= self.rate:
                status, why = 429, "rate"
                after = self._accepted[-self.rate][0] + self.period - now
            elif self.tokens is not None and (
                sum(spent for _, spent in self._accepted) + tokens > self.tokens
            ):
                status, why, after = 429, "tokens", self._accepted[0][0] + self.period - now
            if status == 200:
                self._accepted.append((now, tokens))
                self._in_flight += 1
            self.arrivals.append(Arrival(now, path, status, why, tokens))
            return status, why, max(0.0, after)

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1


def serve(api: LimitedAPI) -> ThreadingHTTPServer:
    """Start ``api`` on a free port of 127.0.0.1 in a daemon thread; sets ``api.url``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            tokens = int(self.headers.get("X-Tokens", "0") or 0)
            status, why, after = api._admit(self.path, tokens)
            if status == 429:
                body = json.dumps({"error": f"rate limited ({why})"}).encode()
                self.send_response(429)
                self.send_header("Retry-After", str(math.ceil(after)) if after else "0")
            else:
                try:
                    time.sleep(api.latency)
                    body = json.dumps({"n": len(api.arrivals), "path": self.path}).encode()
                finally:
                    api._done()
                self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the arrivals list is the log."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class RateLimitedError(RuntimeError):
    """The API answered 429."""


def ask(url: str, tokens: int = 0) -> dict[str, Any]:
    """GET ``url`` (a plain function for ``call:`` branches); on a 429, send the signal."""
    from fanout_tui import signals

    request = urllib.request.Request(url, headers={"X-Tokens": str(tokens)})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            answer: dict[str, Any] = json.loads(reply.read())
    except urllib.error.HTTPError as error:
        if error.code != 429:
            raise
        signals.rate_limited(retry_after=float(error.headers.get("Retry-After", "1")))
        raise RateLimitedError("429 Too Many Requests") from None
    signals.usage(input_tokens=tokens)
    return answer


async def ask_async(url: str, tokens: int = 0) -> dict[str, Any]:
    """:func:`ask` for an async ``call:`` branch (the request runs in a thread)."""
    import anyio.to_thread

    return await anyio.to_thread.run_sync(ask, url, tokens)


if __name__ == "__main__":  # pragma: no cover - a manual check: serve until interrupted
    api = LimitedAPI(concurrency=2, rate=30, period=60.0)
    serve(api)
    print(api.url, file=sys.stderr)
    threading.Event().wait()
