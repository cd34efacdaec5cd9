"""What exists in the emulator, service by service: the "nothing is left" check after a destroy.

Take a snapshot after bootstrap, another after destroy, and compare: anything new is a leak. Two
things are expected to outlive a stack, as on AWS, and are left out: `/aws/lambda/*` log groups
that Lambda creates on first invocation, and customization jobs that are no longer running.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Inventory = dict[str, frozenset[str]]
RUNNING_JOB_STATES = frozenset({"InProgress", "Stopping"})


def _paged(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    if client.can_paginate(operation):
        return [
            item for page in client.get_paginator(operation).paginate(**kwargs) for item in page.get(key, [])
        ]
    return list(getattr(client, operation)(**kwargs).get(key, []))


def snapshot(client: Callable[[str], Any]) -> Inventory:
    """Names of everything a CDK stack of this project can create, by kind; `client(name)` makes boto3 clients."""
    cfn, lam, s3, iam = (client(name) for name in ("cloudformation", "lambda", "s3", "iam"))
    logs, sns, events, bedrock = (client(name) for name in ("logs", "sns", "events", "bedrock"))
    cloudwatch = client("cloudwatch")
    stacks = [
        s["StackName"]
        for s in _paged(cfn, "list_stacks", "StackSummaries")
        if s["StackStatus"] != "DELETE_COMPLETE"
    ]
    jobs = _paged(bedrock, "list_model_customization_jobs", "modelCustomizationJobSummaries")
    return {
        "stacks": frozenset(stacks),
        "functions": frozenset(f["FunctionName"] for f in _paged(lam, "list_functions", "Functions")),
        "layers": frozenset(layer["LayerName"] for layer in _paged(lam, "list_layers", "Layers")),
        "buckets": frozenset(b["Name"] for b in s3.list_buckets().get("Buckets", [])),
        "roles": frozenset(r["RoleName"] for r in _paged(iam, "list_roles", "Roles")),
        "log groups": frozenset(
            g["logGroupName"]
            for g in _paged(logs, "describe_log_groups", "logGroups")
            if not g["logGroupName"].startswith("/aws/lambda/")
        ),
        "topics": frozenset(t["TopicArn"].rsplit(":", 1)[-1] for t in _paged(sns, "list_topics", "Topics")),
        "event rules": frozenset(r["Name"] for r in events.list_rules().get("Rules", [])),
        "dashboards": frozenset(
            d["DashboardName"] for d in _paged(cloudwatch, "list_dashboards", "DashboardEntries")
        ),
        "alarms": frozenset(a["AlarmName"] for a in _paged(cloudwatch, "describe_alarms", "MetricAlarms")),
        "running jobs": frozenset(j["jobName"] for j in jobs if j.get("status") in RUNNING_JOB_STATES),
    }


def leftovers(
    before: Mapping[str, frozenset[str]], after: Mapping[str, frozenset[str]]
) -> dict[str, list[str]]:
    """What `after` has that `before` did not, by kind (empty when nothing was left behind)."""
    return {
        kind: sorted(after[kind] - before.get(kind, frozenset()))
        for kind in after
        if after[kind] - before.get(kind, frozenset())
    }
