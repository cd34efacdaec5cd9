"""Every task's stack comes from the same construct, passes cdk-nag, and ships only its own code."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from tasks import TASKS
from tests.stacks.synth import cdk_json_context, synth_task

TASK_NAMES = [t.name for t in TASKS]


@pytest.fixture(scope="module", params=TASK_NAMES)
def synthesized(request, tmp_path_factory):
    task = next(t for t in TASKS if t.name == request.param)
    outdir = tmp_path_factory.mktemp(f"cdk.out-{task.name}")
    _, stack = synth_task(task, outdir)  # raises on any unacknowledged cdk-nag finding
    return task, outdir, Template.from_stack(stack)


def test_reward_function_runs_the_tasks_handler(synthesized):
    task, _, template = synthesized
    functions = template.find_resources("AWS::Lambda::Function")
    reward = next(f for k, f in functions.items() if "RewardFunction" in k)["Properties"]
    assert reward["Handler"] == task.reward_handler == f"{task.reward_package}.handler.lambda_handler"
    assert reward["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == f"{task.name}-reward"


def test_each_function_asset_ships_only_its_own_packages(synthesized):
    task, outdir, template = synthesized
    shipped = {}
    for logical_id, fn in template.find_resources("AWS::Lambda::Function").items():
        key = fn["Properties"]["Code"].get("S3Key")
        asset_dir = outdir / f"asset.{key.split('.')[0]}" if isinstance(key, str) else None
        if asset_dir and asset_dir.is_dir():
            shipped[logical_id] = {p.name for p in asset_dir.iterdir()}
    reward = next(v for k, v in shipped.items() if "RewardFunction" in k)
    launcher = next(v for k, v in shipped.items() if "JobLauncher" in k)
    assert reward == {task.reward_package, "rft_reward"}
    assert launcher == {"rft_job"}


def test_job_uses_the_hyperparameters_in_cdk_json(synthesized):
    task, _, template = synthesized
    job = next(iter(template.find_resources("Custom::BedrockRftJob").values()))["Properties"]
    # The TaskSpec holds the defaults; cdk.json only what a user overrides (none for the built-in tasks).
    overrides = (cdk_json_context().get(f"rft:{task.name}") or {}).get("hyperParameters", {})
    assert json.loads(job["HyperParameters"]) == {**task.hyperparameters, **overrides}
    assert job["JobNamePrefix"] == task.stack_name.lower()


def test_data_assets_meet_bedrock_minimums(synthesized):
    _, outdir, template = synthesized
    job = next(iter(template.find_resources("Custom::BedrockRftJob").values()))["Properties"]
    for uri_key in ("TrainingDataUri", "ValidationDataUri"):
        key = json.dumps(job[uri_key]).split("/")[-1].rstrip('"}')
        path = outdir / f"asset.{key}"
        lines = path.read_text().splitlines()
        assert 100 <= len(lines) <= 20_000, f"{uri_key}: {len(lines)} records"
        record = json.loads(lines[0])
        assert [m["role"] for m in record["messages"]][-1] == "user" and record["reference_answer"]


def test_all_stacks_share_one_construct_and_the_same_shape(tmp_path_factory):
    shapes = {}
    for task in TASKS:
        _, stack = synth_task(task, tmp_path_factory.mktemp(f"shape-{task.name}"))
        types = {r["Type"] for r in Template.from_stack(stack).to_json()["Resources"].values()}
        shapes[task.name] = types
        assert any(c.node.id == "Pipeline" for c in stack.node.children)
    rlvr = [shapes[t.name] for t in TASKS if t.kind == "rlvr"]
    assert all(s == rlvr[0] for s in rlvr)


@pytest.mark.parametrize("task_name", TASK_NAMES)
def test_synth_with_a_concrete_account_passes_cdk_nag(task_name, tmp_path, monkeypatch):
    # The CDK CLI sets CDK_DEFAULT_ACCOUNT whenever it has credentials, i.e. on every real deploy;
    # ARNs then carry the account number and cdk-nag's finding ids change with them.
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "123456789012")
    task = next(t for t in TASKS if t.name == task_name)
    _, stack = synth_task(task, tmp_path)  # raises ValidationFailed on any unacknowledged finding
    assert stack.account == "123456789012"
