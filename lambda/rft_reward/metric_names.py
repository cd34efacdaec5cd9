"""The reward function's CloudWatch metric names and namespace, and the names the stack gives its
dashboard and alarms: defined once for the handler (EMF), the stack (dashboard, alarms) and the CLI
(`rft status`), which load this file by path. Standard library only, nothing imported.

Powertools puts every metric under `NAMESPACE` with one dimension, `service` (`SERVICE_DIMENSION`),
whose value is the function's POWERTOOLS_SERVICE_NAME: `reward_service_name(task)`.
"""

from __future__ import annotations

NAMESPACE = "BedrockRft"
SERVICE_DIMENSION = "service"

# Per batch (rft_reward.handler): the batch's mean score and its counts.
MEAN_REWARD = "MeanReward"
BATCH_SIZE = "BatchSize"
FORMAT_FAILURES = "FormatFailures"
BAD_SAMPLES = "BadSamples"
SCORER_ERRORS = "ScorerErrors"
INVALID_SCORES = "InvalidScores"
SCORER_TIMEOUTS = "ScorerTimeouts"
INVALID_EVENTS = "InvalidEvents"
INTERNAL_ERRORS = "InternalErrors"
# Per batch of a judged reward (rft_reward.judge.batch).
JUDGE_CALLS = "JudgeCalls"
JUDGE_ERRORS = "JudgeErrors"
JUDGE_THROTTLES_RETRIED = "JudgeThrottlesRetried"
JUDGE_LATENCY_MEAN = "JudgeLatencyMsMean"
JUDGE_LATENCY_MAX = "JudgeLatencyMsMax"
JUDGE_SUBSTITUTED = "JudgeSubstituted"


def reward_service_name(task: str) -> str:
    """The `service` dimension of a task's reward metrics (its POWERTOOLS_SERVICE_NAME)."""
    return f"{task}-reward"


def dashboard_name(stack: str) -> str:
    return f"{stack}-training"


def alarm_name_prefix(stack: str) -> str:
    """Every training alarm of `stack` is named `<prefix><what>`; the CLI lists them by this prefix."""
    return f"{stack}-training-"
