"""The statistics against values worked by hand (and against published Wilson bounds)."""

from __future__ import annotations

import math

import pytest
from rft_eval.stats import has_signal, majority_correct, mcnemar_exact, pass_at_k, wilson


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (8, 10, 0.4902, 0.9433),  # the textbook example
        (0, 10, 0.0, 0.2775),  # no zero-width interval at 0/n
        (10, 10, 0.7225, 1.0),
        (50, 100, 0.4038, 0.5962),
        (1, 2, 0.0945, 0.9055),
    ],
)
def test_wilson_bounds(successes: int, n: int, low: float, high: float) -> None:
    got_low, got_high = wilson(successes, n)
    assert round(got_low, 4) == low
    assert round(got_high, 4) == high


def test_wilson_without_data_is_uninformative_and_rejects_impossible_counts() -> None:
    assert wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson(11, 10)


@pytest.mark.parametrize(
    ("improved", "regressed", "p"),
    [
        (0, 0, 1.0),  # no discordant prompt: no evidence either way
        (3, 3, 1.0),
        (0, 5, 0.0625),  # 2 x (1/2)^5
        (6, 1, 0.125),  # 2 x (C(7,0) + C(7,1)) / 2^7 = 2 x 8/128
        (2, 8, 0.109375),  # 2 x (1 + 10 + 45) / 1024
        (1, 2, 1.0),  # 2 x (1 + 3)/8 = 1, capped
        (0, 10, 2 / 1024),
    ],
)
def test_exact_mcnemar_on_hand_worked_tables(improved: int, regressed: int, p: float) -> None:
    assert math.isclose(mcnemar_exact(improved, regressed), p, rel_tol=1e-12)
    assert mcnemar_exact(regressed, improved) == mcnemar_exact(improved, regressed)  # two-sided


def test_pass_at_k() -> None:
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2)
    assert pass_at_k(4, 0, 4) == 0.0
    assert pass_at_k(4, 3, 2) == 1.0
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 3)


def test_signal_and_majority() -> None:
    assert has_signal([1.0, 0.0, 0.0, 0.0])
    assert not has_signal([1.0, 1.0, 1.0, 1.0])
    assert not has_signal([0.0, 0.2, 0.49, 0.0])
    assert majority_correct([1.0]) is True
    assert majority_correct([0.0]) is False
    assert majority_correct([1.0, 1.0, 0.0]) is True
    assert majority_correct([1.0, 0.0]) is False  # a tie is not credited
    assert majority_correct([]) is None
