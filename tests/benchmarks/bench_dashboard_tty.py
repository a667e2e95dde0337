"""The dashboard in a real terminal, whole process: first frame, and keys under load (issue 19).

Run it as a script (pytest does not collect it; it needs ``tmux``)::

    /work/venv/bin/python tests/benchmarks/bench_dashboard_tty.py [--presses 20] [--no-burn]

Where ``bench_dashboard.py`` drives Textual's headless driver inside this process, this
starts ``fanout-tui SPEC`` itself in a tmux pane (``tmux new-session -d -x 120 -y 36``)
and watches the pane as a terminal user does, polling ``capture-pane`` (each poll starts a
tmux client, about 2-5 ms: that is the resolution of every figure here).

1. First frame: from just before the session starts until the pane shows the dashboard's
   footer, for 200 and for 2000 branches; and how long the run takes to end every
   branch once its terminal closes (``kill-session``).
2. Keys under load: 200 branches print 20 lines a second each (4,000 lines a second in
   all) while, unless ``--no-burn``, a busy loop takes one core of the machine. ``enter``
   (the log opens: its footer says ``esc Back``) and ``escape`` (the dashboard's footer is
   back) are pressed in turn; each is timed from ``send-keys`` until the pane shows it.
   Target (issue 19): median under 100 ms, 95th percentile under 250 ms.

Compiled modules are cached as an installed package's are (``PYTHONPYCACHEPREFIX``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SIZE = ("120", "36")
SESSION = "fanout-bench-tty"
DASHBOARD = "f Filter"
"""In the dashboard's footer."""
LOG = "esc Back"
"""In the log screen's footer."""
TIMEOUT_S = 30.0
"""Longest wait for the pane to show something (reported as ``inf``)."""
LOUD = "i=0; while [ $i -lt 600 ]; do seq 20; sleep 1; i=$((i+1)); done"
"""20 lines a second for ten minutes (the run is ended long before)."""


def write_spec(path: Path, count: int, command: str) -> Path:
    """A spec of ``count`` branches running ``command``, all at once."""
    lines = ["version: 1", "name: tty-bench", f"concurrency: {count}", "branches:"]
    lines += [f"  - id: b{i}\n    run: {command!r}" for i in range(count)]
    path.write_text("\n".join(lines) + "\n")
    return path


def pane() -> str:
    """The visible text of the pane now."""
    done = subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", SESSION], capture_output=True, text=True, check=False
    )
    return done.stdout


def wait_for(shown: Callable[[str], bool], since: float) -> float:
    """Poll the pane until ``shown(text)``; seconds from ``since`` (``inf``: never)."""
    while time.perf_counter() - since < TIMEOUT_S:
        if shown(pane()):
            return time.perf_counter() - since
    return float("inf")


def start(spec: Path, work: Path) -> float:
    """Start the dashboard on ``spec`` in a fresh session; seconds to its first frame."""
    stop()
    env = {
        "PYTHONPATH": str(REPO),
        "PYTHONPYCACHEPREFIX": str(work / "pycache"),
        "PYTHONDONTWRITEBYTECODE": "",  # empty is unset
        "TERM": "xterm-256color",
    }
    options = [f"-e{name}={value}" for name, value in env.items()]
    # The program itself leads the pane (no shell between): closing the pane ends it.
    command = [sys.executable, "-m", "fanout_tui", str(spec), "--no-journal"]
    session = ["tmux", "new-session", "-d", "-s", SESSION, "-x", SIZE[0], "-y", SIZE[1]]
    started = time.perf_counter()
    subprocess.run([*session, "-c", str(work), *options, *command], check=True)
    return wait_for(lambda text: DASHBOARD in text, started)


def stop() -> float:
    """Close the session's terminal and wait until the run it showed has ended; return
    the seconds that took (0 without a session)."""
    found = subprocess.run(
        ["tmux", "display", "-p", "-t", SESSION, "#{pane_pid}"],
        capture_output=True,
        text=True,
        check=False,
    )
    started = time.perf_counter()
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True, check=False)
    if found.returncode != 0:
        return 0.0
    pid = int(found.stdout)
    deadline = started + TIMEOUT_S
    while Path(f"/proc/{pid}").exists():
        if time.perf_counter() > deadline:
            raise SystemExit(f"the dashboard (pid {pid}) outlived its terminal")
        time.sleep(0.05)
    return time.perf_counter() - started


def press(key: str, shown: Callable[[str], bool]) -> float:
    """Send ``key``; seconds until the pane shows what it does."""
    started = time.perf_counter()
    subprocess.run(["tmux", "send-keys", "-t", SESSION, key], check=True)
    return wait_for(shown, started)


def summary(name: str, seconds: list[float]) -> str:
    """Median, 95th percentile and worst of ``seconds``, in ms."""
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"  {name:<8} median {statistics.median(ordered) * 1000:6.0f} ms  "
        f"p95 {p95 * 1000:6.0f} ms  worst {ordered[-1] * 1000:6.0f} ms  ({len(ordered)} presses)"
    )


def first_frames(work: Path, runs: int) -> None:
    """Row 1: seconds to the first frame, median of ``runs``."""
    print("first frame (whole process, real pty):")
    for count in (200, 2000):
        spec = write_spec(work / f"idle{count}.yaml", count, "sleep 600")
        start(spec, work)  # warm-up: compiled modules, the plan cache
        times, ends = [], []
        for _ in range(runs):
            ends.append(stop())
            times.append(start(spec, work))
        ends.append(stop())
        print(
            f"  {count:>5} branches: first frame median {statistics.median(times):.3f} s,"
            f" every branch ended {statistics.median(ends):.2f} s after the terminal closed"
        )


def keys_under_load(work: Path, presses: int, burn: bool) -> None:
    """Row 2: enter and escape while 200 branches print 4,000 lines a second."""
    spec = write_spec(work / "loud.yaml", 200, LOUD)
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if burn else None
    try:
        start(spec, work)
        time.sleep(3)  # every branch is printing
        opened, closed = [], []
        for _ in range(presses):
            opened.append(press("Enter", lambda text: LOG in text))
            closed.append(press("Escape", lambda text: DASHBOARD in text))
        load = " and a busy loop on one core" if burn else ""
        print(f"keys with 200 branches x 20 lines/s{load} (target median 100 ms, p95 250 ms):")
        print(summary("enter", opened))
        print(summary("escape", closed))
        print(summary("both", opened + closed))
    finally:
        stop()
        if burner is not None:
            burner.kill()
            burner.wait()


def main() -> None:
    """Parse the options, run both rows, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=20, help="enter/escape pairs")
    parser.add_argument("--runs", type=int, default=3, help="starts per first-frame row")
    parser.add_argument("--no-burn", action="store_true", help="no busy loop beside it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tty-") as name:
        work = Path(name)
        os.environ.pop("TMUX", None)  # a session of its own even when run inside tmux
        first_frames(work, args.runs)
        keys_under_load(work, args.presses, not args.no_burn)


if __name__ == "__main__":
    main()
