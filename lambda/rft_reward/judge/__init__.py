"""An LLM judge for RLAIF rewards: the optional part of `rft_reward`, imported only by judged tasks.

`batch` runs a judged batch (`prepare` what code can decide, ask the judge concurrently with
retries and the Lambda's deadline, `combine`), `client` calls Bedrock Converse, `text` fences
untrusted text and reads verdicts. This package exports what a task needs; tests and tools that
tune the client import `rft_reward.judge.client` directly. A user's own RLAIF task needs only a
rubric and, if its judge answers something other than `{"score", "reason"}` JSON, a parse rule::

    from rft_reward.judge import UNTRUSTED_DATA_RULE, fence, make_rlaif_handler

    SYSTEM = "You grade replies to customer emails for politeness ... " + UNTRUSTED_DATA_RULE

    def build_prompt(sample):
        email = sample.prompt_messages[-1]["content"]
        return fence(email, "customer email") + "\\n\\n" + fence(sample.response_text, "reply")

    lambda_handler = make_rlaif_handler(task="politeness", system_prompt=SYSTEM, build_prompt=build_prompt)
"""

from rft_reward.judge.batch import (
    JUDGE_CALLED,
    JUDGE_ERROR,
    JUDGE_SCORE,
    JudgeOutcome,
    Prepared,
    make_judge_handler,
    make_rlaif_handler,
)
from rft_reward.judge.client import JudgeRequest
from rft_reward.judge.text import UNTRUSTED_DATA_RULE, VerdictError, fence, parse_json_verdict

__all__ = [
    "JUDGE_CALLED",
    "JUDGE_ERROR",
    "JUDGE_SCORE",
    "UNTRUSTED_DATA_RULE",
    "JudgeOutcome",
    "JudgeRequest",
    "Prepared",
    "VerdictError",
    "fence",
    "make_judge_handler",
    "make_rlaif_handler",
    "parse_json_verdict",
]
