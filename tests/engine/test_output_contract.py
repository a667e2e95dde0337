"""The output contract: each format, JSON Schema validation, and short failure reasons."""

from __future__ import annotations

from typing import Any

import pytest

from fanout_tui.engine._output import ContractError, check_schema, parse_output
from fanout_tui.spec._plan import OutputContract, OutputFormat

DOC_SCHEMA = {"type": "object", "required": ["doc"], "properties": {"doc": {"type": "string"}}}


def _contract(fmt: OutputFormat, schema: dict[str, Any] | None = None) -> OutputContract:
    return OutputContract(format=fmt, schema=schema)


def test_text_is_the_whole_stdout_untouched() -> None:
    assert parse_output("a\r\nb\n", _contract(OutputFormat.TEXT)) == "a\r\nb\n"


def test_lines_are_split_at_newlines_without_an_empty_last_line() -> None:
    assert parse_output("a\r\n\nb\n", _contract(OutputFormat.LINES)) == ["a", "", "b"]
    assert parse_output("", _contract(OutputFormat.LINES)) == []


def test_json_parses_one_document() -> None:
    assert parse_output('{"doc": "x"}\n', _contract(OutputFormat.JSON, DOC_SCHEMA)) == {"doc": "x"}


def test_jsonl_parses_each_non_empty_line() -> None:
    result = parse_output('{"doc": "a"}\n\n{"doc": "b"}\n', _contract(OutputFormat.JSONL))
    assert result == [{"doc": "a"}, {"doc": "b"}]


@pytest.mark.parametrize(
    ("stdout", "fmt", "reason"),
    [
        ("", OutputFormat.JSON, "output is empty, but JSON was expected"),
        ("not json", OutputFormat.JSON, "output is not JSON: expecting value at line 1, column 1"),
        (
            '{"a": 1',
            OutputFormat.JSON,
            "output is not JSON: expecting ',' delimiter at line 1, column 8",
        ),
        (
            '{"doc": "a"}\n{oops\n',
            OutputFormat.JSONL,
            "output line 2 is not JSON: expecting property name enclosed in double quotes"
            " at line 1, column 2",
        ),
        ('{"a": NaN}', OutputFormat.JSON, "output is not JSON: NaN is not a JSON value"),
        (
            "[1]\n[-Infinity]\n",
            OutputFormat.JSONL,
            "output line 2 is not JSON: -Infinity is not a JSON value",
        ),
        (
            '"a\tb"',
            OutputFormat.JSON,
            "output is not JSON: invalid control character at line 1, column 3",
        ),
    ],
)
def test_unparseable_output_gives_a_short_reason(
    stdout: str, fmt: OutputFormat, reason: str
) -> None:
    with pytest.raises(ContractError) as caught:
        parse_output(stdout, _contract(fmt))
    assert str(caught.value) == reason


def test_a_schema_mismatch_names_the_problem() -> None:
    with pytest.raises(ContractError) as caught:
        parse_output('{"summary": "x"}', _contract(OutputFormat.JSON, DOC_SCHEMA))
    assert str(caught.value) == "output breaks the schema: 'doc' is a required property"


def test_a_nested_mismatch_says_where() -> None:
    with pytest.raises(ContractError) as caught:
        parse_output('{"doc": 3}', _contract(OutputFormat.JSON, DOC_SCHEMA))
    assert str(caught.value) == "output breaks the schema at doc: 3 is not of type 'string'"


def test_jsonl_items_are_validated_one_by_one() -> None:
    with pytest.raises(ContractError) as caught:
        parse_output('{"doc": "a"}\n{"x": 1}\n', _contract(OutputFormat.JSONL, DOC_SCHEMA))
    assert str(caught.value) == "output item 2 breaks the schema: 'doc' is a required property"


def test_long_messages_are_shortened() -> None:
    big = {"items": ["x" * 50] * 20}
    with pytest.raises(ContractError) as caught:
        check_schema(big, _contract(OutputFormat.JSON, {"type": "array"}))
    assert len(str(caught.value)) < 200
    assert str(caught.value).endswith("…")


def test_an_invalid_schema_is_reported_as_such() -> None:
    with pytest.raises(ContractError) as caught:
        check_schema({}, _contract(OutputFormat.JSON, {"type": "no-such-type"}))
    assert str(caught.value).startswith("the output schema is invalid: ")


def test_call_results_are_checked_against_the_schema_too() -> None:
    check_schema([{"doc": "a"}], _contract(OutputFormat.JSONL, DOC_SCHEMA))
    with pytest.raises(ContractError, match="a list of documents was expected"):
        check_schema({"doc": "a"}, _contract(OutputFormat.JSONL, DOC_SCHEMA))
