"""The exit codes of ``fanout-tui`` (DESIGN.md, Command line): one place for every layer."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a run's exit status means; each member is the number the process exits with."""

    OK = 0
    """The policy is satisfied and every branch succeeded."""
    NOT_SATISFIED = 1
    """The policy is not satisfied: no merged result (or it could not be delivered)."""
    USAGE = 2
    """A bad spec, bad usage, or a journal that cannot be used."""
    PARTIAL = 3
    """The policy is satisfied with flagged failures (a best-effort partial result)."""
    INTERRUPTED = 130
    """Interrupted (SIGINT, SIGTERM, the operator quit) before the policy was satisfied."""
