"""The reward Lambda handler factory: write only a scorer, get a contract-safe handler.

Every guarantee of the contract lives in `RewardHandler`, for both kinds of scorer:

* exactly one result per input sample, in input order, with the sample's own id (null when it
  has none; never invented or reused);
* a bad sample, a scorer that raises, a scorer that returns garbage and a scorer that overruns
  its time budget (`SCORE_TIMEOUT_S`, see `time_budget`) cost that sample a score of 0 and a
  metric saying why, never the batch (a failed or timed-out batch is retried by Bedrock and then
  fails the whole job);
* the event is the JSON array of samples, or `{"trajectories": [...]}` (the open-weight sample's
  form); anything else is logged and answered with `[]`;
* scores are finite floats in [0, 1];
* one EMF blob per batch and structured logs that never contain sample text.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from rft_reward import metric_names as names
from rft_reward.environment import DEFAULT_DEADLINE_MARGIN_S, deadline_from_context
from rft_reward.reward_input import SAMPLE_ERROR_REASONS, Sample, SampleError, event_samples, parse_sample
from rft_reward.reward_output import (
    INTERNAL_ERROR,
    INVALID_SCORE,
    SCORER_ERROR,
    SCORER_TIMEOUT,
    Score,
    checked_result,
    failed,
    to_result,
)
from rft_reward.telemetry import add_batch_metrics, describe_exception, loggable_id, make_logger, make_metrics
from rft_reward.time_budget import (
    MAX_SCORE_TIMEOUT_S,
    Failure,
    Finished,
    Outcome,
    TimedOut,
    run_values_with_budget,
    score_timeout_from_env,
)

ScoreFn = Callable[[str, Any, Sample], "Score | float"]
BatchScoreFn = Callable[[list[Sample], Any], "Sequence[Score | float]"]

_SAMPLE_ERRORS = frozenset(SAMPLE_ERROR_REASONS)
_value = attrgetter("value")
_LAMBDA_CONTEXT_FIELDS = ("function_name", "memory_limit_in_mb", "invoked_function_arn", "aws_request_id")


def _is_lambda_context(context: Any) -> bool:
    """Powertools' context injection needs these fields; a local run often passes None."""
    return context is not None and all(hasattr(context, name) for name in _LAMBDA_CONTEXT_FIELDS)


