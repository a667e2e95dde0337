"""``llm`` branches: a chat request to an OpenAI-compatible endpoint, run in-process.

:func:`run_llm` runs one attempt; :class:`HttpClient` is the run's one pooled HTTP client
(connections are reused across branches). httpx is imported only when a run has an
``llm`` branch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fanout_tui.engine._lazy import lazy_exports

if TYPE_CHECKING:
    from fanout_tui.engine.llm._client import HttpClient
    from fanout_tui.engine.llm._run import run_llm

__all__ = ["HttpClient", "run_llm"]

_HOMES = {"HttpClient": "_client", "run_llm": "_run"}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
