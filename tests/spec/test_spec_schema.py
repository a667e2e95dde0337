"""The JSON Schema editors use: generated from the models, committed, complete, truthful."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from fanout_tui.spec import SpecError, load_plan, load_plan_text, spec_json_schema
from fanout_tui.spec._units import (
    DURATION_PATTERN,
    SHARE_PATTERN,
    ZERO_DURATION_PATTERN,
    parse_duration,
    parse_percent,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "sample_specs" / "fanout-tui.schema.json"
SAMPLES = sorted((ROOT / "sample_specs").glob("*.yaml"))


def test_the_committed_schema_file_is_up_to_date() -> None:
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == spec_json_schema(), (
        "sample_specs/fanout-tui.schema.json is out of date; regenerate it with "
        "`fanout-tui schema > sample_specs/fanout-tui.schema.json`"
    )


def test_schema_is_a_valid_2020_12_schema_with_a_title() -> None:
    schema = spec_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "fanout-tui spec"
    jsonschema.Draft202012Validator.check_schema(schema)


def _properties(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from schema.get("properties", {}).items()
    for name, definition in schema.get("$defs", {}).items():
        for field, subschema in definition.get("properties", {}).items():
            yield f"{name}.{field}", subschema


def test_every_field_is_described() -> None:
    schema = spec_json_schema()
    undescribed = [name for name, sub in _properties(schema) if not sub.get("description")]
    assert not undescribed
    for name, definition in schema["$defs"].items():
        assert definition.get("description"), name
        assert definition.get("additionalProperties") is False, name


def test_the_schema_accepts_every_sample_spec() -> None:
    assert SAMPLES, "no sample specs found"
    validator = jsonschema.Draft202012Validator(spec_json_schema())
    for sample in SAMPLES:
        document = yaml.safe_load(sample.read_text(encoding="utf-8"))
        errors = [error.message for error in validator.iter_errors(document)]
        assert not errors, f"{sample.name}: {errors}"


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.name for sample in SAMPLES])
def test_every_sample_spec_loads_and_names_the_schema(sample: Path) -> None:
    plan = load_plan(sample)
    assert plan.branches
    first_line = sample.read_text(encoding="utf-8").splitlines()[0]
    assert first_line.startswith("# yaml-language-server: $schema=")


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        (
            {"version": 1, "name": "x", "branches": [{"id": "a", "run": "x", "retri": {}}]},
            "Additional properties",
        ),
        ({"version": 2, "name": "x", "branches": [{"id": "a", "run": "x"}]}, "1 was expected"),
        (
            {"version": 1, "name": "x", "branches": [{"id": "a", "run": "x", "timeout": "2 min"}]},
            "is not valid",
        ),
        (
            {
                "version": 1,
                "name": "x",
                "resources": {"r": {"rate": "3/day"}},
                "branches": [{"id": "a", "run": "x"}],
            },
            "is not valid",
        ),
        ({"version": 1, "name": "x", "branches": []}, "should be non-empty"),
        (
            {"version": 1, "name": "x", "branches": [{"id": "a", "run": "x", "env": {"A-B": 1}}]},
            "is not valid under any of the given schemas",
        ),
    ],
)
def test_the_schema_rejects_what_the_loader_rejects(
    document: dict[str, Any], fragment: str
) -> None:
    errors = list(jsonschema.Draft202012Validator(spec_json_schema()).iter_errors(document))
    assert errors
    assert any(fragment in error.message for error in errors), [e.message for e in errors]


def _spec(branch: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "name": "x",
        "branches": [branch if branch is not None else {"id": "a", "run": "x"}],
        **fields,
    }


REJECTED_BY_BOTH = {
    "min_success above 100%": _spec(policy={"mode": "best_effort", "min_success": "120%"}),
    "min_success of 0%": _spec(policy={"mode": "best_effort", "min_success": "0%"}),
    "min_success of 100.5%": _spec(policy={"mode": "best_effort", "min_success": "100.5%"}),
    "an empty matrix list": _spec({"id": "a${{ matrix.n }}", "run": "x", "matrix": {"n": []}}),
    "a bad matrix name": _spec({"id": "a", "run": "x", "matrix": {"9n": [1]}}),
    "timeout 0": _spec({"id": "a", "run": "x", "timeout": 0}),
    "timeout '0s'": _spec({"id": "a", "run": "x", "timeout": "0s"}),
    "timeout '0m0.0s'": _spec(defaults={"timeout": "0m0.0s"}),
    "a synthesizer timeout of 0ms": _spec(
        merge={"strategy": "synthesis", "synthesizer": {"run": "x", "timeout": "0ms"}}
    ),
    "a duration over a year": _spec({"id": "a", "run": "x", "kill_grace": 10**9}),
    "neither run nor call": _spec({"id": "a"}),
    "both run and call": _spec({"id": "a", "run": "x", "call": "m:f"}),
    "with without call": _spec({"id": "a", "run": "x", "with": {"n": 1}}),
}
ACCEPTED_BY_BOTH = {
    "min_success 100%": _spec(policy={"mode": "best_effort", "min_success": "100%"}),
    "min_success 0.5%": _spec(policy={"mode": "best_effort", "min_success": "0.5%"}),
    "min_success 99.9%": _spec(policy={"mode": "best_effort", "min_success": " 99.9 %"}),
    "timeout 1ms": _spec({"id": "a", "run": "x", "timeout": "1ms"}),
    "timeout 0m30s": _spec({"id": "a", "run": "x", "timeout": "0m30s"}),
    "timeout 0.5": _spec({"id": "a", "run": "x", "timeout": 0.5}),
    "kill_grace 0": _spec({"id": "a", "run": "x", "kill_grace": 0}),
    "a call with arguments": _spec({"id": "a", "call": "m:f", "with": {"n": 1}}),
    "x- fields at the top": _spec(**{"x-common": {"anything": [1]}, "x-note": "hi"}),
    "a matrix": _spec({"id": "a${{ matrix.n }}", "run": "x", "matrix": {"n": [1, "b", True]}}),
}


@pytest.mark.parametrize("name", REJECTED_BY_BOTH)
def test_the_schema_flags_what_check_rejects(name: str) -> None:
    document = REJECTED_BY_BOTH[name]
    validator = jsonschema.Draft202012Validator(spec_json_schema())
    assert list(validator.iter_errors(document)), f"the schema accepts {name}"
    with pytest.raises(SpecError):
        load_plan_text(yaml.safe_dump(document))


@pytest.mark.parametrize("name", ACCEPTED_BY_BOTH)
def test_the_schema_accepts_what_check_accepts(name: str) -> None:
    document = ACCEPTED_BY_BOTH[name]
    validator = jsonschema.Draft202012Validator(spec_json_schema())
    assert not [error.message for error in validator.iter_errors(document)]
    assert load_plan_text(yaml.safe_dump(document)).branches


def test_the_percentage_pattern_agrees_with_min_success() -> None:
    pattern = re.compile(SHARE_PATTERN)
    written = [f"{whole}{fraction}%" for whole in range(0, 202) for fraction in ("", ".0", ".5")]
    written += ["0.001%", "00.5%", "007%", "0100%", "100.00%", "100.01%", ".5%", "5.%"]
    for text in written:
        percent = parse_percent(text)
        accepted = percent is not None and 0 < percent <= 100
        assert (pattern.search(text) is not None) == accepted, text


def test_durations_and_rates_are_typed_with_patterns() -> None:
    defs = spec_json_schema()["$defs"]
    timeout = defs["BranchSpec"]["properties"]["timeout"]
    kinds = {option.get("type") for option in timeout["anyOf"]}
    assert kinds == {"string", "number", "null"}
    rate = defs["ResourceSpec"]["properties"]["rate"]
    assert any("pattern" in option for option in rate["anyOf"])


def test_the_zero_duration_pattern_agrees_with_the_parser() -> None:
    zero = re.compile(ZERO_DURATION_PATTERN)
    durations = [
        text
        for length in range(1, 6)
        for letters in itertools.product("01.smh ", repeat=length)
        if re.fullmatch(DURATION_PATTERN, text := "".join(letters))
    ]
    assert len(durations) > 1000
    for text in durations:
        assert (zero.search(text) is not None) == (parse_duration(text) == 0), repr(text)


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


_MATCH_LONG_TEXTS = """
import json, re, sys
patterns = json.load(sys.stdin)
pieces = ["0", "1", "5", " ", "0.", ".0", "0s", "0 ", "1s ", "0ms", "a", "a.", "${{"]
texts = [
    start + piece * 50_000 + end
    for piece in pieces
    for start in ("", "0.", "1.")
    for end in ("x", "%x", "/x")
]
for pattern in patterns:
    for text in texts:
        re.search(pattern, text)
"""


def test_every_pattern_in_the_schema_reads_a_long_text_quickly() -> None:
    """An editor matches the patterns on every keystroke: a long, nearly matching text
    must not make it hang. Each text takes milliseconds when a pattern reads it in one
    way only, and from seconds to years when it can read it in many."""
    patterns = sorted(set(_patterns(spec_json_schema())))
    assert ZERO_DURATION_PATTERN in patterns and SHARE_PATTERN in patterns
    try:
        subprocess.run(
            [sys.executable, "-c", _MATCH_LONG_TEXTS],
            input=json.dumps(patterns),
            text=True,
            check=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("a pattern in the schema takes too long on a long text")
