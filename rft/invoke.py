"""`rft invoke`: send a batch to the deployed reward function and check its answer against the contract.

The function is found from the stack's outputs, so the call reaches exactly what `cdk deploy` made. The
default batch is the task's `data_prep/samples/<task>/batch.json` when it has one (`rft new-task` writes
it), else one prompt group of the rollouts `rft rehearse` uses, so a deployed function can be compared
with its in-process rehearsal. A judged reward whose judge fails still keeps the contract, so the
answer's `judge_error` flags are counted too (`rft.judge_failures`).
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.client import BaseClient
from rich.console import Console
from rich.table import Table

from rft.aws import aws_errors
from rft.contract import Result, check_results
from rft.errors import UserError
from rft.judge_failures import JudgeFailures, count_judge_failures, describe, logged_judge_errors
from rft.project import configured_judge_model, task_for_stack
from rft.rehearse.rollouts import to_bedrock_sample
from rft.rehearse.task_samples import BATCH_FILE, rollout_source, shown, task_sample

DEFAULT_SAMPLES = 4
BATCH_SHAPE = (
    'a JSON array of Bedrock samples: [{"id": ..., "messages": [..., {"role": "assistant", "content": ...}], '
    '"reference_answer": ...}, ...]'
)


@dataclass(frozen=True)
class Invocation:
    payload: list[Any]
    status_code: int
    function_error: str | None
    body: Any  # the function's JSON answer (or its raw text when it is not JSON)
    log_tail: str
    seconds: float


def default_payload(stack_name: str, count: int = DEFAULT_SAMPLES) -> list[Any]:
    task = task_for_stack(stack_name)
    if task is not None:
        batch = task_sample(task.name, BATCH_FILE)
        if batch.is_file():
            return read_payload(batch)
        source = rollout_source(task.name)
        if source is not None:
            return [to_bedrock_sample(r) for r in source.load()[:count]]
    raise UserError(f"no bundled samples for stack {stack_name!r}; pass --file payload.json ({BATCH_SHAPE})")


def read_payload(path: Path) -> list[Any]:
    """A batch to send: the reward contract takes only a non-empty JSON array of samples."""
    if not path.is_file():
        raise UserError(f"payload file not found: {path}")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"{shown(path)} is not a JSON file ({error}); give {BATCH_SHAPE}") from None
    if not isinstance(payload, list) or not payload:
        found = "an empty array" if isinstance(payload, list) else f"a JSON {_json_kind(payload)}"
        raise UserError(f"{shown(path)} holds {found}; the reward takes {BATCH_SHAPE}")
    return payload


def _json_kind(value: Any) -> str:
    kinds = {dict: "object", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


def invoke(lambda_client: BaseClient, function: str, payload: list[Any]) -> Invocation:
    started = time.perf_counter()
    with aws_errors(f"invoke {function}"):
        response = lambda_client.invoke(
            FunctionName=function,
            InvocationType="RequestResponse",
            LogType="Tail",
            Payload=json.dumps(payload).encode(),
        )
        raw = response["Payload"].read()
    seconds = time.perf_counter() - started
    try:
        body: Any = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        body = raw.decode("utf-8", errors="replace")
    log_tail = (
        base64.b64decode(response["LogResult"]).decode("utf-8", "replace")
        if response.get("LogResult")
        else ""
    )
    return Invocation(
        payload, int(response.get("StatusCode", 0)), response.get("FunctionError"), body, log_tail, seconds
    )


def _results_table(results: list[Result]) -> Table:
    table = Table(title="Reward results", title_justify="left")
    table.add_column("id")
    table.add_column("score", justify="right")
    table.add_column("format_ok", justify="center")
    table.add_column("other metrics (non-zero)")
    for result in results:
        metrics = ", ".join(f"{name}={value:g}" for name, value in result.metrics.items() if value)
        score = "[red]invalid[/]" if result.score is None else f"{result.score:g}"
        fmt = {True: "1", False: "[yellow]0[/]", None: "[red]missing[/]"}[result.format_ok]
        table.add_row(str(result.id), score, fmt, metrics)
    return table


@dataclass(frozen=True)
class Checked:
    """What `report` found: contract breaks (empty: none), and the judge's failures for a judged reward."""

    problems: list[str]
    judge: JudgeFailures | None = None


def report(
    console: Console, function: str, invocation: Invocation, *, stack_name: str, region: str
) -> Checked:
    """Print the answer, its contract check and any judge failures; return what was found."""
    console.print(
        f"[bold]invoked[/] {function} with {len(invocation.payload)} samples in "
        f"{invocation.seconds * 1000:,.0f} ms"
    )
    if invocation.function_error:
        body = (
            invocation.body if isinstance(invocation.body, dict) else {"errorMessage": str(invocation.body)}
        )
        if invocation.log_tail:
            console.print(invocation.log_tail, markup=False, highlight=False)
        return Checked(
            [
                f"the function raised ({invocation.function_error}): "
                f"{body.get('errorType', 'error')}: {body.get('errorMessage', '')}".rstrip()
            ]
        )
    results, problems = check_results(invocation.payload, invocation.body)
    if results:
        console.print(_results_table(results))
    if not problems:
        console.print(
            "[green]contract ok[/]: one result per sample, ids in order, scores in [0, 1], format_ok present"
        )
    judge = count_judge_failures(r.metrics for r in results)
    if judge is not None and judge.failed:
        line = describe(
            judge,
            model=_judge_model(stack_name),
            region=region,
            codes=logged_judge_errors(invocation.log_tail),
            emulated=bool(os.environ.get("AWS_ENDPOINT_URL")),
        )
        console.print(f"[bold yellow]warning[/]: {line}", soft_wrap=True)
    return Checked(problems, judge)


def _judge_model(stack_name: str) -> str | None:
    """The judge model cdk.json configures for the stack: a hint, so an unreadable cdk.json is no error."""
    spec = task_for_stack(stack_name)
    try:
        return configured_judge_model(spec) if spec is not None else None
    except UserError:
        return None
