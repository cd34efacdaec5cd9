"""`rft deploy-model`: the tuned model's on-demand deployment, created or reused, waited for, deleted.

moto 5.2.5 has no custom model deployments, so Bedrock is botocore's Stubber (every queued call must
be made, with exactly the parameters given); the stack's outputs come from moto's CloudFormation.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from click.testing import Result
from rich.console import Console

from rft import deploy_model
from rft.errors import EXIT_JOB_FAILED

from .helpers import (
    ACCOUNT,
    JOB_NAME,
    OUTPUT_URI,
    REGION,
    STACK,
    assert_one_line_error,
    deploy_stack,
    stack_outputs,
    stubbed_service,
)

MODEL_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.nova-2-lite-v1:0:256k/abcdefghijkl"
DEPLOYMENT_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/a1b2c3d4e5f6"
OTHER_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/0000aaaa1111"
NAME = deploy_model.deployment_name(JOB_NAME, MODEL_ARN)
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def job(status: str = "Completed") -> dict[str, Any]:
    """A GetModelCustomizationJob answer with every required member."""
    answer = {
        "jobArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/{JOB_NAME}",
        "jobName": JOB_NAME,
        "outputModelName": JOB_NAME,
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/BedrockServiceRole",
        "creationTime": NOW,
        "baseModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k",
        "trainingDataConfig": {"s3Uri": "s3://assets/train.jsonl"},
        "validationDataConfig": {"validators": []},
        "outputDataConfig": {"s3Uri": OUTPUT_URI},
        "status": status,
    }
    if status == "Completed":
        answer["outputModelArn"] = MODEL_ARN
    return answer


def summary(status: str, arn: str = DEPLOYMENT_ARN, **extra: Any) -> dict[str, Any]:
    return {
        "customModelDeploymentArn": arn,
        "customModelDeploymentName": NAME,
        "modelArn": MODEL_ARN,
        "createdAt": NOW,
        "status": status,
        **extra,
    }


def deployment(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "customModelDeploymentArn": DEPLOYMENT_ARN,
        "modelDeploymentName": NAME,
        "modelArn": MODEL_ARN,
        "createdAt": NOW,
        "status": status,
        **extra,
    }


LIST_PARAMS = {"modelArnEquals": MODEL_ARN, "sortBy": "CreationTime", "sortOrder": "Descending"}


@pytest.fixture
def bedrock(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """The command's Bedrock client, stubbed; GsmRftStack deployed in moto; waits recorded, not slept."""
    deploy_stack(stack_outputs())
    with stubbed_service(monkeypatch, deploy_model, "bedrock") as stubber:
        yield stubber


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(deploy_model, "POLL_SLEEP", slept.append)
    return slept


def expect_job(stubber: Stubber, status: str = "Completed") -> None:
    stubber.add_response("get_model_customization_job", job(status), {"jobIdentifier": JOB_NAME})


def expect_list(stubber: Stubber, *summaries: dict[str, Any], next_token: str | None = None) -> None:
    page: dict[str, Any] = {"modelDeploymentSummaries": list(summaries)}
    if next_token:
        page["nextToken"] = next_token
    stubber.add_response("list_custom_model_deployments", page, LIST_PARAMS)


def expect_get(stubber: Stubber, status: str, **extra: Any) -> None:
    stubber.add_response(
        "get_custom_model_deployment",
        deployment(status, **extra),
        {"customModelDeploymentIdentifier": DEPLOYMENT_ARN},
    )


def expect_create(stubber: Stubber) -> None:
    stubber.add_response(
        "create_custom_model_deployment",
        {"customModelDeploymentArn": DEPLOYMENT_ARN},
        {
            "modelDeploymentName": NAME,
            "modelArn": MODEL_ARN,
            "description": f"bedrock-rft: the model of job {JOB_NAME} (stack {STACK}), by rft deploy-model",
            "tags": [{"key": "rft:stack", "value": STACK}, {"key": "rft:job", "value": JOB_NAME}],
            "clientRequestToken": deploy_model.request_token(MODEL_ARN),
        },
    )


def record(out: Path) -> dict[str, Any]:
    return json.loads((out / f"deployment-{STACK}.json").read_text(encoding="utf-8"))


def deploy(run_cli: Callable[..., Result], out: Path, *extra: str) -> Result:
    return run_cli("deploy-model", STACK, "--out", str(out), *extra)


