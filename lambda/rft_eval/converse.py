"""Asking a Bedrock model for K responses to every prompt, via Converse: the harness both callers share.

`rft evaluate` (and its pre-flight) runs it from a terminal with a resumable cache; the workflow's
`answer_shard` runs it inside a Lambda with a time budget. Everything else is the same:

* **What is sent:** the record's own system and user turns (the turns the job trains on), with
  `inferenceConfig` `maxTokens` and `temperature`.
* **Concurrency:** at most `concurrency` HTTP attempts are in flight. The bound is held per attempt
  (botocore's `before-send` event takes a slot, `response-received` gives it back), not per call, so
  a thread sleeping in a retry backoff does not hold a slot that another call could use.
* **Retries:** botocore's `standard` mode retries throttling and transient errors; when it gives up
  on a throttled call, a bounded, jittered retry of our own tries again. A call that still fails
  becomes a `Response` with `error` set to its reason. It is never scored.
* **Fatal errors** (rejected credentials, no access to the model, unknown model) stop the run with
  `FatalError`: every other call would fail the same way. What was answered is already in the sink.
* **Time budget** (`time_left`): no attempt starts with less than `reserve_s` seconds left; the calls
  it did not make are recorded as errors (`OutOfTime`), so a Lambda never runs into its timeout.

The client comes from a factory so the same code talks to Bedrock, to the local emulator
(`AWS_ENDPOINT_URL_BEDROCK_RUNTIME` or `endpoint_url`) or to a test's loopback server.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Protocol

from rft_eval.input_errors import EvalInputError
from rft_eval.prompts import Prompt
from rft_eval.responses import Response

DEFAULT_CONCURRENCY = 16
MAX_CONCURRENCY = 256
OUT_OF_TIME = "OutOfTime: not sent, the time budget was used up"

#: Codes that mean "slow down or try again shortly", not "this request is wrong".
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailableException",
        "ModelNotReadyException",
        "InternalServerException",
    }
)
#: Codes after which every other call of the run would fail the same way: stop, with the fix.
FATAL_CODES = {
    "ExpiredToken": "AWS rejected the credentials (expired); refresh them and rerun to resume",
    "ExpiredTokenException": "AWS rejected the credentials (expired); refresh them and rerun to resume",
    "UnrecognizedClientException": "AWS rejected the credentials; refresh them and rerun to resume",
    "InvalidSignatureException": "AWS rejected the request signature; check the credentials and rerun",
    "AccessDeniedException": "no access to the model: enable it in the Bedrock console (Model access) or "
    "grant bedrock:InvokeModel, then rerun to resume",
    "ResourceNotFoundException": "the model was not found in this region; check --model and --region",
}


def default_temperature(samples: int) -> float:
    """0 for one sample (the model's best answer); 1.0 for K > 1, so the samples can differ."""
    return 0.0 if samples == 1 else 1.0


@dataclass(frozen=True)
class Inference:
    """The inference settings every call of a run uses."""

    max_tokens: int
    temperature: float

    def request(self, model: str, prompt: Prompt) -> dict[str, Any]:
        """The Converse request (boto3 keyword arguments) for one sample of `prompt`."""
        request: dict[str, Any] = {
            "modelId": model,
            "messages": prompt.messages,
            "inferenceConfig": {"maxTokens": self.max_tokens, "temperature": self.temperature},
        }
        if prompt.system:
            request["system"] = prompt.system
        return request

    def fingerprint(self, prompt: Prompt) -> str:
        """What was asked, hashed: a cached answer is reused only for exactly the same question."""
        asked = {"turns": prompt.turns, "maxTokens": self.max_tokens, "temperature": self.temperature}
        return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Call:
    model: str
    prompt: Prompt
    sample: int


def calls_for(model: str, prompts: Sequence[Prompt], samples: int) -> list[Call]:
    """Every call of `model` for `prompts`, K samples each, in prompt order."""
    return [Call(model, prompt, index) for prompt in prompts for index in range(samples)]


@dataclass(frozen=True)
class RetryPolicy:
    """botocore's attempts per call (standard mode), then our own jittered retries of a throttle."""

    sdk_max_attempts: int = 3
    own_retries: int = 4
    backoff_base_s: float = 0.2
    backoff_cap_s: float = 5.0
    read_timeout_s: float = 300.0  # long generations at a high maxTokens take minutes

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^retry)], so retries spread instead of herding."""
        return rng.uniform(0, min(self.backoff_cap_s, self.backoff_base_s * 2**retry))

    @property
    def longest_call_s(self) -> float:
        """The longest one call can take: every SDK attempt reading until its timeout (connects aside)."""
        return self.sdk_max_attempts * self.read_timeout_s


ClientFactory = Callable[[int], Any]  # max pool connections -> a bedrock-runtime client


def bedrock_runtime_factory(
    region: str,
    endpoint_url: str | None = None,
    policy: RetryPolicy | None = None,
    user_agent: str = "bedrock-rft/evaluate",
) -> ClientFactory:
    """Clients for `region`; `endpoint_url` (or AWS_ENDPOINT_URL_BEDROCK_RUNTIME) points at an emulator."""
    policy = policy or RetryPolicy()

    def make(pool: int) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            retries={"mode": "standard", "total_max_attempts": policy.sdk_max_attempts},
            max_pool_connections=max(10, pool),
            read_timeout=policy.read_timeout_s,
            connect_timeout=10,
            tcp_keepalive=True,
            user_agent_extra=user_agent,
        )
        return boto3.session.Session(region_name=region).client(
            "bedrock-runtime", endpoint_url=endpoint_url, config=config
        )

    return make


class Cancelled(Exception):
    """Raised inside botocore's send path for an attempt that waited for a slot while the run stopped."""


