"""Check the SPDX licence header of every Python file under a folder against an allow list.

Usage: python3 license_audit.py FOLDER --allow ID [--allow ID ...] [--pace SECONDS]

Every file must carry ``# SPDX-License-Identifier: ID`` with an allowed ID. Prints one
line per file on stdout and exits 1 at the first file that breaks the rule, naming it
and its licence on stderr.
"""

import argparse
import re
import sys
import time
from pathlib import Path

SPDX = re.compile(r"SPDX-License-Identifier:\s*(\S+)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--allow", action="append", required=True, metavar="ID")
    parser.add_argument("--pace", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args()

    files = sorted(args.folder.rglob("*.py"))
    for path in files:
        time.sleep(args.pace)
        match = SPDX.search(path.read_text(encoding="utf-8"))
        licence = match.group(1) if match else None
        if licence not in args.allow:
            print(f"{path}: {licence or 'no licence header'} is not allowed", file=sys.stderr)
            return 1
        print(f"{path}: {licence}")
    print(f"licences: all {len(files)} files use an allowed licence")
    return 0


if __name__ == "__main__":
    sys.exit(main())
