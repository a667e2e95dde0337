"""The expanded plan: what a validated spec means, fully resolved.

The loader (:mod:`fanout_tui.spec._loader`) turns a YAML spec into a :class:`Plan`. Every
default is merged in, every matrix expanded, every path made absolute and every percentage
turned into a count, so the engine takes these objects as they are and never looks back
at the YAML. They are immutable and hold plain values only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from fanout_tui.spec._llm_plan import LlmPlan


class OutputFormat(StrEnum):
    """How a branch's stdout is parsed into its result."""

    TEXT = "text"
    """The whole stdout as one string."""
    JSON = "json"
    """One JSON document."""
    JSONL = "jsonl"
    """One JSON document per non-empty line; the result is their list."""
    LINES = "lines"
    """The list of stdout lines (without line endings)."""


class MergeStrategy(StrEnum):
    """How the results of the branches become one merged result."""

    CONCATENATE = "concatenate"
    KEY = "key"
    SYNTHESIS = "synthesis"


class ConflictRule(StrEnum):
    """What a key merge does when two branches give different values for one field."""

    ERROR = "error"
    FIRST = "first"
    LAST = "last"
    COLLECT = "collect"


class PolicyMode(StrEnum):
    """What partial failure means for the run."""

    ALL_OR_NOTHING = "all_or_nothing"
    BEST_EFFORT = "best_effort"


DEFAULT_LOG_CAP = 128 * 1024 * 1024
"""Bytes of each stream an attempt's log keeps when the spec says nothing."""
RETRY_KINDS = ("failed", "timed_out", "rate_limited", "contract")
"""The failure kinds ``retry.on`` can name, in the order they are shown."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Automatic retries of a branch: ``attempts`` counts the first one too."""

    attempts: int = 1
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    jitter: bool = True
    on: frozenset[str] | None = None
    """The failure kinds that retry (``failed``, ``timed_out``, ``rate_limited``,
    ``contract``); ``None``: every failure retries."""
    on_exit_codes: frozenset[int] = frozenset()
    """Exit codes that retry even when ``on`` does not name ``failed``."""

    def retries(self, kind: str, exit_code: int | None) -> bool:
        """True when an attempt that failed this way may be retried."""
        if self.on is None:
            return True
        return kind in self.on or (exit_code is not None and exit_code in self.on_exit_codes)


