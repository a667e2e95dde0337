"""The command line: parse arguments and wire spec, engine, journal and front end together."""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn

from fanout_tui import __version__
from fanout_tui.bundled import bundled_sample
from fanout_tui.engine import ExitCode, for_terminal

SUBCOMMANDS = ("check", "schema", "runs", "attach", "serve")

DESCRIPTION = """\
Run the independent branches of a spec in parallel and watch them live.

commands:
  fanout-tui SPEC                      the dashboard (headless when stdout is not a terminal)
  fanout-tui SPEC --headless           progress lines on stderr, merged result on stdout
  fanout-tui check SPEC                validate and print the expanded plan; exit 0 or 2
  fanout-tui schema                    print the spec's JSON Schema (for editors)
  fanout-tui runs                      list journaled runs
  fanout-tui runs show RUN [--branch ID]
                                       a past run's merged result, or one branch's output and log
  fanout-tui attach [RUN] [--read-only]
                                       the dashboard of a run already going (q detaches)
  fanout-tui serve [RUN] [--port N] [--host H]
                                       that dashboard in a browser, behind a token
"""

EPILOG = """\
exit codes:
  0    policy satisfied, every branch succeeded
  3    policy satisfied with flagged failures (best-effort partial)
  1    policy not satisfied, no merged result
  2    bad spec or usage
  130  interrupted before the policy was satisfied

dashboard keys:
  arrows / h j k l  move between panels      r / R  retry this branch / all failed
  c / C             cancel this branch / all  enter  this branch's full log (/ searches)
  m                 merged result (s saves)   f      filter all / failed / running
  ?                 help    ctrl+p  command palette    q  quit    escape  back
"""


SHOW_EPILOG = """\
exit codes (as the run exited):
  0    its complete merged result
  3    a best-effort partial result; stderr names each missing branch
  1    no merged result: the policy was not satisfied, the merge failed, or it still runs
  130  interrupted before its policy was satisfied
  2    no such run or branch, or the journal cannot be read
"""


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fanout-tui",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("spec", metavar="SPEC", type=Path, help="the spec file (YAML)")
    parser.add_argument(
        "--headless", action="store_true", help="no dashboard: progress on stderr, result on stdout"
    )
    parser.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="also write the merged result to FILE"
    )
    parser.add_argument(
        "--report", type=Path, metavar="FILE", help="write a JSON report of the run to FILE"
    )
    parser.add_argument(
        "--concurrency", type=_positive_int, metavar="N", help="override the global cap"
    )
    parser.add_argument(
        "--theme", metavar="NAME", help="a theme from themes/ or a built-in Textual theme"
    )
    parser.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        metavar="RUN",
        help="reuse results that already succeeded in a journaled run (default: the latest)",
    )
    parser.add_argument(
        "--executor",
        metavar="dask://HOST:PORT",
        help="run the branches on a Dask cluster (overrides the spec's executor)",
    )
    journal = parser.add_mutually_exclusive_group()
    journal.add_argument(
        "--journal", type=Path, metavar="PATH", help="where the journal lives (default .fanout/)"
    )
    journal.add_argument("--no-journal", action="store_true", help="do not journal this run")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="also print the traceback of an internal error on stderr",
    )
    parser.add_argument("--version", action="version", version=f"fanout-tui {__version__}")
    return parser


def _check_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fanout-tui check", description="Validate a spec and print the expanded plan."
    )
    parser.add_argument("spec", metavar="SPEC", type=Path)
    return parser


def _schema_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="fanout-tui schema", description="Print the spec's JSON Schema."
    )


def _runs_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fanout-tui runs", description="Journaled runs.")
    parser.add_argument(
        "--journal", type=Path, metavar="PATH", help="where the journal lives (default .fanout/)"
    )
    sub = parser.add_subparsers(dest="action")
    show = sub.add_parser(
        "show",
        help="a past run's merged result, or one branch's output",
        description="A past run's merged result, or one branch's result and logs.",
        epilog=SHOW_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument("run", metavar="RUN", help="a run id (a unique prefix is enough)")
    show.add_argument("--branch", metavar="ID", help="one branch's result and log")
    show.add_argument(
        "--journal", type=Path, metavar="PATH", help="where the journal lives (default .fanout/)"
    )
    return parser


def _attach_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fanout-tui attach",
        description="The dashboard of a run already going: commands go to that run, "
        "q detaches (the run goes on), Q stops the run after asking.",
    )
    parser.add_argument(
        "run", metavar="RUN", nargs="?", help="a run id or prefix (default: the latest live run)"
    )
    parser.add_argument("--read-only", action="store_true", help="only watch: refuse every command")
    parser.add_argument("--theme", metavar="NAME", help="a theme for the dashboard")
    parser.add_argument(
        "--journal", type=Path, metavar="PATH", help="where the journal lives (default .fanout/)"
    )
    return parser


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fanout-tui serve",
        description="Serve the attach dashboard of a run to browsers (needs fanout-tui[web]).",
    )
    parser.add_argument(
        "run", metavar="RUN", nargs="?", help="a run id or prefix (default: the latest live run)"
    )
    parser.add_argument("--port", type=_positive_int, default=8000, metavar="N")
    parser.add_argument(
        "--host",
        metavar="H",
        help="the address to listen on (default 127.0.0.1: this machine only)",
    )
    parser.add_argument(
        "--read-only", action="store_true", help="browsers only watch: refuse every command"
    )
    parser.add_argument(
        "--journal", type=Path, metavar="PATH", help="where the journal lives (default .fanout/)"
    )
    return parser


