"""The post-training evaluation, seen from the CLI: `rft status` shows it, `rft evaluate --from-s3` fetches it.

When a job completes, the stack's Step Functions state machine (the `EvaluationStateMachineArn`
output; absent when `rft:evaluateOnCompletion` is false) deploys the tuned model, evaluates it
against the base model on the held-out test split and writes the report to
`s3://<bucket>/rft-eval/<job-name>/` (report.json, report.md, chart.svg, summary.txt).

The execution for a job is found by reading the newest executions (ListExecutions lists the most
recent first) and matching the EventBridge event each one was started with (`detail.jobArn`, or
`detail.jobName`). A failed execution is explained by the state that failed, from the execution
history, and by the error and cause the execution ended with.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError
from rft_eval.layout import REPORT_PREFIX, STATE_MACHINE_OUTPUT
from rich.console import Console

from rft.aws import aws_errors, error_code
from rft.errors import UserError

BUCKET_OUTPUT = "BucketName"
REPORT_FILES = ("report.json", "report.md", "chart.svg")
SUMMARY_FILE = "summary.txt"
EXECUTIONS_READ = 25  # newest executions matched against the job: one per completed job of the stack
# Events of a failed execution searched for the state that failed (5 pages; a run of this workflow
# with a few hundred shards has a few thousand, the standard workflow's limit is 25,000).
HISTORY_EVENTS_READ = 5000
CAUSE_SHOWN = 400  # characters of a failure's cause printed

RUNNING, SUCCEEDED = "RUNNING", "SUCCEEDED"
ENDED_BADLY = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
STYLE = {RUNNING: "cyan", SUCCEEDED: "green", "FAILED": "red", "TIMED_OUT": "red", "ABORTED": "yellow"}
# A state's task scheduled, started or submitted again after it failed: that failure was retried.
_RETRIED_AFTER = ("Scheduled", "Started", "Submitted")
_EXECUTION_ENDS = frozenset({"ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})


def report_prefix(job_name: str) -> str:
    return f"{REPORT_PREFIX}{job_name}/"


def report_uri(bucket: str, job_name: str, name: str = "report.json") -> str:
    return f"s3://{bucket}/{report_prefix(job_name)}{name}"


@dataclass(frozen=True)
class Failure:
    """Why an execution ended badly: the state that failed (if the history names it), error, cause."""

    state: str | None
    error: str
    cause: str

    def line(self) -> str:
        where = f" in {self.state}" if self.state else ""
        what = ": ".join(part for part in (self.error, self.cause) if part) or "no error or cause recorded"
        return f"failed{where}: {what}"


@dataclass(frozen=True)
class EvaluationView:
    """The post-training evaluation of one job, as `rft status` shows it."""

    enabled: bool
    job_name: str
    status: str | None = None  # the execution's status; None: no execution for this job (yet)
    execution_arn: str | None = None
    started: datetime | None = None
    stopped: datetime | None = None
    current_state: str | None = None  # a running execution's latest state
    summary: str | None = None
    report_uri: str | None = None
    failed_shards: list[Any] = field(default_factory=list)
    failure: Failure | None = None

    @property
    def terminal(self) -> bool:
        return self.status is not None and self.status != RUNNING


# -- finding the execution ------------------------------------------------------------------------


def _decoded(text: str | None) -> Any:
    try:
        return json.loads(text or "null")
    except ValueError:
        return None


def started_for(execution_input: Any) -> tuple[str | None, str | None]:
    """(jobName, jobArn) of the EventBridge event an execution was started with (None when absent)."""
    detail = execution_input.get("detail") if isinstance(execution_input, dict) else None
    if not isinstance(detail, dict):
        return (None, None)
    name, arn = detail.get("jobName"), detail.get("jobArn")
    return (str(name) if name else None, str(arn) if arn else None)


def _matches(execution_input: Any, job_name: str, job_arn: str | None) -> bool:
    name, arn = started_for(execution_input)
    if arn and job_arn:
        return arn == job_arn
    return name == job_name


def find_execution(
    sfn: BaseClient, state_machine_arn: str, job_name: str, job_arn: str | None = None
) -> dict[str, Any] | None:
    """DescribeExecution of the newest execution started for this job, or None when there is none."""
    with aws_errors(f"list the evaluation executions of {state_machine_arn}"):
        try:
            listed = sfn.list_executions(stateMachineArn=state_machine_arn, maxResults=EXECUTIONS_READ)
        except ClientError as error:
            if error_code(error) != "StateMachineDoesNotExist":
                raise
            raise UserError(
                f"the stack's evaluation state machine {state_machine_arn} does not exist; redeploy the stack"
            ) from None
        executions = sorted(
            listed.get("executions", []),
            key=lambda e: _aware(e.get("startDate")) or datetime.min.replace(tzinfo=UTC),
            reverse=True,
        )
        for execution in executions:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if _matches(_decoded(described.get("input")), job_name, job_arn):
                return described
    return None


def _aware(moment: Any) -> datetime | None:
    if not isinstance(moment, datetime):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- why it failed --------------------------------------------------------------------------------


def _details(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The error/cause details of a failure event (TaskFailed, LambdaFunctionTimedOut, ...), else None."""
    kind = str(event.get("type", ""))
    if not (kind.endswith("Failed") or kind.endswith("TimedOut")) or kind in _EXECUTION_ENDS:
        return None
    for key, value in event.items():
        if (
            key.endswith("EventDetails")
            and isinstance(value, dict)
            and ("error" in value or "cause" in value)
        ):
            return value
    return {}


