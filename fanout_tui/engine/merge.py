"""Merge strategies: concatenate and key-merge (synthesis runs in the engine)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fanout_tui.engine.events import BranchReport
from fanout_tui.spec.plan import MergePlan


class MergeError(Exception):
    """The merge itself failed (a key conflict, a result of the wrong shape); str is one sentence."""


def combine(merge: MergePlan, branches: Sequence[BranchReport], *, flag_missing: bool) -> Any:
    """Merge the results of ``branches`` (all of them, in declared order).

    Only succeeded branches contribute. With ``flag_missing`` the result flags every
    branch that did not succeed (a placeholder line in concatenate). Not for synthesis.
    """
    raise NotImplementedError


def render_merged(merged: Any) -> str:
    """The merged result as text for stdout or a file, ending in a newline."""
    raise NotImplementedError
