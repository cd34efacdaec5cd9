"""Scoring responses with the task's own reward handler, in-process, in Bedrock-shaped batches.

The handler is imported by its deployed handler string (`gsm8k_reward.handler.lambda_handler`) from the
same asset root the grader's function runs from, and each response becomes the sample Bedrock sends
that Lambda: the prompt turns, the response as the assistant turn last, the reference. So a score here
is the score the job's grader gives. The answer is read against the contract (`rft_eval.reward_contract`): a
result that breaks it scores 0 and is listed as a problem.

While the handler runs, whatever it prints (Powertools' log lines and EMF metric blobs) goes to a sink:
in a terminal it is noise, and in the evaluation Lambda it would publish the reward's training
metrics for samples that are not training.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rft_eval.input_errors import EvalInputError
from rft_eval.prompts import Prompt
from rft_eval.responses import Response
from rft_eval.reward_contract import Result, check_results

DEFAULT_BATCH_SIZE = 32
Handler = Callable[[Any, Any], Any]
Progress = Callable[[int], None]


class _Sink(io.TextIOBase):
    """A write-only stream that drops everything: the handler's own output while it scores."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


_SINK = _Sink()


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow what the handler prints (log lines, EMF blobs) while importing or scoring."""
    with contextlib.redirect_stdout(_SINK):
        yield


def load_handler(
    handler_path: str, *, environment: Mapping[str, str] | None = None, where: str = ""
) -> Handler:
    """Import `package.module.function`; any failure is an `EvalInputError` naming the handler string.

    `environment` is set before the import because handlers read their configuration (judge model,
    weights) once per container, at import time, as they do in Lambda. `where` says where the module
    was looked for, for the message.
    """
    module_name, _, attribute = handler_path.rpartition(".")
    if not module_name or not attribute:
        raise EvalInputError(f"handler {handler_path!r} must look like package.module.function")
    for key, value in (environment or {}).items():
        os.environ[key] = value
    try:
        with quiet():
            module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise EvalInputError(
            f"cannot import {module_name}{where} ({error}); is the reward package there?"
        ) from None
    except Exception as error:  # a broken reward module: say which, never a traceback
        raise EvalInputError(
            f"importing {module_name}{where} failed: {type(error).__name__}: {error}"[:500]
        ) from None
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise EvalInputError(f"{module_name} has no callable {attribute!r}")
    return handler


def call(handler: Handler, batch: list[dict[str, Any]]) -> Any:
    """One invocation, as Lambda makes it: the batch as the event, and no Lambda context."""
    with quiet():
        return handler(batch, None)


def bedrock_sample(
    sample_id: str, prompt: Sequence[dict[str, Any]], response: str, reference: Any
) -> dict[str, Any]:
    """The sample Bedrock sends the reward Lambda: prompt turns, the generated turn last, the reference."""
    return {
        "id": sample_id,
        "messages": [*prompt, {"role": "assistant", "content": response}],
        "reference_answer": reference,
    }


@dataclass(frozen=True)
class BatchScores:
    """One result per sample (in input order), the batch time shared out per sample, contract problems."""

    results: list[Result]
    seconds: list[float]
    problems: list[str]
    batches: int
    wall_seconds: float


def score_batches(
    handler: Handler,
    samples: Sequence[dict[str, Any]],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> BatchScores:
    """Send `samples` to `handler` in batches of `batch_size`, as Bedrock does, and read the answers.

    A handler that breaks the contract still gets one result slot per sample (score None), so the
    results line up with the samples whatever it returned. `progress(n)` is told of each batch.
    """
    results: list[Result] = []
    seconds: list[float] = []
    problems: list[str] = []
    batches = 0
    started = clock()
    for offset in range(0, len(samples), batch_size):
        batch = list(samples[offset : offset + batch_size])
        t0 = clock()
        raw = call(handler, batch)
        elapsed = clock() - t0
        parsed, batch_problems = check_results(batch, raw)
        problems.extend(batch_problems)
        parsed = (parsed + [Result(s.get("id"), None, None) for s in batch])[: len(batch)]
        results.extend(parsed)
        seconds.extend([elapsed / len(batch)] * len(batch))
        batches += 1
        if progress:
            progress(len(batch))
    return BatchScores(results, seconds, problems, batches, clock() - started)


@dataclass(frozen=True)
class Scored:
    response: Response
    score: float
    format_ok: bool


def sample_id(response: Response) -> str:
    return f"{response.prompt_id}/{response.sample}"


def score(
    handler: Handler,
    prompts: Mapping[str, Prompt],
    responses: Sequence[Response],
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[Scored]:
    """Score every answered response (errors are never scored); one `Scored` per answered response.

    A result that breaks the contract scores 0, as Bedrock would treat it.
    """
    answered = [r for r in responses if r.ok]
    samples = [
        bedrock_sample(
            sample_id(r), list(prompts[r.prompt_id].turns), r.text or "", prompts[r.prompt_id].reference
        )
        for r in answered
    ]
    outcome = score_batches(handler, samples, batch_size=batch_size)
    return [
        Scored(r, result.score if result.score is not None else 0.0, bool(result.format_ok))
        for r, result in zip(answered, outcome.results, strict=True)
    ]
