"""TrainingMonitor: the dashboard names this stack's reward function and metrics; each alarm watches the
right metric with its configured threshold, ignores missing data on purpose, and notifies the topic."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match, Template

from stacks.alarm_thresholds import ALARM_DEFAULTS, AlarmThresholds
from stacks.config import REPO_ROOT, ConfigError, load_app_config
from stacks.metric_names import names

GSM_TIMEOUT_MS = 60_000


def only(template: Template, resource_type: str, props: Any = None) -> tuple[str, dict[str, Any]]:
    found = template.find_resources(resource_type, {"Properties": props} if props is not None else None)
    assert len(found) == 1, found
    return next(iter(found.items()))


def serialized(value: Any) -> str:
    """A Fn::Join'ed string with each token written `<X>` (Ref) or `<X.Arn>` (GetAtt)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(serialized(p) for p in parts)
    if isinstance(value, dict) and "Ref" in value:
        return "<" + value["Ref"] + ">"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "<" + ".".join(value["Fn::GetAtt"]) + ">"
    raise AssertionError(f"unexpected token {value}")


def dashboard_body(template: Template) -> tuple[str, dict[str, Any]]:
    name = Capture()
    _, dashboard = only(
        template, "AWS::CloudWatch::Dashboard", {"DashboardName": name, "DashboardBody": Match.any_value()}
    )
    text = serialized(dashboard["Properties"]["DashboardBody"])
    # The tokens sit inside JSON strings, so the body stays JSON once they are named.
    return name.as_string(), json.loads(text)


def reward_function_ref(template: Template, handler: str) -> str:
    logical_id, _ = only(template, "AWS::Lambda::Function", {"Handler": handler, "Role": Match.any_value()})
    return "<" + logical_id + ">"


def widget_metrics(body: dict[str, Any]) -> dict[str, list[list[Any]]]:
    return {w["properties"].get("title", ""): w["properties"].get("metrics", []) for w in body["widgets"]}


def alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
    }


def topic_ref(template: Template) -> dict[str, str]:
    logical_id, _ = only(template, "AWS::SNS::Topic")
    return {"Ref": logical_id}


def test_dashboard_widgets_name_this_stacks_function_and_namespace(synth):
    template = synth("gsm8k")
    name, body = dashboard_body(template)
    assert name == "GsmRftStack-training"
    function = reward_function_ref(template, "gsm8k_reward.handler.lambda_handler")
    metrics = widget_metrics(body)
    reward = metrics["Mean reward (the live training-reward curve)"]
    assert reward[0][:4] == ["BedrockRft", "MeanReward", "service", "gsm8k-reward"]
    assert reward[0][4] == {"label": "mean reward (5 min)"}  # the dashboard's defaults: Average, 5 min
    batches = metrics["Batches scored per minute"]
    assert batches[0][:4] == ["BedrockRft", "BatchSize", "service", "gsm8k-reward"]
    assert batches[0][4] == {"label": "batches", "period": 60, "stat": "SampleCount"}
    failures = metrics["Format failures, bad samples, scorer errors (per 5 min)"]
    assert [m[1] for m in failures] == ["FormatFailures", "BadSamples", "ScorerErrors", "InternalErrors"]
    for title in (
        "Reward function invocations, errors, throttles",
        "Reward function concurrency",
        "Reward function duration (ms) against its timeout",
    ):
        assert all(m[:4] == ["AWS/Lambda", m[1], "FunctionName", function] for m in metrics[title]), title
    assert [m[1] for m in metrics["Reward function invocations, errors, throttles"]] == [
        "Invocations",
        "Errors",
        "Throttles",
    ]
    duration = next(
        w for w in body["widgets"] if w["properties"].get("title", "").startswith("Reward function duration")
    )
    assert [m[4]["stat"] for m in duration["properties"]["metrics"]] == ["p95", "Maximum"]
    lines = duration["properties"]["annotations"]["horizontal"]
    assert [line["value"] for line in lines] == [GSM_TIMEOUT_MS, 0.8 * GSM_TIMEOUT_MS]
    assert not [t for t in metrics if "Judge" in t]  # an RLVR task has no judge widgets
    status = next(w for w in body["widgets"] if w["properties"].get("title") == "Training alarms")
    alarm_ids = sorted(template.find_resources("AWS::CloudWatch::Alarm"))
    assert sorted(status["properties"]["alarms"]) == [f"<{a}.Arn>" for a in alarm_ids]
    assert len(alarm_ids) == 4


