"""Summarize one station's temperature readings from a CSV file, as one line of text.

Usage: python3 summarize_readings.py FILE [--pace SECONDS]

The file has a ``time,temperature_c`` header and one reading per row. Prints
``station-x: 24 readings, min 11.2 °C, mean 14.1 °C, max 16.9 °C`` on stdout, or
names the first bad row on stderr and exits 1. ``--pace`` waits that long after every
six rows so that the dashboard has something to show.
"""

import argparse
import csv
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--pace", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args()

    values = []
    with args.file.open(newline="", encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            line = len(values) + 2
            try:
                values.append(float(row["temperature_c"]))
            except (TypeError, ValueError):
                print(
                    f"{args.file.name} line {line}: {row['temperature_c']!r} is not a temperature",
                    file=sys.stderr,
                )
                return 1
            if len(values) % 6 == 0:
                print(f"read {len(values)} readings", file=sys.stderr)
                time.sleep(args.pace)

    if not values:
        print(f"{args.file.name}: no readings", file=sys.stderr)
        return 1
    mean = sum(values) / len(values)
    print(
        f"{args.file.stem}: {len(values)} readings, min {min(values):.1f} °C, "
        f"mean {mean:.1f} °C, max {max(values):.1f} °C"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
