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
    # Environment for the reward function beyond Powertools' (e.g. VERDICT_WEIGHT for a judge reward).
    reward_environment: Mapping[str, str] = field(default_factory=dict)
    # RLAIF only: the default judge model id (a foundation model or an inference profile).
    judge_model_id: str | None = None
    # Reserved concurrency for the reward function (None = account pool). Judge rewards cap it so a
    # training burst cannot exhaust the account's Lambda concurrency or the judge's quota.
    reward_reserved_concurrency: int | None = None

    @property
    def reward_package(self) -> str:
        return f"{self.name}_reward"

    @property
    def reward_handler(self) -> str:
        return f"{self.reward_package}.handler.lambda_handler"
