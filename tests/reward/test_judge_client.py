"""The judge client (rft_reward.judge.client) against a loopback Converse server.

The real boto3 client talks HTTP to 127.0.0.1, so retries, error parsing and the connection
pool are botocore's own. Concurrency is proven by counting requests in flight in the server,
never by wall time.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from rft_reward.environment import deadline_from_context
from rft_reward.judge.client import (
    ERR_BAD_RESPONSE,
    ERR_CLIENT,
    ERR_CONNECTION,
    ERR_DEADLINE,
    ERR_NOT_CONFIGURED,
    ERR_UNPARSABLE,
    JudgeClient,
    JudgeRequest,
    JudgeSettings,
    bedrock_runtime_client,
)

from .converse_server import (
    THROTTLE,
    Call,
    ConverseServer,
    Reply,
    converse_reply,
    error_reply,
    judge_server,
    no_aws,  # noqa: F401  (fixture)
    point_boto3_at,
)
from .helpers import FakeLambdaContext

pytestmark = pytest.mark.usefixtures("no_aws")

MODEL = "us.amazon.nova-pro-v1:0"
REQUEST = JudgeRequest(
    "You grade reasoning.", "Grade this: <<<BEGIN MODEL REASONING>>>\nok\n<<<END MODEL REASONING>>>"
)


def settings(**overrides: Any) -> JudgeSettings:
    return JudgeSettings(model_id=MODEL, **overrides)


def script(*replies: Reply) -> Any:
    """A `respond` that plays `replies` in order, then answers every later call with a verdict."""

    def respond(number: int, call: Call) -> Reply:
        return (
            replies[number - 1]
            if number <= len(replies)
            else converse_reply('{"score": 0.8, "reason": "ok"}')
        )

    return respond


class Sleeps:
    """Records the backoff delays instead of sleeping them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


# -- the client ---------------------------------------------------------------------------------


def test_client_uses_standard_retries_the_endpoint_variable_and_a_big_enough_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with ConverseServer() as server:
        point_boto3_at(monkeypatch, server.url)
        client = bedrock_runtime_client(settings(max_concurrency=32, timeout_s=7.0))
        assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 2}
        assert client.meta.config.max_pool_connections == 32
        assert client.meta.config.read_timeout == 7.0
        assert client.meta.endpoint_url == server.url
        assert (
            bedrock_runtime_client(settings(max_concurrency=32, timeout_s=7.0)) is client
        )  # once per container


def test_request_is_a_temperature_zero_converse_call(monkeypatch: pytest.MonkeyPatch) -> None:
    with judge_server(monkeypatch) as server:
        result = JudgeClient(settings(max_tokens=300)).ask(REQUEST)
    assert (result.score, result.error, result.reason) == (0.8, None, "specific and faithful")
    (call,) = server.calls
    assert call.model_id == MODEL
    assert call.body["inferenceConfig"] == {"temperature": 0.0, "maxTokens": 300}
    assert call.system == REQUEST.system
    assert call.user == REQUEST.user
    assert [m["role"] for m in call.body["messages"]] == ["user"]


# -- retries ------------------------------------------------------------------------------------


def test_throttling_is_retried_by_our_own_jittered_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps = Sleeps()
    with judge_server(monkeypatch, respond=script(THROTTLE, THROTTLE)) as server:
        judge = JudgeClient(settings(sdk_max_attempts=1), sleep=sleeps, rng=lambda: 0.5)
        result = judge.ask(REQUEST)
    assert (result.score, result.error) == (0.8, None)
    assert (result.attempts, result.throttles_retried) == (3, 2)
    assert len(server.calls) == 3
    assert sleeps.delays == [0.05, 0.1]  # 0.5 x min(cap, 0.1 x 2**k): short, growing, jittered


