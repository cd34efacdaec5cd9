"""On-demand custom model deployments: how `rft deploy-model` and the workflow name, find and reuse them.

A completed RFT job leaves a custom model (`outputModelArn`); it answers Converse only through a
deployment, whose ARN is then the `modelId`. Both callers first list the deployments of the model
(`ListCustomModelDeployments`, `modelArnEquals`) and reuse one that is Active or still Creating; a
create sends a name and `clientRequestToken` derived from the model, so a retried create is answered
without a second deployment, and whichever of the two made it, the other finds it.

Field names are botocore's service model for `bedrock` (CreateCustomModelDeployment,
GetCustomModelDeployment, ListCustomModelDeployments): a summary names the deployment
`customModelDeploymentName`, GetCustomModelDeployment names it `modelDeploymentName`, and the status is
one of Creating, Active, Failed.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

ACTIVE, CREATING, FAILED = "Active", "Creating", "Failed"
STATUSES = (CREATING, ACTIVE, FAILED)
NAME_MAX = 63  # ModelDeploymentName: ([0-9a-zA-Z][_-]?){1,63}
TAG_STACK, TAG_JOB = "rft:stack", "rft:job"  # the tags every deployment this project makes carries


def deployment_name(job_name: str, model_arn: str) -> str:
    """`rft-<job name>-<8 hex of the model ARN>`, fitted to ModelDeploymentName's pattern and length.

    Deterministic, so a retried create collides with (rather than duplicates) the first one.
    """
    digest = hashlib.sha256(model_arn.encode()).hexdigest()[:8]
    stem = re.sub(r"[^0-9A-Za-z]+", "-", f"rft-{job_name}").strip("-")
    stem = stem[: NAME_MAX - len(digest) - 1].rstrip("-")
    return f"{stem}-{digest}"


def request_token(model_arn: str) -> str:
    """The clientRequestToken of the create: the same model always sends the same token."""
    return hashlib.sha256(f"rft-deploy-model:{model_arn}".encode()).hexdigest()[:32]


def normalized_status(status: Any) -> str | None:
    """Creating / Active / Failed whatever the case Bedrock writes it in (the docs use both); else None."""
    if not isinstance(status, str):
        return None
    return next((known for known in STATUSES if known.lower() == status.strip().lower()), None)


def deployments_of(bedrock: Any, model_arn: str) -> list[dict[str, Any]]:
    """Every deployment of the model (all pages), newest first, as CustomModelDeploymentSummary."""
    found: list[dict[str, Any]] = []
    pages = bedrock.get_paginator("list_custom_model_deployments").paginate(
        modelArnEquals=model_arn, sortBy="CreationTime", sortOrder="Descending"
    )
    for page in pages:
        found.extend(page.get("modelDeploymentSummaries", []))
    return found


def reusable(deployments: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest deployment that is Active or still Creating, if any."""
    return next((d for d in deployments if normalized_status(d.get("status")) in (ACTIVE, CREATING)), None)


def name_of(deployment: dict[str, Any]) -> str:
    return str(deployment.get("modelDeploymentName") or deployment.get("customModelDeploymentName") or "")
