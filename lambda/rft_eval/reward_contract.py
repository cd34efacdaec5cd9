"""Checking a reward handler's answer against the Lambda contract: rehearse, invoke and evaluate alike.

Bedrock needs one result per sample, in order, with the sample's id and a finite score in [0, 1]. A
reward that breaks this fails or silently corrupts a paid job, so both the in-process rehearsal and a
deployed function's answer are checked the same way, and results are read through `parse_result`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_PROBLEMS = 5


@dataclass(frozen=True)
class Result:
    """One sample's reward as the handler returned it (`score` None when it is unusable)."""

    id: Any
    score: float | None
    format_ok: bool | None
    metrics: dict[str, float] = field(default_factory=dict)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def parse_result(obj: Any) -> Result:
    if not isinstance(obj, dict):
        return Result(None, None, None)
    metrics: dict[str, float] = {}
    format_ok: bool | None = None
    entries = obj.get("metrics_list")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        value = _number(entry.get("value"))
        if value is None:
            continue
        if entry["name"] == "format_ok":
            format_ok = value >= 0.5
        elif entry.get("type") != "Reward":
            metrics[entry["name"]] = value
    score = _number(obj.get("aggregate_reward_score"))
    if score is not None and not 0.0 <= score <= 1.0:
        score = None
    return Result(obj.get("id"), score, format_ok, metrics)


def check_results(samples: Sequence[dict[str, Any]], raw: Any) -> tuple[list[Result], list[str]]:
    """Parse a handler's answer to `samples` and list how it breaks the contract (empty: it doesn't)."""
    if not isinstance(raw, list):
        return [], [f"the handler returned {type(raw).__name__}, not a JSON array of results"]
    problems: list[str] = []
    if len(raw) != len(samples):
        problems.append(f"{len(samples)} samples in, {len(raw)} results out (must be one per sample)")
    results = [parse_result(obj) for obj in raw]
    for index, (sample, result, obj) in enumerate(zip(samples, results, raw, strict=False)):
        if len(problems) >= MAX_PROBLEMS:
            break
        if not isinstance(obj, dict):
            problems.append(f"result {index} is {type(obj).__name__}, not an object")
            continue
        if result.id != sample.get("id"):
            problems.append(
                f"result {index} has id {result.id!r}, expected {sample.get('id')!r} (input order)"
            )
        if result.score is None:
            problems.append(
                f"result {index} ({sample.get('id')!r}) has aggregate_reward_score "
                f"{obj.get('aggregate_reward_score')!r}, not a finite number in [0, 1]"
            )
        if result.format_ok is None:
            problems.append(f"result {index} ({sample.get('id')!r}) has no format_ok metric")
    return results, problems
