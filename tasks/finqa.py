"""FinQA: numerical reasoning over financial tables and text, the answer checked in code."""

from __future__ import annotations

from tasks.spec import SAMPLE_HYPERPARAMETERS, TaskSpec

TASK = TaskSpec(
    name="finqa",
    stack_name="FinqaRftStack",
    description="numerical reasoning over financial tables and text, answer checked in code (RLVR)",
    converter="data_prep.converters.finqa:Finqa",
    reward_package="finqa_reward",
    kind="rlvr",
    rehearsal="rft.rehearse.sources:FINQA",
    # Real FinQA prompts (text + table) run to a few thousand tokens; over-long ones are dropped and
    # counted at synth rather than failing the job.
    hyperparameters={**SAMPLE_HYPERPARAMETERS, "maxPromptLength": 4000},
    data={"source": "bundled", "seed": 13, "validationSize": 100, "onOverlong": "drop"},
    reward_timeout_s=60,
    reward_memory_mb=512,
)
