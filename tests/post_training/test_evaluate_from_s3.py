"""`rft evaluate STACK --from-s3`: the report the post-training workflow wrote, downloaded and printed.

moto for CloudFormation, Bedrock, Step Functions and S3; botocore's Stubber where S3 must refuse.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import Result

from rft import aws as rft_aws
from tests.cli.helpers import JOB_NAME, REGION, STACK, assert_one_line_error, deploy_stack, launch_job

from .test_report_from_json import rendered
from .workflow import (
    BUCKET,
    QUOTA_MESSAGE,
    deployed_stack,
    evaluation,
    failed_history,
    lambda_cause,
    outputs_with,
    running_history,
    start,
    state_machine,
    upload_report,
    words,
)


def stack(*, workflow: bool = True, job_status: str = "Completed") -> str | None:
    return deployed_stack(workflow=workflow, job_status=job_status)[1]


def test_downloads_the_report_and_prints_its_table(
    aws: None, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    stack()
    report = evaluation()
    uploaded = upload_report(report)

    result = run_cli("evaluate", STACK, "--from-s3", "--out", str(tmp_path))

    assert result.exit_code == 0, result.output
    folder = tmp_path / "rft-eval" / JOB_NAME
    for name in ("report.json", "report.md", "chart.svg"):
        assert (folder / name).read_bytes() == uploaded[name]
    out = result.stdout
    assert f"report of job {JOB_NAME} from s3://{BUCKET}/rft-eval/{JOB_NAME}/report.json" in words(out)
    # the table `rft evaluate` printed for this evaluation, then where the files went
    assert words(rendered(report)) in words(out)
    for name in ("report.json", "report.md", "chart.svg"):
        assert f"wrote {folder / name}" in words(out)


def test_task_name_and_job_option_fetch_another_jobs_report(
    aws: None, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    stack()
    other = "gsmrftstack-job-earlier"
    upload_report(evaluation(prompts=30), other)

    result = run_cli("evaluate", "gsm8k", "--from-s3", "--job", other, "--out", str(tmp_path))

    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "rft-eval" / other / "report.json").read_text())["prompts"] == 30
    assert "30 prompts × 1 sample(s)" in words(result.stdout)


def test_missing_chart_is_noted_and_the_table_still_printed(
    aws: None, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    stack()
    upload_report(evaluation(), files=("report.json", "report.md"))
    result = run_cli("evaluate", STACK, "--from-s3", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert f"not in s3://{BUCKET}/rft-eval/{JOB_NAME}/: chart.svg" in words(result.stdout)
    assert not (tmp_path / "rft-eval" / JOB_NAME / "chart.svg").exists()


def test_no_report_while_the_evaluation_runs(
    aws: None, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    machine = stack()
    assert machine is not None
    start(machine).history(running_history("AnswerShards"))
    assert_one_line_error(
        run_cli("evaluate", STACK, "--from-s3", "--out", str(tmp_path)),
        f"no report for job {JOB_NAME} at s3://{BUCKET}/rft-eval/{JOB_NAME}/report.json yet",
        "its evaluation is still running (in state AnswerShards)",
        f"rft status {STACK} --watch",
    )
    assert not (tmp_path / "rft-eval").exists()


def test_no_report_because_the_evaluation_failed(aws: None, run_cli: Callable[..., Result]) -> None:
    machine = stack()
    assert machine is not None
    start(machine).fail("ValidationException", lambda_cause(QUOTA_MESSAGE), failed_history())
    assert_one_line_error(
        run_cli("evaluate", STACK, "--from-s3"),
        "its evaluation failed (failed in StartDeployment: ValidationException: " + QUOTA_MESSAGE,
    )


def test_no_report_because_the_job_is_still_training(aws: None, run_cli: Callable[..., Result]) -> None:
    stack(job_status="InProgress")
    assert_one_line_error(
        run_cli("evaluate", STACK, "--from-s3"),
        "the job is InProgress, and the evaluation runs when a job completes",
    )


def test_no_report_and_no_evaluation_started(aws: None, run_cli: Callable[..., Result]) -> None:
    stack()
    assert_one_line_error(run_cli("evaluate", STACK, "--from-s3"), "no evaluation has started for it")


def test_no_report_with_evaluation_off(aws: None, run_cli: Callable[..., Result]) -> None:
    stack(workflow=False)
    assert_one_line_error(
        run_cli("evaluate", STACK, "--from-s3"),
        "evaluation on completion is off for GsmRftStack (rft:evaluateOnCompletion=false)",
    )


def test_no_access_to_the_bucket(
    aws: None, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack()
    s3 = boto3.client("s3", region_name=REGION)
    real_client = rft_aws.client
    monkeypatch.setattr(
        rft_aws, "client", lambda name, region: s3 if name == "s3" else real_client(name, region)
    )
    with Stubber(s3) as stubber:
        stubber.add_client_error(
            "get_object",
            service_error_code="AccessDenied",
            service_message="Access Denied",
            http_status_code=403,
            expected_params={"Bucket": BUCKET, "Key": f"rft-eval/{JOB_NAME}/report.json"},
        )
        assert_one_line_error(
            run_cli("evaluate", STACK, "--from-s3"),
            f"AWS denied permission to read s3://{BUCKET}/rft-eval/{JOB_NAME}/report.json",
            "s3:GetObject",
        )
        stubber.assert_no_pending_responses()


def test_bucket_gone(aws: None, run_cli: Callable[..., Result]) -> None:
    launch_job().set_status("Completed")
    deploy_stack(outputs_with(state_machine()))  # no bucket created
    assert_one_line_error(run_cli("evaluate", STACK, "--from-s3"), f"bucket {BUCKET}", "does not exist")


def test_unknown_stack(aws: None, run_cli: Callable[..., Result]) -> None:
    assert_one_line_error(
        run_cli("evaluate", "NopeStack", "--from-s3"), f"stack 'NopeStack' is not deployed in {REGION}"
    )


def test_damaged_report_is_a_one_line_error(
    aws: None, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    stack()
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key=f"rft-eval/{JOB_NAME}/report.json", Body=b'{"task": "gsm8k"}')
    assert_one_line_error(
        run_cli("evaluate", STACK, "--from-s3", "--out", str(tmp_path)),
        "is not an `rft evaluate` report (KeyError",
    )
    s3.put_object(Bucket=BUCKET, Key=f"rft-eval/{JOB_NAME}/report.json", Body=b"{not json")
    assert_one_line_error(run_cli("evaluate", STACK, "--from-s3", "--out", str(tmp_path)), "is not JSON")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--from-s3", "--model", "base"], "--from-s3 reads the report the stack wrote; drop --model"),
        (["--from-s3", "--limit", "5"], "drop --limit"),
        (["--job", "x"], "add --from-s3"),
        ([], "missing --model"),
    ],
)
def test_options_that_do_not_go_together_are_usage_errors(
    run_cli: Callable[..., Result], args: list[str], fragment: str
) -> None:
    result = run_cli("evaluate", STACK, *args)
    assert_one_line_error(result, fragment)
    assert result.exit_code == 2
