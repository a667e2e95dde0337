"""Keep the developer's machine out of every test: no user config, a temporary home.

The cache of validated plans goes to one temporary folder for the whole session, so no
test reads or writes the user's ``~/.cache`` (subprocesses inherit the variable).
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    _session_cache: Path,
) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(Path(home) / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(Path(home) / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(_session_cache))
