# SPDX-License-Identifier: MIT
"""Gravity calculations for a brewing journal (a small project the sample checks look at)."""


def attenuation(original: float, final: float) -> float:
    """Apparent attenuation in percent.

    >>> attenuation(1.050, 1.010)
    80.0
    """
    return round((original - final) / (original - 1.0) * 100, 1)


def abv(original: float, final: float) -> float:
    """Alcohol by volume in percent, by the common 131.25 approximation.

    >>> abv(1.050, 1.010)
    5.25
    """
    # TODO: offer the more exact formula for strong beers.
    return round((original - final) * 131.25, 2)
