"""RftPipeline from another CDK app: docs/construct.md's example, in a fresh App with its own files.

The example's stack class is executed from the doc itself, so the documented code is the tested code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Capture, Match, Template
from cdk_nag import AwsSolutionsChecks

from stacks.bedrock_model import BedrockModel

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "construct.md"


def documented_stack_class() -> type[cdk.Stack]:
    """The stack class of the doc's example (the lines before `app = cdk.App()`)."""
    [block] = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    namespace: dict[str, object] = {}
    exec(compile(block.split("\napp = cdk.App()")[0], str(DOC), "exec"), namespace)
    return namespace["EchoRftStack"]  # type: ignore[return-value]


def write_jsonl(path: Path, count: int) -> None:
    rows = (
        {"messages": [{"role": "user", "content": f"Repeat {i}."}], "reference_answer": str(i)}
        for i in range(count)
    )
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, Path]:
    root = tmp_path_factory.mktemp("own-app")
    data, code = root / "data", root / "code"
    data.mkdir()
    write_jsonl(data / "train.jsonl", 120)
    write_jsonl(data / "validation.jsonl", 20)
    package = code / "echo_reward"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "handler.py").write_text(
        "def lambda_handler(event, context):\n"
        "    return [{'id': s.get('id'), 'aggregate_reward_score': 1.0} for s in event]\n"
    )
    (code / "unrelated").mkdir()  # must not be uploaded
    app = cdk.App(outdir=str(root / "cdk.out"))
    stack = documented_stack_class()(
        app, "EchoRftStack", data=data, code=code, env=cdk.Environment(region="eu-west-1")
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises on any unacknowledged cdk-nag finding
    return Template.from_stack(stack), root / "cdk.out"


def test_the_job_is_launched_with_the_apps_own_data_reward_and_model(example):
    template, _ = example
    grader = Capture()
    template.has_resource_properties(
        "Custom::BedrockRftJob",
        {
            "JobNamePrefix": "echorftstack",
            "BaseModelIdentifier": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":bedrock:eu-west-1::foundation-model/amazon.nova-2-lite-v1:0:256k",
                    ],
                ]
            },
            "GraderLambdaArn": {"Fn::GetAtt": [grader, "Arn"]},
            "HyperParameters": json.dumps(
                {"batchSize": 16, "epochCount": 1, "inferenceMaxTokens": 1024, "maxPromptLength": 512},
                sort_keys=True,
            ),
            "Tags": Match.serialized_json(Match.object_like({"task": "echo", "stack": "EchoRftStack"})),
        },
    )
    reward = template.find_resources("AWS::Lambda::Function")[grader.as_string()]["Properties"]
    assert reward["Handler"] == "echo_reward.handler.lambda_handler"
    template.has_output("JobName", {"Value": {"Ref": Match.string_like_regexp("RftRftJob")}})


def test_the_reward_asset_ships_only_the_apps_reward_package(example):
    template, outdir = example
    key = Capture()
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "echo_reward.handler.lambda_handler",
            "Code": {"S3Key": key, "S3Bucket": Match.any_value()},
        },
    )
    asset = outdir / f"asset.{key.as_string().split('.')[0]}"
    assert {p.name for p in asset.iterdir()} == {"echo_reward"}


def test_secure_defaults_keep_the_data_and_mail_the_team(example):
    template, _ = example
    template.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})
    template.resource_count_is("Custom::S3AutoDeleteObjects", 0)
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ml-team@example.com"}
    )
    # The region is the stack's: Bedrock may assume the role for jobs in eu-west-1, not this app's region.
    source_arn = Capture()
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Principal": {"Service": "bedrock.amazonaws.com"},
                            "Condition": Match.object_like({"ArnLike": {"aws:SourceArn": source_arn}}),
                        }
                    )
                ]
            }
        },
    )
    assert ":bedrock:eu-west-1:" in json.dumps(source_arn.as_object())


def test_bedrock_model_arns_for_a_model_a_profile_and_an_arn():
    app = cdk.App(context={"@aws-cdk/core:enablePartitionLiterals": True})  # ARNs as plain strings
    stack = cdk.Stack(app, "S", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    model = BedrockModel("amazon.nova-lite-v1:0")
    assert not model.is_inference_profile
    assert stack.resolve(model.invoke_arns(stack)) == [
        "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0"
    ]
    profile = BedrockModel("eu.amazon.nova-pro-v1:0")
    assert profile.is_inference_profile and profile.foundation_model_id == "amazon.nova-pro-v1:0"
    assert stack.resolve(profile.invoke_arns(stack)) == [
        "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.amazon.nova-pro-v1:0",
        "arn:aws:bedrock:*::foundation-model/amazon.nova-pro-v1:0",
    ]
    arn = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k"
    assert BedrockModel(arn).invoke_arns(stack) == [arn] and not BedrockModel(arn).is_inference_profile
