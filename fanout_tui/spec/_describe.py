"""Print an expanded plan readably (``fanout-tui check``).

The text shows what will run, after defaults, matrices and interpolation, with the values
of secret variables masked wherever they could appear (commands, arguments, env, paths).
"""

from __future__ import annotations

import json
import shlex
import textwrap
from collections.abc import Mapping
from typing import Any

from fanout_tui.spec._llm_plan import LlmPlan
from fanout_tui.spec._masking import MASK, Masker
from fanout_tui.spec._plan import (
    RETRY_KINDS,
    BranchPlan,
    MergePlan,
    MergeStrategy,
    Plan,
    PolicyMode,
    PolicyPlan,
    ResourceLimit,
    RetryPolicy,
)
from fanout_tui.spec._units import format_duration


def describe_plan(plan: Plan) -> str:
    """The plan as text: branches, resources and limits, merge, policy."""
    mask = Masker.from_environ(plan.secrets)
    secrets = frozenset(plan.secrets)
    count = len(plan.branches)
    lines = [plan.name]
    if plan.description:
        lines.extend(
            textwrap.wrap(plan.description, width=96, initial_indent="  ", subsequent_indent="  ")
        )
    if plan.spec_path is not None:
        lines.append(f"spec         {plan.spec_path}")
    cap = (
        f"at most {plan.concurrency} running at once"
        if plan.concurrency is not None
        else "no global cap on running branches"
    )
    lines.append(f"branches     {count} ({cap})")
    lines.append(f"executor     {plan.executor or 'this machine'}")
    lines.append("")
    for branch in plan.branches:
        lines.extend(_branch(branch, mask, secrets))
    lines.append("")
    if plan.resources:
        lines.append("resources")
        width = max(len(name) for name in plan.resources)
        lines.extend(
            f"  {name.ljust(width)}  {_resource(resource)}"
            for name, resource in plan.resources.items()
        )
        lines.append("")
    lines.append(f"merge        {_merge(plan.merge, plan)}")
    if plan.merge.synthesizer is not None:
        lines.extend(_branch(plan.merge.synthesizer, mask, secrets))
    lines.append(f"policy       {_policy(plan.policy, count)}")
    if plan.output is not None:
        lines.append(f"output       {plan.output}")
    if plan.budget is not None:
        spend = [f"{plan.budget.tokens} tokens"] if plan.budget.tokens is not None else []
        if plan.budget.cost_usd is not None:
            spend.append(f"${plan.budget.cost_usd:g}")
        lines.append(f"budget       {' · '.join(spend)} (no new attempt past it)")
    if plan.secrets:
        lines.append(f"secrets      {', '.join(plan.secrets)} (values masked)")
    return mask.mask("\n".join(lines).rstrip())


def _branch(branch: BranchPlan, mask: Masker, secrets: frozenset[str]) -> list[str]:
    head = f"  {branch.id}"
    if branch.title:
        head += f" — {branch.title}"
    if branch.matrix:
        head += "  [" + ", ".join(f"{k}={_value(v)}" for k, v in branch.matrix.items()) + "]"
    lines = [head]
    if isinstance(branch.run, str):
        lines.append(f"    run      {branch.run}   (by /bin/sh -c)")
    elif branch.run is not None:
        lines.append(f"    run      {shlex.join(branch.run)}")
    if branch.call is not None:
        lines.append(f"    call     {branch.call}({_arguments(branch.with_args)})")
    if branch.llm is not None:
        lines.extend(_llm(branch.llm))
    else:
        lines.append(f"    cwd      {branch.cwd}")
    if branch.env:
        shown = " ".join(
            f"{name}={MASK if name in secrets else shlex.quote(mask.mask(value))}"
            for name, value in branch.env.items()
        )
        lines.append(f"    env      {shown}")
    timeout = format_duration(branch.timeout_s) if branch.timeout_s is not None else "none"
    lines.append(
        f"    limits   timeout {timeout} · {_retry(branch.retry)} · "
        f"kill grace {format_duration(branch.kill_grace_s)}"
    )
    if branch.uses:
        cost = f" · costs {branch.cost_tokens} tokens an attempt" if branch.cost_tokens else ""
        lines.append(f"    uses     {', '.join(branch.uses)}{cost}")
    output = str(branch.output.format)
    if branch.output.schema is not None:
        output += " (checked against a JSON Schema)"
    codes = ", ".join(str(code) for code in sorted(branch.success_exit_codes))
    if branch.llm is None:
        output += f" · success on exit code {codes}"
    lines.append(f"    output   {output}")
    return lines


