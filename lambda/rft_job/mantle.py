"""The open-weight backend: Bedrock's OpenAI-compatible fine-tuning API (bedrock-mantle).

Launching a job here is three calls: upload the training (and validation) JSONL to the Files API,
read straight from the CDK asset objects in S3 (nothing comes from the user's machine at deploy
time), then create the job with a grader of type `lambda` naming the reward function. The job id is
assigned by the service, so the physical id carries it, next to the job name this request was given:

    <job name>/<job id>               the job's `metadata` holds the definition hash
    <job name>/<job id>/<hash>        the service refused `metadata`; the hash rides in the id

The docs are silent on `metadata` and `validation_file`, so a 400 naming one of them is answered by
creating the job once more without it (docs/open-weight.md). A retry of the same CloudFormation
request finds the job an earlier attempt created by the job name in its metadata.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from rft_mantle import MantleClient, MantleError

from rft_job.backends import Launched
from rft_job.jobs import JobLaunchError
from rft_job.naming import JobNames, looks_like_our_job_name
from rft_job.properties import BACKEND_MANTLE, DEFINITION_TAG_KEY, JobProperties
from rft_job.request import JOB_NAME_METADATA_KEY, create_mantle_job_request

logger = Logger(service="rft-job", child=True)

# The OpenAI job statuses after which a job no longer trains; any other status (including ones not
# documented) counts as still running, so Delete tries to cancel it.
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
# Fields the docs do not show on create: dropped (once each) when the service names them in a 400.
OPTIONAL_CREATE_FIELDS = ("metadata", "validation_file")
# Reads of a large training file and several attempts fit in the launcher's timeout.
READ_TIMEOUT = 60.0
_S3_URI = re.compile(r"s3://(?P<bucket>[^/]+)/(?P<key>.+)")
_HASH = re.compile(r"[0-9a-f]{32}")

_HINTS: Mapping[int, str] = {
    400: "Check BaseModelIdentifier (open-weight RFT serves openai.gpt-oss-20b and qwen.qwen3-32b in "
    "us-west-2), the training data and HyperParameters.",
    401: "The request was not signed with valid AWS credentials; check the launcher's role.",
    403: "Allow the launcher's role bedrock-mantle:CreateFile, GetFile, DeleteFile, CreateFineTuningJob "
    "(bedrock-mantle:Model = the model), GetFineTuningJob, ListFineTuningJobs and CancelFineTuningJob on "
    "the account's project/default, and lambda:InvokeFunction on the reward function.",
    404: "Check that the model is served by bedrock-mantle in this region (GET /v1/models).",
    429: "bedrock-mantle is throttling requests or a quota is used up; deploy again later, or cancel a "
    "running job.",
}


@functools.cache
def mantle_client() -> MantleClient:
    """The module's one client, in the Lambda's own region, signed with its role."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
    return MantleClient(region, timeout=READ_TIMEOUT)


@functools.cache
def s3_client() -> Any:
    config = Config(retries={"mode": "standard", "max_attempts": 4}, user_agent_extra="bedrock-rft/rft-job")
    return boto3.client("s3", config=config)


@dataclass(frozen=True)
class MantleId:
    """The parts of a mantle physical id."""

    job_name: str
    job_id: str
    fingerprint: str | None = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.job_name, self.job_id, self.fingerprint) if p)

    @classmethod
    def parse(cls, physical_id: str) -> MantleId | None:
        parts = physical_id.split("/")
        if len(parts) not in (2, 3) or not looks_like_our_job_name(parts[0]) or not parts[1]:
            return None
        if len(parts) == 3 and not _HASH.fullmatch(parts[2]):
            return None
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


@dataclass(frozen=True)
class _MantleJob:
    mantle_id: MantleId
    job: Mapping[str, Any]

    def fingerprint(self) -> str | None:
        if self.mantle_id.fingerprint:
            return self.mantle_id.fingerprint
        metadata = self.job.get("metadata")
        value = metadata.get(DEFINITION_TAG_KEY) if isinstance(metadata, Mapping) else None
        return str(value) if value else None