class RewardHandler:
    """A Lambda entry point `handler(event, context)` for one reward task.

    Build it with `make_handler` (a per-sample scorer) or `make_batch_handler` (a scorer that
    needs the whole batch, such as concurrent judge calls). `logger` and `metrics` are exposed so
    a batch scorer can add its own figures (judge latency) to the same EMF blob.
    """

    def __init__(
        self,
        *,
        task: str,
        score_fn: ScoreFn | None = None,
        score_batch_fn: BatchScoreFn | None = None,
        require_reference: bool = True,
        score_timeout_s: float | None = None,
    ) -> None:
        if (score_fn is None) == (score_batch_fn is None):
            raise TypeError("give exactly one of score_fn or score_batch_fn")
        if score_timeout_s is not None and not 0 <= score_timeout_s <= MAX_SCORE_TIMEOUT_S:
            raise ValueError(
                f"score_timeout_s must be in [0, {MAX_SCORE_TIMEOUT_S:g}] seconds (0: no budget)"
            )
        self.task = task
        self.require_reference = require_reference
        self._score_timeout_s = score_timeout_s
        self.logger = make_logger(task)
        self.metrics = make_metrics(task)
        self._score_fn = score_fn
        # A per-sample scorer runs behind the same batch step, so every guarantee lives in one path.
        self._score_batch_fn: BatchScoreFn = score_batch_fn or self._score_each
        # log_event=False is explicit so POWERTOOLS_LOGGER_LOG_EVENT can never print an event.
        self._metered = self.metrics.log_metrics(self._handle)
        self._in_lambda = self.logger.inject_lambda_context(self._metered, log_event=False, clear_state=True)

    def __call__(self, event: Any, context: Any = None) -> list[dict[str, Any]]:
        if _is_lambda_context(context):
            return self._in_lambda(event, context)
        self.logger.clear_state()  # no stale request id from an earlier invocation
        return self._metered(event, context)

    # -- the batch ----------------------------------------------------------------------------

    def _handle(self, event: Any, context: Any) -> list[dict[str, Any]]:
        try:
            return self._score_event(event, context)
        except Exception as exc:  # a bug in this package; still never fail the batch
            self.logger.error("Reward handler failed; every sample scores 0", extra=describe_exception(exc))
            return self._all_failed(event)

    def _score_event(self, event: Any, context: Any) -> list[dict[str, Any]]:
        items = event_samples(event)
        if items is None:
            self.logger.error(
                'Reward event must be a JSON array of samples (or {"trajectories": [...]}); '
                "returning no results",
                extra={"event_type": type(event).__name__},
            )
            self.metrics.add_metric(name=names.INVALID_EVENTS, unit=MetricUnit.Count, value=1)
            return []
        ids: list[Any] = []
        slots: list[Sample | Score] = []
        require_reference = self.require_reference
        for item in items:
            sample_id = item.get("id") if isinstance(item, dict) else None
            ids.append(sample_id)
            try:
                slots.append(parse_sample(item, require_reference=require_reference))
            except SampleError as err:
                self.logger.warning(
                    "Bad sample scores 0",
                    extra={"sample_id": loggable_id(sample_id), "reason": err.reason, "detail": err.detail},
                )
                slots.append(failed(err.reason))
        # In most batches every sample parses: then the slots are the samples, with no filtering pass.
        every_parsed = Score not in map(type, slots)
        samples = slots if every_parsed else [slot for slot in slots if type(slot) is Sample]
        raws = self._score_samples(samples, context)  # type: ignore[arg-type]
        scores: list[Score] = []
        results: list[dict[str, Any]] = []
        raw_scores = iter(raws)
        for sample_id, slot in zip(ids, slots, strict=True):  # one pass: it runs for every sample
            if type(slot) is Score:
                score, result = slot, to_result(sample_id, slot)
            else:
                raw = next(raw_scores)
                score, result = checked_result(sample_id, raw)
                if score is not raw and INVALID_SCORE in score.metrics:
                    self._log_invalid(sample_id, score)
            scores.append(score)
            results.append(result)
        if self.logger.isEnabledFor(logging.DEBUG):  # checked once: the per-sample call costs even when off
            for sample_id, score in zip(ids, scores, strict=True):
                if score.note is not None:
                    self.logger.debug(
                        "Sample scored", extra={"sample_id": loggable_id(sample_id), "note": score.note}
                    )
        self._record_batch(scores)
        return results

    def _score_samples(self, samples: list[Sample], context: Any) -> list[Any]:
        if not samples:
            return []
        try:
            raw = list(self._score_batch_fn(samples, context))
        except Exception as exc:
            self.logger.error(
                "Batch scorer raised; every sample in the batch scores 0", extra=describe_exception(exc)
            )
            return [failed(SCORER_ERROR, "batch scorer raised")] * len(samples)
        if len(raw) != len(samples):
            self.logger.error(
                "Batch scorer returned the wrong number of scores; every sample in the batch scores 0",
                extra={"expected": len(samples), "returned": len(raw)},
            )
            return [failed(SCORER_ERROR, "batch scorer returned the wrong number of scores")] * len(samples)
        return raw

    def _score_each(self, samples: list[Sample], context: Any) -> list[Any]:
        """The batch step for a per-sample scorer: one raising or slow sample costs only itself."""
        assert self._score_fn is not None
        score_fn = self._score_fn

        def score_one(sample: Sample) -> Any:
            return score_fn(sample.response_text, sample.reference, sample)

        budget = self._score_timeout()
        if budget is None:  # no budget: inline, on this thread
            values: list[Any] = []
            for sample in samples:
                try:
                    values.append(score_one(sample))
                except Exception as exc:
                    values.append(Failure(Finished(error=exc)))
        else:
            deadline = deadline_from_context(context, DEFAULT_DEADLINE_MARGIN_S)
            values = run_values_with_budget(
                score_one, samples, budget_s=budget, deadline=deadline, name=f"{self.task}-scorer"
            )
        if Failure not in map(type, values):  # the common batch: nothing raised or timed out
            return values
        return [
            self._from_outcome(sample, value.outcome, budget) if type(value) is Failure else value
            for sample, value in zip(samples, values, strict=True)
        ]

    def _score_timeout(self) -> float | None:
        if self._score_timeout_s is not None:
            return self._score_timeout_s or None
        budget, problems = score_timeout_from_env()
        for problem in problems:
            self.logger.error("Reward configuration problem", extra={"problem": problem})
        return budget

    def _from_outcome(self, sample: Sample, outcome: Outcome, budget: float | None) -> Any:
        if isinstance(outcome, TimedOut):
            why = "over its time budget" if outcome.started else "not run: the Lambda deadline was near"
            self.logger.error(
                "Scorer timed out; sample scores 0",
                extra={"sample_id": loggable_id(sample.id), "budget_s": budget, "reason": why},
            )
            return failed(SCORER_TIMEOUT, f"scorer {why}")
        if outcome.error is not None:
            return self._scorer_raised(sample, outcome.error)
        return outcome.value

    def _scorer_raised(self, sample: Sample, exc: BaseException) -> Score:
        self.logger.error(
            "Scorer raised; sample scores 0",
            extra={"sample_id": loggable_id(sample.id), **describe_exception(exc)},
        )
        return failed(SCORER_ERROR, f"scorer raised {type(exc).__name__}")

    def _log_invalid(self, sample_id: Any, score: Score) -> None:
        self.logger.error(
            "Scorer returned an invalid score; sample scores 0",
            extra={"sample_id": loggable_id(sample_id), "note": score.note},
        )

    # -- observability ------------------------------------------------------------------------

    def _record_batch(self, scores: list[Score]) -> None:
        """One EMF blob per batch (flushed by log_metrics) and one summary log line."""
        format_failures = bad_samples = scorer_errors = invalid_scores = timeouts = 0
        # Most scores of a batch are the same few constant objects: count each distinct one once.
        distinct = dict(zip(map(id, scores), scores, strict=True))
        for key, times in Counter(map(id, scores)).items():
            score = distinct[key]
            format_failures += times * (not score.format_ok)
            metrics = score.metrics
            bad_samples += times * (not _SAMPLE_ERRORS.isdisjoint(metrics))
            scorer_errors += times * (SCORER_ERROR in metrics)
            invalid_scores += times * (INVALID_SCORE in metrics)
            timeouts += times * (SCORER_TIMEOUT in metrics)
        counts = {
            names.BATCH_SIZE: len(scores),
            names.FORMAT_FAILURES: format_failures,
            names.BAD_SAMPLES: bad_samples,
            names.SCORER_ERRORS: scorer_errors,
            names.INVALID_SCORES: invalid_scores,
        }
        # Only in batches that had one, like the judge's JudgeSubstituted: alarm on presence.
        if timeouts:
            counts[names.SCORER_TIMEOUTS] = timeouts
        values = {name: (value, MetricUnit.Count) for name, value in counts.items()}
        summary: dict[str, Any] = dict(counts)
        if scores:
            mean = sum(map(_value, scores)) / len(scores)  # in input order, as a plain loop adds
            values[names.MEAN_REWARD] = (mean, MetricUnit.NoUnit)
            summary[names.MEAN_REWARD] = round(mean, 6)
        add_batch_metrics(self.metrics, values)
        self.logger.info("Scored reward batch", extra=summary)

    def _all_failed(self, event: Any) -> list[dict[str, Any]]:
        """Last resort after an internal error: zero for every sample, ids preserved."""
        items = event_samples(event)
        if items is None:
            return []
        self.metrics.add_metric(name=names.INTERNAL_ERRORS, unit=MetricUnit.Count, value=1)
        score = failed(INTERNAL_ERROR)
        return [to_result(item.get("id") if isinstance(item, dict) else None, score) for item in items]