def _llm(llm: LlmPlan) -> list[str]:
    provider = llm.provider
    request = [f"{provider.name} ({provider.base_url})", f"model {llm.model}"]
    if llm.max_tokens is not None:
        request.append(f"max_tokens {llm.max_tokens}")
    if llm.temperature is not None:
        request.append(f"temperature {llm.temperature:g}")
    request.append("streamed" if llm.stream else "not streamed")
    if llm.repair:
        request.append(f"repair up to {llm.repair} times")
    lines = [f"    llm      {' · '.join(request)}"]
    for message in llm.messages:
        first, *rest = message.content.splitlines() or [""]
        more = f" … ({len(message.content):,} characters)" if rest or len(first) > 60 else ""
        lines.append(f"    {message.role:<8} {first[:60]}{more}")
    lines.append(f"    estimate {llm.estimate_tokens():,} tokens (prompt and reply)")
    return lines


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _arguments(arguments: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{name}={json.dumps(value, default=str)}" for name, value in arguments.items()
    )


def _retry(retry: RetryPolicy) -> str:
    if retry.attempts <= 1:
        return "no retry"
    text = (
        f"{retry.attempts} attempts (backoff {format_duration(retry.backoff_s)} "
        f"up to {format_duration(retry.max_backoff_s)}"
    )
    text += ", jitter)" if retry.jitter else ")"
    if retry.on is not None:
        kinds = [kind for kind in RETRY_KINDS if kind in retry.on]
        if retry.on_exit_codes:
            kinds.append("exit codes " + ", ".join(map(str, sorted(retry.on_exit_codes))))
        text += f" on {', '.join(kinds) or 'nothing'}"
    return text


def _resource(resource: ResourceLimit) -> str:
    parts = [
        f"concurrency {resource.concurrency}"
        if resource.concurrency is not None
        else "concurrency unlimited"
    ]
    if resource.adaptive:
        parts[0] += " (adaptive)"
    if resource.rate is not None:
        parts.append(
            f"rate {resource.rate}" + (f" + burst {resource.burst}" if resource.burst else "")
        )
    if resource.tokens is not None:
        parts.append(f"tokens {resource.tokens}")
    return " · ".join(parts)


def _merge(merge: MergePlan, plan: Plan) -> str:
    if merge.strategy is MergeStrategy.KEY:
        return f"key on {merge.key!r} (on conflict: {merge.on_conflict})"
    if merge.strategy is MergeStrategy.SYNTHESIS:
        return "synthesis: the synthesizer reads the results document on stdin"
    declared = tuple(branch.id for branch in plan.branches)
    order = "declared order" if merge.order == declared else "order " + ", ".join(merge.order)
    return f"concatenate in {order}, separator {json.dumps(merge.separator)}"


def _policy(policy: PolicyPlan, count: int) -> str:
    if policy.mode is PolicyMode.ALL_OR_NOTHING:
        text = (
            f"all_or_nothing: merge when all {count} branches succeed"
            if count != 1
            else "all_or_nothing: merge when the branch succeeds"
        )
        return text + (" · fail fast" if policy.fail_fast else "")
    return f"best_effort: merge when at least {policy.min_success} of {count} succeed"
