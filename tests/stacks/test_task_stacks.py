"""Every task's stack comes from the same construct, passes cdk-nag, and ships only its own code."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Capture, Match, Template
from rft_job import naming

from stacks import bedrock_rft_job
from stacks.logical_ids import flat_logical_id
from tasks import TASKS
from tests.stacks.synth import cdk_json_context, synth_task

TASK_NAMES = [t.name for t in TASKS]
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=TASK_NAMES)
def synthesized(request, tmp_path_factory):
    task = next(t for t in TASKS if t.name == request.param)
    outdir = tmp_path_factory.mktemp(f"cdk.out-{task.name}")
    _, stack = synth_task(task, outdir)  # raises on any unacknowledged cdk-nag finding
    return task, outdir, Template.from_stack(stack)


def test_reward_function_runs_the_tasks_handler(synthesized):
    task, _, template = synthesized
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": task.reward_handler,
            "Environment": {
                "Variables": Match.object_like({"POWERTOOLS_SERVICE_NAME": f"{task.name}-reward"})
            },
        },
    )


def test_each_function_asset_ships_only_its_own_packages(synthesized):
    task, outdir, template = synthesized

    def shipped(handler: str) -> set[str]:
        key = Capture()
        template.has_resource_properties(
            "AWS::Lambda::Function", {"Handler": handler, "Code": Match.object_like({"S3Key": key})}
        )
        return {p.name for p in (outdir / f"asset.{key.as_string().split('.')[0]}").iterdir()}

    assert shipped(task.reward_handler) == {task.reward_package, "rft_reward"}
    assert shipped("rft_job.handler.on_event") == {"rft_job"}


def test_job_uses_the_hyperparameters_in_cdk_json(synthesized):
    task, _, template = synthesized
    overrides = (cdk_json_context().get(f"rft:{task.name}") or {}).get("hyperParameters", {})
    template.has_resource_properties(
        "Custom::BedrockRftJob",
        {
            # The TaskSpec holds the defaults; cdk.json only what a user overrides.
            "HyperParameters": Match.serialized_json({**task.hyperparameters, **overrides}),
            "JobNamePrefix": task.stack_name.lower(),
        },
    )


def test_every_job_the_launcher_names_matches_the_notification_rule(synthesized):
    _, _, template = synthesized
    prefix, rule_prefix = Capture(), Capture()
    template.has_resource_properties("Custom::BedrockRftJob", {"JobNamePrefix": prefix})
    template.has_resource_properties(
        "AWS::Events::Rule",
        {"EventPattern": Match.object_like({"detail": {"jobName": [{"prefix": rule_prefix}]}})},
    )
    job = naming.job_names(prefix.as_string(), "arn:stack", "PipelineJob316FADDE", "request-1").job_name
    assert job.startswith(rule_prefix.as_string()) and rule_prefix.as_string() == f"{prefix.as_string()}-"


def test_the_stack_and_the_launcher_clean_the_prefix_with_one_function():
    # The CDK app loads the launcher's own naming.py by path; there is no second copy to drift.
    source = REPO_ROOT / "lambda" / "rft_job" / "naming.py"
    assert Path(inspect.getsourcefile(bedrock_rft_job.job_name_prefix)) == source
    assert Path(inspect.getsourcefile(naming.job_name_prefix)) == source
    assert inspect.getsource(naming.job_names).count("job_name_prefix(") == 1
    for name in ("GsmRftStack", "My_Stack--v2.0", "x" * 80, "___"):
        cleaned = bedrock_rft_job.job_name_prefix(name)
        assert naming.job_name_prefix(cleaned) == cleaned  # the launcher keeps what the stack rendered
        assert naming.job_names(cleaned, "s", "l", "r").job_name.startswith(f"{cleaned}-")


def test_data_assets_meet_bedrock_minimums(synthesized):
    _, outdir, template = synthesized
    for uri_key in ("TrainingDataUri", "ValidationDataUri"):
        uri = Capture()
        template.has_resource_properties("Custom::BedrockRftJob", {uri_key: {"Fn::Sub": uri}})
        lines = (outdir / f"asset.{uri.as_string().rsplit('/', 1)[1]}").read_text().splitlines()
        assert 100 <= len(lines) <= 20_000, f"{uri_key}: {len(lines)} records"
        record = json.loads(lines[0])
        assert [m["role"] for m in record["messages"]][-1] == "user" and record["reference_answer"]


def test_all_stacks_share_one_construct_and_the_same_shape(synth):
    # RLVR and RLAIF alike: the same resources under the same logical ids; only properties differ
    # (an RLAIF reward's role may also invoke its judge), and an RLAIF stack adds its judge's alarm.
    shapes = {
        name: sorted((r["Type"], logical) for logical, r in synth(name).to_json()["Resources"].items())
        for name in TASK_NAMES
    }
    judge_alarms = {
        name: [s for s in shape if s[1].startswith("PipelineMonitorJudgeErrorRate")]
        for name, shape in shapes.items()
    }
    assert {name for name, found in judge_alarms.items() if found} == {"pandalm"}
    shapes = {name: [s for s in shape if s not in judge_alarms[name]] for name, shape in shapes.items()}
    assert "pandalm" in shapes and len({json.dumps(s) for s in shapes.values()}) == 1, shapes


def test_flat_logical_ids_are_cdks_own_where_nothing_moved(synth):
    # RftStack keeps pre-split ids with flat_logical_id; for paths that never moved it must equal CDK's.
    resources = synth().to_json()["Resources"]
    for path in (
        ["Pipeline", "Bucket", "Resource"],
        ["Pipeline", "BedrockServiceRole", "DefaultPolicy", "Resource"],
    ):
        assert flat_logical_id(path) in resources


@pytest.mark.parametrize("task_name", TASK_NAMES)
def test_synth_with_a_concrete_account_passes_cdk_nag(task_name, tmp_path, monkeypatch):
    # The CDK CLI sets CDK_DEFAULT_ACCOUNT whenever it has credentials, i.e. on every real deploy;
    # ARNs then carry the account number and cdk-nag's finding ids change with them.
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "123456789012")
    task = next(t for t in TASKS if t.name == task_name)
    _, stack = synth_task(task, tmp_path)  # raises ValidationFailed on any unacknowledged finding
    assert stack.account == "123456789012"
