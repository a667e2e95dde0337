"""The JSON Schema editors use: generated from the models, committed, complete, truthful."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from fanout_tui.spec import load_plan, spec_json_schema

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


def test_durations_and_rates_are_typed_with_patterns() -> None:
    defs = spec_json_schema()["$defs"]
    timeout = defs["BranchSpec"]["properties"]["timeout"]
    kinds = {option.get("type") for option in timeout["anyOf"]}
    assert kinds == {"string", "number", "null"}
    rate = defs["ResourceSpec"]["properties"]["rate"]
    assert any("pattern" in option for option in rate["anyOf"])
