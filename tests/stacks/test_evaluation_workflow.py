"""The post-training evaluation in the template (stacks/evaluation_workflow.py): the rule that starts
it, the state machine's states, retries and catches (parsed from its DefinitionString), who may read
the test split (never the Bedrock service role), the scoped Bedrock grants, and nothing of it with
`rft:evaluateOnCompletion=false`."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest
from aws_cdk.assertions import Template
from moto.events.models import EventPattern

from stacks.bedrock_model import BedrockModel
from stacks.config import ConfigError, Context, load_app_config
from stacks.evaluation_workflow import (
    ANSWER_TIMEOUT,
    LAMBDA_TRANSIENT_ERRORS,
    READS_TEST_DATA,
    STEPS,
    WORST_CALL_S,
    shard_size,
)

OFF = {"rft:evaluateOnCompletion": "false"}
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOKEN = "<token>"


# -- helpers -----------------------------------------------------------------------------------------
def resources(t: Template, kind: str) -> dict[str, dict[str, Any]]:
    return t.find_resources(kind)


def step_functions(t: Template) -> dict[str, str]:
    """Step construct id -> the logical id of its function, found by handler."""
    found = {}
    for logical, function in resources(t, "AWS::Lambda::Function").items():
        handler = function["Properties"].get("Handler", "")
        for step, name in STEPS.items():
            if handler == f"rft_eval_workflow.handler.{name}":
                found[step] = logical
    return found


def role_of(t: Template, function: str) -> str:
    return resources(t, "AWS::Lambda::Function")[function]["Properties"]["Role"]["Fn::GetAtt"][0]


def statements_by_role(t: Template) -> dict[str, list[dict[str, Any]]]:
    by_role: dict[str, list[dict[str, Any]]] = {}
    for policy in resources(t, "AWS::IAM::Policy").values():
        for ref in policy["Properties"]["Roles"]:
            by_role.setdefault(ref["Ref"], []).extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return by_role


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def render(value: Any) -> str:
    """An ARN as text, with the account and bucket tokens written out (`Fn::Join` of strings, `Ref`s
    and the bootstrap bucket's `Fn::Sub`) so resource patterns can be matched against it."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(render(p) for p in parts)
    if "Fn::Sub" in value:
        return value["Fn::Sub"].replace("${AWS::AccountId}", "123456789012")
    if value.get("Ref") == "AWS::AccountId":
        return "123456789012"
    return TOKEN + json.dumps(value, sort_keys=True)


def definition(t: Template) -> dict[str, Any]:
    (machine,) = resources(t, "AWS::StepFunctions::StateMachine").values()
    sep, parts = machine["Properties"]["DefinitionString"]["Fn::Join"]
    return json.loads(sep.join(p if isinstance(p, str) else TOKEN for p in parts))


def split_object(t: Template) -> str:
    """The TestData asset's object ARN, from the URI every step is given."""
    (plan,) = [step_functions(t)["PlanShards"]]
    uri = render(
        resources(t, "AWS::Lambda::Function")[plan]["Properties"]["Environment"]["Variables"]["TEST_DATA_URI"]
    )
    assert uri.startswith("s3://") and uri.endswith(".jsonl"), uri
    return "arn:aws:s3:::" + uri.removeprefix("s3://")


def may_read(statements: list[dict[str, Any]], object_arn: str) -> bool:
    """Whether any Allow statement grants a read action on a resource pattern covering the object."""
    for s in statements:
        actions = as_list(s["Action"])
        reads = any(fnmatch.fnmatchcase("s3:GetObject", a) for a in actions)
        covered = any(fnmatch.fnmatchcase(object_arn, render(r)) for r in as_list(s["Resource"]))
        if s["Effect"] == "Allow" and reads and covered:
            return True
    return False


# -- the trigger -------------------------------------------------------------------------------------
# The sample event of the Bedrock user guide ("How EventBridge for Amazon Bedrock works"), for a job
# of this stack that completed.
SAMPLE = {
    "version": "0",
    "id": "UUID",
    "detail-type": "Model Customization Job State Change",
    "source": "aws.bedrock",
    "account": "123456789012",
    "time": "2023-08-11T12:34:56Z",
    "region": "us-east-1",
    "resources": ["arn:aws:bedrock:us-east-1:123456789012:model-customization-job/abcdefghwxyz"],
    "detail": {
        "version": "0.0",
        "jobName": "gsmrftstack-0123456789ab",
        "jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/abcdefghwxyz",
        "outputModelName": "gsmrftstack-model",
        "outputModelArn": "arn:aws:bedrock:us-east-1:123456789012:custom-model/x/abcdefghijkl",
        "roleArn": "arn:aws:iam::123456789012:role/JobExecutionRole",
        "jobStatus": "Completed",
        "creationTime": "2023-08-11T10:11:12Z",
        "lastModifiedTime": "2023-08-11T12:34:56Z",
    },
}


def evaluation_rule(t: Template) -> dict[str, Any]:
    (rule,) = [
        r
        for r in resources(t, "AWS::Events::Rule").values()
        if "jobStatus" in r["Properties"]["EventPattern"]["detail"]
    ]
    return rule["Properties"]


def test_the_rule_matches_this_stacks_completed_jobs_only_and_starts_the_state_machine(synth):
    t = synth()
    rule = evaluation_rule(t)
    assert rule["EventPattern"] == {
        "source": ["aws.bedrock"],
        "detail-type": ["Model Customization Job State Change"],
        "detail": {"jobName": [{"prefix": "gsmrftstack-"}], "jobStatus": ["Completed"]},
    }
    (machine,) = resources(t, "AWS::StepFunctions::StateMachine")
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": machine}
    pattern = EventPattern.load(json.dumps(rule["EventPattern"]))
    assert pattern.matches_event(SAMPLE)
    for detail in (
        {"jobStatus": "InProgress"},
        {"jobStatus": "Failed"},
        {"jobName": "finqarftstack-0123456789ab"},
    ):
        assert not pattern.matches_event({**SAMPLE, "detail": {**SAMPLE["detail"], **detail}}), detail


def test_the_rule_reuses_the_notifications_pattern(synth):
    # The job-events rule matches every state change of the same jobs: the same pattern, minus the status.
    t = synth()
    ours = evaluation_rule(t)["EventPattern"]
    (notifications,) = [
        r["Properties"]["EventPattern"] for r in resources(t, "AWS::Events::Rule").values()
        if "jobStatus" not in r["Properties"]["EventPattern"]["detail"]
    ]  # fmt: skip
    assert {**ours, "detail": {"jobName": ours["detail"]["jobName"]}} == notifications


def test_eventbridge_may_start_the_state_machine_only_from_this_rule(synth):
    t = synth()
    rule = evaluation_rule(t)
    role = rule["Targets"][0]["RoleArn"]["Fn::GetAtt"][0]
    trust = resources(t, "AWS::IAM::Role")[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    (statement,) = trust
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert render(statement["Condition"]["ArnEquals"]["aws:SourceArn"]) == (
        f"arn:aws:events:us-east-1:123456789012:rule/{rule['Name']}"
    )
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    (policy,) = statements_by_role(t)[role]
    assert policy["Action"] == "states:StartExecution"


# -- the state machine -------------------------------------------------------------------------------
def test_the_state_machine_is_standard_and_logs_every_state_without_data(synth):
    (machine,) = resources(synth(), "AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]
    assert props["StateMachineType"] == "STANDARD"
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert props["TracingConfiguration"] == {"Enabled": False}


def test_the_states_run_in_the_contracts_order(synth):
    d = definition(synth())
    states = d["States"]
    assert d["StartAt"] == "FindModel"
    assert states["FindModel"]["Next"] == "StartDeployment"
    assert states["StartDeployment"]["Next"] == "WaitForDeployment"
    assert states["WaitForDeployment"]["Type"] == "Wait" and states["WaitForDeployment"]["Seconds"] == 60
    assert states["WaitForDeployment"]["Next"] == "DeploymentStatus"
    assert states["DeploymentStatus"]["ResultPath"] == "$.deployment"
    choice = states[states["DeploymentStatus"]["Next"]]
    assert choice["Type"] == "Choice"
    assert {(c["Variable"], c["StringEquals"], c["Next"]) for c in choice["Choices"]} == {
        ("$.deployment.status", "Active", "PlanShards"),
        ("$.deployment.status", "Creating", "WaitForDeployment"),
    }
    assert states[choice["Default"]]["Next"] == "PublishFailure"
    assert states["PlanShards"]["Next"] == "AnswerShards"
    assert states["AnswerShards"]["Next"] == "WriteReport"
    assert states["WriteReport"]["Next"] == "PublishSummary"
    assert states[states["PublishSummary"]["Next"]]["Type"] == "Succeed"
    assert states[states["PublishFailure"]["Next"]]["Type"] == "Fail"
    # Every Lambda is invoked by ARN (payload_response_only): the handlers see the shapes of the contract.
    functions = set(STEPS) - {"AnswerShard"}
    assert {name for name, s in states.items() if s.get("Resource") == TOKEN} == functions


def test_the_map_is_inline_bounded_and_retries_then_catches_each_shard(synth):
    shards = definition(synth())["States"]["AnswerShards"]
    assert shards["Type"] == "Map" and shards["ItemProcessor"]["ProcessorConfig"]["Mode"] == "INLINE"
    assert shards["ItemsPath"] == "$.plan.shards" and shards["MaxConcurrency"] == 2
    assert set(shards["ItemSelector"]) == {"index.$", "label.$", "modelId.$", "start.$", "end.$", "jobName.$"}
    inner = shards["ItemProcessor"]["States"]
    answer = inner[shards["ItemProcessor"]["StartAt"]]
    assert shards["ItemProcessor"]["StartAt"] == "AnswerShard" and answer["Resource"] == TOKEN
    lambda_retry, any_retry = answer["Retry"]
    assert lambda_retry["ErrorEquals"] == LAMBDA_TRANSIENT_ERRORS
    assert "Lambda.TooManyRequestsException" in lambda_retry["ErrorEquals"]
    assert lambda_retry["MaxAttempts"] >= 3 and lambda_retry["BackoffRate"] > 1
    assert any_retry["ErrorEquals"] == ["States.ALL"] and any_retry["MaxAttempts"] == 1
    (catch,) = answer["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"] and catch["ResultPath"] == "$.error"
    failed = inner[catch["Next"]]
    # A shard that failed for good is reported as failed, with its error, never as wrong answers.
    assert failed["Type"] == "Pass" and failed["End"] is True
    assert failed["Parameters"] == {
        "failed": True,
        "shard.$": "$.index",
        "label.$": "$.label",
        "error.$": "$.error.Error",
        "cause.$": "$.error.Cause",
    }


def test_every_failure_is_published_with_its_error_and_cause(synth):
    states = definition(synth())["States"]
    for name in (
        "FindModel",
        "StartDeployment",
        "DeploymentStatus",
        "PlanShards",
        "AnswerShards",
        "WriteReport",
        "PublishSummary",
    ):
        catches = states[name]["Catch"]
        assert [(c["ErrorEquals"], c["Next"], c["ResultPath"]) for c in catches] == [
            (["States.ALL"], "PublishFailure", "$.failure")
        ], name
    for name in set(STEPS) - {"AnswerShard"}:
        assert states[name]["Retry"][0]["ErrorEquals"] == LAMBDA_TRANSIENT_ERRORS, name
    publish = states["PublishFailure"]
    assert publish["Resource"].endswith(":states:::sns:publish")
    message = publish["Parameters"]["Message"]
    assert message["error.$"] == "$.failure.Error" and message["cause.$"] == "$.failure.Cause"
    summary = states["PublishSummary"]
    assert summary["Parameters"]["Message.$"] == "$.report.summary"
    assert summary["Parameters"]["TopicArn"] == publish["Parameters"]["TopicArn"] == TOKEN


def test_the_state_machine_publishes_to_the_job_events_topic_with_its_key(synth):
    t = synth()
    (machine,) = resources(t, "AWS::StepFunctions::StateMachine").values()
    statements = statements_by_role(t)[machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]]
    (topic,) = resources(t, "AWS::SNS::Topic")
    (publish,) = [s for s in statements if s["Action"] == "sns:Publish"]
    assert publish["Resource"] == {"Ref": topic}
    (key,) = [s for s in statements if "kms:GenerateDataKey" in as_list(s["Action"])]
    assert key["Condition"]["StringEquals"]["kms:ViaService"] == "sns.us-east-1.amazonaws.com"
    assert key["Resource"]["Fn::GetAtt"][0] in resources(t, "AWS::KMS::Key")


# -- the functions -----------------------------------------------------------------------------------
CONTRACT_ENV = {
    "TASK", "BUCKET", "REPORT_PREFIX", "TEST_DATA_URI", "BASE_MODEL_ID", "REWARD_HANDLER", "SAMPLES",
    "SHARD_CONCURRENCY", "MAX_PROMPTS", "SHARD_SIZE", "MAX_TOKENS", "TEMPERATURE", "STACK_NAME", "TAGS",
}  # fmt: skip


def test_six_functions_with_their_own_role_and_log_group_and_the_contracts_environment(synth):
    t = synth(**{"rft:evalConcurrency": "4", "rft:evalSamplesPerPrompt": "2", "rft:evalMaxPrompts": "50"})
    found = step_functions(t)
    assert set(found) == set(STEPS)
    functions = resources(t, "AWS::Lambda::Function")
    roles = {role_of(t, f) for f in found.values()}
    groups = {functions[f]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] for f in found.values()}
    assert len(roles) == len(groups) == 6
    for step, logical in found.items():
        env = functions[logical]["Properties"]["Environment"]["Variables"]
        assert set(env) >= CONTRACT_ENV, step
        assert env["TASK"] == "gsm8k" and env["REPORT_PREFIX"] == "rft-eval/"
        assert env["BASE_MODEL_ID"] == "us.amazon.nova-2-lite-v1:0"
        assert env["REWARD_HANDLER"] == "gsm8k_reward.handler.lambda_handler"
        assert (env["SAMPLES"], env["SHARD_CONCURRENCY"], env["MAX_PROMPTS"]) == ("2", "4", "50")
        assert env["SHARD_SIZE"] == str(shard_size(2, 4)) and env["TEMPERATURE"] == "1.0"
        assert env["MAX_TOKENS"] == "2048" and env["STACK_NAME"] == "GsmRftStack"
        assert json.loads(env["TAGS"]) == {"project": "bedrock-rft", "stack": "GsmRftStack", "task": "gsm8k"}
        role = resources(t, "AWS::IAM::Role")[role_of(t, logical)]["Properties"]
        assert "ManagedPolicyArns" not in role, step
    answer = functions[found["AnswerShard"]]["Properties"]
    assert answer["Timeout"] == ANSWER_TIMEOUT.to_seconds()
    # Waiting is a Wait state: the status step makes one call and has no time to sleep.
    assert functions[found["DeploymentStatus"]]["Properties"]["Timeout"] <= 60


def test_one_code_asset_ships_the_tasks_own_reward_package(synth, tmp_path):
    t = synth()
    codes = {
        json.dumps(resources(t, "AWS::Lambda::Function")[f]["Properties"]["Code"], sort_keys=True)
        for f in step_functions(t).values()
    }
    assert len(codes) == 1


def test_the_shard_size_keeps_a_shard_far_inside_the_timeout():
    for samples, concurrency, judge in (
        (1, 8, 0.0),
        (4, 8, 0.0),
        (1, 1, 30.0),
        (16, 1, 0.0),
        (1, 256, 900.0),
    ):
        size = shard_size(samples, concurrency, judge)
        rounds = -(-size * samples // concurrency)
        assert size >= 1
        if size > 1:  # one prompt always fits; more only while the worst case stays within a third
            assert rounds * (WORST_CALL_S + judge) <= ANSWER_TIMEOUT.to_seconds() / 3, (
                samples,
                concurrency,
                judge,
            )
    assert shard_size(1, 8) == 40


# -- who may read the test split ---------------------------------------------------------------------
def test_only_the_workflows_prompt_reading_roles_may_read_the_test_split(synth):
    t = synth()
    obj = split_object(t)
    found = step_functions(t)
    readers = {role for role, statements in statements_by_role(t).items() if may_read(statements, obj)}
    assert readers == {role_of(t, found[step]) for step in READS_TEST_DATA}


def test_the_bedrock_service_role_cannot_read_the_test_split(synth):
    t = synth()
    obj = split_object(t)
    (role,) = [r for r in resources(t, "AWS::IAM::Role") if r.startswith("PipelineBedrockServiceRole")]
    bedrock = statements_by_role(t)[role]
    assert not may_read(bedrock, obj)
    # It may read the training data, so the check above can fail: the same matcher finds that grant.
    (job,) = resources(t, "Custom::BedrockRftJob").values()
    training = render(job["Properties"]["TrainingDataUri"])
    assert may_read(bedrock, "arn:aws:s3:::" + training.removeprefix("s3://"))
    # Its bucket listing names only the training and validation keys.
    (listing,) = [s for s in bedrock if s["Action"] == "s3:ListBucket" and "StringEquals" in s["Condition"]]
    assert obj.rsplit("/", 1)[1] not in listing["Condition"]["StringEquals"]["s3:prefix"]


def test_the_test_split_is_its_own_asset(synth):
    t = synth()
    obj = split_object(t)
    (job,) = resources(t, "Custom::BedrockRftJob").values()
    uris = json.dumps([job["Properties"]["TrainingDataUri"], job["Properties"]["ValidationDataUri"]])
    assert obj.rsplit("/", 1)[1] not in uris


# -- Bedrock grants ----------------------------------------------------------------------------------
def bedrock_grants(t: Template, action: str) -> dict[str, list[dict[str, Any]]]:
    return {
        role: [s for s in statements if action in as_list(s["Action"])]
        for role, statements in statements_by_role(t).items()
        if any(action in as_list(s["Action"]) for s in statements)
    }


def test_invoke_model_only_on_the_base_model_and_this_stacks_deployments(synth):
    t = synth()
    grants = bedrock_grants(t, "bedrock:InvokeModel")
    answer_role = role_of(t, step_functions(t)["AnswerShard"])
    assert set(grants) == {answer_role}  # gsm8k's reward has no judge
    base, *deployments = grants[answer_role]
    assert sorted(render(r) for r in base["Resource"]) == [
        "arn:aws:bedrock:*::foundation-model/amazon.nova-2-lite-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-2-lite-v1:0",
    ]
    assert "Condition" not in base
    assert [(render(s["Resource"]), s["Condition"]) for s in deployments] == [
        (
            "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/*",
            {"StringEquals": {f"aws:ResourceTag/{tag}": "GsmRftStack"}},
        )
        for tag in ("stack", "rft:stack")
    ]


def test_a_judge_reward_may_also_call_its_judge_while_scoring(synth):
    t = synth("pandalm")
    answer_role = role_of(t, step_functions(t)["AnswerShard"])
    resources_ = {
        render(r)
        for s in bedrock_grants(t, "bedrock:InvokeModel")[answer_role]
        for r in as_list(s["Resource"])
    }
    assert "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0" in resources_
    env = resources(t, "AWS::Lambda::Function")[step_functions(t)["AnswerShard"]]["Properties"][
        "Environment"
    ]["Variables"]
    assert env["JUDGE_MODEL_ID"] == "us.amazon.nova-pro-v1:0"


@pytest.mark.parametrize(
    ("action", "step"),
    [
        ("bedrock:GetModelCustomizationJob", "FindModel"),
        ("bedrock:ListCustomModelDeployments", "StartDeployment"),
        ("bedrock:CreateCustomModelDeployment", "StartDeployment"),
        ("bedrock:GetCustomModelDeployment", "DeploymentStatus"),
    ],
)
def test_deployment_actions_only_where_they_are_needed(synth, action, step):
    t = synth()
    grants = bedrock_grants(t, action)
    ours = {role for role in grants if role.startswith("PipelineEvaluation")}
    assert ours == {role_of(t, step_functions(t)[step])}
    for statement in grants[role_of(t, step_functions(t)[step])]:
        if action == "bedrock:ListCustomModelDeployments":
            assert statement["Resource"] == "*"  # no resource-level permissions (SAR)
            continue
        assert (
            statement["Condition"]["StringEquals"].get("aws:ResourceTag/stack", "GsmRftStack")
            == "GsmRftStack"
        )
        assert "ResourceTag" in json.dumps(statement["Condition"])


def test_a_deployment_is_created_only_from_this_stacks_models_with_this_stacks_tag(synth):
    t = synth()
    (create,) = bedrock_grants(t, "bedrock:CreateCustomModelDeployment")[
        role_of(t, step_functions(t)["StartDeployment"])
    ]
    assert render(create["Resource"]) == "arn:aws:bedrock:us-east-1:123456789012:custom-model/*"
    assert create["Condition"] == {
        "StringEquals": {"aws:ResourceTag/stack": "GsmRftStack", "aws:RequestTag/stack": "GsmRftStack"}
    }


def test_the_report_prefix_is_written_only_by_the_shard_and_report_steps(synth):
    t = synth()
    writers = {
        role for role, statements in statements_by_role(t).items()
        for s in statements
        if "s3:PutObject" in as_list(s["Action"]) and any(render(r).endswith("/rft-eval/*") for r in as_list(s["Resource"]))
    }  # fmt: skip
    found = step_functions(t)
    assert writers == {role_of(t, found["AnswerShard"]), role_of(t, found["WriteReport"])}


# -- governed accounts -------------------------------------------------------------------------------
def test_the_key_encrypts_the_new_log_groups_and_environments(synth):
    t = synth(**{"rft:kmsKeyArn": KEY})
    groups = {
        k: g for k, g in resources(t, "AWS::Logs::LogGroup").items() if k.startswith("PipelineEvaluation")
    }
    assert len(groups) == 7 and all(g["Properties"]["KmsKeyId"] == KEY for g in groups.values())
    functions = resources(t, "AWS::Lambda::Function")
    assert all(functions[f]["Properties"]["KmsKeyArn"] == KEY for f in step_functions(t).values())
    by_role = statements_by_role(t)
    found = step_functions(t)
    for step in ("StartDeployment", "AnswerShard"):
        via = {
            s["Condition"]["StringEquals"]["kms:ViaService"]
            for s in by_role[role_of(t, found[step])]
            if s["Resource"] == KEY
        }
        assert "bedrock.us-east-1.amazonaws.com" in via, step


def test_with_reward_in_vpc_the_answering_step_runs_in_the_subnets(synth):
    vpc = {
        "subnetIds": ["subnet-0123456789abcdef0"],
        "securityGroupIds": ["sg-0123456789abcdef0"],
        "rewardInVpc": True,
    }
    t = synth(**{"rft:vpc": vpc})
    functions = resources(t, "AWS::Lambda::Function")
    in_vpc = {step for step, f in step_functions(t).items() if "VpcConfig" in functions[f]["Properties"]}
    assert in_vpc == {"AnswerShard"}


# -- off ---------------------------------------------------------------------------------------------
def test_evaluate_on_completion_false_deploys_none_of_it(synth):
    on, off = synth(), synth(**OFF)
    assert resources(off, "AWS::StepFunctions::StateMachine") == {}
    assert step_functions(off) == {}
    assert all(
        "jobStatus" not in r["Properties"]["EventPattern"]["detail"]
        for r in resources(off, "AWS::Events::Rule").values()
    )
    assert "EvaluationStateMachineArn" not in off.to_json()["Outputs"]
    assert "EvaluationStateMachineArn" in on.to_json()["Outputs"]
    added = set(on.to_json()["Resources"]) - set(off.to_json()["Resources"])
    assert set(off.to_json()["Resources"]) <= set(on.to_json()["Resources"])
    assert added and all(k.startswith("PipelineEvaluation") for k in added)
    # Every remaining resource is exactly as with the workflow: it only adds.
    for logical, resource in off.to_json()["Resources"].items():
        assert on.to_json()["Resources"][logical] == resource, logical


def test_the_output_names_the_state_machine(synth):
    t = synth()
    (machine,) = resources(t, "AWS::StepFunctions::StateMachine")
    assert t.to_json()["Outputs"]["EvaluationStateMachineArn"]["Value"] == {"Ref": machine}


# -- configuration -----------------------------------------------------------------------------------
def app(**overrides: Any):
    return load_app_config(Context.from_layers({}, overrides))


def test_the_evaluation_defaults():
    e = app().evaluation
    assert (e.enabled, e.samples_per_prompt, e.concurrency, e.max_prompts) == (True, 1, 8, 0)
    e = app(**{"rft:evaluateOnCompletion": "false", "rft:evalMaxPrompts": "100"}).evaluation
    assert (e.enabled, e.max_prompts) == (False, 100)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"rft:evalSamplesPerPrompt": "0"},
            "rft:evalSamplesPerPrompt is '0', but it must be a whole number from 1 to 16",
        ),
        (
            {"rft:evalConcurrency": "300"},
            "rft:evalConcurrency is '300', but it must be a whole number from 1 to 256",
        ),
        ({"rft:evalMaxPrompts": "-1"}, "rft:evalMaxPrompts is '-1', but it must be a whole number >= 0"),
        ({"rft:evalMaxPrompts": "2.5"}, "rft:evalMaxPrompts is '2.5'"),
        ({"rft:evaluateOnCompletion": "maybe"}, "rft:evaluateOnCompletion must be true or false"),
        ({"rft:evalConcurency": "4"}, "did you mean `rft:evalConcurrency`"),
        ({"rft:evaluateOnComplete": "false"}, "did you mean `rft:evaluateOnCompletion`"),
    ],
)
def test_evaluation_mistakes_fail_naming_the_fix(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("?", r"\?")) as raised:
        app(**overrides)
    assert "\n" not in str(raised.value)


def test_a_base_model_is_called_on_demand_through_its_profile():
    nova = BedrockModel(
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k", region="us-east-1"
    )
    assert nova.on_demand() == BedrockModel("us.amazon.nova-2-lite-v1:0", region="us-east-1")
    assert (
        BedrockModel("amazon.nova-2-lite-v1:0", region="eu-west-1").on_demand().model_id
        == "global.amazon.nova-2-lite-v1:0"
    )
    other = BedrockModel("amazon.nova-pro-v1:0", region="us-east-1")
    assert other.on_demand() is other


def test_the_construct_leaves_it_off_unless_asked():
    from dataclasses import fields

    from stacks.rft_pipeline import RftPipelineProps

    (evaluation,) = [f for f in fields(RftPipelineProps) if f.name == "evaluation"]
    assert evaluation.default is None
