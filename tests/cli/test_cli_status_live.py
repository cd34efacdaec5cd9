"""`rft status` with the reward function's live metrics: moto's CloudWatch holds the batches' EMF
metrics and the stack's alarms; the CLI reads them with GetMetricData and DescribeAlarms."""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from click.testing import Result

from rft import job_control, live_metrics

from .helpers import REGION, STACK, MotoJob
from .test_cli_status import PNG_MAGIC, Transitions, upload_metrics, words

# Minutes after the job started, and each minute's batch rewards (one BatchSize datum per batch).
BATCHES = {2: [0.2, 0.3], 5: [0.4], 9: [0.5, 0.7, 0.6]}
SERVICE = "gsm8k-reward"


def started_30_minutes_ago(job: MotoJob) -> datetime:
    start = (datetime.now(UTC) - timedelta(minutes=30)).replace(second=0, microsecond=0)
    job.backend.creation_time = start.strftime("%Y-%m-%d %H:%M:%S")  # moto's format, in UTC here
    return start


def put_batches(start: datetime, service: str = SERVICE) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    dimensions = [{"Name": "service", "Value": service}]
    for minute, rewards in BATCHES.items():
        moment = start + timedelta(minutes=minute, seconds=10)
        cloudwatch.put_metric_data(
            Namespace="BedrockRft",
            MetricData=[
                *(
                    {"MetricName": "MeanReward", "Dimensions": dimensions, "Timestamp": moment, "Value": r}
                    for r in rewards
                ),
                *(
                    {"MetricName": "BatchSize", "Dimensions": dimensions, "Timestamp": moment, "Value": 32}
                    for _ in rewards
                ),
            ],
        )


def alarm(name: str, state: str) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="BedrockRft",
        MetricName="ScorerErrors",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def png_width(path: Path) -> int:
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    return struct.unpack(">I", data[16:20])[0]


# Per minute: mean of that minute's batches. Smoothed: the batch-weighted mean of all (< 10 points).
LATEST = 0.6
SMOOTHED = sum(sum(r) for r in BATCHES.values()) / sum(len(r) for r in BATCHES.values())


def test_status_prints_the_live_figures_once_with_the_dashboard_url(
    deployed: Callable[..., MotoJob], run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    job = deployed()
    put_batches(started_30_minutes_ago(job))
    put_batches(started_30_minutes_ago(job), service="finqa-reward")  # another stack's: not counted
    alarm(f"{STACK}-training-scorer-errors", "ALARM")
    alarm(f"{STACK}-training-reward-errors", "OK")
    alarm("OtherRftStack-training-scorer-errors", "ALARM")

    result = run_cli("status", STACK, "--out", str(tmp_path))

    assert result.exit_code == 0, result.output
    out = words(result.stdout)
    assert (
        f"live reward: batches 6, reward {LATEST:.3f} (smoothed {SMOOTHED:.3f}), "
        f"alarms in ALARM: {STACK}-training-scorer-errors" in out
    ), result.stdout
    assert (
        "dashboard: https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        f"#dashboards/dashboard/{STACK}-training" in out
    )
    png = tmp_path / f"reward-live-{STACK}.png"
    assert png_width(png) == 880 and png.stat().st_size > 5_000


def test_watch_prints_a_line_per_poll_and_on_completed_draws_both_curves(
    deployed: Callable[..., MotoJob],
    run_cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    job = deployed()
    start = started_30_minutes_ago(job)
    upload_metrics(job)
    waits = Transitions(job, "InProgress", "Completed")

    def wait_then_score(seconds: float) -> None:
        """The first poll sees no batches yet; they arrive (and an alarm fires) during the first wait."""
        if not waits.waits:
            put_batches(start)
            alarm(f"{STACK}-training-reward-duration", "ALARM")
        waits(seconds)

    monkeypatch.setattr(job_control, "POLL_SLEEP", wait_then_score)

    result = run_cli("status", STACK, "--watch", "--out", str(tmp_path))

    assert result.exit_code == 0, result.output
    lines = [words(line) for line in result.stdout.splitlines() if "(poll " in line]
    assert len(lines) == 2, result.stdout
    assert "InProgress, elapsed 30m" in lines[0]
    assert "batches 0, no reward metrics yet, alarms in ALARM: none (poll 1; next check in 15 s)" in lines[0]
    assert (
        f"batches 6, reward {LATEST:.3f} (smoothed {SMOOTHED:.3f}), alarms in ALARM: "
        f"{STACK}-training-reward-duration (poll 2; next check in 22.5 s)" in lines[1]
    )
    assert "InProgress → Completed" in words(result.stdout)
    live = tmp_path / f"reward-live-{STACK}.png"
    assert f"wrote {live}" in words(result.stdout)
    assert png_width(live) == 1320  # the live curve and Bedrock's CSV curve side by side
    assert (tmp_path / f"{STACK}-reward-curve.png").exists()


def test_without_cloudwatch_permissions_the_job_is_still_shown_with_one_note(
    deployed: Callable[..., MotoJob],
    run_cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deployed()

    def denied(*_: object, **__: object) -> None:
        from botocore.exceptions import ClientError

        raise ClientError(
            {
                "Error": {
                    "Code": "AccessDeniedException",
                    "Message": "not authorized to cloudwatch:GetMetricData",
                }
            },
            "GetMetricData",
        )

    monkeypatch.setattr(live_metrics, "read_series", denied)
    result = run_cli("status", STACK)
    assert result.exit_code == 0, result.output
    out = words(result.stdout)
    assert "status InProgress" in out.replace("│", "").replace("  ", " ")
    assert "live metrics unavailable: AWS denied permission to read the reward's CloudWatch metrics" in out
    assert "cloudwatch:GetMetricData" in out


def test_a_long_job_reads_coarser_periods_within_the_point_limit() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert live_metrics.period_for(start, start + timedelta(hours=5)) == 60
    assert live_metrics.period_for(start, start + timedelta(hours=24)) == 60
    assert live_metrics.period_for(start, start + timedelta(hours=60)) == 180


def test_the_smoothed_curve_weights_each_period_by_its_batches() -> None:
    series = live_metrics.RewardSeries(times=[], rewards=[0.0, 1.0, 1.0], batches=[3, 1, 0])
    assert series.smoothed(window=2) == [0.0, 0.25, 1.0]
    assert series.total_batches == 4 and series.latest == 1.0
