"""The environment that points the AWS CLI, boto3, the JS SDK and the CDK CLI at the emulator.

Everything that could send a request to real AWS is overridden or removed: the endpoint, the
credentials (test keys; profiles, session tokens and config files are switched off, because a profile
can carry its own endpoint or credentials) and the CDK's account cache (a project-local CDK_HOME).
"""

from __future__ import annotations

import functools
import os
import shlex
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from local_aws import settings

# Variables that would take precedence over ours, or send a client somewhere else.
CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


def client_env(endpoint: str, *, cdk_home: Path | None = None) -> dict[str, str]:
    """Variables to set (see `cleared_names` for those to unset)."""
    missing = settings.state_dir() / "no-aws-config"
    return {
        "AWS_ENDPOINT_URL": endpoint,
        # Bedrock's OpenAI-compatible API (local_aws/mantle), for `rft status`/`stop` on open-weight jobs.
        "AWS_ENDPOINT_URL_BEDROCK_MANTLE": endpoint,
        "AWS_ACCESS_KEY_ID": settings.ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": settings.SECRET_ACCESS_KEY,
        "AWS_REGION": settings.REGION,
        "AWS_DEFAULT_REGION": settings.REGION,
        "AWS_CONFIG_FILE": str(missing),
        "AWS_SHARED_CREDENTIALS_FILE": str(missing),
        "AWS_EC2_METADATA_DISABLED": "true",
        "CDK_DEFAULT_ACCOUNT": settings.ACCOUNT_ID,
        "CDK_DEFAULT_REGION": settings.REGION,
        "CDK_HOME": str(cdk_home or settings.cdk_home()),
        "CDK_DISABLE_VERSION_CHECK": "1",
        "CDK_CLI_NOTICES": "false",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        # A list of Node major versions, not a flag: jsii warns unless the running major is in it.
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": node_major_version(),
        "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
        "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED": "true",
    }


@functools.cache
def node_major_version() -> str:
    try:
        version = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return version.strip().lstrip("v").split(".", 1)[0]


def cleared_names(environ: Mapping[str, str] | None = None) -> list[str]:
    """Names to unset: credential sources, and per-service endpoints such as AWS_ENDPOINT_URL_S3."""
    environ = os.environ if environ is None else environ
    per_service = sorted(name for name in environ if name.startswith("AWS_ENDPOINT_URL_"))
    return [*CLEARED, *per_service]


def apply(base: Mapping[str, str], endpoint: str, *, cdk_home: Path | None = None) -> dict[str, str]:
    """`base` (e.g. os.environ) pointed at the emulator: a full environment for a subprocess."""
    env = {k: v for k, v in base.items() if k not in set(cleared_names(base))}
    env.update(client_env(endpoint, cdk_home=cdk_home))
    return env


def export_lines(endpoint: str) -> str:
    """Shell lines for `eval "$(python -m local_aws env)"`."""
    lines = [f"unset {' '.join(cleared_names())}"]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in client_env(endpoint).items()]
    return "\n".join(lines) + "\n"


def client_factory(endpoint: str, region: str = settings.REGION) -> Callable[[str], Any]:
    """boto3 clients bound to the emulator (in `region`), whatever the surrounding environment says."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=settings.ACCESS_KEY_ID,
        aws_secret_access_key=settings.SECRET_ACCESS_KEY,
        region_name=region,
    )
    config = Config(retries={"mode": "standard", "max_attempts": 2}, read_timeout=300)
    return lambda name: session.client(name, endpoint_url=endpoint, config=config)  # type: ignore[call-overload]
