"""Judged batches for RLAIF rewards: prepare, ask the judge, combine, and never invent a score.

A judged reward has three parts, and only the middle one is generic:

1. the task's code decides what it can on its own (PandaLM: is the verdict right, is there any
   reasoning to grade?) and either settles the score or asks the judge:
   `prepare(sample) -> Prepared.decided(score) | Prepared.ask(request, state)`;
2. `judge_batch` asks the judge for every sample that needs it, concurrently, with retries and
   the Lambda's deadline (`rft_reward.judge.client`);
3. the task combines its own part with the judge's: `combine(prepared, JudgeOutcome) -> Score`.

**Failures never invent a score.** A sample whose judge call failed (after its retries, or past
the deadline) gets, as `JudgeOutcome.score`, the mean judge score of the samples in the same
batch that the judge did score, or None when it scored none; the task decides what None means
(PandaLM: the verdict alone). The sample is flagged with a `judge_error` metric. A
constant such as 0.5 for failures is never used: it would pay the policy for triggering them.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from rft_reward import metric_names as names
from rft_reward.environment import deadline_from_context
from rft_reward.handler import RewardHandler, make_batch_handler
from rft_reward.judge.client import JudgeClient, JudgeRequest, JudgeResult, JudgeSettings
from rft_reward.judge.text import VerdictParser, parse_json_verdict
from rft_reward.reward_input import Sample
from rft_reward.reward_output import SCORER_ERROR, Score, failed
from rft_reward.telemetry import describe_exception, loggable_id

# Per-sample metric names added to every sample of a judged batch.
JUDGE_CALLED = "judge_called"
JUDGE_ERROR = "judge_error"
JUDGE_SCORE = "judge_score"

# -- a judged batch -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """What the task's code decided about one sample before any judge call.

    Either `score` is set (decided: the judge is not called) or `request` is (ask the judge,
    then `combine`). `state` carries whatever `combine` needs, such as PandaLM's verdict.
    """

    request: JudgeRequest | None = None
    score: Score | None = None
    state: Any = None

    @classmethod
    def decided(cls, score: Score) -> Prepared:
        return cls(score=score)

    @classmethod
    def ask(cls, request: JudgeRequest, state: Any = None) -> Prepared:
        return cls(request=request, state=state)


@dataclass(frozen=True)
class JudgeOutcome:
    """The judge's part of one sample's score, as `combine` receives it.

    * judged: `score` is the judge's score and `error` is None;
    * failed: `error` names why, and `score` is the mean judge score of the samples in the same
      batch that the judge did score, or None when it scored none of them. The task decides
      what None means (PandaLM: the verdict alone); never a made-up constant.
    """

    score: float | None
    error: str | None = None

    @property
    def judged(self) -> bool:
        return self.error is None


PrepareFn = Callable[[Sample], Prepared]
CombineFn = Callable[[Prepared, JudgeOutcome], "Score | float"]


def _with_metrics(score: Score | float, extra: Mapping[str, float]) -> Score:
    base = score if isinstance(score, Score) else Score(score)
    metrics = dict(base.metrics) if isinstance(base.metrics, Mapping) else {}
    return dataclasses.replace(base, metrics={**metrics, **extra})


def judge_batch(
    samples: Sequence[Sample],
    context: Any,
    *,
    prepare: PrepareFn,
    combine: CombineFn,
    settings: JudgeSettings | None = None,
    parse: VerdictParser = parse_json_verdict,
    handler: RewardHandler | None = None,
    judge: JudgeClient | None = None,
) -> list[Score]:
    """Score a batch: `prepare` each sample, ask the judge concurrently, `combine`, add metrics.

    Every sample gets `judge_called` and `judge_error` metrics (0/1) and, when the judge scored
    it, `judge_score`. With `handler`, problems are logged through its logger and the batch's
    judge figures go into its EMF blob: JudgeCalls (samples sent to the judge), JudgeErrors
    (of those, how many got no score), JudgeThrottlesRetried (throttled responses that were
    retried, botocore's retries included), JudgeLatencyMsMean/Max (per sample, retries
    included) and JudgeSubstituted (samples given the fallback).
    """
    problems: list[str] = []
    if settings is None:
        settings, problems = JudgeSettings.from_env()
    logger = handler.logger if handler is not None else None
    judge = judge if judge is not None else JudgeClient(settings, parse)

    prepared: list[Prepared | Score] = []
    for sample in samples:
        try:
            item = prepare(sample)
            if not isinstance(item, Prepared) or (item.score is None) == (item.request is None):
                raise TypeError("prepare must return Prepared.decided(score) or Prepared.ask(request)")
            prepared.append(item)
        except Exception as exc:
            if logger is not None:
                logger.error(
                    "prepare raised; sample scores 0",
                    extra={"sample_id": loggable_id(sample.id), **describe_exception(exc)},
                )
            prepared.append(failed(SCORER_ERROR, "prepare raised"))

    requests = [p.request if isinstance(p, Prepared) and p.score is None else None for p in prepared]
    if logger is not None and any(r is not None for r in requests):  # only when the judge matters
        for problem in problems:
            logger.error("Judge configuration problem", extra={"problem": problem})
    deadline = deadline_from_context(context, settings.deadline_margin_s, judge.clock)
    results = judge.ask_all(requests, deadline)
    judged = [r.score for r in results if r is not None and r.score is not None]
    substitute = sum(judged) / len(judged) if judged else None

    scores: list[Score] = []
    for sample, item, result in zip(samples, prepared, results, strict=True):
        if isinstance(item, Score) or item.score is not None:  # decided by code: no judge call
            decided = item if isinstance(item, Score) else item.score
            scores.append(_with_metrics(decided, {JUDGE_CALLED: 0.0, JUDGE_ERROR: 0.0}))
            continue
        if result is not None and result.score is not None:
            outcome = JudgeOutcome(result.score)
            extra = {JUDGE_CALLED: 1.0, JUDGE_ERROR: 0.0, JUDGE_SCORE: result.score}
        else:
            outcome = JudgeOutcome(
                substitute, (result.error if result is not None else None) or "judge_failed"
            )
            extra = {JUDGE_CALLED: 1.0, JUDGE_ERROR: 1.0}
        try:
            scores.append(_with_metrics(combine(item, outcome), extra))
        except Exception as exc:
            if logger is not None:
                logger.error(
                    "combine raised; sample scores 0",
                    extra={"sample_id": loggable_id(sample.id), **describe_exception(exc)},
                )
            scores.append(_with_metrics(failed(SCORER_ERROR, "combine raised"), extra))
    _record(handler, results, substitute)
    return scores


def _record(
    handler: RewardHandler | None, results: Sequence[JudgeResult | None], substitute: float | None
) -> None:
    """The batch's judge figures: one EMF entry each, and one log line if anything failed."""
    if handler is None:
        return
    calls = [r for r in results if r is not None]
    errors = Counter(r.error for r in calls if r.error is not None)
    latencies = [r.latency_ms for r in calls if r.latency_ms > 0]
    metrics = handler.metrics
    metrics.add_metric(name=names.JUDGE_CALLS, unit=MetricUnit.Count, value=len(calls))
    metrics.add_metric(name=names.JUDGE_ERRORS, unit=MetricUnit.Count, value=sum(errors.values()))
    metrics.add_metric(
        name=names.JUDGE_THROTTLES_RETRIED,
        unit=MetricUnit.Count,
        value=sum(r.throttles_retried for r in calls),
    )
    if latencies:
        metrics.add_metric(
            name=names.JUDGE_LATENCY_MEAN, unit=MetricUnit.Milliseconds, value=sum(latencies) / len(latencies)
        )
        metrics.add_metric(name=names.JUDGE_LATENCY_MAX, unit=MetricUnit.Milliseconds, value=max(latencies))
    if errors:
        metrics.add_metric(name=names.JUDGE_SUBSTITUTED, unit=MetricUnit.Count, value=sum(errors.values()))
        handler.logger.warning(
            "Judge failed for some samples; they get the batch's mean judge score, "
            "or the task's code-checked score alone when the judge scored none",
            extra={
                "judge_errors": dict(errors),
                "judged": len(calls) - sum(errors.values()),
                "substitute": None if substitute is None else round(substitute, 6),
            },
        )


