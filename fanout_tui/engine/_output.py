"""The output contract: what a branch's stdout (or a call's return value) must be.

:func:`parse_output` turns stdout into the result according to the format, then
:func:`check_schema` validates it against the contract's JSON Schema. Both raise
:class:`ContractError`, whose text is one short sentence for the failure reason.

Formats: ``text`` is the whole stdout, untouched; ``json`` one document; ``jsonl`` the
list of documents, one per non-empty line; ``lines`` the list of lines (split at ``\\n``,
a trailing ``\\r`` removed, no empty last line for a final line ending).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from fanout_tui.spec import OutputContract, OutputFormat

RESULT_CAP = 16 * 1024 * 1024
"""Most bytes of stdout (or of a call's JSON result) taken as a result."""
RESULT_CAP_WORDS = "16 MiB"
_DETAIL_CHARS = 160
"""Longest parser or schema message quoted in a reason."""


class ContractError(Exception):
    """The output breaks the contract; ``str()`` is the failure reason."""


def parse_output(stdout: str, contract: OutputContract) -> Any:
    """The result a branch's stdout stands for, checked against the whole contract.

    Raises:
        ContractError: unparseable output or a schema mismatch.
    """
    fmt = contract.format
    if fmt is OutputFormat.TEXT:
        result: Any = stdout
    elif fmt is OutputFormat.LINES:
        result = [line.removesuffix("\r") for line in stdout.split("\n")]
        if result[-1] == "":
            result.pop()
    elif fmt is OutputFormat.JSON:
        if not stdout.strip():
            raise ContractError("output is empty, but JSON was expected")
        result = _loads(stdout, "output is not JSON")
    else:
        result = [
            _loads(line, f"output line {number} is not JSON")
            for number, line in enumerate(stdout.split("\n"), start=1)
            if line.strip()
        ]
    check_schema(result, contract)
    return result


def check_schema(result: Any, contract: OutputContract) -> None:
    """Validate ``result`` against the contract's schema (for ``jsonl``: every item).

    Raises:
        ContractError: "output breaks the schema: …" (naming the item for jsonl).
    """
    if contract.schema is None:
        return
    validator = _validator(json.dumps(_plain(contract.schema), sort_keys=True))
    if contract.format is OutputFormat.JSONL:
        if not isinstance(result, list):
            raise ContractError("output breaks the schema: a list of documents was expected")
        for number, item in enumerate(result, start=1):
            _validate(validator, item, f"output item {number} breaks the schema")
    else:
        _validate(validator, result, "output breaks the schema")


@functools.lru_cache(maxsize=64)
def _validator(schema_text: str) -> Any:
    """The checked validator of a schema (as JSON text), made once: checking a schema
    costs about a millisecond, and a run's branches share a few."""
    import jsonschema  # about 90 ms to import: only branches with a schema pay for it

    schema = json.loads(schema_text)
    try:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
    except jsonschema.exceptions.SchemaError as error:
        raise ContractError(f"the output schema is invalid: {_short(error.message)}") from None
    return validator_class(schema)


def _validate(validator: Any, instance: Any, prefix: str) -> None:
    import jsonschema.exceptions

    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is None:
        return
    where = "/".join(str(part) for part in error.absolute_path)
    location = f" at {where}" if where else ""
    raise ContractError(f"{prefix}{location}: {_short(error.message)}")


def _loads(text: str, prefix: str) -> Any:
    def not_json(constant: str) -> Any:
        # Python's parser accepts these; JSON has no such values, and what we write
        # from them (the merged result, the report) would not be JSON either.
        raise ContractError(f"{prefix}: {constant} is not a JSON value")

    try:
        return json.loads(text, parse_constant=not_json)
    except json.JSONDecodeError as error:
        what = error.msg.lower().removesuffix(" at")  # "invalid control character at"
        detail = f"{what} at line {error.lineno}, column {error.colno}"
        raise ContractError(f"{prefix}: {detail}") from None
    except RecursionError:
        raise ContractError(f"{prefix}: it is nested too deeply") from None


def _plain(value: Any) -> Any:
    """The schema as plain dicts and lists (the plan may hold read-only mappings)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _short(text: str) -> str:
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"
