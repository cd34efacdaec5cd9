"""A task's own config or data mistake fails only that task's stack; app-wide mistakes fail the app.

In-process (`build_task_stack` on a `cdk.App` with a fake context); the CLI's side of it, that
`cdk synth OtherStack` still exits 0, is in test_config_cli.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match

from stacks.config import (
    JUDGE_MAX_CONCURRENCY_RANGE,
    JUDGE_TIMEOUT_S_RANGE,
    VERDICT_WEIGHT_RANGE,
    ConfigError,
    Context,
    load_app_config,
    load_config,
)
from stacks.rft_stack import RftStack, build_task_stack, reward_judge
from tasks import task_by_name

GSM8K = task_by_name("gsm8k")
FINQA = task_by_name("finqa")
PANDALM = task_by_name("pandalm")

REPO_ROOT = Path(__file__).resolve().parents[2]


def broken_stack(task, tmp_path, **context):
    app = cdk.App(outdir=str(tmp_path / "cdk.out"), context=context)
    stack = build_task_stack(app, task)
    return app, stack


def test_a_missing_local_data_file_fails_only_that_stack_with_an_error_annotation(tmp_path):
    _, stack = broken_stack(
        FINQA, tmp_path, **{"rft:finqa:source": "local", "rft:finqa:path": str(tmp_path / "missing.json")}
    )
    assert not isinstance(stack, RftStack)
    assert stack.stack_name == "FinqaRftStack"
    assert not any(c.node.id == "Pipeline" for c in stack.node.children)
    Annotations.from_stack(stack).has_error(
        "/FinqaRftStack", Match.string_like_regexp(r"FinqaRftStack \(finqa\): .*missing\.json")
    )


def test_a_broken_row_in_one_tasks_file_fails_only_that_stack(tmp_path):
    rows = tmp_path / "train.jsonl"
    rows.write_text('{"prompt": "ok", "reference": "1"}\n{not json\n')
    _, stack = broken_stack(GSM8K, tmp_path, **{"rft:gsm8k:source": "local", "rft:gsm8k:path": str(rows)})
    assert not isinstance(stack, RftStack)
    errors = Annotations.from_stack(stack).find_error("*", Match.any_value())
    assert len(errors) == 1 and "GsmRftStack (gsm8k):" in json.dumps(errors[0].entry.data)


def test_a_misspelled_task_key_fails_only_that_stack_and_names_the_known_key(tmp_path):
    _, stack = broken_stack(GSM8K, tmp_path, **{"rft:gsm8k:epochcount": "2"})
    Annotations.from_stack(stack).has_error(
        "/GsmRftStack", Match.string_like_regexp("did you mean `rft:gsm8k:epochCount`")
    )


def test_the_other_stacks_of_that_app_still_build(tmp_path):
    app = cdk.App(outdir=str(tmp_path / "cdk.out"), context={"rft:finqa:source": "local"})
    finqa = build_task_stack(app, FINQA)
    gsm = build_task_stack(app, GSM8K)
    assert isinstance(gsm, RftStack) and not isinstance(finqa, RftStack)
    assert Annotations.from_stack(gsm).find_error("*", Match.any_value()) == []
    assert len(Annotations.from_stack(finqa).find_error("*", Match.any_value())) == 1


def test_an_app_wide_mistake_raises_for_every_stack(tmp_path):
    app = cdk.App(outdir=str(tmp_path / "cdk.out"), context={"rft:launchjob": "false"})
    with pytest.raises(ConfigError, match="did you mean `rft:launchJob`"):
        build_task_stack(app, GSM8K)


def test_app_py_prints_one_line_and_no_traceback_for_an_app_wide_mistake(tmp_path):
    env = {
        **os.environ,
        # How the CDK CLI hands the app its context and output directory.
        "CDK_CONTEXT_JSON": json.dumps({"rft:launchjob": "false"}),
        "CDK_OUTDIR": str(tmp_path / "cdk.out"),
    }
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: Unknown key `rft:launchjob` (from -c); did you mean `rft:launchJob`?"
    ]


# -- the judge limits are the reward Lambda's --------------------------------------------------------
def _lambda_problems(env: dict[str, str]) -> list[str]:
    from pandalm_reward.scoring import verdict_weight
    from rft_reward.judge.client import JudgeSettings

    _, problems = JudgeSettings.from_env({"JUDGE_MODEL_ID": "m", **env})
    return problems + verdict_weight(env)[1]


@pytest.mark.parametrize(
    ("key", "variable", "bounds", "step"),
    [
        ("verdictWeight", "VERDICT_WEIGHT", VERDICT_WEIGHT_RANGE, 0.01),
        ("judgeMaxConcurrency", "JUDGE_MAX_CONCURRENCY", JUDGE_MAX_CONCURRENCY_RANGE, 1),
        ("judgeTimeoutS", "JUDGE_TIMEOUT_S", JUDGE_TIMEOUT_S_RANGE, 0.01),
    ],
)
def test_synth_accepts_exactly_what_the_reward_lambda_accepts(key, variable, bounds, step):
    low, high = bounds
    for value in (low, high):
        config = load_config(PANDALM, Context.from_layers({}, {f"rft:pandalm:{key}": str(value)}))
        env = reward_judge(config).environment
        assert _lambda_problems(env) == [], (key, value)
    for value in (low - step, high + step):
        with pytest.raises(ConfigError, match=f"rft:pandalm:{key}"):
            load_config(PANDALM, Context.from_layers({}, {f"rft:pandalm:{key}": str(value)}))
        assert _lambda_problems({variable: str(value)}), (key, value)


def test_the_default_judge_environment_is_accepted_by_the_reward_lambda():
    env = reward_judge(load_config(PANDALM, Context.from_layers({}, {}))).environment
    assert _lambda_problems(env) == []
    assert load_app_config(Context.from_layers({}, {})).region == "us-east-1"
