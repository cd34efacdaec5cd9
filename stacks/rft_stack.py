"""One CloudFormation stack per task: data_prep at synth time, then the RftPipeline construct."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from aws_cdk import Annotations, CfnElement, CfnOutput, CfnWaitConditionHandle, Duration, Environment, Stack
from aws_cdk import aws_kms as kms
from constructs import Construct

from data_prep import DataPrepError, PrepOptions, PrepResult, prepare
from stacks.bedrock_model import BaseModel, BedrockModel, OpenWeightModel
from stacks.bedrock_rft_job import BedrockRftJob
from stacks.config import (
    AppConfig,
    ConfigError,
    Context,
    RftConfig,
    TaskConfigError,
    load_app_config,
    load_config,
)
from stacks.evaluation_workflow import STATE_MACHINE_OUTPUT
from stacks.functions import RETENTION_DAYS, FunctionVpc, retention
from stacks.job_notifications import JobNotifications
from stacks.logical_ids import flat_logical_id
from stacks.metric_names import names
from stacks.reward_function import RewardFunction, RewardFunctionProps, RewardJudge
from stacks.rft_pipeline import PostTrainingEvaluation, RftPipeline, RftPipelineProps
from tasks.spec import TaskSpec

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "build" / "data"
# The reward library every task's handler imports (lambda/rft_reward).
SHARED_REWARD_PACKAGE = "rft_reward"


def prepare_task_data(config: RftConfig, out_dir: Path | None = None) -> PrepResult:
    """Run the task's converter with the deployment's options; fails the synth on invalid data."""
    options = PrepOptions(max_prompt_tokens=config.max_prompt_tokens, **config.data_options)
    return prepare(config.task.name, out_dir=out_dir or DATA_DIR / config.task.name, options=options)


class RftStack(Stack):
    """Everything for one task; `cdk deploy <stack_name>` launches its RFT job."""

    def __init__(self, scope: Construct, task: TaskSpec, *, config: RftConfig, data: PrepResult) -> None:
        super().__init__(
            scope,
            task.stack_name,
            description=f"bedrock-rft: reinforcement fine-tuning for {task.name} ({task.description})",
            env=Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=config.region),
        )
        props = pipeline_props(config, data)
        # Open weight: no workflow (it deploys a Nova custom model); README "Models" says so.
        if config.evaluation.enabled and props.evaluation is None and not config.is_open_weight:
            Annotations.of(self).add_warning_v2(
                "rft:evaluateOnCompletion",
                f"{task.name}'s data has no test split, so no post-training evaluation is deployed; give "
                "data_prep a dataset with one, or set rft:evaluateOnCompletion to false.",
            )
        if config.kms_key_arn or config.assets_kms_key_arn:
            props = replace(
                props,
                encryption_key=_key(self, "EncryptionKey", config.kms_key_arn),
                assets_key=_key(self, "AssetsKey", config.assets_kms_key_arn),
            )
        self.pipeline = RftPipeline(self, "Pipeline", props=props)
        add_pipeline_outputs(self, self.pipeline)

    def _allocate_logical_id(self, cfn_element: CfnElement) -> str:
        """The ids these stacks had before RftPipeline was split into child constructs: deployed
        stacks update in place instead of replacing the job (which would stop it) and what it uses."""
        scopes = cfn_element.node.scopes
        below = scopes[scopes.index(self) + 1 :]
        if not any(isinstance(s, _CHILD_CONSTRUCTS) for s in below):
            return super()._allocate_logical_id(cfn_element)
        return flat_logical_id([s.node.id for s in below if not isinstance(s, _CHILD_CONSTRUCTS)])


def add_pipeline_outputs(stack: Stack, p: RftPipeline) -> None:
    """The stack outputs `rft` and users read. Open-weight stacks add `JobBackend` (`mantle`) and
    `MantleJobId`, and have no `JobArn`, `CustomModelName` or `BedrockServiceRoleArn` (no such things
    exist for them); a stack without `JobBackend` is a Nova stack, as every stack deployed before."""
    CfnOutput(stack, "BucketName", value=p.bucket.bucket_name, description="Job output bucket")
    CfnOutput(stack, "OutputDataUri", value=p.output_uri, description="Where the job writes its output")
    CfnOutput(stack, "RewardFunctionName", value=p.reward_function.function_name)
    CfnOutput(stack, "RewardFunctionArn", value=p.reward_function.function_arn)
    CfnOutput(stack, "TrainingDataUri", value=p.training_data.s3_object_url)
    if p.service_role is not None:
        CfnOutput(stack, "BedrockServiceRoleArn", value=p.service_role.role_arn)
    CfnOutput(
        stack,
        "JobEventsTopicArn",
        value=p.job_events_topic.topic_arn,
        description="Job state changes (subscribe, or set rft:notificationEmail in cdk.json)",
    )
    CfnOutput(
        stack,
        "DashboardName",
        value=p.monitor.dashboard_name,
        description="CloudWatch dashboard of the reward's live metrics (`rft status` prints its URL)",
    )
    open_weight = isinstance(p.props.base_model, OpenWeightModel)
    if open_weight:
        # Absent on Nova stacks (as on every stack deployed before open-weight support): bedrock.
        CfnOutput(
            stack,
            "JobBackend",
            value="mantle",
            description="The job runs on Bedrock's OpenAI-compatible API",
        )
    if p.job is not None and p.job.is_open_weight:
        CfnOutput(stack, "JobName", value=p.job.job_name, description="Open-weight RFT job name (ours)")
        CfnOutput(stack, "MantleJobId", value=p.job.job_id, description="The job's id on the fine-tuning API")
    elif p.job is not None:
        CfnOutput(stack, "JobName", value=p.job.job_name, description="Bedrock model customization job name")
        CfnOutput(stack, "JobArn", value=p.job.job_arn)
        CfnOutput(stack, "CustomModelName", value=p.job.custom_model_name)
    else:
        CfnOutput(stack, "JobName", value="not-launched", description="rft:launchJob is false")
    if p.evaluation is not None:
        CfnOutput(
            stack,
            STATE_MACHINE_OUTPUT,
            value=p.evaluation.state_machine.state_machine_arn,
            description="Post-training evaluation, started when the job completes (`rft status` shows it)",
        )


# Construct levels that did not exist when the first stacks were deployed.
_CHILD_CONSTRUCTS = (RewardFunction, BedrockRftJob, JobNotifications)


def pipeline_props(config: RftConfig, data: PrepResult) -> RftPipelineProps:
    """The construct's props from this app's validated configuration."""
    task = config.task
    try:
        log_retention = retention(config.log_retention_days)
    except KeyError:
        raise ConfigError(
            f"rft:logRetentionDays {config.log_retention_days} is not supported; "
            f"pick one of {list(RETENTION_DAYS)}."
        ) from None
    return RftPipelineProps(
        name=task.name,
        training_data=data.train_path,
        validation_data=data.validation_path,
        reward=RewardFunctionProps(
            handler=task.reward_handler,
            packages=(task.reward_package, SHARED_REWARD_PACKAGE),
            service_name=names.reward_service_name(task.name),
            description=f"Bedrock RFT reward (grader) for {task.name}: {task.description}",
            timeout=Duration.seconds(task.reward_timeout_s),
            memory_size=task.reward_memory_mb,
            reserved_concurrency=config.reward_reserved_concurrency,
            environment=dict(task.reward_environment),
            judge=reward_judge(config),
            log_retention=log_retention,
        ),
        hyperparameters=config.hyperparameters,
        base_model=base_model(config),
        launch_job=config.launch_job,
        destroy_data_on_delete=config.destroy_data_on_delete,
        log_retention=log_retention,
        notification_email=config.notification_email or None,
        alarm_thresholds=config.alarms,
        vpc=FunctionVpc(config.vpc.subnet_ids, config.vpc.security_group_ids) if config.vpc else None,
        reward_in_vpc=bool(config.vpc and config.vpc.reward_in_vpc),
        bucket_versioning=config.bucket_versioning,
        noncurrent_version_days=config.noncurrent_version_days,
        output_expiration_days=config.output_expiration_days,
        evaluation=post_training_evaluation(config, data),
    )


def post_training_evaluation(config: RftConfig, data: PrepResult) -> PostTrainingEvaluation | None:
    """rft:evaluateOnCompletion and its settings, on data_prep's test split (none: no workflow)."""
    settings = config.evaluation
    if not settings.enabled or config.is_open_weight:
        return None  # open weight: no deployment step; `rft evaluate --model tuned` calls the model
    if data.test_path is None:
        return None  # RftStack warns: nothing to evaluate on
    return PostTrainingEvaluation(
        test_data=data.test_path,
        samples=settings.samples_per_prompt,
        concurrency=settings.concurrency,
        max_prompts=settings.max_prompts,
    )


