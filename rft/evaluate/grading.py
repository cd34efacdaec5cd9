"""Choosing the reward `rft evaluate` scores with; the scoring itself is `rft_eval.scoring`.

The handler is chosen exactly as `rft rehearse` chooses it (the deployed handler string; for a reward
that calls a judge, its code-checked part unless `--judge bedrock`), and each response becomes the
sample Bedrock sends the Lambda: the prompt turns, the response as the assistant turn, the reference.
So a score here is the score the job's grader gives, and the score the post-training workflow gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rft_eval.scoring import Handler, Scored, score

__all__ = ["Scored", "Scorer", "score", "scorer_for"]


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
