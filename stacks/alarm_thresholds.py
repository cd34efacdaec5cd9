"""The training alarms' thresholds: their defaults, their `rft:` context keys and their ranges, in one
place for the `TrainingMonitor` construct (its props) and this app's configuration (stacks/config.py).

Pure Python, no CDK, so `rft config` and the synth-time checks read it without loading the CDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class AlarmThresholds:
    """When each training alarm fires. The defaults suit a job of hours whose batches come every few
    minutes; docs/configuration.md explains each."""

    # Errors and throttles, scorer errors and the judge's error rate are summed over this many minutes.
    evaluation_minutes: int = 5
    # Reward function errors + throttles per window above this: Bedrock retries such batches, then fails the job.
    reward_errors: float = 0
    # p95 duration above this share of the function's timeout: a batch is close to being cut off.
    duration_share_of_timeout: float = 0.8
    # Samples whose scorer raised, per window, above this (each scores 0 instead of its grade).
    scorer_errors: float = 0
    # JudgeErrors / JudgeCalls per window above this share (RLAIF tasks only).
    judge_error_rate: float = 0.1
    # No batch scored for this many minutes after batches came: the job stalled (0: no such alarm).
    stalled_minutes: int = 30


# context key -> (field, kind, low, high); `low < value` when the low bound is exclusive is noted in `rule`.
ALARM_SETTINGS: Mapping[str, tuple[str, type, float, float]] = {
    "rft:alarmEvaluationMinutes": ("evaluation_minutes", int, 1, 1440),
    "rft:alarmRewardErrors": ("reward_errors", float, 0, 1e9),
    "rft:alarmDurationShareOfTimeout": ("duration_share_of_timeout", float, 0.05, 1.0),
    "rft:alarmScorerErrors": ("scorer_errors", float, 0, 1e9),
    "rft:alarmJudgeErrorRate": ("judge_error_rate", float, 0, 1.0),
    "rft:alarmStalledMinutes": ("stalled_minutes", int, 0, 1440),
}
assert {f for f, *_ in ALARM_SETTINGS.values()} == {f.name for f in fields(AlarmThresholds)}

ALARM_DEFAULTS: Mapping[str, float] = {
    key: getattr(AlarmThresholds(), name) for key, (name, *_) in ALARM_SETTINGS.items()
}