def _cause_text(cause: str) -> str:
    """A Lambda's cause is a JSON error object: its errorMessage is the readable part."""
    decoded = _decoded(cause)
    if isinstance(decoded, dict) and decoded.get("errorMessage"):
        cause = str(decoded["errorMessage"])
    cause = " ".join(cause.split())
    return cause if len(cause) <= CAUSE_SHOWN else cause[: CAUSE_SHOWN - 1] + "…"


def root_failure(events: list[Mapping[str, Any]]) -> Failure | None:
    """The failure that ended the workflow, from its history in time order.

    A failure that was retried (the state scheduled its task again) or caught inside a Map iteration
    that then succeeded (a shard reported as failed) did not end the workflow; the last failure
    outside those is the one that did, even when a Catch routed it to a notification state first.
    """
    state: str | None = None
    last: Failure | None = None
    depth = 0
    inner: Failure | None = None  # the last failure inside the current Map iteration
    for event in events:
        kind = str(event.get("type", ""))
        entered = event.get("stateEnteredEventDetails")
        if isinstance(entered, dict) and entered.get("name"):
            state = str(entered["name"])
        if kind == "MapIterationStarted":
            depth, inner = depth + 1, None
            continue
        if kind in ("MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted"):
            depth = max(0, depth - 1)
            if kind != "MapIterationSucceeded" and inner is not None:
                last = inner
            inner = None
            continue
        details = _details(event)
        if details is not None:
            found = Failure(
                state, str(details.get("error") or ""), _cause_text(str(details.get("cause") or ""))
            )
            if depth:
                inner = found
            else:
                last = found
        elif any(kind.endswith(suffix) for suffix in _RETRIED_AFTER) and not kind.startswith("Execution"):
            if depth:
                inner = None
            elif last is not None and last.state == state:
                last = None  # retried: that attempt's failure did not end the workflow
    return last


def history(
    sfn: BaseClient, execution_arn: str, *, newest_first: bool = False, limit: int = 1000
) -> list[dict[str, Any]]:
    """Up to `limit` events of the execution, oldest or newest first.

    Events are numbered in order (`id`); they are sorted by it as well, since an emulator may ignore
    `reverseOrder` (moto 5.2.5 does).
    """
    events: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "executionArn": execution_arn,
        "reverseOrder": newest_first,
        "maxResults": min(limit, 1000),
    }
    while len(events) < limit:
        page = sfn.get_execution_history(**request)
        events += page.get("events", [])
        if not page.get("nextToken"):
            break
        request["nextToken"] = page["nextToken"]
    events.sort(key=lambda e: int(e.get("id", 0)), reverse=newest_first)
    return events[:limit]


def failure_of(sfn: BaseClient, described: Mapping[str, Any]) -> Failure:
    """The failed state with its error and cause, else the execution's own error and cause."""
    error, cause = str(described.get("error") or ""), _cause_text(str(described.get("cause") or ""))
    with aws_errors(f"read the history of {described.get('executionArn')}"):
        found = root_failure(history(sfn, str(described["executionArn"]), limit=HISTORY_EVENTS_READ))
    if found is None:
        return Failure(None, error, cause)
    if not found.error and not found.cause:
        return Failure(found.state, error, cause)
    return found


