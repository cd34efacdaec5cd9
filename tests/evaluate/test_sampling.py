"""The sampling harness against a loopback Converse server, through a real boto3 client.

The server throttles every Nth call, fails chosen calls for good, and counts calls in flight: the
tests check the concurrency bound, that nothing is lost, that a failure is recorded with its reason
(and never as an answer), and that an interrupted run resumes with only the missing calls.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from rft.errors import UserError
from rft.evaluate.cache import ResponseCache
from rft.evaluate.sampling import (
    Inference,
    RetryPolicy,
    Sampler,
    bedrock_runtime_factory,
    default_temperature,
    plan,
    read_prompts,
)
from tests.reward.converse_server import THROTTLE, converse_reply, error_reply

from .conftest import answering

MODEL = "us.amazon.nova-2-lite-v1:0"
INFERENCE = Inference(max_tokens=2048, temperature=0.0)
NO_WAIT = RetryPolicy(backoff_base_s=0.0, backoff_cap_s=0.0)


def _sampler(
    concurrency: int = 4, policy: RetryPolicy = NO_WAIT, inference: Inference = INFERENCE
) -> Sampler:
    return Sampler(bedrock_runtime_factory("us-east-1", policy=policy), inference, concurrency, policy=policy)


@pytest.fixture
def test_file(prepared: Callable[[str], Path]) -> Path:
    return prepared("gsm8k") / "test.jsonl"


def test_sends_the_training_turns_with_max_tokens_and_temperature(
    test_file: Path, server, tmp_path: Path
) -> None:
    srv = server()
    prompts = read_prompts(test_file, limit=3)
    record = json.loads(test_file.read_text().splitlines()[0])
    with ResponseCache(tmp_path / "c.jsonl") as cache:
        _sampler().run(plan([MODEL], prompts, 1, INFERENCE, cache).calls, cache)
    call = next(c for c in srv.calls if c.user == record["messages"][-1]["content"])
    system = [m["content"] for m in record["messages"] if m["role"] == "system"]
    assert call.model_id == MODEL
    assert call.body["system"] == [{"text": s} for s in system]
    assert call.body["messages"] == [
        {"role": "user", "content": [{"text": record["messages"][-1]["content"]}]}
    ]
    assert call.body["inferenceConfig"] == {"maxTokens": 2048, "temperature": 0.0}
    assert default_temperature(1) == 0.0 and default_temperature(4) == 1.0


def test_concurrency_bound_holds_and_nothing_is_lost_under_throttling(
    test_file: Path, server, tmp_path: Path
) -> None:
    srv = server(delay_s=0.05, throttle_every=3)
    prompts = read_prompts(test_file, limit=30)
    with ResponseCache(tmp_path / "c.jsonl") as cache:
        calls = plan([MODEL], prompts, 2, INFERENCE, cache).calls
        tally = _sampler(concurrency=4).run(calls, cache)
    assert srv.max_in_flight <= 4
    assert srv.max_in_flight == 4  # the bound is also used, not just respected
    assert tally.done == 60 and tally.errors == 0
    assert srv.replies.count(400) == len(srv.calls) // 3  # every 3rd call was throttled, and retried
    lines = (tmp_path / "c.jsonl").read_text().splitlines()
    assert len(lines) == 60
    keys = {(json.loads(line)["prompt_id"], json.loads(line)["sample"]) for line in lines}
    assert keys == {(p.id, k) for p in prompts for k in range(2)}


def test_a_call_that_fails_for_good_is_an_error_with_its_reason(
    test_file: Path, server, tmp_path: Path
) -> None:
    prompts = read_prompts(test_file, limit=6)
    bad = prompts[2].id

    def fail(_: str, prompt_id: str):
        return error_reply("ValidationException", 400, "Input is too long") if prompt_id == bad else None

    srv = server(respond=answering(test_file, lambda *_: True, fail=fail))
    with ResponseCache(tmp_path / "c.jsonl") as cache:
        tally = _sampler().run(plan([MODEL], prompts, 1, INFERENCE, cache).calls, cache)
        failed = cache.latest[(MODEL, bad, 0)]
    assert tally.errors == 1
    assert failed.error == "ValidationException: Input is too long"
    assert failed.text is None and not failed.ok
    assert len(srv.calls) == 6  # a request error is not retried


def test_throttling_is_retried_by_botocore_then_by_our_own_bounded_retry(
    test_file: Path, server, tmp_path: Path
) -> None:
    prompts = read_prompts(test_file, limit=1)
    srv = server(respond=lambda *_: THROTTLE)
    policy = RetryPolicy(sdk_max_attempts=3, own_retries=2, backoff_base_s=0.0, backoff_cap_s=0.0)
    with ResponseCache(tmp_path / "c.jsonl") as cache:
        tally = _sampler(policy=policy).run(plan([MODEL], prompts, 1, INFERENCE, cache).calls, cache)
        response = cache.latest[(MODEL, prompts[0].id, 0)]
    assert len(srv.calls) == 3 * (2 + 1)  # botocore's 3 attempts, three times: once + 2 own retries
    assert tally.errors == 1
    assert response.error is not None and response.error.startswith("ThrottlingException")
    assert response.attempts == 9


def test_own_backoff_is_jittered_and_bounded() -> None:
    import random

    policy = RetryPolicy(backoff_base_s=0.2, backoff_cap_s=1.0)
    rng = random.Random(7)
    waits = [policy.backoff(retry, rng) for retry in range(8) for _ in range(50)]
    assert all(0 <= w <= 1.0 for w in waits)
    assert len({round(w, 6) for w in waits}) > 300  # jittered, not a fixed schedule


def test_rejected_credentials_stop_the_run_and_keep_what_was_answered(
    test_file: Path, server, tmp_path: Path
) -> None:
    prompts = read_prompts(test_file, limit=12)
    ok = converse_reply("#### 1")
    srv = server(respond=lambda n, _: ok if n <= 5 else error_reply("ExpiredTokenException", 403, "expired"))
    cache_path = tmp_path / "c.jsonl"
    with ResponseCache(cache_path) as cache, pytest.raises(UserError) as raised:
        _sampler(concurrency=1).run(plan([MODEL], prompts, 1, INFERENCE, cache).calls, cache)
    assert "refresh them and rerun to resume" in raised.value.message
    assert len(cache_path.read_text().splitlines()) == 5
    assert len(srv.calls) <= 7  # it stopped at the first rejection (one more may have had the slot)

    # Rerun with good credentials: only the 7 missing calls are made.
    srv2 = server(respond=lambda *_: ok)
    with ResponseCache(cache_path) as cache:
        todo = plan([MODEL], prompts, 1, INFERENCE, cache)
        assert (len(todo.calls), todo.cached) == (7, 5)
        _sampler().run(todo.calls, cache)
    assert len(srv2.calls) == 7
    with ResponseCache(cache_path) as cache:
        assert plan([MODEL], prompts, 1, INFERENCE, cache).calls == ()


def test_ctrl_c_keeps_the_calls_in_flight_and_a_rerun_makes_only_the_missing_ones(
    test_file: Path, server, tmp_path: Path
) -> None:
    prompts = read_prompts(test_file, limit=20)
    srv = server(delay_s=0.02)
    cache_path = tmp_path / "c.jsonl"
    seen: list[int] = []

    def interrupt_after_five(_, tally) -> None:
        if tally.done == 5:
            raise KeyboardInterrupt

    with ResponseCache(cache_path) as cache, pytest.raises(KeyboardInterrupt):
        _sampler(concurrency=3).run(
            plan([MODEL], prompts, 2, INFERENCE, cache).calls,
            cache,
            on_response=interrupt_after_five,
            on_interrupt=seen.append,
        )
    kept = len(cache_path.read_text().splitlines())
    assert 5 <= kept < 40
    assert seen and seen[0] <= 6  # only the calls already started (2 threads per slot) were waited for
    made_first = len(srv.calls)
    assert kept == made_first  # every call that was made was kept: nothing paid for is lost

    srv2 = server()
    with ResponseCache(cache_path) as cache:
        todo = plan([MODEL], prompts, 2, INFERENCE, cache)
        _sampler().run(todo.calls, cache)
    assert len(srv2.calls) == 40 - kept


def test_a_changed_question_is_asked_again_and_a_torn_line_is_skipped(
    test_file: Path, server, tmp_path: Path
) -> None:
    prompts = read_prompts(test_file, limit=4)
    server()
    cache_path = tmp_path / "c.jsonl"
    with ResponseCache(cache_path) as cache:
        _sampler().run(plan([MODEL], prompts, 1, INFERENCE, cache).calls, cache)
    with cache_path.open("a") as handle:
        handle.write('{"model": "x", "prompt_id": ')  # a crash mid-write
    hotter = Inference(max_tokens=2048, temperature=0.7)
    with ResponseCache(cache_path) as cache:
        assert len(plan([MODEL], prompts, 1, INFERENCE, cache).calls) == 0
        assert len(plan([MODEL], prompts, 1, hotter, cache).calls) == 4
        assert len(plan([MODEL, "other-model"], prompts, 1, INFERENCE, cache).calls) == 4


def test_failed_calls_are_retried_on_the_next_run(test_file: Path, server, tmp_path: Path) -> None:
    prompts = read_prompts(test_file, limit=3)
    server(respond=lambda *_: error_reply("ValidationException", 400, "nope"))
    cache_path = tmp_path / "c.jsonl"
    with ResponseCache(cache_path) as cache:
        _sampler().run(plan([MODEL], prompts, 1, INFERENCE, cache).calls, cache)
    with ResponseCache(cache_path) as cache:
        assert len(plan([MODEL], prompts, 1, INFERENCE, cache).calls) == 3


def test_concurrency_is_range_checked() -> None:
    with pytest.raises(UserError, match="--concurrency"):
        _sampler(concurrency=0)


def test_read_prompts_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "messages": [{"role": "user", "content": "hi"}]}\nnot json\n')
    with pytest.raises(UserError, match=r"bad.jsonl:2: not valid JSON"):
        read_prompts(path)


def test_one_client_serves_every_thread(test_file: Path, server, tmp_path: Path) -> None:
    server(delay_s=0.01)
    made: list[int] = []
    factory = bedrock_runtime_factory("us-east-1", policy=NO_WAIT)

    def counting(pool: int):
        made.append(pool)
        return factory(pool)

    prompts = read_prompts(test_file, limit=24)
    with ResponseCache(tmp_path / "c.jsonl") as cache:
        Sampler(counting, INFERENCE, 8, policy=NO_WAIT).run(
            plan([MODEL], prompts, 1, INFERENCE, cache).calls, cache
        )
    assert made == [8]  # not one per thread: each new client loads the service model again
