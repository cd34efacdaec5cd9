"""PandaLM: judge which of two responses is better; the verdict checked in code, the reasoning by an LLM judge."""

from __future__ import annotations

from tasks.spec import SAMPLE_HYPERPARAMETERS, JudgeSpec, TaskSpec

TASK = TaskSpec(
    name="pandalm",
    stack_name="PandalmRftStack",
    description="judge which of two responses is better; verdict checked in code, reasoning by an LLM judge (RLAIF)",
    converter="data_prep.converters.pandalm:Pandalm",
    reward_package="pandalm_reward",
    kind="rlaif",
    rehearsal="rft.rehearse.sources:PANDALM",
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