def current_state(sfn: BaseClient, execution_arn: str) -> str | None:
    """The state a running execution entered last (its newest StateEntered event)."""
    with aws_errors(f"read the history of {execution_arn}"):
        for event in history(sfn, execution_arn, newest_first=True, limit=50):
            entered = event.get("stateEnteredEventDetails")
            if isinstance(entered, dict) and entered.get("name"):
                return str(entered["name"])
    return None


# -- the report in S3 -----------------------------------------------------------------------------


def read_object(s3: BaseClient, bucket: str, key: str) -> bytes | None:
    """The object's bytes, or None when there is no such key; other S3 errors become UserErrors."""
    with aws_errors(f"read s3://{bucket}/{key}"):
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error_code(error) in ("NoSuchKey", "404"):
                return None
            if error_code(error) == "NoSuchBucket":
                raise UserError(
                    f"bucket {bucket} (the stack's {BUCKET_OUTPUT} output) does not exist in "
                    f"{s3.meta.region_name}; pass --region, or redeploy the stack"
                ) from None
            if error_code(error) in ("AccessDenied", "403"):
                raise UserError(
                    f"AWS denied permission to read s3://{bucket}/{key}: the report needs s3:GetObject on "
                    f"s3://{bucket}/{REPORT_PREFIX}* (and kms:Decrypt on the bucket's key)"
                ) from None
            raise


def read_summary(s3: BaseClient, bucket: str, job_name: str) -> str | None:
    body = read_object(s3, bucket, report_prefix(job_name) + SUMMARY_FILE)
    return body.decode("utf-8").strip() if body is not None else None


# -- the view -------------------------------------------------------------------------------------


def evaluation_view(
    sfn: BaseClient,
    s3: BaseClient,
    outputs: Mapping[str, str],
    job_name: str,
    job_arn: str | None = None,
) -> EvaluationView:
    """What the stack's post-training evaluation of this job is doing, or found."""
    state_machine = outputs.get(STATE_MACHINE_OUTPUT)
    if not state_machine:
        return EvaluationView(enabled=False, job_name=job_name)
    described = find_execution(sfn, state_machine, job_name, job_arn)
    bucket = outputs.get(BUCKET_OUTPUT, "")
    if described is None:
        # Executions are kept 90 days; a report written before that stays in the bucket.
        summary = read_summary(s3, bucket, job_name) if bucket else None
        if summary is None:
            return EvaluationView(enabled=True, job_name=job_name)
        return EvaluationView(
            enabled=True,
            job_name=job_name,
            status=SUCCEEDED,
            summary=summary,
            report_uri=report_uri(bucket, job_name),
        )
    status = str(described.get("status", ""))
    arn = str(described["executionArn"])
    base = {
        "enabled": True,
        "job_name": job_name,
        "status": status,
        "execution_arn": arn,
        "started": _aware(described.get("startDate")),
        "stopped": _aware(described.get("stopDate")),
    }
    if status == RUNNING:
        return EvaluationView(**base, current_state=current_state(sfn, arn))
    if status == SUCCEEDED:
        output = _decoded(described.get("output"))
        output = output if isinstance(output, dict) else {}
        summary = output.get("summary")
        if not summary and bucket:
            summary = read_summary(s3, bucket, job_name)
        failed = output.get("failedShards") or []
        return EvaluationView(
            **base,
            summary=str(summary).strip() if summary else None,
            report_uri=str(output.get("reportUri") or (report_uri(bucket, job_name) if bucket else ""))
            or None,
            failed_shards=list(failed) if isinstance(failed, list) else [failed],
        )
    if status in ENDED_BADLY:
        return EvaluationView(**base, failure=failure_of(sfn, described))
    return EvaluationView(**base)


def _duration(view: EvaluationView, now: datetime) -> str:
    from rft.job_control import format_elapsed

    if view.started is None:
        return ""
    end = view.stopped if view.terminal and view.stopped else now
    return format_elapsed(max(end - view.started, timedelta(0)))


