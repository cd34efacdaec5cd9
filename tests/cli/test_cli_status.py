"""`rft status` and `rft stop` against moto: a job found through the stack's outputs, read by name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from click.testing import Result

from rft import job_control
from rft.errors import EXIT_JOB_FAILED

from .helpers import (
    JOB_NAME,
    OUTPUT_URI,
    REGION,
    STACK,
    MotoJob,
    assert_one_line_error,
    deploy_stack,
    stack_outputs,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TRAINING_CSV = (
    "step_number,epoch_number,train_reward_mean,training_loss\n0,0,0.21,1.9\n10,0,0.35,1.7\n20,0,0.52,1.5\n"
)
VALIDATION_CSV = "step_number,epoch_number,validation_reward_mean\n10,0,0.33\n20,0,0.49\n"


def words(text: str) -> str:
    return " ".join(text.split())


def upload_metrics(job: MotoJob) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="gsm-output-bucket")
    folder = f"rft-output/model-customization-job-{job.arn.rsplit('/', 1)[-1]}/"
    s3.put_object(
        Bucket="gsm-output-bucket",
        Key=folder + "training_artifacts/step_wise_training_metrics.csv",
        Body=TRAINING_CSV,
    )
    s3.put_object(
        Bucket="gsm-output-bucket",
        Key=folder + "validation_artifacts/post_fine_tuning_validation/validation_metrics.csv",
        Body=VALIDATION_CSV,
    )


class Transitions:
    """Stands in for the poll wait: each wait moves the moto job to the next status."""

    def __init__(self, job: MotoJob, *statuses: str, failure_message: str | None = None) -> None:
        self.job = job
        self.statuses = list(statuses)
        self.failure_message = failure_message
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        status = self.statuses.pop(0)
        self.job.set_status(status, self.failure_message if status == "Failed" else None)


def test_status_shows_a_running_job(deployed: Callable[..., MotoJob], run_cli: Callable[..., Result]) -> None:
    deployed()
    result = run_cli("status", STACK)
    assert result.exit_code == 0, result.output
    out = words(result.stdout)
    assert f"RFT job {JOB_NAME}" in out
    assert "status InProgress" in out.replace("│", "").replace("  ", " ")
    assert "amazon.nova-2-lite-v1:0:256k" in out
    assert "batchSize=32" in out and "epochCount=1" in out and "learningRate=5e-05" in out
    assert "(running)" in out
    assert OUTPUT_URI in out


def test_task_name_finds_its_stack(deployed: Callable[..., MotoJob], run_cli: Callable[..., Result]) -> None:
    deployed()
    assert run_cli("status", "gsm8k").exit_code == 0


def test_watch_polls_with_backoff_until_completed_and_saves_the_reward_curve(
    deployed: Callable[..., MotoJob],
    run_cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    job = deployed()
    upload_metrics(job)
    waits = Transitions(job, "InProgress", "InProgress", "Completed")
    monkeypatch.setattr(job_control, "POLL_SLEEP", waits)

    result = run_cli("status", STACK, "--watch", "--out", str(tmp_path))

    assert result.exit_code == 0, result.output
    assert waits.waits == [15.0, 22.5, 33.75]  # exponential backoff
    out = words(result.stdout)
    assert f"{JOB_NAME}: InProgress → Completed" in out
    assert "final state after 4 polls" in out
    assert "training train_reward_mean 3 0.21 0.52" in out.replace("│", "").replace("  ", " ")
    png = tmp_path / f"{STACK}-reward-curve.png"
    assert png.read_bytes().startswith(PNG_MAGIC) and png.stat().st_size > 5_000


def test_watch_ends_on_failed_with_the_failure_message(
    deployed: Callable[..., MotoJob], run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    job = deployed()
    waits = Transitions(
        job, "Failed", failure_message="Training data has 12 records; at least 100 are required"
    )
    monkeypatch.setattr(job_control, "POLL_SLEEP", waits)

    result = run_cli("status", STACK, "--watch")

    assert result.exit_code == EXIT_JOB_FAILED
    assert "Traceback" not in result.output
    assert "InProgress → Failed" in words(result.stdout)
    assert words(result.stderr) == (
        f"error: job {JOB_NAME} failed: Training data has 12 records; at least 100 are required"
    )


def test_status_of_a_failed_job_without_watch_exits_non_zero(
    deployed: Callable[..., MotoJob], run_cli: Callable[..., Result]
) -> None:
    deployed().set_status("Failed", "Lambda grader returned invalid output")
    result = run_cli("status", STACK)
    assert result.exit_code == EXIT_JOB_FAILED
    assert "failureMessage" in result.stdout and "Lambda grader returned invalid output" in words(
        result.stdout
    )


def test_completed_job_without_metrics_files_says_so(
    deployed: Callable[..., MotoJob], run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    deployed().set_status("Completed")
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="gsm-output-bucket")
    result = run_cli("status", STACK, "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "no metrics files yet" in result.stdout
    assert not list(tmp_path.iterdir())


def test_stack_without_a_job_is_a_clear_error(aws: None, run_cli: Callable[..., Result]) -> None:
    deploy_stack(stack_outputs(job_name="not-launched"))
    assert_one_line_error(run_cli("status", STACK), "rft:launchJob=false")


def test_job_missing_from_bedrock_is_a_clear_error(aws: None, run_cli: Callable[..., Result]) -> None:
    deploy_stack(stack_outputs())
    assert_one_line_error(run_cli("status", STACK), f"job '{JOB_NAME}'", "does not exist")


def test_stop_stops_a_running_job(deployed: Callable[..., MotoJob], run_cli: Callable[..., Result]) -> None:
    job = deployed()
    result = run_cli("stop", STACK, "--yes")
    assert result.exit_code == 0, result.output
    assert job.backend.status == "Stopped"
    assert f"stop requested: job {JOB_NAME} is now Stopped" in words(result.stdout)


def test_stop_asks_first_and_respects_no(
    deployed: Callable[..., MotoJob], run_cli: Callable[..., Result]
) -> None:
    job = deployed()
    result = run_cli("stop", STACK, input="n\n")
    assert result.exit_code == 0, result.output
    assert job.backend.status == "InProgress"
    assert "not stopped" in result.stdout


def test_stop_leaves_a_finished_job_alone(
    deployed: Callable[..., MotoJob], run_cli: Callable[..., Result]
) -> None:
    job = deployed()
    job.set_status("Completed")
    result = run_cli("stop", STACK, "--yes")
    assert result.exit_code == 0
    assert job.backend.status == "Completed"
    assert "is Completed; nothing to stop" in words(result.stdout)


def test_watch_in_a_log_prints_a_line_per_poll(
    deployed: Callable[..., MotoJob], run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Output that is not a terminal gets no live table, so every poll says where the job is."""
    job = deployed()
    waits = Transitions(job, "InProgress", "InProgress", "Stopped")
    monkeypatch.setattr(job_control, "POLL_SLEEP", waits)

    result = run_cli("status", STACK, "--watch")

    assert result.exit_code == 0, result.output
    polls = [line for line in result.stdout.splitlines() if "next check in" in line]
    assert len(polls) == len(waits.waits) == 3  # one line before each wait, none silent
    for number, (line, wait) in enumerate(zip(polls, waits.waits, strict=True), start=1):
        assert f"{JOB_NAME}: InProgress, elapsed " in line
        assert line.endswith(f"(poll {number}; next check in {wait:g} s)")


def test_a_stopped_job_without_a_recorded_end_shows_no_made_up_elapsed_time(
    deployed: Callable[..., MotoJob], run_cli: Callable[..., Result]
) -> None:
    """moto (the emulator) stamps endTime and lastModifiedTime at creation and never moves them."""
    job = deployed()
    assert run_cli("stop", STACK, "--yes").exit_code == 0
    assert job.backend.end_time == job.backend.creation_time

    result = run_cli("status", STACK)

    assert result.exit_code == 0, result.output
    out = words(result.stdout.replace("│", " "))
    assert "status Stopped" in out
    assert "elapsed unknown (the job records no end time after its creation time)" in out
    assert "0m 00s" not in out
