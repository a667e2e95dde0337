"""The sample's mock OpenAI-compatible server, importable by tests (tests/ is on sys.path)."""

from __future__ import annotations

import importlib.util
import json
import urllib.request
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parents[1] / "sample_specs" / "scripts" / "mock_openai.py"
_spec = importlib.util.spec_from_file_location("mock_openai", SCRIPT)
assert _spec is not None and _spec.loader is not None
mock_openai = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mock_openai)
serve = mock_openai.serve


def stats(url: str) -> dict[str, Any]:
    """The server's counters (``url``: its root, http://127.0.0.1:PORT)."""
    with urllib.request.urlopen(f"{url}/stats", timeout=5) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def reset() -> None:
    """Forget the messages seen (markers that act once act again) and zero the counters."""
    with mock_openai._LOCK:
        mock_openai._SEEN.clear()
        mock_openai._SPAN.clear()
        mock_openai.STATS.update(requests=0, disconnects=0, busy_s=0.0, span_s=0.0)
