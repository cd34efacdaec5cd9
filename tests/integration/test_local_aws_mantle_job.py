"""The job function (`lambda/rft_job`, Backend mantle) against the emulated mantle API: data read from
the emulator's S3, uploaded through the Files API, the job created with the grader, then trained a
step by the real GSM8K reward Lambda, replaced only on change, cancelled on Delete. Every request
the function makes is SigV4-signed and verified by the emulator (a bad one would be a 403)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from rft_job import handler, mantle
from rft_job.properties import DEFINITION_TAG_KEY, parse_properties

from local_aws import converse_replay, settings
from local_aws.mantle import replay
from local_aws.server import Emulator
from tests.integration.mantle_support import REGION, gsm8k_reward, jsonl, labels, recorded_rows
from tests.job.conftest import FakeLambdaContext
from tests.job.events import create_event, delete_event, properties, update_event

BUCKET = f"cdk-hnb659fds-assets-{settings.ACCOUNT_ID}-{REGION}"
ROWS = recorded_rows(100)


@pytest.fixture(scope="module")
def grader(emulator: Emulator, role_arn: str) -> str:
    return gsm8k_reward(emulator.endpoint, role_arn, name="gsm8k-reward-job")


@pytest.fixture(scope="module")
def assets(emulator: Emulator) -> str:
    s3 = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=emulator.endpoint,
        aws_access_key_id=settings.ACCESS_KEY_ID,
        aws_secret_access_key=settings.SECRET_ACCESS_KEY,
    )
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=BUCKET, Key="train.jsonl", Body=jsonl(ROWS))
    return f"s3://{BUCKET}/train.jsonl"


@pytest.fixture(autouse=True)
def function_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The environment the emulator's Lambda executor gives the function (`lambda_executor`)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_ENDPOINT_URL": emulator.endpoint,
        "AWS_ENDPOINT_URL_BEDROCK_MANTLE": emulator.endpoint,
        "AWS_ACCESS_KEY_ID": settings.ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": settings.SECRET_ACCESS_KEY,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    mantle.mantle_client.cache_clear()
    mantle.s3_client.cache_clear()
    yield
    mantle.mantle_client.cache_clear()
    mantle.s3_client.cache_clear()


def job_properties(training: str, grader: str, **hyper: Any) -> dict[str, str]:
    return properties(
        Backend="mantle",
        BaseModelIdentifier="openai.gpt-oss-20b",
        RoleArn=None,
        OutputDataUri=None,
        ValidationDataUri=None,
        TrainingDataUri=training,
        GraderLambdaArn=grader,
        HyperParameters=json.dumps(
            {"n_epochs": 1, "batch_size": 4, "learning_rate_multiplier": 1.0, **hyper}
        ),
    )


def test_the_job_function_launches_a_job_the_emulator_trains_with_the_real_reward(
    emulator: Emulator, assets: str, grader: str
) -> None:
    props = job_properties(assets, grader)
    created = handler.on_event(create_event(props, request_id="req-launch"), FakeLambdaContext())
    job_id = created["Data"]["JobId"]
    job = emulator.mantle.peek_job(REGION, job_id)
    assert job["method"]["reinforcement"]["grader"] == {"type": "lambda", "lambda": {"function": grader}}
    assert job["model"] == "openai.gpt-oss-20b" and job["status"] == "validating_files"
    assert job["metadata"][DEFINITION_TAG_KEY] == parse_properties(props).fingerprint()
    assert emulator.mantle.file_content(REGION, job["training_file"]) == jsonl(ROWS)  # the S3 asset, as is

    emulator.mantle.retrieve_job(REGION, job_id)
    assert emulator.mantle.retrieve_job(REGION, job_id)["status"] == "running"
    events = emulator.mantle.list_events(REGION, job_id, limit=100, after=None)["data"]
    (metrics,) = [e["data"] for e in events if e["type"] == "metrics"]
    truth, model = labels(), replay.scheduled_model(1, 3)
    expected = [
        truth[(model, converse_replay.recordings().question_in(row["messages"][1]["content"]))]
        for row in ROWS[:4]
    ]
    assert metrics["critic_rewards_mean"] == pytest.approx(sum(expected) / 4)

    deleted = handler.on_event(delete_event(created["PhysicalResourceId"], props), FakeLambdaContext())
    assert deleted["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert emulator.mantle.peek_job(REGION, job_id)["status"] == "cancelled"
    # A second Delete (a retried request) finds the job finished and does not fail.
    handler.on_event(delete_event(created["PhysicalResourceId"], props), FakeLambdaContext())


def test_an_unchanged_update_keeps_the_job_and_a_changed_one_replaces_it(
    emulator: Emulator, assets: str, grader: str
) -> None:
    props = job_properties(assets, grader)
    created = handler.on_event(create_event(props, request_id="req-update-base"), FakeLambdaContext())
    same = handler.on_event(update_event(created["PhysicalResourceId"], props, props), FakeLambdaContext())
    assert same["PhysicalResourceId"] == created["PhysicalResourceId"]
    changed = job_properties(assets, grader, n_epochs=2)
    replaced = handler.on_event(
        update_event(created["PhysicalResourceId"], changed, props, request_id="req-update-2"),
        FakeLambdaContext(),
    )
    assert replaced["PhysicalResourceId"] != created["PhysicalResourceId"]
    new = emulator.mantle.peek_job(REGION, replaced["Data"]["JobId"])
    assert new["method"]["reinforcement"]["hyperparameters"]["n_epochs"] == 2
    for physical_id in (created["PhysicalResourceId"], replaced["PhysicalResourceId"]):
        handler.on_event(delete_event(physical_id, props), FakeLambdaContext())


def test_a_service_that_refuses_metadata_gets_a_job_without_it(
    emulator: Emulator, assets: str, grader: str
) -> None:
    props = job_properties(assets, grader)
    emulator.mantle.rejected_fields = ("metadata",)
    try:
        created = handler.on_event(create_event(props, request_id="req-no-metadata"), FakeLambdaContext())
    finally:
        emulator.mantle.rejected_fields = ()
    job = emulator.mantle.peek_job(REGION, created["Data"]["JobId"])
    assert job["metadata"] is None
    assert created["PhysicalResourceId"].endswith(parse_properties(props).fingerprint())
    handler.on_event(delete_event(created["PhysicalResourceId"], props), FakeLambdaContext())
    assert emulator.mantle.peek_job(REGION, job["id"])["status"] == "cancelled"
