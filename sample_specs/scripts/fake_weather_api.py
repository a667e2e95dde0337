"""One call to a simulated weather API that allows only two calls at the same time.

Usage: python3 fake_weather_api.py CITY [--latency SECONDS] [--max-concurrent N]
                                          [--quota-hit CITY --retry-after SECONDS]

Prints the city's (made-up, deterministic) weather as one JSON object on stdout. Like a
real API with a quota, the simulated server answers "429 Too Many Requests" (exit 1)
when more than ``--max-concurrent`` calls of the same run are in flight, so the sample
only succeeds when fanout-tui keeps the declared concurrency limit. A "run" is the
fanout-tui process that starts this script (its parent); the calls in flight are slot
files in the temporary folder, taken atomically and released on the way out.

With ``--quota-hit CITY``, the first call for that city in a run is refused with a 429 and
a ``Retry-After``, as a real API does when a quota runs out. Either 429 tells fanout-tui
with a signal line on stderr (``::fanout:: {"rate_limited": {"retry_after": N}}``), so it
pauses the shared resource for every branch and retries this one once the wait is over.
"""

import argparse
import hashlib
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

CONDITIONS = ["sunny", "cloudy", "light rain", "windy", "fog", "showers"]


def take_slot(folder: Path, run: int, slots: int) -> Path | None:
    """Take a free slot file of ``run`` in ``folder`` (atomically); ``None`` when all are taken."""
    for number in range(slots):
        slot = folder / f"weather-api-{run}-slot-{number}"
        try:
            os.close(os.open(slot, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            continue
        return slot
    return None


def rate_limited(message: str, retry_after: float) -> int:
    """Answer like an API that refuses with 429: a signal for fanout-tui, then exit 75."""
    signal_line = json.dumps({"rate_limited": {"retry_after": retry_after}})
    print(f"::fanout:: {signal_line}", file=sys.stderr)
    print(f"429 Too Many Requests: {message} (Retry-After: {retry_after:g})", file=sys.stderr)
    return 75


def first_call(folder: Path, run: str, city: str) -> bool:
    """True the first time ``city`` is asked for in ``run`` (a marker file, taken atomically)."""
    try:
        os.close(os.open(folder / f"weather-api-{run}-quota-{city}", os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return False
    return True


def weather(city: str) -> dict[str, object]:
    """Made-up but stable weather for ``city``."""
    digest = hashlib.sha256(city.encode()).digest()
    return {
        "city": city,
        "temp_c": round(digest[0] / 255 * 30 - 5, 1),
        "conditions": CONDITIONS[digest[1] % len(CONDITIONS)],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("city")
    parser.add_argument("--latency", type=float, default=0.5, metavar="SECONDS")
    parser.add_argument("--max-concurrent", type=int, default=2, metavar="N")
    parser.add_argument("--quota-hit", metavar="CITY")
    parser.add_argument("--retry-after", type=float, default=3.0, metavar="SECONDS")
    args = parser.parse_args()
    # A cancel or timeout sends SIGTERM: leave through ``finally`` to free the slot.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    folder = Path(tempfile.gettempdir()) / f"fanout-tui-samples-{os.getuid()}"
    folder.mkdir(exist_ok=True)
    run = os.environ.get("FANOUT_TUI_RUN", str(os.getppid()))
    if args.city == args.quota_hit and first_call(folder, run, args.city):
        return rate_limited("the quota for this minute is used up", args.retry_after)
    slot = take_slot(folder, os.getppid(), args.max_concurrent)
    if slot is None:
        return rate_limited(f"more than {args.max_concurrent} calls in flight", 1.0)
    try:
        print(f"GET /weather?city={args.city} ({slot.name[-6:]})", file=sys.stderr)
        time.sleep(args.latency)
        print(json.dumps(weather(args.city)))
        print("200 OK", file=sys.stderr)
        return 0
    finally:
        slot.unlink()


if __name__ == "__main__":
    sys.exit(main())
