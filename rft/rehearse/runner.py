"""Running a reward handler over rollouts: batched like Bedrock, then timed one sample at a time.

Scores come from the batched pass, because batching is what the deployed function sees (a judge reward
uses the batch for concurrency and for its fallback score). A second pass sends each sample alone to
time it: a slow sample is what times out a Lambda, and a batch time hides which one it was. The second
pass also shows whether a score depends on which batch a sample landed in, which for a reward checked
in code is a bug. Rewards that call a paid judge skip it and report the batch time per sample instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rft_eval.scoring import DEFAULT_BATCH_SIZE, score_batches

from rft.contract import Result, check_results
from rft.rehearse.handlers import Handler, call
from rft.rehearse.rollouts import Rollout, to_bedrock_sample

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Scored:
    """A rollout with the reward it got and how long scoring it took."""

    rollout: Rollout
    score: float
    format_ok: bool
    metrics: dict[str, float]
    seconds: float


@dataclass
class RunOutcome:
    scored: list[Scored]
    batches: int
    batch_size: int
    wall_seconds: float
    timing: str  # "per sample" or "batch average"
    batch_dependent: list[str] = field(default_factory=list)  # ids whose score changed when sent alone
    contract_problems: list[str] = field(default_factory=list)


def progress_total(count: int, time_each: bool) -> int:
    return count * 2 if time_each else count


def _score(result: Result) -> float:
    return result.score if result.score is not None else 0.0


def run(
    handler: Handler,
    rollouts: Sequence[Rollout],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    time_each: bool = True,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> RunOutcome:
    """Score every rollout.

    `progress(n)` is told of every n samples handled: each sample counts once per pass, so the total is
    `progress_total(len(rollouts), time_each)`.
    """
    samples = [to_bedrock_sample(r) for r in rollouts]
    first_pass = score_batches(handler, samples, batch_size=batch_size, progress=progress, clock=clock)
    results, problems = first_pass.results, first_pass.problems

    seconds = first_pass.seconds
    changed: list[str] = []
    if time_each:
        seconds = []
        for sample, batched in zip(samples, results, strict=True):
            t0 = clock()
            raw = call(handler, [sample])
            seconds.append(clock() - t0)
            alone, _ = check_results([sample], raw)
            if alone and batched.score is not None and alone[0].score != batched.score:
                changed.append(str(sample["id"]))
            if progress:
                progress(1)

    scored = [
        Scored(rollout, _score(result), bool(result.format_ok), result.metrics, secs)
        for rollout, result, secs in zip(rollouts, results, seconds, strict=True)
    ]
    return RunOutcome(
        scored=scored,
        batches=first_pass.batches,
        batch_size=batch_size,
        wall_seconds=first_pass.wall_seconds,
        timing="per sample" if time_each else "batch average",
        batch_dependent=changed,
        contract_problems=problems[:10],
    )
