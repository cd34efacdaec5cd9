"""AWS access for the CLI: clients, a deployed stack's outputs, and AWS errors worded as fixes.

Clients are plain boto3 clients, so the standard configuration applies unchanged: profiles, SSO,
`AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_<SERVICE>`) for a local emulator. The region defaults to the
one the app deploys to (`rft:region` in cdk.json), since that is where the stacks are.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from rft.errors import UserError
from rft.project import known_stack_names

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, user_agent_extra="bedrock-rft/cli")
_BAD_CREDENTIALS = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
    }
)


@functools.cache
def _model_loader() -> botocore.loaders.Loader:
    """One loader for the process: service models are parsed once, not once per client (~70 ms each)."""
    return botocore.loaders.create_loader()


def client(service: str, region: str) -> BaseClient:
    """A fresh client; credentials and configuration are resolved anew each time, models are shared."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _model_loader())
    try:
        return boto3.session.Session(botocore_session=core, region_name=region).client(
            service, config=_CONFIG
        )
    except ProfileNotFound as error:
        raise UserError(f"{error}; set AWS_PROFILE to a profile in ~/.aws/config") from None


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", "")) or str(error)


@contextlib.contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Turn what AWS or botocore raise while doing `action` into a one-line UserError."""
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError):
        raise UserError(
            f"no AWS credentials found to {action}: configure a profile (aws configure / AWS_PROFILE), or for "
            "the local emulator set AWS_ENDPOINT_URL with test keys"
        ) from None
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as error:
        raise UserError(
            f"cannot reach AWS to {action} ({error}); check the network, or AWS_ENDPOINT_URL if you use an emulator"
        ) from None
    except ClientError as error:
        code = error_code(error)
        if code in _BAD_CREDENTIALS:
            raise UserError(
                f"AWS rejected the credentials ({code}) to {action}; refresh them and retry"
            ) from None
        if code.startswith("AccessDenied"):
            raise UserError(f"AWS denied permission to {action}: {_message(error)}") from None
        raise UserError(f"could not {action}: {code}: {_message(error)}") from None
    except BotoCoreError as error:
        raise UserError(f"could not {action}: {error}") from None


def stack_outputs(cloudformation: BaseClient, stack_name: str) -> dict[str, str]:
    """The stack's outputs by key; a clear error when the stack is not deployed in this region."""
    region = cloudformation.meta.region_name
    with aws_errors(f"read stack {stack_name}"):
        try:
            stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        except ClientError as error:
            # CloudFormation says ValidationError (emulators sometimes ValidationException).
            if not error_code(error).startswith("Validation") or "does not exist" not in _message(error):
                raise
            stacks = []
    if not stacks or stacks[0].get("StackStatus") == "DELETE_COMPLETE":
        known = ", ".join(known_stack_names()) or "none"
        raise UserError(
            f"stack {stack_name!r} is not deployed in {region} (this app's stacks: {known}); deploy it with "
            f"`make deploy STACK={stack_name}`, or pass --region"
        )
    return {o["OutputKey"]: o.get("OutputValue", "") for o in stacks[0].get("Outputs", [])}


def require_output(outputs: dict[str, Any], key: str, stack_name: str) -> str:
    value = outputs.get(key)
    if not value:
        raise UserError(
            f"stack {stack_name!r} has no {key} output; is it a bedrock-rft stack? Redeploy it with this version"
        )
    return str(value)
