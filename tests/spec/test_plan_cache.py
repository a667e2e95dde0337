"""The cache of validated plans: a hit skips validation, any change of input is a miss."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import fanout_tui
from fanout_tui import __version__
from fanout_tui.cli import main
from fanout_tui.spec import Plan, SpecError, load_plan, load_plan_cached
from fanout_tui.spec import _loader as loader_module
from fanout_tui.spec import _plan_cache as plan_cache

SPEC = """\
version: 1
name: cached
defaults:
  cwd: ~/work
branches:
  - id: "greet-${{ matrix.n }}"
    matrix: {n: [1, 2]}
    run: echo ${{ env.GREETING }} ${{ matrix.n }}
    env: {MODE: fast}
    output: {format: text}
  - id: stats
    call: mypkg.tasks:word_stats
    with: {path: docs/intro.md, depth: 2}
resources:
  api: {concurrency: 2, rate: 30/min}
"""


RELEASE = __version__
INSTALL = Path(fanout_tui.__file__).parent
"""What the command line gives the cache: the release and the package's folder."""


def _cached(path: Path, *, release: str = RELEASE, install: Path = INSTALL) -> Plan:
    return load_plan_cached(path, release=release, install=install)


class FullLoads:
    """Counts the specs validated in full (the work a cache hit skips)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        validate = loader_module.validate_spec

        def counting(source: Any) -> Any:
            self.count += 1
            return validate(source)

        monkeypatch.setattr(loader_module, "validate_spec", counting)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    monkeypatch.setenv("GREETING", "hello")
    return folder / "fanout-tui" / "plans"


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> FullLoads:
    return FullLoads(monkeypatch)


def _spec(folder: Path, text: str = SPEC) -> Path:
    path = folder / "spec.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.iterdir()) if cache.exists() else []


def test_a_second_load_takes_the_plan_from_the_cache(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec(tmp_path)
    first = _cached(spec)
    assert first == load_plan(spec)

    def refuse(source: Any) -> Any:
        raise AssertionError("validated again")

    monkeypatch.setattr(loader_module, "validate_spec", refuse)
    assert _cached(spec) == first
    assert _cached(spec).branches[0].run == "echo hello 1"


def test_the_cache_is_private(tmp_path: Path, cache: Path) -> None:
    _cached(_spec(tmp_path))
    (entry,) = _entries(cache)
    assert cache.stat().st_mode & 0o777 == 0o700
    assert entry.stat().st_mode & 0o777 == 0o600
    assert entry.name == hashlib.sha256(os.fsencode(tmp_path / "spec.yaml")).hexdigest()


def test_a_changed_spec_is_loaded_again(tmp_path: Path, cache: Path, loads: FullLoads) -> None:
    spec = _spec(tmp_path)
    _cached(spec)
    spec.write_bytes(spec.read_bytes().replace(b"name: cached", b"name: cachet"))
    assert _cached(spec).name == "cachet"
    assert loads.count == 2
    assert _cached(spec).name == "cachet"
    assert loads.count == 2
    assert len(_entries(cache)) == 1


def test_a_changed_variable_is_read_again(
    tmp_path: Path, cache: Path, loads: FullLoads, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec(tmp_path)
    _cached(spec)
    monkeypatch.setenv("UNRELATED", "changes nothing")
    _cached(spec)
    assert loads.count == 1
    monkeypatch.setenv("GREETING", "bonjour")
    assert _cached(spec).branches[0].run == "echo bonjour 1"
    assert loads.count == 2


def test_a_changed_home_moves_a_tilde_path(
    tmp_path: Path, cache: Path, loads: FullLoads, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec(tmp_path)
    monkeypatch.setenv("HOME", "/home/one")
    assert _cached(spec).branches[0].cwd == Path("/home/one/work")
    monkeypatch.setenv("HOME", "/home/two")
    assert _cached(spec).branches[0].cwd == Path("/home/two/work")
    assert loads.count == 2


def test_an_unset_variable_is_an_error_again(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec(tmp_path)
    _cached(spec)
    monkeypatch.delenv("GREETING")
    with pytest.raises(SpecError, match="GREETING is not set"):
        _cached(spec)


def test_the_same_name_in_another_folder_is_another_entry(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        _spec(tmp_path / name)
    for name in ("a", "b", "a"):
        monkeypatch.chdir(tmp_path / name)
        plan = _cached(Path("spec.yaml"))
        assert plan.spec_path == tmp_path / name / "spec.yaml"
        assert plan.branches[2].python_path == (tmp_path / name,)
    assert len(_entries(cache)) == 2


@pytest.mark.parametrize(
    "key",
    [{"release": "0.0.0-other"}, {"install": Path("/elsewhere/fanout_tui")}],
    ids=["fanout-tui version", "install folder"],
)
def test_another_release_or_install_loads_again(
    tmp_path: Path, cache: Path, loads: FullLoads, key: dict[str, Any]
) -> None:
    spec = _spec(tmp_path)
    _cached(spec)
    _cached(spec, **key)
    assert loads.count == 2
    _cached(spec, **key)
    assert loads.count == 2


@pytest.mark.parametrize(
    ("target", "name", "value"),
    [
        (sys, "version", "3.99.0 (other build)"),
        (plan_cache, "_code_stamp", lambda: (("plan.py", 1, 1),)),
    ],
    ids=["python version", "loader source"],
)
def test_another_release_loads_again(
    tmp_path: Path,
    cache: Path,
    loads: FullLoads,
    monkeypatch: pytest.MonkeyPatch,
    target: object,
    name: str,
    value: object,
) -> None:
    spec = _spec(tmp_path)
    _cached(spec)
    monkeypatch.setattr(target, name, value)
    _cached(spec)
    assert loads.count == 2


@pytest.mark.parametrize(
    "content",
    [b"", b"garbage", b"\x80\x05K\x01.", b"\x80\x05}\x94.", b"\x80\x05\x95\x10\x00\x00"],
    ids=["empty", "text", "not a header", "no env", "truncated"],
)
def test_an_unreadable_entry_is_loaded_again_and_rewritten(
    tmp_path: Path, cache: Path, loads: FullLoads, content: bytes
) -> None:
    spec = _spec(tmp_path)
    plan = _cached(spec)
    (entry,) = _entries(cache)
    entry.write_bytes(content)
    assert _cached(spec) == plan
    assert _cached(spec) == plan
    assert loads.count == 2


def test_an_entry_naming_a_class_that_is_gone_is_loaded_again(
    tmp_path: Path, cache: Path, loads: FullLoads
) -> None:
    spec = _spec(tmp_path)
    _cached(spec)
    (entry,) = _entries(cache)
    entry.write_bytes(entry.read_bytes().replace(b"BranchPlan", b"BranchPlam"))
    _cached(spec)
    assert loads.count == 2


def test_an_entry_others_may_write_is_not_trusted(
    tmp_path: Path, cache: Path, loads: FullLoads
) -> None:
    spec = _spec(tmp_path)
    _cached(spec)
    (entry,) = _entries(cache)
    entry.chmod(0o620)
    _cached(spec)
    assert loads.count == 2
    assert entry.stat().st_mode & 0o777 == 0o600  # rewritten


def test_an_entry_of_another_user_is_not_trusted(
    tmp_path: Path, cache: Path, loads: FullLoads, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec(tmp_path)
    _cached(spec)
    uid = os.getuid()
    monkeypatch.setattr(plan_cache.os, "getuid", lambda: uid + 1)
    _cached(spec)
    assert loads.count == 2


def test_a_symlink_in_place_of_an_entry_is_not_followed(
    tmp_path: Path, cache: Path, loads: FullLoads
) -> None:
    spec = _spec(tmp_path)
    _cached(spec)
    (entry,) = _entries(cache)
    elsewhere = tmp_path / "elsewhere"
    entry.rename(elsewhere)
    entry.symlink_to(elsewhere)
    _cached(spec)
    assert loads.count == 2


SECRET_SPEC = """\
version: 1
name: secretive
secrets: [API_TOKEN]
branches:
  - id: call
    run: >-
      curl -H 'Authorization: ${{ env.API_TOKEN }}' https://example.com
