"""The seam between the custom resource's behaviour (handler.py, written once) and the API that runs
the job: Bedrock's CreateModelCustomizationJob for Nova, the OpenAI-compatible fine-tuning API on
bedrock-mantle for open-weight models (rft_job.mantle).

A backend answers four questions and nothing else, so idempotency, "a new job only when the
definition changes", rollback detection and "Delete never fails" live in the handler alone:
- `launch`: start the job for one CloudFormation request (a retry of that request gets the same job);
- `find`: the job behind a physical id, or None when it is not ours, is gone or cannot be read;
- `data`: the resource attributes (`Fn::GetAtt`) for a physical id and what `find` returned;
- `stop`: cancel the job if it still runs; never raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from rft_job.jobs import (
    JobSummary,
    bedrock_client,
    find_job_safely,
    job_tag,
    launch_job,
    stop_job_if_running,
)
from rft_job.naming import JobNames, looks_like_our_job_name
from rft_job.properties import BACKEND_BEDROCK, BACKEND_MANTLE, BACKENDS, DEFINITION_TAG_KEY, JobProperties
from rft_job.request import create_job_request


@dataclass(frozen=True)
class Launched:
    """A job this request started (or an earlier attempt of it did)."""

    physical_id: str
    data: dict[str, str]


class FoundJob(Protocol):
    """A job that exists, as a backend sees it."""

    def fingerprint(self) -> str | None:
        """The definition hash the job was launched with, or None when it cannot be told."""
        ...


class JobBackend(Protocol):
    name: str

    def launch(self, props: JobProperties, names: JobNames, stack_name: str) -> Launched: ...

    def owns(self, physical_id: str) -> bool: ...

    def find(self, physical_id: str) -> FoundJob | None: ...

    def data(self, physical_id: str, found: FoundJob | None) -> dict[str, str]: ...

    def stop(self, physical_id: str) -> str: ...


@dataclass(frozen=True)
class _BedrockJob:
    summary: JobSummary

    def fingerprint(self) -> str | None:
        # The job carries its definition hash in a tag (request.create_job_request).
        if not self.summary.job_arn:
            return None
        return job_tag(bedrock_client(), self.summary.job_arn, DEFINITION_TAG_KEY)


class BedrockBackend:
    """Nova: CreateModelCustomizationJob; the physical id is the job name."""

    name = BACKEND_BEDROCK

    def launch(self, props: JobProperties, names: JobNames, stack_name: str) -> Launched:
        job_arn = launch_job(bedrock_client(), create_job_request(props, names))
        return Launched(names.job_name, self._data(names.job_name, job_arn))

    def owns(self, physical_id: str) -> bool:
        return looks_like_our_job_name(physical_id)

    def find(self, physical_id: str) -> _BedrockJob | None:
        summary = find_job_safely(bedrock_client(), physical_id) if self.owns(physical_id) else None
        return _BedrockJob(summary) if summary else None

    def data(self, physical_id: str, found: FoundJob | None) -> dict[str, str]:
        job_arn = found.summary.job_arn if isinstance(found, _BedrockJob) else ""
        return self._data(physical_id, job_arn)

    def stop(self, physical_id: str) -> str:
        return stop_job_if_running(bedrock_client(), physical_id)

    @staticmethod
    def _data(job_name: str, job_arn: str) -> dict[str, str]:
        # The custom model name equals the job name by construction (see naming.JobNames).
        return {"JobArn": job_arn, "JobName": job_name, "CustomModelName": job_name}


def backend_named(name: str) -> JobBackend:
    if name == BACKEND_MANTLE:
        from rft_job.mantle import MantleBackend  # the mantle client is loaded only when used

        return MantleBackend()
    if name == BACKEND_BEDROCK:
        return BedrockBackend()
    raise ValueError(f"Backend {name!r} is not one of {', '.join(BACKENDS)}")


def backend_of(raw_properties: Any) -> JobBackend:
    """The backend named by raw `ResourceProperties`, for Delete, which must not fail on properties it
    cannot parse: anything but `mantle` is Bedrock, as before backends existed."""
    value = raw_properties.get("Backend") if isinstance(raw_properties, Mapping) else None
    name = value.strip() if isinstance(value, str) else ""
    return backend_named(BACKEND_MANTLE if name == BACKEND_MANTLE else BACKEND_BEDROCK)
