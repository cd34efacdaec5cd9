"""Fixtures for the post-training evaluation: a moto state machine and executions, a report in S3.

The state machine is moto's (it is not executed: moto keeps an execution RUNNING until a test moves
it, the way `MotoJob.set_status` moves a job). Each execution is started with the event Bedrock
sends when a job completes (the sample in the Bedrock user guide, "How EventBridge for Amazon
Bedrock works"), which is what the stack's rule passes to the state machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto.stepfunctions.models import stepfunctions_backends
from rft_eval.responses import Response
from rft_eval.results import Evaluation, ModelResult
from rft_eval.scoring import Scored

from tests.cli.helpers import (
    ACCOUNT,
    JOB_NAME,
    REGION,
    STACK,
    MotoJob,
    deploy_stack,
    launch_job,
    stack_outputs,
)

BUCKET = "gsm-output-bucket"  # the BucketName output of tests.cli.helpers.stack_outputs
BASE_MODEL = "us.amazon.nova-2-lite-v1:0"
DEPLOYMENT = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/k3yd3pl0ym3nt"
CHART_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="4" height="9"/></svg>\n'
)


def job_arn(job_name: str = JOB_NAME) -> str:
    return f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/{job_name}"


def completed_event(job_name: str = JOB_NAME, arn: str | None = None) -> dict[str, Any]:
    arn = arn or job_arn(job_name)
    return {
        "version": "0",
        "id": "0d7f6a51-1b7e-4a5e-9d0e-5c4f1e0b2a11",
        "detail-type": "Model Customization Job State Change",
        "source": "aws.bedrock",
        "account": ACCOUNT,
        "time": "2026-12-02T01:00:00Z",
        "region": REGION,
        "resources": [arn],
        "detail": {
            "version": "0.0",
            "jobName": job_name,
            "jobArn": arn,
            "outputModelName": job_name,
            "outputModelArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/{job_name}",
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/BedrockServiceRole",
            "jobStatus": "Completed",
        },
    }


@dataclass
class MotoExecution:
    arn: str

    @property
    def backend(self) -> Any:
        return stepfunctions_backends[ACCOUNT][REGION].describe_execution(self.arn)

    def history(self, events: list[dict[str, Any]]) -> None:
        """What GetExecutionHistory answers for this execution (moto's own history is a canned one)."""
        self.backend.get_execution_history = lambda role_arn: events

    def succeed(self, output: dict[str, Any], minutes: float = 41.0) -> None:
        execution = self.backend
        execution.status = "SUCCEEDED"
        execution.output = json.dumps(output)
        execution.stop_date = execution.start_date + timedelta(minutes=minutes)

    def fail(self, error: str, cause: str, events: list[dict[str, Any]]) -> None:
        execution = self.backend
        execution.status, execution.error, execution.cause = "FAILED", error, cause
        execution.stop_date = execution.start_date + timedelta(minutes=3)
        self.history(events)


def state_machine() -> str:
    """The stack's evaluation state machine in moto; its ARN."""
    role = f"arn:aws:iam::{ACCOUNT}:role/EvaluationStateMachineRole"
    definition = {"StartAt": "FindModel", "States": {"FindModel": {"Type": "Succeed"}}}
    return boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name=f"{STACK}-Evaluation", definition=json.dumps(definition), roleArn=role
    )["stateMachineArn"]


def start(machine: str, job_name: str = JOB_NAME, arn: str | None = None, name: str = "") -> MotoExecution:
    """An execution as the rule starts it: input = the job's Completed event."""
    kwargs = {"name": name} if name else {}
    started = boto3.client("stepfunctions", region_name=REGION).start_execution(
        stateMachineArn=machine, input=json.dumps(completed_event(job_name, arn)), **kwargs
    )
    return MotoExecution(started["executionArn"])


def words(text: str) -> str:
    """The words of CLI output, table borders dropped (Rich wraps and pads)."""
    return " ".join(text.replace("│", " ").split())


def deployed_stack(*, workflow: bool = True, job_status: str = "Completed") -> tuple[MotoJob, str | None]:
    """GsmRftStack's job in `job_status`, its outputs, its bucket and its evaluation state machine
    (None: evaluation off)."""
    job = launch_job()
    job.set_status(job_status)
    machine = state_machine() if workflow else None
    deploy_stack(outputs_with(machine))
    with_bucket()
    return job, machine


def outputs_with(machine: str | None, job_name: str = JOB_NAME) -> dict[str, str]:
    outputs = stack_outputs(job_name)
    if machine:
        outputs["EvaluationStateMachineArn"] = machine
    return outputs


_T0 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def event(number: int, kind: str, **details: Any) -> dict[str, Any]:
    """One HistoryEvent (id, timestamp, type, previousEventId and its details)."""
    return {
        "id": number,
        "previousEventId": number - 1,
        "timestamp": _T0 + timedelta(seconds=number),
        "type": kind,
        **details,
    }


def entered(number: int, kind: str, name: str) -> dict[str, Any]:
    return event(number, kind, stateEnteredEventDetails={"name": name, "input": "{}"})


def exited(number: int, kind: str, name: str) -> dict[str, Any]:
    return event(number, kind, stateExitedEventDetails={"name": name, "output": "{}"})


def lambda_cause(message: str, kind: str = "ValidationException") -> str:
    """A Lambda task's failure cause, as Step Functions records it (the function's error as JSON)."""
    return json.dumps({"errorMessage": message, "errorType": kind, "stackTrace": ["  File handler.py"]})


