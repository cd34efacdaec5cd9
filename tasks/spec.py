"""What a task is, in one small object.

A task (GSM8K, FinQA, PandaLM, or a user's own) is declared once as a `TaskSpec`, in its own module
under `tasks/`; the stack, the data assets, the reward function, the job and the CLI's rehearsal all
derive from it, so adding a task touches no infrastructure code. The spec names each of its parts
explicitly (converter, reward package, rehearsal rollouts) rather than leaving them to a naming
convention. Values that users tune per deployment (hyperparameters, data sizes, judge model) have
their defaults here and are overridden in `cdk.json` context.

This package is pure (standard library only): `stacks/` (CDK), `data_prep/` and `rft/` all import
it, and the parts it names are imported only when asked for (`resolve`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

TaskKind = Literal["rlvr", "rlaif"]

# What the public Bedrock samples used, except output length: 2048 tokens with low reasoning effort
# leaves room for the reasoning and the final answer line, where 750 cut answers off.
SAMPLE_HYPERPARAMETERS: Mapping[str, Any] = {
    "epochCount": 1,
    "batchSize": 32,
    "learningRate": 5e-5,
    "trainingSamplePerPrompt": 4,
    "evalInterval": 10,
    "inferenceMaxTokens": 2048,
    "reasoningEffort": "low",
}


class TaskRegistryError(ValueError):
    """A task declaration that cannot be used, worded as the fix."""


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


@dataclass(frozen=True, kw_only=True)
class TaskSpec:
    """A reinforcement fine-tuning task and the parts it is made of.

    `converter` and `rehearsal` are `"module:attribute"` references, imported only by the code that
    uses them (data_prep and `rft rehearse`), so reading the registry stays cheap and needs no CDK.
    """

    name: str
    stack_name: str
    description: str
    # The data_prep converter: a `Converter` subclass (or instance), e.g. "data_prep.converters.gsm8k:Gsm8k".
    converter: str
    # The reward's top-level package under lambda/; its `handler.lambda_handler` is the grader.
    reward_package: str
    kind: TaskKind = "rlvr"
    # Bundled rollouts for `rft rehearse`: a "module:attribute" naming an `rft.rehearse.sources.TaskRehearsal`,
    # or None (then rehearse reads --responses, or the scaffold's data_prep/samples/<name>/rollouts.jsonl).
    rehearsal: str | None = None
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
    def reward_handler(self) -> str:
        return f"{self.reward_package}.handler.lambda_handler"


def resolve(reference: str) -> Any:
    """The object a `"package.module:attribute"` reference names, importing its module now."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise TaskRegistryError(f"{reference!r} must be written as 'package.module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise TaskRegistryError(f"{reference!r}: cannot import {module_name} ({error})") from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise TaskRegistryError(f"{reference!r}: {module_name} has no {attribute!r}") from None
