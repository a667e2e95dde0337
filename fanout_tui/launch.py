"""Run a spec as the command line does: load it, journal it, run it headless or in the
dashboard, then deliver the merged result, the report and the exit code.

:func:`run_spec` is the typed entry for a program that runs specs the way ``fanout-tui``
does; :func:`load_spec` is the one place a spec file is loaded for a run or a check.
The dashboard (Textual) is imported only when it is asked for.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import json
import os
import sys
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

import anyio

from fanout_tui import __version__
from fanout_tui.engine import (
    AttemptPlaced,
    Engine,
    EngineControl,
    Event,
    ExitCode,
    PolicyState,
    ReusedResult,
    RunOutcome,
    end_leftovers,
    for_terminal,
    merged_pieces,
)
from fanout_tui.internal_errors import INTERNAL_ERRORS_LOG, internal_errors_logged
from fanout_tui.journal import Journal, JournalError
from fanout_tui.spec import Plan, SpecError, load_plan_cached, too_short_to_mask

DEFAULT_JOURNAL = Path(".fanout")
"""Where the journal lives unless told otherwise."""


class FrontEnd(enum.StrEnum):
    """What shows a run while it runs."""

    HEADLESS = "headless"
    """Progress lines on stderr; SIGINT and SIGTERM end it cleanly."""
    DASHBOARD = "dashboard"
    """The Textual dashboard, until the operator quits."""


class UnusableSpec(Exception):
    """A spec that cannot run; ``str()`` is what to tell the operator (the spec's full
    report of problems, or one ``fanout-tui:`` sentence)."""


def load_spec(path: Path, *, cached: bool = True) -> Plan:
    """Load, validate and expand the spec at ``path`` for a run or a check, refusing
    secrets too short to hide in output.

    Args:
        path: The spec file (YAML).
        cached: Take the plan from the cache of validated plans when it still matches
            (a run); ``False`` validates the spec in full (a check).

    Raises:
        UnusableSpec: the spec is wrong, or a secret's value is too short to mask.
    """
    try:
        if cached:
            plan = load_plan_cached(path, release=__version__, install=Path(__file__).parent)
        else:
            from fanout_tui.spec import load_plan  # the validation libraries load here

            plan = load_plan(path)
    except SpecError as error:
        raise UnusableSpec(str(error)) from None
    refusal = too_short_to_mask(plan.secrets)
    if refusal is not None:
        raise UnusableSpec(f"fanout-tui: {refusal}")
    return plan


def run_spec(
    plan: Plan,
    *,
    journal: Path | None = DEFAULT_JOURNAL,
    resume: str | None = None,
    front_end: FrontEnd = FrontEnd.HEADLESS,
    output: Path | None = None,
    report: Path | None = None,
    concurrency: int | None = None,
    theme: str | None = None,
    debug: bool = False,
    executor: str | None = None,
) -> int:
    """Run ``plan`` as ``fanout-tui`` does and return its exit code (see
    :class:`~fanout_tui.engine.ExitCode`).

    The merged result (when the policy is satisfied) is printed on stdout; what the
    operator should know goes to stderr as ``fanout-tui:`` sentences. It runs event
    loops of its own: from async code, drive the parts on your loop instead
    (:meth:`~fanout_tui.journal.Journal.prepare_resume`,
    :func:`~fanout_tui.engine.end_leftovers`, :meth:`~fanout_tui.engine.Engine.run`).

    Args:
        plan: The plan to run, as :func:`load_spec` returns it.
        journal: The journal folder; ``None`` journals nothing.
        resume: Reuse the results that succeeded in this journaled run (an id, a unique
            prefix of one, or ``"latest"``: the latest run of this spec). What killed
            runs left running is ended first.
        front_end: Headless or the dashboard.
        output: Also write the merged result here (default: the spec's ``output``).
        report: Write a JSON report of the run here.
        concurrency: Override the plan's global cap on running branches.
        theme: The dashboard's theme (a shipped, user or built-in Textual theme).
        debug: Also print the traceback of an internal error on stderr (it always goes
            to ``internal-errors.log`` in the run's folder).
        executor: Run the branches on this Dask scheduler (``dask://HOST:PORT``) instead
            of the plan's executor; it must answer before anything runs.
    """
    if concurrency:
        plan = dataclasses.replace(plan, concurrency=concurrency)
    output_path = output or plan.output
    for option, path in (("--output", output_path), ("--report", report)):
        problem = None if path is None else _unwritable(path)
        if problem is not None:
            print(f"fanout-tui: {option} {path}: {problem}", file=sys.stderr)
            return ExitCode.USAGE
    where = executor or plan.executor
    remote = None
    if where is not None:
        from fanout_tui.engine.dask import ExecutorUnavailable, connect_executor

        try:
            remote = connect_executor(where)
        except ExecutorUnavailable as error:
            print(f"fanout-tui: {error}", file=sys.stderr)
            return ExitCode.USAGE

    with ExitStack() as stack:
        reused: dict[str, ReusedResult] = {}
        notices: list[str] = []  # what the resume did, for the operator
        if journal is None:
            if resume is not None:
                print("fanout-tui: --resume needs the journal", file=sys.stderr)
                return ExitCode.USAGE
            import tempfile  # with shutil and random: only a run without a journal pays

            log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fanout-")))
            recorder = None
            errors_log = None
        else:
            try:
                opened = stack.enter_context(Journal.open(journal))
                resumed_from = None
                if resume is not None:
                    resumed_from, reused = _prepare_resume(opened, plan, resume, notices)
                recorder = opened.start_run(plan, resumed_from=resumed_from)
            except JournalError as error:
                print(f"fanout-tui: {error}", file=sys.stderr)
                return ExitCode.USAGE
            log_dir = recorder.log_dir
            errors_log = recorder.run_dir / INTERNAL_ERRORS_LOG
        errors = stack.enter_context(internal_errors_logged(errors_log, debug=debug))

        # Only a remote executor is named: the engine picks the local one itself.
        make_engine = Engine if remote is None else functools.partial(Engine, executor=remote)
        engine = make_engine(
            plan,
            log_dir=log_dir,
            reused=reused,
            run_env=None if recorder is None else recorder.marks,
        )
        served: EngineControl = engine
        if recorder is not None:
            engine.add_listener(recorder.record)
            from fanout_tui.remote import ServedEngine  # viewers attach through its socket

            served = ServedEngine(engine, run_id=recorder.run_id, run_dir=recorder.run_dir)
        workers: dict[str, dict[int, str]] | None = None
        if remote is not None:
            workers = {}
            engine.add_listener(functools.partial(_note_worker, workers))
        if front_end is FrontEnd.HEADLESS:
            from fanout_tui.headless import run_headless

            for notice in notices:
                print(f"fanout-tui: {notice}", file=sys.stderr)
            outcome = run_headless(served, recorder)
        else:
            from fanout_tui.ui import run_dashboard

            outcome = run_dashboard(served, theme=theme, notices=notices)
        if recorder is not None:
            recorder.finish(outcome)
        if errors.logged:
            what = (
                "an internal error failed an attempt; its traceback is"
                if errors.logged == 1
                else f"internal errors failed {errors.logged} attempts; their tracebacks are"
            )
            print(f"fanout-tui: {what} in {errors.path}", file=sys.stderr)

    return _deliver(
        outcome, output_path=output_path, report_path=report, stdout=sys.stdout, workers=workers
    )


def _note_worker(workers: dict[str, dict[int, str]], event: Event) -> None:
    """Keep the worker of each attempt placed on a remote one, for the report."""
    if isinstance(event, AttemptPlaced):
        workers.setdefault(event.branch_id, {})[event.attempt] = event.worker


def _prepare_resume(
    journal: Journal, plan: Plan, resume: str, notices: list[str]
) -> tuple[str | None, dict[str, ReusedResult]]:
    """Find the run to resume and end what killed runs left running (on a loop of its
    own: the front end starts its loop later); return the run and its reusable results.

    Raises:
        JournalError: ``resume`` names no run, or the journal cannot be read.
    """
    resumed_from, reused, leftovers = journal.prepare_resume(plan, resume, notify=notices.append)
    if resumed_from is None:
        spec = plan.spec_path or plan.name
        notices.append(
            f"no earlier run of {spec} in {journal.label} to resume; running every branch"
        )
    ended = anyio.run(end_leftovers, leftovers) if leftovers else 0
    if ended:
        groups = "group" if ended == 1 else "groups"
        notices.append(f"ended {ended} process {groups} that an interrupted run left running")
    return resumed_from, reused


def _deliver(
    outcome: RunOutcome,
    *,
    output_path: Path | None,
    report_path: Path | None,
    stdout: TextIO,
    workers: Mapping[str, Mapping[int, str]] | None = None,
) -> int:
    """Print and write the merged result (when the policy was satisfied) and the report.

    Without a merged result, an output file an earlier run left is removed: it would pass
    for this run's result. A reader that stops reading stdout (``| head``) changes nothing;
    a file or stdout that cannot take what was asked for is said on stderr.

    Returns:
        The exit code: the outcome's, or ``NOT_SATISFIED`` (1) when the merged result or
        the report could not be delivered.
    """
    code = outcome.exit_code
    if report_path is not None:
        from fanout_tui.engine import build_report  # datetime: only a report pays

        report = json.dumps(build_report(outcome, workers), indent=2, default=str) + "\n"
        if not _write_text(report_path, [report], "the report"):
            code = ExitCode.NOT_SATISFIED
    if outcome.merge.state is not PolicyState.MERGED:
        if output_path is not None and output_path.is_file():
            try:
                output_path.unlink()
            except OSError as error:
                print(
                    f"fanout-tui: cannot remove {output_path}, an earlier run's result: "
                    f"{error.strerror}; this run has no merged result",
                    file=sys.stderr,
                )
                return ExitCode.NOT_SATISFIED
            print(
                f"fanout-tui: removed {output_path}, an earlier run's result: this run has "
                "no merged result",
                file=sys.stderr,
            )
        return code
    merged = outcome.merge.merged
    if output_path is not None and not _write_text(
        output_path, merged_pieces(merged), "the merged result"
    ):
        code = ExitCode.NOT_SATISFIED
    try:
        for piece in merged_pieces(merged):
            stdout.write(for_terminal(stdout, piece))  # a file or a pipe gets it exact
        stdout.flush()
    except BrokenPipeError:
        pass  # the reader has what it wanted
    except OSError as error:
        print(f"fanout-tui: cannot print the merged result: {error.strerror}", file=sys.stderr)
        code = ExitCode.NOT_SATISFIED
    return code


def _unwritable(path: Path) -> str | None:
    """Why a file cannot be written at ``path`` (its missing folders would be made), or
    ``None`` when it looks writable: checked before a run, so that a mistyped path does not
    cost the run's result at its end."""
    if path.is_dir():
        return "is a folder"
    if path.exists() and not os.access(path, os.W_OK):
        return "cannot be written"
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot write in {folder}"
    return None


def _write_text(path: Path, pieces: Iterable[str], what: str) -> bool:
    """Write the text of ``pieces`` to ``path`` whole or not at all (a temporary file
    beside it, then renamed over it): a full disk never leaves half a result that looks
    like one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("w", encoding="utf-8") as stream:
            stream.writelines(pieces)
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        print(f"fanout-tui: cannot write {what} to {path}: {error.strerror}", file=sys.stderr)
        return False
    return True
