"""One CloudFormation stack per task: data_prep at synth time, then the RftPipeline construct."""

from __future__ import annotations

import os
from pathlib import Path

from aws_cdk import Annotations, CfnOutput, CfnWaitConditionHandle, Environment, Stack
from constructs import Construct

from data_prep import DataPrepError, PrepOptions, PrepResult, prepare
from stacks.config import AppConfig, Context, RftConfig, TaskConfigError, load_app_config, load_config
from stacks.rft_pipeline import RftPipeline
from tasks.spec import TaskSpec

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "build" / "data"


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
        self.pipeline = RftPipeline(
            self,
            "Pipeline",
            config=config,
            training_data=data.train_path,
            validation_data=data.validation_path,
        )
        p = self.pipeline
        CfnOutput(self, "BucketName", value=p.bucket.bucket_name, description="Job output bucket")
        CfnOutput(self, "OutputDataUri", value=p.output_uri, description="Where the job writes its output")
        CfnOutput(self, "RewardFunctionName", value=p.reward_function.function_name)
        CfnOutput(self, "RewardFunctionArn", value=p.reward_function.function_arn)
        CfnOutput(self, "TrainingDataUri", value=p.training_data.s3_object_url)
        CfnOutput(self, "BedrockServiceRoleArn", value=p.service_role.role_arn)
        CfnOutput(
            self,
            "JobEventsTopicArn",
            value=p.job_events_topic.topic_arn,
            description="Job state changes (subscribe, or set rft:notificationEmail in cdk.json)",
        )
        if p.job is not None:
            CfnOutput(self, "JobName", value=p.job.ref, description="Bedrock model customization job name")
            CfnOutput(self, "JobArn", value=p.job.get_att_string("JobArn"))
            CfnOutput(self, "CustomModelName", value=p.job.get_att_string("CustomModelName"))
        else:
            CfnOutput(self, "JobName", value="not-launched", description="rft:launchJob is false")


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
        Annotations.of(stack).add_error(f"{task.stack_name} ({task.name}): {error}")
        return stack
    return RftStack(scope, task, config=config, data=data)
