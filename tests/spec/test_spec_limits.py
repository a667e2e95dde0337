"""The spec's fields for shared resources against a real API: rates, bursts, token budgets,
adaptive concurrency, costs, ``retry.on`` and the run's budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from fanout_tui.spec import Plan, SpecError, describe_plan, load_plan_text
from fanout_tui.spec._plan import Budget, Rate, ResourceLimit

SPEC = """\
version: 1
name: limits
resources:
  api: {concurrency: 4, rate: 10/5s, burst: 2, tokens: 40000/min, adaptive: true}
budget: {tokens: 200000, cost_usd: 2.5}
defaults:
  retry: {attempts: 5, on: [rate_limited, timed_out, {exit_codes: [75]}]}
  cost: {tokens: 1500}
branches:
  - {id: a, run: "true", uses: [api]}
  - {id: b, run: "true", uses: [api], cost: {tokens: 10}, retry: {on: []}}
"""


def load(text: str) -> Plan:
    return load_plan_text(text, path=Path("limits.yaml"))


def test_every_new_field_reaches_the_plan() -> None:
    plan = load(SPEC)
    assert plan.resources["api"] == ResourceLimit(
        "api", concurrency=4, rate=Rate(10, 5), burst=2, tokens=Rate(40000, 60), adaptive=True
    )
    assert plan.budget == Budget(tokens=200000, cost_usd=2.5)
    a, b = plan.branches
    assert (a.cost_tokens, b.cost_tokens) == (1500, 10)
    assert a.retry.on == frozenset({"rate_limited", "timed_out"})
    assert a.retry.on_exit_codes == frozenset({75})
    assert a.retry.retries("rate_limited", None) and a.retry.retries("failed", 75)
    assert not a.retry.retries("failed", 1) and not a.retry.retries("contract", 0)
    assert b.retry.on == frozenset() and not b.retry.retries("failed", 75)


def test_without_retry_on_every_failure_retries() -> None:
    plan = load(SPEC.replace("on: [rate_limited, timed_out, {exit_codes: [75]}]", "backoff: 1s"))
    assert plan.branches[0].retry.on is None
    assert plan.branches[0].retry.retries("contract", None)


def test_check_shows_the_limits_costs_and_budget() -> None:
    text = describe_plan(load(SPEC))
    assert "api  concurrency 4 (adaptive) · rate 10/5s + burst 2 · tokens 40000/min" in text
    assert "on timed_out, rate_limited, exit codes 75" in text
    assert "uses     api · costs 1500 tokens an attempt" in text
    assert "budget       200000 tokens · $2.5 (no new attempt past it)" in text


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        (
            "on: [rate_limited,",
            "on: [rate_limit,",
            "limits.yaml:7:29: defaults.retry.on[0]",
            "'rate_limit' is not a failure kind; use one of failed, timed_out, rate_limited, "
            "contract or {exit_codes: [...]} (did you mean 'rate_limited'?)",
        ),
        (
            "{exit_codes: [75]}",
            "{exit_codes: [300]}",
            "defaults.retry.on[2]",
            "exit_codes takes a list of exit codes from 0 to 255",
        ),
        (
            "burst: 2",
            "burst: -1",
            "resources.api.burst",
            "must be at least 0, not -1",
        ),
        (
            "concurrency: 4, ",
            "",
            "resources.api.adaptive",
            "adaptive needs a concurrency to adapt",
        ),
        (
            "cost: {tokens: 10}",
            "cost: {tokens: 50000}",
            "limits.yaml:11:54: branches[1].cost.tokens",
            "an attempt costs 50000 tokens, more than resource 'api' allows (40000/min tokens): "
            "it could never start",
        ),
        (
            "budget: {tokens: 200000, cost_usd: 2.5}",
            "budget: {}",
            "budget",
            "a budget needs 'tokens', 'cost_usd' or both",
        ),
        ("rate: 10/5s", "rate: 10/0s", "resources.api.rate", "its period must be longer than 0"),
    ],
)
def test_wrong_limits_say_where_and_what(old: str, new: str, where: str, message: str) -> None:
    assert old in SPEC
    with pytest.raises(SpecError) as caught:
        load(SPEC.replace(old, new))
    text = str(caught.value)
    assert where in text and message in text, text
