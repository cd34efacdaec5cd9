"""Bedrock custom model deployments, and customization jobs that complete, for the emulator.

moto 5.2.5 has neither: `CreateCustomModelDeployment` and the rest are not implemented, and a job
stays `InProgress` forever (nothing trains offline). The post-training evaluation needs both: a job
reaching `Completed` (with its output model) is what starts it, and on-demand inference on the tuned
model goes through a custom model deployment.

- **Deployments** (`Create`/`Get`/`List`/`DeleteCustomModelDeployment`, shapes from botocore's
  bedrock service model): the model must be a custom model whose job has completed (else
  ResourceNotFoundException, as a model that does not exist yet). A new deployment is `Creating`;
  it turns `Active` on its `ACTIVE_AFTER_POLLS`-th Get (or List that shows it), so a poll loop
  polls more than once. ARNs have the real shape (`...:custom-model-deployment/<12 chars>`).
- **Completing a job** (`complete_job`, also served at `POST /__local_aws/bedrock/complete-job`):
  the job becomes `Completed`, its output model gets a real-shaped ARN
  (`custom-model/<base model id>/<12 chars>`), and the event Bedrock sends to the default bus is
  put there: source `aws.bedrock`, detail-type `Model Customization Job State Change`, and the
  detail fields of the sample event on the Bedrock user guide page "How EventBridge for Amazon
  Bedrock works" (monitoring-eventbridge-how-it-works), `jobStatus` among them.
"""

from __future__ import annotations

import datetime
import json
import random
import string
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from moto.bedrock.exceptions import ResourceNotFoundException
from moto.bedrock.models import BedrockBackend, bedrock_backends
from moto.bedrock.responses import BedrockResponse
from moto.core.exceptions import JsonRESTError
from moto.events.models import events_backends

from local_aws.moto_patches.registry import replace

ACTIVE_AFTER_POLLS = 2
DEPLOYMENTS_PATH = "/model-customization/custom-model-deployments"
EVENT_SOURCE = "aws.bedrock"
EVENT_DETAIL_TYPE = "Model Customization Job State Change"
_lock = threading.Lock()


class ValidationException(JsonRESTError):
    """Bedrock's ValidationException with the reason (moto's own replaces it with a generic sentence)."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


def _now() -> datetime.datetime:
    return datetime.datetime.now(tz=datetime.UTC)


def _iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _suffix() -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=12))


@dataclass
class Deployment:
    arn: str
    name: str
    model_arn: str
    description: str | None
    created_at: datetime.datetime = field(default_factory=_now)
    last_updated_at: datetime.datetime = field(default_factory=_now)
    status: str = "Creating"
    polls: int = 0

    def poll(self) -> None:
        """One look at a Creating deployment; it is Active from the ACTIVE_AFTER_POLLS-th on."""
        if self.status == "Creating":
            self.polls += 1
            if self.polls >= ACTIVE_AFTER_POLLS:
                self.status = "Active"
                self.last_updated_at = _now()

    def describe(self) -> dict[str, Any]:
        body = {
            "customModelDeploymentArn": self.arn,
            "modelDeploymentName": self.name,
            "modelArn": self.model_arn,
            "createdAt": _iso(self.created_at),
            "lastUpdatedAt": _iso(self.last_updated_at),
            "status": self.status,
        }
        if self.description:
            body["description"] = self.description
        return body

    def summary(self) -> dict[str, Any]:
        return {
            "customModelDeploymentArn": self.arn,
            "customModelDeploymentName": self.name,
            "modelArn": self.model_arn,
            "createdAt": _iso(self.created_at),
            "lastUpdatedAt": _iso(self.last_updated_at),
            "status": self.status,
        }


def deployments(backend: BedrockBackend) -> dict[str, Deployment]:
    """The backend's deployments by ARN (kept on the backend, so a reset clears them too)."""
    found: dict[str, Deployment] = backend.__dict__.setdefault("local_aws_deployments", {})
    return found


def find_deployment(backend: BedrockBackend, identifier: str) -> Deployment:
    identifier = unquote(identifier)
    for deployment in deployments(backend).values():
        if identifier in (deployment.arn, deployment.name):
            return deployment
    raise ResourceNotFoundException(f"Custom model deployment {identifier} not found")


def _completed_model(backend: BedrockBackend, model_arn: str) -> Any:
    try:
        model = backend.get_custom_model(model_arn)
    except ResourceNotFoundException:
        raise ResourceNotFoundException(f"Custom model {model_arn} not found") from None
    job = backend.model_customization_jobs.get(model.job_name)
    if job is not None and job.status != "Completed":
        raise ResourceNotFoundException(
            f"Custom model {model_arn} not found: its customization job {job.job_name} is {job.status}"
        )
    return model


def create_deployment(backend: BedrockBackend, params: dict[str, Any]) -> Deployment:
    name, model_arn = params.get("modelDeploymentName"), params.get("modelArn")
    if not name or not model_arn:
        raise ValidationException("modelDeploymentName and modelArn are required")
    _completed_model(backend, model_arn)
    with _lock:
        if any(d.name == name for d in deployments(backend).values()):
            raise ValidationException(f"A custom model deployment named {name} already exists")
        arn = (
            f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:custom-model-deployment/{_suffix()}"
        )
        deployment = Deployment(arn, name, model_arn, params.get("description"))
        deployments(backend)[arn] = deployment
    if params.get("tags"):
        backend.tag_resource(arn, params["tags"])
    return deployment


