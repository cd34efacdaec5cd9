"""`rft evaluate` on an open-weight stack: models called through bedrock-mantle chat completions.

An open-weight stack (gpt-oss, Qwen3) trains on Bedrock's OpenAI-compatible API, and its tuned model
(the job's `fine_tuned_model`) is callable there directly, with no deployment step (Bedrock user
guide, fine-tuning-openai-job-create: `POST /v1/chat/completions` with `model`, `messages`,
`max_tokens`). So for such a stack, `--model base` is the configured model's API id and
`--model tuned` the job's `fine_tuned_model`, and every call goes to `POST /v1/chat/completions`.

**Same interface as Converse.** `ChatCompletionsClient` has the one method the sampler calls,
`converse(**request)`, and `meta.events` (botocore's own `HierarchicalEmitter`), on which the
sampler's attempt gate registers. It translates the Converse request into a chat-completions body and
the answer back into Converse's shape, so the sampler's bounded concurrency, retries, error rules and
cache apply unchanged, wherever the sampler lives:

* each HTTP attempt is announced on `before-send` / `response-received` (the MantleClient's own
  retries are off), so the gate bounds attempts in flight and a call sleeping in a backoff holds no
  slot; a dropped connection is tried again here, up to 3 attempts as botocore does for Converse,
  after which the run stops (the endpoint is unreachable);
* a 429 or a 5xx becomes a `ClientError` with a code the sampler retries (`ThrottlingException`,
  `ServiceUnavailableException`, `InternalServerException`); 401/403/404 become the codes it treats
  as fatal for the run; anything else a per-call error. A failed call is recorded as an error,
  never scored as a wrong answer.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from rft.errors import UserError

CONVERSE_EVENTS = ("before-send.bedrock-runtime.Converse", "response-received.bedrock-runtime.Converse")
API_LABEL = "bedrock-mantle chat completions"
#: Seconds to wait for one answer: a long generation at a high max_tokens takes minutes.
READ_TIMEOUT_S = 300.0
#: Attempts at a call whose connection failed (botocore's standard mode makes 3 for Converse), and the
#: base of their jittered backoff; after the last, the run stops: the endpoint is unreachable.
CONNECTION_ATTEMPTS = 3
CONNECTION_BACKOFF_S = 0.25
FINISH_REASONS = {"stop": "end_turn", "length": "max_tokens", "content_filter": "content_filtered"}


def chat_body(
    *,
    modelId: str,  # Converse's own parameter names
    messages: list[Mapping[str, Any]],
    system: list[Mapping[str, Any]] | None = None,
    inferenceConfig: Mapping[str, Any] | None = None,
    **_: Any,
) -> dict[str, Any]:
    """The chat-completions body for a Converse request: the same turns, max_tokens, temperature."""

    def text(blocks: Any) -> str:
        if isinstance(blocks, str):
            return blocks
        return "".join(str(b["text"]) for b in blocks or [] if isinstance(b, Mapping) and "text" in b)

    turns: list[dict[str, str]] = []
    if system:
        turns.append({"role": "system", "content": "\n\n".join(text([b]) for b in system)})
    turns += [{"role": str(m["role"]), "content": text(m.get("content"))} for m in messages]
    body: dict[str, Any] = {"model": modelId, "messages": turns}
    config = inferenceConfig or {}
    if config.get("maxTokens") is not None:
        body["max_tokens"] = int(config["maxTokens"])
    if config.get("temperature") is not None:
        body["temperature"] = float(config["temperature"])
    return body


def _answer_text(message: Mapping[str, Any]) -> str | None:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts, as some OpenAI-compatible servers answer
        parts = [p.get("text") for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str)]
        return "".join(parts) if parts else None
    return None


def converse_result(answer: Mapping[str, Any]) -> dict[str, Any]:
    """A chat-completions answer in Converse's shape (what the sampler reads): no text, no message."""
    choices = answer.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], Mapping) else {}
    message = choice.get("message") if isinstance(choice.get("message"), Mapping) else {}
    text = _answer_text(message)
    usage = answer.get("usage") if isinstance(answer.get("usage"), Mapping) else {}
    result: dict[str, Any] = {
        "usage": {
            "inputTokens": int(usage.get("prompt_tokens") or 0),
            "outputTokens": int(usage.get("completion_tokens") or 0),
        },
        "stopReason": FINISH_REASONS.get(str(choice.get("finish_reason")), choice.get("finish_reason")),
    }
    if text is not None:
        result["output"] = {"message": {"role": "assistant", "content": [{"text": text}]}}
    return result


def _code(error: Any) -> str:
    """The Converse-style code the sampler acts on for a MantleError."""
    status, code = int(error.status or 0), str(error.code or "")
    if status == 429:
        return "ThrottlingException"
    if status == 503:
        return "ServiceUnavailableException"
    if status >= 500:
        return "InternalServerException"
    if status == 401:
        return "UnrecognizedClientException"
    if status == 403:
        return "InvalidSignatureException" if "signature" in code.lower() else "AccessDeniedException"
    if status == 404:
        return "ResourceNotFoundException"
    return "ValidationException" if status == 400 else code or f"HTTP{status}"


