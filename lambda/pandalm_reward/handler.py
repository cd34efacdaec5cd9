"""Lambda entry point `pandalm_reward.handler.lambda_handler`.

The rules are in `scoring` (verdict, aggregation, fallback) and `judge_prompt` (what the judge is
asked); concurrency, retries, the deadline and judge metrics are `rft_reward.judge`'s. The
environment is read once per batch: `JUDGE_MODEL_ID`, `JUDGE_MAX_CONCURRENCY` (16),
`JUDGE_TIMEOUT_S` (30), `VERDICT_WEIGHT` (0.5), optionally `JUDGE_MAX_TOKENS` (512) and
`JUDGE_DEADLINE_MARGIN_S` (2).
"""

from rft_reward.judge import make_judge_handler

from pandalm_reward.scoring import combine, prepare, verdict_weight

# VERDICT_WEIGHT is read once per batch; prepare and combine receive it as their last argument.
lambda_handler = make_judge_handler(
    task="pandalm", prepare=prepare, combine=combine, task_setting=verdict_weight
)