def base_model(config: AppConfig) -> BaseModel:
    """The model value object whose type picks the job backend (`RFT_MODELS` in stacks/config.py)."""
    if config.is_open_weight:
        return OpenWeightModel(config.model.model_id, config.api_model_id, config.region)
    return BedrockModel(config.base_model, region=config.region)


def _key(scope: Construct, construct_id: str, arn: str) -> kms.IKey | None:
    """A key the platform team owns, by ARN: its policy stays theirs (docs/governed-account.md)."""
    return kms.Key.from_key_arn(scope, construct_id, arn) if arn else None


def reward_judge(config: RftConfig) -> RewardJudge | None:
    """An RLAIF task's judge: the task's defaults with the deployment's overrides (`config.judge`)."""
    task, judge = config.task, config.judge
    if task.kind != "rlaif":
        return None
    if judge is None:
        raise ConfigError(
            f"Task {task.name} is RLAIF but has no judge model; set `rft:{task.name}` → judgeModelId."
        )
    return RewardJudge(
        model=BedrockModel(judge.model_id, region=config.region),
        verdict_weight=judge.verdict_weight,
        max_concurrency=judge.max_concurrency,
        timeout_s=judge.timeout_s,
    )


def _one_line(error: Exception) -> str:
    """A data error that breaks one rule reads as one line (`rule: offenders. Fix: ...`), like a
    config error; several rules keep data_prep's list, one per line."""
    if isinstance(error, DataPrepError) and len(error.problems) == 1:
        return error.problems[0].describe()
    return str(error)


