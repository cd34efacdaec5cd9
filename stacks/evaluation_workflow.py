"""EvaluationWorkflow: when a job completes, deploy the tuned model, answer the held-out test split
with it and with the base model, score every answer with the task's own reward, and mail the verdict.

Reads like the state machine (docs/post-training-evaluation.md has the diagram and the IAM facts):

    EventBridge (job Completed) → FindModel → StartDeployment → Wait ⇄ DeploymentStatus
    → PlanShards → Map(AnswerShard, Retry + Catch per shard) → WriteReport → PublishSummary
    any failure → PublishFailure (error and cause) → Fail

Each step is its own Lambda with its own role and log group (stacks/functions.py), all from one code
asset that ships the task's reward package: the same source the grader runs, not a copy. Waiting is
a Step Functions Wait state and one status call per poll; no function sleeps. The test split is its
own asset, readable only by the roles of the steps that read prompts; the Bedrock service role,
which reads the training data, gets no grant on it (tests/evaluation_workflow pins both).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.bedrock_model import BedrockModel
from stacks.config import eval_layout
from stacks.functions import (
    FunctionVpc,
    function_role,
    grant_key_use,
    lambda_code,
    log_group,
    place_in_vpc,
    python_function,
    trusted_service,
)
from stacks.job_notifications import job_state_change_pattern
from stacks.nag import acknowledge, checkov_skip, logical_id, nag_account, nag_partition, nag_region
from stacks.reward_function import RewardJudge

# Written once, in lambda/rft_eval/layout.py: the workflow and `rft` read the same names.
REPORT_PREFIX: str = eval_layout().REPORT_PREFIX
STATE_MACHINE_OUTPUT: str = eval_layout().STATE_MACHINE_OUTPUT
SHARED_REWARD_PACKAGE = "rft_reward"
EVAL_PACKAGE = "rft_eval"
WORKFLOW_PACKAGE = "rft_eval_workflow"
# The deployment's tags (CreateCustomModelDeployment, by the workflow) and the ones `rft deploy-model`
# gives a deployment it makes (rft/deploy_model.py): either may be the one the workflow reuses.
STACK_TAG = "stack"
DEPLOY_MODEL_STACK_TAG = "rft:stack"

# One Lambda per step; construct id -> handler function in lambda/rft_eval_workflow/handler.py.
STEPS: Mapping[str, str] = {
    "FindModel": "find_model",
    "StartDeployment": "start_deployment",
    "DeploymentStatus": "deployment_status",
    "PlanShards": "plan_shards",
    "AnswerShard": "answer_shard",
    "WriteReport": "write_report",
}
# The steps that read the test split's prompts (the only roles granted the TestData asset).
READS_TEST_DATA = ("PlanShards", "AnswerShard", "WriteReport")

# Shard sizing: a shard must finish far inside the function's timeout. A Converse call with the task's
# maxTokens is budgeted WORST_CALL_S (a judge reward adds its judge timeout per sample), `concurrency`
# calls run at once, and a shard may use SHARD_BUDGET of the timeout (docs/post-training-evaluation.md).
ANSWER_TIMEOUT = Duration.minutes(15)
WORST_CALL_S = 60.0
SHARD_BUDGET = 1 / 3
# Lambda's own transient errors and throttles: retried with backoff before a shard counts as failed.
LAMBDA_TRANSIENT_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
]


def shard_size(samples: int, concurrency: int, judge_timeout_s: float = 0.0) -> int:
    """Prompts per shard: `rounds` of `concurrency` calls, each at most WORST_CALL_S (+ the judge),
    fit in SHARD_BUDGET of the answering function's timeout."""
    budget_s = ANSWER_TIMEOUT.to_seconds() * SHARD_BUDGET
    rounds = math.floor(budget_s / (WORST_CALL_S + judge_timeout_s))  # 0: one prompt per shard
    return max(1, rounds * concurrency // samples)


@dataclass(frozen=True)
class EvaluationWorkflowProps:
    """What the post-training evaluation needs from the pipeline around it."""

    # The task's held-out test split (data_prep's test.jsonl), uploaded as its own asset.
    test_data: Path
    # The model the tuned one is compared with, as Converse calls it on demand (BedrockModel.on_demand).
    base_model: BedrockModel
    # Names the task: the TASK variable, descriptions, the reward package's folder under lambda/.
    task_name: str
    reward_package: str
    # `<package>.<module>.<function>`: the grader's own handler, run in-process on each answer.
    reward_handler: str
    # Reports go under `rft-eval/<job name>/` of this bucket.
    bucket: s3.IBucket
    # Summaries and failures are published here (the job-events topic), encrypted with `topic_key`.
    topic: sns.ITopic
    # Jobs named `<prefix>-<hash>` trigger the workflow when they complete.
    job_name_prefix: str
    # The tags the job gives its custom model (customModelTags): deployment actions are scoped by them.
    tags: Mapping[str, str]
    topic_key: kms.IKey | None = None
    # Responses per prompt, Converse calls in flight per model, prompts to use (0: all).
    samples: int = 1
    concurrency: int = 8
    max_prompts: int = 0
    # `maxTokens` per call: the job's inferenceMaxTokens.
    max_tokens: int = 2048
    # The reward's own environment (the task's reward_environment) and, for RLAIF, its judge.
    reward_environment: Mapping[str, str] = field(default_factory=dict)
    judge: RewardJudge | None = None
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    # Customer-managed key for the log groups, the functions' environment and the custom model.
    encryption_key: kms.IKey | None = None
    # The key of a KMS-encrypted bootstrap bucket (it holds the TestData asset).
    assets_key: kms.IKey | None = None
    # With a VPC, the step that runs the reward code (AnswerShard) runs there, like the reward function.
    vpc: FunctionVpc | None = None
    # Powertools + boto3 (stacks.dependency_layer).
    layer: lambda_.ILayerVersion | None = None
    # Between two deployment status checks.
    poll_interval: Duration = field(default_factory=lambda: Duration.seconds(60))
    # A backstop: an execution still running after this is stopped by Step Functions.
    timeout: Duration = field(default_factory=lambda: Duration.hours(24))


class EvaluationWorkflow(Construct):
    """The TestData asset, six step functions, the state machine and the rule that starts it."""

    def __init__(self, scope: Construct, construct_id: str, *, props: EvaluationWorkflowProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        stack = Stack.of(self)
        self.test_data = s3_assets.Asset(self, "TestData", path=str(props.test_data))
        self.test_data_uri = self.test_data.s3_object_url
        self.report_uri = f"s3://{props.bucket.bucket_name}/{REPORT_PREFIX}"
        code = lambda_code([SHARED_REWARD_PACKAGE, props.reward_package, EVAL_PACKAGE, WORKFLOW_PACKAGE])
        self.functions: dict[str, lambda_.Function] = {}
        self.roles: dict[str, iam.Role] = {}
        environment = self._environment(stack)
        for step, handler in STEPS.items():
            self._step_function(step, handler, code, environment)
        self._permissions(stack)
        self.state_machine = self._state_machine()
        # Named, so the role EventBridge assumes can trust this rule only (confused-deputy guard).
        rule_name = f"{stack.stack_name}-evaluate-on-completion"[:64]
        start_role = iam.Role(
            self,
            "StartRole",
            description=f"Assumed by EventBridge to start the {props.task_name} evaluation",
            assumed_by=trusted_service(
                "events.amazonaws.com",
                stack.account,
                f"arn:{stack.partition}:events:{stack.region}:{stack.account}:rule/{rule_name}",
            ),
        )
        self.rule = events.Rule(
            self,
            "JobCompleted",
            rule_name=rule_name,
            description=f"Starts the post-training evaluation when a {props.task_name} RFT job of "
            f"{stack.stack_name} completes",
            event_pattern=job_state_change_pattern(props.job_name_prefix, statuses=["Completed"]),
            targets=[targets.SfnStateMachine(self.state_machine, role=start_role)],
        )

    # -- functions -------------------------------------------------------------------------------
    def _environment(self, stack: Stack) -> dict[str, str]:
        """The variables every step reads (the contract of lambda/rft_eval_workflow/handler.py)."""
        p = self.props
        judge_timeout = p.judge.timeout_s if p.judge else 0.0
        return {
            "TASK": p.task_name,
            "BUCKET": p.bucket.bucket_name,
            "REPORT_PREFIX": REPORT_PREFIX,
            "TEST_DATA_URI": self.test_data_uri,
            "BASE_MODEL_ID": p.base_model.model_id,
            "REWARD_HANDLER": p.reward_handler,
            "SAMPLES": str(p.samples),
            "SHARD_CONCURRENCY": str(p.concurrency),
            "MAX_PROMPTS": str(p.max_prompts),
            "SHARD_SIZE": str(shard_size(p.samples, p.concurrency, judge_timeout)),
            "MAX_TOKENS": str(p.max_tokens),
            # As `rft evaluate`: greedy for one response per prompt, sampled for several.
            "TEMPERATURE": "0" if p.samples == 1 else "1.0",
            "STACK_NAME": stack.stack_name,
            "TAGS": json.dumps(dict(p.tags), sort_keys=True),
            "POWERTOOLS_SERVICE_NAME": "rft-eval",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }

    def _step_function(
        self, step: str, handler: str, code: lambda_.Code, environment: Mapping[str, str]
    ) -> None:
        p = self.props
        logs_ = log_group(self, f"{step}Logs", p.log_retention, p.encryption_key)
        role = function_role(self, f"{step}Role", logs_)
        answering = step == "AnswerShard"
        env = dict(environment)
        if answering:
            env.update(p.reward_environment)
            if p.judge is not None:
                env.update(p.judge.environment)
        function = python_function(
            self,
            step,
            handler=f"{WORKFLOW_PACKAGE}.handler.{handler}",
            code=code,
            role=role,
            logs_=logs_,
            layers=[p.layer] if p.layer else [],
            timeout=ANSWER_TIMEOUT if answering else Duration.minutes(5 if step == "WriteReport" else 1),
            memory_size=1024 if answering else 256,
            environment=env,
            description=f"bedrock-rft post-training evaluation of {p.task_name}: {handler.replace('_', ' ')}",
            key=p.encryption_key,
        )
        if answering and p.vpc is not None:
            place_in_vpc(function, role, p.vpc)
        else:
            checkov_skip(
                function,
                "Calls only AWS APIs (Bedrock, S3); the step that runs the reward code follows "
                "rft:vpc → rewardInVpc.",
                "CKV_AWS_117",
            )
        checkov_skip(
            function,
            "Invoked synchronously by the state machine, which retries it and reports a failure; an "
            "asynchronous dead-letter queue would never receive an event.",
            "CKV_AWS_116",
        )
        checkov_skip(
            function,
            "Runs once per completed job; the state machine's Map bounds its concurrency.",
            "CKV_AWS_115",
        )
        if p.encryption_key is None:
            checkov_skip(
                function,
                "No secrets in its environment (names and settings only); set rft:kmsKeyArn to "
                "encrypt it with your key.",
                "CKV_AWS_173",
            )
        self.functions[step], self.roles[step] = function, role

    # -- permissions -----------------------------------------------------------------------------
    def _permissions(self, stack: Stack) -> None:
        """Least privilege, per step (docs/post-training-evaluation.md names the SAR rows)."""
        p, roles = self.props, self.roles
        arn = f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}"
        this_stack = {f"aws:ResourceTag/{STACK_TAG}": stack.stack_name}

        # FindModel: read the completed job (this stack's jobs carry its `stack` tag).
        roles["FindModel"].add_to_policy(
            iam.PolicyStatement(
                actions=["bedrock:GetModelCustomizationJob"],
                resources=[f"{arn}:model-customization-job/*"],
                conditions={"StringEquals": this_stack},
            )
        )
        # StartDeployment: list deployments (no resource-level permission), deploy only this stack's
        # custom models, and only with this stack's tag on the new deployment.
        start = roles["StartDeployment"]
        start.add_to_policy(
            iam.PolicyStatement(actions=["bedrock:ListCustomModelDeployments"], resources=["*"])
        )
        start.add_to_policy(
            iam.PolicyStatement(
                actions=["bedrock:CreateCustomModelDeployment"],
                resources=[f"{arn}:custom-model/*"],
                conditions={
                    "StringEquals": {
                        **this_stack,
                        f"aws:RequestTag/{STACK_TAG}": stack.stack_name,
                    }
                },
            )
        )
        start.add_to_policy(
            iam.PolicyStatement(
                actions=["bedrock:TagResource"],
                resources=[f"{arn}:custom-model-deployment/*"],
                conditions={"StringEquals": {f"aws:RequestTag/{STACK_TAG}": stack.stack_name}},
            )
        )
        # DeploymentStatus and AnswerShard: only this stack's deployments (made by the workflow or by
        # `rft deploy-model`, whose tag key differs).
        for statement in self._deployment_statements(stack, ["bedrock:GetCustomModelDeployment"]):
            roles["DeploymentStatus"].add_to_policy(statement)
        answer = roles["AnswerShard"]
        p.base_model.grant_invoke(answer)
        for statement in self._deployment_statements(stack, ["bedrock:InvokeModel"]):
            answer.add_to_policy(statement)
        if p.judge is not None:
            p.judge.model.grant_invoke(answer)

        # The test split: only the steps that read prompts, only its object, by exact key.
        test_object = self.test_data.bucket.arn_for_objects(self.test_data.s3_object_key)
        for step in READS_TEST_DATA:
            roles[step].add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[test_object]))
            if p.assets_key is not None:
                grant_key_use(roles[step], p.assets_key, ["kms:Decrypt"], "s3")
        # The report prefix of the output bucket: shards written by AnswerShard, read by WriteReport.
        objects = p.bucket.arn_for_objects(f"{REPORT_PREFIX}*")
        answer.add_to_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=[objects]))
        writer = roles["WriteReport"]
        writer.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetObject", "s3:PutObject"], resources=[objects])
        )
        writer.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[p.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{REPORT_PREFIX}*"]}},
            )
        )
        if p.encryption_key is not None:
            for step in ("AnswerShard", "WriteReport"):
                grant_key_use(
                    roles[step],
                    p.encryption_key,
                    ["kms:Decrypt", "kms:GenerateDataKey"],
                    "s3",
                    {"aws:s3:arn": p.bucket.bucket_arn},
                )
            # Encryption of custom models: who deploys or invokes a model encrypted with the key needs
            # kms:Decrypt through Bedrock (the page's PermissionsDecryptModel statement).
            for step in ("StartDeployment", "AnswerShard"):
                grant_key_use(roles[step], p.encryption_key, ["kms:Decrypt"], "bedrock")
        self._acknowledge(stack)

    def _deployment_statements(self, stack: Stack, actions: list[str]) -> list[iam.PolicyStatement]:
        arn = f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:custom-model-deployment/*"
        return [
            iam.PolicyStatement(
                actions=actions,
                resources=[arn],
                conditions={"StringEquals": {f"aws:ResourceTag/{tag}": stack.stack_name}},
            )
            for tag in (STACK_TAG, DEPLOY_MODEL_STACK_TAG)
        ]

    def _acknowledge(self, stack: Stack) -> None:
        nag_arn = f"arn:{nag_partition(self)}:bedrock:{nag_region(self)}:{nag_account(self)}"
        ids = "Job, custom-model and deployment ARNs end in ids Bedrock assigns at creation"
        acknowledge(
            self.roles["FindModel"],
            f"{ids}; only jobs tagged with this stack's name.",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_arn}:model-customization-job/*]",
        )
        acknowledge(
            self.roles["StartDeployment"],
            f"{ids}; only custom models tagged with this stack's name, and only with that tag on the new "
            "deployment. ListCustomModelDeployments has no resource-level permissions (Service "
            "Authorization Reference).",
            "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_arn}:custom-model/*]",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_arn}:custom-model-deployment/*]",
        )
        for step in ("DeploymentStatus", "AnswerShard"):
            acknowledge(
                self.roles[step],
                f"{ids}; only deployments tagged with this stack's name.",
                f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_arn}:custom-model-deployment/*]",
            )
        prefix = f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical_id(self.props.bucket)}.Arn>/{REPORT_PREFIX}*]"
        for step in ("AnswerShard", "WriteReport"):
            acknowledge(
                self.roles[step],
                "Report objects are named per job and shard at run time, only under rft-eval/ of this bucket.",
                prefix,
            )

    # -- the state machine -----------------------------------------------------------------------
    def _invoke(self, step: str, **kwargs: object) -> tasks.LambdaInvoke:
        invoke = tasks.LambdaInvoke(
            self,
            f"{step}Task",
            state_name=step,
            lambda_function=self.functions[step],
            payload_response_only=True,
            retry_on_service_exceptions=False,
            **kwargs,  # type: ignore[arg-type]
        )
        invoke.add_retry(
            errors=LAMBDA_TRANSIENT_ERRORS,
            interval=Duration.seconds(2),
            max_attempts=6,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return invoke

    def _publish(self, state: str, subject: str, message: sfn.TaskInput) -> tasks.SnsPublish:
        """Publish to the job-events topic (SNS limits a subject to 100 characters)."""
        return tasks.SnsPublish(
            self,
            f"{state}Task",
            state_name=state,
            topic=self.props.topic,
            subject=subject[:100],
            message=message,
            result_path=sfn.JsonPath.DISCARD,
        )

    def _state_machine(self) -> sfn.StateMachine:
        p = self.props
        stack = Stack.of(self)
        failure = self._publish(
            "PublishFailure",
            f"bedrock-rft evaluation failed ({stack.stack_name})",
            sfn.TaskInput.from_object(
                {
                    "evaluation": "failed",
                    "stack": stack.stack_name,
                    "execution": sfn.JsonPath.string_at("$$.Execution.Id"),
                    "error": sfn.JsonPath.string_at("$.failure.Error"),
                    "cause": sfn.JsonPath.string_at("$.failure.Cause"),
                }
            ),
        ).next(
            sfn.Fail(
                self,
                "Failed",
                error="EvaluationFailed",
                cause="See the failure published to the job-events topic",
            )
        )

        def caught(state: tasks.LambdaInvoke | tasks.SnsPublish) -> None:
            state.add_catch(failure, errors=["States.ALL"], result_path="$.failure")

        find = self._invoke("FindModel")
        start = self._invoke("StartDeployment")
        wait = sfn.Wait(self, "WaitForDeployment", time=sfn.WaitTime.duration(p.poll_interval))
        status = self._invoke("DeploymentStatus", result_path="$.deployment")
        plan = self._invoke(
            "PlanShards",
            payload=sfn.TaskInput.from_object(
                {
                    "jobName": sfn.JsonPath.string_at("$.jobName"),
                    "deploymentArn": sfn.JsonPath.string_at("$.deploymentArn"),
                }
            ),
            result_path="$.plan",
        )
        answer = self._invoke("AnswerShard")
        answer.add_retry(errors=["States.ALL"], interval=Duration.seconds(30), max_attempts=1)
        shard_failed = sfn.Pass(
            self,
            "ShardFailed",
            parameters={
                "failed": True,
                "shard": sfn.JsonPath.number_at("$.index"),
                "label": sfn.JsonPath.string_at("$.label"),
                "error": sfn.JsonPath.string_at("$.error.Error"),
                "cause": sfn.JsonPath.string_at("$.error.Cause"),
            },
        )
        answer.add_catch(shard_failed, errors=["States.ALL"], result_path="$.error")
        shards = sfn.Map(
            self,
            "AnswerShards",
            items_path="$.plan.shards",
            item_selector={
                "index": sfn.JsonPath.number_at("$$.Map.Item.Value.index"),
                "label": sfn.JsonPath.string_at("$$.Map.Item.Value.label"),
                "modelId": sfn.JsonPath.string_at("$$.Map.Item.Value.modelId"),
                "start": sfn.JsonPath.number_at("$$.Map.Item.Value.start"),
                "end": sfn.JsonPath.number_at("$$.Map.Item.Value.end"),
                "jobName": sfn.JsonPath.string_at("$.jobName"),
            },
            # One shard per model at a time (PlanShards interleaves base and tuned), so no more than
            # SHARD_CONCURRENCY = rft:evalConcurrency calls are in flight per model.
            max_concurrency=2,
            result_path="$.results",
        )
        shards.item_processor(answer)
        report = self._invoke(
            "WriteReport",
            payload=sfn.TaskInput.from_object(
                {
                    "jobName": sfn.JsonPath.string_at("$.jobName"),
                    "prompts": sfn.JsonPath.number_at("$.plan.prompts"),
                    "results": sfn.JsonPath.list_at("$.results"),
                }
            ),
            result_path="$.report",
        )
        summary = self._publish(
            "PublishSummary",
            f"bedrock-rft evaluation ({stack.stack_name})",
            sfn.TaskInput.from_json_path_at("$.report.summary"),
        )
        not_active = sfn.Pass(
            self,
            "DeploymentNotActive",
            parameters={
                "Error": "DeploymentNotActive",
                "Cause": sfn.JsonPath.string_at("$.deployment.status"),
            },
            result_path="$.failure",
        ).next(failure)
        for state in (find, start, status, plan, report, summary):
            caught(state)
        shards.add_catch(failure, errors=["States.ALL"], result_path="$.failure")

        ready = (
            sfn.Choice(self, "DeploymentActive?")
            .when(sfn.Condition.string_equals("$.deployment.status", "Active"), plan)
            .when(sfn.Condition.string_equals("$.deployment.status", "Creating"), wait)
            .otherwise(not_active)
        )
        plan.next(shards).next(report).next(summary).next(sfn.Succeed(self, "Done"))
        definition = find.next(start).next(wait).next(status).next(ready)

        self.log_group = log_group(self, "StateMachineLogs", p.log_retention, p.encryption_key)
        machine = sfn.StateMachine(
            self,
            "StateMachine",
            comment=f"bedrock-rft: evaluate the tuned {p.task_name} model against its base model",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=p.timeout,
            # Every state transition, without its input or output (they hold ids and scores, and
            # the shard outcomes, never prompts; still, logs carry no data: docs, "Logging").
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
            tracing_enabled=False,
        )
        if p.topic_key is not None:
            # SnsPublish grants sns:Publish; an encrypted topic also needs its key, through SNS only.
            grant_key_use(machine.role, p.topic_key, ["kms:Decrypt", "kms:GenerateDataKey"], "sns")
        no_xray = (
            "X-Ray is off by choice: the execution history already records every state with its timing "
            "and error, and the steps are Lambdas with their own logs (README, What it costs)."
        )
        acknowledge(machine, no_xray, "AwsSolutions::AwsSolutions-SF2")
        checkov_skip(machine, no_xray, "CKV_AWS_284")
        acknowledge(
            machine,
            "CloudWatch Logs' log delivery for Step Functions: these actions have no resource-level "
            "permissions (CDK adds them for the state machine's own log group).",
            "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
        )
        for step in STEPS:
            acknowledge(
                machine,
                "CDK's LambdaInvoke grants lambda:InvokeFunction on the function and its versions.",
                f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical_id(self.functions[step])}.Arn>:*]",
            )
        return machine
