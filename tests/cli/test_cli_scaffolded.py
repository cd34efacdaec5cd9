"""A task fresh from `rft new-task` works with `rft rehearse` and `rft invoke` without options.

The scaffold writes `data_prep/samples/<task>/rollouts.jsonl` and `batch.json`; the CLI uses them by
default. The files come from the scaffold's own renderer into a small fake project (`scaffolded`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from botocore.stub import Stubber
from click.testing import Result

from rft.new_task import Plan
from rft.rehearse.handlers import call, load_handler

from .helpers import (
    assert_one_line_error,
    deploy_stack,
    expect_invoke,
    record_payloads,
    reward_function,
    stack_outputs,
)

Scaffold = Callable[[str, str], Plan]


def words(text: str) -> str:
    return " ".join(text.split())


def test_rehearse_uses_the_scaffolds_rollouts_by_default(
    scaffolded: Scaffold, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    plan = scaffolded("demo_rlvr", "rlvr")
    rollouts = plan.root / "data_prep/samples/demo_rlvr/rollouts.jsonl"
    lines = rollouts.read_text(encoding="utf-8").splitlines()
    assert len(lines) == plan.rollouts > 0

    result = run_cli("rehearse", "demo_rlvr", "--out", str(tmp_path))

    assert result.exit_code == 0, result.output
    assert "rollouts data_prep/samples/demo_rlvr/rollouts.jsonl (the task's sample rollouts)" in words(
        result.stdout
    )
    report = json.loads((tmp_path / "rehearse-demo_rlvr.json").read_text())
    assert report["samples"] == len(lines)
    labeled = sum(json.loads(line)["label"] is not None for line in lines)
    assert report["labels"]["labeled"] == labeled and report["labels"]["agree"] == labeled
    assert report["handler"] == "demo_rlvr_reward.handler.lambda_handler"


def test_rehearse_takes_the_scaffolded_tasks_stack_name(
    scaffolded: Scaffold, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    plan = scaffolded("demo_stack", "rlvr")
    result = run_cli("rehearse", plan.stack_name, "--n", "6", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "rehearse-demo_stack.json").read_text())["samples"] == 6


def test_invoke_sends_the_scaffolds_batch_by_default(
    scaffolded: Scaffold, lambda_stub: Stubber, run_cli: Callable[..., Result]
) -> None:
    plan = scaffolded("demo_batch", "rlvr")
    deploy_stack(stack_outputs(stack=plan.stack_name), stack=plan.stack_name)
    batch = json.loads((plan.root / "data_prep/samples/demo_batch/batch.json").read_text(encoding="utf-8"))
    answer = call(load_handler("demo_batch_reward.handler.lambda_handler"), batch)
    sent = record_payloads(lambda_stub)
    expect_invoke(lambda_stub, answer, reward_function(plan.stack_name))

    result = run_cli("invoke", "demo_batch")

    assert result.exit_code == 0, result.output
    assert sent == [batch]
    assert f"with {len(batch)} samples" in result.stdout and "contract ok" in result.stdout


def test_no_credentials_for_a_judge_only_reward_suggests_its_tests(
    scaffolded: Scaffold, run_cli: Callable[..., Result], no_credentials: None
) -> None:
    """A reward with no part checked in code cannot rehearse without --judge: suggest what works."""
    plan = scaffolded("demo_judge", "rlaif")
    test_file = "tests/tasks/test_demo_judge_reward.py"
    assert (plan.root / test_file).is_file()

    result = run_cli("rehearse", "demo_judge", "--judge", "bedrock")

    assert_one_line_error(result, "no AWS credentials", "aws configure", f".venv/bin/pytest {test_file}")
    assert "without --judge" not in result.stderr
    refused = run_cli("rehearse", "demo_judge")  # what the old message suggested
    assert_one_line_error(refused, "rehearse it with --judge bedrock")
