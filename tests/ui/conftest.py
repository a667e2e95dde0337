"""Dashboard tests run their pilots on asyncio (Textual's loop)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
