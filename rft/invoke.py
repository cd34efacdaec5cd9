"""`rft invoke`: send a batch to the deployed reward function and check its answer against the contract.

The function is found from the stack's outputs, so the call reaches exactly what `cdk deploy` made. The
default batch is one prompt group of the task's bundled rollouts, the same data `rft rehearse` uses, so
a deployed function can be compared with its in-process rehearsal.
"""

from __future__ import annotations

import base64
import json
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
from rft.project import task_for_stack
from rft.rehearse.rollouts import to_bedrock_sample
from rft.rehearse.sources import rehearsal_for

DEFAULT_SAMPLES = 4


@dataclass(frozen=True)
class Invocation:
    payload: Any
    status_code: int
    function_error: str | None
    body: Any  # the function's JSON answer (or its raw text when it is not JSON)
    log_tail: str
    seconds: float


def default_payload(stack_name: str, count: int = DEFAULT_SAMPLES) -> list[dict[str, Any]]:
    task = task_for_stack(stack_name)
    source = rehearsal_for(task.name).source if task is not None else None
    if source is None:
        raise UserError(
            f"no bundled samples for stack {stack_name!r}; pass --file payload.json (a JSON array of samples)"
        )
    return [to_bedrock_sample(r) for r in source.load()[:count]]


def read_payload(path: Path) -> Any:
    if not path.is_file():
        raise UserError(f"payload file not found: {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(
            f"{path} is not a JSON file ({error}); give a JSON array of Bedrock samples"
        ) from None


def invoke(lambda_client: BaseClient, function: str, payload: Any) -> Invocation:
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


def report(console: Console, function: str, invocation: Invocation) -> list[str]:
    """Print the answer; return the problems (function error or contract breaks), empty when none."""
    count = len(invocation.payload) if isinstance(invocation.payload, list) else "a non-list"
    console.print(f"[bold]invoked[/] {function} with {count} samples in {invocation.seconds * 1000:,.0f} ms")
    if invocation.function_error:
        body = (
            invocation.body if isinstance(invocation.body, dict) else {"errorMessage": str(invocation.body)}
        )
        if invocation.log_tail:
            console.print(invocation.log_tail, markup=False, highlight=False)
        return [
            f"the function raised ({invocation.function_error}): "
            f"{body.get('errorType', 'error')}: {body.get('errorMessage', '')}".rstrip()
        ]
    if not isinstance(invocation.payload, list):
        console.print_json(data=invocation.body)
        return []
    results, problems = check_results(invocation.payload, invocation.body)
    if results:
        console.print(_results_table(results))
    if not problems:
        console.print(
            "[green]contract ok[/]: one result per sample, ids in order, scores in [0, 1], format_ok present"
        )
    return problems
