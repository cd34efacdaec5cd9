"""A governed account's knobs (docs/governed-account.md): the customer-managed key end to end, the job
in a VPC, CDK's permissions boundary and bootstrap qualifier, versioning and lifecycle. Without them
the templates are today's (tests/stacks/test_snapshot.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match, Template

from stacks.config import ConfigError
from tasks import TASKS

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ASSETS_KEY = "arn:aws:kms:us-east-1:123456789012:key/abcd1234-12ab-34cd-56ef-1234567890ab"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
GROUPS = ["sg-0123456789abcdef0"]
VPC = {"subnetIds": SUBNETS, "securityGroupIds": GROUPS}
GOVERNED: dict[str, Any] = {"rft:kmsKeyArn": KEY, "rft:assetsKmsKeyArn": ASSETS_KEY, "rft:vpc": VPC}


def statements(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    """Every statement of the inline policies attached to the role whose logical id starts so."""
    found = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        roles = [r["Ref"] for r in policy["Properties"]["Roles"]]
        if any(r.startswith(role_prefix) for r in roles):
            found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return found


def kms_statements(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    return [s for s in statements(template, role_prefix) if s["Resource"] in (KEY, ASSETS_KEY)]


def test_the_bucket_uses_the_key_with_a_bucket_key(synth):
    synth(**GOVERNED).has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {
                        "BucketKeyEnabled": True,
                        "ServerSideEncryptionByDefault": {"KMSMasterKeyID": KEY, "SSEAlgorithm": "aws:kms"},
                    }
                ]
            }
        },
    )


def test_the_job_encrypts_the_model_and_runs_in_the_vpc(synth):
    t = synth(**GOVERNED)
    vpc = Capture()
    t.has_resource_properties("Custom::BedrockRftJob", {"CustomModelKmsKeyId": KEY, "VpcConfig": vpc})
    assert json.loads(vpc.as_string()) == {"subnetIds": SUBNETS, "securityGroupIds": GROUPS}


def test_without_the_knobs_the_job_has_neither_property(synth):
    job = next(iter(synth().find_resources("Custom::BedrockRftJob").values()))["Properties"]
    assert "CustomModelKmsKeyId" not in job and "VpcConfig" not in job


def test_log_groups_topic_and_function_environments_use_the_key(synth):
    t = synth(**GOVERNED)
    groups = t.find_resources("AWS::Logs::LogGroup")
    # Three, and seven of the post-training evaluation (its six steps and the state machine).
    assert len(groups) == 3 + 7 and all(g["Properties"]["KmsKeyId"] == KEY for g in groups.values())
    t.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": KEY})
    # The topic uses the team's key: no key of its own.
    assert t.find_resources("AWS::KMS::Key") == {}
    ours = [f for f in t.find_resources("AWS::Lambda::Function").values() if "Runtime" in f["Properties"]]
    encrypted = [f for f in ours if f["Properties"].get("KmsKeyArn") == KEY]
    # The reward, the launcher and the Provider framework's function (not CDK's auto-delete handler),
    # and the evaluation's six steps.
    assert len(encrypted) == 3 + 6


def test_the_bedrock_role_may_use_the_key_only_through_s3_for_this_bucket(synth):
    t = synth(**GOVERNED)
    output, assets = sorted(
        kms_statements(t, "PipelineBedrockServiceRole"), key=lambda s: s["Resource"] != KEY
    )
    assert output["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert output["Condition"]["StringEquals"]["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
    bucket, attribute = output["Condition"]["StringEquals"]["kms:EncryptionContext:aws:s3:arn"]["Fn::GetAtt"]
    assert bucket in t.find_resources("AWS::S3::Bucket") and attribute == "Arn"
    # The bootstrap bucket's key: only decrypt, only through S3.
    assert assets == {
        "Action": "kms:Decrypt",
        "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
        "Effect": "Allow",
        "Resource": ASSETS_KEY,
    }


def test_the_launcher_may_let_bedrock_create_grants_only_through_bedrock(synth):
    grants = kms_statements(synth(**GOVERNED), "PipelineJobLauncherRole")
    (statement,) = [s for s in grants if "bedrock" in s["Condition"]["StringEquals"]["kms:ViaService"]]
    assert statement["Action"] == ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
    assert statement["Condition"] == {"StringEquals": {"kms:ViaService": "bedrock.us-east-1.amazonaws.com"}}


def test_functions_may_decrypt_their_environment_only_through_lambda(synth):
    t = synth(**GOVERNED)
    for role in (
        "PipelineRewardRole",
        "PipelineJobLauncherRole",
        "PipelineJobProviderframeworkonEventServiceRole",
    ):
        lambda_grants = [
            s
            for s in kms_statements(t, role)
            if s["Condition"]["StringEquals"]["kms:ViaService"].startswith("lambda.")
        ]
        assert [s["Action"] for s in lambda_grants] == ["kms:Decrypt"], role


def test_the_bedrock_role_has_the_eni_permissions_scoped_to_the_subnets(synth):
    t = synth(**GOVERNED)
    ec2 = [s for s in statements(t, "PipelineBedrockServiceRole") if "ec2:" in json.dumps(s["Action"])]
    by_action = {json.dumps(s["Action"]): s for s in ec2}
    delete = by_action[
        json.dumps(
            [
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ]
        )
    ]
    assert delete["Resource"] == "*"
    assert delete["Condition"]["StringEquals"] == {"ec2:ResourceTag/BedrockManaged": "true"}
    assert len(delete["Condition"]["ArnEquals"]["ec2:Subnet"]) == len(SUBNETS)
    assert all(
        json.dumps(a).endswith(f':subnet/{s}"]]}}')
        for a, s in zip(delete["Condition"]["ArnEquals"]["ec2:Subnet"], SUBNETS, strict=True)
    )
    create_tagged = [s for s in ec2 if s["Action"] == "ec2:CreateNetworkInterface" and "Condition" in s]
    assert create_tagged[0]["Condition"]["StringEquals"] == {"aws:RequestTag/BedrockManaged": ["true"]}
    assert "aws:RequestTag/BedrockModelCustomizationJobArn" in create_tagged[0]["Condition"]["ArnEquals"]
    create_in = [s for s in ec2 if s["Action"] == "ec2:CreateNetworkInterface" and "Condition" not in s]
    resources = json.dumps(create_in[0]["Resource"])
    assert all(f"subnet/{s}" in resources for s in SUBNETS) and f"security-group/{GROUPS[0]}" in resources
    assert "subnet/*" not in resources
    tags = by_action[json.dumps("ec2:CreateTags")]
    assert tags["Condition"]["ForAllValues:StringEquals"] == {
        "aws:TagKeys": ["BedrockManaged", "BedrockModelCustomizationJobArn"]
    }


def test_the_reward_function_joins_the_subnets_only_when_asked(synth):
    alone = synth(**GOVERNED)
    reward = Match.string_like_regexp("Bedrock RFT reward")
    assert not [
        f
        for f in alone.find_resources(
            "AWS::Lambda::Function", {"Properties": {"Description": reward}}
        ).values()
        if "VpcConfig" in f["Properties"]
    ]
    t = synth(**{**GOVERNED, "rft:vpc": {**VPC, "rewardInVpc": True}})
    t.has_resource_properties(
        "AWS::Lambda::Function",
        {"Description": reward, "VpcConfig": {"SubnetIds": SUBNETS, "SecurityGroupIds": GROUPS}},
    )
    eni = [s for s in statements(t, "PipelineRewardRole") if "ec2:CreateNetworkInterface" in s["Action"]]
    assert eni and eni[0]["Resource"] == "*"


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.stack_name)
def test_every_role_in_every_stack_gets_the_permissions_boundary(synth, task):
    boundary = {"@aws-cdk/core:permissionsBoundary": {"name": "rft-boundary"}}
    t = synth(task.name, **{**GOVERNED, "rft:vpc": {**VPC, "rewardInVpc": True}, **boundary})
    roles = t.find_resources("AWS::IAM::Role")
    # Ours, the Provider framework's and CDK's auto-delete-objects provider's; the post-training
    # evaluation's six steps, its state machine and the role EventBridge starts it with.
    assert len(roles) == 5 + 8
    assert len([r for r in roles if r.startswith("PipelineEvaluation")]) == 8
    for logical_id, role in roles.items():
        boundary_arn = json.dumps(role["Properties"].get("PermissionsBoundary"))
        assert boundary_arn.endswith(':policy/rft-boundary"]]}'), logical_id


def test_the_boundary_names_the_policy_and_the_qualifier_names_the_bootstrap(synth):
    t = synth(
        **{
            "@aws-cdk/core:permissionsBoundary": {"name": "rft-${Qualifier}-boundary"},
            "@aws-cdk/core:bootstrapQualifier": "mlteam",
        }
    )
    boundaries = {
        json.dumps(r["Properties"]["PermissionsBoundary"])
        for r in t.find_resources("AWS::IAM::Role").values()
    }
    assert len(boundaries) == 1 and ":policy/rft-mlteam-boundary" in boundaries.pop()
    assert t.to_json()["Parameters"]["BootstrapVersion"]["Default"] == "/cdk-bootstrap/mlteam/version"


def test_versioning_and_lifecycle_are_configurable(synth):
    t = synth(
        **{"rft:bucketVersioning": True, "rft:noncurrentVersionDays": 14, "rft:outputExpirationDays": 90}
    )
    t.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "ExpireNoncurrentVersions",
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 14},
                        "Status": "Enabled",
                    },
                    {
                        "Id": "ExpireJobOutput",
                        "Prefix": "rft-output/",
                        "ExpirationInDays": 90,
                        "Status": "Enabled",
                    },
                ]
            },
        },
    )
    plain = next(iter(synth().find_resources("AWS::S3::Bucket").values()))["Properties"]
    assert "VersioningConfiguration" not in plain and "LifecycleConfiguration" not in plain


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"rft:kmsKeyArn": "alias/ml"}, r"rft:kmsKeyArn 'alias/ml' is not a KMS key ARN"),
        (
            {"rft:kmsKeyArn": KEY.replace("us-east-1", "eu-west-1")},
            r"is a key in eu-west-1, but rft:region is us-east-1",
        ),
        (
            {"rft:assetsKmsKeyArn": "arn:aws:kms:us-east-1:1234:key/x"},
            r"rft:assetsKmsKeyArn .* is not a KMS key ARN",
        ),
        ({"rft:vpc": {"subnetIds": SUBNETS}}, r"rft:vpc → securityGroupIds must be a list of 1 to 5 ids"),
        (
            {"rft:vpc": {**VPC, "subnetIDs": SUBNETS}},
            r"Unknown key 'subnetIDs' in rft:vpc; did you mean 'subnetIds'\?",
        ),
        ({"rft:vpc": {**VPC, "subnetIds": ["subnet-1"]}}, r"'subnet-1', which is not an id like subnet-"),
        ({"rft:vpc": "{not json"}, r"rft:vpc is not valid JSON"),
        ({"rft:vpc": {**VPC, "securityGroupIds": GROUPS * 2}}, r"lists an id twice"),
        ({"rft:noncurrentVersionDays": 0}, r"rft:noncurrentVersionDays must be a whole number of days >= 1"),
        ({"rft:bucketVersioning": "maybe"}, r"rft:bucketVersioning must be true or false"),
    ],
)
def test_mistakes_fail_at_synth_naming_the_fix(synth, context, message):
    with pytest.raises(ConfigError, match=message):
        synth(**context)


def test_vpc_from_the_command_line_is_json_text(synth):
    t = synth(**{"rft:vpc": json.dumps(VPC)})
    vpc = Capture()
    t.has_resource_properties("Custom::BedrockRftJob", {"VpcConfig": vpc})
    assert json.loads(vpc.as_string())["subnetIds"] == SUBNETS


def test_the_readme_cdk_json_example_synthesizes(synth):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("A worked `cdk.json`", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    context = json.loads("{" + block + "}")
    t = synth(**context)
    t.has_resource_properties("Custom::BedrockRftJob", {"CustomModelKmsKeyId": context["rft:kmsKeyArn"]})
    boundaries = {
        json.dumps(r["Properties"]["PermissionsBoundary"])
        for r in t.find_resources("AWS::IAM::Role").values()
    }
    assert len(boundaries) == 1 and ":policy/ml-mlteam-boundary" in boundaries.pop()


@pytest.mark.parametrize(
    ("given", "taken"),
    [
        ("rft-boundary", {"name": "rft-boundary"}),
        ("arn:aws:iam::123456789012:policy/b", {"arn": "arn:aws:iam::123456789012:policy/b"}),
        ('{"name": "b"}', {"name": "b"}),
    ],
)
def test_a_boundary_given_with_dash_c_is_not_ignored(given, taken):
    """The CLI passes `-c` values as strings, which CDK itself would silently ignore."""
    import aws_cdk as cdk

    import app as cdk_app

    app = cdk.App(context={cdk_app.PERMISSIONS_BOUNDARY: given})
    cdk_app._boundary_from_command_line(app)
    assert app.node.try_get_context(cdk_app.PERMISSIONS_BOUNDARY) == taken
