"""`rft deploy-model`: the stack's tuned model behind an on-demand custom model deployment, or deleted.

A completed RFT job leaves a custom model (`outputModelArn`). It answers Converse only through a
deployment: `CreateCustomModelDeployment` gives a deployment ARN that is then the `modelId`. The
command is idempotent: it first lists the deployments of that model (`modelArnEquals`) and reuses one
that is Active or still Creating, and a retried create sends the same name and `clientRequestToken`,
both derived from the model, so Bedrock answers it without making a second deployment.

Once the deployment is Active, `reports/deployment-<stack>.json` records it; `rft evaluate --model
tuned` reads that file (docs/deploy-model.md describes it). The record is written only for an Active
deployment, so `tuned` never points at one that cannot answer; an interrupted wait loses nothing,
since the next run finds the deployment by listing again.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError
from rft_eval.deployments import (
    ACTIVE,
    CREATING,
    FAILED,
    TAG_JOB,
    TAG_STACK,
    deployment_name,
    deployments_of,
    name_of,
    normalized_status,
    request_token,
    reusable,
)
from rich.console import Console

from rft.aws import aws_errors, client, error_code
from rft.errors import EXIT_JOB_FAILED, UserError
from rft.job_control import JobView, backoff_delays, get_job, job_view, stack_job

__all__ = ["ACTIVE", "CREATING", "FAILED", "deployment_name", "request_token"]
# The IAM actions each part needs, named when AWS denies one (AWS's own message names the one denied).
DEPLOY_ACTIONS = (
    "bedrock:GetModelCustomizationJob",
    "bedrock:ListCustomModelDeployments",
    "bedrock:CreateCustomModelDeployment",
    "bedrock:GetCustomModelDeployment",
)
DELETE_ACTIONS = (
    "bedrock:GetModelCustomizationJob",
    "bedrock:ListCustomModelDeployments",
    "bedrock:DeleteCustomModelDeployment",
)

Sleep = Callable[[float], None]
# The wait sleeps through this (tests replace it); backoff: first wait, growth factor, longest wait.
POLL_SLEEP: Sleep = time.sleep
FIRST_POLL_S, POLL_GROWTH, LONGEST_POLL_S = 10.0, 1.5, 60.0
DEFAULT_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class DeploymentRecord:
    """`reports/deployment-<stack>.json`; the field names are an interface (`rft evaluate --model tuned`)."""

    stack: str
    job_name: str
    model_arn: str
    deployment_arn: str
    deployment_name: str
    status: str
    region: str


def record_path(out_dir: Path, stack: str) -> Path:
    return out_dir / f"deployment-{stack}.json"


def read_record(out_dir: Path, stack: str) -> DeploymentRecord | None:
    """The recorded deployment, or None when there is none (or it is not a record this version wrote)."""
    try:
        data = json.loads(record_path(out_dir, stack).read_text(encoding="utf-8"))
        return DeploymentRecord(**{name: str(data[name]) for name in DeploymentRecord.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_record(out_dir: Path, record: DeploymentRecord) -> Path:
    path = record_path(out_dir, record.stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)  # atomic: a reader never sees half a record
    return path


@contextlib.contextmanager
def _bedrock_errors(action: str, actions: tuple[str, ...]) -> Iterator[None]:
    """aws_errors, with AccessDenied naming the IAM actions this command needs."""
    with aws_errors(action):
        try:
            yield
        except ClientError as error:
            if error_code(error).startswith("AccessDenied"):
                raise UserError(
                    f"AWS denied permission to {action}; `rft deploy-model` needs the IAM actions "
                    f"{', '.join(actions)} (AWS said: {error.response.get('Error', {}).get('Message', '')})"
                ) from None
            raise


def _job(stack: str, region: str, bedrock: BaseClient) -> JobView:
    """The stack's job, found as `rft status` finds it (the JobName output, read by name)."""
    from rft.open_weight import is_open_weight

    target = stack_job(stack, region)
    if is_open_weight(target.outputs):
        raise UserError(
            f"{stack} trains an open-weight model, whose tuned model is callable directly with no "
            f"deployment: `rft status {stack}` names it, `rft evaluate {stack} --model tuned` calls it"
        )
    return job_view(get_job(bedrock, target.job_name))


