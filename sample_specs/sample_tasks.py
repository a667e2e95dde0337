"""Python callables that the sample spec matrix-and-callables.yaml runs as branches.

fanout-tui imports this module by the ``call: sample_tasks:NAME`` of a branch (the
spec's folder comes first on ``sys.path``) and calls the function with the branch's
``with:`` mapping as keyword arguments; the return value is the branch's result. A
function may be sync (run in a worker thread) or async (awaited on the engine's loop).
Relative paths are taken from this module's folder, which is the spec's folder.
"""

import asyncio
from pathlib import Path

HERE = Path(__file__).resolve().parent


def file_sizes(folder: str, docs: list[str]) -> list[dict[str, object]]:
    """Return ``{"doc", "bytes"}`` for every document ``NAME.md`` in ``folder``."""
    return [{"doc": doc, "bytes": (HERE / folder / f"{doc}.md").stat().st_size} for doc in docs]


async def line_counts(
    folder: str, docs: list[str], pause_s: float = 0.0
) -> list[dict[str, object]]:
    """Return ``{"doc", "lines"}`` for every document, pausing ``pause_s`` before each read.

    The pause stands for slow I/O (a network share, an API); being async, it does not hold
    up anything else the engine is doing.
    """
    counts: list[dict[str, object]] = []
    for doc in docs:
        await asyncio.sleep(pause_s)
        text = (HERE / folder / f"{doc}.md").read_text(encoding="utf-8")
        counts.append({"doc": doc, "lines": len(text.splitlines())})
    return counts
