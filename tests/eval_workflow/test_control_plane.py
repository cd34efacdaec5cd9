"""find_model, start_deployment and deployment_status against a Stubber on the real boto3 client.

The Stubber checks every request against botocore's service model for `bedrock`, so a field the
handlers invented would fail here; the responses are shaped as that model (and the API reference)
says.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from rft_eval import deployments
from rft_eval.input_errors import EvalInputError
from rft_eval_workflow import handler

from .conftest import DEPLOYMENT_ARN, JOB_ARN, JOB_NAME, MODEL_ARN, Env, logged

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
# The sample event of "How EventBridge for Amazon Bedrock works" (Amazon Bedrock user guide), completed.
EVENT = {
    "version": "0",
    "id": "7b2f1c9e-0000-4000-8000-000000000000",
    "detail-type": "Model Customization Job State Change",
    "source": "aws.bedrock",
    "account": "123456789012",
    "time": "2026-12-02T03:00:00Z",
    "region": "us-east-1",
    "resources": [JOB_ARN],
    "detail": {
        "version": "0.0",
        "jobName": JOB_NAME,
        "jobArn": JOB_ARN,
        "outputModelName": "gsm8k-tuned",
        "outputModelArn": MODEL_ARN,
        "roleArn": "arn:aws:iam::123456789012:role/BedrockRft",
        "jobStatus": "Completed",
    },
}


def job(status: str = "Completed", output_model: str | None = MODEL_ARN) -> dict[str, Any]:
    """A GetModelCustomizationJob response with the members botocore marks required."""
    response: dict[str, Any] = {
        "jobArn": JOB_ARN,
        "jobName": JOB_NAME,
        "outputModelName": "gsm8k-tuned",
        "roleArn": "arn:aws:iam::123456789012:role/BedrockRft",
        "status": status,
        "creationTime": NOW,
        "baseModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k",
        "trainingDataConfig": {"s3Uri": "s3://bucket/train.jsonl"},
        "validationDataConfig": {"validators": []},
        "outputDataConfig": {"s3Uri": "s3://bucket/output/"},
    }
    if output_model:
        response["outputModelArn"] = output_model
    return response


def summary(status: str, arn: str = DEPLOYMENT_ARN, name: str = "rft-existing") -> dict[str, Any]:
    return {
        "customModelDeploymentArn": arn,
        "customModelDeploymentName": name,
        "modelArn": MODEL_ARN,
        "createdAt": NOW,
        "status": status,
    }


LIST_PARAMS = {"modelArnEquals": MODEL_ARN, "sortBy": "CreationTime", "sortOrder": "Descending"}
FOUND = {"jobArn": JOB_ARN, "jobName": JOB_NAME, "outputModelArn": MODEL_ARN}


def test_find_model_reads_the_completed_job_back(env: Env, bedrock: Stubber) -> None:
    bedrock.add_response("get_model_customization_job", job(), {"jobIdentifier": JOB_ARN})
    assert env.call(handler.find_model, EVENT) == FOUND


@pytest.mark.parametrize(
    ("status", "model", "says"),
    [
        ("InProgress", MODEL_ARN, "is InProgress, not Completed"),
        ("Failed", None, "is Failed, not Completed"),
        ("Completed", None, "reports no outputModelArn"),
    ],
)
def test_find_model_refuses_a_job_without_a_model(
    env: Env, bedrock: Stubber, status: str, model: str | None, says: str
) -> None:
    bedrock.add_response("get_model_customization_job", job(status, model), {"jobIdentifier": JOB_ARN})
    with pytest.raises(handler.JobNotReady, match=says):
        env.call(handler.find_model, EVENT)


def test_find_model_needs_a_job_in_the_event(env: Env, bedrock: Stubber) -> None:
    with pytest.raises(EvalInputError, match=r"detail\.jobArn"):
        env.call(handler.find_model, {"detail": {"jobStatus": "Completed"}})


def test_a_throttled_control_plane_call_fails_the_state_for_its_retry(env: Env, bedrock: Stubber) -> None:
    """The state machine retries a Lambda error; the handler must raise it, not swallow it."""
    bedrock.add_client_error("get_model_customization_job", "ThrottlingException", http_status_code=429)
    with pytest.raises(ClientError, match="ThrottlingException"):
        env.call(handler.find_model, EVENT)


@pytest.mark.parametrize("status", ["Active", "Creating"])
def test_start_deployment_reuses_a_live_deployment_of_the_model(
    env: Env, bedrock: Stubber, status: str
) -> None:
    older_failed = summary("Failed", DEPLOYMENT_ARN.replace("abcdefabcdef", "000000000000"), "rft-old")
    bedrock.add_response(
        "list_custom_model_deployments",
        {"modelDeploymentSummaries": [summary(status), older_failed]},
        LIST_PARAMS,
    )
    out = env.call(handler.start_deployment, FOUND)  # no create is queued: calling it would fail here
    assert out == {**FOUND, "deploymentArn": DEPLOYMENT_ARN, "deploymentName": "rft-existing", "reused": True}


def test_start_deployment_finds_a_deployment_on_a_later_page(env: Env, bedrock: Stubber) -> None:
    bedrock.add_response(
        "list_custom_model_deployments", {"modelDeploymentSummaries": [], "nextToken": "page-2"}, LIST_PARAMS
    )
    bedrock.add_response(
        "list_custom_model_deployments",
        {"modelDeploymentSummaries": [summary("Active")]},
        {**LIST_PARAMS, "nextToken": "page-2"},
    )
    assert env.call(handler.start_deployment, FOUND)["deploymentArn"] == DEPLOYMENT_ARN


def test_start_deployment_creates_one_named_and_tagged_like_rft_deploy_model(
    env: Env, bedrock: Stubber
) -> None:
    bedrock.add_response("list_custom_model_deployments", {"modelDeploymentSummaries": []}, LIST_PARAMS)
    name = deployments.deployment_name(JOB_NAME, MODEL_ARN)
    bedrock.add_response(
        "create_custom_model_deployment",
        {"customModelDeploymentArn": DEPLOYMENT_ARN},
        {
            "modelDeploymentName": name,
            "modelArn": MODEL_ARN,
            "description": f"bedrock-rft: the model of job {JOB_NAME}, deployed by the post-training evaluation",
            "tags": [
                {"key": "project", "value": "bedrock-rft"},
                {"key": "task", "value": "gsm8k"},
                {"key": "rft:stack", "value": "GsmRftStack"},
                {"key": "rft:job", "value": JOB_NAME},
            ],
            "clientRequestToken": deployments.request_token(MODEL_ARN),
        },
    )
    out = env.call(handler.start_deployment, FOUND)
    assert out == {**FOUND, "deploymentArn": DEPLOYMENT_ARN, "deploymentName": name, "reused": False}
    from rft.deploy_model import deployment_name, request_token  # the CLI would find (and reuse) this one

    assert (deployment_name(JOB_NAME, MODEL_ARN), request_token(MODEL_ARN)) == (
        name,
        deployments.request_token(MODEL_ARN),
    )


def test_start_deployment_with_only_failed_deployments_says_delete_first(env: Env, bedrock: Stubber) -> None:
    failed = {**summary("Failed"), "failureMessage": "capacity unavailable"}
    bedrock.add_response("list_custom_model_deployments", {"modelDeploymentSummaries": [failed]}, LIST_PARAMS)
    with pytest.raises(
        handler.DeploymentFailed,
        match=r"capacity unavailable; delete it \(`rft deploy-model GsmRftStack --delete`\)",
    ):
        env.call(handler.start_deployment, FOUND)


def test_a_failed_create_fails_the_state_with_bedrocks_reason(env: Env, bedrock: Stubber) -> None:
    bedrock.add_response("list_custom_model_deployments", {"modelDeploymentSummaries": []}, LIST_PARAMS)
    bedrock.add_client_error(
        "create_custom_model_deployment", "ServiceQuotaExceededException", "too many deployments", 400
    )
    with pytest.raises(ClientError, match="too many deployments"):
        env.call(handler.start_deployment, FOUND)


def deployment(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "customModelDeploymentArn": DEPLOYMENT_ARN,
        "modelDeploymentName": "rft-existing",
        "modelArn": MODEL_ARN,
        "createdAt": NOW,
        "status": status,
        **extra,
    }


@pytest.mark.parametrize(
    ("raw", "status"),
    [("Creating", "Creating"), ("Active", "Active"), ("ACTIVE", "Active"), ("creating", "Creating")],
)
def test_deployment_status_is_one_call_normalized(
    env: Env, bedrock: Stubber, monkeypatch: pytest.MonkeyPatch, raw: str, status: str
) -> None:
    import time

    monkeypatch.setattr(time, "sleep", lambda _: pytest.fail("deployment_status must never sleep"))
    bedrock.add_response(
        "get_custom_model_deployment", deployment(raw), {"customModelDeploymentIdentifier": DEPLOYMENT_ARN}
    )
    state = {**FOUND, "deploymentArn": DEPLOYMENT_ARN}
    assert env.call(handler.deployment_status, state) == {**state, "status": status}


def test_a_failed_or_unknown_deployment_status_is_failed_with_its_message(env: Env, bedrock: Stubber) -> None:
    params = {"customModelDeploymentIdentifier": DEPLOYMENT_ARN}
    bedrock.add_response(
        "get_custom_model_deployment", deployment("Failed", failureMessage="model too large"), params
    )
    bedrock.add_response("get_custom_model_deployment", deployment("Updating"), params)
    state = {"deploymentArn": DEPLOYMENT_ARN}
    failed = env.call(handler.deployment_status, state)
    assert failed["status"] == "Failed" and failed["failureMessage"] == "model too large"
    unknown = env.call(handler.deployment_status, state)
    assert unknown["status"] == "Failed" and "'Updating'" in unknown["failureMessage"]


def test_the_handlers_log_no_event_payload(
    env: Env, bedrock: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    bedrock.add_response("get_model_customization_job", job(), {"jobIdentifier": JOB_ARN})
    env.call(handler.find_model, EVENT)
    records = logged(caplog)
    assert [json.loads(r)["msg"] for r in records] == ["Read the job"]
    assert all(
        "BedrockRft" not in r and "outputModelName" not in r and "detail-type" not in r for r in records
    )
