"""The real CDK CLI against the emulator: the product's stacks end to end, and a failing deploy.

GsmRftStack goes through the demo's life cycle; FinqaRftStack and PandalmRftStack are deployed side
by side with the CLI's default method (change sets), one is updated, both are destroyed. Slow by
nature (the pinned CLI synthesizes the app several times); the tests share one bootstrapped
emulator. Each test removes its stack even when it fails, and the emulator (with
everything in it) is discarded when the module ends.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from local_aws import inventory
from local_aws.cdk_cli import CdkCli, CdkResult
from local_aws.demo import DEMO_TARGETS, EVALUATION_OUTPUT, Demo, Report
from local_aws.server import Emulator
from tests.integration.conftest import ClientFactory

pytestmark = pytest.mark.slow

FIXTURE_APP = Path(__file__).parent / "fixtures" / "cdk_app"
FIXTURE_STACK = "LocalAwsFixtureStack"


@pytest.fixture(scope="module")
def bootstrapped(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`cdk bootstrap` once for the module; returns the folder for CDK logs and cloud assemblies."""
    work = tmp_path_factory.mktemp("cdk")
    result = CdkCli(endpoint=emulator.endpoint, log_path=work / "cdk.log").bootstrap()
    assert result.ok, result.failure_reason()
    return work


@pytest.fixture
def demo(emulator: Emulator, bootstrapped: Path) -> Iterator[tuple[Demo, list[str]]]:
    lines: list[str] = []
    runner = Demo(
        emulator, log_path=bootstrapped / "cdk.log", report=Report(lines.append), output_dir=bootstrapped
    )
    runner.bootstrapped = True
    yield runner, lines
    for stack in DEMO_TARGETS:
        if runner.stack_exists(stack):
            runner.cli.destroy(stack)


def test_gsm_stack_deploys_grades_updates_and_destroys_offline(demo: tuple[Demo, list[str]]) -> None:
    runner, lines = demo
    target = DEMO_TARGETS["GsmRftStack"]

    record = runner.run(
        target
    )  # raises DemoFailure, with the CLI's or the Lambda's reason, on any failed step

    # The reward Lambda, deployed with its layer, graded 16 real model solutions like their human labels.
    assert len(record.scores) == 16
    assert [score for _, score, _ in record.scores] == [expected for _, _, expected in record.scores]
    # The job was launched as RFT, graded by that Lambda, with cdk.json's hyperparameters.
    first = record.first_job
    assert first["customizationType"] == "REINFORCEMENT_FINE_TUNING"
    rft = first["customizationConfig"]["rftConfig"]
    assert rft["graderConfig"]["lambdaGrader"]["lambdaArn"] == record.outputs["RewardFunctionArn"]
    assert rft["hyperParameters"]["epochCount"] == 1
    # The training dashboard and its alarms exist in the emulator, each notifying the job-events topic.
    assert "Mean reward (the live training-reward curve)" in record.dashboard_widgets
    topic = record.outputs["JobEventsTopicArn"]
    assert record.alarms == {
        f"GsmRftStack-training-{name}": [topic]
        for name in ("batches-stalled", "reward-duration", "reward-errors", "scorer-errors")
    }
    # `cdk diff` showed the one-value change, and deploying it replaced the job.
    assert record.diff == ["[~] Custom::BedrockRftJob Pipeline/RftJob/Job: HyperParameters.epochCount 1 -> 2"]
    second = record.second_job
    assert second["customizationConfig"]["rftConfig"]["hyperParameters"]["epochCount"] == 2
    assert second["jobName"] != first["jobName"]
    # The post-training evaluation (rft:evaluateOnCompletion, on by default) ran on the stack's own
    # deployed workflow: Bedrock's Completed event, the deployment, the shards, the report, the topic.
    evaluation = record.evaluation
    assert EVALUATION_OUTPUT in record.outputs
    assert evaluation.job["status"] == "Completed" and evaluation.execution["status"] == "SUCCEEDED"
    assert evaluation.deployment["status"] == "Active"
    assert set(evaluation.shards) == {"base", "tuned"}
    assert evaluation.correct == {
        label: (count, evaluation.correct[label][1]) for label, count in evaluation.labels.items()
    }
    assert evaluation.report_files == ["report.json", "report.md", "chart.svg", "summary.txt"]
    assert evaluation.summary.startswith("gsm8k: tuned ")
    steps = ["complete", "workflow", "model", "shards", "report", "summary"]
    # A job the evaluation marked Completed stays Completed when replaced (a finished job is not stopped).
    finished = "Completed"
    assert record.statuses_after_update == {first["jobName"]: finished, second["jobName"]: "InProgress"}
    # Destroy stopped the remaining job and left nothing behind.
    assert set(record.statuses_after_destroy.values()) == {finished, "Stopped"}
    assert record.leftovers == {}
    shown = [line.split()[1] for line in lines if not line.lstrip().startswith("... the workflow runs")]
    assert shown == [
        "synth", "deploy", "synth", "invoke", "job", "monitor", *steps, "diff", "update", "destroy", "verify",
    ]  # fmt: skip


