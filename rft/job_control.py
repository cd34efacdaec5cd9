"""`rft status` and `rft stop`: the stack's RFT job, read, watched until it ends, or stopped.

The job is found by the `JobName` stack output and read by name (`GetModelCustomizationJob` takes the
name or the ARN on AWS; moto only takes the name). Watching polls with exponential backoff: a job runs
for hours, the first minutes are when it fails fast (data validation), and a long poll interval later
keeps well under the API's rate limits however many terminals watch.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError
from rich.console import Console
from rich.live import Live
from rich.table import Table

from rft.aws import aws_errors, client, error_code, require_output, stack_outputs
from rft.errors import EXIT_JOB_FAILED, UserError
from rft.plots import reward_curve
from rft.training_metrics import JobMetrics, read_job_metrics

TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
NOT_LAUNCHED = "not-launched"
STAGES = (
    ("validation", "validationDetails"),
    ("data processing", "dataProcessingDetails"),
    ("training", "trainingDetails"),
)
STATUS_STYLE = {
    "InProgress": "cyan",
    "Completed": "green",
    "Failed": "red",
    "Stopping": "yellow",
    "Stopped": "yellow",
}

Sleep = Callable[[float], None]
# Polling waits through this (tests replace it); the backoff: first wait, growth factor, longest wait.
POLL_SLEEP: Sleep = time.sleep
FIRST_POLL_S, POLL_GROWTH, LONGEST_POLL_S = 15.0, 1.5, 300.0
EVALUATION_LONGEST_POLL_S = 120.0  # an evaluation takes minutes, not hours: poll it more often


@dataclass(frozen=True)
class JobView:
    """The parts of a GetModelCustomizationJob answer an operator looks at."""

    name: str
    arn: str
    status: str
    base_model: str
    created: datetime | None
    ended: datetime | None  # the later of endTime and lastModifiedTime, whichever the job has
    hyperparameters: dict[str, Any]
    output_uri: str
    failure_message: str | None
    output_model: str | None
    stages: list[tuple[str, str]] = field(default_factory=list)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def elapsed(self, now: datetime) -> timedelta | None:
        """creationTime to now while the job runs; to its end once it ended; None when not known.

        An ended job whose recorded end is not after its creation has no usable end (the emulator's
        moto stamps endTime and lastModifiedTime at creation and never moves them): unknown, not 0.
        """
        if self.created is None:
            return None
        if not self.terminal:
            return max(timedelta(0), _aware(now) - _aware(self.created))
        if self.ended is None or _aware(self.ended) <= _aware(self.created):
            return None
        return _aware(self.ended) - _aware(self.created)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _latest(*moments: Any) -> datetime | None:
    known = [_aware(m) for m in moments if isinstance(m, datetime)]
    return max(known) if known else None


def job_view(job: Mapping[str, Any]) -> JobView:
    rft = job.get("customizationConfig", {}).get("rftConfig", {})
    details = job.get("statusDetails", {})
    return JobView(
        name=str(job.get("jobName", "")),
        arn=str(job.get("jobArn", "")),
        status=str(job.get("status", "unknown")),
        base_model=str(job.get("baseModelArn", "")),
        created=job.get("creationTime"),
        # A Stopped job may have no endTime; lastModifiedTime is when it stopped.
        ended=_latest(job.get("endTime"), job.get("lastModifiedTime")),
        # RFT jobs report typed hyperparameters in rftConfig; other customizations use the string map.
        hyperparameters=dict(rft.get("hyperParameters") or job.get("hyperParameters") or {}),
        output_uri=str(job.get("outputDataConfig", {}).get("s3Uri", "")),
        failure_message=job.get("failureMessage") if job.get("status") == "Failed" else None,
        output_model=job.get("outputModelArn") if job.get("status") == "Completed" else None,
        stages=[
            (label, str(details[key].get("status")))
            for label, key in STAGES
            if details.get(key, {}).get("status")
        ],
    )


def format_elapsed(delta: timedelta | None) -> str:
    if delta is None:
        return "unknown"
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {seconds:02d}s" if hours else f"{minutes}m {seconds:02d}s"


def _elapsed_text(view: JobView, now: datetime) -> str:
    elapsed = view.elapsed(now)
    if not view.terminal:
        return f"{format_elapsed(elapsed)} (running)"
    if elapsed is None and view.created is not None:
        return "unknown (the job records no end time after its creation time)"
    return format_elapsed(elapsed)


def render_job(view: JobView, now: datetime, footer: str = "") -> Table:
    table = Table(title=f"RFT job {view.name}", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    style = STATUS_STYLE.get(view.status, "white")
    table.add_row("status", f"[{style}]{view.status}[/]")
    if view.stages:
        table.add_row("stages", ", ".join(f"{label} {status}" for label, status in view.stages))
    table.add_row("elapsed", _elapsed_text(view, now))
    table.add_row("base model", view.base_model or "unknown")
    if view.hyperparameters:
        table.add_row(
            "hyperparameters", ", ".join(f"{k}={v}" for k, v in sorted(view.hyperparameters.items()))
        )
    table.add_row("output", view.output_uri or "unknown")
    if view.output_model:
        table.add_row("custom model", view.output_model)
    if view.failure_message:
        table.add_row("failureMessage", f"[red]{view.failure_message}[/]")
    if footer:
        table.caption = footer
    return table


def backoff_delays(initial: float, factor: float, maximum: float) -> Iterator[float]:
    """initial, initial*factor, ... capped at maximum, forever."""
    delay = initial
    while True:
        yield min(delay, maximum)
        delay = min(delay * factor, maximum)


# -- AWS ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackJob:
    stack: str
    job_name: str
    outputs: dict[str, str]


def stack_job(stack: str, region: str) -> StackJob:
    from rft import open_weight

    outputs = stack_outputs(client("cloudformation", region), stack)
    job_name = require_output(outputs, "JobName", stack)
    if job_name == NOT_LAUNCHED:
        raise UserError(
            f"stack {stack!r} was deployed with rft:launchJob=false, so it has no job; set it to true in "
            f"cdk.json and `make deploy STACK={stack}` to launch one"
        )
    if open_weight.is_open_weight(outputs):  # a mantle fine-tuning job, read by its id (rft.open_weight)
        job_name = require_output(outputs, open_weight.JOB_ID_OUTPUT, stack)
    return StackJob(stack, job_name, outputs)


def get_job(bedrock: BaseClient, job_name: str) -> dict[str, Any]:
    with aws_errors(f"read job {job_name}"):
        try:
            return bedrock.get_model_customization_job(jobIdentifier=job_name)
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise
    raise UserError(
        f"job {job_name!r} (the stack's JobName output) does not exist in {bedrock.meta.region_name}; "
        "it may have been deleted, or the stack is in another region (--region)"
    )


def watch(
    bedrock: BaseClient,
    job_name: str,
    console: Console,
    *,
    first: dict[str, Any],
    sleep: Sleep | None = None,
    delays: Iterator[float] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    figures: Callable[[JobView], str] | None = None,
) -> dict[str, Any]:
    """Poll until the job reaches a terminal state; status changes are printed as they happen.

    `figures(view)` adds the live reward figures (rft.live_metrics) to each poll's line.

    In a terminal a live table shows the job. In a log or CI, where a live table cannot redraw, each
    poll prints one line (status, elapsed, next check), so a watch that waits minutes is never silent.
    """
    sleep = sleep or POLL_SLEEP
    delays = delays or backoff_delays(FIRST_POLL_S, POLL_GROWTH, LONGEST_POLL_S)
    job, polls = first, 1
    live = (
        Live(render_job(job_view(job), now()), console=console, refresh_per_second=2)
        if console.is_terminal
        else None
    )
    with live or contextlib.nullcontext():
        while not job_view(job).terminal:
            delay = next(delays)
            view = job_view(job)
            extra = figures(view) if figures else ""
            if live is not None:
                next_check = (now() + timedelta(seconds=delay)).strftime("%H:%M:%S")
                footer = f"poll {polls}; next check at {next_check} (Ctrl-C stops watching, not the job)"
                footer = f"{extra}\n{footer}" if extra else footer
                live.update(render_job(view, now(), footer))
            else:
                console.print(
                    f"{now():%H:%M:%S} {job_name}: {view.status}, elapsed {format_elapsed(view.elapsed(now()))}"
                    f"{', ' + extra if extra else ''} (poll {polls}; next check in {delay:g} s)",
                    soft_wrap=True,
                )
            sleep(delay)
            previous = job_view(job).status
            job = get_job(bedrock, job_name)
            polls += 1
            if job_view(job).status != previous:
                console.print(f"{now():%H:%M:%S} {job_name}: {previous} → {job_view(job).status}")
        final = render_job(job_view(job), now(), f"final state after {polls} polls")
        if live is not None:
            live.update(final)
    if live is None:
        console.print(final)
    return job


def save_reward_curve(
    s3: BaseClient, view: JobView, fallback_output_uri: str, out_path: Path, console: Console
) -> dict[str, tuple[list[float], list[float]]] | None:
    """Plot the metrics a completed job wrote; its training curves, or None (with a note) when none."""
    output_uri = view.output_uri if view.output_uri.startswith("s3://") else fallback_output_uri
    metrics = read_job_metrics(s3, output_uri, view.arn)
    if metrics.training is None and metrics.validation is None:
        console.print(
            f"[yellow]no metrics files yet[/] at {metrics.training_uri} or {metrics.validation_uri}"
        )
        return None
    training = metrics.training.curve_columns() if metrics.training else {}
    validation = metrics.validation.curve_columns() if metrics.validation else {}
    _print_metric_summary(console, metrics, training, validation)
    path = reward_curve(
        out_path, title=f"{view.name}: training metrics", training=training, validation=validation
    )
    console.print(f"wrote {path}")
    return training


def _print_metric_summary(
    console: Console,
    metrics: JobMetrics,
    training: Mapping[str, tuple[list[float], list[float]]],
    validation: Mapping[str, tuple[list[float], list[float]]],
) -> None:
    table = Table(title="Training metrics", title_justify="left")
    for column in ("metric", "points", "first", "last", "best (max)"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for prefix, curves in (("training", training), ("validation", validation)):
        for name, (_, values) in curves.items():
            table.add_row(
                f"{prefix} {name}",
                str(len(values)),
                f"{values[0]:.4g}",
                f"{values[-1]:.4g}",
                f"{max(values):.4g}",
            )
    console.print(table)
    for label, found in (("training", metrics.training), ("validation", metrics.validation)):
        uri = metrics.training_uri if label == "training" else metrics.validation_uri
        console.print(
            f"[dim]{label} metrics: {uri if found is not None else 'not written'}[/]", soft_wrap=True
        )


def status(
    stack: str,
    region: str,
    console: Console,
    *,
    watch_job: bool = False,
    out_dir: Path = Path("reports"),
    sleep: Sleep | None = None,
    delays: Iterator[float] | None = None,
) -> Any:
    """The stack's job (a JobView; an open-weight stack's is rft.open_weight's MantleJob)."""
    from rft import open_weight
    from rft.live_metrics import LiveReward

    target = stack_job(stack, region)
    if open_weight.is_open_weight(target.outputs):
        return open_weight.status(
            target, region, console, watch_job=watch_job, out_dir=out_dir, sleep=sleep, delays=delays
        )
    bedrock = client("bedrock", region)
    job = get_job(bedrock, target.job_name)
    live = LiveReward(client("cloudwatch", region), stack, target.outputs, region, out_dir, console)

    def figures(view: JobView) -> str:
        return live.poll(view.created, datetime.now(UTC))

    if watch_job and not job_view(job).terminal:
        job = watch(bedrock, target.job_name, console, first=job, sleep=sleep, delays=delays, figures=figures)
    else:
        console.print(render_job(job_view(job), datetime.now(UTC)))
    view = job_view(job)
    line = figures(view)
    if line:
        console.print(f"live reward: {line}", soft_wrap=True)
    console.print(f"dashboard: {live.dashboard_url}", soft_wrap=True)
    bedrock_curves = None
    if view.status == "Completed":
        out_path = out_dir / f"{stack}-reward-curve.png"
        bedrock_curves = save_reward_curve(
            client("s3", region), view, target.outputs.get("OutputDataUri", ""), out_path, console
        )
    png = live.draw(bedrock_curves)
    if png is not None:
        console.print(f"wrote {png}")
    show_evaluation(target, view, region, console, watching=watch_job, sleep=sleep)
    if view.status == "Failed":
        raise UserError(
            f"job {view.name} failed: {view.failure_message or 'no failureMessage given'}", EXIT_JOB_FAILED
        )
    return view


