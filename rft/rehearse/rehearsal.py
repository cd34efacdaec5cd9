"""`rft rehearse`: run a task's reward in-process on rollouts and judge whether it can teach anything."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rft.errors import UserError
from rft.judge_failures import describe
from rft.project import REPO_ROOT, configured_judge_model, default_region, reward_handler_path, task_spec
from rft.rehearse.analysis import Summary, summarize
from rft.rehearse.handlers import Handler, load_handler
from rft.rehearse.report import render, write_histogram, write_json
from rft.rehearse.rollouts import Rollout, first, read_responses_file
from rft.rehearse.runner import DEFAULT_BATCH_SIZE, progress_total, run
from rft.rehearse.sources import rehearsal_for
from rft.rehearse.task_samples import rollout_source

Judge = Literal["none", "bedrock"]


@dataclass(frozen=True)
class RehearsalRequest:
    task: str
    responses: Path | None = None
    n: int | None = None
    out_dir: Path = Path("reports")
    batch_size: int = DEFAULT_BATCH_SIZE
    judge: Judge = "none"
    judge_model: str | None = None


@dataclass
class _Plan:
    handler: Handler
    label: str
    time_each: bool
    notes: list[str] = field(default_factory=list)
    judge: dict[str, str] | None = None  # the judge's environment, for --judge bedrock


def _rollouts(request: RehearsalRequest) -> tuple[list[Rollout], str]:
    if request.responses is not None:
        rollouts = read_responses_file(request.responses)
        return first(rollouts, request.n), f"{request.responses} ({len(rollouts):,} rollouts)"
    source = rollout_source(request.task)
    if source is None:
        raise UserError(
            f"task {request.task!r} has no bundled rollouts (nor data_prep/samples/{request.task}/rollouts.jsonl); "
            "pass --responses FILE (JSONL of {prompt_id, response, reference})"
        )
    return first(source.load(), request.n), source.description


def _without_aws(task: str) -> str:
    """What rehearses or tests this task's reward with no AWS credentials (for the no-credentials error)."""
    if rehearsal_for(task).offline_handler is not None:
        return ", or rehearse without --judge to score only the part checked in code"
    test = REPO_ROOT / "tests" / "tasks" / f"test_{task}_reward.py"
    if test.is_file():
        return (
            f". Without AWS: the {task} reward has no part checked in code, so test it with "
            f"`.venv/bin/pytest {test.relative_to(REPO_ROOT).as_posix()}` (a stand-in judge)"
        )
    return f"; the {task} reward has no part checked in code, so it needs AWS to rehearse"


def _judge_environment(request: RehearsalRequest) -> dict[str, str]:
    import boto3

    if boto3.Session().get_credentials() is None:
        raise UserError(
            "--judge bedrock calls the judge model on Amazon Bedrock, but no AWS credentials were found; "
            f"configure a profile (aws configure, AWS_PROFILE){_without_aws(request.task)}"
        )
    spec = task_spec(request.task)
    model = request.judge_model
    if model is None and spec is not None:
        model = configured_judge_model(spec)
    if not model:
        raise UserError(f"no judge model for {request.task}; pass --judge-model MODEL_ID")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or default_region()
    return {"JUDGE_MODEL_ID": model, "AWS_REGION": region}


def _plan(request: RehearsalRequest, handler_path: str) -> _Plan:
    rehearsal = rehearsal_for(request.task)
    spec = task_spec(request.task)
    has_judge = rehearsal.offline_handler is not None or (spec is not None and spec.kind == "rlaif")
    if request.judge == "bedrock":
        if not has_judge:
            raise UserError(
                f"--judge bedrock is for rewards that call a judge model; {request.task} is checked in code"
            )
        env = _judge_environment(request)
        handler = load_handler(handler_path, environment=env)
        note = f"calls the judge model {env['JUDGE_MODEL_ID']} in {env['AWS_REGION']} (billed per call)"
        return _Plan(handler, handler_path, time_each=False, notes=[note], judge=env)
    if rehearsal.offline_handler is not None:
        notes = [rehearsal.offline_note] if rehearsal.offline_note else []
        return _Plan(rehearsal.offline_handler(), f"{handler_path} (code-checked part)", True, notes)
    if has_judge:
        raise UserError(f"the {request.task} reward calls a judge model; rehearse it with --judge bedrock")
    return _Plan(load_handler(handler_path), handler_path, time_each=True)


def rehearse(request: RehearsalRequest, console: Console, progress_console: Console | None = None) -> Summary:
    """Score the rollouts, print the report, write JSON and PNG; the Summary says if it is degenerate."""
    if request.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {request.batch_size}")
    handler_path = reward_handler_path(request.task)
    rollouts, source = _rollouts(request)
    plan = _plan(request, handler_path)

    bar_console = progress_console or console
    with Progress(
        TextColumn("[bold]scoring[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=bar_console,
        transient=True,
        disable=not bar_console.is_terminal,
    ) as bar:
        bar_task = bar.add_task("scoring", total=progress_total(len(rollouts), plan.time_each))
        outcome = run(
            plan.handler,
            rollouts,
            batch_size=request.batch_size,
            time_each=plan.time_each,
            progress=lambda n: bar.advance(bar_task, n),
        )

    summary = summarize(outcome, task=request.task, handler=plan.label, source=source, notes=plan.notes)
    if summary.judge is not None and summary.judge.failed:
        env = plan.judge or {}
        judge_model, region = env.get("JUDGE_MODEL_ID"), env.get("AWS_REGION")
        summary.warnings.insert(0, describe(summary.judge, model=judge_model, region=region))
    stem = request.out_dir / f"rehearse-{request.task}"
    written = [
        write_json(stem.with_suffix(".json"), summary),
        write_histogram(stem.with_suffix(".png"), summary, outcome.scored),
    ]
    render(console, summary, written)
    return summary
