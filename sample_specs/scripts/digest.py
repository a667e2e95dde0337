"""Hash one file with one algorithm, printed as one JSON object on stdout.

Usage: python3 digest.py FILE --algo NAME [--pace SECONDS]

Prints ``{"doc": NAME, ALGO: HEX}`` where NAME is the file name without extension, so
that digests of one document by several algorithms key-merge into one record. The file
is read in small chunks; ``--pace`` waits that long after each chunk so that the
dashboard has something to show.
"""

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

CHUNK = 256


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--algo", required=True, choices=sorted(hashlib.algorithms_guaranteed))
    parser.add_argument("--pace", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args()

    digest = hashlib.new(args.algo)
    with args.file.open("rb") as data:
        while chunk := data.read(CHUNK):
            digest.update(chunk)
            print(f"{args.algo}: hashed {len(chunk)} bytes", file=sys.stderr)
            time.sleep(args.pace)
    print(json.dumps({"doc": args.file.stem, args.algo: digest.hexdigest()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
