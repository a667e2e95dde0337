"""What a branch inherits from ``defaults``: each setting it does not give itself.

``retry`` and ``output`` merge field by field; ``timeout``, ``kill_grace``, ``log_cap``,
``uses`` and ``success`` are replaced whole (``env`` and ``cwd``, which hold templates, are
merged where the branch is expanded). The synthesizer inherits only ``kill_grace`` of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fanout_tui.spec._checks import Reporter
from fanout_tui.spec._models import BranchSpec, CostSpec, DefaultsSpec, RetrySpec
from fanout_tui.spec._plan import DEFAULT_LOG_CAP, OutputContract, OutputFormat, RetryPolicy
from fanout_tui.spec._source import FieldPath

DEFAULT_KILL_GRACE_S = 5.0

_STRUCTURED = {OutputFormat.JSON, OutputFormat.JSONL}
_NO_COST = CostSpec(tokens=0)


@dataclass(frozen=True, slots=True)
class Inherited:
    """A branch's settings with the defaults merged in."""

    retry: RetryPolicy
    timeout_s: float | None
    kill_grace_s: float
    log_cap: int
    uses: tuple[str, ...]
    success_exit_codes: frozenset[int]
    cost_tokens: int


def inherit(branch: BranchSpec, defaults: DefaultsSpec) -> Inherited:
    """The settings of ``branch``, each taken from ``defaults`` when the branch has none."""
    success = branch.success or defaults.success
    return Inherited(
        retry=retry_policy(branch.retry, defaults.retry),
        timeout_s=first(branch.timeout, defaults.timeout, None),
        kill_grace_s=first(branch.kill_grace, defaults.kill_grace, DEFAULT_KILL_GRACE_S),
        log_cap=first(branch.log_cap, defaults.log_cap, DEFAULT_LOG_CAP),
        uses=tuple(first(branch.uses, defaults.uses, [])),
        success_exit_codes=frozenset(success.exit_codes) if success else frozenset({0}),
        cost_tokens=(branch.cost or defaults.cost or _NO_COST).tokens,
    )


def output_contract(
    branch: BranchSpec,
    defaults: DefaultsSpec,
    strategy: str,
    path: FieldPath,
    report: Reporter,
) -> OutputContract:
    """The output contract of the branch at ``path``, checked against the merge ``strategy``."""
    own, inherited = branch.output, defaults.output
    written = first(own and own.format, inherited and inherited.format, None)
    output_format = OutputFormat(written or "text")
    written_schema = first(own and own.schema_, inherited and inherited.schema_, None)
    schema = _schema_mapping(written_schema)
    format_path: FieldPath = (
        (*path, "output", "format")
        if own and own.format
        else ("defaults", "output", "format")
        if inherited and inherited.format
        else path
    )
    if schema is not None and output_format not in _STRUCTURED:
        report(
            format_path,
            f"an output schema needs format json or jsonl (not {output_format})",
        )
    if strategy == "key" and output_format not in _STRUCTURED:
        report(
            format_path,
            f"merge.strategy is key, so output.format must be json or jsonl (not {output_format})",
        )
    return OutputContract(format=output_format, schema=schema)


def retry_policy(own: RetrySpec | None, inherited: RetrySpec | None) -> RetryPolicy:
    """The retry policy: each field from ``own``, else ``inherited``, else the default."""
    base = RetryPolicy()
    on = first(own and own.on, inherited and inherited.on, None)
    return RetryPolicy(
        on=None if on is None else frozenset(kind for kind in on if isinstance(kind, str)),
        on_exit_codes=frozenset(
            code for entry in on or () if isinstance(entry, tuple) for code in entry
        ),
        attempts=first(own and own.attempts, inherited and inherited.attempts, base.attempts),
        backoff_s=first(own and own.backoff, inherited and inherited.backoff, base.backoff_s),
        max_backoff_s=first(
            own and own.max_backoff, inherited and inherited.max_backoff, base.max_backoff_s
        ),
        jitter=first(own and own.jitter, inherited and inherited.jitter, base.jitter),
    )


def first(*candidates: Any) -> Any:
    """The first candidate that is not ``None`` (the last one is the fallback)."""
    for candidate in candidates[:-1]:
        if candidate is not None:
            return candidate
    return candidates[-1]


def _schema_mapping(schema: dict[str, Any] | bool | None) -> dict[str, Any] | None:
    """A boolean JSON Schema as its mapping equivalent (true: ``{}``, false: ``{"not": {}}``)."""
    if isinstance(schema, bool):
        return {} if schema else {"not": {}}
    return schema
