"""The reward-authoring API contains every way a user's scorer can misbehave.

A scorer that raises, returns NaN, returns more than 1, or is slow costs its own sample a score of 0
and a metric saying why; the batch always comes back with one result per sample, in order. Slow
scorers block on an Event the test releases at the end, so nothing depends on how fast this machine
is except that a trivial scorer finishes well inside a fraction of a second.
"""

from __future__ import annotations

import contextvars
import io
import json
import math
import threading
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from typing import Any

import pytest
from rft_reward import Sample, Score, make_handler
from rft_reward.time_budget import (
    DEFAULT_SCORE_TIMEOUT_S,
    Finished,
    TimedOut,
    run_with_budget,
    score_timeout_from_env,
)

BUDGET_S = 0.3  # long enough for a trivial scorer on a loaded machine, short enough to keep tests fast


def sample(sample_id: Any, response: str = "ANSWER: 4", reference: Any = "4") -> dict[str, Any]:
    return {
        "id": sample_id,
        "messages": [{"role": "user", "content": "2 + 2?"}, {"role": "assistant", "content": response}],
        "reference_answer": reference,
    }


def metric(result: dict[str, Any], name: str) -> float | None:
    values = [m["value"] for m in result["metrics_list"] if m["name"] == name]
    return values[0] if values else None


