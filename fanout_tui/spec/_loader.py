"""Load a spec file into an expanded plan: read, parse, validate, expand."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from fanout_tui.spec._expand import expand_spec
from fanout_tui.spec._plan import Plan
from fanout_tui.spec._reading import decode_spec, read_spec_bytes
from fanout_tui.spec._source import parse_spec
from fanout_tui.spec._validation import validate_spec


def load_plan(path: Path) -> Plan:
    """Read, validate and expand the spec at ``path``; raise ``SpecError`` when it is wrong.

    Relative paths in the spec (``cwd``, ``output``) resolve against the spec's folder.
    """
    path = Path(path)
    return load_plan_text(decode_spec(read_spec_bytes(path), path), path=path)


def load_plan_text(
    text: str, *, path: Path | None = None, environ: Mapping[str, str] | None = None
) -> Plan:
    """Like :func:`load_plan` for spec text; ``path`` names it in errors and anchors cwd.

    Without ``path``, relative paths resolve against the current folder. ``environ`` is
    where ``${{ env.NAME }}`` and HOME are read (default ``os.environ``).
    """
    source = parse_spec(text, path)
    model = validate_spec(source)
    base_dir = Path(os.path.abspath(path)).parent if path is not None else Path.cwd()
    return expand_spec(model, source, base_dir=base_dir, environ=environ)