@dataclass(frozen=True, slots=True)
class OutputContract:
    """What a branch's stdout must be for the branch to succeed."""

    format: OutputFormat = OutputFormat.TEXT
    schema: Mapping[str, Any] | None = None
    """A JSON Schema the parsed result must satisfy (json/jsonl; for jsonl, each item)."""


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` per ``per_s`` seconds in any window of that length (``30/min`` → 30, 60)."""

    count: float
    per_s: float

    def __str__(self) -> str:
        unit = {1.0: "s", 60.0: "min", 3600.0: "h"}.get(self.per_s, f"{self.per_s:g}s")
        return f"{self.count:g}/{unit}"


@dataclass(frozen=True, slots=True)
class Budget:
    """A run-level budget: once reported usage reaches it, no new attempt starts."""

    tokens: int | None = None
    cost_usd: float | None = None


@dataclass(frozen=True, slots=True)
class ResourceLimit:
    """A shared resource that branches ``use``, with its limits (``None``: unlimited)."""

    name: str
    concurrency: int | None = None
    rate: Rate | None = None
    """Attempt starts allowed in any window of the rate's period."""
    burst: int = 0
    """Starts allowed in a window beyond the rate's count."""
    tokens: Rate | None = None
    """Tokens (estimates, then reported usage) allowed in any window of the period."""
    adaptive: bool = False
    """Halve the concurrency in force on a rate-limit signal, grow it back on successes."""

    @property
    def limits_anything(self) -> bool:
        """True when the resource has some limit (else using it holds nothing)."""
        return self.concurrency is not None or self.rate is not None or self.tokens is not None


@dataclass(frozen=True, slots=True)
class BranchPlan:
    """One fully specified branch, as the engine runs it.

    Exactly one of ``run``, ``call`` and ``llm`` is set. ``run`` as a string is run by
    ``/bin/sh -c``; as a tuple it is executed directly. ``call`` is ``"module:function"``
    called with ``with_args`` as keyword arguments. ``llm`` is a chat request to an
    OpenAI-compatible endpoint.
    """

    id: str
    index: int
    """Position in declared order (after matrix expansion), from 0."""
    title: str | None = None
    run: str | tuple[str, ...] | None = None
    call: str | None = None
    with_args: Mapping[str, Any] = field(default_factory=dict)
    cwd: Path = Path(".")
    """Absolute working folder."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Variables set on top of the inherited environment."""
    timeout_s: float | None = None
    kill_grace_s: float = 5.0
    """Seconds between SIGTERM and SIGKILL when the branch is ended."""
    log_cap: int = DEFAULT_LOG_CAP
    """Most bytes of each of an attempt's logs."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    uses: tuple[str, ...] = ()
    output: OutputContract = field(default_factory=OutputContract)
    success_exit_codes: frozenset[int] = frozenset({0})
    matrix: Mapping[str, Any] = field(default_factory=dict)
    """The matrix values this branch was expanded with, as written in the spec (``3.10``,
    not the number 3.1 YAML reads); empty when none."""
    python_path: tuple[Path, ...] = ()
    """Folders put first on ``sys.path`` to import a ``call`` (the spec's folder)."""
    cost_tokens: int = 0
    """Tokens each attempt is expected to spend, taken from token budgets before it starts."""
    llm: LlmPlan | None = None

    @property
    def label(self) -> str:
        """What the operator sees as the branch's name."""
        return self.title or self.id

    def fingerprint(self, secret_names: frozenset[str] = frozenset()) -> str:
        """A stable hash of everything that defines what the branch computes.

        It covers the command or callable and its arguments, the environment, the working
        folder, the output contract and the success criteria, but not the position or the
        title. Values of environment variables named in ``secret_names`` enter by hash only.
        """
        env = {
            name: (
                "sha256:" + hashlib.sha256(value.encode()).hexdigest()
                if name in secret_names
                else value
            )
            for name, value in sorted(self.env.items())
        }
        definition = {
            "run": list(self.run) if isinstance(self.run, tuple) else self.run,
            "call": self.call,
            "with": self.with_args,
            "cwd": str(self.cwd),
            "env": env,
            "output": {"format": str(self.output.format), "schema": self.output.schema},
            "success": sorted(self.success_exit_codes),
        }
        if self.llm is not None:
            definition["llm"] = self.llm.definition()
        canonical = json.dumps(definition, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class MergePlan:
    """How results merge. ``synthesizer`` is set exactly when the strategy is synthesis."""

    strategy: MergeStrategy = MergeStrategy.CONCATENATE
    order: tuple[str, ...] = ()
    """Branch ids in merge order (concatenate); every branch, declared order by default."""
    separator: str = "\n"
    key: str | None = None
    on_conflict: ConflictRule = ConflictRule.ERROR
    synthesizer: BranchPlan | None = None
    """Run like a branch (id ``synthesizer``); gets the results document on stdin."""


@dataclass(frozen=True, slots=True)
class PolicyPlan:
    """When the merged result counts: ``min_success`` is already a count of branches."""

    mode: PolicyMode = PolicyMode.ALL_OR_NOTHING
    min_success: int = 0
    fail_fast: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """A validated, expanded spec: everything the engine needs to run it."""

    name: str
    branches: tuple[BranchPlan, ...]
    description: str | None = None
    spec_path: Path | None = None
    concurrency: int | None = None
    """Global cap on running branches (``None``: unlimited)."""
    resources: Mapping[str, ResourceLimit] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    """Names of environment variables whose values are masked everywhere."""
    budget: Budget | None = None
    merge: MergePlan = field(default_factory=MergePlan)
    policy: PolicyPlan = field(default_factory=PolicyPlan)
    output: Path | None = None
    """Where the merged result is written (absolute), if anywhere."""
    executor: str | None = None
    """Where the branches run: ``dask://HOST:PORT``, or ``None`` for this machine."""

    @property
    def reads_files(self) -> bool:
        """True when a prompt reads files (``${{ file: PATH }}``): the plan goes stale when
        they change."""
        steps = (*self.branches, self.merge.synthesizer)
        return any(step is not None and step.llm is not None and step.llm.files for step in steps)

    def branch(self, branch_id: str) -> BranchPlan:
        """Return the branch with ``branch_id``; ``KeyError`` if there is none."""
        for branch in self.branches:
            if branch.id == branch_id:
                return branch
        raise KeyError(branch_id)
