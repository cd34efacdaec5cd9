"""What a task is, in one small object.

A task (GSM8K, FinQA, PandaLM, or a user's own) is declared once as a `TaskSpec`; the stack, the data
assets, the reward function and the job are all derived from it, so adding a task touches no
infrastructure code. Values that users tune per deployment (hyperparameters, data sizes, judge model)
have their defaults here and are overridden in `cdk.json` context.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

TaskKind = Literal["rlvr", "rlaif"]


@dataclass(frozen=True)
class JudgeSpec:
    """The defaults of an RLAIF task's judge; every field can be overridden in cdk.json context.

    The reward Lambda reads these from its environment (JUDGE_MODEL_ID, VERDICT_WEIGHT,
    JUDGE_MAX_CONCURRENCY, JUDGE_TIMEOUT_S); they are declared once here and validated at synth.
    """

    # A foundation model id or a (cross-region) inference profile id.
    model_id: str
    # Share of the score that comes from the verdict checked in code; the rest is the judge's grade.
    verdict_weight: float = 0.5
    # Judge calls in flight per batch.
    max_concurrency: int = 16
    # Seconds per judge call before the SDK gives up.
    timeout_s: float = 30


@dataclass(frozen=True)
class TaskSpec:
    """A reinforcement fine-tuning task.

    `name` ties the pieces together by convention: it is the data_prep converter name
    (`python -m data_prep <name>`), the cdk.json context block (`rft:<name>`), and the reward package
    `lambda/<name>_reward/` whose `handler.lambda_handler` is the grader.
    """

    name: str
    stack_name: str
    description: str
    kind: TaskKind = "rlvr"
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    reward_timeout_s: int = 300
    reward_memory_mb: int = 512
    # Extra environment for the reward function beyond Powertools' and the judge's (e.g. SCORE_TIMEOUT_S).
    reward_environment: Mapping[str, str] = field(default_factory=dict)
    # RLAIF only: the judge and its defaults.
    judge: JudgeSpec | None = None
    # Reserved concurrency for the reward function (None = account pool). Judge rewards cap it so a
    # training burst cannot exhaust the account's Lambda concurrency or the judge's quota.
    reward_reserved_concurrency: int | None = None

    @property
    def reward_package(self) -> str:
        return f"{self.name}_reward"

    @property
    def reward_handler(self) -> str:
        return f"{self.reward_package}.handler.lambda_handler"
