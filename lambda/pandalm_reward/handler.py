"""Lambda entry point `pandalm_reward.handler.lambda_handler`.

The rules are in `scoring` (verdict, aggregation, fallback) and `judge_prompt` (what the judge is
asked); concurrency, retries, the deadline and judge metrics are `rft_reward.judge`'s. The
environment is read once per batch: `JUDGE_MODEL_ID`, `JUDGE_MAX_CONCURRENCY` (16),
`JUDGE_TIMEOUT_S` (30), `VERDICT_WEIGHT` (0.5), optionally `JUDGE_MAX_TOKENS` (512) and
`JUDGE_DEADLINE_MARGIN_S` (2).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from rft_reward import Sample, Score, make_batch_handler
from rft_reward.judge import judge_batch

from pandalm_reward.scoring import combine, prepare, verdict_weight


def score_batch(samples: list[Sample], context: Any) -> list[Score]:
    weight, problems = verdict_weight()
    for problem in problems:
        lambda_handler.logger.error("Reward configuration problem", extra={"problem": problem})
    return judge_batch(
        samples,
        context,
        prepare=partial(prepare, weight=weight),
        combine=partial(combine, weight=weight),
        handler=lambda_handler,
    )


lambda_handler = make_batch_handler(score_batch, task="pandalm")
