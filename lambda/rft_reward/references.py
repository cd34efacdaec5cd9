"""Taking the gold out of a sample's `reference_answer`, the same way in every reward.

Converters write references as objects (`{"final_answer": "48", ...}`, `{"answer": 0.0937,
"question": ...}`, `{"label": 1}`), while hand-written tests, users and the public samples also
send bare values (`"48"`, `0.0937`). A reward names the keys its gold may sit under;
`reference_field` returns the first non-empty one, or the bare value. "Missing" (None: nothing
to compare against, a `missing_reference` metric) stays distinct from "present but unusable"
(a value the reward cannot read, a `bad_reference` metric), so a converter bug shows up as such.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rft_reward.samples import is_empty


def reference_field(reference: Any, keys: Sequence[str]) -> Any:
    """The first non-empty `keys` entry of an object reference, or a non-empty bare reference
    itself; None when there is nothing there."""
    if isinstance(reference, Mapping):
        return next((reference[key] for key in keys if not is_empty(reference.get(key))), None)
    return None if is_empty(reference) else reference


def finite_number(value: Any) -> float | None:
    """A JSON number as a finite float. Booleans are not numbers (`true` is no gold), and NaN,
    infinities and integers too large for a float are unusable."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None
