"""Number normalisation shared by the RLVR rewards (contract: GSM8K "Normalisation")."""

from __future__ import annotations

import math

import pytest
from rft_reward.numbers import NumberReading, numbers_equal, parse_number, strip_markup, to_number


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("48", 48),
        ("$48", 48),
        ("\\$48", 48),
        ("$-5", -5),
        ("-$5", -5),
        ("1,000", 1000),
        ("1,234,567.25", 1234567.25),
        ("**48**", 48),
        ("`48`", 48),
        ("48.", 48),
        ("48 apples", 48),
        ("48 dollars.", 48),
        ("7 dollars per hour", 7),
        ("18 \\text{ dollars}", 18),
        ("25%", 25),
        ("25 \\%", 25),
        ("7.50", 7.5),
        ("18.00", 18),
        ("-5", -5),
        ("\u22125", -5),
        ("0.5", 0.5),
        (".5", 0.5),
        ("1e3", 1000),
        ("2.5E-3", 0.0025),
        ("1/2", 0.5),
        ("3 / 4", 0.75),
        ("\\frac{1}{2}", 0.5),
        ("\\dfrac{3}{4}", 0.75),
        ("-\\frac{1}{2}", -0.5),
        ("\\frac{-1}{2}", -0.5),
        ("$\\boxed{18}$", 18),
    ],
)
def test_reads_the_number(text: str, value: float) -> None:
    assert to_number(text) == pytest.approx(value)


@pytest.mark.parametrize(
    "text",
    [
        "forty-eight",
        "forty eight",
        "",
        "   ",
        "$",
        "48 or 50",
        "48 or fifty",
        "48 and a half",
        "48 million",  # scale words change the value; GSM8K answers carry none
        "1,00",
        "48,5",
        "1/0",
        "\\frac{1}{0}",
        "1e999",
        "about 48",
        "48 because she sells nine eggs each day",  # more unit words than a unit
        "4" * 300,  # longer than any number worth reading
    ],
)
def test_rejects_what_is_not_exactly_one_number(text: str) -> None:
    assert to_number(text) is None


def test_percent_is_reported_so_finqa_can_read_it_as_a_ratio() -> None:
    assert parse_number("14.1%") == NumberReading(14.1, True)
    assert parse_number("14.1 percent") == NumberReading(14.1, True)
    assert parse_number("14.1") == NumberReading(14.1, False)


def test_finqa_hooks_are_off_by_default_and_composable() -> None:
    assert to_number("(94)") is None
    assert parse_number("(94)", accounting_negatives=True) == NumberReading(-94.0, False)
    assert parse_number("$5 million", ignore_scale_words=True) == NumberReading(5.0, False)


def test_strip_markup_keeps_the_number_intact() -> None:
    assert strip_markup(" **$1,000.50**. ") == "1,000.50"


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (7.5, 7.50, True),
        (18, 18.0, True),
        (1_000_000, 1_000_000.5, True),  # within 1e-6 relative
        (1_000_000, 1_000_002, False),
        (0.0, 1e-10, True),  # within 1e-9 absolute
        (0.0, 1e-8, False),
        (0.1 + 0.2, 0.3, True),
        (48, 49, False),
        (math.nan, math.nan, False),
        (math.inf, math.inf, False),
    ],
)
def test_numbers_equal_uses_relative_plus_absolute_tolerance(a: float, b: float, equal: bool) -> None:
    assert numbers_equal(a, b) is equal


def test_tolerance_is_adjustable_for_finqa() -> None:
    assert numbers_equal(3.8, 3.81, rel_tol=0.01)
    assert not numbers_equal(3.8, 3.0, rel_tol=0.01)
