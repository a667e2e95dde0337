"""Fetch one page of a catalogue from a simulated mirror that is flaky for some pages.

Usage: python3 fetch_page.py PAGE [--flaky-pages N,...] [--failures N] [--latency SECONDS]

Prints the page as one JSON object on stdout. For the pages listed in ``--flaky-pages``
the mirror answers "503 Service Unavailable" (exit code 75) to the first ``--failures``
requests of the same run and serves the page from then on. A "run" is the fanout-tui
process that starts this script (its parent), so every new run sees the failures again:
the sample fails and then succeeds on retry each time it is run. The request count
lives in a small file in the temporary folder, removed once the page is served.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

EX_TEMPFAIL = 75

ITEMS = [
    "pale malt",
    "crystal malt",
    "chocolate malt",
    "cascade",
    "citra",
    "saaz",
    "us-05 yeast",
    "belle saison yeast",
    "irish moss",
    "priming sugar",
    "caps",
    "bottles",
]


def request_count_file(page: int) -> Path:
    """The file counting this run's requests for ``page`` (keyed to the parent process)."""
    folder = Path(tempfile.gettempdir()) / f"fanout-tui-samples-{os.getuid()}"
    folder.mkdir(exist_ok=True)
    return folder / f"fetch-page-{os.getppid()}-{page}.count"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=int)
    parser.add_argument("--flaky-pages", default="", metavar="N,...")
    parser.add_argument("--failures", type=int, default=2, metavar="N")
    parser.add_argument("--latency", type=float, default=0.5, metavar="SECONDS")
    args = parser.parse_args()

    print(f"GET /catalogue?page={args.page}", file=sys.stderr)
    time.sleep(args.latency)
    if str(args.page) in args.flaky_pages.split(","):
        counter = request_count_file(args.page)
        requests = int(counter.read_text()) + 1 if counter.exists() else 1
        if requests <= args.failures:
            counter.write_text(str(requests))
            print(f"503 Service Unavailable (request {requests})", file=sys.stderr)
            return EX_TEMPFAIL
        counter.unlink(missing_ok=True)

    items = ITEMS[(args.page - 1) * 3 : args.page * 3]
    print(f"200 OK, {len(items)} items", file=sys.stderr)
    print(json.dumps({"page": args.page, "items": items}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
