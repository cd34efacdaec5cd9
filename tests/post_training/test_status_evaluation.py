"""`rft status` shows the post-training evaluation of the stack's job: moto for CloudFormation, Bedrock,
Step Functions and S3 (the executions are moved between states by the test, as the job is)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import Result

from rft import job_control, post_training
from tests.cli.helpers import JOB_NAME, STACK, deploy_stack, launch_job

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
    summary,
    upload_report,
    with_bucket,
    words,
)


def test_running_evaluation_shows_the_state_it_is_in(aws: None, run_cli: Callable[..., Result]) -> None:
    job, machine = deployed_stack()
    assert machine is not None
    start(machine, "gsmrftstack-job-older", name="older-job")  # another job's evaluation
    start(machine, JOB_NAME, job.arn, name="this-job").history(running_history("AnswerShards"))

    result = run_cli("status", STACK)

    assert result.exit_code == 0, result.output
    out = words(result.stdout)
    assert "evaluation: running, in state AnswerShards for" in out
    assert f"execution: {machine.replace(':stateMachine:', ':execution:')}:this-job" in out


def test_succeeded_evaluation_shows_the_summary_and_the_report_uri(
    aws: None, run_cli: Callable[..., Result]
) -> None:
    job, machine = deployed_stack()
    assert machine is not None
    report = evaluation()
    uri = f"s3://{BUCKET}/rft-eval/{JOB_NAME}/report.json"
    start(machine, JOB_NAME, job.arn).succeed(
        {"summary": summary(report), "reportUri": uri, "failedShards": []}
    )

    result = run_cli("status", STACK)

    assert result.exit_code == 0, result.output
    out = words(result.stdout)
    assert "evaluation: succeeded in 41m 00s" in out
    assert summary(report) in out
    assert f"report: {uri} (`rft evaluate {STACK} --from-s3` downloads it)" in out
    assert "shard(s) failed" not in out


def test_failed_shards_are_reported_as_left_out(aws: None, run_cli: Callable[..., Result]) -> None:
    job, machine = deployed_stack()
    assert machine is not None
    failed = [{"failed": True, "shard": {"index": 3, "label": "tuned"}, "error": "States.Timeout"}]
    start(machine, JOB_NAME, job.arn).succeed(
        {"summary": "s", "reportUri": "s3://b/k", "failedShards": failed}
    )

    out = words(run_cli("status", STACK).stdout)

    assert "1 shard(s) failed and are left out of the figures (not counted as wrong answers)" in out


def test_summary_is_read_from_the_bucket_when_the_output_has_none(
    aws: None, run_cli: Callable[..., Result]
) -> None:
    job, machine = deployed_stack()
    assert machine is not None
    report = evaluation()
    upload_report(report, files=("summary.txt",))
    start(machine, JOB_NAME, job.arn).succeed({"reportUri": f"s3://{BUCKET}/rft-eval/{JOB_NAME}/report.json"})

    out = words(run_cli("status", STACK).stdout)

    assert summary(report) in out


def test_report_older_than_the_kept_executions_is_still_found(
    aws: None, run_cli: Callable[..., Result]
) -> None:
    """Step Functions keeps a standard execution 90 days; the summary in the bucket stays."""
    deployed_stack()
    report = evaluation()
    upload_report(report)

    out = words(run_cli("status", STACK).stdout)

    assert "evaluation: succeeded" in out and summary(report) in out
    assert f"report: s3://{BUCKET}/rft-eval/{JOB_NAME}/report.json" in out


def test_failed_evaluation_names_the_failed_state_error_and_cause(
    aws: None, run_cli: Callable[..., Result]
) -> None:
    job, machine = deployed_stack()
    assert machine is not None
    start(machine, JOB_NAME, job.arn).fail(
        "ValidationException", lambda_cause(QUOTA_MESSAGE), failed_history()
    )

    result = run_cli("status", STACK)

    assert result.exit_code == 0, (
        result.output
    )  # the job completed; its evaluation is reported, not exited on
    out = words(result.stdout)
    assert "evaluation: failed after 3m 00s" in out
    assert f"failed in StartDeployment: ValidationException: {QUOTA_MESSAGE}" in out
    assert "TooManyRequests" not in out  # the throttle was retried; it is not why it failed
    assert "stackTrace" not in out


def test_failure_without_a_failed_task_uses_the_executions_error_and_cause(
    aws: None, run_cli: Callable[..., Result]
) -> None:
    """A Choice that routes a Failed deployment to a Fail state leaves no failed task in the history."""
    job, machine = deployed_stack()
    assert machine is not None
    start(machine, JOB_NAME, job.arn).fail(
        "DeploymentFailed", "the custom model deployment ended in Failed", failed_history()[:5]
    )

    out = words(run_cli("status", STACK).stdout)

    assert "failed: DeploymentFailed: the custom model deployment ended in Failed" in out


def test_stack_without_the_workflow_says_evaluation_is_off_in_one_line(
    aws: None, run_cli: Callable[..., Result]
) -> None:
    deployed_stack(workflow=False)

    result = run_cli("status", STACK)

    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "evaluation" in line]
    assert len(lines) == 1, lines
    assert "evaluation on completion is off for GsmRftStack" in words(lines[0])
    assert "rft:evaluateOnCompletion=true" in words(lines[0])


def test_completed_job_whose_evaluation_has_not_started(aws: None, run_cli: Callable[..., Result]) -> None:
    deployed_stack()
    out = words(run_cli("status", STACK).stdout)
    assert f"evaluation: not started yet for job {JOB_NAME}" in out


def test_running_job_asks_nothing_of_step_functions(aws: None, run_cli: Callable[..., Result]) -> None:
    """The workflow starts on Completed; before that no execution can be the job's."""
    launch_job()
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:NotThere"  # any call would fail
    deploy_stack(outputs_with(missing))

    result = run_cli("status", STACK)

    assert result.exit_code == 0, result.output
    assert "evaluation: waits for the job to complete" in words(result.stdout)


