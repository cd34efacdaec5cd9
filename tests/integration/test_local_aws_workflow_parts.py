"""The emulator's workflow pieces one at a time, through the API (no CDK): fast, and each can fail alone.

State machines execute and their waits are capped; EventBridge delivers to Step Functions, SNS and
Lambda targets; custom model deployments go Creating → Active; Converse answers the evaluation's two
models from the recordings and refuses what it cannot answer; moto is put back when the emulator stops.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core.config import default_user_config

from local_aws import converse_replay, settings
from local_aws.moto_patches.bedrock_deployments import ACTIVE_AFTER_POLLS, complete_job
from local_aws.moto_patches.events_patches import as_delivered, target_input
from local_aws.server import Emulator
from tests.integration.conftest import ClientFactory, create_job, zip_files

BASE = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k"
QUESTION = converse_replay.recordings().questions[-1]  # the shortest recorded question


def _ended(aws: ClientFactory, arn: str, timeout_s: float = 60) -> dict[str, Any]:
    sfn, deadline = aws("stepfunctions"), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"{arn} still running")


def _machine(aws: ClientFactory, name: str, definition: dict[str, Any], role_arn: str) -> str:
    created = aws("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=role_arn
    )
    return str(created["stateMachineArn"])


def _job(aws: ClientFactory, name: str) -> None:
    aws("s3").create_bucket(Bucket=f"{name}-data")
    create_job(aws, name, f"{name}-data", BASE)


def test_an_execution_is_named_waits_are_capped_and_history_is_readable(
    aws: ClientFactory, role_arn: str
) -> None:
    definition = {
        "StartAt": "Wait",
        "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "Next": "Done"}, "Done": {"Type": "Succeed"}},
    }
    machine = _machine(aws, "waits", definition, role_arn)
    arn = aws("stepfunctions").start_execution(stateMachineArn=machine, input='{"a": 1}')["executionArn"]

    described = _ended(aws, arn)

    assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == {"a": 1}
    assert described["name"] != "None" and arn.endswith(":" + described["name"])
    history = aws("stepfunctions").get_execution_history(executionArn=arn)["events"]
    (entered,) = [e["timestamp"] for e in history if e["type"] == "WaitStateEntered"]
    (exited,) = [e["timestamp"] for e in history if e["type"] == "WaitStateExited"]
    assert (exited - entered).total_seconds() <= settings.SFN_WAIT_CAP_S + 1  # not the hour it says
    listed = aws("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    assert [e["executionArn"] for e in listed] == [arn]


def test_a_lambda_task_retries_with_capped_back_off_then_catches(aws: ClientFactory, role_arn: str) -> None:
    code = zip_files({"index.py": "def handler(event, context):\n    raise RuntimeError('always')\n"})
    fn = aws("lambda").create_function(
        FunctionName="always-fails",
        Runtime="python3.11",
        Role=role_arn,
        Handler="index.handler",
        Code={"ZipFile": code},
    )["FunctionArn"]
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": fn,
                "Retry": [{"ErrorEquals": ["RuntimeError"], "IntervalSeconds": 600, "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    arn = aws("stepfunctions").start_execution(
        stateMachineArn=_machine(aws, "retries", definition, role_arn)
    )["executionArn"]

    described = _ended(aws, arn, timeout_s=120)  # two retries of 600 s and 1200 s, capped

    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["error"]["Error"] == "RuntimeError"
    history = aws("stepfunctions").get_execution_history(executionArn=arn)["events"]
    assert sum(e["type"] == "LambdaFunctionFailed" for e in history) == 3


def test_eventbridge_starts_executions_publishes_and_invokes(aws: ClientFactory, role_arn: str) -> None:
    machine = _machine(
        aws, "on-event", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, role_arn
    )
    topic = aws("sns").create_topic(Name="events-topic")["TopicArn"]
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="events-inbox")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue, Attributes={"RawMessageDelivery": "true"}
    )
    aws("s3").create_bucket(Bucket="events-lambda-out")
    code = "import json, boto3\ndef handler(event, context):\n    boto3.client('s3').put_object(Bucket='events-lambda-out', Key='event.json', Body=json.dumps(event))\n"
    fn = aws("lambda").create_function(
        FunctionName="on-thing",
        Runtime="python3.11",
        Role=role_arn,
        Handler="index.handler",
        Code={"ZipFile": zip_files({"index.py": code})},
    )["FunctionArn"]
    events = aws("events")
    events.put_rule(Name="on-thing", EventPattern=json.dumps({"source": ["test.source"]}))
    events.put_targets(
        Rule="on-thing",
        Targets=[
            {"Id": "machine", "Arn": machine, "RoleArn": role_arn},
            {"Id": "topic", "Arn": topic, "InputPath": "$.detail"},
            {"Id": "log", "Arn": "arn:aws:logs:us-east-1:123456789012:log-group:/events/on-thing"},
            {"Id": "function", "Arn": fn},
        ],
    )
    aws("logs").create_log_group(logGroupName="/events/on-thing")

    entries = events.put_events(
        Entries=[{"Source": "test.source", "DetailType": "Thing", "Detail": '{"n": 7}'}]
    )

    assert entries["FailedEntryCount"] == 0
    listed = aws("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    (execution,) = listed
    delivered = json.loads(_ended(aws, execution["executionArn"])["input"])
    assert delivered["detail"] == {"n": 7} and delivered["detail-type"] == "Thing"
    assert time.strptime(delivered["time"], "%Y-%m-%dT%H:%M:%SZ")
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert json.loads(message["Body"]) == {"n": 7}  # InputPath applied
    streams = aws("logs").describe_log_streams(logGroupName="/events/on-thing")["logStreams"]
    assert len(streams) == 1  # moto's own targets still get the event
    deadline = time.monotonic() + 60
    while (
        not aws("s3").list_objects_v2(Bucket="events-lambda-out").get("KeyCount")
        and time.monotonic() < deadline
    ):
        time.sleep(0.2)  # the function runs asynchronously, as EventBridge invokes it
    body = aws("s3").get_object(Bucket="events-lambda-out", Key="event.json")["Body"].read()
    assert json.loads(body)["detail"] == {"n": 7}


def test_target_input_follows_input_input_path_and_the_event() -> None:
    event = as_delivered({"time": 0, "detail": {"a": {"b": 2}}, "ingestion-time": 1})
    assert event == {"time": "1970-01-01T00:00:00Z", "detail": {"a": {"b": 2}}}
    assert target_input({"Input": '{"fixed": true}'}, event) == '{"fixed": true}'
    assert target_input({"InputPath": "$.detail.a"}, event) == '{"b": 2}'
    assert json.loads(target_input({}, event)) == event


def test_deployments_go_active_after_polls_and_need_a_completed_model(aws: ClientFactory) -> None:
    bedrock = aws("bedrock")
    _job(aws, "deploy-job")
    (model,) = [
        m["modelArn"]
        for m in bedrock.list_custom_models()["modelSummaries"]
        if m["modelName"] == "deploy-job-model"
    ]
    with pytest.raises(
        ClientError, match=r"ResourceNotFoundException.*its customization job deploy-job is InProgress"
    ):
        bedrock.create_custom_model_deployment(modelDeploymentName="too-early", modelArn=model)

    job = complete_job(settings.ACCOUNT_ID, settings.REGION, "deploy-job")
    model = job["outputModelArn"]
    first = bedrock.create_custom_model_deployment(modelDeploymentName="deploy-a", modelArn=model)[
        "customModelDeploymentArn"
    ]
    second = bedrock.create_custom_model_deployment(modelDeploymentName="deploy-b", modelArn=model)[
        "customModelDeploymentArn"
    ]

    statuses = [
        bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=first)["status"] for _ in range(3)
    ]
    assert statuses == ["Creating"] * (ACTIVE_AFTER_POLLS - 1) + ["Active"] * (4 - ACTIVE_AFTER_POLLS)
    page = bedrock.list_custom_model_deployments(modelArnEquals=model, maxResults=1)
    assert len(page["modelDeploymentSummaries"]) == 1 and page["nextToken"]
    names = {
        s["customModelDeploymentName"]
        for s in bedrock.list_custom_model_deployments(nameContains="deploy-b")["modelDeploymentSummaries"]
    }
    assert names == {"deploy-b"}
    bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=second)
    remaining = bedrock.list_custom_model_deployments(modelArnEquals=model)["modelDeploymentSummaries"]
    assert [s["customModelDeploymentArn"] for s in remaining] == [first]
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=second)


def _converse(aws: ClientFactory, model: str) -> str:
    reply = aws("bedrock-runtime").converse(
        modelId=model, messages=[{"role": "user", "content": [{"text": QUESTION}]}]
    )
    return str(reply["output"]["message"]["content"][0]["text"])


def test_converse_replays_the_base_model_and_an_active_deployment(aws: ClientFactory) -> None:
    solutions = converse_replay.recordings().solutions
    base, tuned = (
        solutions[m][QUESTION]
        for m in (converse_replay.BASE_MODEL_REPLAY, converse_replay.TUNED_MODEL_REPLAY)
    )
    _job(aws, "converse-job")
    for name in (
        "amazon.nova-2-lite-v1:0:256k",
        "amazon.nova-2-lite-v1:0",
        "us.amazon.nova-2-lite-v1:0",
        BASE,
    ):
        assert _converse(aws, name) == base
    with pytest.raises(ClientError, match="NotImplementedException"):
        _converse(aws, "amazon.nova-pro-v1:0")  # no emulated job is based on it
    model = complete_job(settings.ACCOUNT_ID, settings.REGION, "converse-job")["outputModelArn"]
    bedrock = aws("bedrock")
    deployment = bedrock.create_custom_model_deployment(modelDeploymentName="converse", modelArn=model)[
        "customModelDeploymentArn"
    ]
    with pytest.raises(ClientError, match="is Creating, not Active"):
        _converse(aws, deployment)
    while (
        bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=deployment)["status"] != "Active"
    ):
        pass
    assert _converse(aws, deployment) == tuned


def test_moto_is_put_back_when_the_emulator_stops(emulator: Emulator) -> None:
    assert default_user_config["stepfunctions"]["execute_state_machine"] is True
    # The module's emulator stops after this module; a fresh one shows the round trip.
    emulator.stop()
    try:
        assert default_user_config["stepfunctions"]["execute_state_machine"] is False
    finally:
        emulator.start()
