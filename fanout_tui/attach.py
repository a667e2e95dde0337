"""``fanout-tui attach``: the dashboard of a run another process runs.

The run is found in the journal (:func:`~fanout_tui.journal.locate_run`); a live one is
reached on its control socket, a finished one shows the final state it left in its
folder. The dashboard is the same app, driven by a :class:`~fanout_tui.remote.RemoteEngine`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fanout_tui.engine import ExitCode
from fanout_tui.journal import JournalError, LocatedRun, locate_run
from fanout_tui.remote import NotServed, ProtocolMismatch, RemoteEngine


def attach_run(
    journal: Path,
    run_ref: str | None,
    *,
    read_only: bool = False,
    theme: str | None = None,
) -> int:
    """Open the dashboard on run ``run_ref`` of ``journal`` (default: the latest live one)
    until the viewer leaves; return the exit code of the command (0, or 2 when there is
    nothing to attach to)."""
    try:
        run = locate_run(journal, run_ref)
    except JournalError as error:
        print(f"fanout-tui: {error}; nothing to attach to", file=sys.stderr)
        return ExitCode.USAGE
    try:
        engine = _reach(run, read_only=read_only)
    except (NotServed, ProtocolMismatch) as error:
        print(f"fanout-tui: run {run.run_id}: {error}", file=sys.stderr)
        return ExitCode.USAGE
    if engine is None:
        print(
            f"fanout-tui: run {run.run_id} is {run.outcome} and left no final state to show; "
            f"fanout-tui runs show {run.run_id} tells what it recorded",
            file=sys.stderr,
        )
        return ExitCode.USAGE

    from fanout_tui.ui import create_app

    notices = []
    if engine.finished:
        notices.append(f"run {run.run_id} is finished ({run.outcome}): this is its final state")
    app = create_app(
        engine, theme=theme, notices=notices, attached=True, read_only=read_only or engine.finished
    )
    app.sub_title = f"run {run.run_id}" + (" · read-only" if read_only else "")
    engine.notify = lambda message: app.notify(message, timeout=10)
    app.run()
    return ExitCode.OK


def _reach(run: LocatedRun, *, read_only: bool) -> RemoteEngine | None:
    """The run on its socket while it runs, else its final state (``None``: it left none).

    Raises:
        NotServed: the run is live and yet does not answer.
        ProtocolMismatch: the run is of another fanout-tui.
    """
    if run.live:
        try:
            return RemoteEngine.connect(run.run_dir, read_only=read_only)
        except NotServed:
            if RemoteEngine.final_state(run.run_dir) is None:
                raise
    return RemoteEngine.final_state(run.run_dir)
