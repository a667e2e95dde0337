"""Run a spec from the command line: load it, journal it, run it headless or in the
dashboard, then deliver the merged result, the report and the exit code."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from fanout_tui.engine import Engine, ReusedResult, RunOutcome, build_report, render_merged
from fanout_tui.engine.events import PolicyState
from fanout_tui.journal import Journal, JournalError
from fanout_tui.spec import SpecError, load_plan_cached

EXIT_USAGE = 2


def launch(args: argparse.Namespace, *, headless: bool) -> int:
    """Run the spec named in ``args`` (see :mod:`fanout_tui.cli`); return the exit code."""
    try:
        plan = load_plan_cached(args.spec)
    except SpecError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    if args.concurrency:
        plan = dataclasses.replace(plan, concurrency=args.concurrency)
    output_path = args.output or plan.output

    with ExitStack() as stack:
        reused: dict[str, ReusedResult] = {}
        notices: list[str] = []  # what the resume did, for the operator
        if args.no_journal:
            if args.resume is not None:
                print("fanout-tui: --resume needs the journal", file=sys.stderr)
                return EXIT_USAGE
            log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fanout-")))
            recorder = None
        else:
            try:
                journal = stack.enter_context(Journal.open(args.journal or Path(".fanout")))
                resumed_from = None
                if args.resume is not None:
                    resumed_from, reused, ended = journal.prepare_resume(plan, args.resume)
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
                return EXIT_USAGE
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

    _deliver(outcome, output_path=output_path, report_path=args.report, stdout=sys.stdout)
    return outcome.exit_code


def _deliver(
    outcome: RunOutcome, *, output_path: Path | None, report_path: Path | None, stdout: TextIO
) -> None:
    """Print and write the merged result (when the policy was satisfied) and the report."""
    if report_path is not None:
        _write_text(report_path, json.dumps(build_report(outcome), indent=2, default=str) + "\n")
    if outcome.merge.state is not PolicyState.MERGED:
        return
    text = render_merged(outcome.merge.merged)
    if output_path is not None:
        _write_text(output_path, text)
    stdout.write(text)
    stdout.flush()


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
