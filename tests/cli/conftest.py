"""Fixtures for the `rft` CLI tests: an AWS-free environment, moto-backed stacks and jobs, a runner.

Nothing here reaches AWS: test keys, no endpoint override, and moto's `mock_aws` for CloudFormation,
Bedrock and S3. The Lambda invoke is answered by botocore's Stubber (moto cannot run Lambda code
without Docker).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from moto import mock_aws
from typer.testing import CliRunner

from rft.cli import app

from .helpers import JOB_NAME, REGION, MotoJob, deploy_stack, launch_job, stack_outputs


@pytest.fixture(autouse=True)
def aws_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Test credentials and region; no profile, endpoint override or instance metadata."""
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_BEDROCK",
        "AWS_ENDPOINT_URL_LAMBDA",
        "AWS_ENDPOINT_URL_CLOUDFORMATION",
        "AWS_ENDPOINT_URL_S3",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """`run_cli("status", "GsmRftStack")`: the CLI in-process, stdout and stderr kept apart."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input, env={"COLUMNS": "140"})

    return run


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def deployed(aws: None) -> Callable[..., MotoJob]:
    """`deployed()` creates GsmRftStack's outputs and its running job; returns the job."""

    def make(job_name: str = JOB_NAME) -> MotoJob:
        job = launch_job(job_name)
        deploy_stack(stack_outputs(job_name))
        return job

    return make