def run_quietly(handler: Any, event: Any, context: Any = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Call the handler; return its results and the stdout lines (logs and the EMF blob)."""
    stream = handler.logger.registered_handler
    buffer = io.StringIO()
    old = stream.setStream(buffer)
    try:
        with redirect_stdout(buffer):
            results = handler(event, context)
    finally:
        stream.setStream(old)
    return results, buffer.getvalue().splitlines()


def emf(lines: list[str]) -> dict[str, Any]:
    """The batch's one EMF blob, single-value lists unwrapped."""
    (blob,) = [json.loads(line) for line in lines if line.startswith("{") and '"_aws"' in line]
    return {k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in blob.items()}


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown so abandoned slow scorers return and their worker threads exit."""
    event = threading.Event()
    yield event
    event.set()


@dataclass
class FakeContext:
    """A Lambda context whose remaining time the test chooses."""

    remaining_ms: int
    function_name: str = "reward-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:reward-test"
    aws_request_id: str = "6f7e4d1c-1111-2222-3333-444455556666"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


# -- every failure mode in one batch ------------------------------------------------------------


def test_raising_nan_above_one_and_slow_scorers_each_cost_only_their_sample(release: threading.Event) -> None:
    def scorer(text: str, reference: Any, s: Sample) -> Any:
        if s.id == "raises":
            raise ValueError(text)
        if s.id == "nan":
            return math.nan
        if s.id == "above-one":
            return Score(1.5)
        if s.id == "slow":
            release.wait()
            return 1.0
        return 1.0

    handler = make_handler(scorer, task="authoring-test", score_timeout_s=BUDGET_S)
    ids = ["ok-1", "raises", "nan", "above-one", "slow", "ok-2"]
    results, lines = run_quietly(handler, [sample(i) for i in ids])

    assert [r["id"] for r in results] == ids
    assert [r["aggregate_reward_score"] for r in results] == [1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    assert metric(results[1], "scorer_error") == 1.0
    assert metric(results[2], "invalid_score") == 1.0
    assert metric(results[3], "invalid_score") == 1.0
    assert metric(results[4], "scorer_timeout") == 1.0
    assert all(metric(r, "format_ok") == 0.0 for r in results[1:5])
    blob = emf(lines)
    assert (blob["ScorerErrors"], blob["InvalidScores"], blob["ScorerTimeouts"]) == (1.0, 2.0, 1.0)
    assert blob["MeanReward"] == pytest.approx(2 / 6)
    logged = [json.loads(line) for line in lines if '"Scorer timed out' in line]
    assert logged and logged[0]["sample_id"] == "slow" and logged[0]["budget_s"] == BUDGET_S


def test_a_late_result_from_an_abandoned_scorer_is_never_used(release: threading.Event) -> None:
    finished = threading.Event()

    def scorer(text: str, reference: Any, s: Sample) -> float:
        if s.id == "slow":
            release.wait()
            finished.set()
            return 1.0
        return 0.5

    handler = make_handler(scorer, task="authoring-late", score_timeout_s=BUDGET_S)
    results, _ = run_quietly(handler, [sample("slow"), sample("next")])
    release.set()
    assert finished.wait(5), "the abandoned scorer should finish once released"
    assert [r["aggregate_reward_score"] for r in results] == [0.0, 0.5]
    assert metric(results[0], "scorer_timeout") == 1.0


def test_every_sample_hanging_still_returns_a_full_batch(release: threading.Event) -> None:
    handler = make_handler(
        lambda text, ref, s: release.wait() and 1.0, task="authoring-hang", score_timeout_s=0.05
    )
    results, lines = run_quietly(handler, [sample(i) for i in range(4)])
    assert [r["id"] for r in results] == [0, 1, 2, 3]
    assert all(metric(r, "scorer_timeout") == 1.0 and r["aggregate_reward_score"] == 0.0 for r in results)
    assert emf(lines)["ScorerTimeouts"] == 4.0


def test_no_sample_is_waited_for_past_the_lambda_deadline(release: threading.Event) -> None:
    calls: list[Any] = []

    def scorer(text: str, reference: Any, s: Sample) -> float:
        calls.append(s.id)
        release.wait()
        return 1.0

    # 2.5 s left and a 2 s safety margin: 0.5 s for the whole batch, though each sample may take 60 s.
    handler = make_handler(scorer, task="authoring-deadline", score_timeout_s=60)
    results, lines = run_quietly(handler, [sample(i) for i in range(3)], FakeContext(remaining_ms=2500))
    assert calls == [0], "samples after the deadline are never started"
    assert [metric(r, "scorer_timeout") for r in results] == [1.0, 1.0, 1.0]
    reasons = [json.loads(line).get("reason") for line in lines if '"Scorer timed out' in line]
    assert reasons == [
        "over its time budget",
        "not run: the Lambda deadline was near",
        "not run: the Lambda deadline was near",
    ]


def test_a_context_already_past_its_deadline_runs_nothing() -> None:
    calls: list[Any] = []
    handler = make_handler(lambda text, ref, s: calls.append(s.id) or 1.0, task="authoring-late-ctx")
    results, _ = run_quietly(handler, [sample(1), sample(2)], FakeContext(remaining_ms=500))
    assert calls == []
    assert [metric(r, "scorer_timeout") for r in results] == [1.0, 1.0]


def test_system_exit_in_a_scorer_is_a_scorer_error_not_the_end_of_the_batch() -> None:
    def scorer(text: str, reference: Any, s: Sample) -> float:
        if s.id == "exit":
            raise SystemExit(3)
        return 1.0

    handler = make_handler(scorer, task="authoring-exit", score_timeout_s=BUDGET_S)
    results, _ = run_quietly(handler, [sample("exit"), sample("fine")])
    assert [r["aggregate_reward_score"] for r in results] == [0.0, 1.0]
    assert metric(results[0], "scorer_error") == 1.0


# -- what the worker thread preserves ------------------------------------------------------------


def test_calls_run_one_at_a_time_in_input_order() -> None:
    lock = threading.Lock()
    in_flight = 0
    most = 0
    order: list[Any] = []

    def scorer(text: str, reference: Any, s: Sample) -> float:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        order.append(s.id)
        with lock:
            in_flight -= 1
        return 1.0

    handler = make_handler(scorer, task="authoring-order", score_timeout_s=BUDGET_S)
    run_quietly(handler, [sample(i) for i in range(20)])
    assert order == list(range(20)) and most == 1


def test_the_scorer_sees_the_callers_context_variables() -> None:
    request = contextvars.ContextVar("request", default="unset")
    seen: list[str] = []
    handler = make_handler(lambda t, r, s: seen.append(request.get()) or 1.0, task="authoring-ctx")
    token = request.set("req-42")
    try:
        run_quietly(handler, [sample(1)])
    finally:
        request.reset(token)
    assert seen == ["req-42"]


def test_budget_zero_runs_the_scorer_inline_on_the_calling_thread() -> None:
    threads: list[threading.Thread] = []
    handler = make_handler(
        lambda t, r, s: threads.append(threading.current_thread()) or 1.0,
        task="authoring-inline",
        score_timeout_s=0,
    )
    results, _ = run_quietly(handler, [sample(1)])
    assert threads == [threading.current_thread()] and results[0]["aggregate_reward_score"] == 1.0


def test_with_a_budget_the_scorer_runs_on_a_daemon_worker() -> None:
    threads: list[threading.Thread] = []
    handler = make_handler(
        lambda t, r, s: threads.append(threading.current_thread()) or 1.0, task="authoring-worker"
    )
    run_quietly(handler, [sample(1)])
    assert threads[0] is not threading.current_thread() and threads[0].daemon


# -- configuration -------------------------------------------------------------------------------


def test_score_timeout_env_default_zero_and_invalid_values() -> None:
    assert score_timeout_from_env({}) == (DEFAULT_SCORE_TIMEOUT_S, [])
    assert score_timeout_from_env({"SCORE_TIMEOUT_S": "0.5"}) == (0.5, [])
    assert score_timeout_from_env({"SCORE_TIMEOUT_S": "0"}) == (None, [])
    for bad in ("soon", "-1", "nan", "1e6"):
        budget, problems = score_timeout_from_env({"SCORE_TIMEOUT_S": bad})
        assert budget == DEFAULT_SCORE_TIMEOUT_S and "SCORE_TIMEOUT_S" in problems[0]


def test_the_handler_reads_score_timeout_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, release: threading.Event
) -> None:
    monkeypatch.setenv("SCORE_TIMEOUT_S", "0.05")
    handler = make_handler(lambda t, r, s: release.wait() and 1.0, task="authoring-env")
    results, _ = run_quietly(handler, [sample(1)])
    assert metric(results[0], "scorer_timeout") == 1.0


def test_an_invalid_env_budget_is_logged_and_the_batch_still_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCORE_TIMEOUT_S", "forever")
    handler = make_handler(lambda t, r, s: 1.0, task="authoring-bad-env")
    results, lines = run_quietly(handler, [sample(1)])
    assert results[0]["aggregate_reward_score"] == 1.0
    problems = [json.loads(line) for line in lines if "Reward configuration problem" in line]
    assert problems and "SCORE_TIMEOUT_S='forever'" in problems[0]["problem"]


@pytest.mark.parametrize("bad", [-1, 901])
def test_make_handler_rejects_an_impossible_budget(bad: float) -> None:
    with pytest.raises(ValueError, match="score_timeout_s"):
        make_handler(lambda t, r, s: 1.0, task="authoring-bad", score_timeout_s=bad)


def test_no_timeout_metric_in_a_batch_without_timeouts() -> None:
    handler = make_handler(lambda t, r, s: 1.0, task="authoring-clean")
    _, lines = run_quietly(handler, [sample(1)])
    assert "ScorerTimeouts" not in emf(lines)


# -- run_with_budget on its own --------------------------------------------------------------------


def test_run_with_budget_outcomes(release: threading.Event) -> None:
    def fn(item: int) -> int:
        if item == 2:
            release.wait()
        if item == 3:
            raise KeyError(item)
        return item * 10

    outcomes = run_with_budget(fn, [1, 2, 3, 4], budget_s=BUDGET_S)
    assert outcomes[0] == Finished(10) and outcomes[3] == Finished(40)
    assert outcomes[1] == TimedOut(started=True)
    assert isinstance(outcomes[2], Finished) and isinstance(outcomes[2].error, KeyError)
    assert run_with_budget(fn, [], budget_s=BUDGET_S) == []