def test_throttling_is_retried_by_botocore_first(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps = Sleeps()
    with judge_server(monkeypatch, respond=script(THROTTLE)) as server:
        result = JudgeClient(settings(), sleep=sleeps).ask(REQUEST)
    assert (result.score, result.error) == (0.8, None)
    assert len(server.calls) == 2  # botocore's second attempt succeeded
    assert (result.attempts, result.throttles_retried) == (1, 1)
    assert sleeps.delays == []  # our own retry was not needed


def test_throttling_gives_up_after_bounded_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps = Sleeps()
    with judge_server(monkeypatch, respond=lambda n, call: THROTTLE) as server:
        result = JudgeClient(settings(sdk_max_attempts=1, own_retries=2), sleep=sleeps).ask(REQUEST)
    assert (result.score, result.error) == (None, "ThrottlingException")
    assert len(server.calls) == 3
    assert (result.attempts, result.throttles_retried) == (3, 2)
    assert len(sleeps.delays) == 2 and all(0.0 <= d <= 0.2 for d in sleeps.delays)


def test_a_rejected_request_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    rejected = error_reply("ValidationException", 400, "The provided model identifier is invalid.")
    with judge_server(monkeypatch, respond=lambda n, call: rejected) as server:
        result = JudgeClient(settings(), sleep=Sleeps()).ask(REQUEST)
    assert (result.score, result.error, result.attempts) == (None, "ValidationException", 1)
    assert len(server.calls) == 1


def test_backoff_never_sleeps_past_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps = Sleeps()
    with judge_server(monkeypatch, respond=lambda n, call: THROTTLE):
        judge = JudgeClient(
            settings(sdk_max_attempts=1, backoff_base_s=10.0, backoff_cap_s=10.0), sleep=sleeps
        )
        result = judge.ask(REQUEST, deadline=time.monotonic() + 1.0)
    assert result.error == "ThrottlingException"
    assert sleeps.delays == [] or all(d < 1.0 for d in sleeps.delays)


# -- failures that are not retried --------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (converse_reply("I would give it a high score."), ERR_UNPARSABLE),
        (converse_reply('{"score": "excellent"}'), ERR_UNPARSABLE),
        (Reply(200, {"output": {}, "stopReason": "end_turn", "usage": {}, "metrics": {}}), ERR_BAD_RESPONSE),
        (error_reply("AccessDeniedException", 403), "AccessDeniedException"),
        (error_reply("InternalServerException", 500), "InternalServerException"),
    ],
)
def test_failures_are_named_never_scored(monkeypatch: pytest.MonkeyPatch, reply: Reply, error: str) -> None:
    with judge_server(monkeypatch, respond=lambda n, call: reply):
        result = JudgeClient(settings(), sleep=Sleeps()).ask(REQUEST)
    assert (result.score, result.error) == (None, error)


def test_unreachable_endpoint_is_a_connection_error() -> None:
    # no_aws points the endpoint at a closed loopback port.
    result = JudgeClient(settings(timeout_s=2.0), sleep=Sleeps()).ask(REQUEST)
    assert (result.score, result.error) == (None, ERR_CONNECTION)


def test_no_model_id_means_no_call() -> None:
    results = JudgeClient(JudgeSettings(model_id=None)).ask_all([REQUEST, None])
    assert [r.error if r else None for r in results] == [ERR_NOT_CONFIGURED, None]


def test_no_region_means_no_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    (result,) = JudgeClient(settings()).ask_all([REQUEST])
    assert result is not None and result.error == ERR_CLIENT


# -- concurrency and the deadline -----------------------------------------------------------------


def test_calls_run_many_at_once_within_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # The contract's 64 x 200 ms batch, with throttling, runs through the handler in
    # test_pandalm_handler.py; this is the client alone, smaller.
    with judge_server(monkeypatch, delay_s=0.1) as server:
        results = JudgeClient(settings(max_concurrency=16)).ask_all([REQUEST] * 32)
    assert [r.score if r else None for r in results] == [0.8] * 32
    assert len(server.calls) == 32
    assert 8 <= server.max_in_flight <= 16


