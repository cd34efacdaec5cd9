"""Job names and idempotency tokens derived from the CloudFormation request that asks for the job.

The public samples reused one model name per notebook, so a second run collided, and sent no
idempotency token. Here both names and the token are a pure function of (StackId,
LogicalResourceId, RequestId): a retry of the *same* request (Lambda or Provider retries) yields the
same name and token, so Bedrock returns the job it already started instead of starting a second
one, while every new Create/Update request gets fresh names.

`job_name_prefix` is the one place a prefix is cleaned: the CDK app loads this file by path (it only
uses the standard library) to put the same prefix in the job's properties and in the notification
rule that matches the names built here.
"""

import hashlib
import re
from dataclasses import dataclass

NAME_MAX = 63
HASH_LENGTH = 12
FALLBACK_PREFIX = "rft"
PREFIX_MAX = NAME_MAX - HASH_LENGTH - 1

# Bedrock's patterns (botocore `bedrock` model). Names built here use letters, digits and single
# hyphens only, which satisfies both.
JOB_NAME_PATTERN = r"[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*"
CUSTOM_MODEL_NAME_PATTERN = r"([0-9a-zA-Z][_-]?){1,63}"
CLIENT_REQUEST_TOKEN_PATTERN = r"[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?"

_OUR_JOB_NAME = re.compile(rf"[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*-[0-9a-f]{{{HASH_LENGTH}}}")


@dataclass(frozen=True)
class JobNames:
    """The identifiers one launch request uses."""

    job_name: str
    # Equal to job_name on purpose: the model is traceable to its job at a glance, and an Update
    # that keeps the job can report the model name without an API call.
    custom_model_name: str
    client_request_token: str


def job_names(prefix: str, stack_id: str, logical_resource_id: str, request_id: str) -> JobNames:
    """Names for the job launched by one CloudFormation request; deterministic for retries."""
    identity = f"{stack_id}|{logical_resource_id}|{request_id}".encode()
    digest = hashlib.sha256(identity).hexdigest()
    name = f"{job_name_prefix(prefix)}-{digest[:HASH_LENGTH]}"
    # The full digest: unique per request, and within the token's 256-character alphabet.
    return JobNames(job_name=name, custom_model_name=name, client_request_token=digest)


def job_name_prefix(name: str) -> str:
    """`name` as the stem of job and custom-model names: lower case, letters and digits, every other
    run of characters one hyphen, short enough to leave room for the hash; idempotent, so the prefix
    the CDK app renders comes back unchanged from `job_names`."""
    stem = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return stem[:PREFIX_MAX].rstrip("-") or FALLBACK_PREFIX


def looks_like_our_job_name(physical_id: str) -> bool:
    """True when `physical_id` has the shape `job_names` produces.

    Delete uses this to skip ids that were never jobs, such as the Provider framework's
    placeholder after a failed Create, without calling Bedrock with an invalid identifier.
    """
    return len(physical_id) <= NAME_MAX and _OUR_JOB_NAME.fullmatch(physical_id) is not None
