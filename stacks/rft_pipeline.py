"""RftPipeline: one reinforcement fine-tuning task on Amazon Bedrock, as one reviewed construct.

Reads like the architecture diagram:
    data (JSONL assets) → output bucket → RewardFunction → Bedrock service role → BedrockRftJob
    → JobNotifications → TrainingMonitor

Everything is least privilege: the Bedrock role reads exactly the two data objects, writes only the
output prefix and invokes only this task's reward function; the launcher may create, read and stop
customization jobs and pass only that role, only to Bedrock. It takes its own props, not this app's
configuration, so another CDK app can use it (docs/construct.md).

With an `OpenWeightModel` the job runs on Bedrock's OpenAI-compatible API instead: there is no
Bedrock service role (that API is passed none), and the launcher itself reads the two data objects
and invokes the reward function (docs/open-weight.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from stacks.alarm_thresholds import AlarmThresholds
from stacks.bedrock_model import BaseModel, OpenWeightModel
from stacks.bedrock_rft_job import BedrockRftJob, BedrockRftJobProps, job_name_prefix
from stacks.dependency_layer import dependency_layer
from stacks.functions import FunctionVpc, grant_key_use
from stacks.job_notifications import JobNotifications, JobNotificationsProps
from stacks.nag import acknowledge, checkov_skip, logical_id, nag_account, nag_partition, nag_region
from stacks.reward_function import RewardFunction, RewardFunctionProps
from stacks.training_monitor import TrainingMonitor, TrainingMonitorProps

OUTPUT_PREFIX = "rft-output/"


@dataclass(frozen=True)
class RftPipelineProps:
    """One RFT task. Required: its name, training data, reward, hyperparameters and base model."""

    # Names the task in descriptions and tags (`gsm8k`).
    name: str
    # JSONL files in Bedrock's RFT format (`messages` + `reference_answer`), uploaded as assets.
    training_data: Path
    # The grader; the pipeline adds its dependency layer (Powertools, boto3) to `reward.layers`.
    reward: RewardFunctionProps
    # Bedrock's RFT hyperparameters, passed to the job as given (validate them before).
    hyperparameters: Mapping[str, Any]
    # The model to fine-tune: a Nova `BedrockModel("arn:aws:bedrock:us-east-1::foundation-model/...")`
    # (CreateModelCustomizationJob), or an `OpenWeightModel` (Bedrock's OpenAI-compatible API).
    base_model: BaseModel
    validation_data: Path | None = None
    # False: deploy everything but the paid job (to test the reward or the data first).
    launch_job: bool = True
    # True: the output bucket and its objects go with the stack. Secure default: keep them.
    destroy_data_on_delete: bool = False
    # Of the launcher's and the Provider's log groups (the reward's is `reward.log_retention`).
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    # Also mail job state changes here (the topic exists either way).
    notification_email: str | None = None
    # Jobs are named `<prefix>-<hash>`; None: from the stack name.
    job_name_prefix: str | None = None
    # When the training alarms fire (stacks/alarm_thresholds.py has the defaults).
    alarm_thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)
    # -- governed accounts (docs/governed-account.md); the defaults build what was always built --
    # Customer-managed key for the bucket, the custom model, the log groups, the topic, the functions.
    encryption_key: kms.IKey | None = None
    # The key of the CDK bootstrap bucket that holds the data assets, when it has one.
    assets_key: kms.IKey | None = None
    # The job's vpcConfig; with `reward_in_vpc` the reward function runs in the same subnets.
    vpc: FunctionVpc | None = None
    reward_in_vpc: bool = False
    # Version the output bucket (noncurrent versions expire after `noncurrent_version_days`).
    bucket_versioning: bool = False
    noncurrent_version_days: int = 30
    # Delete job output this many days after it is written; 0 keeps it.
    output_expiration_days: int = 0


def _check_open_weight(props: RftPipelineProps, stack: Stack) -> None:
    """What an open-weight job cannot do, as errors at synth rather than at deploy."""
    model = props.base_model
    assert isinstance(model, OpenWeightModel)
    if not Token.is_unresolved(stack.region) and stack.region != model.region:
        raise ValueError(
            f"{model.model_id} is fine-tuned in {model.region} only, but the stack is in {stack.region}; "
            f"deploy the stack to {model.region}."
        )
    if props.vpc is not None and not props.reward_in_vpc:
        raise ValueError(
            "vpc sets the network of a Nova job; an open-weight job has none. Set reward_in_vpc to run the "
            "reward function in those subnets, or remove vpc."
        )


def stack_child(scope: Construct, *path: str) -> Construct:
    """A construct CDK creates once per stack (its custom-resource providers), by path."""
    node: Construct = Stack.of(scope)
    for construct_id in path:
        node = node.node.find_child(construct_id)
    return node


class RftPipeline(Construct):
    """Bucket, data assets, reward function, Bedrock service role, the RFT job and its notifications."""

    def __init__(self, scope: Construct, construct_id: str, *, props: RftPipelineProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        stack = Stack.of(self)
        prefix = job_name_prefix(props.job_name_prefix or stack.stack_name)
        open_weight = isinstance(props.base_model, OpenWeightModel)
        if open_weight:
            _check_open_weight(props, stack)

        # 1. Data: the JSONL files, published by `cdk deploy` as assets.
        self.training_data = s3_assets.Asset(self, "TrainingData", path=str(props.training_data))
        self.validation_data = (
            s3_assets.Asset(self, "ValidationData", path=str(props.validation_data))
            if props.validation_data
            else None
        )

        # 2. Output bucket: where the job writes metrics and checkpoints' manifests.
        self.bucket = self._output_bucket(props)
        self.output_uri = f"s3://{self.bucket.bucket_name}/{OUTPUT_PREFIX}"

        # 3. Reward function (the grader) and the dependency layer every function shares.
        self.layer = dependency_layer(self, "Dependencies")
        reward = replace(
            props.reward,
            layers=[self.layer, *props.reward.layers],
            encryption_key=props.reward.encryption_key or props.encryption_key,
            vpc=props.vpc if props.reward_in_vpc else props.reward.vpc,
        )
        self.reward = RewardFunction(self, "Reward", props=reward)
        self.reward_function = self.reward.function

        # 4. The role Bedrock assumes to run a Nova job (an open-weight job is given no role).
        self.service_role: iam.Role | None = None if open_weight else self._bedrock_service_role()

        # 5. The job, launched by a custom resource (there is no CloudFormation type for it).
        self.job: BedrockRftJob | None = None
        if props.launch_job:
            self.job = BedrockRftJob(
                self,
                "RftJob",
                props=BedrockRftJobProps(
                    base_model=props.base_model,
                    service_role=self.service_role,
                    grader=self.reward_function,
                    training_data_uri=self.training_data.s3_object_url,
                    validation_data_uri=self.validation_data.s3_object_url if self.validation_data else None,
                    output_data_uri=self.output_uri,
                    hyperparameters=props.hyperparameters,
                    job_name_prefix=prefix,
                    tags={"project": "bedrock-rft", "task": props.name, "stack": stack.stack_name},
                    description=f"Launches, keeps or stops the {props.name} Bedrock RFT job (custom resource)",
                    layer=self.layer,
                    log_retention=props.log_retention,
                    encryption_key=props.encryption_key,
                    vpc=None if open_weight else props.vpc,
                    data_assets=self.data_assets,
                    assets_key=props.assets_key,
                ),
            )

        # 6. Job state changes (started, completed, failed, stopped) to an encrypted topic.
        self.notifications = JobNotifications(
            self,
            "Notifications",
            props=JobNotificationsProps(
                job_name_prefix=prefix,
                email=props.notification_email,
                label=props.name,
                key=props.encryption_key,
            ),
        )
        self.job_events_topic = self.notifications.topic

        # 7. The reward function's metrics, live: a dashboard, and alarms into the job-events topic.
        self.monitor = TrainingMonitor(
            self,
            "Monitor",
            props=TrainingMonitorProps(
                function=self.reward_function,
                timeout=reward.timeout,
                service_name=reward.service_name,
                topic=self.job_events_topic,
                topic_key=self.notifications.key,
                judged=reward.judge is not None,
                thresholds=props.alarm_thresholds,
                label=props.name,
            ),
        )

    @property
    def data_assets(self) -> list[s3_assets.Asset]:
        return [a for a in (self.training_data, self.validation_data) if a is not None]

    def _output_bucket(self, props: RftPipelineProps) -> s3.Bucket:
        destroy, key = props.destroy_data_on_delete, props.encryption_key
        rules = []
        if props.bucket_versioning:
            rules.append(
                s3.LifecycleRule(
                    id="ExpireNoncurrentVersions",
                    noncurrent_version_expiration=Duration.days(props.noncurrent_version_days),
                )
            )
        if props.output_expiration_days:
            rules.append(
                s3.LifecycleRule(
                    id="ExpireJobOutput",
                    prefix=OUTPUT_PREFIX,
                    expiration=Duration.days(props.output_expiration_days),
                )
            )
        bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS if key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=key,
            # A bucket key: one KMS call per bucket and period, not one per object.
            bucket_key_enabled=True if key else None,
            versioned=True if props.bucket_versioning else None,
            lifecycle_rules=rules or None,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.DESTROY if destroy else RemovalPolicy.RETAIN,
            auto_delete_objects=destroy,
        )
        reason = (
            "Holds only job output written by one Bedrock role; access is auditable through CloudTrail, "
            "and an access-log bucket would double the buckets for no extra signal."
        )
        acknowledge(bucket, reason, "AwsSolutions::AwsSolutions-S1")
        checkov_skip(bucket, reason, "CKV_AWS_18")
        if not props.bucket_versioning:
            checkov_skip(
                bucket,
                "Every job writes under a new prefix and nothing overwrites it; set rft:bucketVersioning "
                "to keep deleted objects too.",
                "CKV_AWS_21",
            )
        if destroy:
            # CDK's singleton handler that empties the bucket on `cdk destroy`.
            handler = stack_child(self, "Custom::S3AutoDeleteObjectsCustomResourceProvider", "Handler")
            for check, why in (
                ("CKV_AWS_116", "called synchronously by CloudFormation; a failure fails the stack"),
                ("CKV_AWS_117", "calls only the S3 API, once, on stack deletion"),
                ("CKV_AWS_115", "runs once, on stack deletion"),
            ):
                checkov_skip(handler, f"CDK's auto-delete-objects custom resource: {why}.", check)
        return bucket

    def _bedrock_service_role(self) -> iam.Role:
        stack = Stack.of(self)
        data = self.data_assets
        role = iam.Role(
            self,
            "BedrockServiceRole",
            description=f"Assumed by Amazon Bedrock to run the {self.props.name} RFT job",
            assumed_by=iam.ServicePrincipal(
                "bedrock.amazonaws.com",
                conditions={
                    # Confused-deputy guard: only customization jobs of this account may assume it.
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:model-customization-job/*"
                    },
                },
            ),
        )
        for asset in data:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["s3:GetObject"], resources=[asset.bucket.arn_for_objects(asset.s3_object_key)]
                )
            )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[data[0].bucket.bucket_arn],
                conditions={"StringEquals": {"s3:prefix": [a.s3_object_key for a in data]}},
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
        self._governed_permissions(role)
        # Not `grant_invoke`: that also allows the function's versions and aliases (`<arn>:*`).
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[self.reward_function.function_arn]
            )
        )
        acknowledge(
            role,
            "The job writes objects with names it chooses, but only under the output prefix of this bucket.",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical_id(self.bucket)}.Arn>/{OUTPUT_PREFIX}*]",
        )
        return role

    def _governed_permissions(self, role: iam.Role) -> None:
        """What the job needs with a customer-managed key, a key-encrypted bootstrap bucket, a VPC."""
        props, stack = self.props, Stack.of(self)
        if props.encryption_key is not None:
            # SSE-KMS with a bucket key: S3 asks KMS with the bucket's ARN as encryption context.
            grant_key_use(
                role,
                props.encryption_key,
                ["kms:Decrypt", "kms:GenerateDataKey"],
                "s3",
                {"aws:s3:arn": self.bucket.bucket_arn},
            )
        if props.assets_key is not None:
            # The bootstrap bucket's objects may or may not use a bucket key: no context to pin.
            grant_key_use(role, props.assets_key, ["kms:Decrypt"], "s3")
        if props.vpc is None:
            return
        # Protect model customization jobs using a VPC (Bedrock user guide): the statements it lists.
        arn = f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}"
        job_arns = f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:model-customization-job/*"
        subnets = [f"{arn}:subnet/{s}" for s in props.vpc.subnet_ids]
        groups = [f"{arn}:security-group/{g}" for g in props.vpc.security_group_ids]
        statements = [
            iam.PolicyStatement(
                actions=[
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                actions=["ec2:CreateNetworkInterface"],
                resources=[f"{arn}:network-interface/*"],
                conditions={
                    "StringEquals": {"aws:RequestTag/BedrockManaged": ["true"]},
                    "ArnEquals": {"aws:RequestTag/BedrockModelCustomizationJobArn": [job_arns]},
                },
            ),
            iam.PolicyStatement(actions=["ec2:CreateNetworkInterface"], resources=[*subnets, *groups]),
            iam.PolicyStatement(
                actions=[
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                resources=["*"],
                conditions={
                    "ArnEquals": {
                        "ec2:Subnet": subnets,
                        "ec2:ResourceTag/BedrockModelCustomizationJobArn": [job_arns],
                    },
                    "StringEquals": {"ec2:ResourceTag/BedrockManaged": "true"},
                },
            ),
            iam.PolicyStatement(
                actions=["ec2:CreateTags"],
                resources=[f"{arn}:network-interface/*"],
                conditions={
                    "StringEquals": {"ec2:CreateAction": ["CreateNetworkInterface"]},
                    "ForAllValues:StringEquals": {
                        "aws:TagKeys": ["BedrockManaged", "BedrockModelCustomizationJobArn"]
                    },
                },
            ),
        ]
        for statement in statements:
            role.add_to_policy(statement)
        nag_arn = f"arn:{nag_partition(self)}:ec2:{nag_region(self)}:{nag_account(self)}"
        acknowledge(
            role,
            "The VPC statements of Bedrock's model-customization guide: EC2 Describe calls have no "
            "resource-level permissions, and Bedrock's network interfaces get ids at creation; each is "
            "limited by the BedrockManaged and job-ARN tags and to the configured subnets.",
            "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_arn}:network-interface/*]",
        )