def client_error(error: Any, endpoint: str) -> Exception:
    """A MantleError as the botocore exception the sampler classifies (fatal, retryable or per call)."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if not error.status:
        if error.code == "no_credentials":
            return NoCredentialsError()
        return EndpointConnectionError(endpoint_url=f"{endpoint}/v1/chat/completions")
    message = str(error.message or "")[:300]
    if error.status == 403:
        message += " (needs bedrock-mantle:CreateInference on project/default)"
    return ClientError(
        {
            "Error": {"Code": _code(error), "Message": f"HTTP {error.status} {error.code}: {message}"},
            "ResponseMetadata": {"HTTPStatusCode": error.status, "RetryAttempts": 0},
        },
        "ChatCompletion",
    )


class ChatCompletionsClient:
    """The sampler's client interface (`converse`, `meta.events`) over `MantleClient.chat_completion`."""

    def __init__(
        self, mantle: Any, sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None
    ) -> None:
        from botocore.hooks import HierarchicalEmitter

        self._mantle = mantle
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.meta = SimpleNamespace(
            events=HierarchicalEmitter(), region_name=mantle.region, endpoint_url=mantle.endpoint_url
        )

    def converse(self, **request: Any) -> dict[str, Any]:
        """One chat completion in Converse's shape; a dropped connection is tried again first, as
        botocore does for Converse, each attempt holding a gate slot only while it is on the wire."""
        from rft.open_weight import mantle_module

        body = chat_body(**request)
        before, after = CONVERSE_EVENTS
        for attempt in range(1, CONNECTION_ATTEMPTS + 1):
            self.meta.events.emit(before, request=body)  # the gate: waits for a slot, or stops the run
            try:
                return converse_result(self._mantle.chat_completion(body))
            except mantle_module().MantleError as error:
                if error.status or error.code == "no_credentials" or attempt == CONNECTION_ATTEMPTS:
                    raise client_error(error, self._mantle.endpoint_url) from None
            finally:
                self.meta.events.emit(after, request=body)
            self._sleep(self._rng.uniform(0, CONNECTION_BACKOFF_S * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover


def chat_completions_factory(region: str, endpoint_url: str | None = None) -> Any:
    """Clients for `region` (endpoint: `endpoint_url`, else AWS_ENDPOINT_URL_BEDROCK_MANTLE, else AWS)."""
    from rft.open_weight import mantle_client

    def make(pool: int) -> ChatCompletionsClient:
        # One attempt per call: the sampler retries, so its gate and backoff see every attempt.
        mantle = mantle_client(region, endpoint_url, max_attempts=1, timeout=READ_TIMEOUT_S, pool=pool)
        return ChatCompletionsClient(mantle)

    return make


# -- which models an open-weight stack's `base` and `tuned` are ------------------------------------


@dataclass(frozen=True)
class OpenWeightTarget:
    """An open-weight stack to evaluate: its region, its base model's API id, its stack name."""

    stack: str
    region: str
    base_model: str  # its API id (stacks/config.py's model table)

    def tuned_model(self, region: str, endpoint_url: str | None = None) -> str:
        """The job's `fine_tuned_model`, once it succeeded: the stack's MantleJobId output, retrieved."""
        from rft.aws import client, require_output, stack_outputs
        from rft.open_weight import JOB_ID_OUTPUT, is_open_weight, mantle_client, mantle_job, retrieve

        outputs = stack_outputs(client("cloudformation", region), self.stack)
        if not is_open_weight(outputs):
            raise UserError(
                f"stack {self.stack!r} in {region} was deployed with a Nova model, not the open-weight model "
                f"cdk.json names; redeploy it (`make deploy STACK={self.stack}`) or set rft:baseModel back"
            )
        job_id = require_output(outputs, JOB_ID_OUTPUT, self.stack)
        job = mantle_job(retrieve(mantle_client(region, endpoint_url), job_id, region))
        if job.fine_tuned_model:
            return job.fine_tuned_model
        why = f" ({job.error})" if job.error else ""
        raise UserError(
            f"{self.stack}'s fine-tuning job {job_id} is {job.status}{why}: it has a tuned model only once "
            f"it succeeded; follow it with `rft status {self.stack} --watch`"
        )

    def resolve(self, names: list[str], region: str, endpoint_url: str | None = None) -> list[str]:
        """`--model` values with `base` / `tuned` replaced; other values are mantle model ids as given."""
        from rft.evaluate.models import BASE, TUNED

        if not names:
            raise UserError("give at least one --model (e.g. --model base --model tuned)")
        resolved = [
            self.base_model if n == BASE else self.tuned_model(region, endpoint_url) if n == TUNED else n
            for n in names
        ]
        repeated = sorted({m for m in resolved if resolved.count(m) > 1})
        if repeated:
            raise UserError(f"--model {repeated[0]} is given twice; each model is evaluated once")
        return resolved

    @property
    def note(self) -> str:
        return (
            f"Open-weight stack: every model was called through {API_LABEL} "
            f"(POST /v1/chat/completions, {self.region}), not Converse."
        )


def open_weight_target(config: Any, stack: str) -> OpenWeightTarget | None:
    """The open-weight target of a loaded config (stacks.config.RftConfig); None for a Nova stack."""
    if not config.is_open_weight:
        return None
    return OpenWeightTarget(stack=stack, region=str(config.region), base_model=str(config.api_model_id))