def make_judge_handler(
    *,
    task: str,
    prepare: Callable[..., Prepared],
    combine: Callable[..., Score | float],
    parse: VerdictParser = parse_json_verdict,
    require_reference: bool = True,
    task_setting: Callable[[], tuple[Any, list[str]]] | None = None,
) -> RewardHandler:
    """A Lambda handler for a judged reward: `judge_batch` with settings from the environment.

    `task_setting`, when given, reads the task's own configuration once per batch (PandaLM's
    `VERDICT_WEIGHT`) as `(value, problems)`: each problem is logged as a configuration error
    and `value` is passed as the last argument of `prepare(sample, value)` and
    `combine(prepared, outcome, value)`.
    """

    def score_batch(samples: list[Sample], context: Any) -> list[Score]:
        if task_setting is None:
            return judge_batch(
                samples, context, prepare=prepare, combine=combine, parse=parse, handler=handler
            )
        value, problems = task_setting()
        for problem in problems:
            handler.logger.error("Reward configuration problem", extra={"problem": problem})
        return judge_batch(
            samples,
            context,
            prepare=lambda sample: prepare(sample, value),
            combine=lambda prepared, outcome: combine(prepared, outcome, value),
            parse=parse,
            handler=handler,
        )

    handler = make_batch_handler(score_batch, task=task, require_reference=require_reference)
    return handler


def make_rlaif_handler(
    *,
    task: str,
    system_prompt: str,
    build_prompt: Callable[[Sample], str],
    parse: VerdictParser = parse_json_verdict,
    require_reference: bool = False,
) -> RewardHandler:
    """The simplest RLAIF reward: the judge's score is the reward.

    `build_prompt(sample)` returns the user message (fence the policy's text with `fence`);
    `system_prompt` is the rubric (include `UNTRUSTED_DATA_RULE`). When the judge fails, a sample
    gets the batch's mean judge score; when it scored none, 0.0 for every sample of the batch,
    which gives the policy no signal either way (all equal), rather than an invented score.
    """

    def prepare(sample: Sample) -> Prepared:
        return Prepared.ask(JudgeRequest(system_prompt, build_prompt(sample)))

    def combine(prepared: Prepared, outcome: JudgeOutcome) -> Score:
        return Score(outcome.score if outcome.score is not None else 0.0)

    return make_judge_handler(
        task=task, prepare=prepare, combine=combine, parse=parse, require_reference=require_reference
    )