def test_an_rlaif_dashboard_adds_the_judges_calls_errors_and_latency(synth):
    _, body = dashboard_body(synth("pandalm"))
    metrics = widget_metrics(body)
    assert [m[:4] for m in metrics["Judge calls and errors (per 5 min)"]] == [
        ["BedrockRft", n, "service", "pandalm-reward"]
        for n in ("JudgeCalls", "JudgeErrors", "JudgeThrottlesRetried")
    ]
    assert [(m[1], m[4].get("stat", "Average")) for m in metrics["Judge latency (ms)"]] == [
        ("JudgeLatencyMsMean", "Average"),
        ("JudgeLatencyMsMax", "Maximum"),
    ]


def test_each_alarm_watches_its_metric_with_its_threshold_and_notifies_the_topic(synth):
    template = synth("gsm8k")
    found = alarms(template)
    prefix = "GsmRftStack-training-"
    assert sorted(found) == [
        prefix + n for n in ("batches-stalled", "reward-duration", "reward-errors", "scorer-errors")
    ]
    topic = topic_ref(template)

    errors = found[prefix + "reward-errors"]
    assert errors["Threshold"] == 0 and errors["ComparisonOperator"] == "GreaterThanThreshold"
    assert errors["TreatMissingData"] == "notBreaching" and errors["EvaluationPeriods"] == 1
    assert errors["AlarmActions"] == [topic]
    expression = next(m for m in errors["Metrics"] if "Expression" in m)
    assert expression["Expression"] == "FILL(errors, 0) + FILL(throttles, 0)" and expression["ReturnData"]
    inputs = {m["Id"]: m["MetricStat"] for m in errors["Metrics"] if "MetricStat" in m}
    assert {
        i: (s["Metric"]["MetricName"], s["Metric"]["Namespace"], s["Period"], s["Stat"])
        for i, s in inputs.items()
    } == {
        "errors": ("Errors", "AWS/Lambda", 300, "Sum"),
        "throttles": ("Throttles", "AWS/Lambda", 300, "Sum"),
    }

    duration = found[prefix + "reward-duration"]
    assert (
        duration["MetricName"],
        duration["Namespace"],
        duration["ExtendedStatistic"],
        duration["Period"],
    ) == (
        "Duration",
        "AWS/Lambda",
        "p95",
        300,
    )
    assert duration["Threshold"] == 0.8 * GSM_TIMEOUT_MS
    assert duration["TreatMissingData"] == "notBreaching" and duration["AlarmActions"] == [topic]

    scorer = found[prefix + "scorer-errors"]
    assert (scorer["MetricName"], scorer["Namespace"], scorer["Statistic"], scorer["Period"]) == (
        "ScorerErrors",
        "BedrockRft",
        "Sum",
        300,
    )
    assert scorer["Dimensions"] == [{"Name": "service", "Value": "gsm8k-reward"}]
    assert scorer["Threshold"] == 0 and scorer["TreatMissingData"] == "notBreaching"
    assert scorer["AlarmActions"] == [topic]

    stalled = found[prefix + "batches-stalled"]
    assert (stalled["MetricName"], stalled["Statistic"], stalled["Period"]) == (
        "BatchSize",
        "SampleCount",
        60,
    )
    assert stalled["EvaluationPeriods"] == 30 and stalled["Threshold"] == 1
    assert stalled["ComparisonOperator"] == "LessThanThreshold"
    # Missing data stays missing: the alarm notifies when it leaves OK for INSUFFICIENT_DATA.
    assert stalled["TreatMissingData"] == "missing"
    assert stalled["InsufficientDataActions"] == [topic] and "AlarmActions" not in stalled


