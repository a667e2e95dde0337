"""Load a spec file into an expanded plan (placeholder until the spec language lands)."""

from __future__ import annotations

from pathlib import Path

from fanout_tui.spec.plan import Plan


def load_plan(path: Path) -> Plan:
    """Read, validate and expand the spec at ``path``; raise ``SpecError`` when it is wrong."""
    raise NotImplementedError


def load_plan_text(text: str, *, path: Path | None = None) -> Plan:
    """Like :func:`load_plan` for spec text; ``path`` names it in errors and anchors cwd."""
    raise NotImplementedError