def test_concurrency_limit_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    with judge_server(monkeypatch, delay_s=0.05) as server:
        results = JudgeClient(settings(max_concurrency=3)).ask_all([REQUEST] * 12)
    assert all(r is not None and r.score == 0.8 for r in results)
    assert 2 <= server.max_in_flight <= 3


def test_results_keep_input_order_and_skip_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def respond(number: int, call: Call) -> Reply:
        return converse_reply(f'{{"score": {call.user[-1]}}}')  # the digit the request ends with

    requests = [JudgeRequest("s", str(i % 2)) if i % 3 else None for i in range(9)]
    with judge_server(monkeypatch, delay_s=0.01, respond=respond):
        results = JudgeClient(settings()).ask_all(requests)
    assert [r.score if r else None for r in results] == [None, 1.0, 0.0, None, 0.0, 1.0, None, 1.0, 0.0]


def test_past_deadline_no_call_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    with judge_server(monkeypatch) as server:
        results = JudgeClient(settings()).ask_all([REQUEST] * 4, deadline=time.monotonic() - 0.1)
    assert [r.error if r else None for r in results] == [ERR_DEADLINE] * 4
    assert server.calls == []


def test_slow_calls_are_abandoned_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    with judge_server(monkeypatch, delay_s=5.0) as server:
        judge = JudgeClient(settings())
        bedrock_runtime_client(judge.settings)  # a warm container: the client already exists
        start = time.monotonic()
        results = judge.ask_all([REQUEST] * 4, deadline=start + 0.3)
        waited = time.monotonic() - start
        assert len(server.calls) == 4  # the calls were made, and are still in flight
    assert [r.error if r else None for r in results] == [ERR_DEADLINE] * 4
    assert waited < 5.0  # returned without waiting for the 5 s answers


# -- configuration ------------------------------------------------------------------------------


def test_deadline_from_context_keeps_the_margin() -> None:
    assert deadline_from_context(None, 2.0) is None
    assert deadline_from_context(object(), 2.0) is None
    clock = lambda: 100.0  # noqa: E731
    assert deadline_from_context(FakeLambdaContext(remaining_ms=10_000), 2.0, clock) == 108.0


def test_settings_from_env() -> None:
    env = {
        "JUDGE_MODEL_ID": " us.amazon.nova-pro-v1:0 ",
        "JUDGE_MAX_CONCURRENCY": "8",
        "JUDGE_TIMEOUT_S": "12.5",
        "JUDGE_MAX_TOKENS": "256",
        "JUDGE_DEADLINE_MARGIN_S": "3",
    }
    loaded, problems = JudgeSettings.from_env(env)
    assert problems == []
    assert (loaded.model_id, loaded.max_concurrency, loaded.timeout_s, loaded.max_tokens) == (
        MODEL,
        8,
        12.5,
        256,
    )
    assert loaded.deadline_margin_s == 3.0
    assert (loaded.temperature, loaded.sdk_max_attempts) == (0.0, 2)


def test_settings_defaults_and_bad_values() -> None:
    loaded, problems = JudgeSettings.from_env({})
    assert (loaded.model_id, loaded.max_concurrency, loaded.timeout_s) == (None, 16, 30.0)
    assert len(problems) == 1 and "JUDGE_MODEL_ID" in problems[0]
    bad = {
        "JUDGE_MODEL_ID": MODEL,
        "JUDGE_MAX_CONCURRENCY": "many",
        "JUDGE_TIMEOUT_S": "-1",
        "JUDGE_MAX_TOKENS": "1.5",
    }
    loaded, problems = JudgeSettings.from_env(bad)
    assert (loaded.max_concurrency, loaded.timeout_s, loaded.max_tokens) == (16, 30.0, 512)
    assert len(problems) == 3
    assert any("JUDGE_MAX_CONCURRENCY='many'" in p for p in problems)