def test_the_judge_error_rate_alarm_is_errors_over_calls(synth):
    found = alarms(synth("pandalm"))
    rate = found["PandalmRftStack-training-judge-error-rate"]
    assert rate["Threshold"] == 0.1 and rate["TreatMissingData"] == "notBreaching"
    expression = next(m for m in rate["Metrics"] if "Expression" in m)
    assert expression["Expression"] == "errors / calls"
    inputs = {m["Id"]: m["MetricStat"]["Metric"]["MetricName"] for m in rate["Metrics"] if "MetricStat" in m}
    assert inputs == {"errors": "JudgeErrors", "calls": "JudgeCalls"}
    assert len(found) == 5


def test_thresholds_come_from_the_context(synth):
    template = synth(
        "gsm8k",
        **{
            "rft:alarmDurationShareOfTimeout": 0.5,
            "rft:alarmEvaluationMinutes": 10,
            "rft:alarmScorerErrors": 3,
            "rft:alarmStalledMinutes": 0,
        },
    )
    found = alarms(template)
    assert "GsmRftStack-training-batches-stalled" not in found
    assert found["GsmRftStack-training-reward-duration"]["Threshold"] == 0.5 * GSM_TIMEOUT_MS
    assert found["GsmRftStack-training-scorer-errors"]["Threshold"] == 3
    assert found["GsmRftStack-training-scorer-errors"]["Period"] == 600


def test_cloudwatch_may_use_the_topic_and_its_key_for_this_stacks_alarms_only(synth):
    template = synth("gsm8k")
    alarm_arn = {
        "Fn::Join": [
            "",
            [
                "arn:aws:cloudwatch:us-east-1:",
                {"Ref": "AWS::AccountId"},
                ":alarm:GsmRftStack-training-*",
            ],
        ]
    }
    conditions = {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": alarm_arn},
    }
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            "Resource": "*",
                            "Condition": conditions,
                        }
                    ]
                )
            }
        },
    )
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "sns:Publish",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Condition": conditions,
                            }
                        )
                    ]
                )
            }
        },
    )


def test_the_stack_outputs_its_dashboard_name(synth):
    synth("gsm8k").has_output("DashboardName", {"Value": "GsmRftStack-training"})


def test_the_names_are_the_reward_packages():
    """One definition: the handler's EMF namespace is the one the stack watches."""
    assert names.NAMESPACE == "BedrockRft"
    assert names.alarm_name_prefix("S") == "S-training-"


# -- configuration -------------------------------------------------------------------------------
def test_defaults_are_the_constructs():
    assert load_app_config({}).alarms == AlarmThresholds()
    assert ALARM_DEFAULTS["rft:alarmStalledMinutes"] == 30


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"rft:alarmStaledMinutes": 10}, r"did you mean `rft:alarmStalledMinutes`\?"),
        (
            {"rft:alarmJudgeErrorRate": 1.5},
            r"rft:alarmJudgeErrorRate is 1.5, but it must be a number from 0 to 1",
        ),
        ({"rft:alarmEvaluationMinutes": "2.5"}, r"must be a whole number from 1 to 1440"),
        ({"rft:alarmDurationShareOfTimeout": "high"}, r"rft:alarmDurationShareOfTimeout is 'high'"),
    ],
)
def test_a_bad_alarm_setting_is_one_clear_error(context: dict[str, Any], message: str):
    with pytest.raises(ConfigError, match=message):
        load_app_config(context)


def test_an_override_from_the_command_line_is_coerced():
    assert load_app_config(
        {"rft:alarmStalledMinutes": "45", "rft:alarmRewardErrors": "2"}
    ).alarms == AlarmThresholds(stalled_minutes=45, reward_errors=2)


def test_every_alarm_setting_is_documented():
    text = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for key in ALARM_DEFAULTS:
        assert f"`{key}`" in text, key
