"""The few Bedrock calls the custom resource makes, with AWS errors turned into actionable messages.

The client is created lazily, once per Lambda container: cold starts stay cheap, warm invocations
reuse connections, and tests get a client that moto's `mock_aws` (or a botocore `Stubber`)
intercepts because it is built inside the test.
"""

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

logger = Logger(service="rft-job", child=True)

# The errors that mean "there is no such job (any more)": an unknown name, or an identifier
# Bedrock cannot parse.
MISSING_JOB_CODES = frozenset({"ResourceNotFoundException", "ValidationException"})
# Bedrock answers a reused name with ConflictException; moto says ResourceInUseException.
NAME_TAKEN_CODES = frozenset({"ConflictException", "ResourceInUseException"})
RUNNING = "InProgress"

_HINTS: Mapping[str, str] = {
    "AccessDeniedException": (
        "Allow the custom resource's role bedrock:CreateModelCustomizationJob and bedrock:TagResource, "
        "and iam:PassRole on {role_arn} with iam:PassedToService = bedrock.amazonaws.com."
    ),
    "ValidationException": (
        "Check BaseModelIdentifier (RFT needs a supported model in this region, e.g. Nova 2 Lite in "
        "us-east-1), the S3 URIs and HyperParameters."
    ),
    "ResourceNotFoundException": "Check that BaseModelIdentifier exists in this region and account.",
    "ServiceQuotaExceededException": (
        "A customization-job quota is used up: wait for or stop a running job, or request a quota increase."
    ),
    "TooManyTagsException": "Remove some entries from Tags.",
    "ThrottlingException": "Bedrock is throttling requests; deploy again in a few minutes.",
    "InternalServerException": "Bedrock had an internal error; deploy again in a few minutes.",
}


class JobLaunchError(RuntimeError):
    """Bedrock refused to start the job; the message says why and what to change."""


@dataclass(frozen=True)
class JobSummary:
    """What the custom resource needs to know about an existing job."""

    job_name: str
    job_arn: str
    status: str
    client_request_token: str | None


@functools.cache
def bedrock_client() -> BaseClient:
    """The module's single Bedrock control-plane client, in the Lambda's own region."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    # Worst case (4 attempts x 20 s + backoff) stays inside the launcher's 2-minute Lambda timeout,
    # so a hung call fails with a message instead of a timeout.
    config = Config(
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=5,
        read_timeout=15,
        user_agent_extra="bedrock-rft/rft-job",
    )
    return boto3.client("bedrock", region_name=region, config=config)


def launch_job(client: BaseClient, request: Mapping[str, Any]) -> str:
    """Start the job and return its ARN.

    If the name is taken by a job that carries this request's token, an earlier attempt of the
    same request already launched it; that job is returned instead of failing the retry.
    """
    job_name = request["jobName"]
    try:
        return client.create_model_customization_job(**request)["jobArn"]
    except ClientError as error:
        code = _code(error)
        if code in NAME_TAKEN_CODES:
            existing = find_job_safely(client, job_name)
            if existing and existing.client_request_token == request.get("clientRequestToken"):
                logger.info("Job already launched by an earlier attempt of this request", job_name=job_name)
                return existing.job_arn
        raise JobLaunchError(_launch_failure_message(job_name, error, request.get("roleArn", ""))) from error
    except BotoCoreError as error:
        raise JobLaunchError(
            f"Could not reach Bedrock to launch RFT job '{job_name}': {error}. Deploy again; if it persists, "
            "check the Lambda's network access to the Bedrock endpoint."
        ) from error


def find_job(client: BaseClient, job_identifier: str) -> JobSummary | None:
    """The job, or None when Bedrock says it does not exist."""
    try:
        job = client.get_model_customization_job(jobIdentifier=job_identifier)
    except ClientError as error:
        if _code(error) in MISSING_JOB_CODES:
            return None
        raise
    return JobSummary(
        job_name=job.get("jobName", job_identifier),
        job_arn=job.get("jobArn", ""),
        status=job.get("status", ""),
        client_request_token=job.get("clientRequestToken"),
    )


def find_job_safely(client: BaseClient, job_identifier: str) -> JobSummary | None:
    """Like `find_job`, but any failure to look (permissions, network) is logged and read as None,
    for callers that can carry on without the answer."""
    try:
        return find_job(client, job_identifier)
    except (ClientError, BotoCoreError) as error:
        logger.warning("Could not look up the job", job_name=job_identifier, error=str(error))
        return None


def job_tag(client: BaseClient, job_arn: str, key: str) -> str | None:
    """The value of one tag on the job, or None when it is absent or cannot be read.

    Callers use it only to avoid needless work, so a failure to read degrades to None.
    """
    try:
        tags = client.list_tags_for_resource(resourceARN=job_arn).get("tags", [])
    except (ClientError, BotoCoreError) as error:
        logger.warning("Could not read the job's tags", job_arn=job_arn, error=str(error))
        return None
    return next((tag.get("value") for tag in tags if tag.get("key") == key), None)


def stop_job_if_running(client: BaseClient, job_name: str) -> str:
    """Stop the job if it is still training; return what happened. Never raises.

    Called on Delete, where failing would leave the stack stuck in DELETE_FAILED over a job that is
    already gone or finished; a job that cannot be stopped is logged with the command to stop it.
    """
    try:
        job = find_job(client, job_name)
        if job is None:
            logger.info("Job not found; nothing to stop", job_name=job_name)
            return "missing"
        if job.status != RUNNING:
            logger.info("Job is not running; nothing to stop", job_name=job_name, status=job.status)
            return job.status or "unknown"
        client.stop_model_customization_job(jobIdentifier=job_name)
    except ClientError as error:
        if _code(error) in MISSING_JOB_CODES | {"ConflictException"}:
            # The job finished or vanished between the status check and the stop request.
            logger.info("Job could not be stopped because it is no longer running", job_name=job_name)
            return "not-running"
        _log_stop_failure(job_name, error)
        return "stop-failed"
    except BotoCoreError as error:
        _log_stop_failure(job_name, error)
        return "stop-failed"
    logger.info("Stopped job", job_name=job_name)
    return "stopped"


def _log_stop_failure(job_name: str, error: Exception) -> None:
    logger.error(
        "Could not stop the RFT job; it may still be training and incurring cost. Stop it with: "
        f"aws bedrock stop-model-customization-job --job-identifier {job_name}",
        job_name=job_name,
        error=str(error),
    )


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _launch_failure_message(job_name: str, error: ClientError, role_arn: str) -> str:
    code = _code(error) or "Error"
    detail = (error.response.get("Error", {}).get("Message", "") or str(error)).rstrip(". ")
    if code in NAME_TAKEN_CODES:
        hint = "The job or model name is taken by another request's job; redeploy to get a fresh name."
    else:
        hint = _HINTS.get(code, "See the Bedrock error above.").format(
            role_arn=role_arn or "the Bedrock role"
        )
    return f"Could not launch Bedrock RFT job '{job_name}': {code}: {detail}. {hint}"
