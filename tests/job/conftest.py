"""Fixtures for the job custom resource: an AWS-free environment, a moto-backed or Stubber-backed
Bedrock client (the handler's own cached client), and a record of the Bedrock calls made."""

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.stub import Stubber
from moto import mock_aws
from rft_job import handler
from rft_job.jobs import bedrock_client


@dataclass
class FakeLambdaContext:
    """The attributes Powertools' inject_lambda_context reads."""

    function_name: str = "GsmRftStack-JobLauncher"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:GsmRftStack-JobLauncher"
    aws_request_id: str = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(autouse=True)
def aws_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Test credentials and region, no endpoint override, and a fresh client per test."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    bedrock_client.cache_clear()
    yield
    bedrock_client.cache_clear()


@pytest.fixture
def context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def bedrock() -> Iterator[BaseClient]:
    """The handler's Bedrock client, backed by moto."""
    with mock_aws():
        yield bedrock_client()


@pytest.fixture
def stubbed() -> Iterator[Stubber]:
    """A Stubber on the handler's Bedrock client; every call must be queued, and all must be used."""
    with Stubber(bedrock_client()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def bedrock_calls() -> list[str]:
    """Names of the Bedrock operations the handler's client is asked to make, in order.

    Hooked on the first event of a call, before a Stubber can answer or reject it.
    """
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    bedrock_client().meta.events.register("provide-client-params.bedrock", record)
    return calls


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[dict[str, Any]]]:
    """The JSON log lines the handler writes (its Powertools handler's stream, redirected)."""
    stream = io.StringIO()
    monkeypatch.setattr(handler.logger.registered_handler, "stream", stream)
    return lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
