"""The spec file's fields as pydantic models: what may be written, typed and described.

These models check the *shape* of a spec (field names, types, ranges). Meaning across
fields (ids unique after matrix expansion, ``uses`` naming a resource, …) is checked when
the spec is expanded into a plan (:mod:`fanout_tui.spec._expand`). Every field carries a
description, which the JSON Schema hands to editors. ``None`` on a branch field means "not
given": the branch inherits it from ``defaults``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, WithJsonSchema

from fanout_tui.spec._field_types import (
    CALL_PATTERN,
    ID_TEMPLATE_PATTERN,
    Command,
    Duration,
    Env,
    EnvName,
    ExitCode,
    JsonSchemaValue,
    MatrixSpec,
    MinSuccess,
    RateText,
    RetryOn,
    Size,
    Timeout,
    Version,
)
from fanout_tui.spec._llm_models import LlmSpec, ProviderSpec
from fanout_tui.spec._spec_part import SpecPart


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
    on: list[RetryOn] | None = Field(
        default=None,
        description="The failures that retry: failed, timed_out, rate_limited, contract, "
        "{exit_codes: [...]} (default: every failure).",
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
        description="Most branch starts in any window of the period: 5/s, 30/min, 100/h, 10/5s.",
    )
    burst: int | None = Field(
        default=None, ge=0, description="Starts allowed in a window beyond the rate (default 0)."
    )
    tokens: RateText | None = Field(
        default=None,
        description="Most tokens (estimates, then reported usage) in any window: 40000/min.",
    )
    adaptive: bool | None = Field(
        default=None,
        description="Halve the concurrency on a rate-limit signal, grow back on successes.",
    )


class CostSpec(SpecPart):
    """What one attempt of a branch is expected to spend."""

    tokens: int = Field(ge=0, description="Tokens taken from token budgets before the start.")


class ExecutorSpec(SpecPart):
    """Where the branches run instead of this machine."""

    dask: Annotated[str, Field(pattern=r"^((dask|tcp)://)?[^\s/:]+:[0-9]+$")] = Field(
        description="A Dask scheduler: HOST:PORT (or dask://HOST:PORT, tcp://HOST:PORT)."
    )


class BudgetSpec(SpecPart):
    """A run-level budget: once reported usage reaches it, no new attempt starts."""

    tokens: int | None = Field(default=None, ge=1, description="Tokens in all.")
    cost_usd: float | None = Field(default=None, gt=0, description="Cost in US dollars in all.")


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
    log_cap: Size | None = Field(
        default=None,
        description="Most bytes of each of an attempt's logs (stdout, stderr): 1048576, "
        "64MiB, 1GiB (default 128MiB); the cut is marked in the log.",
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
    cost: CostSpec | None = Field(
        default=None, description="What one attempt is expected to spend: {tokens: N}."
    )


class DefaultsSpec(BranchSettingsSpec):
    """Settings every branch inherits; each branch may override any of them."""


class BranchSpec(BranchSettingsSpec):
    """One independent subtask: a command (``run``), a Python callable (``call``) or a
    chat request (``llm``)."""

    model_config = ConfigDict(
        json_schema_extra={
            # What expansion checks, said to editors too: exactly one of run, call and
            # llm, and with only beside call.
            "oneOf": [{"required": ["run"]}, {"required": ["call"]}, {"required": ["llm"]}],
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
    llm: LlmSpec | None = Field(
        default=None, description="A chat request to a provider; the reply is the output."
    )
    matrix: MatrixSpec | None = Field(
        default=None,
        description="One branch per combination of these values (cartesian product, in the "
        "order written); use them as ${{ matrix.NAME }}.",
    )


class SynthesizerSpec(SpecPart):
    """The step that merges: a command gets the results document as JSON on stdin and prints
    the result; an ``llm`` step gets it as a user message and replies with the result."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["run"]}, {"required": ["llm"]}]}
    )

    run: Command | None = Field(
        default=None, description="The synthesizer's command (text for sh -c, or a list)."
    )
    llm: LlmSpec | None = Field(
        default=None, description="A chat request that merges; gets the results document."
    )
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
    providers: dict[str, ProviderSpec] = Field(
        default_factory=dict,
        description="OpenAI-compatible endpoints that llm branches use, by name.",
    )
    secrets: list[EnvName] = Field(
        default_factory=list,
        description="Environment variables whose values are masked wherever they could show.",
    )
    budget: BudgetSpec | None = Field(
        default=None,
        description="Run-level budget of reported usage: {tokens: N, cost_usd: X}.",
    )
    executor: ExecutorSpec | None = Field(
        default=None,
        description="Run the branches on a Dask cluster: {dask: HOST:PORT} (default: here).",
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
