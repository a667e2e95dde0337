"""Run a spec from the command line: load it, journal it, run it headless or in the
dashboard, then deliver the merged result, the report and the exit code."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from fanout_tui import __version__
from fanout_tui.engine import (
    Engine,
    ExitCode,
    PolicyState,
    ReusedResult,
    RunOutcome,
    build_report,
    render_merged,
)
from fanout_tui.journal import Journal, JournalError
from fanout_tui.spec import SpecError, load_plan_cached, too_short_to_mask


def launch(args: argparse.Namespace, *, headless: bool) -> int:
    """Run the spec named in ``args`` (see :mod:`fanout_tui.cli`); return the exit code."""
    try:
        plan = load_plan_cached(args.spec, release=__version__, install=Path(__file__).parent)
    except SpecError as error:
        print(error, file=sys.stderr)
        return ExitCode.USAGE
    refusal = too_short_to_mask(plan.secrets)
    if refusal is not None:
        print(f"fanout-tui: {refusal}", file=sys.stderr)
        return ExitCode.USAGE
    if args.concurrency:
        plan = dataclasses.replace(plan, concurrency=args.concurrency)
    output_path = args.output or plan.output
    for option, path in (("--output", output_path), ("--report", args.report)):
        problem = None if path is None else _unwritable(path)
        if problem is not None:
            print(f"fanout-tui: {option} {path}: {problem}", file=sys.stderr)
            return ExitCode.USAGE

    with ExitStack() as stack:
        reused: dict[str, ReusedResult] = {}
        notices: list[str] = []  # what the resume did, for the operator
        if args.no_journal:
            if args.resume is not None:
                print("fanout-tui: --resume needs the journal", file=sys.stderr)
                return ExitCode.USAGE
            log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fanout-")))
            recorder = None
        else:
            try:
                journal = stack.enter_context(Journal.open(args.journal or Path(".fanout")))
                resumed_from = None
                if args.resume is not None:
                    resumed_from, reused, ended = journal.prepare_resume(
                        plan, args.resume, notify=notices.append
                    )
                    if resumed_from is None:
                        notices.append(
                            f"no earlier run of {args.spec} in {journal.label} to resume; "
                            "running every branch"
                        )
                    if ended:
                        groups = "group" if ended == 1 else "groups"
                        notices.append(
                            f"ended {ended} process {groups} that an interrupted run left "
                            "running"
                        )
                recorder = journal.start_run(plan, resumed_from=resumed_from)
            except JournalError as error:
                print(f"fanout-tui: {error}", file=sys.stderr)
                return ExitCode.USAGE
            log_dir = recorder.log_dir

        engine = Engine(
            plan,
            log_dir=log_dir,
            reused=reused,
            run_env=None if recorder is None else recorder.marks,
        )
        if recorder is not None:
            engine.add_listener(recorder.record)
        if headless:
            from fanout_tui.headless import run_headless

            for notice in notices:
                print(f"fanout-tui: {notice}", file=sys.stderr)
            outcome = run_headless(engine)
        else:
            from fanout_tui.ui import run_dashboard

            outcome = run_dashboard(engine, theme=args.theme, notices=notices)
        if recorder is not None:
            recorder.finish(outcome)

    return _deliver(outcome, output_path=output_path, report_path=args.report, stdout=sys.stdout)


def _deliver(
    outcome: RunOutcome, *, output_path: Path | None, report_path: Path | None, stdout: TextIO
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
        report = json.dumps(build_report(outcome), indent=2, default=str) + "\n"
        if not _write_text(report_path, report, "the report"):
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
    text = render_merged(outcome.merge.merged)
    if output_path is not None and not _write_text(output_path, text, "the merged result"):
        code = ExitCode.NOT_SATISFIED
    try:
        stdout.write(text)
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


def _write_text(path: Path, text: str, what: str) -> bool:
    """Write ``text`` to ``path`` whole or not at all (a temporary file beside it, then
    renamed over it): a full disk never leaves half a result that looks like one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        print(f"fanout-tui: cannot write {what} to {path}: {error.strerror}", file=sys.stderr)
        return False
    return True
