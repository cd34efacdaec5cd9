"""AWS helpers for the CLI tests: a moto stack with outputs, a moto job that can change state."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from click.testing import Result
from moto.bedrock.models import bedrock_backends

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "GsmRftStack"
JOB_NAME = "gsmrftstack-job-0123456789ab"
OUTPUT_URI = "s3://gsm-output-bucket/rft-output/"
HYPERPARAMETERS = {"epochCount": "1", "batchSize": "32", "learningRate": "5e-05"}


def deploy_stack(outputs: dict[str, str], stack: str = STACK, region: str = REGION) -> None:
    """A CloudFormation stack in moto with the given outputs (one real, trivial resource)."""
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation", region_name=region).create_stack(
        StackName=stack, TemplateBody=json.dumps(template)
    )


def reward_function(stack: str = STACK) -> str:
    return f"{stack}-RewardFunction-abc"


def stack_outputs(job_name: str = JOB_NAME, stack: str = STACK) -> dict[str, str]:
    return {
        "BucketName": "gsm-output-bucket",
        "OutputDataUri": OUTPUT_URI,
        "RewardFunctionName": reward_function(stack),
        "RewardFunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{reward_function(stack)}",
        "JobName": job_name,
    }


def payload_body(obj: Any) -> StreamingBody:
    data = json.dumps(obj).encode()
    return StreamingBody(io.BytesIO(data), len(data))


def expect_invoke(stubber: Stubber, answer: Any, function: str | None = None, **extra: Any) -> None:
    """Queue the Lambda's answer to one RequestResponse invoke of `function` (any payload)."""
    stubber.add_response(
        "invoke",
        {"StatusCode": 200, "Payload": payload_body(answer), **extra},
        {
            "FunctionName": function or reward_function(),
            "InvocationType": "RequestResponse",
            "LogType": "Tail",
            "Payload": ANY,
        },
    )


def record_payloads(stubber: Stubber) -> list[Any]:
    """The payloads the stubbed Lambda client is asked to send, decoded, in order."""
    sent: list[Any] = []
    stubber.client.meta.events.register(
        "before-parameter-build.lambda.Invoke", lambda params, **_: sent.append(json.loads(params["Payload"]))
    )
    return sent


@dataclass
class MotoJob:
    """A customization job in moto, with its backend object to move it between states."""

    name: str
    arn: str

    @property
    def backend(self) -> Any:
        return bedrock_backends[ACCOUNT][REGION].model_customization_jobs[self.name]

    def set_status(self, status: str, failure_message: str | None = None) -> None:
        self.backend.status = status
        if failure_message is not None:
            self.backend.failure_message = failure_message


def launch_job(name: str = JOB_NAME) -> MotoJob:
    """A job created the way rft_job creates it (moto keeps it InProgress until told otherwise)."""
    bedrock = boto3.client("bedrock", region_name=REGION)
    arn = bedrock.create_model_customization_job(
        jobName=name,
        customModelName=name,
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/BedrockServiceRole",
        baseModelIdentifier="amazon.nova-2-lite-v1:0:256k",
        customizationType="REINFORCEMENT_FINE_TUNING",
        trainingDataConfig={"s3Uri": "s3://assets/train.jsonl"},
        outputDataConfig={"s3Uri": OUTPUT_URI},
        hyperParameters=HYPERPARAMETERS,
    )["jobArn"]
    return MotoJob(name, arn)


def assert_one_line_error(result: Result, *fragments: str) -> None:
    """A user mistake: non-zero exit, one `error:` line on stderr naming the problem, no traceback."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    stderr = " ".join(result.stderr.split())  # Rich may soft-wrap; compare the words
    assert stderr.startswith("error:"), result.stderr
    for fragment in fragments:
        assert fragment in stderr, (fragment, stderr)


@contextlib.contextmanager
def stubbed_service(monkeypatch: pytest.MonkeyPatch, owner: Any, service: str) -> Iterator[Stubber]:
    """`owner.client(service, ...)` answers with a Stubber; every other service keeps its real client.

    All queued calls must be made.
    """
    stubbed = boto3.client(service, region_name=REGION)
    real_client = owner.client

    def client(name: str, region: str) -> Any:
        return stubbed if name == service else real_client(name, region)

    monkeypatch.setattr(owner, "client", client)
    with Stubber(stubbed) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()
