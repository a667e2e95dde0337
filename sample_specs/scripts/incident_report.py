"""Write an incident report in Markdown from fanout-tui's results document on stdin.

Usage: python3 incident_report.py < results.json

The results document is ``{"name", "branches": [{"id", "status", "result", ...}],
"missing": [...]}``; each succeeded branch's result is a log summary from
``log_summary.py``. The report ranks the services by errors, names the most frequent
error overall and lists every branch whose summary is missing.
"""

import json
import sys
from collections import Counter


def main() -> int:
    document = json.load(sys.stdin)
    summaries = [b["result"] for b in document["branches"] if b["status"] == "succeeded"]
    ranked = sorted(summaries, key=lambda s: (-s["errors"], s["service"]))
    overall: Counter[str] = Counter()
    for summary in summaries:
        for error in summary["top_errors"]:
            overall[f"{summary['service']}: {error['message']}"] += error["count"]

    lines = [f"# Incident report ({document['name']})", ""]
    lines.append(
        f"{sum(s['lines'] for s in summaries)} log lines from {len(summaries)} services: "
        f"{sum(s['errors'] for s in summaries)} errors, "
        f"{sum(s['warnings'] for s in summaries)} warnings."
    )
    if overall:
        message, count = overall.most_common(1)[0]
        lines.append(f"Most frequent error: {message} ({count} times).")
    lines += ["", "| service | errors | warnings | top error |", "|---|---:|---:|---|"]
    for s in ranked:
        top = s["top_errors"][0]["message"] if s["top_errors"] else "-"
        lines.append(f"| {s['service']} | {s['errors']} | {s['warnings']} | {top} |")
    if document["missing"]:
        lines += ["", f"Missing summaries: {', '.join(document['missing'])}."]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
