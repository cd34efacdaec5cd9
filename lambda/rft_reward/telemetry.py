"""Powertools logging and metrics for the reward handlers, with defaults that work outside Lambda.

The namespace default lives in code so a handler run from a test, a notebook or a local emulator
still emits valid EMF; POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME override it in a
deployed function. Nothing here ever formats a sample's text: ids are shortened and exceptions
are described by type and location only, because messages and events can carry whole
financial tables.
"""

from __future__ import annotations

import os
import traceback
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.constants import MAX_METRICS

from rft_reward.metric_names import NAMESPACE

DEFAULT_NAMESPACE = NAMESPACE
NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
SERVICE_ENV = "POWERTOOLS_SERVICE_NAME"

_MAX_LOGGED_ID_CHARS = 100
_MAX_FRAMES = 5


def service_name(task: str) -> str:
    return os.environ.get(SERVICE_ENV) or task


def metrics_namespace() -> str:
    return os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE


def make_logger(task: str) -> Logger:
    return Logger(service=service_name(task))


def make_metrics(task: str) -> EphemeralMetrics:
    """One metrics buffer per handler.

    Powertools' `Metrics` keeps its metric set in class attributes shared by every instance in
    the process, so two reward handlers imported together (tests, a local runner) would mix
    their batches. `EphemeralMetrics` is the same EMF provider without that sharing.
    """
    return EphemeralMetrics(namespace=metrics_namespace(), service=service_name(task))


#: CloudWatch's default (60 s) storage resolution, which `add_metric` records for every metric.
_RESOLUTION = 60


def add_batch_metrics(metrics: EphemeralMetrics, values: Mapping[str, tuple[float, MetricUnit]]) -> None:
    """`metrics.add_metric(name=..., unit=..., value=...)` for each entry, at a fraction of the cost.

    `add_metric` validates its arguments and formats a debug message on every call, even with
    debug logging off; the handler's own metrics are fixed names and units, so a new name is put
    into the metric set exactly as `add_metric` would put it (tests/reward compares the EMF blobs
    of both ways). A name already in the set (a batch scorer's), or a set near EMF's 100-metric
    limit, where `add_metric` flushes early, goes through `add_metric` itself.
    """
    metric_set = metrics.metric_set  # EphemeralMetrics is the EMF provider itself
    if len(metric_set) + len(values) >= MAX_METRICS or not metric_set.keys().isdisjoint(values):
        for name, (value, unit) in values.items():
            metrics.add_metric(name=name, unit=unit, value=value)
        return
    for name, (value, unit) in values.items():
        metric: defaultdict[str, Any] = defaultdict(list)
        metric["Unit"] = unit.value
        metric["StorageResolution"] = _RESOLUTION
        metric["Value"].append(float(value))
        metric_set[name] = metric


def loggable_id(sample_id: Any) -> Any:
    """A sample id as it may appear in a log line: ids are caller data of any JSON shape."""
    if sample_id is None or isinstance(sample_id, (bool, int, float)):
        return sample_id
    text = sample_id if isinstance(sample_id, str) else repr(sample_id)
    return text if len(text) <= _MAX_LOGGED_ID_CHARS else text[:_MAX_LOGGED_ID_CHARS] + "..."


def describe_exception(exc: BaseException) -> dict[str, str]:
    """Type and innermost code locations of an exception, without its message.

    A scorer's exception message may quote the response it choked on; the frames are enough to
    find the bug.
    """
    frames = traceback.extract_tb(exc.__traceback__)[-_MAX_FRAMES:]
    where = " <- ".join(f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}" for f in reversed(frames))
    return {"error_type": type(exc).__qualname__, "error_location": where}