def _branch_joined(args: list[str]) -> list[str]:
    """``--branch -x`` as ``--branch=-x``: an id may begin with ``-``, which argparse
    would otherwise take for an option."""
    joined: list[str] = []
    rest = iter(args)
    for arg in rest:
        if arg == "--branch":
            value = next(rest, None)
            joined.append(arg if value is None else f"--branch={value}")
        else:
            joined.append(arg)
    return joined


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fanout-tui`` command; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    _open_closed_streams()
    try:
        if args and args[0] in SUBCOMMANDS:
            command, rest = args[0], args[1:]
            if command == "check":
                return _check(_check_parser().parse_args(rest))
            if command == "schema":
                _schema_parser().parse_args(rest)
                return _schema()
            if command == "attach":
                return _attach(_attach_parser().parse_args(rest))
            if command == "serve":
                return _serve(_serve_parser().parse_args(rest))
            return _runs(_runs_parser().parse_args(_branch_joined(rest)))
        return _run(_run_parser().parse_args(args))
    except SystemExit as exit_:
        # argparse exits 2 on usage errors and 0 for --help; keep its codes.
        return exit_.code if isinstance(exit_.code, int) else ExitCode.USAGE
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``); say nothing more.
        sys.stderr.close()
        return ExitCode.OK
    except OSError as error:
        if error.errno not in _OUTPUT_FULL:
            raise
        # stdout cannot take what check, schema or runs print: as any failure of theirs
        print(f"fanout-tui: cannot write: {error.strerror}", file=sys.stderr)
        return ExitCode.USAGE


_OUTPUT_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})
"""Why writing to stdout fails when the place it goes cannot take more."""


def _open_closed_streams() -> None:
    """Give a standard stream the caller closed (``>&-``) a place to go: ``/dev/null``,
    so that a run still ends its branches and exits with its code."""
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def entry() -> NoReturn:
    """The ``fanout-tui`` executable: :func:`main`, then a prompt exit with its code.

    By the time :func:`main` returns, the run has closed everything it opened (branches
    ended, journal written, files closed). What is left is the interpreter freeing every
    object one by one, about 150 ms on a 2-core machine: longer than the whole start of a
    run. So the exit flushes stdout and stderr and ends the process right there.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or a closed stream
            stream.flush()
    os._exit(code)


def _use_bundled_sample(args: argparse.Namespace) -> None:
    """Point ``args.spec`` at the shipped sample it names, when it is no file here."""
    sample = bundled_sample(args.spec)
    if sample is not None:
        print(
            f"fanout-tui: {args.spec} is not here; using the bundled sample {sample}",
            file=sys.stderr,
        )
        args.spec = sample


def _check(args: argparse.Namespace) -> int:
    from fanout_tui.launch import UnusableSpec, load_spec
    from fanout_tui.spec import describe_plan

    _use_bundled_sample(args)
    try:
        plan = load_spec(args.spec, cached=False)
    except UnusableSpec as error:
        print(for_terminal(sys.stderr, str(error)), file=sys.stderr)
        return ExitCode.USAGE
    print(for_terminal(sys.stdout, describe_plan(plan)))
    return ExitCode.OK


def _schema() -> int:
    from fanout_tui.spec import spec_json_schema

    print(json.dumps(spec_json_schema(), indent=2))
    return ExitCode.OK


def _runs(args: argparse.Namespace) -> int:
    from fanout_tui.journal import JournalError, list_runs, show_run

    journal = args.journal or Path(".fanout")
    try:
        if args.action == "show":
            return show_run(journal, args.run, branch_id=args.branch, out=sys.stdout)
        return list_runs(journal, out=sys.stdout)
    except JournalError as error:
        print(for_terminal(sys.stderr, f"fanout-tui: {error}"), file=sys.stderr)
        return ExitCode.USAGE


def _attach(args: argparse.Namespace) -> int:
    from fanout_tui.attach import attach_run

    journal = args.journal or Path(".fanout")
    return attach_run(journal, args.run, read_only=args.read_only, theme=args.theme)


def _serve(args: argparse.Namespace) -> int:
    from fanout_tui.serve import serve_run

    journal = args.journal or Path(".fanout")
    return serve_run(journal, args.run, host=args.host, port=args.port, read_only=args.read_only)


def _run(args: argparse.Namespace) -> int:
    with _exempt_from_collection():
        from fanout_tui.launch import DEFAULT_JOURNAL, FrontEnd, UnusableSpec, load_spec, run_spec

    _use_bundled_sample(args)
    headless = args.headless or not sys.stdout.isatty()
    try:
        try:
            plan = load_spec(args.spec)
        except UnusableSpec as error:
            print(for_terminal(sys.stderr, str(error)), file=sys.stderr)
            return ExitCode.USAGE
        return run_spec(
            plan,
            journal=None if args.no_journal else (args.journal or DEFAULT_JOURNAL),
            resume=args.resume,
            front_end=FrontEnd.HEADLESS if headless else FrontEnd.DASHBOARD,
            output=args.output,
            report=args.report,
            concurrency=args.concurrency,
            theme=args.theme,
            debug=args.debug,
            executor=args.executor,
        )
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def _exempt_from_collection() -> Iterator[None]:
    """Run the block with the garbage collector off, then exempt what it made from collections.

    For imports: the engine, the journal and asyncio make some twenty thousand objects
    that live until the process ends. Otherwise the collector walks them some forty times
    while they load and again in every later full collection, and frees nothing: about
    10 ms of a run's start on a 2-core machine. ``gc.unfreeze()`` ends the exemption.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
