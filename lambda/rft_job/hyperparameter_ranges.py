"""The hyperparameters Bedrock RFT accepts: each one's type and inclusive range, in one table per API.

Both the synth-time check (`stacks/config.py`, which loads this file by path because the CDK app
does not import Lambda packages) and the job function (`rft_job.hyperparameters`) read these tables,
so a range cannot be loosened in one place and not the other. Standard library only: this file
ships inside the job function's asset.

* Nova (`CreateModelCustomizationJob`): camelCase names; the values are botocore's
  (`RFTHyperParameters` in the `bedrock` service model), and a test pins them to the installed
  botocore.
* Open-weight models (gpt-oss, Qwen3, through Bedrock's OpenAI-compatible fine-tuning API): the
  OpenAI names. Bedrock documents `n_epochs`, `batch_size` and `learning_rate_multiplier`, with
  example values and no ranges (page `fine-tuning-openai-job-create`); the others are the OpenAI
  reinforcement method's and are passed through unconfirmed (`documented=False`). With no published
  ranges, only what any value must be is checked: a positive number, whole where it counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class HyperParameterSpec:
    """What one hyperparameter accepts: its Python type and its inclusive range or choices.

    `exclusive_minimum` makes `minimum` a strict bound (a multiplier must be > 0, and 0 is not);
    `auto` also accepts the word "auto" (the API picks the value); `documented` is False for a
    name the Bedrock docs do not list (the service may reject it: docs/open-weight.md).
    """

    kind: type[int] | type[float] | type[str]
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    exclusive_minimum: bool = False
    auto: bool = False
    documented: bool = True


# Token counts have no range in botocore; 1 is the least value that can mean anything.
HYPERPARAMETER_SPECS: Mapping[str, HyperParameterSpec] = {
    "epochCount": HyperParameterSpec(int, 1, 50),
    "batchSize": HyperParameterSpec(int, 16, 512),
    "learningRate": HyperParameterSpec(float, 1e-7, 1e-3),
    "maxPromptLength": HyperParameterSpec(int, 1),
    "trainingSamplePerPrompt": HyperParameterSpec(int, 2, 16),
    "inferenceMaxTokens": HyperParameterSpec(int, 1),
    "reasoningEffort": HyperParameterSpec(str, choices=("low", "medium", "high")),
    "evalInterval": HyperParameterSpec(int, 1, 100),
}

# The fine-tuning API's `method.reinforcement.hyperparameters`.
OPEN_WEIGHT_HYPERPARAMETER_SPECS: Mapping[str, HyperParameterSpec] = {
    "n_epochs": HyperParameterSpec(int, 1),
    "batch_size": HyperParameterSpec(int, 1),
    "learning_rate_multiplier": HyperParameterSpec(float, 0, exclusive_minimum=True),
    "eval_interval": HyperParameterSpec(int, 1, documented=False),
    "eval_samples": HyperParameterSpec(int, 1, documented=False),
    "compute_multiplier": HyperParameterSpec(float, 0, exclusive_minimum=True, auto=True, documented=False),
    "reasoning_effort": HyperParameterSpec(
        str, choices=("low", "medium", "high", "default"), documented=False
    ),
}

# What an open-weight job is sent when nothing is set: the docs' example values (page
# `fine-tuning-openai-job-create`, and the public gpt-oss and Qwen notebooks). Every task alike.
OPEN_WEIGHT_DEFAULTS: Mapping[str, int | float] = {
    "n_epochs": 1,
    "batch_size": 4,
    "learning_rate_multiplier": 1.0,
}

# A Nova name set for an open-weight model: the OpenAI name for the same knob, or None when that
# API has none. `learningRate` is a rate, `learning_rate_multiplier` scales the model's default one.
NOVA_TO_OPEN_WEIGHT: Mapping[str, str | None] = {
    "epochCount": "n_epochs",
    "batchSize": "batch_size",
    "learningRate": "learning_rate_multiplier",
    "evalInterval": "eval_interval",
    "reasoningEffort": "reasoning_effort",
    "inferenceMaxTokens": None,
    "maxPromptLength": None,
    "trainingSamplePerPrompt": None,
}
