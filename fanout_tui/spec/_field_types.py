"""The types of the spec's fields, with the validators that read and check them.

Durations, rates, environment names and values, commands, matrix values, ``min_success``
and the version: each is an ``Annotated`` type that :mod:`fanout_tui.spec._models` uses,
with its own JSON Schema for editors and error messages said as a spec author reads them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from fanout_tui.spec._errors import did_you_mean, shown_value
from fanout_tui.spec._plan import RETRY_KINDS, Rate
from fanout_tui.spec._units import (
    DURATION_PATTERN,
    MAX_DURATION_S,
    RATE_PATTERN,
    SHARE_PATTERN,
    ZERO_DURATION_PATTERN,
    parse_duration,
    parse_percent,
    parse_rate,
)

ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
MATRIX_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"
ID_TEMPLATE_PATTERN = r"^([A-Za-z0-9_.-]|\$\{\{[^}]*\}\})+$"
"""An id, possibly with ``${{ matrix.NAME }}`` in it (checked again once expanded)."""
CALL_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"

_DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": DURATION_PATTERN},
        {"type": "number", "minimum": 0, "maximum": int(MAX_DURATION_S)},
    ]
}
_TIMEOUT_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "string",
            "allOf": [
                {"pattern": DURATION_PATTERN},
                {"not": {"pattern": ZERO_DURATION_PATTERN}},
            ],
        },
        {"type": "number", "exclusiveMinimum": 0, "maximum": int(MAX_DURATION_S)},
    ]
}


SIZE_PATTERN = r"^\s*[0-9]+\s*([KMG]i?B?|B)?\s*$"
_SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
_SIZE_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string", "pattern": SIZE_PATTERN}, {"type": "integer", "minimum": 1}]
}


def _size(value: object) -> int:
    """Bytes from ``1048576``, ``64MiB``, ``64M``, ``1GiB`` (units of 1024), at least 1."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, str) and re.match(SIZE_PATTERN, value):
        digits = re.match(r"\s*[0-9]+", value)
        assert digits is not None
        unit = value[digits.end() :].strip()[:1].upper()
        size = int(digits.group()) * _SIZE_UNITS[unit]
        if size >= 1:
            return size
    shown = shown_value(value)
    raise _fail("size", f"a size is bytes like 1048576 or 64MiB (at least 1), not {shown}")


