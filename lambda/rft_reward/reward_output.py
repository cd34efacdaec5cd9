"""The output side of the reward Lambda contract: a score and its metrics.

Scorers return a `Score` (or a bare number); `check_score` is the single place that makes sure
what reaches Bedrock is a finite float in [0, 1] with finite metric values. A scorer that
returns NaN, 1.5 or a string has a bug: the sample scores 0 with an `invalid_score` metric, so
the bug shows up in the job's metrics instead of being clamped into a plausible-looking reward.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from rft_reward.values import finite_number

REWARD = "reward"
FORMAT_OK = "format_ok"
# Containment reasons added by the handler; each is a per-sample metric set to 1.
SCORER_ERROR = "scorer_error"
SCORER_TIMEOUT = "scorer_timeout"
INVALID_SCORE = "invalid_score"
INVALID_METRIC = "invalid_metric"
INTERNAL_ERROR = "internal_error"

_RESERVED_NAMES = frozenset({REWARD, FORMAT_OK})
_MAX_NAME_CHARS = 64
_MAX_NOTE_CHARS = 200


@dataclass(frozen=True, slots=True)
class Score:
    """One sample's reward.

    `metrics` are extra per-sample figures reported as Bedrock "Metric" entries (for example
    `{"missing_reference": 1}`); `note` is a short reason for the logs and must never contain
    the sample's text.
    """

    value: float
    format_ok: bool = True
    metrics: Mapping[str, float] = field(default_factory=dict)
    note: str | None = None


def failed(reason: str, note: str | None = None) -> Score:
    """Score 0 for a sample that could not be scored, flagged with `reason` as a metric."""
    return Score(0.0, format_ok=False, metrics={reason: 1.0}, note=note or reason)


def _describe(value: Any) -> str:
    """Name a bad score for the logs without echoing anything large or textual."""
    if isinstance(value, float) or (isinstance(value, int) and abs(value) < 10**12):
        return repr(value)
    return f"a {type(value).__name__}"


def clean_metrics(metrics: Any) -> tuple[dict[str, float], bool]:
    """Keep the well-formed extra metrics; report whether any had to be dropped."""
    if not isinstance(metrics, Mapping):
        return {}, metrics is not None
    clean: dict[str, float] = {}
    dropped = False
    for name, value in metrics.items():
        number = finite_number(value, bool_ok=True)
        if (
            number is None
            or not isinstance(name, str)
            or not name
            or len(name) > _MAX_NAME_CHARS
            or name in _RESERVED_NAMES
        ):
            dropped = True
            continue
        clean[name] = number
    return clean, dropped


def _valid_as_is(score: Score) -> bool:
    """The common case, checked without building anything: a float value in [0, 1], a bool
    `format_ok`, a short note or none, and float metrics under valid names."""
    value = score.value
    if type(value) is not float or not 0.0 <= value <= 1.0:  # NaN fails the comparison
        return False
    note = score.note
    if type(score.format_ok) is not bool or (
        note is not None and (type(note) is not str or len(note) > _MAX_NOTE_CHARS)
    ):
        return False
    metrics = score.metrics
    if type(metrics) is not dict and type(metrics) is not MappingProxyType:
        return False
    for name, number in metrics.items():
        if (
            type(number) is not float
            or not math.isfinite(number)
            or type(name) is not str
            or not 0 < len(name) <= _MAX_NAME_CHARS
            or name in _RESERVED_NAMES
        ):
            return False
    return True


# Scores made by `constant_score`, by id, each with its result's metric entries built once (the
# Score in the value keeps its object alive, so an id is never reused while it is in here).
_CONSTANTS: dict[int, tuple[Score, tuple[dict[str, Any], ...]]] = {}


def constant_score(
    value: float, format_ok: bool = True, metrics: Mapping[str, float] | None = None, note: str | None = None
) -> Score:
    """A Score checked once, for a scorer to return as often as it likes (GSM8K's "correct").

    Its metrics are a read-only view of a private copy, and a Score is frozen, so it can never
    change after the check: `check_score` passes it without looking again, and `checked_result`
    copies its metric entries instead of building them.
    """
    score = Score(value, format_ok, MappingProxyType(dict(metrics or {})), note)
    if not _valid_as_is(score):
        raise ValueError(f"not a valid constant score: {score!r}")
    _CONSTANTS[id(score)] = (score, tuple(_metric_entries(score)))
    return score


def check_score(raw: Any) -> Score:
    """Turn whatever a scorer returned into a Score that honours the contract.

    A Score that already does is returned as it is (most are, and this runs once per sample).
    """
    if type(raw) is Score:
        known = _CONSTANTS.get(id(raw))
        if (known is not None and known[0] is raw) or _valid_as_is(raw):
            return raw
    base = raw if isinstance(raw, Score) else Score(raw)
    value = finite_number(base.value, bool_ok=True)
    if value is None or not 0.0 <= value <= 1.0:
        return failed(
            INVALID_SCORE, f"scorer returned {_describe(base.value)}, not a finite number in [0, 1]"
        )
    metrics, dropped = clean_metrics(base.metrics)
    if dropped:
        metrics[INVALID_METRIC] = 1.0
    try:
        format_ok = bool(base.format_ok)
    except Exception:  # an object whose truth value raises (e.g. an array) is a scorer bug
        format_ok = False
        metrics[INVALID_METRIC] = 1.0
    note = base.note[:_MAX_NOTE_CHARS] if isinstance(base.note, str) else None
    return Score(value, format_ok=format_ok, metrics=metrics, note=note)


def _metric_entries(score: Score) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = [
        {"name": REWARD, "value": score.value, "type": "Reward"},
        {"name": FORMAT_OK, "value": 1.0 if score.format_ok else 0.0, "type": "Metric"},
    ]
    entries += [{"name": n, "value": v, "type": "Metric"} for n, v in score.metrics.items()]
    return entries


def to_result(sample_id: Any, score: Score) -> dict[str, Any]:
    """The contract's output object for one sample; `score` must come from `check_score`."""
    return {"id": sample_id, "aggregate_reward_score": score.value, "metrics_list": _metric_entries(score)}


def checked_result(sample_id: Any, raw: Any) -> tuple[Score, dict[str, Any]]:
    """`check_score(raw)` and its `to_result`, in one call: the handler's step for every sample.

    A constant score (most of GSM8K's) needs no check, and its entries are copies of the ones
    built when it was made: every result gets dicts of its own, so a caller that edits one result
    changes no other.
    """
    known = _CONSTANTS.get(id(raw))
    if known is not None and known[0] is raw:
        metrics_list = [entry.copy() for entry in known[1]]
        return raw, {"id": sample_id, "aggregate_reward_score": raw.value, "metrics_list": metrics_list}
    score = check_score(raw)
    return score, to_result(sample_id, score)
