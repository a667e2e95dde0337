"""Durations, rates, percentages, interpolation templates and secret masking, on their own."""

from __future__ import annotations

import math

import pytest

from fanout_tui.spec._interpolate import (
    Combination,
    InterpolationError,
    MatrixValue,
    compile_template,
)
from fanout_tui.spec._masking import Masker
from fanout_tui.spec._plan import Rate
from fanout_tui.spec._units import format_duration, parse_duration, parse_percent, parse_rate


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("500ms", 0.5),
        ("30s", 30),
        ("2m", 120),
        ("1h", 3600),
        ("1h30m", 5400),
        ("1h 30m 15s", 5415),
        ("1.5s", 1.5),
        ("0", 0),
        ("45", 45),
        (" 2m ", 120),
        (3, 3),
        (0.25, 0.25),
        ("1m500ms", 60.5),
    ],
)
def test_durations(written: object, seconds: float) -> None:
    assert parse_duration(written) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "written",
    ["", "2 minutes", "1d", "ms", "-1s", -1, True, None, "1h30", "1.s", math.inf, math.nan, [1]],
)
def test_not_durations(written: object) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(written)


@pytest.mark.parametrize("written", ["99999999999999999999h", "8785h", 1e300, 366 * 86400 + 1])
def test_absurd_durations_are_refused_with_the_limit(written: object) -> None:
    with pytest.raises(ValueError, match=r"too long; a duration is at most 8784h \(366 days\)"):
        parse_duration(written)


def test_a_year_is_still_a_duration() -> None:
    assert parse_duration("8784h") == 366 * 86400


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "500ms"),
        (30, "30s"),
        (120, "2m"),
        (5400, "1h30m"),
        (3661, "1h1m1s"),
        (1.5, "1.5s"),
        (0, "0s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("written", "rate"),
    [
        ("30/min", Rate(30, 60)),
        ("5/s", Rate(5, 1)),
        ("100/h", Rate(100, 3600)),
        ("0.5 / second", Rate(0.5, 1)),
        ("2/minute", Rate(2, 60)),
        ("7/hour", Rate(7, 3600)),
        ("10/5s", Rate(10, 5)),
        ("100 / 1m30s", Rate(100, 90)),
        ("3/500ms", Rate(3, 0.5)),
    ],
)
def test_rates(written: str, rate: Rate) -> None:
    assert parse_rate(written) == rate


def test_rate_reads_back_as_written() -> None:
    assert str(parse_rate("30/min")) == "30/min"
    assert str(parse_rate("10/5s")) == "10/5s"


@pytest.mark.parametrize(
    "written", ["30", "30/day", "/s", "0/s", 5, "five/s", None, "10/0s", "10/5", "10/5x"]
)
def test_not_rates(written: object) -> None:
    with pytest.raises(ValueError, match="rate"):
        parse_rate(written)


def test_percentages() -> None:
    assert parse_percent("80%") == 80
    assert parse_percent(" 12.5 % ") == 12.5
    assert parse_percent("80") is None
    assert parse_percent("%") is None


def _combination(values: dict[str, MatrixValue]) -> Combination:
    """A combination whose texts are its values printed, as if written so."""
    return Combination(values, {name: _printed(value) for name, value in values.items()})


def _printed(value: MatrixValue) -> str:
    """A matrix value as YAML would print it (``true``, ``3``, ``1.5``, ``ch1``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def test_template_renders_matrix_values_and_resolves_env_once() -> None:
    template = compile_template(
        "run ${{matrix.n}} on ${{ env.HOST }} with $HOME and ${x}", ["n"], {"HOST": "box"}
    )
    assert template.render(_combination({"n": 3})) == "run 3 on box with $HOME and ${x}"
    assert template.render(_combination({"n": True})) == "run true on box with $HOME and ${x}"
    assert template.render(Combination({"n": 3.1}, {"n": "3.10"})) == (
        "run 3.10 on box with $HOME and ${x}"
    )
    single = compile_template("${{ matrix.n }}", ["n"], {})
    assert single.render_value(Combination({"n": 2.5}, {"n": "2.50"})) == 2.5
    assert compile_template("plain", [], {}).is_literal


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("${{ matrix.m }}", "the matrix has no 'm'"),
        ("${{ env.UNSET_VARIABLE_X }}", "UNSET_VARIABLE_X is not set"),
        ("${{ secrets.X }}", "unknown name 'secrets'"),
        ("${{ matrix }}", "is not an interpolation"),
        ("${{ 1 + 2 }}", "is not an interpolation"),
        ("tail ${{ matrix.n", "not closed"),
    ],
)
def test_template_errors(text: str, fragment: str) -> None:
    with pytest.raises(InterpolationError) as raised:
        compile_template(text, ["n"], {})
    assert fragment in raised.value.message


def test_secret_mask_hides_values_longest_first_and_skips_tiny_ones() -> None:
    mask = Masker.from_environ(
        ["TOKEN", "SHORT", "LONGER", "UNSET"],
        {"TOKEN": "abcd", "LONGER": "abcdefgh", "SHORT": "ab"},
    )
    assert mask.mask("x abcdefgh y abcd z ab") == "x *** y *** z ab"
    assert Masker.from_environ([], {}).mask("abcd") == "abcd"
