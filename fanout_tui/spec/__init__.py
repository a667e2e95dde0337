"""The spec language: YAML in, a validated and expanded :class:`Plan` out.

How a spec becomes a plan (the models in :mod:`._models` say what each field means):

- ``defaults`` may set ``timeout``, ``kill_grace``, ``retry``, ``env``, ``cwd``, ``uses``,
  ``output`` and ``success``; a branch inherits each one it does not set. ``env`` merges
  key by key (defaults first); ``retry`` and ``output`` merge field by field; the others
  are replaced whole. The synthesizer inherits only ``env``, ``cwd`` and ``kill_grace``:
  its timeout and retries are its own.
- ``matrix`` expands a branch into one branch per combination (cartesian product, keys
  and values in the order written). ``${{ matrix.NAME }}`` works in ``id``, ``title``,
  ``run``, ``with``, ``cwd`` and ``env`` values, where it is the value as written
  (``3.10``, not YAML's 3.1); a ``with`` value that is exactly one reference keeps the
  type YAML reads. Numbers in ``env`` are their text as written too (``01234``).
  ``${{ env.NAME }}`` (read when the spec is loaded; unset is an error) works there and
  in ``defaults.env``/``cwd`` and the synthesizer's ``run``/``env``/``cwd``. Anywhere
  else ``${{`` is an error; ``$VAR`` is left to the shell.
- Relative ``cwd`` and ``output`` resolve against the spec's folder; ``call`` branches
  import from that folder too.
- ``merge.order`` names branches to put first; the others follow in declared order.
  ``min_success`` (best_effort only; default 1) may be a percentage, rounded up to a count.

Imports nothing else of the package (a test enforces it). The names below load on first
use, so that importing :mod:`fanout_tui.spec._plan` (as the engine does) or running a plan
from the cache (:mod:`._plan_cache`) never pays for pydantic and PyYAML.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fanout_tui.spec._describe import describe_plan
    from fanout_tui.spec._errors import SpecError, SpecIssue
    from fanout_tui.spec._llm_plan import LlmMessage, LlmPlan, ProviderPlan
    from fanout_tui.spec._loader import load_plan, load_plan_text
    from fanout_tui.spec._masking import (
        MASK,
        MIN_MASKED_LENGTH,
        Masker,
        StreamMasker,
        too_short_to_mask,
    )
    from fanout_tui.spec._plan import (
        RETRY_KINDS,
        BranchPlan,
        Budget,
        ConflictRule,
        MergePlan,
        MergeStrategy,
        OutputContract,
        OutputFormat,
        Plan,
        PolicyMode,
        PolicyPlan,
        Rate,
        ResourceLimit,
        RetryPolicy,
    )
    from fanout_tui.spec._plan_cache import load_plan_cached
    from fanout_tui.spec._schema import spec_json_schema
    from fanout_tui.spec._units import format_duration

__all__ = [
    "MASK",
    "MIN_MASKED_LENGTH",
    "RETRY_KINDS",
    "BranchPlan",
    "Budget",
    "ConflictRule",
    "LlmMessage",
    "LlmPlan",
    "Masker",
    "MergePlan",
    "MergeStrategy",
    "OutputContract",
    "OutputFormat",
    "Plan",
    "PolicyMode",
    "PolicyPlan",
    "ProviderPlan",
    "Rate",
    "ResourceLimit",
    "RetryPolicy",
    "SpecError",
    "SpecIssue",
    "StreamMasker",
    "describe_plan",
    "format_duration",
    "load_plan",
    "load_plan_cached",
    "load_plan_text",
    "spec_json_schema",
    "too_short_to_mask",
]

_OUTSIDE_PLAN = {
    "SpecError": "errors",
    "SpecIssue": "errors",
    "describe_plan": "describe",
    "format_duration": "units",
    **dict.fromkeys(
        ("MASK", "MIN_MASKED_LENGTH", "Masker", "StreamMasker", "too_short_to_mask"), "masking"
    ),
    **dict.fromkeys(("LlmMessage", "LlmPlan", "ProviderPlan"), "llm_plan"),
    "load_plan": "loader",
    "load_plan_cached": "plan_cache",
    "load_plan_text": "loader",
    "spec_json_schema": "schema",
}
_HOMES = {name: _OUTSIDE_PLAN.get(name, "plan") for name in __all__}
"""The module of this package that defines each exported name."""


def __getattr__(name: str) -> Any:
    """Import an exported name from its module on first use (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}._{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