def list_deployments(backend: BedrockBackend, query: dict[str, Any]) -> dict[str, Any]:
    def first(name: str) -> str | None:
        value = query.get(name)
        return str(value[0] if isinstance(value, list) else value) if value else None

    found = list(deployments(backend).values())
    if first("modelArnEquals"):
        found = [d for d in found if d.model_arn == first("modelArnEquals")]
    if first("nameContains"):
        found = [d for d in found if str(first("nameContains")) in d.name]
    for d in found:
        d.poll()
    if first("statusEquals"):
        found = [d for d in found if d.status == first("statusEquals")]
    found.sort(key=lambda d: d.created_at, reverse=first("sortOrder") != "Ascending")
    start = int(first("nextToken") or 0)
    size = int(first("maxResults") or 100)
    page = found[start : start + size]
    body: dict[str, Any] = {"modelDeploymentSummaries": [d.summary() for d in page]}
    if start + size < len(found):
        body["nextToken"] = str(start + size)
    return body


def _identifier(response: BedrockResponse) -> str:
    path = unquote(response.parsed_url.path)
    return path.split(DEPLOYMENTS_PATH + "/", 1)[-1]


def _create(self: BedrockResponse) -> str:
    deployment = create_deployment(self.bedrock_backend, json.loads(self.body or "{}"))
    return json.dumps({"customModelDeploymentArn": deployment.arn})


def _get(self: BedrockResponse) -> str:
    deployment = find_deployment(self.bedrock_backend, _identifier(self))
    deployment.poll()
    return json.dumps(deployment.describe())


def _list(self: BedrockResponse) -> str:
    return json.dumps(list_deployments(self.bedrock_backend, self.querystring))


def _delete(self: BedrockResponse) -> str:
    deployment = find_deployment(self.bedrock_backend, _identifier(self))
    deployments(self.bedrock_backend).pop(deployment.arn, None)
    return "{}"


# -- jobs that complete ----------------------------------------------------------------------------


def _base_model_id(job: Any) -> str:
    arn = str(job.base_model_arn or job.base_model_identifier or "")
    return arn.rsplit("foundation-model/", 1)[-1] if "foundation-model/" in arn else arn.rsplit("/", 1)[-1]


def completion_event(job: Any) -> dict[str, Any]:
    """The PutEvents entry Bedrock emits when `job` reaches its current status."""
    detail = {
        "version": "0.0",
        "jobName": job.job_name,
        "jobArn": job.job_arn,
        "outputModelName": job.output_model_name,
        "outputModelArn": job.output_model_arn,
        "roleArn": job.role_arn,
        "jobStatus": job.status,
        "creationTime": job.creation_time,
        "lastModifiedTime": job.last_modified_time,
        "endTime": job.end_time,
        "baseModelArn": job.base_model_arn,
        "hyperParameters": job.hyper_parameters,
        "trainingDataConfig": job.training_data_config,
        "validationDataConfig": job.validation_data_config,
        "outputDataConfig": job.output_data_config,
    }
    return {
        "Source": EVENT_SOURCE,
        "DetailType": EVENT_DETAIL_TYPE,
        "Resources": [job.job_arn],
        "Detail": json.dumps({k: v for k, v in detail.items() if v}),
    }


def complete_job(account_id: str, region: str, job_identifier: str) -> dict[str, Any]:
    """Mark the emulated job Completed with an output model, and put Bedrock's event on the default bus.

    Returns the job as GetModelCustomizationJob shows it. Raises ResourceNotFoundException for an
    unknown job and ValidationException for one that is not InProgress (a stopped job never completes).
    """
    from local_aws.moto_patches.bedrock_patches import job_name_from_identifier

    backend = bedrock_backends[account_id][region]
    job = backend.get_model_customization_job(job_name_from_identifier(job_identifier))
    if job.status != "InProgress":
        raise ValidationException(f"Job {job.job_name} is {job.status}; only an InProgress job can complete")
    model = backend.custom_models.get(job.custom_model_name)
    now = _iso(_now())
    job.status = "Completed"
    job.failure_message = None
    job.last_modified_time = job.end_time = now
    job.output_model_arn = (
        f"arn:aws:bedrock:{region}:{account_id}:custom-model/{_base_model_id(job)}/{_suffix()}"
    )
    if model is not None:
        model.model_arn = job.output_model_arn
    events_backends[account_id][region].put_events([completion_event(job)])
    return job.to_dict()  # type: ignore[no-any-return]


def patch() -> None:
    replace(BedrockResponse, "create_custom_model_deployment", _create)
    replace(BedrockResponse, "get_custom_model_deployment", _get)
    replace(BedrockResponse, "list_custom_model_deployments", _list)
    replace(BedrockResponse, "delete_custom_model_deployment", _delete)
    original_arns = BedrockBackend._list_arns

    def list_arns(self: BedrockBackend) -> list[str]:
        return [*original_arns(self), *deployments(self)]

    replace(BedrockBackend, "_list_arns", list_arns)
