"""RftPipeline with an OpenWeightModel: one job resource on the mantle backend, no Bedrock service role,
no PassRole, and a launcher that may do exactly the open-weight launch (docs/open-weight.md).

The stack is built directly from the construct (as another CDK app would), so it does not depend on
how the app's configuration chooses the model; cdk-nag runs on every synth.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from stacks.bedrock_model import OpenWeightModel
from stacks.functions import FunctionVpc
from stacks.reward_function import RewardFunctionProps
from stacks.rft_pipeline import RftPipeline, RftPipelineProps
from stacks.rft_stack import SHARED_REWARD_PACKAGE, add_pipeline_outputs
from tasks import task_by_name
from tests.stacks.synth import cdk_json_context

ACCOUNT, REGION = "123456789012", "us-west-2"
GPT_OSS = OpenWeightModel("openai.gpt-oss-20b", "openai.gpt-oss-20b", REGION)
QWEN = OpenWeightModel("qwen.qwen3-32b-v1:0", "qwen.qwen3-32b", REGION)
# The contract's launcher actions (docs/open-weight.md, "Job backend and IAM").
MANTLE_ACTIONS = (
    "CreateFineTuningJob",
    "CreateFile",
    "GetFile",
    "DeleteFile",
    "GetFineTuningJob",
    "ListFineTuningJobs",
    "CancelFineTuningJob",
)
HYPER = {"n_epochs": 1, "batch_size": 4, "learning_rate_multiplier": 1.0}
ASSETS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/abcd1234-12ab-34cd-56ef-1234567890ab"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def write_jsonl(path: Path, count: int) -> Path:
    rows = (
        {"messages": [{"role": "user", "content": f"What is {i} + 1?"}], "reference_answer": f"#### {i + 1}"}
        for i in range(count)
    )
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def synth(
    root: Path, model: OpenWeightModel = GPT_OSS, region: str = REGION, governed: bool = False, **props: Any
) -> tuple[Template, cdk.Stack, Path]:
    task = task_by_name("gsm8k")
    # cdk.json's context (feature flags such as minimizePolicies), as `npx cdk synth` would use.
    app = cdk.App(outdir=str(root / "cdk.out"), context=cdk_json_context())
    stack = cdk.Stack(app, "GsmRftStack", env=cdk.Environment(account=ACCOUNT, region=region))
    keys = {}
    if governed:
        keys = {
            "encryption_key": kms.Key.from_key_arn(stack, "EncryptionKey", KEY),
            "assets_key": kms.Key.from_key_arn(stack, "AssetsKey", ASSETS_KEY),
        }
    pipeline = RftPipeline(
        stack,
        "Pipeline",
        props=RftPipelineProps(
            name=task.name,
            training_data=write_jsonl(root / "train.jsonl", 120),
            validation_data=write_jsonl(root / "validation.jsonl", 20),
            reward=RewardFunctionProps(
                handler=task.reward_handler, packages=(task.reward_package, SHARED_REWARD_PACKAGE)
            ),
            hyperparameters=HYPER,
            base_model=model,
            **keys,
            **props,
        ),
    )
    add_pipeline_outputs(stack, pipeline)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    assembly = app.synth()  # raises on any unacknowledged cdk-nag finding
    return Template.from_stack(stack), stack, Path(assembly.directory)


@pytest.fixture(scope="module")
def open_weight(tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, cdk.Stack, Path]:
    return synth(tmp_path_factory.mktemp("open-weight"))


def resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return template.find_resources(kind)


def statements(template: Template) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


def launcher_statements(template: Template) -> list[dict[str, Any]]:
    [policy] = [
        p
        for lid, p in resources(template, "AWS::IAM::Policy").items()
        if lid.startswith("PipelineRftJobJobLauncherRole")
    ]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def is_project_arn(resource: Any) -> bool:
    """The default project's ARN, with the partition as a literal or as `AWS::Partition`."""
    tail = f":bedrock-mantle:{REGION}:{ACCOUNT}:project/default"
    partition = {"Ref": "AWS::Partition"}
    return resource in (f"arn:aws{tail}", {"Fn::Join": ["", ["arn:", partition, tail]]})


def test_one_job_resource_on_the_mantle_backend(open_weight):
    template, _, _ = open_weight
    [job] = resources(template, "Custom::BedrockRftJob").values()
    props = job["Properties"]
    assert {k: props[k] for k in ("Backend", "BaseModelIdentifier", "JobNamePrefix")} == {
        "Backend": "mantle",
        "BaseModelIdentifier": "openai.gpt-oss-20b",
        "JobNamePrefix": "gsmrftstack",
    }
    assert json.loads(props["HyperParameters"]) == HYPER
    assert props["GraderLambdaArn"]["Fn::GetAtt"][1] == "Arn"
    assert not {"RoleArn", "OutputDataUri", "CustomModelKmsKeyId", "VpcConfig"} & set(props)


def test_no_bedrock_service_role_no_passrole_no_customization_actions(open_weight):
    template, _, _ = open_weight
    for role in resources(template, "AWS::IAM::Role").values():
        principals = json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
        assert "bedrock.amazonaws.com" not in principals
    every = [action for statement in statements(template) for action in actions(statement)]
    assert "iam:PassRole" not in every
    assert not [a for a in every if a.startswith("bedrock:") and "Customization" in a]
    assert not [a for a in every if a in ("bedrock:TagResource", "bedrock:ListTagsForResource")]
    assert not [a for a in every if a.endswith(":*") or a == "*"]


