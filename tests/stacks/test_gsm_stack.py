"""GsmRftStack: assert intent (secure bucket, scoped roles, the job's request), not whole templates."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match, Template

from stacks.config import ConfigError
from tasks import task_by_name
from tests.stacks.synth import cdk_json_context

GSM8K = task_by_name("gsm8k")


def logical_id(template: Template, kind: str, props: dict[str, Any]) -> str:
    """The one resource of `kind` whose properties match `props`."""
    [found] = template.find_resources(kind, {"Properties": Match.object_like(props)})
    return found


def policy_of(template: Template, role_id: str) -> list[dict[str, Any]]:
    """The statements of the default policy attached to `role_id`."""
    [policy] = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}], **_ANY_DOCUMENT}}
    ).values()
    return policy["Properties"]["PolicyDocument"]["Statement"]


_ANY_DOCUMENT = {"PolicyDocument": Match.any_value(), "PolicyName": Match.any_value()}


def bedrock_role(template: Template) -> str:
    return logical_id(
        template,
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {"Statement": [Match.object_like({"Principal": {"Service": "bedrock.amazonaws.com"}})]}
            )
        },
    )


def reward_function(template: Template) -> str:
    return logical_id(template, "AWS::Lambda::Function", {"Handler": "gsm8k_reward.handler.lambda_handler"})


def test_bucket_is_encrypted_private_and_denies_plain_http(synth):
    t = synth()
    t.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        },
    )
    t.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            }
        },
    )


def test_bucket_is_emptied_and_removed_on_destroy_by_default_and_kept_when_asked(synth):
    synth().has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"})
    synth().resource_count_is("Custom::S3AutoDeleteObjects", 1)
    kept = synth(**{"rft:destroyDataOnDelete": "false"})
    kept.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})
    kept.resource_count_is("Custom::S3AutoDeleteObjects", 0)


def test_bedrock_role_trust_has_confused_deputy_conditions(synth):
    source_arn = Capture()
    synth().has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "bedrock.amazonaws.com"},
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                            "ArnLike": {"aws:SourceArn": source_arn},
                        },
                    }
                ],
                "Version": "2012-10-17",
            }
        },
    )
    assert source_arn.as_object() == {
        "Fn::Join": [
            "",
            ["arn:aws:bedrock:us-east-1:", {"Ref": "AWS::AccountId"}, ":model-customization-job/*"],
        ]
    }


def test_bedrock_role_reads_only_the_data_writes_only_the_output_prefix_invokes_only_the_reward(synth):
    t = synth()
    training, validation = Capture(), Capture()
    t.has_resource_properties(
        "Custom::BedrockRftJob",
        {"TrainingDataUri": {"Fn::Sub": training}, "ValidationDataUri": {"Fn::Sub": validation}},
    )
    data_keys = [uri.as_string().rsplit("/", 1)[1] for uri in (training, validation)]
    bucket = logical_id(t, "AWS::S3::Bucket", {"BucketEncryption": Match.any_value()})
    output_objects = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/rft-output/*"]]}

    def data_object(key: str) -> dict[str, Any]:
        return {
            "Fn::Join": [
                "",
                ["arn:aws:s3:::", {"Fn::Sub": Match.string_like_regexp("cdk-.*-assets-")}, f"/{key}"],
            ]
        }

    statements = Match.exact(
        [
            {"Action": "s3:GetObject", "Effect": "Allow", "Resource": [data_object(k) for k in data_keys]},
            {
                "Action": "s3:ListBucket",
                "Condition": {"StringEquals": {"s3:prefix": data_keys}},
                "Effect": "Allow",
                "Resource": Match.any_value(),
            },
            {"Action": ["s3:GetObject", "s3:PutObject"], "Effect": "Allow", "Resource": output_objects},
            {
                "Action": "s3:ListBucket",
                "Condition": {"StringLike": {"s3:prefix": ["rft-output/*"]}},
                "Effect": "Allow",
                "Resource": {"Fn::GetAtt": [bucket, "Arn"]},
            },
            {
                "Action": "lambda:InvokeFunction",
                "Effect": "Allow",
                "Resource": {"Fn::GetAtt": [reward_function(t), "Arn"]},
            },
        ]
    )
    t.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": bedrock_role(t)}],
            "PolicyDocument": {"Statement": statements, "Version": "2012-10-17"},
        },
    )


def test_job_launcher_passes_only_the_service_role_and_only_to_bedrock(synth):
    t = synth()
    launcher_role = Capture()
    t.has_resource_properties(
        "AWS::Lambda::Function",
        {"Handler": "rft_job.handler.on_event", "Role": {"Fn::GetAtt": [launcher_role, "Arn"]}},
    )
    statements = policy_of(t, launcher_role.as_string())
    pass_role = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert pass_role == [
        {
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [bedrock_role(t), "Arn"]},
        }
    ]
    granted = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert granted == {
        "bedrock:CreateModelCustomizationJob",
        "bedrock:GetModelCustomizationJob",
        "bedrock:StopModelCustomizationJob",
        "bedrock:ListTagsForResource",
        "bedrock:TagResource",
        "iam:PassRole",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    assert all(s["Resource"] != "*" and s["Effect"] == "Allow" for s in statements)


def test_reward_function_runtime_handler_and_powertools_settings(synth):
    t = synth()
    logs = Capture()
    t.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "gsm8k_reward.handler.lambda_handler",
            "Runtime": Match.string_like_regexp(r"^python3\.(1[2-9]|[2-9]\d)$"),
            "Architectures": ["arm64"],
            "Timeout": 60,
            "MemorySize": 512,
            "Layers": [{"Ref": Match.string_like_regexp("Dependencies")}],
            "Environment": {
                "Variables": Match.object_like(
                    {"POWERTOOLS_SERVICE_NAME": "gsm8k-reward", "POWERTOOLS_METRICS_NAMESPACE": "BedrockRft"}
                )
            },
            "LoggingConfig": {"LogGroup": {"Ref": logs}},
        },
    )
    assert t.to_json()["Resources"][logs.as_string()]["Properties"]["RetentionInDays"] == 30


def test_job_custom_resource_carries_the_rft_request(synth):
    t = synth()
    training, validation = Capture(), Capture()
    t.has_resource_properties(
        "Custom::BedrockRftJob",
        {
            "HyperParameters": Match.serialized_json(
                {
                    **GSM8K.hyperparameters,
                    **(cdk_json_context().get("rft:gsm8k") or {}).get("hyperParameters", {}),
                }
            ),
            "BaseModelIdentifier": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k",
            "GraderLambdaArn": {"Fn::GetAtt": [reward_function(t), "Arn"]},
            "RoleArn": {"Fn::GetAtt": [bedrock_role(t), "Arn"]},
            "TrainingDataUri": {"Fn::Sub": training},
            "ValidationDataUri": {"Fn::Sub": validation},
            "OutputDataUri": {
                "Fn::Join": ["", ["s3://", {"Ref": Match.string_like_regexp("Bucket")}, "/rft-output/"]]
            },
            "JobNamePrefix": "gsmrftstack",
            "Tags": Match.serialized_json(
                {"project": "bedrock-rft", "stack": "GsmRftStack", "task": "gsm8k"}
            ),
        },
    )
    data_object = r"s3://cdk-\w+-assets-\$\{AWS::AccountId\}-us-east-1/[0-9a-f]{64}\.jsonl"
    assert re.fullmatch(data_object, training.as_string()) and re.fullmatch(
        data_object, validation.as_string()
    )
    assert training.as_string() != validation.as_string()


def test_one_value_override_from_the_command_line_reaches_the_job(synth):
    synth(**{"rft:gsm8k:epochCount": "2"}).has_resource_properties(
        "Custom::BedrockRftJob",
        {"HyperParameters": Match.serialized_json(Match.object_like({"epochCount": 2}))},
    )


def test_launch_job_false_deploys_everything_but_the_paid_job(synth):
    t = synth(**{"rft:launchJob": "false"})
    t.resource_count_is("Custom::BedrockRftJob", 0)
    assert not t.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "rft_job.handler.on_event"}}
    )
    t.resource_count_is("AWS::S3::Bucket", 1)
    t.has_resource_properties("AWS::Lambda::Function", {"Handler": "gsm8k_reward.handler.lambda_handler"})
    t.has_output("JobName", {"Value": "not-launched"})


def test_outputs_name_bucket_reward_function_and_job(synth):
    t = synth()
    [job] = t.find_resources("Custom::BedrockRftJob")
    t.has_output("JobName", {"Value": {"Ref": job}})
    t.has_output("JobArn", {"Value": {"Fn::GetAtt": [job, "JobArn"]}})
    t.has_output("CustomModelName", {"Value": {"Fn::GetAtt": [job, "CustomModelName"]}})
    t.has_output("RewardFunctionName", {"Value": {"Ref": reward_function(t)}})
    t.has_output(
        "BucketName",
        {"Value": {"Ref": logical_id(t, "AWS::S3::Bucket", {"BucketEncryption": Match.any_value()})}},
    )
    t.has_output("OutputDataUri", {"Value": {"Fn::Join": ["", ["s3://", Match.any_value(), "/rft-output/"]]}})


def test_deployed_logical_ids_survive_the_split_into_child_constructs(synth):
    # Ids of the first deployed stacks: a new id for the job would replace it, and stop the running job.
    t = synth()
    for kind, logical in [
        ("Custom::BedrockRftJob", "PipelineJob316FADDE"),
        ("AWS::S3::Bucket", "PipelineBucket5BC3F8EA"),
        ("AWS::IAM::Role", "PipelineBedrockServiceRole2E58593C"),
        ("AWS::Lambda::Function", "PipelineRewardFunctionD5943BD3"),
        ("AWS::Lambda::Function", "PipelineJobLauncher85B51505"),
        ("AWS::SNS::Topic", "PipelineJobEvents702122DF"),
    ]:
        assert logical in t.find_resources(kind), f"{kind} {logical} was renamed"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"rft:gsm8k:batchSize": "8"}, "batchSize 8 is below Bedrock's minimum of 16"),
        ({"rft:gsm8k:learningRate": "0.5"}, "learningRate 0.5 is above Bedrock's maximum of 0.001"),
        ({"rft:gsm8k:reasoningEffort": "extreme"}, "reasoningEffort 'extreme' must be one of"),
        ({"rft:gsm8k:epochCount": "two"}, "epochCount must be a whole number"),
        ({"rft:launchJob": "maybe"}, "rft:launchJob must be true or false"),
    ],
)
def test_bad_configuration_fails_synth_with_the_fix(override, message, tmp_path):
    import aws_cdk as cdk
    from aws_cdk.assertions import Annotations

    from stacks.config import ConfigError
    from stacks.rft_stack import build_task_stack

    # An app-wide mistake raises (app.py prints it); a task's own fails its stack with an error annotation.
    app = cdk.App(outdir=str(tmp_path), context=override)
    try:
        stack = build_task_stack(app, GSM8K)
    except ConfigError as error:
        assert message in str(error) and override.keys() == {"rft:launchJob"}
        return
    [error] = Annotations.from_stack(stack).find_error("/GsmRftStack", Match.any_value())
    assert message in str(error.entry.data)


def test_job_state_changes_reach_an_encrypted_topic(synth):
    t = synth()
    topic, key = Capture(), Capture()
    t.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.bedrock"],
                "detail-type": ["Model Customization Job State Change"],
                "detail": {"jobName": [{"prefix": "gsmrftstack-"}]},
            },
            "Targets": [Match.object_like({"Arn": {"Ref": topic}})],
        },
    )
    t.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}})
    assert topic.as_string() in t.find_resources("AWS::SNS::Topic")
    t.has_resource_properties(
        "AWS::KMS::Key",
        {
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Resource": "*",
                        }
                    ]
                )
            },
        },
    )
    assert key.as_string() in t.find_resources("AWS::KMS::Key")
    t.resource_count_is("AWS::SNS::Subscription", 0)  # no email unless configured
    t.has_output("JobEventsTopicArn", {"Value": {"Ref": topic.as_string()}})


def test_notification_email_from_context_subscribes_and_bad_email_is_refused(synth):
    synth(**{"rft:notificationEmail": "ml-team@example.com"}).has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ml-team@example.com"}
    )
    with pytest.raises(ConfigError, match="is not an email address"):
        synth(**{"rft:notificationEmail": "not-an-email"})


def test_unsupported_log_retention_is_a_config_error_naming_the_choices(synth):
    # app.py prints ConfigError without a traceback; any other exception would reach the user raw.
    with pytest.raises(ConfigError, match=r"rft:logRetentionDays 13 is not supported; pick one of \[1, 3"):
        synth(**{"rft:logRetentionDays": "13"})
