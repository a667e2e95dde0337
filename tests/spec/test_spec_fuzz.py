"""Generated documents: the loader answers every one with a plan or a SpecError, nothing else."""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fanout_tui.spec import Plan, SpecError, describe_plan, load_plan, load_plan_text

FUZZ = settings(
    # FANOUT_FUZZ_EXAMPLES=2000 hunts longer; the default keeps the suite fast.
    max_examples=int(os.environ.get("FANOUT_FUZZ_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

BASE: dict[str, Any] = {
    "version": 1,
    "name": "fuzz",
    "defaults": {"timeout": "30s", "retry": {"attempts": 2, "backoff": "1s"}, "env": {"A": "1"}},
    "concurrency": 4,
    "resources": {"api": {"concurrency": 2, "rate": "10/s"}},
    "secrets": ["TOKEN"],
    "branches": [
        {"id": "a", "run": "echo a", "uses": ["api"], "output": {"format": "json"}},
        {
            "id": "b-${{ matrix.n }}",
            "matrix": {"n": [1, 2]},
            "run": ["echo", "${{ matrix.n }}"],
            "output": {"format": "jsonl", "schema": {"type": "object"}},
        },
        {"id": "c", "call": "tasks:run", "with": {"x": 1}, "output": {"format": "json"}},
    ],
    "merge": {"strategy": "key", "key": "doc", "on_conflict": "collect"},
    "policy": {"mode": "best_effort", "min_success": "50%"},
    "output": "merged.json",
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "1",
            "30s",
            "1h30m",
            "5/min",
            "80%",
            "json",
            "key",
            "synthesis",
            "best_effort",
            "${{ matrix.n }}",
            "${{ env.HOME }}",
            "${{ nope }}",
            "${{",
            "m:f",
            "",
            "a b",
            "-1",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=10), children, max_size=4),
    ),
    max_leaves=12,
)


def _load(text: str, *, located: bool = False) -> Plan | None:
    """Load ``text``: a plan, or ``None`` after checking the SpecError (``located``: that
    every issue has a line and column)."""
    try:
        plan = load_plan_text(text)
    except SpecError as error:
        report = str(error)
        assert report
        assert all(issue.message for issue in error.issues)
        if located:
            assert all(issue.line and issue.column for issue in error.issues), report
        return None
    describe_plan(plan)
    return plan


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*path, index)))
    return found


@FUZZ
@given(values)
def test_random_yaml_values(value: Any) -> None:
    _load(yaml.safe_dump(value))


@FUZZ
@given(st.data())
def test_a_valid_spec_with_one_value_replaced(data: st.DataObject) -> None:
    document = copy.deepcopy(BASE)
    path = data.draw(st.sampled_from(_paths(document)[1:]))
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace":
        parent[path[-1]] = data.draw(values)
    elif action == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[data.draw(st.text(max_size=12))] = data.draw(values)
    else:
        parent.append(data.draw(values))
    _load(yaml.safe_dump(document), located=True)


@FUZZ
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    _load(text)


@FUZZ
@given(
    st.lists(
        st.sampled_from(
            [
                "version: 1\n",
                "name: x\n",
                "branches:\n",
                "  - id: a\n",
                "    run: x\n",
                ": ",
                "- ",
                "[",
                "]",
                "{",
                "}",
                "&a ",
                "*a ",
                "<<: ",
                "!!str ",
                "!!binary ",
                "!x ",
                "\n",
                "  ",
                "\t",
                "${{ matrix.n }}",
                '"',
                "'",
                "# c\n",
                "---\n",
                "...\n",
                "? ",
                "|\n",
                ">-\n",
                "matrix: {n: [1]}\n",
                "\\",
                "%YAML 1.1\n",
                "1e400",
                "0x1F",
                "2001-12-14",
                "~",
                "yes",
            ]
        ),
        max_size=40,
    )
)
def test_yaml_shaped_noise(parts: list[str]) -> None:
    _load("".join(parts))


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_in_a_file(fuzz_dir: Path, data: bytes) -> None:
    path = fuzz_dir / "spec.yaml"
    path.write_bytes(data)
    try:
        load_plan(path)
    except SpecError as error:
        assert str(error).startswith(str(path))


def test_the_base_document_is_valid() -> None:
    plan = _load(yaml.safe_dump(BASE))
    assert plan is not None
    assert len(plan.branches) == 4
    assert plan.policy.min_success == math.ceil(4 * 0.5)