"""


def test_a_plan_holding_a_secret_value_is_never_written(
    tmp_path: Path, cache: Path, loads: FullLoads, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "tok-5f1e9c2a7b"
    monkeypatch.setenv("API_TOKEN", token)
    # An entry from before the variable was declared secret goes too.
    spec = _spec(tmp_path, SECRET_SPEC.replace("secrets: [API_TOKEN]\n", ""))
    _cached(spec)
    assert _entries(cache)
    _spec(tmp_path, SECRET_SPEC)
    for _ in range(2):
        assert token in str(_cached(spec).branches[0].run)
    assert loads.count == 3
    assert _entries(cache) == []
    for folder, _, files in os.walk(tmp_path / "cache"):
        for name in files:
            assert token.encode() not in (Path(folder) / name).read_bytes()


def test_a_secret_the_spec_does_not_read_does_not_stop_the_cache(
    tmp_path: Path, cache: Path, loads: FullLoads, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_TOKEN", "tok-5f1e9c2a7b")
    spec = _spec(tmp_path, SPEC + "secrets: [API_TOKEN]\n")
    _cached(spec)
    _cached(spec)
    assert loads.count == 1
    assert b"tok-5f1e9c2a7b" not in _entries(cache)[0].read_bytes()


def test_an_unwritable_cache_does_not_fail_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    monkeypatch.setenv("GREETING", "hello")
    spec = _spec(tmp_path, "version: 1\nname: n\nbranches:\n- {id: a, run: 'echo $GREETING'}\n")
    assert _cached(spec) == load_plan(spec)
    assert main([str(spec), "--headless", "--no-journal"]) == 0
    assert capsys.readouterr().out == "hello\n"
    assert not blocker.read_text()


def test_a_bad_spec_is_reported_and_not_cached(tmp_path: Path, cache: Path) -> None:
    spec = _spec(tmp_path, "version: 1\nname: n\nbranches: [{id: a, rum: echo}]\n")
    for _ in range(2):
        with pytest.raises(SpecError, match="did you mean 'run'"):
            _cached(spec)
    assert _entries(cache) == []
    with pytest.raises(SpecError, match="no such file"):
        _cached(tmp_path / "nope.yaml")


def test_check_always_validates_in_full(
    tmp_path: Path, cache: Path, loads: FullLoads, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _spec(tmp_path)
    _cached(spec)
    assert main(["check", str(spec)]) == 0
    assert loads.count == 2
    assert "greet-1" in capsys.readouterr().out


def test_a_cached_plan_loads_without_pydantic_or_yaml(tmp_path: Path, cache: Path) -> None:
    spec = _spec(tmp_path)
    plan = _cached(spec)
    code = (
        "import sys\n"
        "from fanout_tui.spec import load_plan_cached\n"
        f"plan = load_plan_cached({str(spec)!r}, release={RELEASE!r}, install={str(INSTALL)!r})\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'pydantic', 'yaml'})\n"
        "print(repr(plan.name), ','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == [repr(plan.name)]


def test_writing_an_entry_removes_entries_not_written_for_a_month(
    tmp_path: Path, cache: Path
) -> None:
    _cached(_spec(tmp_path))
    (kept,) = _entries(cache)
    month_ago = kept.stat().st_mtime - plan_cache.MAX_AGE_S - 60
    stale = [cache / ("0" * 64), cache / ".abandoned.tmp"]
    for path in stale:
        path.write_bytes(b"old")
        os.utime(path, (month_ago, month_ago))
    unrelated = cache / "notes.txt"  # not the cache's: left alone, however old
    unrelated.write_text("mine")
    os.utime(unrelated, (month_ago, month_ago))
    other = tmp_path / "other"
    other.mkdir()
    _cached(_spec(other))  # a miss writes, and prunes
    assert not any(path.exists() for path in stale)
    assert kept.exists() and unrelated.exists()
    assert len(_entries(cache)) == 3