def test_a_failing_custom_resource_fails_cdk_deploy_with_its_reason(
    emulator: Emulator, bootstrapped: Path, aws: ClientFactory
) -> None:
    cli = CdkCli(
        endpoint=emulator.endpoint,
        project_dir=FIXTURE_APP,
        app=f"{sys.executable} app.py",
        output_dir=bootstrapped / "fixture.out",
        log_path=bootstrapped / "cdk.log",
    )
    try:
        # The plain command a user types (change-set method), not the demo's --method=direct.
        result = cli.run(
            "deploy", FIXTURE_STACK, "--require-approval=never", context={"fixture:failOn": "Create"}
        )

        assert result.returncode != 0
        assert "fixture was asked to fail Create" in result.failure_reason()
        stack = aws("cloudformation").describe_stacks(StackName=FIXTURE_STACK)["Stacks"][0]
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
        # The rollback removed what had been created, custom resources included.
        assert aws("lambda").list_functions()["Functions"] == []
    finally:
        cli.destroy(FIXTURE_STACK, app=str(bootstrapped / "fixture.out"))  # the assembly deploy synthesized
    assert not [
        s for s in aws("cloudformation").list_stacks()["StackSummaries"]
        if s["StackName"] == FIXTURE_STACK and s["StackStatus"] != "DELETE_COMPLETE"
    ]  # fmt: skip


SIDE_BY_SIDE = ("FinqaRftStack", "PandalmRftStack")
UPDATE = {"rft:finqa:epochCount": "2"}  # one value of FinqaRftStack; cdk.json has 1


def _ok(result: CdkResult) -> CdkResult:
    assert result.ok, f"cdk {' '.join(result.args)}: {result.failure_reason()}"
    return result


def test_two_stacks_deploy_update_and_destroy_with_the_default_change_set_method(
    emulator: Emulator, bootstrapped: Path, aws: ClientFactory
) -> None:
    cli = CdkCli(endpoint=emulator.endpoint, log_path=bootstrapped / "cdk.log", timeout_s=300)
    cfn, bedrock = aws("cloudformation"), aws("bedrock")
    base, update = bootstrapped / "side-by-side.out", bootstrapped / "side-by-side.update.out"

    def deploy(stack: str, assembly: Path) -> CdkResult:
        # What a user types (no --method): CreateChangeSet + ExecuteChangeSet, named cdk-deploy-change-set.
        return _ok(cli.run("deploy", stack, "--require-approval", "never", app=str(assembly)))

    def stack(name: str) -> dict[str, Any]:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]  # type: ignore[no-any-return]

    def outputs(name: str) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in stack(name)["Outputs"]}

    def job(name: str) -> dict[str, Any]:
        return bedrock.get_model_customization_job(jobIdentifier=name)  # type: ignore[no-any-return]

    baseline = inventory.snapshot(aws)
    try:
        _ok(cli.synth(SIDE_BY_SIDE[0], output_dir=base))  # the app synthesizes every stack
        with ThreadPoolExecutor(max_workers=1) as pool:
            later = pool.submit(cli.synth, SIDE_BY_SIDE[0], output_dir=update, context=UPDATE)
            for name in SIDE_BY_SIDE:
                deploy(name, base)
            _ok(later.result())

        # Each stack was created once, from its own template.
        assert [stack(name)["StackStatus"] for name in SIDE_BY_SIDE] == ["CREATE_COMPLETE"] * 2
        first = {name: outputs(name) for name in SIDE_BY_SIDE}
        for name in SIDE_BY_SIDE:
            assert first[name]["BucketName"].startswith(name.lower())
            assert first[name]["JobName"].startswith(name.lower())
        after_deploy = inventory.snapshot(aws)
        assert after_deploy["running jobs"] == {first[name]["JobName"] for name in SIDE_BY_SIDE}
        assert len(after_deploy["buckets"] - baseline["buckets"]) == 2
        functions = sorted(after_deploy["functions"] - baseline["functions"])
        # Per stack: the reward, the launcher, CDK's Provider and auto-delete functions, and the six steps
        # of the post-training evaluation (rft:evaluateOnCompletion, on by default).
        assert [f.split("-", 1)[0] for f in functions] == ["FinqaRftStack"] * 10 + ["PandalmRftStack"] * 10

        # An update change set changes one value of one stack: a replacement job; the other is untouched.
        deploy(SIDE_BY_SIDE[0], update)
        assert stack(SIDE_BY_SIDE[0])["StackStatus"] == "UPDATE_COMPLETE"
        new_job = job(outputs(SIDE_BY_SIDE[0])["JobName"])
        assert new_job["customizationConfig"]["rftConfig"]["hyperParameters"]["epochCount"] == 2
        assert job(first[SIDE_BY_SIDE[0]]["JobName"])["status"] == "Stopped"
        assert stack(SIDE_BY_SIDE[1])["StackStatus"] == "CREATE_COMPLETE"
        assert job(first[SIDE_BY_SIDE[1]]["JobName"])["status"] == "InProgress"

        _ok(cli.run("destroy", *SIDE_BY_SIDE, "--force", app=str(update)))
        assert inventory.leftovers(baseline, inventory.snapshot(aws)) == {}
    finally:
        for name in SIDE_BY_SIDE:
            cfn.delete_stack(StackName=name)  # no-op when the test got that far