QUOTA_MESSAGE = "You have reached the quota of custom model deployments for this account"


def failed_history() -> list[dict[str, Any]]:
    """StartDeployment throttled once (retried), then refused for good; caught, published, Fail."""
    failed = {"resourceType": "lambda", "resource": "invoke"}
    return [
        event(1, "ExecutionStarted", executionStartedEventDetails={"input": "{}"}),
        entered(2, "TaskStateEntered", "FindModel"),
        event(3, "TaskScheduled"),
        event(4, "TaskSucceeded"),
        exited(5, "TaskStateExited", "FindModel"),
        entered(6, "TaskStateEntered", "StartDeployment"),
        event(7, "TaskScheduled"),
        event(
            8,
            "TaskFailed",
            taskFailedEventDetails={
                **failed,
                "error": "Lambda.TooManyRequestsException",
                "cause": "Rate exceeded",
            },
        ),
        event(9, "TaskScheduled"),
        event(
            10,
            "TaskFailed",
            taskFailedEventDetails={
                **failed,
                "error": "ValidationException",
                "cause": lambda_cause(QUOTA_MESSAGE),
            },
        ),
        exited(11, "TaskStateExited", "StartDeployment"),
        entered(12, "TaskStateEntered", "PublishFailure"),
        event(13, "TaskScheduled"),
        event(14, "TaskSucceeded"),
        exited(15, "TaskStateExited", "PublishFailure"),
        entered(16, "FailStateEntered", "EvaluationFailed"),
        event(
            17,
            "ExecutionFailed",
            executionFailedEventDetails={
                "error": "ValidationException",
                "cause": lambda_cause(QUOTA_MESSAGE),
            },
        ),
    ]


def running_history(state: str = "AnswerShards") -> list[dict[str, Any]]:
    return [
        event(1, "ExecutionStarted", executionStartedEventDetails={"input": "{}"}),
        entered(2, "TaskStateEntered", "FindModel"),
        exited(3, "TaskStateExited", "FindModel"),
        entered(4, "MapStateEntered", state),
        event(5, "MapStateStarted"),
    ]


# -- a report --------------------------------------------------------------------------------------


def _responses(
    model: str, right: set[int], failed: dict[int, str], prompts: int
) -> tuple[list[Scored], list[Response]]:
    scored, errors = [], []
    for index in range(prompts):
        prompt_id = f"gsm8k-test-{index:04d}"
        if index in failed:
            errors.append(Response(model, prompt_id, 0, "fp", error=failed[index]))
            continue
        response = Response(
            model,
            prompt_id,
            0,
            "fp",
            text="#### 42",
            input_tokens=120,
            output_tokens=180 + index % 7 * 10,
            latency_ms=900.0 + index * 5,
        )
        scored.append(Scored(response, 1.0 if index in right else 0.0, index % 11 != 3))
    return scored, errors


def evaluation(prompts: int = 60) -> Evaluation:
    """A base-vs-tuned evaluation of `prompts` held-out prompts: tuned fixes some, breaks a few, and has
    two failed calls (not scored)."""
    base_right = {i for i in range(prompts) if i % 3 != 0}
    tuned_right = {i for i in range(prompts) if i % 3 != 0 or i % 2 == 0} - {1, 7}
    base = ModelResult(BASE_MODEL, *_responses(BASE_MODEL, base_right, {}, prompts), label="base")
    failed = {5: "ThrottlingException: Too many requests", 11: "ModelTimeoutException: timed out"}
    tuned = ModelResult(DEPLOYMENT, *_responses(DEPLOYMENT, tuned_right, failed, prompts), label="tuned")
    return Evaluation(
        task="gsm8k",
        data="s3://gsm-test-data/test.jsonl",
        prompts=prompts,
        samples_per_prompt=1,
        max_tokens=1024,
        temperature=0.0,
        handler="gsm8k_reward.handler.lambda_handler",
        results=[base, tuned],
        notes=["fixture report (tests/post_training/workflow.py), not a real evaluation"],
    )


def summary(report: Evaluation) -> str:
    """A one-paragraph summary of the report, shaped like the one the workflow publishes."""
    base, tuned = report.results
    comparison = report.comparisons[0]
    return (
        f"{report.task}: tuned {tuned.accuracy.value:.1%} vs base {base.accuracy.value:.1%} "
        f"({comparison.delta * 100:+.1f} points, exact McNemar p = {comparison.p_value:.3f}) on "
        f"{report.prompts:,} held-out prompts."
    )


def upload_report(
    report: Evaluation, job_name: str = JOB_NAME, *, files: tuple[str, ...] | None = None
) -> dict[str, bytes]:
    """Write the report the way the workflow does, under rft-eval/<job>/; returns what was written."""
    from rft_eval.report_text import markdown

    s3 = boto3.client("s3", region_name=REGION)
    with_bucket(s3)
    contents = {
        "report.json": (json.dumps(report.to_json(), indent=2) + "\n").encode(),
        "report.md": markdown(report).encode(),
        "chart.svg": CHART_SVG.encode(),
        "summary.txt": (summary(report) + "\n").encode(),
    }
    chosen = {name: body for name, body in contents.items() if files is None or name in files}
    for name, body in chosen.items():
        s3.put_object(Bucket=BUCKET, Key=f"rft-eval/{job_name}/{name}", Body=body)
    return chosen


def with_bucket(s3: Any = None) -> None:
    s3 = s3 or boto3.client("s3", region_name=REGION)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if BUCKET not in existing:
        s3.create_bucket(Bucket=BUCKET)
