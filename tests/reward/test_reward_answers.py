"""Bounded, linear-time anchor reading shared by the RLVR rewards."""

from __future__ import annotations

import pytest
from rft_reward.answers import (
    CONFLICTING_ANSWERS,
    NO_ANSWER,
    UNPARSABLE_ANSWER,
    agree,
    answer_tail,
    boxed_contents,
    line_value,
)
from rft_reward.numbers import numbers_equal


def test_answer_tail_strips_trailing_whitespace_first() -> None:
    assert answer_tail("#### 48" + " \n\t" * 5000, limit=100) == "#### 48"


def test_answer_tail_keeps_a_bounded_tail_starting_at_a_line() -> None:
    text = "x" * 5000 + "\nline one\n#### 48"
    tail = answer_tail(text, limit=30)
    assert tail == "line one\n#### 48"
    assert len(answer_tail("y" * 10_000, limit=2000)) == 2000


def test_line_value_stops_at_line_and_sentence_end() -> None:
    text = "The answer is 48. She sells 9 eggs.\nnext"
    assert line_value(text, len("The answer is ")) == "48."
    assert line_value("#### $7.50 each\nmore", 5) == "$7.50 each"
    assert line_value("#### " + "9" * 500, 5, limit=10) == "9" * 10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\boxed{48}", ["48"]),
        ("a \\boxed{1} b \\boxed {2}", ["1", "2"]),
        ("\\boxed{\\frac{1}{2}}", ["\\frac{1}{2}"]),
        ("\\boxed{\\boxed{48}}", ["\\boxed{48}", "48"]),
        ("\\boxed{48", [None]),
        ("} stray { \\boxed{48} }", ["48"]),
        ("no box", []),
    ],
)
def test_boxed_contents(text: str, expected: list[str | None]) -> None:
    assert boxed_contents(text) == expected


def test_boxed_scan_is_bounded() -> None:
    assert boxed_contents("\\boxed{" + "1" * 300 + "}", max_chars=256) == [None]
    assert boxed_contents("\\boxed{" + "1" * 200 + "}", max_chars=256) == ["1" * 200]


@pytest.mark.parametrize(
    ("readings", "value", "problem"),
    [
        ([], None, NO_ANSWER),
        ([48.0], 48.0, None),
        ([48.0, 48.0000000001], 48.0, None),
        ([48.0, 50.0], None, CONFLICTING_ANSWERS),
        ([48.0, None], None, CONFLICTING_ANSWERS),
        ([None, None], None, UNPARSABLE_ANSWER),
        ([None], None, UNPARSABLE_ANSWER),
    ],
)
def test_agree(readings: list[float | None], value: float | None, problem: str | None) -> None:
    assert tuple(agree(readings, numbers_equal)) == (value, problem)