def test_creates_the_deployment_waits_through_creating_and_records_it(
    bedrock: Stubber, waits: list[float], run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    expect_job(bedrock)
    expect_list(bedrock)
    expect_create(bedrock)
    for status in ("Creating", "Creating", "Active"):
        expect_get(bedrock, status)

    result = deploy(run_cli, tmp_path)

    assert result.exit_code == 0, result.output
    assert waits == [10.0, 15.0]  # backoff between the three polls
    # Not a terminal: one line per poll while it is Creating, then the ARN.
    assert len(re.findall(r"Creating \(poll \d", result.stdout)) == 2
    assert f"deployment Active: {DEPLOYMENT_ARN}" in result.stdout
    assert record(tmp_path) == {
        "stack": STACK,
        "job_name": JOB_NAME,
        "model_arn": MODEL_ARN,
        "deployment_arn": DEPLOYMENT_ARN,
        "deployment_name": NAME,
        "status": "Active",
        "region": REGION,
    }
    assert deploy_model.read_record(tmp_path, STACK) == deploy_model.DeploymentRecord(**record(tmp_path))


def test_reuses_an_existing_deployment_of_the_model_on_a_later_page(
    bedrock: Stubber, waits: list[float], run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    expect_job(bedrock)
    expect_list(bedrock, next_token="page2")
    bedrock.add_response(
        "list_custom_model_deployments",
        {"modelDeploymentSummaries": [summary("Active")]},
        {**LIST_PARAMS, "nextToken": "page2"},
    )
    expect_get(bedrock, "Active")  # and no create: the Stubber fails on any unqueued call

    result = deploy(run_cli, tmp_path)

    assert result.exit_code == 0, result.output
    assert f"reusing deployment {NAME} ({DEPLOYMENT_ARN})" in " ".join(result.stdout.split())
    assert waits == []
    assert record(tmp_path)["deployment_arn"] == DEPLOYMENT_ARN


def test_a_deployment_still_creating_is_waited_for_not_duplicated(
    bedrock: Stubber, waits: list[float], run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    expect_job(bedrock)
    expect_list(bedrock, summary("Failed", arn=OTHER_ARN), summary("Creating"))
    expect_get(bedrock, "Creating")
    expect_get(bedrock, "Active")

    result = deploy(run_cli, tmp_path)

    assert result.exit_code == 0, result.output
    assert waits == [10.0]
    assert record(tmp_path)["deployment_arn"] == DEPLOYMENT_ARN


def test_a_failed_deployment_prints_its_failure_and_exits_4_without_a_record(
    bedrock: Stubber, waits: list[float], run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    expect_job(bedrock)
    expect_list(bedrock)
    expect_create(bedrock)
    expect_get(bedrock, "Creating")
    expect_get(bedrock, "Failed", failureMessage="The model is not supported for on-demand inference")

    result = deploy(run_cli, tmp_path)

    assert result.exit_code == EXIT_JOB_FAILED
    assert_one_line_error(
        result,
        "Failed: The model is not supported for on-demand inference",
        f"rft deploy-model {STACK} --delete",
    )
    assert not (tmp_path / f"deployment-{STACK}.json").exists()


def test_only_failed_deployments_of_the_model_say_delete_first(
    bedrock: Stubber, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    expect_job(bedrock)
    expect_list(bedrock, summary("Failed", failureMessage="quota exceeded"))

    result = deploy(run_cli, tmp_path)

    assert result.exit_code == EXIT_JOB_FAILED
    assert_one_line_error(result, "Failed: quota exceeded", "--delete")


def test_gives_up_waiting_at_the_timeout_and_says_how_to_resume(
    bedrock: Stubber, waits: list[float], run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    expect_job(bedrock)
    expect_list(bedrock, summary("Creating"))
    for _ in range(3):
        expect_get(bedrock, "Creating")

    result = deploy(run_cli, tmp_path, "--timeout", "20")

    assert waits == [10.0, 10.0]  # the second wait is cut to what is left of the timeout
    assert_one_line_error(result, "still Creating after 20 s", f"rft deploy-model {STACK}")
    assert not (tmp_path / f"deployment-{STACK}.json").exists()


@pytest.mark.parametrize(
    ("status", "hint"),
    [("InProgress", f"rft status {STACK} --watch"), ("Failed", "no model to deploy")],
)
def test_a_job_that_has_not_completed_is_a_clear_error(
    bedrock: Stubber, run_cli: Callable[..., Result], tmp_path: Path, status: str, hint: str
) -> None:
    expect_job(bedrock, status)
    assert_one_line_error(deploy(run_cli, tmp_path), f"job {JOB_NAME} is {status}, not Completed", hint)


def test_a_stack_without_a_job_is_a_clear_error(
    aws: None, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    deploy_stack(stack_outputs(job_name="not-launched"))
    assert_one_line_error(deploy(run_cli, tmp_path), "rft:launchJob=false")


def test_no_credentials(run_cli: Callable[..., Result], no_credentials: None, tmp_path: Path) -> None:
    assert_one_line_error(deploy(run_cli, tmp_path), "no AWS credentials found", "aws configure")


def test_access_denied_names_the_iam_actions(
    bedrock: Stubber, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    expect_job(bedrock)
    expect_list(bedrock)
    bedrock.add_client_error(
        "create_custom_model_deployment",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: bedrock:CreateCustomModelDeployment",
        http_status_code=403,
    )
    assert_one_line_error(
        deploy(run_cli, tmp_path),
        f"AWS denied permission to deploy {MODEL_ARN}",
        "bedrock:CreateCustomModelDeployment",
        "bedrock:GetCustomModelDeployment",
        "bedrock:ListCustomModelDeployments",
    )


def test_delete_removes_the_deployment_and_its_record(
    bedrock: Stubber, waits: list[float], run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    expect_job(bedrock)
    expect_list(bedrock)
    expect_create(bedrock)
    expect_get(bedrock, "Active")
    assert deploy(run_cli, tmp_path).exit_code == 0
    expect_job(bedrock)
    expect_list(bedrock, summary("Active"))
    bedrock.add_response(
        "delete_custom_model_deployment", {}, {"customModelDeploymentIdentifier": DEPLOYMENT_ARN}
    )

    result = deploy(run_cli, tmp_path, "--delete", "--yes")

    assert result.exit_code == 0, result.output
    assert f"deleted deployment {DEPLOYMENT_ARN}" in result.stdout
    assert not (tmp_path / f"deployment-{STACK}.json").exists()


def test_delete_asks_first_and_keeps_everything_when_declined(
    bedrock: Stubber, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    recorded = deploy_model.DeploymentRecord(
        STACK, JOB_NAME, MODEL_ARN, DEPLOYMENT_ARN, NAME, "Active", REGION
    )
    deploy_model.write_record(tmp_path, recorded)
    expect_job(bedrock)
    expect_list(bedrock, summary("Active"))  # and no delete call

    result = run_cli("deploy-model", STACK, "--out", str(tmp_path), "--delete", input="n\n")

    assert result.exit_code == 0, result.output
    assert "not deleted" in result.stdout
    assert deploy_model.read_record(tmp_path, STACK) == recorded


def test_delete_with_nothing_deployed_says_so(
    bedrock: Stubber, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    expect_job(bedrock)
    expect_list(bedrock)

    result = deploy(run_cli, tmp_path, "--delete", "--yes")

    assert result.exit_code == 0, result.output
    assert "nothing to delete" in result.stdout


@pytest.mark.parametrize("job_name", [JOB_NAME, "x" * 120, "My_Job--with..odd__chars", "a-" * 40])
def test_the_deployment_name_fits_bedrocks_pattern_and_is_deterministic(job_name: str) -> None:
    name = deploy_model.deployment_name(job_name, MODEL_ARN)
    assert re.fullmatch(r"([0-9a-zA-Z][_-]?){1,63}", name), name
    assert name == deploy_model.deployment_name(job_name, MODEL_ARN)
    assert name != deploy_model.deployment_name(job_name, MODEL_ARN + "x")
    token = deploy_model.request_token(MODEL_ARN)
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", token) and len(token) <= 256


def test_delete_before_the_job_completed_has_nothing_to_delete(
    bedrock: Stubber, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    expect_job(bedrock, "InProgress")  # and no list or delete call

    result = deploy(run_cli, tmp_path, "--delete", "--yes")

    assert result.exit_code == 0, result.output
    assert f"job {JOB_NAME} is InProgress and has no model, so no deployment to delete" in result.stdout


def test_in_a_terminal_the_wait_redraws_one_status_line(bedrock: Stubber, waits: list[float]) -> None:
    expect_get(bedrock, "Creating")
    expect_get(bedrock, "Active")
    screen = Console(file=io.StringIO(), force_terminal=True, width=200)

    answer = deploy_model.wait_until_active(bedrock.client, DEPLOYMENT_ARN, STACK, screen)

    assert answer["status"] == "Active" and waits == [10.0]
    drawn = screen.file.getvalue()
    assert (
        "Creating (poll 1" in drawn and "Ctrl-C stops waiting, not the deployment" in drawn
    )  # the live line
    assert drawn.endswith("\x1b[2K")  # erased when the wait ends: no log line per poll is left behind


def test_a_timeout_that_is_not_positive_is_a_usage_error(
    run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    assert_one_line_error(
        deploy(run_cli, tmp_path, "--timeout", "0"), "--timeout must be a number of seconds"
    )
