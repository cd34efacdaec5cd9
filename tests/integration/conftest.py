"""An in-process local_aws emulator and clients bound to it.

The emulator patches moto while it runs and restores it on stop, so the rest of the suite (which
uses plain `mock_aws`) is unaffected. One emulator per test module: starting one takes ~50 ms,
and each module's tests then share a clean account.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local_aws import client_env
from local_aws.server import Emulator

ClientFactory = Callable[[str], Any]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


@pytest.fixture(scope="module")
def aws(emulator: Emulator) -> ClientFactory:
    """`aws("lambda")` is a boto3 client talking to the emulator over HTTP."""
    return client_env.client_factory(emulator.endpoint)


def zip_files(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def role_arn(aws: ClientFactory) -> str:
    return str(
        aws("iam").create_role(RoleName="local-aws-test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    )


NOVA_2_LITE = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k"


def create_job(aws: ClientFactory, name: str, bucket: str, base_model: str = NOVA_2_LITE) -> None:
    """A plain customization job (not RFT: no grader to check): enough for the job's life cycle."""
    aws("bedrock").create_model_customization_job(
        jobName=name,
        customModelName=f"{name}-model",
        roleArn="arn:aws:iam::123456789012:role/bedrock",
        baseModelIdentifier=base_model,
        trainingDataConfig={"s3Uri": f"s3://{bucket}/train.jsonl"},
        outputDataConfig={"s3Uri": f"s3://{bucket}/output/"},
        hyperParameters={},
    )
