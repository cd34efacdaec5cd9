"""Calling the judge model: Bedrock Converse, concurrently, with retries and a deadline.

* **Concurrency:** `JudgeClient.ask_all` runs a batch's calls in a bounded thread pool
  (`JUDGE_MAX_CONCURRENCY`, default 16) over an HTTP connection pool as large, so 64 calls at
  200 ms take about 4 x 200 ms instead of 64 x 200 ms.
* **Throttling:** botocore's `standard` retry mode with 2 attempts in total, then our own
  short, jittered, bounded retry (`OWN_THROTTLE_RETRIES`). Never `adaptive`: its client-side rate
  limiter turns a burst of throttles into tens of seconds of self-imposed waiting.
* **Deadline:** no attempt starts, no backoff sleeps, and `ask_all` stops waiting, once the
  deadline (`deadline_from_context`: the Lambda's remaining time minus a safety margin) is
  reached. Calls still in flight are abandoned, so the Lambda returns scores instead of timing
  out (a timed-out batch is retried by Bedrock and, repeated, fails the job).
* **One client per container:** `bedrock_runtime_client` caches the boto3 client. It honours
  `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` by itself (tests point it at a loopback server), so no
  `endpoint_url` is ever passed.
* **Never raises:** every call ends in a `JudgeResult` with a score or a named error, so one
  bad call costs one sample's judge score, never the batch.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from rft_reward.environment import DEFAULT_DEADLINE_MARGIN_S, env_number
from rft_reward.judge.text import VerdictParser, clamp_score, parse_json_verdict, response_text

# -- configuration ------------------------------------------------------------------------------

MODEL_ENV = "JUDGE_MODEL_ID"
CONCURRENCY_ENV = "JUDGE_MAX_CONCURRENCY"
TIMEOUT_ENV = "JUDGE_TIMEOUT_S"
MAX_TOKENS_ENV = "JUDGE_MAX_TOKENS"
MARGIN_ENV = "JUDGE_DEADLINE_MARGIN_S"

DEFAULT_MAX_CONCURRENCY = 16
MAX_CONCURRENCY_LIMIT = 256
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_TOKENS = 512
#: botocore's own attempts per call (standard mode): the contract allows at most 2 in total.
SDK_MAX_ATTEMPTS = 2
#: This module's extra attempts after botocore gave up on a throttled call.
OWN_THROTTLE_RETRIES = 3
OWN_BACKOFF_BASE_S = 0.1
OWN_BACKOFF_CAP_S = 1.0

#: Error codes that mean "slow down", not "this request is wrong": worth retrying.
THROTTLE_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailableException",
        "ModelNotReadyException",
    }
)

# Why a judge call produced no score (JudgeResult.error); never contains sample text.
ERR_NOT_CONFIGURED = "judge_not_configured"
ERR_CLIENT = "judge_client_unavailable"
ERR_DEADLINE = "deadline"
ERR_TIMEOUT = "timeout"
ERR_CONNECTION = "connection_error"
ERR_BAD_RESPONSE = "bad_response"
ERR_UNPARSABLE = "unparsable_verdict"


@dataclass(frozen=True)
class JudgeSettings:
    """How to call the judge. `from_env` reads the Lambda's environment.

    `timeout_s` is the per-call HTTP read timeout; `deadline_margin_s` is the time kept free
    before the Lambda's own deadline for building results and flushing metrics.
    """

    model_id: str | None
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_tokens: int = DEFAULT_MAX_TOKENS
    deadline_margin_s: float = DEFAULT_DEADLINE_MARGIN_S
    temperature: float = 0.0
    sdk_max_attempts: int = SDK_MAX_ATTEMPTS
    own_retries: int = OWN_THROTTLE_RETRIES
    backoff_base_s: float = OWN_BACKOFF_BASE_S
    backoff_cap_s: float = OWN_BACKOFF_CAP_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> tuple[JudgeSettings, list[str]]:
        """Settings plus a message for each variable that was invalid and replaced by its default.

        A bad value must not fail every batch of a multi-hour job, so it is reported (the handler
        logs it as an error) and the default is used; a missing model id makes every judge call
        fail with `judge_not_configured`, which the fallback then covers.
        """
        env = os.environ if environ is None else environ
        problems: list[str] = []
        model_id = (env.get(MODEL_ENV) or "").strip() or None
        if model_id is None:
            problems.append(
                f"{MODEL_ENV} is not set; no judge can be called (set it to a model or inference-profile id)"
            )
        settings = cls(
            model_id=model_id,
            max_concurrency=int(
                env_number(
                    env,
                    CONCURRENCY_ENV,
                    DEFAULT_MAX_CONCURRENCY,
                    1,
                    MAX_CONCURRENCY_LIMIT,
                    problems,
                    integer=True,
                )
            ),
            timeout_s=env_number(env, TIMEOUT_ENV, DEFAULT_TIMEOUT_S, 0.1, 900.0, problems),
            max_tokens=int(
                env_number(env, MAX_TOKENS_ENV, DEFAULT_MAX_TOKENS, 16, 8192, problems, integer=True)
            ),
            deadline_margin_s=env_number(env, MARGIN_ENV, DEFAULT_DEADLINE_MARGIN_S, 0.0, 600.0, problems),
        )
        return settings, problems


# -- the boto3 client, once per container -------------------------------------------------------

_session: Any = None
_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()
_throttles_seen = threading.local()


def _count_throttle(parsed_response: Any = None, **_: Any) -> None:
    """botocore hook, called once per HTTP attempt (its own retries included), on the calling thread."""
    error = parsed_response.get("Error") if isinstance(parsed_response, dict) else None
    if isinstance(error, dict) and error.get("Code") in THROTTLE_CODES:
        _throttles_seen.count = getattr(_throttles_seen, "count", 0) + 1


def bedrock_runtime_client(settings: JudgeSettings) -> Any:
    """The container's `bedrock-runtime` client for these settings, created on first use.

    No `endpoint_url` is passed: boto3 reads `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` (and
    `AWS_ENDPOINT_URL`) itself. The environment is part of the cache key only so that tests
    pointing it at different loopback servers get different clients; in Lambda it never changes.
    """
    global _session
    key = (
        os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME"),
        os.environ.get("AWS_ENDPOINT_URL"),
        os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        settings.max_concurrency,
        settings.timeout_s,
        settings.sdk_max_attempts,
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            import boto3  # deferred: the handler imports fast when no sample needs the judge
            from botocore.config import Config

            config = Config(
                retries={"mode": "standard", "total_max_attempts": settings.sdk_max_attempts},
                read_timeout=settings.timeout_s,
                connect_timeout=min(settings.timeout_s, 5.0),
                max_pool_connections=max(10, settings.max_concurrency),
                tcp_keepalive=True,
            )
            if _session is None:  # loading the SDK's data files is the slow part: do it once
                _session = boto3.session.Session()
            client = _session.client("bedrock-runtime", config=config)
            client.meta.events.register("response-received.bedrock-runtime.Converse", _count_throttle)
            _clients[key] = client
        return client


# -- requests and results ----------------------------------------------------------------------


@dataclass(frozen=True)
class JudgeRequest:
    """One judge call: a system prompt (the rubric) and one user message (the case to grade)."""

    system: str
    user: str


@dataclass(frozen=True)
class JudgeResult:
    """What one judge call produced: a score in [0, 1], or `error` naming why there is none.

    `reason` is the judge's own explanation; it may quote the policy, so it is never logged.
    """

    score: float | None
    error: str | None = None
    reason: str = ""
    latency_ms: float = 0.0
    attempts: int = 0
    throttles_retried: int = 0


# -- calling the judge --------------------------------------------------------------------------


class JudgeClient:
    """Calls one judge model through Converse with the contract's retry and deadline policy.

    `client`, `sleep`, `clock` and `rng` are injectable for tests; by default the client is the
    container's cached `bedrock-runtime` client.
    """

    def __init__(
        self,
        settings: JudgeSettings,
        parse: VerdictParser = parse_json_verdict,
        *,
        client: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.parse = parse
        self._client = client
        self._sleep = sleep
        self.clock = clock
        self._rng = rng

    def _bedrock(self) -> Any:
        if self._client is None:
            self._client = bedrock_runtime_client(self.settings)
        return self._client

    def ask(self, request: JudgeRequest, deadline: float | None = None) -> JudgeResult:
        """One judge call, retried on throttling while time remains; never raises."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ReadTimeoutError,
        )
        from botocore.parsers import ResponseParserError

        settings = self.settings
        if settings.model_id is None:
            return JudgeResult(None, ERR_NOT_CONFIGURED)
        start = self.clock()
        throttled = 0
        attempts = 0

        def done(score: float | None, error: str | None, reason: str = "") -> JudgeResult:
            retried = throttled - (1 if error in THROTTLE_CODES else 0)
            latency = (self.clock() - start) * 1000.0
            return JudgeResult(score, error, reason, latency, attempts, max(0, retried))

        try:
            client = self._bedrock()
        except Exception:  # no region, no credentials provider, ...: the fallback covers it
            return done(None, ERR_CLIENT)
        own_try = -1
        while True:  # every attempt returns, except a throttled one with retries and time left
            own_try += 1
            if deadline is not None and self.clock() >= deadline:
                return done(None, ERR_DEADLINE)
            _throttles_seen.count = 0
            attempts += 1
            try:
                response = client.converse(
                    modelId=settings.model_id,
                    system=[{"text": request.system}],
                    messages=[{"role": "user", "content": [{"text": request.user}]}],
                    inferenceConfig={"temperature": settings.temperature, "maxTokens": settings.max_tokens},
                )
            except ClientError as err:
                throttled += getattr(_throttles_seen, "count", 0)
                code = str(err.response.get("Error", {}).get("Code") or "ClientError")
                if code not in THROTTLE_CODES or own_try >= settings.own_retries:
                    return done(None, code)
                delay = self._rng() * min(settings.backoff_cap_s, settings.backoff_base_s * 2**own_try)
                if deadline is not None and self.clock() + delay >= deadline:
                    return done(None, code)
                self._sleep(delay)
                continue
            except (ReadTimeoutError, ConnectTimeoutError):
                return done(None, ERR_TIMEOUT)
            except EndpointConnectionError:
                return done(None, ERR_CONNECTION)
            except ResponseParserError:  # a 200 whose body is not a Converse response
                return done(None, ERR_BAD_RESPONSE)
            except BotoCoreError as err:
                return done(None, type(err).__name__)
            except Exception as err:  # never raise: one broken call costs one judge score
                return done(None, type(err).__name__)
            throttled += getattr(_throttles_seen, "count", 0)
            text = response_text(response)
            if text is None:
                return done(None, ERR_BAD_RESPONSE)
            try:
                verdict = self.parse(text)
                score, reason = verdict if isinstance(verdict, tuple) else (verdict, "")
                score = clamp_score(score)
            except Exception:  # VerdictError, or a bug in a task's own parse rule
                return done(None, ERR_UNPARSABLE)
            return done(score, None, reason if isinstance(reason, str) else "")

    def ask_all(
        self, requests: Sequence[JudgeRequest | None], deadline: float | None = None
    ) -> list[JudgeResult | None]:
        """`ask` for every non-None request, at most `max_concurrency` at a time, in input order.

        Waits no longer than `deadline`: calls not finished by then get `deadline` and are
        abandoned (their threads finish or time out in the background; the pool is not joined).
        """
        results: list[JudgeResult | None] = [None] * len(requests)
        todo = [(i, r) for i, r in enumerate(requests) if r is not None]
        if not todo:
            return results
        if self.settings.model_id is None:
            for i, _ in todo:
                results[i] = JudgeResult(None, ERR_NOT_CONFIGURED)
            return results
        if deadline is not None and self.clock() >= deadline:
            for i, _ in todo:
                results[i] = JudgeResult(None, ERR_DEADLINE)
            return results
        try:
            self._bedrock()  # create the shared client once, before the threads race for it
        except Exception:
            for i, _ in todo:
                results[i] = JudgeResult(None, ERR_CLIENT)
            return results
        pool = ThreadPoolExecutor(
            max_workers=min(self.settings.max_concurrency, len(todo)), thread_name_prefix="judge"
        )
        try:
            futures: dict[Future[JudgeResult], int] = {
                pool.submit(self.ask, request, deadline): i for i, request in todo
            }
            timeout = None if deadline is None else max(0.0, deadline - self.clock())
            wait(futures, timeout=timeout)
            for future, i in futures.items():
                if not future.done() or future.cancelled():  # abandoned at the deadline, or never started
                    results[i] = JudgeResult(None, ERR_DEADLINE, attempts=int(future.running()))
                elif (error := future.exception()) is not None:  # ask never raises; a bug if it did
                    results[i] = JudgeResult(None, type(error).__name__)
                else:
                    results[i] = future.result()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return results
