"""CloudFormation custom-resource handler that launches the Bedrock RFT job.

Used as `Provider(on_event_handler=...)` with handler `rft_job.handler.on_event`. It returns as
soon as the job is launched (jobs run for hours; a custom resource may take at most one), and
raises on failure so the Provider framework reports FAILED with the exception's message. The
physical id is the job name, which Bedrock (and moto) accept as `jobIdentifier`.

- Create launches a job.
- Update launches a replacement only when a job-defining property changed (CloudFormation then
  sends Delete for the old physical id, which stops the old job); otherwise it keeps the job.
- Delete stops the job if it is still training and never fails the stack.
"""

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from rft_job.jobs import JobSummary, bedrock_client, find_job_safely, job_tag, launch_job, stop_job_if_running
from rft_job.naming import job_names, looks_like_our_job_name
from rft_job.properties import DEFINITION_TAG_KEY, JobProperties, PropertyError, parse_properties
from rft_job.request import create_job_request

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
    physical_id = str(event.get("PhysicalResourceId", ""))

    if _definition_of(event.get("OldResourceProperties")) == props.definition():
        logger.info("Job-defining properties unchanged; keeping the job", job_name=physical_id)
        existing = _our_job(physical_id)
        if existing is None:
            logger.warning("Job not found; reporting what is known", job_name=physical_id)
        return _response(physical_id, existing.job_arn if existing else "")

    # The old properties differ, but the job may still match the new ones: in a rollback after a
    # failed Update, CloudFormation sends the original properties back as "new". The job's
    # definition tag tells, so a rejected update does not restart hours of training.
    existing = _our_job(physical_id)
    if (
        existing
        and existing.job_arn
        and job_tag(bedrock_client(), existing.job_arn, DEFINITION_TAG_KEY) == props.fingerprint()
    ):
        logger.info("The existing job already matches these properties; keeping it", job_name=physical_id)
        return _response(physical_id, existing.job_arn)

    logger.info("Job-defining properties changed; launching a replacement job", old_job_name=physical_id)
    return _launch(event, props)


def on_delete(event: Event) -> Response:
    physical_id = str(event.get("PhysicalResourceId", ""))
    if not looks_like_our_job_name(physical_id):
        logger.info("Physical id is not a job this resource launched; nothing to stop", job_name=physical_id)
    else:
        outcome = stop_job_if_running(bedrock_client(), physical_id)
        logger.info("Delete finished", job_name=physical_id, outcome=outcome)
    return {"PhysicalResourceId": physical_id}


def _launch(event: Event, props: JobProperties) -> Response:
    names = job_names(
        props.job_name_prefix,
        _required_event_field(event, "StackId"),
        _required_event_field(event, "LogicalResourceId"),
        _required_event_field(event, "RequestId"),
    )
    logger.info("Launching RFT job", job_name=names.job_name, base_model=props.base_model_identifier)
    job_arn = launch_job(bedrock_client(), create_job_request(props, names))
    logger.info("Launched RFT job", job_name=names.job_name, job_arn=job_arn)
    return _response(names.job_name, job_arn)


def _our_job(physical_id: str) -> JobSummary | None:
    """The job behind `physical_id`, or None if it is not one of ours, is gone, or cannot be read."""
    return find_job_safely(bedrock_client(), physical_id) if looks_like_our_job_name(physical_id) else None


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


def _response(job_name: str, job_arn: str) -> Response:
    # The custom model name equals the job name by construction (see naming.JobNames).
    return {
        "PhysicalResourceId": job_name,
        "Data": {"JobArn": job_arn, "JobName": job_name, "CustomModelName": job_name},
    }
