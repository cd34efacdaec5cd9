"""The hyperparameters Bedrock RFT accepts: each one's type and inclusive range, in one table.

Both the synth-time check (`stacks/config.py`, which loads this file by path because the CDK app
does not import Lambda packages) and the job function (`rft_job.hyperparameters`) read this table,
so a range cannot be loosened in one place and not the other. The values are botocore's
(`RFTHyperParameters` in the `bedrock` service model), and a test pins them to the installed
botocore. Standard library only: this file ships inside the job function's asset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class HyperParameterSpec:
    """What one hyperparameter accepts: its Python type and its inclusive range or choices."""

    kind: type[int] | type[float] | type[str]
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()


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
