"""What runs, branches and attempts spent, as the journal sums it for ``runs`` and
``runs show``.

Each attempt row holds what the attempt reported (``NULL``: nothing); a branch's usage is
the sum of its attempts', a run's the sum of its branches' in that run. A branch reused
from an earlier run spent its usage there: it is read from that run's attempts, and is
not part of the resumed run's own total.
"""

from __future__ import annotations

import sqlite3

from fanout_tui.engine import Usage
from fanout_tui.journal._schema import USAGE_SINCE, schema_version

_SUMS = "SUM(input_tokens), SUM(output_tokens), SUM(cost_usd)"


def attempt_usage(attempt: sqlite3.Row) -> Usage | None:
    """What one attempt row reported spending (``None``: nothing, or an older journal)."""
    keys = attempt.keys()
    if "input_tokens" not in keys or attempt["input_tokens"] is None:
        return None
    return Usage(attempt["input_tokens"], attempt["output_tokens"], attempt["cost_usd"])


def usage_by_run(connection: sqlite3.Connection) -> dict[str, Usage]:
    """What each run spent itself, for the runs that reported any usage."""
    if schema_version(connection) < USAGE_SINCE:
        return {}
    rows = connection.execute(
        f"SELECT run_id, {_SUMS} FROM attempts WHERE input_tokens IS NOT NULL GROUP BY run_id"
    )
    return {row[0]: _usage(row) for row in rows}


def usage_by_branch(connection: sqlite3.Connection, run_id: str) -> dict[str, Usage]:
    """What each branch of ``run_id`` spent (a reused one: in the run that computed it),
    for the branches that reported any usage."""
    if schema_version(connection) < USAGE_SINCE:
        return {}
    rows = connection.execute(
        f"SELECT branches.id, {_SUMS} FROM branches JOIN attempts "
        "ON attempts.run_id = COALESCE(branches.reused_from, branches.run_id) "
        "AND attempts.branch_id = branches.id "
        "WHERE branches.run_id = ? AND attempts.input_tokens IS NOT NULL "
        "GROUP BY branches.id ORDER BY branches.idx",
        (run_id,),
    )
    return {row[0]: _usage(row) for row in rows}


def _usage(row: sqlite3.Row) -> Usage:
    """The usage of a row of ``key, SUM(input_tokens), SUM(output_tokens), SUM(cost_usd)``."""
    return Usage(int(row[1]), int(row[2]), float(row[3] or 0.0))
