"""The spec file's fields as pydantic models: what may be written, typed and described.

These models check the *shape* of a spec (field names, types, ranges). Meaning across
fields (ids unique after matrix expansion, ``uses`` naming a resource, …) is checked when
the spec is expanded into a plan (:mod:`fanout_tui.spec._expand`). Every field carries a
description, which the JSON Schema hands to editors. ``None`` on a branch field means "not
given": the branch inherits it from ``defaults``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from fanout_tui.spec._errors import shown_value
from fanout_tui.spec._plan import Rate
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


class SpecPart(BaseModel):
    """Base of the spec's models: strict types, unknown fields refused, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RetrySpec(SpecPart):
    """Automatic retries after a failed attempt (never after a cancel)."""

    attempts: int | None = Field(
        default=None,
        ge=1,
        description="Attempts in all, the first one included (default 1: no retry).",
    )
    backoff: Duration | None = Field(
        default=None, description="Wait before the first retry, doubled after each (default 1s)."
    )
    max_backoff: Duration | None = Field(
        default=None, description="Longest wait between attempts (default 30s)."
    )
    jitter: bool | None = Field(
        default=None,
        description="Randomise each wait a little so retries spread out (default true).",
    )


class OutputSpec(SpecPart):
    """How a branch's stdout becomes its result (stderr is log only)."""

    format: Literal["text", "json", "jsonl", "lines"] | None = Field(
        default=None,
        description="text: stdout as one string (default); json: one JSON document; "
        "jsonl: one JSON document per line; lines: the list of lines.",
    )
    schema_: JsonSchemaValue | None = Field(
        default=None,
        alias="schema",
        description="A JSON Schema the parsed result must satisfy (json; for jsonl each item).",
    )


class SuccessSpec(SpecPart):
    """When an attempt counts as successful."""

    exit_codes: list[ExitCode] = Field(
        min_length=1, description="Exit codes that mean success (default [0])."
    )


class ResourceSpec(SpecPart):
    """A shared resource (an API, a database, a quota) and its limits."""

    concurrency: int | None = Field(
        default=None, ge=1, description="Most branches using it at once (default: unlimited)."
    )
    rate: RateText | None = Field(
        default=None,
        description="Most branch starts per second, minute or hour: 5/s, 30/min, 100/h.",
    )


class BranchSettingsSpec(SpecPart):
    """Branch fields that ``defaults`` can also set."""

    timeout: Timeout | None = Field(
        default=None,
        description="Longest time an attempt may run: 500ms, 30s, 2m, 1h30m (default: none).",
    )
    kill_grace: Duration | None = Field(
        default=None,
        description="Time between SIGTERM and SIGKILL when the branch is ended (default 5s).",
    )
    retry: RetrySpec | None = Field(
        default=None, description="Automatic retries; each field inherits from defaults on its own."
    )
    env: Env | None = Field(
        default=None,
        description="Environment variables set on top of the inherited environment; "
        "defaults' variables first, then the branch's.",
    )
    cwd: str | None = Field(
        default=None,
        description="Working folder; a relative one resolves against the spec's folder.",
    )
    uses: list[str] | None = Field(
        default=None, description="Names of the declared resources this branch uses."
    )
    output: OutputSpec | None = Field(
        default=None,
        description="The output contract; each field inherits from defaults on its own.",
    )
    success: SuccessSpec | None = Field(
        default=None, description="When an attempt counts as success."
    )


class DefaultsSpec(BranchSettingsSpec):
    """Settings every branch inherits; each branch may override any of them."""


class BranchSpec(BranchSettingsSpec):
    """One independent subtask: a command (``run``) or a Python callable (``call``)."""

    model_config = ConfigDict(
        json_schema_extra={
            # What expansion checks, said to editors too: exactly one of run and call,
            # and with only beside call.
            "oneOf": [{"required": ["run"]}, {"required": ["call"]}],
            "dependentRequired": {"with": ["call"]},
        }
    )

    id: Annotated[str, WithJsonSchema({"type": "string", "pattern": ID_TEMPLATE_PATTERN})] = Field(
        description="Unique id of letters, digits, '_', '.' and '-'; may use ${{ matrix.NAME }}."
    )
    title: str | None = Field(default=None, description="Display name (default: the id).")
    run: Command | None = Field(
        default=None,
        description="Text: a shell command run by /bin/sh -c. List: a program and its "
        "arguments, run directly.",
    )
    call: Annotated[str, WithJsonSchema({"type": "string", "pattern": CALL_PATTERN})] | None = (
        Field(default=None, description="A Python callable as module:function, sync or async.")
    )
    with_: dict[str, Any] | None = Field(
        default=None, alias="with", description="Keyword arguments for the call."
    )
    matrix: MatrixSpec | None = Field(
        default=None,
        description="One branch per combination of these values (cartesian product, in the "
        "order written); use them as ${{ matrix.NAME }}.",
    )


