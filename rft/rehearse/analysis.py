"""What a rehearsal found, as plain numbers: pure functions over scored rollouts, no I/O.

The figures answer the questions that decide whether a job is worth paying for:

* Does the reward ever pay, and does it tell responses apart? (score distribution, identical share)
* Does it read the answers the prompt asks for? (format-failure rate and the reasons behind it)
* Does it agree with known truth? (agreement with labels; wrong answers it pays, right ones it misses)
* Does each prompt's group of samples carry a learning signal? GRPO learns from differences within a
  group, so a group whose samples all score the same contributes no gradient.
* Is it fast enough for Lambda, and which samples are slow?
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from rft.judge_failures import JudgeFailures, count_judge_failures
from rft.rehearse.rollouts import prompt_groups
from rft.rehearse.runner import RunOutcome, Scored

# A reward is degenerate when more than this share of samples (or of prompt groups) score the same.
MAX_IDENTICAL_SHARE = 0.95
MAX_ZERO_SIGNAL_SHARE = 0.95
PAYS_AT = 0.5  # a score at or above this counts as "rewarded" when comparing with labels
DISTINCT_VALUES_SHOWN = 8
SLOWEST_SHOWN = 5
DISAGREEMENTS_KEPT = 20
# Per-sample metrics that mean something went wrong rather than a wrong answer, and what to check.
TROUBLE_METRICS = {
    "missing_reference": "no reference_answer reached the reward (top level or metadata): check the data",
    "bad_reference": "the reference_answer has no value the reward can read: check its shape",
    "bad_sample": "samples that are not objects with messages: check how the batch is built",
    "missing_response": "no assistant turn last in messages",
    "bad_response": "the assistant turn's content is not text",
    "scorer_error": "the scorer raised: a bug in the reward (see its logs)",
    "invalid_score": "the scorer returned NaN, inf or a value outside [0, 1]: a bug in the reward",
    "internal_error": "the handler itself failed",
    # judge_error is counted apart, with its causes: `Summary.judge` (rft.judge_failures).
}


@dataclass(frozen=True)
class LabelAgreement:
    labeled: int
    agree: int
    rewarded_wrong: int  # label says wrong, reward paid: what a policy learns to exploit
    missed_correct: int  # label says right, reward did not pay: signal thrown away
    disagreeing_ids: list[str]

    @property
    def rate(self) -> float:
        return self.agree / self.labeled if self.labeled else math.nan


@dataclass(frozen=True)
class GroupSignal:
    groups: int  # prompt groups with two or more samples
    zero_signal: int  # of those, groups whose samples all scored the same

    @property
    def share(self) -> float:
        return self.zero_signal / self.groups if self.groups else math.nan


@dataclass(frozen=True)
class Timing:
    kind: str  # "per sample" or "batch average"
    mean_ms: float
    p95_ms: float
    max_ms: float
    slowest: list[dict[str, Any]]


@dataclass(frozen=True)
class VariantRow:
    variant: str
    samples: int
    mean_score: float
    agreement: float | None


@dataclass(frozen=True)
class Summary:
    task: str
    handler: str
    source: str
    samples: int
    prompt_groups: int
    batches: int
    batch_size: int
    mean_score: float
    min_score: float
    max_score: float
    distribution: list[tuple[float, int]]  # (value, count), most common first; empty when there are many
    distinct_scores: int
    modal_score: float
    modal_share: float
    format_failures: int
    metric_rates: dict[str, float]
    labels: LabelAgreement | None
    groups: GroupSignal
    timing: Timing
    variants: list[VariantRow]
    batch_dependent: list[str]
    contract_problems: list[str]
    judge: JudgeFailures | None = None  # for a judged reward: samples sent to the judge, and its failures
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    degenerate: list[str] = field(default_factory=list)

    @property
    def format_failure_rate(self) -> float:
        return self.format_failures / self.samples if self.samples else math.nan

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["format_failure_rate"] = self.format_failure_rate
        if self.labels is not None:
            data["labels"]["rate"] = self.labels.rate
        data["groups"]["zero_signal_share"] = None if math.isnan(self.groups.share) else self.groups.share
        data["distribution"] = [{"score": v, "count": c} for v, c in self.distribution]
        return data


def _key(score: float) -> float:
    """Scores compared for equality after rounding away float noise (0.1 + 0.2 vs 0.3)."""
    return round(score, 9)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def label_agreement(scored: Sequence[Scored]) -> LabelAgreement | None:
    labeled = [s for s in scored if s.rollout.label is not None]
    if not labeled:
        return None
    disagree = [s for s in labeled if (s.score >= PAYS_AT) != s.rollout.label]
    return LabelAgreement(
        labeled=len(labeled),
        agree=len(labeled) - len(disagree),
        rewarded_wrong=sum(1 for s in disagree if not s.rollout.label),
        missed_correct=sum(1 for s in disagree if s.rollout.label),
        disagreeing_ids=[s.rollout.sample_id for s in disagree[:DISAGREEMENTS_KEPT]],
    )


def group_signal(scored: Sequence[Scored]) -> GroupSignal:
    score_of = {id(s.rollout): _key(s.score) for s in scored}
    groups = [g for g in prompt_groups(s.rollout for s in scored).values() if len(g) >= 2]
    zero = sum(1 for g in groups if len({score_of[id(r)] for r in g}) == 1)
    return GroupSignal(groups=len(groups), zero_signal=zero)


def timing(scored: Sequence[Scored], kind: str) -> Timing:
    ms = [s.seconds * 1000 for s in scored]
    slowest = sorted(scored, key=lambda s: s.seconds, reverse=True)[:SLOWEST_SHOWN]
    return Timing(
        kind=kind,
        mean_ms=sum(ms) / len(ms) if ms else math.nan,
        p95_ms=percentile(ms, 95),
        max_ms=max(ms) if ms else math.nan,
        slowest=[
            {
                "id": s.rollout.sample_id,
                "ms": s.seconds * 1000,
                "response_chars": len(s.rollout.response),
                "score": s.score,
            }
            for s in slowest
        ],
    )


def metric_rates(scored: Sequence[Scored]) -> dict[str, float]:
    """Mean of each per-sample metric over all samples (absent counts as 0), non-zero ones only."""
    totals: Counter[str] = Counter()
    for s in scored:
        totals.update(s.metrics)
    rates = {name: total / len(scored) for name, total in totals.items() if total}
    return dict(sorted(rates.items(), key=lambda item: -item[1]))


def variant_rows(scored: Sequence[Scored]) -> list[VariantRow]:
    by_variant: dict[str, list[Scored]] = {}
    for s in scored:
        if s.rollout.variant is not None:
            by_variant.setdefault(s.rollout.variant, []).append(s)
    rows = []
    for variant, items in by_variant.items():
        agreement = label_agreement(items)
        rows.append(
            VariantRow(
                variant=variant,
                samples=len(items),
                mean_score=sum(s.score for s in items) / len(items),
                agreement=agreement.rate if agreement else None,
            )
        )
    return rows


def trouble(rates: dict[str, float]) -> list[str]:
    """A warning for each failure metric that fired, with the share of samples and what to check."""
    return [
        f"{name} on {rates[name]:.1%} of samples: {why}"
        for name, why in TROUBLE_METRICS.items()
        if rates.get(name)
    ]


def degeneracy(summary: Summary) -> list[str]:
    """Why this reward would waste a training job; empty when it would not. Each reason says what to check."""
    reasons: list[str] = []
    if summary.contract_problems:
        reasons.append(
            "the handler breaks the reward Lambda contract ("
            + "; ".join(summary.contract_problems[:3])
            + "): Bedrock needs one result per sample, in order, with its id and a score in [0, 1]."
        )
    if summary.samples and summary.max_score == 0:
        hint = f"{summary.format_failure_rate:.0%} of responses had no answer the reward could read"
        reasons.append(
            "every sample scored 0, so the policy gets no reward to learn from. Check that the answer "
            f"format the prompt asks for is the one the reward parses ({hint}), and that reference_answer "
            "is where the reward reads it (top level or metadata)."
        )
    elif summary.samples and summary.modal_share > MAX_IDENTICAL_SHARE:
        reasons.append(
            f"{summary.modal_share:.1%} of samples scored exactly {summary.modal_score:g} (limit "
            f"{MAX_IDENTICAL_SHARE:.0%}): the reward barely tells responses apart. Check the answer format "
            "and the reference, and that the rollouts really differ in quality."
        )
    share = summary.groups.share
    if summary.groups.groups and share > MAX_ZERO_SIGNAL_SHARE:
        reasons.append(
            f"{share:.1%} of prompt groups have samples that all scored the same (limit "
            f"{MAX_ZERO_SIGNAL_SHARE:.0%}), so GRPO gets no gradient from them. The reward needs to "
            "separate better from worse answers to the same prompt (or the prompts are all too easy/hard)."
        )
    return reasons


def summarize(
    outcome: RunOutcome, *, task: str, handler: str, source: str, notes: Sequence[str] = ()
) -> Summary:
    scored = outcome.scored
    scores = [s.score for s in scored]
    counts = Counter(_key(x) for x in scores)
    modal_score, modal_count = counts.most_common(1)[0] if counts else (math.nan, 0)
    summary = Summary(
        task=task,
        handler=handler,
        source=source,
        samples=len(scored),
        prompt_groups=len(prompt_groups(s.rollout for s in scored)),
        batches=outcome.batches,
        batch_size=outcome.batch_size,
        mean_score=sum(scores) / len(scores) if scores else math.nan,
        min_score=min(scores) if scores else math.nan,
        max_score=max(scores) if scores else math.nan,
        distribution=counts.most_common(DISTINCT_VALUES_SHOWN)
        if len(counts) <= DISTINCT_VALUES_SHOWN
        else [],
        distinct_scores=len(counts),
        modal_score=modal_score,
        modal_share=modal_count / len(scores) if scores else math.nan,
        format_failures=sum(1 for s in scored if not s.format_ok),
        metric_rates=metric_rates(scored),
        labels=label_agreement(scored),
        groups=group_signal(scored),
        timing=timing(scored, outcome.timing),
        variants=variant_rows(scored),
        batch_dependent=outcome.batch_dependent,
        contract_problems=outcome.contract_problems,
        judge=count_judge_failures(s.metrics for s in scored),
        notes=list(notes),
    )
    summary.warnings.extend(trouble(summary.metric_rates))
    summary.degenerate.extend(degeneracy(summary))
    return summary
