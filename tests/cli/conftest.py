"""Fixtures for the `rft` CLI tests: an AWS-free environment, moto-backed stacks and jobs, a runner.

Nothing here reaches AWS: test keys, no endpoint override, and moto's `mock_aws` for CloudFormation,
Bedrock and S3. The Lambda invoke is answered by botocore's Stubber (moto cannot run Lambda code
without Docker).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from botocore.client import BaseClient
from botocore.stub import Stubber
from click.testing import Result
from moto import mock_aws
from typer.testing import CliRunner

import tasks
from rft import aws as rft_aws
from rft import new_task, project
from rft.cli import app
from rft.rehearse import rehearsal, task_samples
from tasks import JudgeSpec, TaskSpec

from .helpers import JOB_NAME, REGION, MotoJob, deploy_stack, launch_job, stack_outputs

REPO_ROOT = Path(__file__).resolve().parents[2]


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


@pytest.fixture
def lambda_stub(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """The CLI's Lambda client, stubbed; CloudFormation stays on moto (GsmRftStack deployed).

    All queued calls must be made.
    """
    deploy_stack(stack_outputs())
    stubbed = boto3.client("lambda", region_name=REGION)
    real_client = rft_aws.client

    def client(service: str, region: str) -> BaseClient:
        return stubbed if service == "lambda" else real_client(service, region)

    monkeypatch.setattr(rft_aws, "client", client)
    with Stubber(stubbed) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def scaffolded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str, str], new_task.Plan]]:
    """`scaffolded("my_task", "rlvr")`: the files `rft new-task` writes, in a small fake project.

    The scaffold's own plan renders them (in memory, no check subprocess), so they are exactly what a
    user gets; the CLI then finds the task there: its TaskSpec, lambda/ package and sample files.
    """
    root = tmp_path / "project"
    for name in ("tasks", "data_prep/converters"):  # what a plan reads
        shutil.copytree(REPO_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO_ROOT / "cdk.json", root / "cdk.json")
    monkeypatch.setattr(sys, "path", list(sys.path))  # the CLI puts the fake lambda/ on it
    monkeypatch.setattr(project, "LAMBDA_DIR", root / "lambda")
    monkeypatch.setattr(task_samples, "SAMPLES_DIR", root / "data_prep" / "samples")
    monkeypatch.setattr(task_samples, "REPO_ROOT", root)
    monkeypatch.setattr(rehearsal, "REPO_ROOT", root)
    imported: list[str] = []

    def make(name: str, kind: str) -> new_task.Plan:
        plan = new_task.plan(new_task.NewTaskRequest(name, kind), root)
        for path, text in plan.new_files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        spec = TaskSpec(
            name=name,
            stack_name=plan.stack_name,
            description="scaffolded by a test",
            converter=f"data_prep.converters.{name}:{new_task.camel(name)}",
            reward_package=f"{name}_reward",
            kind=kind,  # type: ignore[arg-type]
            judge=JudgeSpec(model_id=new_task.DEFAULT_JUDGE_MODEL) if kind == "rlaif" else None,
        )
        monkeypatch.setattr(tasks, "TASKS", (*tasks.TASKS, spec))
        imported.append(f"{name}_reward")
        return plan

    yield make
    for module in [m for m in sys.modules if m.split(".")[0] in imported]:
        del sys.modules[module]
