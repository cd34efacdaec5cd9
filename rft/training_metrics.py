"""Reading the metrics a finished customization job wrote to S3, for the reward curve.

Bedrock documents the layout under the job's output URI ("Analyze the results of a model customization
job" in the Bedrock user guide):

    model-customization-job-<job id>/training_artifacts/step_wise_training_metrics.csv
    model-customization-job-<job id>/validation_artifacts/post_fine_tuning_validation/validation_metrics.csv

with a `step_number` column (and `epoch_number`) plus the metric columns. The guide lists loss columns
for supervised jobs and does not fix RFT's column names, so columns are read by name: every numeric
column with "reward" in its name is plotted, and the loss columns only when there is no reward column.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from urllib.parse import urlparse

from botocore.client import BaseClient

from rft.aws import aws_errors

TRAINING_FILE = "training_artifacts/step_wise_training_metrics.csv"
VALIDATION_FILE = "validation_artifacts/post_fine_tuning_validation/validation_metrics.csv"
STEP_COLUMNS = ("step_number", "step", "global_step")
BOOKKEEPING_COLUMNS = frozenset({*STEP_COLUMNS, "epoch_number", "epoch"})


@dataclass(frozen=True)
class MetricsTable:
    """One metrics CSV: the step of each row and every numeric column."""

    steps: list[float]
    columns: dict[str, list[float]] = field(default_factory=dict)

    def curve_columns(self) -> dict[str, tuple[list[float], list[float]]]:
        """Reward columns if there are any, else the loss columns: {name: (steps, values)}."""
        rewards = [name for name in self.columns if "reward" in name.lower()]
        chosen = rewards or [name for name in self.columns if "loss" in name.lower()]
        curves: dict[str, tuple[list[float], list[float]]] = {}
        for name in chosen:
            points = [
                (s, v) for s, v in zip(self.steps, self.columns[name], strict=True) if not math.isnan(v)
            ]
            if points:
                curves[name] = ([s for s, _ in points], [v for _, v in points])
        return curves


@dataclass(frozen=True)
class JobMetrics:
    training: MetricsTable | None
    validation: MetricsTable | None
    training_uri: str
    validation_uri: str


def _float(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


def parse_metrics_csv(text: str) -> MetricsTable:
    """Parse a metrics CSV; rows keep their order, non-numeric cells read as NaN."""
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        return MetricsTable(steps=[])
    names = [name for name in rows[0] if name is not None]
    step_column = next((c for c in STEP_COLUMNS if c in names), None)
    steps = [_float(row.get(step_column)) if step_column else float(i) for i, row in enumerate(rows)]
    columns: dict[str, list[float]] = {}
    for name in names:
        if name in BOOKKEEPING_COLUMNS:
            continue
        values = [_float(row.get(name)) for row in rows]
        if any(not math.isnan(v) for v in values):
            columns[name] = values
    return MetricsTable(steps=steps, columns=columns)


def job_id(job_arn: str) -> str:
    """The id Bedrock puts in the output folder name: the last segment of the job ARN."""
    return job_arn.rsplit("/", 1)[-1]


def metrics_prefix(output_uri: str, job_arn: str) -> tuple[str, str]:
    """(bucket, key prefix) of the job's folder under its output URI."""
    parsed = urlparse(output_uri)
    base = parsed.path.lstrip("/")
    if base and not base.endswith("/"):
        base += "/"
    return parsed.netloc, f"{base}model-customization-job-{job_id(job_arn)}/"


def _read(s3: BaseClient, bucket: str, key: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8", "replace")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise


def read_job_metrics(s3: BaseClient, output_uri: str, job_arn: str) -> JobMetrics:
    bucket, prefix = metrics_prefix(output_uri, job_arn)
    training_key, validation_key = prefix + TRAINING_FILE, prefix + VALIDATION_FILE
    with aws_errors(f"read the job's metrics from s3://{bucket}/{prefix}"):
        training = _read(s3, bucket, training_key)
        validation = _read(s3, bucket, validation_key)
    return JobMetrics(
        training=parse_metrics_csv(training) if training is not None else None,
        validation=parse_metrics_csv(validation) if validation is not None else None,
        training_uri=f"s3://{bucket}/{training_key}",
        validation_uri=f"s3://{bucket}/{validation_key}",
    )
