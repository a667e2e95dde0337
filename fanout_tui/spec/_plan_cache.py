"""A cache of validated plans, like ``.pyc`` files for specs.

Validating a spec needs pydantic and PyYAML, which take longer to import than the rest of
a run takes to start. So once a spec has loaded, its expanded :class:`Plan` is pickled in
the user's cache folder (``$XDG_CACHE_HOME/fanout-tui/plans/``, by default
``~/.cache/fanout-tui/plans/``), one file per spec path, and the next run of the same spec
takes the plan from there without importing either.

An entry records everything its plan was derived from and is used only while all of it
still matches: the fanout-tui release and the folder it is installed in (both given by
the caller: this package imports nothing else of fanout-tui), the Python version, the spec
loader's own source files (size and modification time, as for ``.pyc`` files), the spec's
absolute path, the SHA-256 of the spec's bytes, and the SHA-256 of the value of every
environment variable loading read (``${{ env.NAME }}``, and HOME for a ``~`` in a path),
or that it was unset. A plan that read a variable named in ``secrets`` is never written:
the value is in it.

An entry is trusted only when it is a regular file owned by the current user that neither
group nor others may write. An entry that cannot be read (corrupt, truncated, from an
older release) is a miss: the spec loads in full and the entry is written anew. Writing
is best effort; a cache folder that cannot be written never fails a run. Deleting the
folder clears the cache. Each write also removes the entries that were not written for
:data:`MAX_AGE_S` (a spec still in use then loads in full once), so that specs made for
one run, in temporary folders, do not pile up.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import stat
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from fanout_tui.spec._plan import Plan
from fanout_tui.spec._reading import read_spec_bytes

FORMAT = 2
"""The layout of an entry: a header (a dict of plain values), then the pickled plan."""

MAX_AGE_S = 30 * 24 * 3600
"""Entries (and temporary files left by a write that was cut short) older than this go."""


def cache_folder() -> Path | None:
    """Where entries live; ``None`` when there is no home folder to put them in."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec says to ignore a relative path
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return Path(base, "fanout-tui", "plans")


def load_plan_cached(path: Path, *, release: str, install: Path) -> Plan:
    """Like :func:`~fanout_tui.spec._loader.load_plan`, through the cache of validated plans.

    The plan comes from the cache when this spec's entry still matches; otherwise the spec
    is loaded in full (``SpecError`` when it is wrong) and the entry is written.

    Args:
        path: the spec file.
        release: the running fanout-tui's version (``fanout_tui.__version__``).
        install: the folder of the running fanout-tui package, so that two installs of
            one release (a checkout and a wheel, say) never take each other's entries.
    """
    path = Path(path)
    data = read_spec_bytes(path)
    spec_path = os.path.abspath(path)
    folder = cache_folder()
    entry = folder / hashlib.sha256(os.fsencode(spec_path)).hexdigest() if folder else None
    key = {
        "format": FORMAT,
        "release": release,
        "install": os.path.abspath(install),
        "python": sys.version,
        "code": _code_stamp(),
        "spec_path": spec_path,
        "spec_sha256": hashlib.sha256(data).hexdigest(),
    }
    if entry is not None:
        cached = _read(entry, key)
        if cached is not None:
            return cached

    from fanout_tui.spec._loader import load_plan_text
    from fanout_tui.spec._reading import decode_spec

    environ = _RecordingEnviron(os.environ)
    plan = load_plan_text(decode_spec(data, path), path=path, environ=environ)
    if entry is None:
        return plan
    if not plan.reads_files and environ.read.keys().isdisjoint(plan.secrets):
        env = {name: _digest(value) for name, value in environ.read.items()}
        _write(entry, {**key, "env": env}, plan)
    else:
        # A secret's value is in the plan: never on disk, not even from an older entry.
        # A prompt's files may change without the spec: such a plan loads in full.
        with contextlib.suppress(OSError):
            entry.unlink()
    return plan


def _code_stamp() -> tuple[tuple[str, int, int], ...]:
    """Name, size and modification time of each source file of the spec package."""
    try:
        with os.scandir(os.path.dirname(__file__)) as files:
            return tuple(
                sorted(
                    (file.name, info.st_size, info.st_mtime_ns)
                    for file in files
                    if file.name.endswith(".py")
                    for info in (file.stat(),)
                )
            )
    except OSError:
        return ()


def _digest(value: str | None) -> str | None:
    return None if value is None else hashlib.sha256(os.fsencode(value)).hexdigest()


def _read(entry: Path, key: dict[str, Any]) -> Plan | None:
    """The entry's plan, if the entry is trustworthy and matches ``key`` and the environment."""
    try:
        # O_NONBLOCK: a FIFO put in the entry's place must not hang the run.
        fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not (
                stat.S_ISREG(info.st_mode)
                and info.st_uid == os.getuid()
                and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
            ):
                return None
            header = pickle.load(handle)
            env = header.pop("env")
            if header != key or any(
                _digest(os.environ.get(name)) != digest for name, digest in env.items()
            ):
                return None
            plan = pickle.load(handle)
    except Exception:  # corrupt, truncated, or written by another release: a miss
        return None
    return plan if isinstance(plan, Plan) else None


def _write(entry: Path, header: dict[str, Any], plan: Plan) -> None:
    """Store an entry atomically: a private temporary file, then a rename over the entry."""
    import tempfile  # only a cache miss writes

    with contextlib.suppress(Exception):  # the cache only saves time: it never fails a run
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(header, handle, pickle.HIGHEST_PROTOCOL)
                pickle.dump(plan, handle, pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, entry)
        finally:
            with contextlib.suppress(FileNotFoundError):  # gone once renamed
                os.unlink(temporary)
        _prune(entry.parent)


def _prune(folder: Path) -> None:
    """Remove the entries and temporary files of ``folder`` older than :data:`MAX_AGE_S`."""
    import time

    oldest = time.time() - MAX_AGE_S
    with os.scandir(folder) as files:
        for file in files:
            name = file.name
            ours = len(name) == 64 or (name.startswith(".") and name.endswith(".tmp"))
            if (
                ours
                and file.is_file(follow_symlinks=False)
                and file.stat(follow_symlinks=False).st_mtime < oldest
            ):
                with contextlib.suppress(OSError):
                    os.unlink(file.path)


class _RecordingEnviron(Mapping[str, str]):
    """The environment, remembering each name looked up and its value (``None``: unset)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.read: dict[str, str | None] = {}

    def __getitem__(self, name: str) -> str:
        value = self._environ.get(name)
        self.read[name] = value
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        self.read.update(self._environ)  # whoever lists every name depends on all of them
        return iter(self._environ)

    def __len__(self) -> int:
        self.read.update(self._environ)
        return len(self._environ)
