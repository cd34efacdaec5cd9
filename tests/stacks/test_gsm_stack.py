"""GsmRftStack: assert intent (secure bucket, scoped roles, the job's request), not whole templates."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tasks import task_by_name
from tests.stacks.synth import cdk_json_context

GSM8K = task_by_name("gsm8k")


def resources(template: Template, kind: str) -> dict[str, Any]:
    return template.find_resources(kind)


def only(template: Template, kind: str, name_part: str = "") -> dict[str, Any]:
    found = {k: v for k, v in resources(template, kind).items() if name_part in k}
    assert len(found) == 1, f"expected one {kind} matching {name_part!r}, got {list(found)}"
    return next(iter(found.values()))


def statements(template: Template, role_part: str) -> list[dict[str, Any]]:
    policies = {k: v for k, v in resources(template, "AWS::IAM::Policy").items() if role_part in k}
    assert policies, f"no policy for {role_part}"
    return [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


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
    assert only(synth(), "AWS::S3::Bucket")["DeletionPolicy"] == "Delete"
    assert resources(synth(), "Custom::S3AutoDeleteObjects")
    kept = synth(**{"rft:destroyDataOnDelete": "false"})
    assert only(kept, "AWS::S3::Bucket")["DeletionPolicy"] == "Retain"
    assert not resources(kept, "Custom::S3AutoDeleteObjects")


def test_bedrock_role_trust_has_confused_deputy_conditions(synth):
    role = only(synth(), "AWS::IAM::Role", "BedrockServiceRole")
    [statement] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source_arn = json.dumps(statement["Condition"]["ArnLike"]["aws:SourceArn"])
    assert ":model-customization-job/*" in source_arn and "AWS::AccountId" in source_arn


def test_bedrock_role_reads_only_the_data_writes_only_the_output_prefix_invokes_only_the_reward(synth):
    t = synth()
    policy = statements(t, "BedrockServiceRole")
    by_action: dict[str, list[Any]] = {}
    for s in policy:
        assert s["Effect"] == "Allow"
        for action in actions_of(s):
            by_action.setdefault(action, []).append(s["Resource"])
    assert set(by_action) == {"s3:GetObject", "s3:PutObject", "s3:ListBucket", "lambda:InvokeFunction"}
    reads = json.dumps(by_action["s3:GetObject"])
    assert reads.count(".jsonl") == 2, "exactly the training and validation objects"
    assert "/rft-output/*" in reads
    assert json.dumps(by_action["s3:PutObject"]).count("/rft-output/*") == 1
    assert json.dumps(by_action["s3:PutObject"]).count(".jsonl") == 0
    reward_fn = next(k for k in resources(t, "AWS::Lambda::Function") if "RewardFunction" in k)
    assert by_action["lambda:InvokeFunction"] == [{"Fn::GetAtt": [reward_fn, "Arn"]}]
    assert "*" not in json.dumps(by_action["lambda:InvokeFunction"])


def test_job_launcher_passes_only_the_service_role_and_only_to_bedrock(synth):
    t = synth()
    policy = statements(t, "JobLauncherRole")
    pass_role = [s for s in policy if "iam:PassRole" in actions_of(s)]
    assert len(pass_role) == 1
    assert pass_role[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}
    service_role = next(k for k in resources(t, "AWS::IAM::Role") if "BedrockServiceRole" in k)
    assert pass_role[0]["Resource"] == {"Fn::GetAtt": [service_role, "Arn"]}
    granted = {a for s in policy for a in actions_of(s)}
    assert {
        "bedrock:CreateModelCustomizationJob",
        "bedrock:StopModelCustomizationJob",
        "bedrock:ListTagsForResource",
    } <= granted
    assert not any(a.endswith("*") for a in granted)
    assert all(s["Resource"] != "*" for s in policy)


def test_reward_function_runtime_handler_and_powertools_settings(synth):
    t = synth()
    fn = only(t, "AWS::Lambda::Function", "RewardFunction")["Properties"]
    assert fn["Handler"] == "gsm8k_reward.handler.lambda_handler"
    assert fn["Runtime"].startswith("python3.") and int(fn["Runtime"].split(".")[1]) >= 12
    assert fn["Architectures"] == ["arm64"]
    assert 30 <= fn["Timeout"] <= 900 and fn["MemorySize"] >= 256
    env = fn["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == "gsm8k-reward"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "BedrockRft"
    assert len(fn["Layers"]) == 1
    log_group = only(t, "AWS::Logs::LogGroup", "RewardLogs")
    assert log_group["Properties"]["RetentionInDays"] == 30
    assert fn["LoggingConfig"]["LogGroup"] == {
        "Ref": next(k for k in resources(t, "AWS::Logs::LogGroup") if "RewardLogs" in k)
    }


def test_job_custom_resource_carries_the_rft_request(synth):
    t = synth()
    job = only(t, "Custom::BedrockRftJob")["Properties"]
    hyper = json.loads(job["HyperParameters"])
    assert hyper == {
        **GSM8K.hyperparameters,
        **cdk_json_context().get("rft:gsm8k", {}).get("hyperParameters", {}),
    }
    assert job["BaseModelIdentifier"].endswith("foundation-model/amazon.nova-2-lite-v1:0:256k")
    assert (
        "Fn::GetAtt" in job["GraderLambdaArn"] and "RewardFunction" in job["GraderLambdaArn"]["Fn::GetAtt"][0]
    )
    assert json.dumps(job["TrainingDataUri"]).count(".jsonl") == 1
    assert json.dumps(job["ValidationDataUri"]).count(".jsonl") == 1
    assert job["TrainingDataUri"] != job["ValidationDataUri"]
    assert "/rft-output/" in json.dumps(job["OutputDataUri"])
    assert job["JobNamePrefix"] == "gsmrftstack"
    launcher = only(t, "AWS::Lambda::Function", "JobLauncher")["Properties"]
    assert launcher["Handler"] == "rft_job.handler.on_event"


def test_one_value_override_from_the_command_line_reaches_the_job(synth):
    job = only(synth(**{"rft:gsm8k:epochCount": "2"}), "Custom::BedrockRftJob")["Properties"]
    assert json.loads(job["HyperParameters"])["epochCount"] == 2


def test_launch_job_false_deploys_everything_but_the_paid_job(synth):
    t = synth(**{"rft:launchJob": "false"})
    assert not resources(t, "Custom::BedrockRftJob")
    assert not any("JobLauncher" in k for k in resources(t, "AWS::Lambda::Function"))
    assert resources(t, "AWS::S3::Bucket") and any(
        "RewardFunction" in k for k in resources(t, "AWS::Lambda::Function")
    )
    assert t.find_outputs("JobName")["JobName"]["Value"] == "not-launched"


def test_outputs_name_bucket_reward_function_and_job(synth):
    outputs = synth().find_outputs("*")
    assert {"BucketName", "RewardFunctionName", "JobName", "JobArn", "OutputDataUri"} <= set(outputs)
    job_id = next(iter(resources(synth(), "Custom::BedrockRftJob")))
    assert outputs["JobArn"]["Value"] == {"Fn::GetAtt": [job_id, "JobArn"]}
    assert outputs["JobName"]["Value"] == {"Ref": job_id}


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
    rule = only(t, "AWS::Events::Rule")["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.bedrock"],
        "detail-type": ["Model Customization Job State Change"],
        "detail": {"jobName": [{"prefix": "gsmrftstack-"}]},
    }
    topic_id, topic = next(iter(resources(t, "AWS::SNS::Topic").items()))
    assert rule["Targets"][0]["Arn"] == {"Ref": topic_id}
    assert "KmsMasterKeyId" in topic["Properties"]
    key = only(t, "AWS::KMS::Key")["Properties"]
    assert key["EnableKeyRotation"] is True
    events_statement = next(
        s for s in key["KeyPolicy"]["Statement"] if s.get("Principal") == {"Service": "events.amazonaws.com"}
    )
    assert events_statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert not resources(t, "AWS::SNS::Subscription"), "no email unless configured"
    assert "JobEventsTopicArn" in t.find_outputs("*")


def test_notification_email_from_context_subscribes_and_bad_email_is_refused(synth):
    t = synth(**{"rft:notificationEmail": "ml-team@example.com"})
    t.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ml-team@example.com"}
    )
    from stacks.config import ConfigError

    with pytest.raises(ConfigError, match="is not an email address"):
        synth(**{"rft:notificationEmail": "not-an-email"})


def test_unsupported_log_retention_is_a_config_error_naming_the_choices(synth):
    from stacks.config import ConfigError

    # app.py prints ConfigError without a traceback; any other exception would reach the user raw.
    with pytest.raises(ConfigError, match=r"rft:logRetentionDays 13 is not supported; pick one of \[1, 3"):
        synth(**{"rft:logRetentionDays": "13"})
