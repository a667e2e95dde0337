"""Summarize one service's log file, printed as one JSON object on stdout.

Usage: python3 log_summary.py FILE [--pace SECONDS]

Each log line is ``TIMESTAMP LEVEL MESSAGE``. The summary counts lines per level and
lists the most frequent error messages. ``--pace`` waits that long after every ten
lines so that the dashboard has something to show.
"""

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--pace", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args()

    levels: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    lines = args.file.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        _, level, message = line.split(" ", 2)
        levels[level] += 1
        if level == "ERROR":
            errors[message] += 1
            print(f"line {number}: {message}", file=sys.stderr)
        if number % 10 == 0:
            time.sleep(args.pace)

    summary = {
        "service": args.file.stem,
        "lines": len(lines),
        "errors": levels["ERROR"],
        "warnings": levels["WARN"],
        "top_errors": [{"message": m, "count": c} for m, c in errors.most_common(3)],
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
