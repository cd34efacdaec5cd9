"""CloudFormation custom-resource handler that launches the Bedrock RFT job.

Used as `Provider(on_event_handler=...)` with handler `rft_job.handler.on_event`. It returns as
soon as the job is launched (jobs run for hours; a custom resource may take at most one), and
raises on failure so the Provider framework reports FAILED with the exception's message. The
property `Backend` picks the API (rft_job.backends): for Nova (`bedrock`, the default) the
physical id is the job name, which Bedrock (and moto) accept as `jobIdentifier`; for open-weight
models (`mantle`) see rft_job.mantle. What follows holds for both, and is written only here:

- Create launches a job.
- Update launches a replacement only when a job-defining property changed (CloudFormation then
  sends Delete for the old physical id, which stops the old job); otherwise it keeps the job.
- Delete stops the job if it is still training and never fails the stack.
"""

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from rft_job.backends import JobBackend, backend_named, backend_of
from rft_job.naming import job_names
from rft_job.properties import JobProperties, PropertyError, parse_properties

logger = Logger(service="rft-job")

Event = Mapping[str, Any]
Response = dict[str, Any]


@logger.inject_lambda_context(log_event=False, clear_state=True)
def on_event(event: Event, context: LambdaContext) -> Response:
    """Entry point for the Provider framework: dispatch on `RequestType`."""
    request_type = event.get("RequestType")
    logger.append_keys(
        request_type=request_type,
        logical_resource_id=event.get("LogicalResourceId"),
        physical_resource_id=event.get("PhysicalResourceId"),
    )
    if request_type == "Create":
        return on_create(event)
    if request_type == "Update":
        return on_update(event)
    if request_type == "Delete":
        return on_delete(event)
    raise ValueError(
        f"Unsupported RequestType {request_type!r}; rft_job.handler.on_event expects a CloudFormation "
        "custom resource event (Create, Update or Delete)"
    )


def on_create(event: Event) -> Response:
    props = parse_properties(event.get("ResourceProperties"))
    return _launch(event, props)


def on_update(event: Event) -> Response:
    props = parse_properties(event.get("ResourceProperties"))
    backend = backend_named(props.backend)
    physical_id = str(event.get("PhysicalResourceId", ""))

    if _definition_of(event.get("OldResourceProperties")) == props.definition():
        logger.info("Job-defining properties unchanged; keeping the job", job_name=physical_id)
        existing = backend.find(physical_id)
        if existing is None:
            logger.warning("Job not found; reporting what is known", job_name=physical_id)
        return _response(physical_id, backend.data(physical_id, existing))

    # The old properties differ, but the job may still match the new ones: in a rollback after a
    # failed Update, CloudFormation sends the original properties back as "new". The definition
    # hash the job carries tells, so a rejected update does not restart hours of training.
    existing = backend.find(physical_id)
    if existing and existing.fingerprint() == props.fingerprint():
        logger.info("The existing job already matches these properties; keeping it", job_name=physical_id)
        return _response(physical_id, backend.data(physical_id, existing))

    logger.info("Job-defining properties changed; launching a replacement job", old_job_name=physical_id)
    return _launch(event, props)


def on_delete(event: Event) -> Response:
    physical_id = str(event.get("PhysicalResourceId", ""))
    backend = backend_of(event.get("ResourceProperties"))
    if not backend.owns(physical_id):
        logger.info("Physical id is not a job this resource launched; nothing to stop", job_name=physical_id)
    else:
        outcome = backend.stop(physical_id)
        logger.info("Delete finished", job_name=physical_id, outcome=outcome)
    return {"PhysicalResourceId": physical_id}


def _launch(event: Event, props: JobProperties) -> Response:
    stack_id = _required_event_field(event, "StackId")
    names = job_names(
        props.job_name_prefix,
        stack_id,
        _required_event_field(event, "LogicalResourceId"),
        _required_event_field(event, "RequestId"),
    )
    backend: JobBackend = backend_named(props.backend)
    logger.info(
        "Launching RFT job",
        job_name=names.job_name,
        base_model=props.base_model_identifier,
        backend=backend.name,
    )
    launched = backend.launch(props, names, _stack_name(stack_id))
    logger.info("Launched RFT job", job_name=names.job_name, **_logged(launched.data))
    return _response(launched.physical_id, launched.data)


def _definition_of(raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The job definition of earlier properties, or None when they never could launch a job."""
    try:
        return parse_properties(raw).definition()
    except PropertyError:
        return None


def _required_event_field(event: Event, name: str) -> str:
    value = event.get(name)
    if not value:
        raise ValueError(
            f"The event has no {name}; rft_job.handler.on_event expects a CloudFormation custom resource event"
        )
    return str(value)


def _stack_name(stack_id: str) -> str:
    """`arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>` → `<name>`."""
    parts = stack_id.split("/")
    return parts[1] if len(parts) >= 3 else stack_id


def _logged(data: Mapping[str, str]) -> dict[str, str]:
    """The ids worth a log line, in the keys the Nova launcher always logged."""
    keys = {"JobArn": "job_arn", "JobId": "job_id"}
    return {keys[k]: v for k, v in data.items() if k in keys}


def _response(physical_id: str, data: dict[str, str]) -> Response:
    return {"PhysicalResourceId": physical_id, "Data": data}
