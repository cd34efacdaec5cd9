"""stacks.config: every configuration mistake fails synth with a message naming the key and the fix.

In-process and fast: the loader is called with a fake context (`Context.from_layers(cdk_json, -c)`),
the way `app.py` and `rft config` call it, instead of running the CDK CLI.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

import pytest

from stacks.config import (
    APP_DEFAULTS,
    NOVA_2_LITE,
    ConfigError,
    Context,
    TaskConfigError,
    did_you_mean,
    load_app_config,
    load_config,
)
from stacks.rft_stack import reward_judge
from tasks import TASKS, JudgeSpec, task_by_name

GSM8K = task_by_name("gsm8k")
FINQA = task_by_name("finqa")
PANDALM = task_by_name("pandalm")


def load(task=GSM8K, *, cdk_json: dict[str, Any] | None = None, **overrides: Any):
    return load_config(task, Context.from_layers(cdk_json or {}, overrides))


def fails(match: str, task=GSM8K, *, error: type[ConfigError] = ConfigError, **overrides: Any) -> str:
    with pytest.raises(error, match=match) as raised:
        load(task, **overrides)
    return str(raised.value)


# -- defaults live once: TaskSpec and APP_DEFAULTS -------------------------------------------------
@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_with_no_context_the_task_spec_defaults_are_what_deploys(task):
    config = load(task)
    assert config.hyperparameters == dict(task.hyperparameters)
    # rft:region unset: the region follows the (Nova) model.
    assert APP_DEFAULTS["rft:region"] is None
    assert config.region == "us-east-1" and config.base_model == NOVA_2_LITE and not config.is_open_weight
    assert config.launch_job is True and config.log_retention_days == 30
    assert config.judge == task.judge
    assert config.reward_reserved_concurrency == task.reward_reserved_concurrency
    assert config.settings == {}
    assert {s.source for s in config.provenance} == {"default"}


def test_provenance_says_default_cdk_json_or_dash_c():
    config = load(
        PANDALM,
        cdk_json={"rft:pandalm": {"hyperParameters": {"batchSize": 32}}, "rft:launchJob": False},
        **{"rft:pandalm:verdictWeight": "0.7"},
    )
    source = {s.key: (s.value, s.source) for s in config.provenance}
    assert source["rft:pandalm:batchSize"] == (32, "cdk.json")
    assert source["rft:launchJob"] == (False, "cdk.json")
    assert source["rft:pandalm:verdictWeight"] == ("0.7", "-c")
    assert source["rft:pandalm:epochCount"] == (2, "default")
    assert config.judge == JudgeSpec("us.amazon.nova-pro-v1:0", verdict_weight=0.7)
    assert reward_judge(config).environment["VERDICT_WEIGHT"] == "0.7"


def test_a_single_value_overrides_the_block_and_the_block_overrides_the_default():
    config = load(
        cdk_json={"rft:gsm8k": {"hyperParameters": {"epochCount": 3, "batchSize": 64}}},
        **{"rft:gsm8k:epochCount": "2"},
    )
    assert config.hyperparameters["epochCount"] == 2 and config.hyperparameters["batchSize"] == 64


def test_the_legacy_get_callable_still_works():
    context = {"rft:gsm8k:epochCount": "4"}
    assert load_config(GSM8K, context.get).hyperparameters["epochCount"] == 4


# -- unknown keys: "did you mean" ------------------------------------------------------------------
def test_did_you_mean_prefers_a_case_insensitive_match():
    assert did_you_mean("launchjob", ["launchJob", "lunchJob"]) == "launchJob"
    assert did_you_mean("epochCont", ["epochCount", "batchSize"]) == "epochCount"
    assert did_you_mean("zzz", ["epochCount"]) is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"rft:launchjob": "false"},
            r"Unknown key `rft:launchjob` \(from -c\); did you mean `rft:launchJob`\?",
        ),
        ({"rft:regoin": "us-east-1"}, r"did you mean `rft:region`\?"),
        ({"rft:gsm8K": {}}, r"did you mean `rft:gsm8k`\?"),
        (
            {"rft:nosuchtask:epochCount": "2"},
            r"Unknown task 'nosuchtask'.*the tasks are gsm8k, finqa, pandalm",
        ),
        ({"rft:GSM8K:epochCount": "2"}, r"did you mean `rft:gsm8k:epochCount`\?"),
        ({"rft:nosuchtask": {}}, r"Unknown key `rft:nosuchtask`.*not a task \(gsm8k, finqa, pandalm[,)]"),
    ],
)
def test_unknown_app_keys_and_task_names_fail_the_whole_app(overrides, message):
    with pytest.raises(ConfigError, match=message) as raised:
        load_app_config(Context.from_layers({}, overrides))
    assert not isinstance(raised.value, TaskConfigError)


def test_a_misspelled_key_in_cdk_json_is_named_as_coming_from_cdk_json():
    with pytest.raises(ConfigError, match=r"`rft:launchjob` \(in cdk.json\); did you mean `rft:launchJob`"):
        load_app_config(Context.from_layers({"rft:launchjob": False}, {}))


@pytest.mark.parametrize(
    ("task", "overrides", "message"),
    [
        (
            GSM8K,
            {"rft:gsm8k:epochcount": "2"},
            r"`rft:gsm8k:epochcount` \(from -c\); did you mean `rft:gsm8k:epochCount`",
        ),
        (GSM8K, {"rft:gsm8k:sed": "1"}, r"did you mean `rft:gsm8k:seed`"),
        (
            GSM8K,
            {"rft:gsm8k": {"hyperparamters": {}}},
            r"'hyperparamters' in `rft:gsm8k`.*did you mean 'hyperParameters'",
        ),
        (
            GSM8K,
            {"rft:gsm8k": {"hyperParameters": {"epochs": 1}}},
            r"→ hyperParameters.*did you mean 'epochCount'",
        ),
        (FINQA, {"rft:finqa": {"data": {"onOverLong": "drop"}}}, r"→ data.*did you mean 'onOverlong'"),
        (GSM8K, {"rft:gsm8k:judgeModelId": "amazon.nova-pro-v1:0"}, r"task gsm8k is RLVR and has no judge"),
        (GSM8K, {"rft:gsm8k": {"verdictWeight": 0.5}}, r"task gsm8k is RLVR and has no judge"),
        (PANDALM, {"rft:pandalm:judgeModel": "x"}, r"did you mean `rft:pandalm:judgeModelId`"),
        (GSM8K, {"rft:gsm8k": [1]}, r"`rft:gsm8k` must be an object"),
    ],
)
def test_unknown_task_keys_fail_that_task_with_the_known_key(task, overrides, message):
    with pytest.raises(TaskConfigError, match=message):
        load(task, **overrides)


def test_another_tasks_mistake_does_not_fail_this_task():
    assert load(GSM8K, **{"rft:finqa:epochcount": "2"}).task is GSM8K


# -- judge settings ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("verdictWeight", "5", "a number from 0 to 1"),
        ("verdictWeight", "-0.1", "a number from 0 to 1"),
        ("verdictWeight", "half", "a number from 0 to 1"),
        ("judgeTimeoutS", "abc", "a number of seconds from 0.1 to 900"),
        ("judgeTimeoutS", "0", "a number of seconds from 0.1 to 900"),
        ("judgeMaxConcurrency", "0", "a whole number from 1 to 256"),
        ("judgeMaxConcurrency", "2.5", "a whole number from 1 to 256"),
        ("judgeMaxConcurrency", "1000", "a whole number from 1 to 256"),
        ("judgeModelId", "", "a Bedrock model id, inference profile id or ARN"),
        ("judgeModelId", "nova pro", "a Bedrock model id"),
        ("rewardReservedConcurrency", "-1", "a whole number >= 0"),
        ("rewardReservedConcurrency", "lots", "a whole number >= 0"),
    ],
)
def test_a_bad_judge_setting_fails_synth_naming_the_key_and_the_rule(key, value, rule):
    message = fails(re.escape(rule), PANDALM, error=TaskConfigError, **{f"rft:pandalm:{key}": value})
    assert f"rft:pandalm:{key}" in message


@pytest.mark.parametrize(
    "model",
    [
        "us.amazon.nova-pro-v1:0",
        "amazon.nova-lite-v1:0",
        "global.anthropic.claude-sonnet-4-20250514-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0",
    ],
)
def test_plausible_judge_models_are_accepted(model):
    assert load(PANDALM, **{"rft:pandalm:judgeModelId": model}).judge_model_id == model


def test_good_judge_overrides_reach_the_judge_environment():
    config = load(
        PANDALM,
        **{
            "rft:pandalm:judgeMaxConcurrency": "8",
            "rft:pandalm:judgeTimeoutS": "12.5",
            "rft:pandalm:rewardReservedConcurrency": "none",
        },
    )
    assert reward_judge(config).environment == {
        "JUDGE_MODEL_ID": "us.amazon.nova-pro-v1:0",
        "VERDICT_WEIGHT": "0.5",
        "JUDGE_MAX_CONCURRENCY": "8",
        "JUDGE_TIMEOUT_S": "12.5",
    }
    assert config.reward_reserved_concurrency is None


# -- region and base model --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rft:region": "mars"}, r"rft:region 'mars' is not an AWS region name"),
        ({"rft:region": "US-EAST-1"}, r"is not an AWS region name"),
        (
            {"rft:region": "eu-west-1"},
            r"trains amazon.nova-2-lite-v1:0:256k in us-east-1 only, but rft:region is eu-west-1; "
            r"set -c rft:region=us-east-1",
        ),
        (
            {"rft:baseModel": "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-2-lite-v1:0:256k"},
            r"rft:baseModel names region us-west-2 but rft:region is us-east-1",
        ),
        (
            {"rft:baseModel": "openai.gpt-oss-20b", "rft:region": "us-east-1"},
            r"trains openai.gpt-oss-20b in us-west-2 only, but rft:region is us-east-1; set -c rft:region=us-west-2",
        ),
        ({"rft:baseModel": "amazon.nova-pro-v1:0"}, r"not a base model Bedrock RFT trains; use one of"),
        ({"rft:baseModel": "arn:nonsense"}, r"is not a Bedrock model ARN"),
        (
            {
                "rft:baseModel": "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-2-lite-v1:0:256k/abc"
            },
            r"is a custom-model ARN; bedrock-rft fine-tunes a foundation model",
        ),
        ({"rft:launchJob": "maybe"}, r"rft:launchJob must be true or false"),
        ({"rft:logRetentionDays": "a month"}, r"rft:logRetentionDays must be a whole number"),
        ({"rft:notificationEmail": "nobody"}, r"is not an email address"),
    ],
)
def test_bad_app_settings_fail_the_whole_app(overrides, message):
    with pytest.raises(ConfigError, match=message) as raised:
        load_app_config(Context.from_layers({}, overrides))
    assert not isinstance(raised.value, TaskConfigError)


def test_the_nova_2_lite_model_id_alone_is_accepted_in_us_east_1():
    assert (
        load(**{"rft:baseModel": "amazon.nova-2-lite-v1:0:256k"}).base_model == "amazon.nova-2-lite-v1:0:256k"
    )


# -- hyperparameters and data ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rft:gsm8k:batchSize": "8"}, r"batchSize 8 is below Bedrock's minimum of 16"),
        ({"rft:gsm8k:epochCount": "two"}, r"epochCount must be a whole number.*rft:gsm8k"),
        ({"rft:gsm8k:reasoningEffort": "extreme"}, r"reasoningEffort 'extreme' must be one of"),
        ({"rft:gsm8k:seed": "x"}, r"seed must be a whole number.*rft:gsm8k"),
    ],
)
def test_bad_task_values_are_task_errors(overrides, message):
    with pytest.raises(TaskConfigError, match=message):
        load(**overrides)


def test_rft_config_keeps_the_attributes_the_construct_reads():
    config = load(PANDALM)
    for name in ("region", "base_model", "launch_job", "destroy_data_on_delete", "log_retention_days"):
        assert getattr(config, name) == getattr(load_app_config(Context({})), name), name
    assert config.notification_email == "" and config.max_prompt_tokens == 2048
    assert config.judge_model_id == "us.amazon.nova-pro-v1:0" and config.reward_reserved_concurrency == 10
    assert [f.name for f in fields(config)][-5:] == [
        "task",
        "hyperparameters",
        "data_options",
        "settings",
        "judge",
    ]
