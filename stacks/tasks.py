"""The built-in tasks, declared exactly the way a user declares their own (see docs/own-task.md).

Defaults follow the public Bedrock samples where they were sound. GSM8K prompts are short, and
`maxPromptLength` leaves room for the longest bundled question under data_prep's conservative
3-characters-per-token estimate. Outputs are given more room than the samples' 750 tokens, which cut
reasoning off before the final `####` line.
"""

from __future__ import annotations

from stacks.task_spec import JudgeSpec, TaskSpec

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

PANDALM = TaskSpec(
    name="pandalm",
    stack_name="PandalmRftStack",
    description="judge which of two responses is better; verdict checked in code, reasoning by an LLM judge (RLAIF)",
    kind="rlaif",
    # batchSize 16 x 4 samples = 64 judge calls per step, the batch the judge benchmark measures. With
    # 2 samples per prompt a three-way verdict often ties inside the group and gives GRPO no signal.
    hyperparameters={
        **SAMPLE_HYPERPARAMETERS,
        "batchSize": 16,
        "epochCount": 2,
        "maxPromptLength": 2048,
    },
    data={"source": "bundled", "seed": 13, "validationSize": 100},
    judge=JudgeSpec(model_id="us.amazon.nova-pro-v1:0", verdict_weight=0.5, max_concurrency=16, timeout_s=30),
    # Sized for judge latency: a batch runs its judge calls 16 at a time, ~1-3 s each, with at most
    # 2 SDK attempts of 30 s plus a short own retry, and the handler returns before Lambda's deadline
    # (keeping a 2 s margin) with the contract's fallback for anything unfinished. 300 s leaves room
    # for several waves of slow calls in a large batch.
    reward_timeout_s=300,
    reward_memory_mb=512,
    # 10 concurrent batches x 16 calls = at most 160 judge calls in flight: a burst of training steps
    # cannot exhaust the judge's Bedrock quota (throttling everyone) or the account's Lambda pool.
    # No provisioned concurrency: a ~1 s cold start is small next to a training step. Accounts whose
    # Lambda limit is too low to reserve any set `rft:pandalm` -> rewardReservedConcurrency to 0.
    reward_reserved_concurrency=10,
)

# rft new-task: generated task specs go above this line.

TASKS: tuple[TaskSpec, ...] = (
    GSM8K,
    FINQA,
    PANDALM,
    # rft new-task: generated tasks go above this line.
)


def task_by_name(name: str) -> TaskSpec:
    for task in TASKS:
        if task.name == name:
            return task
    raise KeyError(f"Unknown task {name!r}; known tasks: {[t.name for t in TASKS]}")