def lines(view: EvaluationView, stack: str, job_status: str, now: datetime | None = None) -> list[str]:
    """The evaluation as Rich-markup lines under the job's table."""
    now = now or datetime.now(UTC)
    if not view.enabled:
        return [
            f"evaluation on completion is off for {stack} (no {STATE_MACHINE_OUTPUT} output; set "
            "rft:evaluateOnCompletion=true and redeploy to evaluate each completed job)"
        ]
    if view.status is None:
        if job_status == "Completed":
            return [
                f"evaluation: not started yet for job {view.job_name} (it starts when the job's Completed event arrives)"
            ]
        if job_status in ("Failed", "Stopped"):
            return [f"evaluation: none (it runs only when a job completes; this one is {job_status})"]
        return ["evaluation: waits for the job to complete"]
    style = STYLE.get(view.status, "white")
    label = view.status.lower().replace("_", " ")
    took = _duration(view, now)
    if view.status == RUNNING:
        where = f", in state {view.current_state}" if view.current_state else ""
        out = [
            f"evaluation: [{style}]running[/]{where} for {took}"
            if took
            else f"evaluation: [{style}]running[/]{where}"
        ]
    elif view.status == SUCCEEDED:
        out = [f"evaluation: [{style}]succeeded[/]" + (f" in {took}" if took else "")]
        if view.summary:
            out.append(f"  {_escape(view.summary)}")
        if view.failed_shards:
            out.append(
                f"  [yellow]{len(view.failed_shards)} shard(s) failed[/] and are left out of the figures "
                "(not counted as wrong answers)"
            )
        if view.report_uri:
            out.append(f"  report: {view.report_uri} (`rft evaluate {stack} --from-s3` downloads it)")
    else:
        failure = view.failure.line() if view.failure else "failed"
        out = [f"evaluation: [{style}]{label}[/]" + (f" after {took}" if took else "")]
        out.append(f"  [{style}]{_escape(failure)}[/]")
    if view.execution_arn:
        out.append(f"  [dim]execution: {view.execution_arn}[/]")
    return out


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def show(console: Console, view: EvaluationView, stack: str, job_status: str) -> None:
    for line in lines(view, stack, job_status):
        console.print(line, soft_wrap=True)


# -- watching -------------------------------------------------------------------------------------

Sleep = Callable[[float], None]
APPEAR_WITHIN_S = 600.0  # after the job completed, how long a watch waits for its execution to start