class OutOfTime(Cancelled):
    """Raised inside botocore's send path for an attempt that would start inside the reserved time."""


class _AttemptGate:
    """At most `limit` HTTP attempts in flight across threads, whatever botocore's retries do.

    A slot is taken just before each attempt is sent and given back as soon as its answer (or
    exception) is in, before botocore sleeps for a retry. A thread still holding a slot when its call
    ends (an error raised between the two events) gives it back in `done`.
    """

    def __init__(self, limit: int, stop: threading.Event, out_of_time: Callable[[], bool]) -> None:
        self._slots = threading.BoundedSemaphore(limit)
        self._local = threading.local()
        self._stop = stop
        self._out_of_time = out_of_time

    def take(self, **_: Any) -> None:
        if not getattr(self._local, "held", False):
            self._slots.acquire()
            self._local.held = True
        if self._stop.is_set():  # the run is stopping: do not send what was waiting for a slot
            raise Cancelled
        if self._out_of_time():  # waited for a slot until too late to start
            raise OutOfTime

    def give(self, **_: Any) -> None:
        if getattr(self._local, "held", False):
            self._local.held = False
            self._slots.release()

    done = give

    def attach(self, client: Any) -> None:
        events = client.meta.events
        events.register("before-send.bedrock-runtime.Converse", self.take)
        events.register("response-received.bedrock-runtime.Converse", self.give)


def _botocore_errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError, PartialCredentialsError

    return (EndpointConnectionError,), (NoCredentialsError, PartialCredentialsError)


_UNREACHABLE, _NO_CREDENTIALS = _botocore_errors()


class FatalError(Exception):
    """Every other call would fail the same way; `reason` says why and what to do."""

    def __init__(self, reason: str, tally: Tally | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tally = tally  # what the run had recorded when it stopped


def _text(result: dict[str, Any]) -> str | None:
    content = result.get("output", {}).get("message", {}).get("content")
    if not isinstance(content, list):
        return None
    return "".join(block["text"] for block in content if isinstance(block, dict) and "text" in block)


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def reason(error: Exception) -> str:
    """A short, single-line reason for a failed call: the AWS code and message, or the exception."""
    code = error_code(error)
    if code:
        message = str(error.response.get("Error", {}).get("Message", ""))  # type: ignore[attr-defined]
        return f"{code}: {message}"[:300] if message else code
    return f"{type(error).__name__}: {error}"[:300]


@dataclass
class Tally:
    """Running totals, for a progress bar, a final line or a shard's outcome."""

    done: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, response: Response) -> None:
        self.done += 1
        self.errors += 0 if response.ok else 1
        self.input_tokens += response.input_tokens
        self.output_tokens += response.output_tokens


class Sink(Protocol):
    """Where every outcome goes as it arrives: `rft`'s resumable cache, or a plain list in a Lambda."""

    def append(self, response: Response, /) -> None: ...


OnResponse = Callable[[Response, Tally], None]