def _completed_model(view: JobView, stack: str) -> str:
    """The job's output model ARN; a clear error naming its status unless it Completed."""
    if view.status != "Completed":
        wait = (
            f"`rft status {stack} --watch` waits for it"
            if not view.terminal
            else f"a {view.status} job has no model to deploy"
        )
        raise UserError(f"job {view.name} is {view.status}, not Completed; {wait}")
    if not view.output_model:
        raise UserError(
            f"job {view.name} is Completed but reports no outputModelArn; check it in the console"
        )
    return view.output_model


def _deployments_of(bedrock: BaseClient, model_arn: str, actions: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every deployment of the model (all pages), newest first, as CustomModelDeploymentSummary."""
    with _bedrock_errors("list the model's deployments", actions):
        return deployments_of(bedrock, model_arn)


def _get_deployment(bedrock: BaseClient, identifier: str) -> dict[str, Any]:
    with _bedrock_errors(f"read deployment {identifier}", DEPLOY_ACTIONS):
        return bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=identifier)


def _failed(deployment: dict[str, Any], stack: str) -> UserError:
    name = name_of(deployment)
    return UserError(
        f"deployment {name} ({deployment.get('customModelDeploymentArn', '')}) Failed: "
        f"{deployment.get('failureMessage') or 'no failureMessage given'}; delete it with "
        f"`rft deploy-model {stack} --delete` before deploying again",
        EXIT_JOB_FAILED,
    )


def wait_until_active(
    bedrock: BaseClient,
    arn: str,
    stack: str,
    console: Console,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    sleep: Sleep | None = None,
    delays: Iterator[float] | None = None,
) -> dict[str, Any]:
    """Poll GetCustomModelDeployment with backoff until Active; a Failed one or the timeout is an error.

    In a terminal a status line redraws; in a log or CI each poll prints one line, so the wait is
    never silent. The timeout counts the time slept between polls.
    """
    sleep = sleep or POLL_SLEEP
    delays = delays or backoff_delays(FIRST_POLL_S, POLL_GROWTH, LONGEST_POLL_S)
    deployment, polls, waited = _get_deployment(bedrock, arn), 1, 0.0
    spinner = console.status("", spinner="dots") if console.is_terminal else None
    with spinner or contextlib.nullcontext():
        while normalized_status(deployment.get("status")) == CREATING:
            if waited >= timeout_s:
                raise UserError(
                    f"deployment {arn} is still Creating after {waited:g} s of waiting; run "
                    f"`rft deploy-model {stack}` again to keep waiting (it reuses this deployment)"
                )
            delay = min(next(delays), max(timeout_s - waited, 0.0))
            line = f"{time.strftime('%H:%M:%S')} deployment {arn}: Creating (poll {polls}, waited {waited:g} s; next check in {delay:g} s)"
            if spinner is not None:
                spinner.update(line + " (Ctrl-C stops waiting, not the deployment)")
            else:
                console.print(line, soft_wrap=True, markup=False, highlight=False)
            sleep(delay)
            waited += delay
            deployment, polls = _get_deployment(bedrock, arn), polls + 1
    status = normalized_status(deployment.get("status"))
    if status == FAILED:
        raise _failed(deployment, stack)
    if status != ACTIVE:
        raise UserError(
            f"deployment {arn} is {deployment.get('status')!r}, which this version of rft does not know"
        )
    return deployment


def deploy(
    stack: str,
    region: str,
    console: Console,
    *,
    out_dir: Path = Path("reports"),
    timeout_s: float | None = None,
    sleep: Sleep | None = None,
    delays: Iterator[float] | None = None,
) -> DeploymentRecord:
    """Reuse or create the deployment of the stack's tuned model, wait for Active, and record it."""
    bedrock = client("bedrock", region)
    view = _job(stack, region, bedrock)
    job_name, model_arn = view.name, _completed_model(view, stack)
    name = deployment_name(job_name, model_arn)
    existing = _deployments_of(bedrock, model_arn, DEPLOY_ACTIONS)
    usable = reusable(existing)
    if usable is not None:
        arn = str(usable["customModelDeploymentArn"])
        console.print(
            f"reusing deployment {name_of(usable)} ({arn}) of {model_arn}",
            soft_wrap=True,
        )
    elif existing:
        raise _failed(existing[0], stack)
    else:
        with _bedrock_errors(f"deploy {model_arn}", DEPLOY_ACTIONS):
            arn = bedrock.create_custom_model_deployment(
                modelDeploymentName=name,
                modelArn=model_arn,
                description=f"bedrock-rft: the model of job {job_name} (stack {stack}), by rft deploy-model",
                tags=[{"key": TAG_STACK, "value": stack}, {"key": TAG_JOB, "value": job_name}],
                clientRequestToken=request_token(model_arn),
            )["customModelDeploymentArn"]
        console.print(f"created deployment {name} ({arn}) of {model_arn}", soft_wrap=True)
    deployment = wait_until_active(
        bedrock, arn, stack, console, timeout_s=timeout_s or DEFAULT_TIMEOUT_S, sleep=sleep, delays=delays
    )
    record = DeploymentRecord(
        stack=stack,
        job_name=job_name,
        model_arn=model_arn,
        deployment_arn=arn,
        deployment_name=str(deployment.get("modelDeploymentName") or name),
        status=ACTIVE,
        region=region,
    )
    path = write_record(out_dir, record)
    console.print(f"deployment Active: {arn}", soft_wrap=True, markup=False, highlight=False)
    console.print(
        f"recorded in {path}; `rft evaluate {stack} --model tuned` uses it; "
        f"`rft deploy-model {stack} --delete` deletes it",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
    return record


def delete(
    stack: str,
    region: str,
    console: Console,
    *,
    out_dir: Path = Path("reports"),
    confirm: Callable[[str], bool],
) -> list[str]:
    """Delete the deployments of the stack's tuned model (and the recorded one); return the ARNs deleted."""
    bedrock = client("bedrock", region)
    recorded = read_record(out_dir, stack)
    try:
        view: JobView | None = _job(stack, region, bedrock)
    except UserError:
        if recorded is None:
            raise
        view = None  # the stack or its job may be gone; the record still names the model
    if view is not None and view.output_model:
        model_arn = view.output_model
    elif recorded is not None:
        model_arn = recorded.model_arn
    else:
        assert view is not None
        console.print(
            f"job {view.name} is {view.status} and has no model, so no deployment to delete", soft_wrap=True
        )
        return []
    arns = [str(d["customModelDeploymentArn"]) for d in _deployments_of(bedrock, model_arn, DELETE_ACTIONS)]
    if recorded is not None and recorded.deployment_arn not in arns:
        arns.append(recorded.deployment_arn)
    if not arns:
        console.print(f"no deployment of {model_arn} found; nothing to delete", soft_wrap=True)
        record_path(out_dir, stack).unlink(missing_ok=True)
        return []
    listing = ", ".join(arns)
    if not confirm(f"Delete deployment {listing}? It stops answering at once (the custom model stays)"):
        console.print("not deleted")
        return []
    deleted: list[str] = []
    for arn in arns:
        with _bedrock_errors(f"delete deployment {arn}", DELETE_ACTIONS):
            try:
                bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=arn)
            except ClientError as error:
                if error_code(error) != "ResourceNotFoundException":
                    raise
                console.print(f"deployment {arn} was already gone", soft_wrap=True)
                continue
        deleted.append(arn)
        console.print(f"deleted deployment {arn}", soft_wrap=True, markup=False, highlight=False)
    record_path(out_dir, stack).unlink(missing_ok=True)
    return deleted
