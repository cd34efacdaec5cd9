"""`rft evaluate`'s side of the Converse harness: prompts from a local file, the plan against the cache,
and the CLI's error messages.

The harness itself (bounded concurrency, retries, error classification, fatal errors) is
`rft_eval.converse` in `lambda/`, shared with the post-training evaluation workflow; this module adds
what only a terminal run has:

* **Resumable:** every outcome is appended to a `ResponseCache` as it arrives; on Ctrl-C the pending
  calls are cancelled, the ones in flight are waited for and kept, and a rerun asks only for the rest.
* **Messages:** a fatal error or a bad setting is a `UserError` naming the fix and the cache.

Reused by `rft evaluate` and by a pre-flight on the base model; nothing under `lambda/`, `stacks/` or
`data_prep/` imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rft_eval import converse as core
from rft_eval.converse import (
    DEFAULT_CONCURRENCY,
    FATAL_CODES,
    MAX_CONCURRENCY,
    RETRYABLE_CODES,
    Call,
    Cancelled,
    ClientFactory,
    FatalError,
    Inference,
    OnResponse,
    RetryPolicy,
    Tally,
    bedrock_runtime_factory,
    default_temperature,
)
from rft_eval.input_errors import EvalInputError
from rft_eval.prompts import Prompt, parse_prompts

from rft.errors import UserError
from rft.evaluate.cache import ResponseCache

__all__ = [
    "DEFAULT_CONCURRENCY",
    "FATAL_CODES",
    "MAX_CONCURRENCY",
    "RETRYABLE_CODES",
    "Call",
    "Cancelled",
    "ClientFactory",
    "FatalError",
    "Inference",
    "Plan",
    "Prompt",
    "RetryPolicy",
    "Sampler",
    "Tally",
    "bedrock_runtime_factory",
    "default_temperature",
    "plan",
    "read_prompts",
]

CHARS_PER_TOKEN = 4.0  # a rough average for English text: for the cost estimate only


def read_prompts(path: Path, limit: int | None = None) -> list[Prompt]:
    """The prompts of a data_prep JSONL file (`id`, `messages`, `reference_answer` per line)."""
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be at least 1, got {limit}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UserError(f"data file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read {path}: {error}") from None
    try:
        return parse_prompts(lines, str(path), limit)
    except EvalInputError as error:
        raise UserError(str(error)) from None


@dataclass(frozen=True)
class Plan:
    """What a run will ask for: the calls still missing from the cache, and their rough size."""

    calls: tuple[Call, ...]
    cached: int
    input_tokens: int  # estimated from the prompt characters
    max_output_tokens: int  # maxTokens per call: the most the run can generate

    @property
    def total(self) -> int:
        return len(self.calls) + self.cached


def plan(
    models: Sequence[str], prompts: Sequence[Prompt], samples: int, inference: Inference, cache: ResponseCache
) -> Plan:
    if samples < 1:
        raise UserError(f"--samples must be at least 1, got {samples}")
    calls: list[Call] = []
    cached = 0
    for model in models:
        for prompt in prompts:
            fingerprint = inference.fingerprint(prompt)
            for index in range(samples):
                if cache.answered((model, prompt.id, index), fingerprint) is not None:
                    cached += 1
                else:
                    calls.append(Call(model, prompt, index))
    input_tokens = sum(int(c.prompt.chars / CHARS_PER_TOKEN) + 1 for c in calls)
    return Plan(tuple(calls), cached, input_tokens, len(calls) * inference.max_tokens)


class Sampler(core.Sampler):
    """The shared harness, writing to the resumable cache and speaking the CLI's errors."""

    concurrency_setting = "--concurrency"

    def __post_init__(self) -> None:
        try:
            super().__post_init__()
        except EvalInputError as error:
            raise UserError(str(error)) from None

    def run(  # type: ignore[override]
        self,
        calls: Sequence[Call],
        cache: ResponseCache,
        on_response: OnResponse | None = None,
        on_interrupt: Callable[[int], None] | None = None,
    ) -> Tally:
        """Make `calls`, appending each outcome to `cache` on the calling thread as it completes.

        Raises `UserError` on a fatal error and re-raises KeyboardInterrupt, in both cases after the
        calls already in flight have finished and been cached (`on_interrupt(n)` is told how many).
        """
        try:
            return super().run(calls, cache, on_response, on_interrupt)
        except FatalError as error:
            tally = error.tally or Tally()
            raise UserError(
                f"{error.reason}; {tally.done - tally.errors:,} responses so far are cached in {cache.path}"
            ) from None
