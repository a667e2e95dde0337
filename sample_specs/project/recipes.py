# SPDX-License-Identifier: MIT
"""Recipe scaling for a brewing journal (a small project the sample checks look at)."""


def scale(grams: dict[str, float], factor: float) -> dict[str, float]:
    """Scale every ingredient of a grain bill by ``factor``.

    >>> scale({"pilsner malt": 4000.0, "munich malt": 500.0}, 0.5)
    {'pilsner malt': 2000.0, 'munich malt': 250.0}
    """
    return {name: round(amount * factor, 1) for name, amount in grams.items()}


def total(grams: dict[str, float]) -> float:
    """The total weight of a grain bill.

    >>> total({"pilsner malt": 4000.0, "munich malt": 500.0})
    4500.0
    """
    # FIXME: warn when a bill is empty.
    return sum(grams.values())
