"""RftPipeline: one reinforcement fine-tuning task on Amazon Bedrock, as one reviewed construct.

Reads like the architecture diagram:
    data (JSONL assets) → output bucket → reward function → Bedrock service role → job launcher → job

Everything is least privilege: the Bedrock role reads exactly the two data objects, writes only the
output prefix and invokes only this task's reward function; the launcher may create, read and stop
customization jobs and pass only that role, only to Bedrock.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from aws_cdk import Acknowledgment, CustomResource, Duration, RemovalPolicy, Stack, Token, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.config import ConfigError, RftConfig
from stacks.dependency_layer import RUNTIME, dependency_layer
from tasks.spec import JudgeSpec

LAMBDA_ROOT = Path(__file__).resolve().parent.parent / "lambda"
SHARED_REWARD_PACKAGE = "rft_reward"
JOB_PACKAGE = "rft_job"
OUTPUT_PREFIX = "rft-output/"
# Cross-region inference profiles are ids like `us.anthropic.claude-...`; they route to the same model in
# several regions, so the role needs the profile and the model in each region it may route to.
INFERENCE_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.")


def _acknowledge(construct: Construct, reason: str, *finding_ids: str) -> None:
    """Acknowledge cdk-nag findings on `construct` and its children, next to the resource they excuse."""
    for finding_id in finding_ids:
        Validations.of(construct).acknowledge(Acknowledgment(id=finding_id, reason=reason))


def lambda_code(*packages: str) -> lambda_.Code:
    """The `lambda/` asset root with only `packages`, so one task's edit doesn't redeploy the others."""
    keep = set(packages)
    exclude = sorted(entry.name for entry in LAMBDA_ROOT.iterdir() if entry.name not in keep)
    return lambda_.Code.from_asset(str(LAMBDA_ROOT), exclude=[*exclude, "**/__pycache__", "**/*.pyc"])


def bedrock_model_arn(model: str, stack: Stack, *, region: str) -> str:
    """A foundation-model id or ARN, as an ARN (the form IAM and the job's base model need)."""
    if model.startswith("arn:"):
        return model
    return f"arn:{stack.partition}:bedrock:{region}::foundation-model/{model}"


def model_id_is_profile(model_id: str) -> bool:
    return model_id.startswith(INFERENCE_PROFILE_PREFIXES)


def judge_model_arns(model_id: str, stack: Stack, *, region: str) -> list[str]:
    """Resources a judge reward may invoke: the model, or the inference profile and the model behind it."""
    if model_id.startswith("arn:"):
        return [model_id]
    if model_id_is_profile(model_id):
        model = model_id.split(".", 1)[1]
        return [
            f"arn:{stack.partition}:bedrock:{region}:{stack.account}:inference-profile/{model_id}",
            f"arn:{stack.partition}:bedrock:*::foundation-model/{model}",
        ]
    return [bedrock_model_arn(model_id, stack, region=region)]


def job_name_prefix(stack_name: str) -> str:
    """Lower-case letters and digits only: valid in both job and custom-model names."""
    return re.sub(r"[^a-z0-9]", "", stack_name.lower())[:40] or "rft"


class RftPipeline(Construct):
    """Bucket, data assets, reward Lambda, Bedrock service role and the RFT job for one task."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: RftConfig,
        training_data: Path,
        validation_data: Path | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.task = config.task
        stack = Stack.of(self)

        # 1. Data: the JSONL files data_prep wrote at synth time, published by `cdk deploy` as assets.
        self.training_data = s3_assets.Asset(self, "TrainingData", path=str(training_data))
        self.validation_data = (
            s3_assets.Asset(self, "ValidationData", path=str(validation_data)) if validation_data else None
        )
        data_assets = [a for a in (self.training_data, self.validation_data) if a is not None]

        # 2. Output bucket: where the job writes metrics and checkpoints' manifests.
        self.bucket = self._output_bucket()
        self.output_uri = f"s3://{self.bucket.bucket_name}/{OUTPUT_PREFIX}"

        # 3. Reward function (the grader) and its shared dependency layer.
        self.layer = dependency_layer(self, "Dependencies")
        self.reward_function = self._reward_function()

        # 4. The role Bedrock assumes to run the job.
        self.service_role = self._bedrock_service_role(stack, data_assets)

        # 5. The job, launched by a custom resource (there is no CloudFormation type for it).
        self.job: CustomResource | None = self._job(stack) if config.launch_job else None

        # 6. Job state changes (started, completed, failed, stopped) to an encrypted topic.
        self.job_events_topic = self._job_notifications(stack)

    # -- 2 -------------------------------------------------------------------------------------------
    def _output_bucket(self) -> s3.Bucket:
        destroy = self.config.destroy_data_on_delete
        bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.DESTROY if destroy else RemovalPolicy.RETAIN,
            auto_delete_objects=destroy,
        )
        _acknowledge(
            bucket,
            "Holds only job output written by one Bedrock role; access is auditable through CloudTrail, "
            "and an access-log bucket would double the buckets for no extra signal.",
            "AwsSolutions::AwsSolutions-S1",
        )
        return bucket

    # -- 3 -------------------------------------------------------------------------------------------
    def _log_group(self, construct_id: str) -> logs.LogGroup:
        return logs.LogGroup(
            self,
            construct_id,
            retention=_retention(self.config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _function_role(self, construct_id: str, log_group: logs.LogGroup) -> iam.Role:
        """A Lambda role that may write to its own log group and nothing else (no managed policies)."""
        role = iam.Role(self, construct_id, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        return role

    def _reward_function(self) -> lambda_.Function:
        task, config = self.task, self.config
        log_group = self._log_group("RewardLogs")
        role = self._function_role("RewardRole", log_group)
        environment = {
            "POWERTOOLS_SERVICE_NAME": f"{task.name}-reward",
            "POWERTOOLS_METRICS_NAMESPACE": "BedrockRft",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **task.reward_environment,
        }
        if task.kind == "rlaif":
            judge = config.judge_model_id
            if not judge:
                raise ConfigError(
                    f"Task {task.name} is RLAIF but has no judge model; set `rft:{task.name}` → judgeModelId."
                )
            environment["JUDGE_MODEL_ID"] = judge
            spec = task.judge or JudgeSpec(model_id=judge)
            environment["VERDICT_WEIGHT"] = str(spec.verdict_weight)
            environment["JUDGE_MAX_CONCURRENCY"] = str(spec.max_concurrency)
            environment["JUDGE_TIMEOUT_S"] = str(spec.timeout_s)
            for key, env in (
                ("verdictWeight", "VERDICT_WEIGHT"),
                ("judgeMaxConcurrency", "JUDGE_MAX_CONCURRENCY"),
                ("judgeTimeoutS", "JUDGE_TIMEOUT_S"),
            ):
                if key in config.settings:
                    environment[env] = str(config.settings[key])
            # Converse is authorised by bedrock:InvokeModel; scoped to the judge, never "*".
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["bedrock:InvokeModel"],
                    resources=judge_model_arns(judge, Stack.of(self), region=config.region),
                )
            )
            if model_id_is_profile(judge):
                model = judge.split(".", 1)[1]
                _acknowledge(
                    role,
                    "An inference profile routes to the same judge model in several regions; only that model.",
                    f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/{model}]",
                )

        return lambda_.Function(
            self,
            "RewardFunction",
            description=f"Bedrock RFT reward (grader) for {task.name}: {task.description}",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=task.reward_handler,
            code=lambda_code(task.reward_package, SHARED_REWARD_PACKAGE),
            layers=[self.layer],
            timeout=Duration.seconds(task.reward_timeout_s),
            memory_size=task.reward_memory_mb,
            reserved_concurrent_executions=config.reward_reserved_concurrency,
            environment=environment,
            log_group=log_group,
            role=role,
        )

    # -- 4 -------------------------------------------------------------------------------------------
    def _bedrock_service_role(self, stack: Stack, data_assets: list[s3_assets.Asset]) -> iam.Role:
        region = self.config.region
        role = iam.Role(
            self,
            "BedrockServiceRole",
            description=f"Assumed by Amazon Bedrock to run the {self.task.name} RFT job",
            assumed_by=iam.ServicePrincipal(
                "bedrock.amazonaws.com",
                conditions={
                    # Confused-deputy guard: only customization jobs of this account may assume it.
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:bedrock:{region}:{stack.account}:model-customization-job/*"
                    },
                },
            ),
        )
        for asset in data_assets:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["s3:GetObject"], resources=[asset.bucket.arn_for_objects(asset.s3_object_key)]
                )
            )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[data_assets[0].bucket.bucket_arn],
                conditions={"StringEquals": {"s3:prefix": [a.s3_object_key for a in data_assets]}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"{OUTPUT_PREFIX}*")],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{OUTPUT_PREFIX}*"]}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[self.reward_function.function_arn]
            )
        )
        bucket_id = stack.get_logical_id(self.bucket.node.default_child)  # type: ignore[arg-type]
        _acknowledge(
            role,
            "The job writes objects with names it chooses, but only under the output prefix of this bucket.",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{OUTPUT_PREFIX}*]",
        )
        return role

    # -- 5 -------------------------------------------------------------------------------------------
    def _job(self, stack: Stack) -> CustomResource:
        config = self.config
        region = config.region
        job_arns = f"arn:{stack.partition}:bedrock:{region}:{stack.account}:model-customization-job/*"
        # cdk-nag names findings by the rendered ARN: a token without an account, the number with one
        # (the CLI sets CDK_DEFAULT_ACCOUNT whenever it has credentials, i.e. on every real deploy).
        account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
        model_arns = f"arn:{stack.partition}:bedrock:{region}:{stack.account}:custom-model/*"
        base_model = bedrock_model_arn(config.base_model, stack, region=region)

        log_group = self._log_group("JobLauncherLogs")
        role = self._function_role("JobLauncherRole", log_group)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["bedrock:CreateModelCustomizationJob"], resources=[job_arns, model_arns, base_model]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                # ListTagsForResource reads the job's definition tag: a rolled-back update keeps the running job.
                actions=[
                    "bedrock:GetModelCustomizationJob",
                    "bedrock:StopModelCustomizationJob",
                    "bedrock:ListTagsForResource",
                ],
                resources=[job_arns],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["bedrock:TagResource"], resources=[job_arns, model_arns])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.service_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            )
        )
        _acknowledge(
            role,
            "Job and custom-model ARNs end in ids Bedrock assigns at creation, so they cannot be named in "
            "advance; the actions are limited to creating, reading, tagging and stopping jobs.",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:{region}:{account}:model-customization-job/*]",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:{region}:{account}:custom-model/*]",
        )

        launcher = lambda_.Function(
            self,
            "JobLauncher",
            description=f"Launches, keeps or stops the {self.task.name} Bedrock RFT job (custom resource)",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="rft_job.handler.on_event",
            code=lambda_code(JOB_PACKAGE),
            layers=[self.layer],
            timeout=Duration.minutes(2),
            memory_size=256,
            environment={"POWERTOOLS_SERVICE_NAME": "rft-job", "POWERTOOLS_LOG_LEVEL": "INFO"},
            log_group=log_group,
            role=role,
        )
        provider = cr.Provider(
            self, "JobProvider", on_event_handler=launcher, log_group=self._log_group("JobProviderLogs")
        )
        launcher_id = stack.get_logical_id(launcher.node.default_child)  # type: ignore[arg-type]
        _acknowledge(
            provider,
            "CDK's Provider framework function uses the AWS managed basic execution policy.",
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        )
        _acknowledge(
            provider,
            "CDK's Provider framework may invoke any version of this stack's launcher function, and only it.",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::<{launcher_id}.Arn>:*]",
        )

        tags = {"project": "bedrock-rft", "task": self.task.name, "stack": stack.stack_name}
        return CustomResource(
            self,
            "Job",
            service_token=provider.service_token,
            resource_type="Custom::BedrockRftJob",
            properties={
                "JobNamePrefix": job_name_prefix(stack.stack_name),
                "BaseModelIdentifier": base_model,
                "RoleArn": self.service_role.role_arn,
                "TrainingDataUri": self.training_data.s3_object_url,
                "ValidationDataUri": self.validation_data.s3_object_url if self.validation_data else "",
                "OutputDataUri": self.output_uri,
                "GraderLambdaArn": self.reward_function.function_arn,
                # JSON strings: CloudFormation would turn numbers into strings anyway.
                "HyperParameters": json.dumps(config.hyperparameters, sort_keys=True),
                "Tags": json.dumps(tags, sort_keys=True),
            },
        )

    # -- 6 -------------------------------------------------------------------------------------------
    def _job_notifications(self, stack: Stack) -> sns.Topic:
        """Nobody watches a multi-hour job: EventBridge tells a topic (and optionally an inbox) when it ends."""
        # EventBridge can only publish to a topic encrypted with a customer managed key it may use.
        key = kms.Key(
            self,
            "NotificationsKey",
            description=f"Encrypts the {self.task.name} RFT job-event topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        topic = sns.Topic(
            self,
            "JobEvents",
            display_name=f"Bedrock RFT job events ({stack.stack_name})",
            master_key=key,
            enforce_ssl=True,
        )
        if self.config.notification_email:
            topic.add_subscription(subscriptions.EmailSubscription(self.config.notification_email))
        events.Rule(
            self,
            "JobStateChange",
            description=f"State changes of the RFT jobs launched by {stack.stack_name}",
            event_pattern=events.EventPattern(
                source=["aws.bedrock"],
                detail_type=["Model Customization Job State Change"],
                # Every job this stack launches (replacements included) is named `<prefix>-<hash>`.
                detail={"jobName": [{"prefix": f"{job_name_prefix(stack.stack_name)}-"}]},
            ),
            targets=[targets.SnsTopic(topic)],
        )
        return topic


_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
}


def _retention(days: int) -> logs.RetentionDays:
    if days not in _RETENTION:
        raise ConfigError(f"rft:logRetentionDays {days} is not supported; pick one of {sorted(_RETENTION)}.")
    return _RETENTION[days]