@dataclass
class Sampler:
    """Runs calls and appends every outcome to a sink as it arrives."""

    client_factory: ClientFactory
    inference: Inference
    concurrency: int = DEFAULT_CONCURRENCY
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], float] = time.perf_counter
    time_left: Callable[[], float] | None = None  # seconds left in the budget (None: no budget)
    reserve_s: float = 0.0  # no attempt starts with less than this left
    concurrency_setting = "concurrency"  # how the caller names the setting in an error message

    def __post_init__(self) -> None:
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise EvalInputError(
                f"{self.concurrency_setting} must be within 1..{MAX_CONCURRENCY}, got {self.concurrency}"
            )
        self._stop = threading.Event()
        self._gate = _AttemptGate(self.concurrency, self._stop, self.out_of_time)
        self._client: Any = None
        self._client_lock = threading.Lock()

    def out_of_time(self) -> bool:
        return self.time_left is not None and self.time_left() < self.reserve_s

    def _client_for_run(self) -> Any:
        """One client for every thread (boto3 clients are thread-safe), made before any thread runs."""
        with self._client_lock:
            if self._client is None:
                self._client = self.client_factory(self.concurrency)
                self._gate.attach(self._client)
            return self._client

    def ask(self, call: Call) -> Response:
        """One call, with our own retries after botocore's; never raises except `FatalError`."""
        client = self._client_for_run()
        request = self.inference.request(call.model, call.prompt)
        fingerprint = self.inference.fingerprint(call.prompt)
        attempts = 0

        def failed(why: str) -> Response:
            return Response(
                call.model, call.prompt.id, call.sample, fingerprint, error=why, attempts=attempts
            )

        for retry in range(self.policy.own_retries + 1):
            if self._stop.is_set():
                return failed("cancelled")
            if self.out_of_time():
                return failed(OUT_OF_TIME)
            started = self.clock()
            try:
                result = client.converse(**request)
            except Exception as error:  # every failure ends as a recorded reason, never a crash
                if isinstance(error, OutOfTime):
                    return failed(OUT_OF_TIME)
                if isinstance(error, Cancelled) or self._stop.is_set():
                    return failed("cancelled")
                if isinstance(error, _UNREACHABLE):
                    raise FatalError(
                        f"cannot reach bedrock-runtime ({error}); check the network and --region, or "
                        "--endpoint-url for an emulator, then rerun to resume"
                    ) from None
                if isinstance(error, _NO_CREDENTIALS):
                    raise FatalError(
                        "no AWS credentials found: configure a profile (aws configure / AWS_PROFILE), "
                        "then rerun to resume"
                    ) from None
                code = error_code(error)
                attempts += 1 + int(
                    getattr(error, "response", {}).get("ResponseMetadata", {}).get("RetryAttempts", 0)
                )
                if code in FATAL_CODES:
                    raise FatalError(f"{FATAL_CODES[code]} ({reason(error)})") from None
                if code in RETRYABLE_CODES and retry < self.policy.own_retries:
                    self.sleep(self.policy.backoff(retry, self.rng))
                    continue
                return failed(reason(error))
            finally:
                self._gate.done()
            attempts += 1 + int(result.get("ResponseMetadata", {}).get("RetryAttempts", 0))
            wall_ms = (self.clock() - started) * 1000
            usage = result.get("usage") or {}
            metrics = result.get("metrics") or {}
            text = _text(result)
            return Response(
                call.model,
                call.prompt.id,
                call.sample,
                fingerprint,
                text=text,
                error=None if text is not None else "the response had no output message",
                input_tokens=int(usage.get("inputTokens") or 0),
                output_tokens=int(usage.get("outputTokens") or 0),
                latency_ms=float(metrics.get("latencyMs") or wall_ms),
                stop_reason=result.get("stopReason"),
                attempts=attempts,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def run(
        self,
        calls: Sequence[Call],
        sink: Sink,
        on_response: OnResponse | None = None,
        on_interrupt: Callable[[int], None] | None = None,
    ) -> Tally:
        """Make `calls`, appending each outcome to `sink` on the calling thread as it completes.

        Raises `FatalError` on a fatal error and re-raises KeyboardInterrupt, in both cases after the
        calls already in flight have finished and been recorded (`on_interrupt(n)` is told how many).
        """
        tally = Tally()
        if not calls:
            return tally
        self._client_for_run()
        # More threads than slots: a thread sleeping in a backoff must not leave a slot idle.
        workers = min(len(calls), self.concurrency * 2)
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="converse")
        futures: list[Future[Response]] = []
        recorded: set[Future[Response]] = set()
        fatal: str | None = None

        def record(future: Future[Response], wait_for: bool = False) -> str | None:
            if future in recorded or not (wait_for or future.done()) or future.cancelled():
                return None
            recorded.add(future)
            return self._record(future, sink, tally, on_response)

        try:
            futures = [pool.submit(self.ask, call) for call in calls]
            # as_completed waits on every future once; wait(FIRST_COMPLETED) in a loop would re-arm
            # all pending futures per completion, quadratic in the number of calls.
            for future in as_completed(futures):
                fatal = record(future)
                if fatal is not None:
                    break
        except KeyboardInterrupt:
            self._stop.set()
            # Not cancellable: finished but not yet recorded, or started. Both are kept.
            started = [f for f in futures if f not in recorded and not f.cancel()]
            if on_interrupt is not None:
                on_interrupt(sum(1 for f in started if not f.done()))
            for future in started:  # a second Ctrl-C abandons them
                record(future, wait_for=True)
            raise
        finally:
            self._stop.set()
            for future in futures:
                future.cancel()
            pool.shutdown(wait=fatal is not None, cancel_futures=True)
        if fatal is not None:
            for future in futures:  # what finished while the run was stopping
                record(future)
            raise FatalError(fatal, tally)
        self._stop.clear()
        return tally

    def _record(
        self, future: Future[Response], sink: Sink, tally: Tally, on_response: OnResponse | None
    ) -> str | None:
        try:
            response = future.result()
        except FatalError as error:
            return error.reason
        if response.error == "cancelled":
            return None
        sink.append(response)
        tally.add(response)
        if on_response is not None:
            on_response(response, tally)
        return None
