"""The per-sample time budget when the whole batch is handed to one worker thread.

The handler gives a batch's scoring to one worker at a time; these tests check that each sample
still has a budget of its own: a hung sample in the middle of a batch costs only itself (the
samples after it are scored, on a fresh worker), two hung samples cost two, a Lambda deadline
reached mid-batch keeps what was scored and never starts the rest, and a scorer that raises
costs its sample without abandoning the worker. Hung scorers block on an Event released at
teardown, so nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from rft_reward import Sample, make_handler
from rft_reward.references import _CORRECT, _WRONG
from rft_reward.reward_output import check_score, checked_result, constant_score, to_result
from rft_reward.telemetry import add_batch_metrics

from .helpers import FakeLambdaContext, make_sample, metric

BUDGET_S = 0.3  # long enough for a trivial scorer on a loaded machine, short enough to keep tests fast


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown so the hung scorers return and their abandoned workers exit."""
    event = threading.Event()
    yield event
    event.set()


def run(
    handler: Any, ids: list[Any], context: Any = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The handler's results for one sample per id, and its parsed log lines and EMF blob."""
    stream = handler.logger.registered_handler
    lines: list[str] = []

    class Lines:
        def write(self, text: str) -> int:
            lines.extend(line for line in text.splitlines() if line)
            return len(text)

        def flush(self) -> None:
            pass

    old = stream.setStream(Lines())
    try:
        with contextlib.redirect_stdout(Lines()):  # the EMF blob is printed
            results = handler([make_sample(sample_id=i) for i in ids], context)
    finally:
        stream.setStream(old)
    return results, [json.loads(line) for line in lines]


def emf(records: list[dict[str, Any]]) -> dict[str, Any]:
    (blob,) = [r for r in records if "_aws" in r]
    return blob


class Recorder:
    """A scorer that records which sample ran on which thread, and hangs on the ids it is told."""

    def __init__(
        self, release: threading.Event, hang: set[Any] = frozenset(), raise_on: set[Any] = frozenset()
    ):
        self.release, self.hang, self.raise_on = release, hang, raise_on
        self.calls: list[tuple[Any, threading.Thread]] = []

    def __call__(self, text: str, reference: Any, sample: Sample) -> float:
        self.calls.append((sample.id, threading.current_thread()))
        if sample.id in self.hang:
            self.release.wait()
        if sample.id in self.raise_on:
            raise KeyError(sample.id)
        return 0.5

    def threads(self) -> list[threading.Thread]:
        return [thread for _, thread in self.calls]


def test_a_hung_sample_mid_batch_costs_only_itself_and_the_rest_go_to_a_fresh_worker(
    release: threading.Event,
) -> None:
    scorer = Recorder(release, hang={4})
    handler = make_handler(scorer, task="budget-mid", score_timeout_s=BUDGET_S)
    results, records = run(handler, list(range(8)))

    assert [r["id"] for r in results] == list(range(8))
    assert [r["aggregate_reward_score"] for r in results] == [0.5] * 4 + [0.0] + [0.5] * 3
    assert [metric(r, "scorer_timeout") for r in results] == [None] * 4 + [1.0] + [None] * 3
    assert [sample_id for sample_id, _ in scorer.calls] == list(range(8)), "in order, each once"
    threads = scorer.threads()
    assert len(set(threads[:5])) == 1, "one worker scored the batch up to the hung sample"
    assert threads[5] is not threads[4] and len(set(threads[5:])) == 1
    assert emf(records)["ScorerTimeouts"] == [1.0]


def test_two_hung_samples_cost_two_and_every_other_sample_is_scored(release: threading.Event) -> None:
    scorer = Recorder(release, hang={1, 5})
    handler = make_handler(scorer, task="budget-two", score_timeout_s=BUDGET_S)
    results, records = run(handler, list(range(7)))

    assert [r["aggregate_reward_score"] for r in results] == [0.5, 0.0, 0.5, 0.5, 0.5, 0.0, 0.5]
    assert [i for i, r in enumerate(results) if metric(r, "scorer_timeout") == 1.0] == [1, 5]
    assert len(set(scorer.threads())) == 3, "a fresh worker after each hung sample"
    assert emf(records)["ScorerTimeouts"] == [2.0]
    timed_out = [r["sample_id"] for r in records if r.get("message") == "Scorer timed out; sample scores 0"]
    assert timed_out == [1, 5]


def test_the_lambda_deadline_mid_batch_keeps_the_scored_samples_and_starts_no_more(
    release: threading.Event,
) -> None:
    scorer = Recorder(release, hang={3})
    # 2.3 s left and a 2 s safety margin: 0.3 s for the batch, though each sample may take 60 s.
    handler = make_handler(scorer, task="budget-deadline", score_timeout_s=60)
    results, records = run(handler, list(range(6)), FakeLambdaContext(remaining_ms=2300))

    assert [sample_id for sample_id, _ in scorer.calls] == [0, 1, 2, 3], "nothing starts after the deadline"
    assert [r["aggregate_reward_score"] for r in results] == [0.5, 0.5, 0.5, 0.0, 0.0, 0.0]
    assert [metric(r, "scorer_timeout") for r in results] == [None, None, None, 1.0, 1.0, 1.0]
    reasons = [r["reason"] for r in records if r.get("message") == "Scorer timed out; sample scores 0"]
    assert reasons == ["over its time budget"] + ["not run: the Lambda deadline was near"] * 2
    assert emf(records)["ScorerTimeouts"] == [3.0]


def test_a_scorer_that_raises_mid_batch_costs_its_sample_and_keeps_the_worker(
    release: threading.Event,
) -> None:
    scorer = Recorder(release, raise_on={2, 3})
    handler = make_handler(scorer, task="budget-raise", score_timeout_s=BUDGET_S)
    results, records = run(handler, list(range(6)))

    assert [r["aggregate_reward_score"] for r in results] == [0.5, 0.5, 0.0, 0.0, 0.5, 0.5]
    assert [metric(r, "scorer_error") for r in results] == [None, None, 1.0, 1.0, None, None]
    assert len(set(scorer.threads())) == 1, "an exception abandons no worker"
    blob = emf(records)
    assert blob["ScorerErrors"] == [2.0] and "ScorerTimeouts" not in blob


# -- the per-sample and per-batch shortcuts give what the general code gives ----------------------


@pytest.mark.parametrize("score", [_CORRECT, _WRONG, constant_score(0.25, False, {"x": 1.0}, "why")])
def test_a_constant_scores_result_equals_the_general_one_and_is_its_own_copy(score: Any) -> None:
    checked, result = checked_result("id-1", score)
    assert checked is score and result == to_result("id-1", check_score(score))
    _, other = checked_result("id-2", score)
    result["metrics_list"][0]["value"] = 0.75  # a caller editing one result changes no other
    assert other["metrics_list"][0]["value"] == score.value
    assert checked_result("id-3", score)[1]["metrics_list"][0]["value"] == score.value


def _blob(metrics: EphemeralMetrics) -> dict[str, Any]:
    blob = dict(metrics.serialize_metric_set())
    blob["_aws"] = {k: v for k, v in blob["_aws"].items() if k != "Timestamp"}
    return blob


def test_batch_metrics_make_the_same_emf_blob_as_add_metric() -> None:
    values = {"BatchSize": (64, MetricUnit.Count), "MeanReward": (0.625, MetricUnit.NoUnit)}
    fast, general = EphemeralMetrics(namespace="N", service="s"), EphemeralMetrics(namespace="N", service="s")
    for metrics in (fast, general):
        metrics.add_metric(name="JudgeLatency", unit=MetricUnit.Milliseconds, value=12.5)  # a batch scorer's
    add_batch_metrics(fast, values)
    for name, (value, unit) in values.items():
        general.add_metric(name=name, unit=unit, value=value)
    assert _blob(fast) == _blob(general)


def test_batch_metrics_that_meet_a_batch_scorers_name_add_to_it_as_add_metric_does() -> None:
    fast, general = EphemeralMetrics(namespace="N", service="s"), EphemeralMetrics(namespace="N", service="s")
    for metrics in (fast, general):
        metrics.add_metric(name="BatchSize", unit=MetricUnit.Count, value=1)
    add_batch_metrics(fast, {"BatchSize": (64, MetricUnit.Count)})
    general.add_metric(name="BatchSize", unit=MetricUnit.Count, value=64)
    assert _blob(fast) == _blob(general) and _blob(fast)["BatchSize"] == [1.0, 64.0]
