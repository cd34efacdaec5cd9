"""BedrockRftJob: the reinforcement fine-tuning job, launched by a custom resource.

CloudFormation has no resource type for model customization jobs, so a Lambda behind CDK's Provider
framework launches the job on Create, keeps it when an update changes nothing it was started with,
and stops it on Delete (lambda/rft_job). The base model picks the backend, an implementation detail
of this one construct:
- Nova (`BedrockModel`): CreateModelCustomizationJob. The launcher may create, read, tag and stop
  customization jobs and pass only the job's service role, only to Bedrock.
- Open-weight (`OpenWeightModel`): Bedrock's OpenAI-compatible fine-tuning API. No role is passed
  (the API has no role field); the launcher itself reads the two data assets, uploads them to the
  Files API and creates the job, so it may do exactly that on the account's default project, create
  jobs only for this model, and invoke only this reward function (docs/open-weight.md).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from aws_cdk import CustomResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.bedrock_model import BaseModel, BedrockModel, OpenWeightModel
from stacks.functions import (
    LAMBDA_ROOT,
    FunctionVpc,
    function_role,
    grant_key_use,
    lambda_code,
    log_group,
    python_function,
)
from stacks.nag import acknowledge, checkov_skip, logical_id, nag_account, nag_partition, nag_region

JOB_PACKAGE = "rft_job"
# The SigV4 client of Bedrock's OpenAI-compatible API; shipped only with open-weight jobs.
MANTLE_PACKAGE = "rft_mantle"
# The `Backend` property of the job resource (lambda/rft_job/properties.py); Nova's is left out, so
# Nova templates are what they were before backends existed.
BACKEND_BEDROCK, BACKEND_MANTLE = "bedrock", "mantle"
# An open-weight launch reads and uploads the data and may wait out throttling: more time and memory
# (the whole training file is held once to be signed) than Nova's two control-plane calls.
MANTLE_TIMEOUT = Duration.minutes(10)
MANTLE_MEMORY_MB = 1024
NAMING_MODULE = LAMBDA_ROOT / JOB_PACKAGE / "naming.py"


def _load_naming_module() -> ModuleType:
    """lambda/rft_job/naming.py, by path: `lambda` is no importable name, and the asset ships only
    lambda/rft_job, so the launcher and this app share one file instead of two copies."""
    name = "stacks._rft_job_naming"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, NAMING_MODULE)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the file runs
        spec.loader.exec_module(module)
    return sys.modules[name]


# Cleans a stack name into the stem of every job name; the launcher's `job_names` uses the same one.
job_name_prefix: Callable[[str], str] = _load_naming_module().job_name_prefix


@dataclass(frozen=True)
class BedrockRftJobProps:
    """The job request: what CreateModelCustomizationJob (Nova) or the fine-tuning API receives."""

    base_model: BaseModel
    # The role Bedrock assumes to read the data, write the output and invoke the grader (Nova only:
    # None for an open-weight model, whose job is given no role).
    service_role: iam.IRole | None
    grader: lambda_.IFunction
    training_data_uri: str
    output_data_uri: str
    # Bedrock's RFT hyperparameters (epochCount, batchSize, ...), already validated.
    hyperparameters: Mapping[str, Any]
    # Clean with `naming.job_name_prefix`; every job is named `<prefix>-<hash>`.
    job_name_prefix: str
    validation_data_uri: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str = "Launches, keeps or stops a Bedrock RFT job (custom resource)"
    # Powertools + boto3 for the launcher (`stacks.dependency_layer`); without it the handler cannot import.
    layer: lambda_.ILayerVersion | None = None
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    # Encrypts the custom model (`customModelKmsKeyId`), the log groups and the launcher's environment.
    encryption_key: kms.IKey | None = None
    # The job's `vpcConfig`: Bedrock reaches the data from network interfaces in these subnets (Nova).
    vpc: FunctionVpc | None = None
    # Open-weight: the data assets the launcher reads (only these objects) and uploads to the Files API,
    # and the key of the bucket that holds them, when it has one.
    data_assets: Sequence[s3_assets.Asset] = ()
    assets_key: kms.IKey | None = None


class BedrockRftJob(Construct):
    """The launcher function, its Provider and the `Custom::BedrockRftJob` resource. Nova: `resource.ref`
    is the job name; `JobArn` and `CustomModelName` are attributes. Open-weight: `JobName` and `JobId`
    (the service's job id) are attributes."""

    def __init__(self, scope: Construct, construct_id: str, *, props: BedrockRftJobProps) -> None:
        super().__init__(scope, construct_id)
        mantle = isinstance(props.base_model, OpenWeightModel)
        self.backend = BACKEND_MANTLE if mantle else BACKEND_BEDROCK
        # Child ids as in the flat construct this came from (RftStack keeps deployed logical ids).
        key = props.encryption_key
        self.log_group = log_group(self, "JobLauncherLogs", props.log_retention, key)
        self.role = self._mantle_launcher_role(props) if mantle else self._launcher_role(props)
        self.launcher = python_function(
            self,
            "JobLauncher",
            handler="rft_job.handler.on_event",
            code=lambda_code([JOB_PACKAGE, MANTLE_PACKAGE] if mantle else [JOB_PACKAGE]),
            role=self.role,
            logs_=self.log_group,
            layers=[props.layer] if props.layer else [],
            timeout=MANTLE_TIMEOUT if mantle else Duration.minutes(2),
            memory_size=MANTLE_MEMORY_MB if mantle else 256,
            environment={"POWERTOOLS_SERVICE_NAME": "rft-job", "POWERTOOLS_LOG_LEVEL": "INFO"},
            description=props.description,
            key=key,
        )
        self.provider = cr.Provider(
            self,
            "JobProvider",
            on_event_handler=self.launcher,
            log_group=log_group(self, "JobProviderLogs", props.log_retention, key),
            provider_function_env_encryption=key,
        )
        acknowledge(
            self.provider,
            "CDK's Provider framework function uses the AWS managed basic execution policy.",
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        )
        acknowledge(
            self.provider,
            "CDK's Provider framework may invoke any version of this stack's launcher function, and only it.",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical_id(self.launcher)}.Arn>:*]",
        )
        self.resource = CustomResource(
            self,
            "Job",
            service_token=self.provider.service_token,
            resource_type="Custom::BedrockRftJob",
            properties=self._mantle_properties(props) if mantle else self._bedrock_properties(props),
        )
        self._framework_function(key)

    def _bedrock_properties(self, props: BedrockRftJobProps) -> dict[str, Any]:
        """CreateModelCustomizationJob's inputs, exactly as Nova stacks always had them."""
        key = props.encryption_key
        assert isinstance(props.base_model, BedrockModel)
        assert props.service_role is not None, "a Nova job needs the Bedrock service role"
        return {
            "JobNamePrefix": props.job_name_prefix,
            "BaseModelIdentifier": props.base_model.arn(self),
            "RoleArn": props.service_role.role_arn,
            "TrainingDataUri": props.training_data_uri,
            "ValidationDataUri": props.validation_data_uri or "",
            "OutputDataUri": props.output_data_uri,
            "GraderLambdaArn": props.grader.function_arn,
            # JSON strings: CloudFormation would turn numbers into strings anyway.
            "HyperParameters": json.dumps(dict(props.hyperparameters), sort_keys=True),
            "Tags": json.dumps(dict(props.tags), sort_keys=True),
            # Only when set, so stacks without them keep their properties (and their job).
            **({"CustomModelKmsKeyId": key.key_arn} if key else {}),
            **(
                {
                    "VpcConfig": json.dumps(
                        {
                            "subnetIds": list(props.vpc.subnet_ids),
                            "securityGroupIds": list(props.vpc.security_group_ids),
                        }
                    )
                }
                if props.vpc
                else {}
            ),
        }

    def _mantle_properties(self, props: BedrockRftJobProps) -> dict[str, Any]:
        """The fine-tuning API's inputs: the API model id, the data assets, the grader, the OpenAI-named
        hyperparameters. No role, output location, key or network: that API takes none."""
        assert isinstance(props.base_model, OpenWeightModel)
        return {
            "Backend": BACKEND_MANTLE,
            "JobNamePrefix": props.job_name_prefix,
            "BaseModelIdentifier": props.base_model.api_model_id,
            "TrainingDataUri": props.training_data_uri,
            "ValidationDataUri": props.validation_data_uri or "",
            "GraderLambdaArn": props.grader.function_arn,
            "HyperParameters": json.dumps(dict(props.hyperparameters), sort_keys=True),
            "Tags": json.dumps(dict(props.tags), sort_keys=True),
        }

    def _framework_function(self, key: kms.IKey | None) -> None:
        """The key grant and checkov skips of the launcher and of CDK's Provider framework function."""
        framework = self.provider.node.find_child("framework-onEvent")
        if key is not None:
            # Its environment is encrypted with the key too (providerFunctionEnvEncryption).
            assert isinstance(framework, lambda_.Function) and framework.role is not None
            grant_key_use(framework.role, key, ["kms:Decrypt"], "lambda")
        for function in (self.launcher, framework):
            checkov_skip(
                function,
                "A custom-resource function called synchronously by CloudFormation needs no DLQ: a "
                "failure is reported to the stack.",
                "CKV_AWS_116",
            )
            checkov_skip(
                function,
                "Runs once per deploy to call Bedrock's fine-tuning API over its public endpoint; the job "
                "runs in Bedrock's own network."
                if self.is_open_weight
                else "Runs once per deploy to call Bedrock's control plane; the job itself runs in rft:vpc.",
                "CKV_AWS_117",
            )
            checkov_skip(
                function,
                "Invoked only by CloudFormation, once per deploy: a reserved limit would only take "
                "concurrency from the account.",
                "CKV_AWS_115",
            )
            if key is None:
                checkov_skip(
                    function,
                    "No secrets in its environment; set rft:kmsKeyArn to encrypt it with your key.",
                    "CKV_AWS_173",
                )

    @property
    def is_open_weight(self) -> bool:
        return self.backend == BACKEND_MANTLE

    @property
    def job_name(self) -> str:
        return self.resource.get_att_string("JobName") if self.is_open_weight else self.resource.ref

    @property
    def job_id(self) -> str:
        """The fine-tuning API's job id (open-weight; a Nova job is named by `job_name`)."""
        self._require(BACKEND_MANTLE, "job_id")
        return self.resource.get_att_string("JobId")

    @property
    def job_arn(self) -> str:
        self._require(BACKEND_BEDROCK, "job_arn")
        return self.resource.get_att_string("JobArn")

    @property
    def custom_model_name(self) -> str:
        self._require(BACKEND_BEDROCK, "custom_model_name")
        return self.resource.get_att_string("CustomModelName")

    def _require(self, backend: str, attribute: str) -> None:
        # A `Fn::GetAtt` of an attribute the resource never returns fails only at deploy time.
        if self.backend != backend:
            raise AttributeError(
                f"{attribute} exists only for {backend} jobs; this job's backend is {self.backend}"
            )

    def _launcher_role(self, props: BedrockRftJobProps) -> iam.Role:
        stack = Stack.of(self)
        arn = f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}"
        job_arns, model_arns = f"{arn}:model-customization-job/*", f"{arn}:custom-model/*"
        role = function_role(self, "JobLauncherRole", self.log_group)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["bedrock:CreateModelCustomizationJob"],
                resources=[job_arns, model_arns, props.base_model.arn(self)],
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
        assert props.service_role is not None, "a Nova job needs the Bedrock service role"
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[props.service_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            )
        )
        if props.encryption_key is not None:
            # Encryption of custom models: the caller of CreateModelCustomizationJob lets Bedrock
            # create grants on the key, only through Bedrock.
            grant_key_use(
                role,
                props.encryption_key,
                ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"],
                "bedrock",
            )
        nag_arn = f"arn:{nag_partition(self)}:bedrock:{nag_region(self)}:{nag_account(self)}"
        acknowledge(
            role,
            "Job and custom-model ARNs end in ids Bedrock assigns at creation, so they cannot be named in "
            "advance; the actions are limited to creating, reading, tagging and stopping jobs.",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_arn}:model-customization-job/*]",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_arn}:custom-model/*]",
        )
        return role

    def _mantle_launcher_role(self, props: BedrockRftJobProps) -> iam.Role:
        """The bedrock-mantle actions of the open-weight launch, on the default project only (files and
        jobs have no IAM resource type of their own: the Service Authorization Reference authorizes
        them on `project`), job creation only for this model, plus reading the two data assets and
        invoking the reward function (the docs grant that to the job's creator; no role is passed)."""
        model = props.base_model
        assert isinstance(model, OpenWeightModel)
        project = model.project_arn(self)
        role = function_role(self, "JobLauncherRole", self.log_group)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["bedrock-mantle:CreateFineTuningJob"],
                resources=[project],
                conditions={"StringEquals": {"bedrock-mantle:Model": model.api_model_id}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                # List: a retried request finds the job its earlier attempt created.
                actions=[
                    "bedrock-mantle:CreateFile",
                    "bedrock-mantle:GetFile",
                    "bedrock-mantle:DeleteFile",
                    "bedrock-mantle:GetFineTuningJob",
                    "bedrock-mantle:ListFineTuningJobs",
                    "bedrock-mantle:CancelFineTuningJob",
                ],
                resources=[project],
            )
        )
        # Not `grant_invoke`: that also allows the function's versions and aliases (`<arn>:*`).
        role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[props.grader.function_arn])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[a.bucket.arn_for_objects(a.s3_object_key) for a in props.data_assets],
            )
        )
        if props.assets_key is not None:
            # The bootstrap bucket's objects may or may not use a bucket key: no context to pin.
            grant_key_use(role, props.assets_key, ["kms:Decrypt"], "s3")
        return role
