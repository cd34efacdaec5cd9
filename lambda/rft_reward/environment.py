"""Reading the Lambda's environment and deadline, for the handler and for optional features alike.

A bad environment value must not fail every batch of a multi-hour job, so readers here replace it
with its default and report a problem for the caller to log. The deadline is the Lambda's
remaining time minus a safety margin kept free for building results and flushing metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from rft_reward.values import finite_number

DEFAULT_DEADLINE_MARGIN_S = 2.0


def env_number(
    env: Mapping[str, str],
    name: str,
    default: float,
    low: float,
    high: float,
    problems: list[str],
    *,
    integer: bool = False,
) -> float:
    """A number from the environment within [low, high]; the default (and a problem) otherwise."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = finite_number(int(raw) if integer else float(raw))
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        problems.append(
            f"{name}={raw!r} is invalid (expected {kind} in [{low:g}, {high:g}]); using {default:g}"
        )
        return default
    return int(value) if integer else value


def deadline_from_context(
    context: Any, margin_s: float, clock: Callable[[], float] = time.monotonic
) -> float | None:
    """The `clock()` time by which the batch must stop waiting; None outside Lambda."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    try:
        millis = finite_number(remaining())
    except Exception:  # a context object that is not Lambda's; no deadline rather than no scores
        return None
    if millis is None:
        return None
    return clock() + millis / 1000.0 - margin_s