def watch(
    read: Callable[[], EvaluationView],
    console: Console,
    stack: str,
    *,
    sleep: Sleep,
    delays: Iterator[float],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> EvaluationView:
    """Poll the evaluation of a completed job until it ends; a line per change, and per poll while it runs."""
    view = read()
    waited, polls = 0.0, 1
    previous: tuple[str | None, str | None] = (view.status, view.current_state)
    while view.enabled and not view.terminal:
        if view.status is None and waited >= APPEAR_WITHIN_S:
            console.print(
                f"evaluation: no execution started for job {view.job_name} within {waited:g} s of its "
                "completion; check the stack's evaluation rule and state machine in the Step Functions console",
                soft_wrap=True,
            )
            return view
        delay = next(delays)
        state = (
            f"in state {view.current_state}"
            if view.current_state
            else ("waiting for the execution to start" if view.status is None else "")
        )
        console.print(
            f"{now():%H:%M:%S} evaluation: {(view.status or 'not started').lower()}"
            f"{', ' + state if state else ''} (poll {polls}; next check in {delay:g} s)",
            soft_wrap=True,
            markup=False,
        )
        sleep(delay)
        waited += delay
        view = read()
        polls += 1
        current = (view.status, view.current_state)
        if current[0] != previous[0]:
            console.print(
                f"{now():%H:%M:%S} evaluation: {(previous[0] or 'not started').lower()} → "
                f"{(current[0] or 'not started').lower()}",
                markup=False,
            )
        previous = current
    show(console, view, stack, "Completed")
    return view


# -- rft evaluate --from-s3 -----------------------------------------------------------------------


def not_ready(view: EvaluationView, bucket: str, job_name: str, stack: str, job_status: str | None) -> str:
    """Why there is no report for this job yet, as the one line `--from-s3` fails with."""
    missing = f"no report for job {job_name} at {report_uri(bucket, job_name)}"
    if not view.enabled:
        return f"{missing}: evaluation on completion is off for {stack} (rft:evaluateOnCompletion=false)"
    if view.status == RUNNING:
        where = f" (in state {view.current_state})" if view.current_state else ""
        return (
            f"{missing} yet: its evaluation is still running{where}; `rft status {stack} --watch` follows it"
        )
    if view.status in ENDED_BADLY:
        failure = view.failure.line() if view.failure else "failed"
        return f"{missing}: its evaluation {view.status.lower().replace('_', ' ')} ({failure}); see `rft status {stack}`"
    if view.status == SUCCEEDED:
        return f"{missing}: its evaluation succeeded but wrote no report.json there; see `rft status {stack}`"
    if job_status and job_status != "Completed":
        return f"{missing}: the job is {job_status}, and the evaluation runs when a job completes"
    return f"{missing} yet, and no evaluation has started for it; `rft status {stack}` shows the job"


def download_report(
    s3: BaseClient, bucket: str, job_name: str, out_dir: Path
) -> tuple[dict[str, Any], list[Path], list[str]]:
    """report.json (decoded) and the files written to OUT/rft-eval/<job>/; names missing in S3 besides it.

    Raises LookupError when report.json itself is not there (the caller says why).
    """
    prefix = report_prefix(job_name)
    body = read_object(s3, bucket, prefix + "report.json")
    if body is None:
        raise LookupError(prefix + "report.json")
    try:
        data = json.loads(body)
    except ValueError as error:
        raise UserError(
            f"{report_uri(bucket, job_name)} is not JSON ({error}); the workflow wrote a damaged report"
        ) from None
    target = out_dir / REPORT_PREFIX / job_name
    target.mkdir(parents=True, exist_ok=True)
    written, missing = [], []
    for name in REPORT_FILES:
        content = body if name == "report.json" else read_object(s3, bucket, prefix + name)
        if content is None:
            missing.append(name)
            continue
        path = target / name
        path.write_bytes(content)
        written.append(path)
    return data, written, missing


def fetch(stack: str, region: str, job_name: str | None, out_dir: Path, console: Console) -> Any:
    """`rft evaluate STACK --from-s3`: download the job's report, write it under OUT, print its table.

    Returns the Evaluation read back from report.json (rft_eval.results.from_json).
    """
    from rft_eval.results import from_json

    from rft import job_control
    from rft.aws import client, require_output
    from rft.evaluate import report

    if job_name is None:
        target = job_control.stack_job(stack, region)
        outputs, job_name = target.outputs, target.job_name
    else:
        from rft.aws import stack_outputs

        outputs = stack_outputs(client("cloudformation", region), stack)
    bucket = require_output(outputs, BUCKET_OUTPUT, stack)
    s3 = client("s3", region)
    try:
        data, written, missing = download_report(s3, bucket, job_name, out_dir)
    except LookupError:
        raise UserError(_why_missing(s3, outputs, bucket, job_name, stack, region)) from None
    try:
        evaluation = from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise UserError(
            f"{report_uri(bucket, job_name)} is not an `rft evaluate` report ({type(error).__name__}: {error})"
        ) from None
    console.print(
        f"report of job {job_name} from {report_uri(bucket, job_name)}", markup=False, soft_wrap=True
    )
    report.render(console, evaluation, written)
    if missing:
        console.print(
            f"not in s3://{bucket}/{report_prefix(job_name)}: {', '.join(missing)}",
            markup=False,
            soft_wrap=True,
        )
    return evaluation


def _why_missing(
    s3: BaseClient, outputs: Mapping[str, str], bucket: str, job_name: str, stack: str, region: str
) -> str:
    from rft.aws import client
    from rft.job_control import get_job, job_view

    job_status, job_arn = None, None
    if outputs.get(STATE_MACHINE_OUTPUT):
        try:
            job = job_view(get_job(client("bedrock", region), job_name))
            job_status, job_arn = job.status, job.arn or None
        except UserError:
            pass  # the job is gone or unreadable: the execution is matched by its name alone
    view = evaluation_view(client("stepfunctions", region), s3, outputs, job_name, job_arn)
    return not_ready(view, bucket, job_name, stack, job_status)