def test_unreadable_evaluation_is_one_note_under_the_job(aws: None, run_cli: Callable[..., Result]) -> None:
    launch_job().set_status("Completed")
    deploy_stack(outputs_with("arn:aws:states:us-east-1:123456789012:stateMachine:NotThere"))
    with_bucket()
    result = run_cli("status", STACK)
    assert result.exit_code == 0, result.output
    out = words(result.stdout)
    assert f"RFT job {JOB_NAME}" in out
    assert (
        "evaluation: not shown: the stack's evaluation state machine" in out and "redeploy the stack" in out
    )


class Steps:
    """Stands in for the poll wait: each wait runs the next step (move the job, start or end the execution)."""

    def __init__(self, *steps: Callable[[], None]) -> None:
        self.steps = list(steps)
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.steps:
            self.steps.pop(0)()


def test_watch_follows_the_job_then_its_evaluation_until_it_ends(
    aws: None, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    job = launch_job()
    machine = state_machine()
    deploy_stack(outputs_with(machine))
    with_bucket()
    report = evaluation()
    uri = f"s3://{BUCKET}/rft-eval/{JOB_NAME}/report.json"
    started: list = []

    steps = Steps(
        lambda: job.set_status("Completed"),
        lambda: None,  # the Completed event has not started the workflow yet
        lambda: started.append(start(machine, JOB_NAME, job.arn)),
        lambda: started[0].history(running_history("WaitForDeployment")),
        lambda: started[0].succeed({"summary": summary(report), "reportUri": uri, "failedShards": []}),
    )
    monkeypatch.setattr(job_control, "POLL_SLEEP", steps)

    result = run_cli("status", STACK, "--watch")

    assert result.exit_code == 0, result.output
    out = words(result.stdout)
    assert f"{JOB_NAME}: InProgress → Completed" in out
    assert "evaluation: not started, waiting for the execution to start (poll 1" in out
    assert "evaluation: not started → running" in out
    assert "evaluation: running, in state WaitForDeployment (poll" in out
    assert "evaluation: running → succeeded" in out
    assert summary(report) in out and f"report: {uri}" in out
    assert steps.waits == [15.0, 15.0, 22.5, 33.75, 50.625]  # the job's poll, then the evaluation's backoff


def test_watch_stops_when_no_execution_starts(
    aws: None, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed_stack()
    steps = Steps()
    monkeypatch.setattr(job_control, "POLL_SLEEP", steps)

    result = run_cli("status", STACK, "--watch")

    assert result.exit_code == 0, result.output
    assert sum(steps.waits) >= post_training.APPEAR_WITHIN_S
    assert sum(steps.waits[:-1]) < post_training.APPEAR_WITHIN_S  # it stopped at the first poll past it
    assert f"no execution started for job {JOB_NAME} within" in words(result.stdout)
