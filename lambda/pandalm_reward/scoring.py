"""PandaLM reward (RLAIF): the policy is trained to judge which of two responses is better.

The score has two parts (docs/reward-contract.md, "PandaLM"):

* **verdict**, checked in code: 1 when the answer's `JUDGMENT:` equals the human label
  (majority of the annotators; 0 means a tie), else 0;
* **judge**, a Bedrock model's grade in [0, 1] of the answer's `REASONING:` (see `judge_prompt`).

`aggregate = VERDICT_WEIGHT * verdict + (1 - VERDICT_WEIGHT) * judge`, with these exceptions:

* no readable JUDGMENT (missing, unreadable, or several that disagree): 0, judge not called;
* a JUDGMENT but no REASONING: `VERDICT_WEIGHT * verdict`, `format_ok` 0, judge not called;
* the judge failed (after its retries, or past the deadline): its part is the mean judge score
  of the samples in the same batch it did score (so a failure pays no more than a judged answer
  would); if it scored none, the verdict alone, as the contract says. Either way `judge_error`
  is 1, and a failure never becomes a made-up 0.5.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rft_reward.environment import env_number
from rft_reward.judge import JudgeOutcome, Prepared
from rft_reward.references import BAD_REFERENCE
from rft_reward.reward_input import Sample
from rft_reward.reward_output import Score
from rft_reward.values import finite_number

from pandalm_reward.judge_prompt import judge_request
from pandalm_reward.verdict import JUDGMENT_PROBLEMS, TIE, read_answer, read_value

WEIGHT_ENV = "VERDICT_WEIGHT"
DEFAULT_VERDICT_WEIGHT = 0.5

VERDICT = "verdict"
MISSING_REASONING = "missing_reasoning"
LABELS = (1, 2, TIE)


def verdict_weight(environ: Mapping[str, str] | None = None) -> tuple[float, list[str]]:
    """`VERDICT_WEIGHT` in [0, 1] (default 0.5), and a message if it was invalid and replaced."""
    problems: list[str] = []
    env = os.environ if environ is None else environ
    weight = env_number(env, WEIGHT_ENV, DEFAULT_VERDICT_WEIGHT, 0.0, 1.0, problems)
    return weight, problems


def reference_label(reference: Any) -> int | None:
    """The human label from `{"label": 1 | 2 | 0}` (or a bare label); None when it is not one.

    Also accepted: "1", "2", "0", "Tie", "Response 1" (the PandaLM files' string forms).
    """
    value = reference.get("label") if isinstance(reference, Mapping) else reference
    if isinstance(value, str):
        text = value.strip()
        return TIE if text == "0" else read_value(text) if text else None
    number = finite_number(value)  # None for a boolean, NaN, an object or nothing at all
    return int(number) if number in LABELS else None


@dataclass(frozen=True)
class _Judged:
    """What `combine` needs once the judge has answered (or failed)."""

    verdict: float
    metrics: dict[str, float]


def _flags(problem: str | None, missing_reasoning: bool) -> dict[str, float]:
    """Every answer reports every flag (0/1), so their means are rates per training step."""
    flags = {name: float(problem == name) for name in JUDGMENT_PROBLEMS}
    flags[MISSING_REASONING] = float(missing_reasoning)
    return flags


def prepare(sample: Sample, weight: float = DEFAULT_VERDICT_WEIGHT) -> Prepared:
    """Decide what code can decide; ask the judge only for a readable verdict with reasoning."""
    answer = read_answer(sample.response_text)
    missing_reasoning = answer.verdict is not None and answer.reasoning is None
    metrics = _flags(answer.problem, missing_reasoning)
    label = reference_label(sample.reference)
    if label is None:
        metrics.update({VERDICT: 0.0, BAD_REFERENCE: 1.0})
        return Prepared.decided(
            Score(0.0, answer.problem is None, metrics, note="reference has no label 1, 2 or 0")
        )
    if answer.verdict is None:
        metrics[VERDICT] = 0.0
        return Prepared.decided(Score(0.0, False, metrics, note=answer.problem))
    verdict = 1.0 if answer.verdict == label else 0.0
    metrics[VERDICT] = verdict
    if answer.reasoning is None:
        return Prepared.decided(Score(weight * verdict, False, metrics, note=MISSING_REASONING))
    request = judge_request(sample.reference, sample, label, answer.verdict, answer.reasoning)
    return Prepared.ask(request, _Judged(verdict, metrics))


def combine(prepared: Prepared, outcome: JudgeOutcome, weight: float = DEFAULT_VERDICT_WEIGHT) -> Score:
    """`weight * verdict + (1 - weight) * judge`, with the contract's fallback when the judge failed.

    A failed call is given the batch's mean judge score (`outcome.score`); when the judge scored
    nothing in the batch (`outcome.score is None`) the contract says to use the verdict alone. Within a
    prompt group every sample then gets the same treatment, so GRPO's relative advantages still rank
    right verdicts above wrong ones, and no made-up 0.5 ever appears.
    """
    state: _Judged = prepared.state
    if outcome.score is None:
        value = float(state.verdict)
    else:
        value = weight * state.verdict + (1.0 - weight) * outcome.score
    note = None if outcome.judged else f"judge failed: {outcome.error}"
    return Score(min(1.0, max(0.0, value)), True, dict(state.metrics), note=note)