def build_task_stack(
    scope: Construct,
    task: TaskSpec,
    *,
    app_config: AppConfig | None = None,
    context: Context | None = None,
) -> Stack:
    """The task's stack; a mistake in this task's own config or data fails only this stack.

    Such a stack is built without its pipeline and carries an error annotation, which the CDK CLI
    reports (and refuses to deploy) only when this stack is selected: `cdk synth`, `deploy` or
    `destroy` of another task's stack proceeds. App-wide mistakes raise `ConfigError`.
    """
    context = context if context is not None else Context.from_node(scope.node)
    app_config = app_config if app_config is not None else load_app_config(context)
    try:
        config = load_config(task, context, app_config)
        data = prepare_task_data(config)
    except (TaskConfigError, DataPrepError) as error:
        stack = Stack(
            scope,
            task.stack_name,
            description=f"bedrock-rft: {task.name} (not built: its configuration or data has an error)",
            env=Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=app_config.region),
        )
        # The CLI prints an error's trace with it: a jsii frame, no use to the user.
        stack.node.set_context("aws:cdk:disable-stack-trace", True)
        # CloudFormation rejects a template without resources; this no-op one keeps it valid.
        CfnWaitConditionHandle(stack, "NotBuilt")
        Annotations.of(stack).add_error(f"{task.stack_name} ({task.name}): {_one_line(error)}")
        return stack
    return RftStack(scope, task, config=config, data=data)
