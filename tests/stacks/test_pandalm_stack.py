"""PandalmRftStack: the judge reward may invoke only the configured judge model, sized for latency."""

from __future__ import annotations

import json

from tests.stacks.test_gsm_stack import actions_of, only, statements


def reward_statements(template):
    return statements(template, "RewardRole")


def test_reward_role_invokes_only_the_judge_profile_and_its_model(synth):
    t = synth("pandalm")
    invoke = [s for s in reward_statements(t) if "bedrock:InvokeModel" in actions_of(s)]
    assert len(invoke) == 1
    assert actions_of(invoke[0]) == ["bedrock:InvokeModel"]
    resources = json.dumps(invoke[0]["Resource"])
    assert ":inference-profile/us.amazon.nova-pro-v1:0" in resources
    assert "foundation-model/amazon.nova-pro-v1:0" in resources
    assert '"*"' not in resources
    granted = {a for s in reward_statements(t) for a in actions_of(s)}
    assert granted == {"bedrock:InvokeModel", "logs:CreateLogStream", "logs:PutLogEvents"}


def test_a_plain_foundation_model_judge_is_scoped_to_that_model_in_the_region(synth):
    t = synth("pandalm", **{"rft:pandalm:judgeModelId": "amazon.nova-lite-v1:0"})
    [invoke] = [s for s in reward_statements(t) if "bedrock:InvokeModel" in actions_of(s)]
    resource = json.dumps(invoke["Resource"])
    assert ":bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0" in resource
    assert "*" not in resource and "inference-profile" not in resource
    fn = only(t, "AWS::Lambda::Function", "RewardFunction")["Properties"]
    assert fn["Environment"]["Variables"]["JUDGE_MODEL_ID"] == "amazon.nova-lite-v1:0"


def test_judge_settings_reach_the_reward_environment_and_sizing(synth):
    fn = only(synth("pandalm"), "AWS::Lambda::Function", "RewardFunction")["Properties"]
    env = fn["Environment"]["Variables"]
    assert env["JUDGE_MODEL_ID"] == "us.amazon.nova-pro-v1:0"
    assert env["VERDICT_WEIGHT"] == "0.5"
    assert env["JUDGE_MAX_CONCURRENCY"] == "16"
    assert env["JUDGE_TIMEOUT_S"] == "30"
    assert fn["Timeout"] == 300
    assert fn["ReservedConcurrentExecutions"] == 10


def test_reserved_concurrency_can_be_turned_off_for_small_accounts(synth):
    fn = only(
        synth("pandalm", **{"rft:pandalm:rewardReservedConcurrency": "0"}),
        "AWS::Lambda::Function",
        "RewardFunction",
    )
    assert "ReservedConcurrentExecutions" not in fn["Properties"]


def test_rlvr_rewards_get_no_bedrock_access(synth):
    granted = {a for s in reward_statements(synth("gsm8k")) for a in actions_of(s)}
    assert not any(a.startswith("bedrock:") for a in granted)