class MantleBackend:
    """Open-weight models: Files API + fine-tuning jobs on bedrock-mantle."""

    name = BACKEND_MANTLE

    def launch(self, props: JobProperties, names: JobNames, stack_name: str) -> Launched:
        client = mantle_client()
        earlier = _job_of_earlier_attempt(client, names.job_name)
        if earlier is not None:
            logger.info("Job already launched by an earlier attempt of this request", job_name=names.job_name)
            return Launched(str(MantleId(names.job_name, earlier["id"])), _data(names.job_name, earlier))
        uploaded: list[str] = []
        try:
            training = _upload(client, props.training_data_uri, f"{names.job_name}-train.jsonl")
            uploaded.append(training)
            validation = None
            if props.validation_data_uri:
                validation = _upload(client, props.validation_data_uri, f"{names.job_name}-validation.jsonl")
                uploaded.append(validation)
            body = create_mantle_job_request(props, names, stack_name, training, validation)
            job, dropped = _create_with_fallback(client, body)
        except MantleError as error:
            _delete_files(client, uploaded)
            raise JobLaunchError(_launch_failure_message(names.job_name, error)) from None
        except (ClientError, BotoCoreError) as error:
            _delete_files(client, uploaded)
            raise JobLaunchError(
                f"Could not read the training data for RFT job '{names.job_name}' from S3: {error}. Allow the "
                "launcher's role s3:GetObject on the data assets."
            ) from None
        if "validation_file" in dropped and validation:
            _delete_files(client, [validation])
        # Without metadata the job cannot tell its definition: the physical id keeps the hash.
        fingerprint = props.fingerprint() if "metadata" in dropped else None
        mantle_id = MantleId(names.job_name, str(job["id"]), fingerprint)
        return Launched(str(mantle_id), _data(names.job_name, job))

    def owns(self, physical_id: str) -> bool:
        return MantleId.parse(physical_id) is not None

    def find(self, physical_id: str) -> _MantleJob | None:
        mantle_id = MantleId.parse(physical_id)
        if mantle_id is None:
            return None
        try:
            return _MantleJob(mantle_id, mantle_client().retrieve_job(mantle_id.job_id))
        except MantleError as error:
            if not error.missing:
                logger.warning("Could not look up the job", job_id=mantle_id.job_id, error=str(error))
            return None

    def data(self, physical_id: str, found: object | None) -> dict[str, str]:
        mantle_id = MantleId.parse(physical_id)
        if isinstance(found, _MantleJob):
            return _data(found.mantle_id.job_name, found.job)
        if mantle_id is None:
            return {"JobName": "", "JobId": ""}
        return {"JobName": mantle_id.job_name, "JobId": mantle_id.job_id}

    def stop(self, physical_id: str) -> str:
        """Cancel the job if it still runs, then delete its uploaded files (best effort). Never raises:
        a Delete that failed here would leave the stack stuck over a job that is gone or finished."""
        mantle_id = MantleId.parse(physical_id)
        if mantle_id is None:
            return "missing"
        client, job_id = mantle_client(), mantle_id.job_id
        try:
            job = client.retrieve_job(job_id)
            status = str(job.get("status", ""))
            if status in TERMINAL_STATUSES:
                logger.info("Job is not running; nothing to stop", job_id=job_id, status=status)
                return status
            client.cancel_job(job_id)
        except MantleError as error:
            if error.missing:
                logger.info("Job not found; nothing to stop", job_id=job_id)
                return "missing"
            if error.status in (400, 409):
                # The job finished between the status check and the cancel request.
                logger.info("Job could not be cancelled because it is no longer running", job_id=job_id)
                return "not-running"
            logger.error(
                "Could not cancel the RFT job; it may still be training and incurring cost. Cancel it with: "
                f"rft stop <stack>, or POST /v1/fine_tuning/jobs/{job_id}/cancel on bedrock-mantle",
                job_id=job_id,
                error=str(error),
            )
            return "stop-failed"
        logger.info("Cancelled job", job_id=job_id)
        _delete_files(client, [str(job[f]) for f in ("training_file", "validation_file") if job.get(f)])
        return "stopped"


