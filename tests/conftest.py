"""Keep the developer's machine out of every test: no user config, a temporary home."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(Path(home) / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(Path(home) / ".local" / "share"))
