"""Fixtures for the workflow's handlers: moto's S3, a Stubber on the Bedrock control plane, and the
loopback Converse server that a real boto3 `bedrock-runtime` client talks to.

The test data is data_prep's real GSM8K test split, uploaded to moto's S3 as the TestData asset is; the
reward is the deployed handler string `gsm8k_reward.handler.lambda_handler`, imported from `lambda/`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from rft_eval_workflow import handler

from tests.evaluate.conftest import answering, gold, prepared, records, user_text  # noqa: F401  (fixtures)
from tests.reward.converse_server import ConverseServer, point_boto3_at

BUCKET = "rft-artifacts-test"
TEST_KEY = "assets/0123abcd.jsonl"
TASK = "gsm8k"
JOB_NAME = "gsmrftstack-0123456789ab"
JOB_ARN = f"arn:aws:bedrock:us-east-1:123456789012:model-customization-job/{JOB_NAME}"
MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-2-lite-v1:0:256k/abcdef123456"
DEPLOYMENT_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abcdefabcdef"
BASE_MODEL = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k"
BASE_PROFILE = "us.amazon.nova-2-lite-v1:0"  # what Converse is asked for the base model, on demand
REWARD = "gsm8k_reward.handler.lambda_handler"


@dataclass
class FakeContext:
    """What Powertools and the handlers read of a LambdaContext; the clock is the test's."""

    remaining_ms: Callable[[], int] = lambda: 900_000
    function_name: str = "rft-eval-test"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:rft-eval-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/rft-eval-test"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms()


@dataclass
class Env:
    test_file: Path
    s3: Any

    def call(self, function: Callable[[Any, Any], Any], event: Any, context: Any | None = None) -> Any:
        """Invoke a handler as Lambda would (what it logs: `logged(caplog)`)."""
        return function(event, context or FakeContext())

    def object(self, key: str) -> str:
        return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode("utf-8")

    def lines(self, key: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.object(key).splitlines() if line.strip()]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, prepared: Callable[[str], Path]) -> Iterator[Env]:  # noqa: F811
    """moto S3 holding the test split, the workflow's environment, and fresh handler caches."""
    point_boto3_at(monkeypatch, "http://127.0.0.1:9")  # nothing reaches AWS; Converse is pointed per test
    settings = {
        "TASK": TASK,
        "BUCKET": BUCKET,
        "REPORT_PREFIX": "rft-eval/",
        "TEST_DATA_URI": f"s3://{BUCKET}/{TEST_KEY}",
        "BASE_MODEL_ID": BASE_MODEL,
        "REWARD_HANDLER": REWARD,
        "SAMPLES": "1",
        "SHARD_CONCURRENCY": "4",
        "MAX_PROMPTS": "0",
        "SHARD_SIZE": "5",
        "MAX_TOKENS": "512",
        "TEMPERATURE": "",
        "STACK_NAME": "GsmRftStack",
        "TAGS": json.dumps({"project": "bedrock-rft", "task": TASK}),
        "POWERTOOLS_METRICS_NAMESPACE": "BedrockRftTest",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    handler.clients.reset()
    handler._prompt_cache.clear()
    handler._handler_cache.clear()
    test_file = prepared(TASK) / "test.jsonl"
    with mock_aws(config={"core": {"passthrough": {"urls": [r"http://127\.0\.0\.1:\d+/model/.*"]}}}):
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=TEST_KEY, Body=test_file.read_bytes())
        yield Env(test_file, s3)
    handler.clients.reset()


@pytest.fixture
def bedrock(env: Env) -> Iterator[Stubber]:
    """A Stubber on the handlers' own Bedrock control-plane client; every queued answer must be used."""
    with Stubber(handler.clients.bedrock) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def converse(monkeypatch: pytest.MonkeyPatch, env: Env) -> Iterator[Callable[..., ConverseServer]]:
    """`converse(**kwargs)`: a started loopback Converse server that the shard's boto3 client reaches."""
    started: list[ConverseServer] = []

    def start(**kwargs: Any) -> ConverseServer:
        server = ConverseServer(**kwargs).start()
        started.append(server)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.url)
        return server

    yield start
    for server in started:
        server.stop()


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every record the handlers logged, each with all its fields, as the JSON line Powertools writes."""
    return [
        json.dumps({k: v for k, v in vars(r).items() if k not in ("args",)}, default=str)
        for r in caplog.records
        if r.name == "rft-eval"
    ]
