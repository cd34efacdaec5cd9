"""What counts as a usable value in the JSON a reward receives and returns.

One definition for every part of the package: the sample parser (is a reference there at all?),
the gold readers (is this a number?), the score check (is this a finite score?), the judge's
verdict reader and the environment readers all ask these questions, and must answer alike.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any


def is_empty(value: Any) -> bool:
    """None, a blank string or an empty container carries nothing."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (dict, list, tuple)):
        return not value
    return False


def finite_number(value: Any, *, bool_ok: bool = False) -> float | None:
    """A real number as a finite float, else None: NaN, infinities, numbers too large for a float
    and non-numbers are unusable. Booleans are not numbers (`true` is no gold) unless `bool_ok`
    (a scorer may return `answer == gold` as its score)."""
    if type(value) is float:  # the common case, without the ABC check below
        return value if math.isfinite(value) else None
    if isinstance(value, bool) and not bool_ok:
        return None
    if not isinstance(value, Real):
        return None
    try:
        number = float(value)
    except (OverflowError, TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
