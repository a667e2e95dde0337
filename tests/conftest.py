"""Keep the developer's machine out of every test: no user config, a temporary home.

The cache of validated plans goes to one temporary folder for the whole session, set
before any fixture runs (module-scoped ones too), so no test reads or writes the user's
``~/.cache``; subprocesses inherit the variable.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_plan_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(Path(home) / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(Path(home) / ".local" / "share"))
