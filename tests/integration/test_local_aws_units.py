"""The emulator's pure helpers: dependency order, CloudFormation's string properties, diff and error parsing."""

from __future__ import annotations

import json

import pytest

from local_aws import client_env
from local_aws.cdk_cli import CdkResult
from local_aws.cfn_engine import ResourceFailure, dependency_order, references
from local_aws.custom_resources import stringify_properties
from local_aws.demo import diff_summary
from local_aws.inventory import leftovers
from local_aws.moto_patches import job_name_from_identifier


def test_dependencies_come_first_whatever_the_reference_form() -> None:
    resources = {
        "Output": {"Properties": {"A": {"Fn::Sub": "${Topic.Arn}-${Bucket}-${AWS::Region}-${!Literal}"}}},
        "Topic": {"DependsOn": "Role", "Properties": {"B": {"Fn::GetAtt": "Bucket.Arn"}}},
        "Bucket": {"Properties": {"C": {"Fn::Sub": ["${Var}", {"Var": {"Ref": "Role"}}]}}},
        "Role": {"Properties": {}},
    }

    order = dependency_order(resources)

    assert order.index("Role") < order.index("Bucket") < order.index("Topic") < order.index("Output")


def test_sub_variables_shadow_resource_names() -> None:
    node = {"Fn::Sub": ["${Bucket}", {"Bucket": "literal"}]}
    assert references(node, ["Bucket"]) == set()


def test_a_cycle_or_a_missing_dependency_is_a_template_error() -> None:
    with pytest.raises(ResourceFailure, match="Circular dependency"):
        dependency_order({"A": {"Properties": {"X": {"Ref": "B"}}}, "B": {"DependsOn": ["A"]}})
    with pytest.raises(ResourceFailure, match="unresolved resource dependencies"):
        dependency_order({"A": {"DependsOn": "Ghost"}})


def test_custom_resource_properties_arrive_as_strings() -> None:
    properties = {"N": 2, "F": 0.5, "B": False, "S": "s", "L": [1, {"T": True}]}
    assert stringify_properties(properties) == {
        "N": "2",
        "F": "0.5",
        "B": "false",
        "S": "s",
        "L": ["1", {"T": "true"}],
    }


def test_diff_summary_names_the_changed_hyperparameter() -> None:
    output = "\n".join(
        [
            "Stack GsmRftStack",
            "Resources",
            "[~] Custom::BedrockRftJob Pipeline/Job PipelineJob316FADDE ",
            " └─ [~] HyperParameters",
            '     ├─ [-] {"batchSize":32,"epochCount":1}',
            '     └─ [+] {"batchSize":32,"epochCount":2}',
            "[+] AWS::SNS::Topic Topic Topic1234",
        ]
    )
    assert diff_summary(output) == [
        "[~] Custom::BedrockRftJob Pipeline/Job: HyperParameters.epochCount 1 -> 2",
        "[+] AWS::SNS::Topic Topic",
    ]


def test_failure_reason_keeps_the_errors_and_drops_machine_noise() -> None:
    output = "\n".join(
        [
            'npm warn Unknown user config "nodedir".',
            "b'!!  Node 20 is end-of-life  !!'",
            "GsmRftStack: deploying... [1/1]",
            "❌  GsmRftStack failed: Error: job launch refused",
            "❌  GsmRftStack failed: Error: job launch refused",
        ]
    )
    assert (
        CdkResult(("deploy",), 1, output, 1.0).failure_reason()
        == "❌  GsmRftStack failed: Error: job launch refused"
    )


@pytest.mark.parametrize(
    ("identifier", "name"),
    [
        ("my-job", "my-job"),
        ("arn:aws:bedrock:us-east-1:123456789012:model-customization-job/my-job", "my-job"),
        ("arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Amodel-customization-job%2Fmy-job", "my-job"),
    ],
)
def test_a_job_identifier_may_be_its_name_or_arn(identifier: str, name: str) -> None:
    assert job_name_from_identifier(identifier) == name


def test_leftovers_are_what_appeared_since_the_baseline() -> None:
    before = {"buckets": frozenset({"cdk-assets"}), "functions": frozenset()}
    after = {"buckets": frozenset({"cdk-assets", "stack-bucket"}), "functions": frozenset()}
    assert leftovers(before, after) == {"buckets": ["stack-bucket"]}
    assert leftovers(after, after) == {}


def test_the_client_environment_cannot_reach_real_aws() -> None:
    base = {
        "AWS_PROFILE": "prod",
        "AWS_SESSION_TOKEN": "t",
        "AWS_ENDPOINT_URL_S3": "https://s3.real",
        "HOME": "/h",
    }

    env = client_env.apply(base, "http://localhost:4566")

    assert {"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"}.isdisjoint(env)
    assert env["AWS_ENDPOINT_URL"] == "http://localhost:4566"
    assert (env["AWS_ACCESS_KEY_ID"], env["CDK_DEFAULT_ACCOUNT"], env["HOME"]) == (
        "testing",
        "123456789012",
        "/h",
    )
    assert "unset AWS_PROFILE" in client_env.export_lines("http://localhost:4566")


def test_the_demo_has_a_target_for_every_registered_stack_with_an_update_that_changes_a_value() -> None:
    from local_aws.demo import DEMO_TARGETS, SAMPLES
    from local_aws.settings import PROJECT_ROOT
    from tasks import TASKS

    context = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    # Every built-in task, and any registered task the demo has samples for (a scaffolded one has none).
    assert {"GsmRftStack", "FinqaRftStack", "PandalmRftStack"} <= set(DEMO_TARGETS)
    demoed = [task for task in TASKS if task.name in SAMPLES]
    assert sorted(DEMO_TARGETS) == sorted(task.stack_name for task in demoed)
    for task in demoed:
        target = DEMO_TARGETS[task.stack_name]
        assert target.samples.is_file()
        assert target.judge_model == (task.judge.model_id if task.judge else None)
        configured = (context.get(f"rft:{task.name}") or {}).get("hyperParameters", {})
        current = configured.get("epochCount", task.hyperparameters["epochCount"])
        name, value = target.update_parameter
        assert name == "epochCount" and int(value) != current and 1 <= int(value) <= 50
    assert DEMO_TARGETS["PandalmRftStack"].judge_model  # the invoke step must say the judge is not served


def test_the_demo_names_the_stacks_it_runs_for_an_unknown_one() -> None:
    from local_aws.demo import run_demo

    lines: list[str] = []

    assert run_demo(stacks=["NoSuchStack"], print_line=lines.append) == 2
    [line] = lines
    assert line.startswith(
        "error: the demo runs GsmRftStack, FinqaRftStack, PandalmRftStack"
    ) and line.endswith("; got NoSuchStack")
