"""The built-in tasks, declared exactly the way a user declares their own (see docs/own-task.md).

Defaults follow the public Bedrock samples where they were sound. GSM8K prompts are short, and
`maxPromptLength` leaves room for the longest bundled question under data_prep's conservative
3-characters-per-token estimate. Outputs are given more room than the samples' 750 tokens, which cut
reasoning off before the final `####` line.
"""

from __future__ import annotations

from stacks.task_spec import TaskSpec

# What the public samples used, except output length: 2048 tokens with low reasoning effort leaves
# room for the reasoning and the final answer line, where 750 cut answers off.
SAMPLE_HYPERPARAMETERS = {
    "epochCount": 1,
    "batchSize": 32,
    "learningRate": 5e-5,
    "trainingSamplePerPrompt": 4,
    "evalInterval": 10,
    "inferenceMaxTokens": 2048,
    "reasoningEffort": "low",
}

GSM8K = TaskSpec(
    name="gsm8k",
    stack_name="GsmRftStack",
    description="grade-school math word problems, answer checked in code (RLVR)",
    kind="rlvr",
    hyperparameters={**SAMPLE_HYPERPARAMETERS, "maxPromptLength": 512},
    data={"source": "bundled", "seed": 13, "validationSize": 100},
    reward_timeout_s=60,
    reward_memory_mb=512,
)

FINQA = TaskSpec(
    name="finqa",
    stack_name="FinqaRftStack",
    description="numerical reasoning over financial tables and text, answer checked in code (RLVR)",
    kind="rlvr",
    # Real FinQA prompts (text + table) run to a few thousand tokens; over-long ones are dropped and
    # counted at synth rather than failing the job.
    hyperparameters={**SAMPLE_HYPERPARAMETERS, "maxPromptLength": 4000},
    data={"source": "bundled", "seed": 13, "validationSize": 100, "onOverlong": "drop"},
    reward_timeout_s=60,
    reward_memory_mb=512,
)

TASKS: tuple[TaskSpec, ...] = (GSM8K, FINQA)


def task_by_name(name: str) -> TaskSpec:
    for task in TASKS:
        if task.name == name:
            return task
    raise KeyError(f"Unknown task {name!r}; known tasks: {[t.name for t in TASKS]}")