def make_handler(
    score_fn: ScoreFn, *, task: str, require_reference: bool = True, score_timeout_s: float | None = None
) -> RewardHandler:
    """A Lambda handler that calls `score_fn(response_text, reference, sample)` once per sample.

    `score_fn` returns a `Score` or a number in [0, 1]. Set `require_reference=False` for a
    reward that needs no reference answer (format checks); otherwise samples without one score 0
    with a `missing_reference` metric and the scorer is not called.

    Each call gets `score_timeout_s` seconds (default: `SCORE_TIMEOUT_S` from the environment,
    else 5; 0: no budget, the scorer runs on the calling thread); a call that overruns scores 0
    with a `scorer_timeout` metric and the batch goes on without it.
    """
    return RewardHandler(
        task=task, score_fn=score_fn, require_reference=require_reference, score_timeout_s=score_timeout_s
    )


def make_batch_handler(
    score_batch_fn: BatchScoreFn, *, task: str, require_reference: bool = True
) -> RewardHandler:
    """A Lambda handler that calls `score_batch_fn(samples, context)` once per batch.

    For scorers that need the whole batch at once (concurrent judge calls, a deadline from
    `context.get_remaining_time_in_millis()`; `context` is None outside Lambda). It must return
    one score per sample, in order; if it raises or miscounts, every parsed sample scores 0 with
    a `scorer_error` metric.
    """
    return RewardHandler(task=task, score_batch_fn=score_batch_fn, require_reference=require_reference)