def _fail(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _duration(value: object) -> float:
    try:
        return parse_duration(value)
    except ValueError as error:
        raise _fail("duration", str(error)) from None


def _positive(seconds: float) -> float:
    if seconds <= 0:
        raise _fail("duration", "must be longer than 0")
    return seconds


def _rate(value: object) -> Rate:
    try:
        return parse_rate(value)
    except ValueError as error:
        raise _fail("rate", str(error)) from None


def _env_value(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _fail(
            "env_value",
            f"an environment value must be text or a number, not {shown_value(value)}"
            + ("; write it in quotes" if isinstance(value, bool) else ""),
        )
    return value if isinstance(value, str) else str(value)


def _matching(pattern: str, what: str, rule: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise PydanticCustomError(
                "name",
                "{shown} is not a valid {what}: use {rule}",
                {"shown": repr(value), "what": what, "rule": rule},
            )
        return value

    return AfterValidator(check)


def _command(value: object) -> object:
    if isinstance(value, str):
        if not value.strip():
            raise _fail("command", "the command is empty")
        return value
    if isinstance(value, list) and value:
        for position, item in enumerate(value):
            if not isinstance(item, str):
                raise _fail(
                    "command",
                    f"item {position} of the command, {shown_value(item)}, must be text; "
                    "write it in quotes",
                )
        if not value[0].strip():
            raise _fail("command", "the program (first item) is empty")
        return value
    raise _fail(
        "command",
        "must be a shell command (text) or a list of strings: the program and its arguments",
    )


def _json_schema(value: object) -> object:
    if isinstance(value, dict | bool):
        return value
    raise _fail("schema", "a JSON Schema is a mapping (or true / false)")


def _matrix_value(value: object) -> object:
    if isinstance(value, str | int | float):
        return value
    raise _fail(
        "matrix_value",
        f"a matrix value must be text, a number or true/false, not {shown_value(value)}",
    )


def _min_success(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise _fail("min_success", "min_success must be at least 1")
        return value
    if isinstance(value, str):
        percent = parse_percent(value)
        if percent is not None and 0 < percent <= 100:
            return value.strip()
    raise _fail(
        "min_success",
        f'min_success is a count like 4 or a percentage like "80%" (above 0%, at most '
        f"100%), not {shown_value(value)}",
    )


def _version(value: object) -> int:
    if value == 1 and not isinstance(value, bool):
        return 1
    if isinstance(value, str) and value.strip() == "1":
        message = f"the version is the number 1, not the text {value!r}; write version: 1"
    elif isinstance(value, int | float) and not isinstance(value, bool):
        message = f"unsupported version {shown_value(value)}; this fanout-tui reads version 1"
    else:
        message = f"the version is the number 1, not {shown_value(value)}"
    raise _fail("version", message)


Duration = Annotated[float, BeforeValidator(_duration), WithJsonSchema(_DURATION_SCHEMA)]
Size = Annotated[int, BeforeValidator(_size), WithJsonSchema(_SIZE_SCHEMA)]
Timeout = Annotated[
    float, BeforeValidator(_duration), AfterValidator(_positive), WithJsonSchema(_TIMEOUT_SCHEMA)
]
RateText = Annotated[
    Rate, PlainValidator(_rate), WithJsonSchema({"type": "string", "pattern": RATE_PATTERN})
]
EnvName = Annotated[
    str,
    _matching(
        ENV_NAME_PATTERN, "variable name", "letters, digits and '_', starting with a letter or '_'"
    ),
    WithJsonSchema({"type": "string", "pattern": ENV_NAME_PATTERN}),
]
EnvValue = Annotated[
    str, BeforeValidator(_env_value), WithJsonSchema({"type": ["string", "number"]})
]
Env = Annotated[
    dict[EnvName, EnvValue],
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"pattern": ENV_NAME_PATTERN},
            "additionalProperties": {"type": ["string", "number"]},
        }
    ),
]
Command = Annotated[
    str | list[str],
    BeforeValidator(_command),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "items": {"type": "string"}, "minItems": 1},
            ]
        }
    ),
]
JsonSchemaValue = Annotated[
    dict[str, Any] | bool,
    BeforeValidator(_json_schema),
    WithJsonSchema({"type": ["object", "boolean"]}),
]
MatrixValue = Annotated[
    str | int | float | bool,
    BeforeValidator(_matrix_value),
    WithJsonSchema({"type": ["string", "number", "boolean"]}),
]
MatrixName = Annotated[
    str,
    _matching(
        MATRIX_NAME_PATTERN,
        "matrix name",
        "letters, digits, '_' and '-', starting with a letter or '_'",
    ),
]
MatrixSpec = Annotated[
    dict[MatrixName, list[MatrixValue]],
    # An empty list is reported by expansion, at the list, with the matrix's name.
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"pattern": MATRIX_NAME_PATTERN},
            "additionalProperties": {
                "type": "array",
                "items": {"type": ["string", "number", "boolean"]},
                "minItems": 1,
            },
        }
    ),
]
MinSuccess = Annotated[
    int | str,
    BeforeValidator(_min_success),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1},
                {"type": "string", "pattern": SHARE_PATTERN},
            ]
        }
    ),
]
Version = Annotated[int, BeforeValidator(_version), WithJsonSchema({"const": 1})]
ExitCode = Annotated[int, Field(ge=0, le=255)]


def _retry_on(value: object) -> str | tuple[int, ...]:
    """One entry of ``retry.on``: a failure kind, or ``{exit_codes: [...]}`` as a tuple."""
    if isinstance(value, str):
        if value in RETRY_KINDS:
            return value
        hint = did_you_mean(value, RETRY_KINDS)
        raise _fail(
            "retry_on",
            f"{shown_value(value)} is not a failure kind; use one of {', '.join(RETRY_KINDS)}"
            + (f" or {{exit_codes: [...]}} ({hint})" if hint else " or {exit_codes: [...]}"),
        )
    if isinstance(value, dict) and list(value) == ["exit_codes"]:
        codes = value["exit_codes"]
        if (
            isinstance(codes, list)
            and codes
            and all(type(code) is int and 0 <= code <= 255 for code in codes)
        ):
            return tuple(codes)
        raise _fail("retry_on", "exit_codes takes a list of exit codes from 0 to 255, e.g. [75]")
    raise _fail(
        "retry_on",
        f"{shown_value(value)} is not a failure kind; use one of {', '.join(RETRY_KINDS)} "
        "or {exit_codes: [...]}",
    )


RetryOn = Annotated[
    str | tuple[int, ...],
    PlainValidator(_retry_on),
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": list(RETRY_KINDS)},
                {
                    "type": "object",
                    "properties": {
                        "exit_codes": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "integer", "minimum": 0, "maximum": 255},
                        }
                    },
                    "required": ["exit_codes"],
                    "additionalProperties": False,
                },
            ]
        }
    ),
]