def test_the_launcher_may_do_exactly_the_open_weight_launch(open_weight):
    template, _, _ = open_weight
    found = launcher_statements(template)
    by_action = {frozenset(actions(s)): s for s in found}
    create = by_action[frozenset({"bedrock-mantle:CreateFineTuningJob"})]
    assert is_project_arn(create["Resource"])
    assert create["Condition"] == {"StringEquals": {"bedrock-mantle:Model": "openai.gpt-oss-20b"}}
    rest = by_action[frozenset(f"bedrock-mantle:{a}" for a in MANTLE_ACTIONS[1:])]
    assert is_project_arn(rest["Resource"]) and "Condition" not in rest
    invoke = by_action[frozenset({"lambda:InvokeFunction"})]
    [reward] = [
        lid
        for lid in resources(template, "AWS::Lambda::Function")
        if lid.startswith("PipelineRewardRewardFunction")
    ]
    assert invoke["Resource"] == {"Fn::GetAtt": [reward, "Arn"]}
    read = by_action[frozenset({"s3:GetObject"})]
    assert len(read["Resource"]) == 2
    for resource in read["Resource"]:
        text = json.dumps(resource)
        assert text.count(".jsonl") == 1 and "*" not in text
    mantle = [a for s in found for a in actions(s) if a.startswith("bedrock-mantle:")]
    assert sorted(mantle) == sorted(f"bedrock-mantle:{a}" for a in MANTLE_ACTIONS)
    others = {a for s in found for a in actions(s)} - set(mantle)
    assert others == {"lambda:InvokeFunction", "s3:GetObject", "logs:CreateLogStream", "logs:PutLogEvents"}


def test_no_managed_policy_anywhere_but_cdks_provider(open_weight):
    template, _, _ = open_weight
    for lid, role in resources(template, "AWS::IAM::Role").items():
        managed = json.dumps(role["Properties"].get("ManagedPolicyArns", []))
        assert "Mantle" not in managed and "AmazonBedrock" not in managed
        if managed != "[]":
            assert "onEvent" in lid or "framework" in lid.lower(), lid


def test_outputs_name_the_backend_and_the_mantle_job(open_weight):
    template, _, _ = open_weight
    outputs = template.find_outputs("*")
    assert outputs["JobBackend"]["Value"] == "mantle"
    [job] = resources(template, "Custom::BedrockRftJob")
    assert outputs["MantleJobId"]["Value"] == {"Fn::GetAtt": [job, "JobId"]}
    assert outputs["JobName"]["Value"] == {"Fn::GetAtt": [job, "JobName"]}
    assert not {"JobArn", "CustomModelName", "BedrockServiceRoleArn"} & set(outputs)


def test_the_launcher_ships_the_mantle_client_and_has_room_to_upload(open_weight):
    template, _, outdir = open_weight
    [(_, launcher)] = [
        (lid, f)
        for lid, f in resources(template, "AWS::Lambda::Function").items()
        if lid.startswith("PipelineRftJobJobLauncher")
    ]
    assert launcher["Properties"]["Timeout"] == 600 and launcher["Properties"]["MemorySize"] == 1024
    asset_hash = launcher["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    asset = outdir / f"asset.{asset_hash}"
    assert sorted(p.name for p in asset.iterdir()) == ["rft_job", "rft_mantle"]


def test_qwen_is_sent_and_conditioned_by_its_api_id(tmp_path):
    template, _, _ = synth(tmp_path, model=QWEN)
    [job] = resources(template, "Custom::BedrockRftJob").values()
    assert job["Properties"]["BaseModelIdentifier"] == "qwen.qwen3-32b"
    [create] = [
        s for s in launcher_statements(template) if actions(s) == ["bedrock-mantle:CreateFineTuningJob"]
    ]
    assert create["Condition"] == {"StringEquals": {"bedrock-mantle:Model": "qwen.qwen3-32b"}}


def test_governed_keys_let_the_launcher_decrypt_the_assets_only_through_s3(tmp_path):
    template, _, _ = synth(tmp_path, governed=True)
    decrypt = [s for s in launcher_statements(template) if actions(s) == ["kms:Decrypt"]]
    assert any(
        s["Resource"] == ASSETS_KEY
        and s["Condition"] == {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}
        for s in decrypt
    )
    every = [a for s in launcher_statements(template) for a in actions(s)]
    assert "kms:CreateGrant" not in every


def test_a_stack_in_another_region_fails_synth_naming_the_region(tmp_path):
    with pytest.raises(
        ValueError, match=r"openai.gpt-oss-20b is fine-tuned in us-west-2 only, but the stack is in us-east-1"
    ):
        synth(tmp_path, region="us-east-1")


def test_a_job_vpc_without_the_reward_in_it_fails_synth(tmp_path):
    vpc = FunctionVpc(["subnet-0123456789abcdef0"], ["sg-0123456789abcdef0"])
    with pytest.raises(ValueError, match="an open-weight job has none"):
        synth(tmp_path, vpc=vpc)


def test_no_job_still_says_the_backend(tmp_path):
    template, _, _ = synth(tmp_path, launch_job=False)
    outputs = template.find_outputs("*")
    assert outputs["JobBackend"]["Value"] == "mantle" and outputs["JobName"]["Value"] == "not-launched"
    assert resources(template, "Custom::BedrockRftJob") == {}