def show_evaluation(
    target: StackJob, view: JobView, region: str, console: Console, *, watching: bool, sleep: Sleep | None
) -> None:
    """The post-training evaluation of the job (rft.post_training); with --watch, until it ends.

    Only a Completed job has one, so nothing is asked of Step Functions before that. Reading it
    needs states:ListExecutions, DescribeExecution and GetExecutionHistory on the state machine and
    s3:GetObject on rft-eval/; without them the job is shown with one note.
    """
    from rft import post_training

    def read() -> post_training.EvaluationView:
        if view.status != "Completed" or not target.outputs.get(post_training.STATE_MACHINE_OUTPUT):
            enabled = bool(target.outputs.get(post_training.STATE_MACHINE_OUTPUT))
            return post_training.EvaluationView(enabled=enabled, job_name=view.name)
        return post_training.evaluation_view(
            client("stepfunctions", region), client("s3", region), target.outputs, view.name, view.arn or None
        )

    try:
        evaluation = read()
    except UserError as error:  # e.g. no states:ListExecutions: the job is still worth showing
        console.print(f"[yellow]evaluation: not shown:[/] {error.message}", soft_wrap=True)
        return
    if watching and evaluation.enabled and view.status == "Completed" and not evaluation.terminal:
        delays = backoff_delays(FIRST_POLL_S, POLL_GROWTH, EVALUATION_LONGEST_POLL_S)
        post_training.watch(read, console, target.stack, sleep=sleep or POLL_SLEEP, delays=delays)
    else:
        post_training.show(console, evaluation, target.stack, view.status)


def stop(stack: str, region: str, console: Console, *, confirm: Callable[[str], bool]) -> str:
    """Ask Bedrock to stop the stack's job if it is running; return the status it was left in."""
    from rft import open_weight

    target = stack_job(stack, region)
    if open_weight.is_open_weight(target.outputs):
        return open_weight.stop(target, region, console, confirm=confirm)
    bedrock = client("bedrock", region)
    current = job_view(get_job(bedrock, target.job_name)).status
    if current not in ("InProgress",):
        console.print(f"job {target.job_name} is {current}; nothing to stop")
        return current
    if not confirm(f"Stop job {target.job_name}? Training so far is billed and the job cannot be resumed"):
        console.print("not stopped")
        return current
    with aws_errors(f"stop job {target.job_name}"):
        try:
            bedrock.stop_model_customization_job(jobIdentifier=target.job_name)
        except ClientError as error:
            if error_code(error) != "ConflictException":
                raise
            console.print(f"job {target.job_name} finished before it could be stopped")
            return job_view(get_job(bedrock, target.job_name)).status
    after = job_view(get_job(bedrock, target.job_name)).status
    console.print(f"stop requested: job {target.job_name} is now {after}")
    return after
