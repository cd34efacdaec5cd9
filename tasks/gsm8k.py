"""GSM8K: grade-school math word problems, the answer checked in code.

GSM8K prompts are short; `maxPromptLength` leaves room for the longest bundled question under
data_prep's conservative 3-characters-per-token estimate.
"""

from __future__ import annotations

from tasks.spec import SAMPLE_HYPERPARAMETERS, TaskSpec

TASK = TaskSpec(
    name="gsm8k",
    stack_name="GsmRftStack",
    description="grade-school math word problems, answer checked in code (RLVR)",
    converter="data_prep.converters.gsm8k:Gsm8k",
    reward_package="gsm8k_reward",
    kind="rlvr",
    rehearsal="rft.rehearse.sources:GSM8K",
    hyperparameters={**SAMPLE_HYPERPARAMETERS, "maxPromptLength": 512},
    data={"source": "bundled", "seed": 13, "validationSize": 100},
    reward_timeout_s=60,
    reward_memory_mb=512,
)
