"""describe_plan: the expanded plan as ``fanout-tui check`` prints it, secrets masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from fanout_tui.spec import describe_plan, load_plan_text


def test_secret_values_are_masked_wherever_they_could_appear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("API_KEY", "sk-live-123456")
    monkeypatch.setenv("DB_PASSWORD", "hunter2hunter2")
    plan = load_plan_text(
        """\
version: 1
name: masked
secrets: [API_KEY, DB_PASSWORD]
defaults:
  env: {API_KEY: "${{ env.API_KEY }}", HINT: "key=${{ env.API_KEY }}"}
branches:
  - id: a
    title: "uses ${{ env.DB_PASSWORD }}"
    run: [curl, -H, "Authorization: ${{ env.API_KEY }}"]
    cwd: "/tmp/${{ env.DB_PASSWORD }}"
  - id: b
    call: tasks:work
    with: {key: "${{ env.API_KEY }}", nested: ["${{ env.DB_PASSWORD }}"]}
merge:
  strategy: synthesis
  synthesizer: {run: "merge --password ${{ env.DB_PASSWORD }}", env: {DB_PASSWORD: x}}
"""
    )
    assert plan.branch("a").run == ("curl", "-H", "Authorization: sk-live-123456")
    text = describe_plan(plan)
    assert "sk-live-123456" not in text
    assert "hunter2hunter2" not in text
    assert "API_KEY=*** HINT='key=***'" in text
    assert "uses ***" in text
    assert "Authorization: ***" in text
    assert "/tmp/***" in text
    assert 'call     tasks:work(key="***", nested=["***"])' in text
    assert "merge --password ***" in text
    assert "DB_PASSWORD=***" in text


def test_describes_limits_merge_and_policy() -> None:
    plan = load_plan_text(
        """\
version: 1
name: described
resources:
  api: {rate: 100/h}
  db: {concurrency: 3}
branches:
  - {id: a, run: "echo 'x y'", timeout: 500ms, kill_grace: 2s, success: {exit_codes: [0, 1]}}
  - {id: b, run: [printf, "a b"], retry: {attempts: 3, jitter: false}, uses: [api, db]}
merge: {order: [b]}
policy: {fail_fast: true}
""",
        path=Path("/specs/described.yaml"),
    )
    text = describe_plan(plan)
    assert "spec         /specs/described.yaml" in text
    assert "branches     2 (no global cap on running branches)" in text
    assert "run      echo 'x y'   (by /bin/sh -c)" in text
    assert "run      printf 'a b'" in text
    assert "limits   timeout 500ms · no retry · kill grace 2s" in text
    assert "3 attempts (backoff 1s up to 30s)" in text
    assert "uses     api, db" in text
    assert "success on exit code 0, 1" in text
    assert "api  concurrency unlimited · rate 100/h" in text
    assert "db   concurrency 3" in text
    assert "merge        concatenate in order b, a" in text
    assert "policy       all_or_nothing: merge when all 2 branches succeed · fail fast" in text


def test_a_single_branch_is_spoken_of_in_the_singular() -> None:
    plan = load_plan_text("version: 1\nname: one\nbranches: [{id: a, run: x}]\n")
    text = describe_plan(plan)
    assert "policy       all_or_nothing: merge when the branch succeeds" in text
    assert "all 1 branches" not in text


def test_describes_key_merges() -> None:
    plan = load_plan_text(
        "version: 1\nname: k\nbranches: [{id: a, run: x, output: {format: jsonl}}]\n"
        "merge: {strategy: key, key: doc, on_conflict: last}\n"
    )
    text = describe_plan(plan)
    assert "merge        key on 'doc' (on conflict: last)" in text
    assert "output   jsonl" in text