class SynthesizerSpec(SpecPart):
    """The command that merges: gets the results document as JSON on stdin, prints the result."""

    run: Command = Field(description="The synthesizer's command (text for sh -c, or a list).")
    cwd: str | None = Field(default=None, description="Working folder (default: defaults' cwd).")
    env: Env | None = Field(default=None, description="Environment on top of defaults' env.")
    timeout: Timeout | None = Field(default=None, description="Longest time an attempt may run.")
    kill_grace: Duration | None = Field(
        default=None, description="Time between SIGTERM and SIGKILL (default: defaults' or 5s)."
    )
    retry: RetrySpec | None = Field(
        default=None, description="Automatic retries of the synthesizer."
    )


class MergeSpec(SpecPart):
    """How the branches' results become one merged result."""

    strategy: Literal["concatenate", "key", "synthesis"] = Field(
        default="concatenate",
        description="concatenate: results in order; key: one JSON object by a key field; "
        "synthesis: a command merges.",
    )
    order: list[str] | None = Field(
        default=None,
        description="concatenate: branch ids in merge order; branches not named follow in "
        "declared order (default: declared order).",
    )
    separator: str | None = Field(
        default=None, description="concatenate: text between text results (default a newline)."
    )
    key: str | None = Field(
        default=None, description="key: the field of each JSON record that names its entry."
    )
    on_conflict: Literal["error", "first", "last", "collect"] | None = Field(
        default=None,
        description="key: when two branches give different values for a field: error "
        "(default), first, last or collect.",
    )
    synthesizer: SynthesizerSpec | None = Field(
        default=None, description="synthesis: the command that merges the results."
    )


class PolicySpec(SpecPart):
    """What partial failure means."""

    mode: Literal["all_or_nothing", "best_effort"] = Field(
        default="all_or_nothing",
        description="all_or_nothing: merge only when every branch succeeded; best_effort: "
        "merge what succeeded and flag the rest.",
    )
    min_success: MinSuccess | None = Field(
        default=None,
        description="best_effort: merge only if at least this many (4) or this share "
        '("80%") of branches succeeded (default 1).',
    )
    fail_fast: bool = Field(
        default=False,
        description="all_or_nothing: cancel the other branches at the first final failure.",
    )


EXTENSION_PREFIX = "x-"
"""Top-level fields starting with this are the author's own and ignored, e.g. ``x-common:``
holding YAML anchors that branches reuse (as in docker-compose files)."""


def is_extension(key: object) -> bool:
    """Whether a top-level key is an ``x-`` extension field, which the spec ignores."""
    return isinstance(key, str) and key.startswith(EXTENSION_PREFIX)


class SpecFile(SpecPart):
    """A fanout-tui spec: independent branches run in parallel, then merged.

    Top-level fields starting with ``x-`` are ignored (they are removed before the model
    sees the document); the JSON Schema allows them too.
    """

    model_config = ConfigDict(
        title="fanout-tui spec",
        json_schema_extra={
            "patternProperties": {
                f"^{EXTENSION_PREFIX}": {
                    "description": "Your own field, ignored: e.g. YAML anchors to reuse."
                }
            }
        },
    )

    version: Version = Field(description="The spec format's version: 1.")
    name: str = Field(min_length=1, description="Name of the run.")
    description: str | None = Field(default=None, description="What the run does.")
    defaults: DefaultsSpec | None = Field(
        default=None, description="Settings inherited by every branch, each overridable."
    )
    concurrency: int | None = Field(
        default=None, ge=1, description="Most branches running at once (default: unlimited)."
    )
    resources: dict[str, ResourceSpec] = Field(
        default_factory=dict, description="Shared resources with their limits, by name."
    )
    secrets: list[EnvName] = Field(
        default_factory=list,
        description="Environment variables whose values are masked wherever they could show.",
    )
    branches: list[BranchSpec] = Field(
        min_length=1, description="The independent subtasks, in declared order."
    )
    merge: MergeSpec = Field(
        default=MergeSpec(), description="How results merge (default: concatenate)."
    )
    policy: PolicySpec = Field(
        default=PolicySpec(),
        description="What partial failure means (default: all_or_nothing).",
    )
    output: Annotated[str, Field(min_length=1)] | None = Field(
        default=None,
        description="File the merged result is written to, relative to the spec's folder.",
    )