def _job_of_earlier_attempt(client: MantleClient, job_name: str) -> dict[str, Any] | None:
    """A job whose metadata names this request's job name (the newest page of jobs is enough: an
    earlier attempt of the same request ran minutes ago). Any failure to look reads as None."""
    try:
        jobs = client.list_jobs(limit=100).get("data") or []
    except MantleError as error:
        logger.warning("Could not list jobs to find an earlier attempt", error=str(error))
        return None
    for job in jobs:
        metadata = job.get("metadata") if isinstance(job, Mapping) else None
        if (
            isinstance(metadata, Mapping)
            and metadata.get(JOB_NAME_METADATA_KEY) == job_name
            and job.get("id")
        ):
            return dict(job)
    return None


def _upload(client: MantleClient, s3_uri: str, filename: str) -> str:
    """Copy one asset object to the Files API; return the file id."""
    match = _S3_URI.fullmatch(s3_uri)
    if not match:
        raise JobLaunchError(f"{s3_uri!r} is not an s3://bucket/key URI")
    body = s3_client().get_object(Bucket=match["bucket"], Key=match["key"])["Body"]
    try:
        data = body.read()
    finally:
        body.close()
    uploaded = client.upload_file(filename, data)
    logger.info("Uploaded data file", file_name=filename, file_id=uploaded.get("id"), bytes=len(data))
    if not uploaded.get("id"):
        raise MantleError(200, "invalid_response", "the Files API answered without a file id")
    return str(uploaded["id"])


def _create_with_fallback(client: MantleClient, body: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Create the job; on a 400 that names an undocumented optional field, once more without it."""
    dropped: set[str] = set()
    while True:
        try:
            job = client.create_job(body)
        except MantleError as error:
            field = next(
                (f for f in OPTIONAL_CREATE_FIELDS if f in body and f not in dropped and error.names(f)), None
            )
            if error.status != 400 or field is None:
                raise
            logger.warning("The service does not accept this field; creating the job without it", field=field)
            body = {k: v for k, v in body.items() if k != field}
            dropped.add(field)
            continue
        if not job.get("id"):
            raise MantleError(200, "invalid_response", "the fine-tuning API answered without a job id")
        return job, dropped


def _delete_files(client: MantleClient, file_ids: list[str]) -> None:
    for file_id in file_ids:
        try:
            client.delete_file(file_id)
            logger.info("Deleted uploaded file", file_id=file_id)
        except MantleError as error:
            if not error.missing:
                logger.warning("Could not delete an uploaded file", file_id=file_id, error=str(error))


def _data(job_name: str, job: Mapping[str, Any]) -> dict[str, str]:
    data = {"JobName": job_name, "JobId": str(job.get("id", ""))}
    for attribute, field in (("TrainingFileId", "training_file"), ("ValidationFileId", "validation_file")):
        if job.get(field):
            data[attribute] = str(job[field])
    return data


def _launch_failure_message(job_name: str, error: MantleError) -> str:
    if error.status == 0:
        hint = (
            "Check the launcher's network access to the bedrock-mantle endpoint."
            if error.code == "connection_error"
            else "Check the launcher's role credentials."
        )
    elif error.status >= 500:
        hint = "bedrock-mantle had an internal error; deploy again in a few minutes."
    else:
        hint = _HINTS.get(error.status, "See the bedrock-mantle error above.")
    detail = error.message.rstrip(". ")
    status = f"{error.status} " if error.status else ""
    return f"Could not launch open-weight RFT job '{job_name}': {status}{error.code}: {detail}. {hint}"
