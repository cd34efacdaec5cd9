"""Scoring responses with the task's own reward handler, in-process, in Bedrock-shaped batches.

The handler is chosen exactly as `rft rehearse` chooses it (the deployed handler string; for a reward
that calls a judge, its code-checked part unless `--judge bedrock`), and each response becomes the
sample Bedrock sends the Lambda: the prompt turns, the response as the assistant turn, the reference.
So a score here is the score the job's grader gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rft.evaluate.cache import Response
from rft.evaluate.sampling import Prompt
from rft.rehearse.handlers import Handler
from rft.rehearse.rollouts import Rollout
from rft.rehearse.runner import DEFAULT_BATCH_SIZE, run


@dataclass(frozen=True)
class Scored:
    response: Response
    score: float
    format_ok: bool


@dataclass(frozen=True)
class Scorer:
    """The reward to score with, its label for the report, and the code-checked part if it differs."""

    handler: Handler
    label: str
    notes: list[str] = field(default_factory=list)
    code_checked: Handler | None = None  # e.g. PandaLM's verdict alone, reported beside the full reward
    code_checked_label: str = "verdict only"


def scorer_for(task: str, judge: str = "none", judge_model: str | None = None) -> Scorer:
    """The handler `rft rehearse` would use for `task`, plus its code-checked part when it has one."""
    from rft.project import reward_handler_path
    from rft.rehearse.rehearsal import RehearsalRequest, _plan
    from rft.rehearse.sources import rehearsal_for

    request = RehearsalRequest(task=task, judge=judge, judge_model=judge_model)  # type: ignore[arg-type]
    chosen = _plan(request, reward_handler_path(task))
    offline = rehearsal_for(task).offline_handler
    code_checked = (chosen.handler if judge == "none" else offline()) if offline is not None else None
    return Scorer(chosen.handler, chosen.label, list(chosen.notes), code_checked)


def score(
    handler: Handler,
    prompts: Mapping[str, Prompt],
    responses: Sequence[Response],
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[Scored]:
    """Score every answered response (errors are never scored); one `Scored` per answered response."""
    answered = [r for r in responses if r.ok]
    rollouts = [
        Rollout(
            sample_id=f"{r.prompt_id}/{r.sample}",
            prompt_id=r.prompt_id,
            prompt=list(prompts[r.prompt_id].turns),
            response=r.text or "",
            reference=prompts[r.prompt_id].reference,
        )
        for r in answered
    ]
    outcome = run(handler, rollouts, batch_size=batch_size, time_each=False)
    return [Scored(r, s.score, s.format_ok) for r, s in zip(answered, outcome.scored, strict=True)]
