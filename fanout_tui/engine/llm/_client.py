"""The run's HTTP client for ``llm`` branches, created on first use and closed at the end.

httpx is the client library: a well-kept async client on anyio (so a cancel closes the
request at once), with a connection pool shared by every branch, per-phase timeouts and
streamed responses. It is imported only here, when a run first needs it.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

CONNECT_TIMEOUT_S = 10.0
"""Longest wait for a connection to the provider."""
READ_TIMEOUT_S = 120.0
"""Longest silence from the provider while it answers (between two streamed pieces)."""


class HttpClient:
    """One pooled :class:`httpx.AsyncClient` for a run's ``llm`` attempts."""

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None

    def get(self) -> httpx.AsyncClient:
        """The client, created on first use."""
        if self._client is None:
            _remember_no_sniffio()
            import httpx

            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
            )
        return self._client

    async def aclose(self) -> None:
        """Close its connections (a later attempt would open a new client)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


def _remember_no_sniffio() -> None:
    """Make a missing ``sniffio`` fail to import at once.

    httpcore imports ``sniffio`` (optional, not installed with anyio 4) for every lock it
    makes, about seven times a request; without it each try searches the whole
    ``sys.path`` again (0.2 ms), about 1.5 ms of CPU a request. ``None`` in
    ``sys.modules`` is Python's own mark for "not importable".
    """
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]
