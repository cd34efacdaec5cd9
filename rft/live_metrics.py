"""The live training curve: the reward function's own metrics, read while the job runs.

Bedrock's reward CSV appears only when the job has completed, but Bedrock calls the reward function
for every batch it scores, and the function publishes `MeanReward` and `BatchSize` per batch (EMF,
lambda/rft_reward/metric_names.py). `rft status` reads them with GetMetricData at one-minute
resolution (what EMF metrics have), with the stack's alarms in ALARM (DescribeAlarms), prints the
figures and keeps `reports/reward-live-<stack>.png` up to date. It needs `cloudwatch:GetMetricData`
and `cloudwatch:DescribeAlarms`; without them the job is still shown, with a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from botocore.client import BaseClient
from rich.console import Console

from rft.aws import aws_errors
from rft.errors import UserError
from rft.project import ensure_lambda_path, task_for_stack

# EMF metrics have one-minute resolution; a longer job gets longer periods to stay under MAX_POINTS.
BASE_PERIOD_S = 60
MAX_POINTS = 1440
# The smoothed reward: the batch-weighted mean of the last this-many periods.
SMOOTHING_POINTS = 10


def metric_names() -> ModuleType:
    """The reward package's metric names (the handler, the stack and this CLI share that file)."""
    ensure_lambda_path()
    from rft_reward import metric_names as names

    return names


@dataclass(frozen=True)
class RewardSeries:
    """Per period since the job started: the mean reward of its batches and how many there were."""

    times: list[datetime] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    batches: list[float] = field(default_factory=list)

    @property
    def total_batches(self) -> int:
        return int(sum(self.batches))

    @property
    def latest(self) -> float | None:
        return self.rewards[-1] if self.rewards else None

    def smoothed(self, window: int = SMOOTHING_POINTS) -> list[float]:
        """The batch-weighted mean of each period and the `window - 1` before it."""
        curve = []
        for end in range(1, len(self.rewards) + 1):
            rewards, weights = (
                self.rewards[max(0, end - window) : end],
                self.batches[max(0, end - window) : end],
            )
            total = sum(weights)
            curve.append(
                sum(r * w for r, w in zip(rewards, weights, strict=True)) / total
                if total
                else sum(rewards) / len(rewards)
            )
        return curve


def period_for(start: datetime, end: datetime) -> int:
    """Seconds per point: one minute, or a whole number of minutes keeping a long job under MAX_POINTS."""
    minutes = max(1, -(-int((end - start).total_seconds()) // (BASE_PERIOD_S * MAX_POINTS)))
    return BASE_PERIOD_S * minutes


def read_series(cloudwatch: BaseClient, service: str, start: datetime, end: datetime) -> RewardSeries:
    names = metric_names()
    period = period_for(start, end)

    def query(query_id: str, metric: str, stat: str) -> dict[str, Any]:
        return {
            "Id": query_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": names.NAMESPACE,
                    "MetricName": metric,
                    "Dimensions": [{"Name": names.SERVICE_DIMENSION, "Value": service}],
                },
                "Period": period,
                "Stat": stat,
            },
        }

    points: dict[str, dict[datetime, float]] = {"reward": {}, "batches": {}}
    request = {
        "MetricDataQueries": [
            query("reward", names.MEAN_REWARD, "Average"),
            query("batches", names.BATCH_SIZE, "SampleCount"),
        ],
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampAscending",
    }
    while True:
        answer = cloudwatch.get_metric_data(**request)
        for result in answer.get("MetricDataResults", []):
            for moment, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                points[result["Id"]][_aware(moment)] = float(value)
        if not answer.get("NextToken"):
            break
        request["NextToken"] = answer["NextToken"]
    times = sorted(points["reward"])
    return RewardSeries(
        times=times,
        rewards=[points["reward"][t] for t in times],
        batches=[points["batches"].get(t, 0.0) for t in times],
    )


def alarms_in_alarm(cloudwatch: BaseClient, stack: str) -> list[str]:
    prefix = metric_names().alarm_name_prefix(stack)
    found: list[str] = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=prefix, StateValue="ALARM"
    ):
        alarms = (*page.get("MetricAlarms", []), *page.get("CompositeAlarms", []))
        # Checked here too: moto applies only one of the two filters.
        found += [a["AlarmName"] for a in alarms if a.get("StateValue") == "ALARM"]
    return sorted(found)


def dashboard_url(region: str, name: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{name}"
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class LiveFigures:
    series: RewardSeries
    alarms: list[str]

    def text(self) -> str:
        series = self.series
        if series.latest is None:
            reward = "no reward metrics yet"
        else:
            reward = f"reward {series.latest:.3f} (smoothed {series.smoothed()[-1]:.3f})"
        alarms = ", ".join(self.alarms) if self.alarms else "none"
        return f"batches {series.total_batches:,}, {reward}, alarms in ALARM: {alarms}"


class LiveReward:
    """The stack's live reward figures, read once per poll, and the PNG drawn from them."""

    def __init__(
        self,
        cloudwatch: BaseClient,
        stack: str,
        outputs: Mapping[str, str],
        region: str,
        out_dir: Path,
        console: Console,
    ) -> None:
        names = metric_names()
        task = task_for_stack(stack)
        self.cloudwatch, self.stack, self.console = cloudwatch, stack, console
        # The stack's task names the metrics' `service` dimension ("" for a stack this repo does not know).
        self.service = names.reward_service_name(task.name) if task else ""
        self.dashboard = outputs.get("DashboardName") or names.dashboard_name(stack)
        self.region = region
        self.png = out_dir / f"reward-live-{stack}.png"
        self.last: LiveFigures | None = None
        self.start: datetime | None = None
        self._unavailable = False

    @property
    def dashboard_url(self) -> str:
        return dashboard_url(self.region, self.dashboard)

    def poll(self, created: datetime | None, now: datetime) -> str:
        """The figures line for this poll ('' when the metrics cannot be read); redraws the PNG."""
        if self._unavailable or not self.service:
            return ""
        start = _aware(created or now - timedelta(hours=1)).replace(second=0, microsecond=0)
        end = _aware(now).replace(second=0, microsecond=0) + timedelta(minutes=1)
        self.start = start
        try:
            with aws_errors("read the reward's CloudWatch metrics (cloudwatch:GetMetricData)"):
                series = read_series(self.cloudwatch, self.service, start, end)
            with aws_errors("list the stack's alarms (cloudwatch:DescribeAlarms)"):
                alarms = alarms_in_alarm(self.cloudwatch, self.stack)
        except UserError as error:
            self._unavailable = True  # once: a watch of hours should not repeat it every poll
            self.console.print(f"[yellow]live metrics unavailable:[/] {error.message}", soft_wrap=True)
            return ""
        self.last = LiveFigures(series, alarms)
        if series.rewards:
            self.draw()
        return self.last.text()

    def draw(
        self,
        bedrock: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    ) -> Path | None:
        """The live curve; with Bedrock's CSV curves (a completed job) beside it."""
        from rft.plots import live_reward_curve

        if self.last is None or not self.last.series.rewards:
            return None
        series = self.last.series
        origin = self.start or series.times[0]
        minutes = [(t - origin).total_seconds() / 60 for t in series.times]
        return live_reward_curve(
            self.png,
            title=f"{self.stack}: mean reward per minute, from the reward function",
            minutes=minutes,
            rewards=series.rewards,
            smoothed=series.smoothed(),
            bedrock=bedrock,
        )
