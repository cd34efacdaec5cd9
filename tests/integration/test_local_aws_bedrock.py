"""Bedrock customization jobs on the emulator: what moto drops is kept, and what Bedrock checks is checked."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import ClientFactory, zip_files

BASE_MODEL = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k"


@pytest.fixture(scope="module")
def grader_arn(aws: ClientFactory, role_arn: str) -> str:
    created = aws("lambda").create_function(
        FunctionName="grader",
        Runtime="python3.13",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": zip_files({"app.py": "def handler(e, c):\n    return []\n"})},
    )
    return str(created["FunctionArn"])


@pytest.fixture(scope="module")
def training_uri(aws: ClientFactory) -> str:
    aws("s3").create_bucket(Bucket="rft-data")
    aws("s3").put_object(Bucket="rft-data", Key="train.jsonl", Body=b"{}\n")
    return "s3://rft-data/train.jsonl"


def rft_request(name: str, grader: str | None, training_uri: str) -> dict[str, Any]:
    rft: dict[str, Any] = {"hyperParameters": {"epochCount": 2, "batchSize": 16}}
    if grader:
        rft["graderConfig"] = {"lambdaGrader": {"lambdaArn": grader}}
    return {
        "jobName": name,
        "customModelName": name,
        "roleArn": "arn:aws:iam::123456789012:role/bedrock",
        "baseModelIdentifier": BASE_MODEL,
        "customizationType": "REINFORCEMENT_FINE_TUNING",
        "trainingDataConfig": {"s3Uri": training_uri},
        "outputDataConfig": {"s3Uri": "s3://rft-data/out/"},
        "customizationConfig": {"rftConfig": rft},
    }


def test_the_job_keeps_its_rft_config_and_base_model_arn(
    aws: ClientFactory, grader_arn: str, training_uri: str
) -> None:
    bedrock = aws("bedrock")
    bedrock.create_model_customization_job(**rft_request("kept", grader_arn, training_uri))

    job = bedrock.get_model_customization_job(jobIdentifier="kept")

    assert job["customizationType"] == "REINFORCEMENT_FINE_TUNING"
    rft = job["customizationConfig"]["rftConfig"]
    assert rft["graderConfig"]["lambdaGrader"]["lambdaArn"] == grader_arn
    assert rft["hyperParameters"] == {"epochCount": 2, "batchSize": 16}
    assert job["baseModelArn"] == BASE_MODEL


def test_get_and_stop_accept_the_job_arn(aws: ClientFactory, grader_arn: str, training_uri: str) -> None:
    bedrock = aws("bedrock")
    arn = bedrock.create_model_customization_job(**rft_request("by-arn", grader_arn, training_uri))["jobArn"]

    assert bedrock.get_model_customization_job(jobIdentifier=arn)["jobName"] == "by-arn"
    bedrock.stop_model_customization_job(jobIdentifier=arn)
    assert bedrock.get_model_customization_job(jobIdentifier="by-arn")["status"] == "Stopped"


@pytest.mark.parametrize(
    ("grader", "data", "message"),
    [
        (None, "s3://rft-data/train.jsonl", "lambdaGrader.lambdaArn is required"),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:absent",
            "s3://rft-data/train.jsonl",
            "does not exist",
        ),
        ("GRADER", "s3://rft-data/absent.jsonl", "training data"),
    ],
)
def test_an_rft_job_bedrock_would_reject_is_rejected(
    aws: ClientFactory, grader_arn: str, training_uri: str, grader: str | None, data: str, message: str
) -> None:
    request = rft_request("rejected", grader_arn if grader == "GRADER" else grader, data)

    with pytest.raises(ClientError) as caught:
        aws("bedrock").create_model_customization_job(**request)

    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert message in caught.value.response["Error"]["Message"]
