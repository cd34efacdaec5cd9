"""PandalmRftStack: the judge reward may invoke only the configured judge model, sized for latency."""

from __future__ import annotations

from aws_cdk.assertions import Capture, Match, Template

REWARD_HANDLER = "pandalm_reward.handler.lambda_handler"


def reward_statements(template: Template, handler: str = REWARD_HANDLER) -> list[dict]:
    """The statements the reward function's role is granted."""
    role = Capture()
    template.has_resource_properties(
        "AWS::Lambda::Function", {"Handler": handler, "Role": {"Fn::GetAtt": [role, "Arn"]}}
    )
    [policy] = template.find_resources(
        "AWS::IAM::Policy", {"Properties": Match.object_like({"Roles": [{"Ref": role.as_string()}]})}
    ).values()
    return policy["Properties"]["PolicyDocument"]["Statement"]


def test_reward_role_invokes_only_the_judge_profile_and_its_model(synth):
    statements = reward_statements(synth("pandalm"))
    assert [s for s in statements if s["Action"] != ["logs:CreateLogStream", "logs:PutLogEvents"]] == [
        {
            "Action": "bedrock:InvokeModel",
            "Effect": "Allow",
            "Resource": [
                "arn:aws:bedrock:*::foundation-model/amazon.nova-pro-v1:0",
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:aws:bedrock:us-east-1:",
                            {"Ref": "AWS::AccountId"},
                            ":inference-profile/us.amazon.nova-pro-v1:0",
                        ],
                    ]
                },
            ],
        }
    ]


def test_a_plain_foundation_model_judge_is_scoped_to_that_model_in_the_region(synth):
    t = synth("pandalm", **{"rft:pandalm:judgeModelId": "amazon.nova-lite-v1:0"})
    assert {"Action": "bedrock:InvokeModel", "Effect": "Allow",
            "Resource": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"} in reward_statements(t)  # fmt: skip
    t.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": REWARD_HANDLER,
            "Environment": {"Variables": Match.object_like({"JUDGE_MODEL_ID": "amazon.nova-lite-v1:0"})},
        },
    )


def test_judge_settings_reach_the_reward_environment_and_sizing(synth):
    synth("pandalm").has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": REWARD_HANDLER,
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "JUDGE_MODEL_ID": "us.amazon.nova-pro-v1:0",
                        "VERDICT_WEIGHT": "0.5",
                        "JUDGE_MAX_CONCURRENCY": "16",
                        "JUDGE_TIMEOUT_S": "30",
                    }
                )
            },
            "Timeout": 300,
            "ReservedConcurrentExecutions": 10,
        },
    )


def test_one_judge_setting_override_reaches_the_environment(synth):
    synth("pandalm", **{"rft:pandalm:verdictWeight": "0.8"}).has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": REWARD_HANDLER,
            "Environment": {"Variables": Match.object_like({"VERDICT_WEIGHT": "0.8"})},
        },
    )


def test_reserved_concurrency_can_be_turned_off_for_small_accounts(synth):
    synth("pandalm", **{"rft:pandalm:rewardReservedConcurrency": "0"}).has_resource_properties(
        "AWS::Lambda::Function", {"Handler": REWARD_HANDLER, "ReservedConcurrentExecutions": Match.absent()}
    )


def test_rlvr_rewards_get_no_bedrock_access(synth):
    statements = reward_statements(synth("gsm8k"), "gsm8k_reward.handler.lambda_handler")
    assert [s["Action"] for s in statements] == [["logs:CreateLogStream", "logs:PutLogEvents"]]
