"""Prompt-length statistics, in integers so stats.json is byte-stable."""

from __future__ import annotations

import math
from collections.abc import Sequence


def nearest_rank(sorted_values: Sequence[int], fraction: float) -> int:
    """The nearest-rank percentile: always an actual value, never an interpolated float."""
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


def token_summary(tokens: Sequence[int], limit: int) -> dict[str, int | None]:
    values = sorted(tokens)
    if not values:
        return {"min": None, "median": None, "p95": None, "max": None, "limit": limit}
    return {
        "min": values[0],
        "median": nearest_rank(values, 0.5),
        "p95": nearest_rank(values, 0.95),
        "max": values[-1],
        "limit": limit,
    }
