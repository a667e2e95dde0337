"""``llm`` branches: a chat request to an OpenAI-compatible endpoint, run in-process.

:func:`run_llm` runs one attempt; :class:`HttpClient` is the run's one pooled HTTP client
(connections are reused across branches). httpx is imported only when a run has an
``llm`` branch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fanout_tui.engine.llm._client import HttpClient
    from fanout_tui.engine.llm._run import run_llm

__all__ = ["HttpClient", "run_llm"]

_HOMES = {"HttpClient": "client", "run_llm": "run"}


def __getattr__(name: str) -> Any:
    """Import an exported name from its module on first use (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}._{home}"), name)
    globals()[name] = value
    return value
