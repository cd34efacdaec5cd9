"""RewardFunction: the grader Bedrock calls with batches of rollouts, with its own role and log group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.bedrock_model import BedrockModel
from stacks.functions import (
    LAMBDA_ROOT,
    FunctionVpc,
    function_role,
    lambda_code,
    log_group,
    place_in_vpc,
    python_function,
)
from stacks.metric_names import names
from stacks.nag import checkov_skip


@dataclass(frozen=True)
class RewardJudge:
    """An RLAIF reward's judge: the model it may invoke and the settings its handler reads.

    The values go to the environment variables of the reward contract (JUDGE_MODEL_ID, VERDICT_WEIGHT,
    JUDGE_MAX_CONCURRENCY, JUDGE_TIMEOUT_S); the defaults belong to the task, so all are required here.
    """

    model: BedrockModel
    verdict_weight: float
    max_concurrency: int
    timeout_s: float

    @property
    def environment(self) -> dict[str, str]:
        return {
            "JUDGE_MODEL_ID": self.model.model_id,
            "VERDICT_WEIGHT": str(self.verdict_weight),
            "JUDGE_MAX_CONCURRENCY": str(self.max_concurrency),
            "JUDGE_TIMEOUT_S": str(self.timeout_s),
        }


@dataclass(frozen=True)
class RewardFunctionProps:
    """What the grader runs. Only `handler` and `packages` are required."""

    # `<package>.<module>.<function>`, e.g. `gsm8k_reward.handler.lambda_handler`.
    handler: str
    # Package folders under `code_root` the asset ships; nothing else is uploaded.
    packages: Sequence[str]
    code_root: Path = LAMBDA_ROOT
    # Powertools' service name in logs and metrics.
    service_name: str = "rft-reward"
    description: str = "Bedrock RFT reward (grader)"
    timeout: Duration = field(default_factory=lambda: Duration.seconds(300))
    memory_size: int = 512
    # None: the account's unreserved pool. Judge rewards cap it so a burst cannot exhaust the judge quota.
    reserved_concurrency: int | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    # Set for an RLAIF reward; the function may then invoke this model and nothing else in Bedrock.
    judge: RewardJudge | None = None
    # Layers the handler imports from (RftPipeline adds its Powertools + boto3 layer).
    layers: Sequence[lambda_.ILayerVersion] = ()
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    # Customer-managed key for the log group and the environment variables (None: AWS-managed).
    encryption_key: kms.IKey | None = None
    # Run in these subnets with these security groups (None: Lambda's own network).
    vpc: FunctionVpc | None = None


class RewardFunction(Construct):
    """A Lambda with a role that may write its own logs and, for a judge reward, invoke only the judge."""

    def __init__(self, scope: Construct, construct_id: str, *, props: RewardFunctionProps) -> None:
        super().__init__(scope, construct_id)
        # Child ids as in the flat construct this came from (RftStack keeps deployed logical ids).
        self.log_group = log_group(self, "RewardLogs", props.log_retention, props.encryption_key)
        self.role = function_role(self, "RewardRole", self.log_group)
        environment = {
            "POWERTOOLS_SERVICE_NAME": props.service_name,
            "POWERTOOLS_METRICS_NAMESPACE": names.NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **props.environment,
        }
        if props.judge is not None:
            environment.update(props.judge.environment)
            props.judge.model.grant_invoke(self.role)

        self.function = python_function(
            self,
            "RewardFunction",
            handler=props.handler,
            code=lambda_code(props.packages, props.code_root),
            role=self.role,
            logs_=self.log_group,
            layers=props.layers,
            timeout=props.timeout,
            memory_size=props.memory_size,
            environment=environment,
            description=props.description,
            reserved_concurrency=props.reserved_concurrency,
            key=props.encryption_key,
        )
        if props.vpc is not None:
            place_in_vpc(self.function, self.role, props.vpc)
        else:
            checkov_skip(
                self.function, "VPC placement is available through rft:vpc → rewardInVpc.", "CKV_AWS_117"
            )
        checkov_skip(
            self.function,
            "Bedrock calls the grader synchronously and handles a failed batch itself; an asynchronous "
            "dead-letter queue would never receive an event.",
            "CKV_AWS_116",
        )
        if props.reserved_concurrency is None:
            checkov_skip(
                self.function,
                "An exact reward is bounded by Bedrock's batch rate; judge rewards reserve concurrency "
                "(rft:<task>:rewardReservedConcurrency).",
                "CKV_AWS_115",
            )
        if props.encryption_key is None:
            checkov_skip(
                self.function,
                "No secrets in its environment (settings only); set rft:kmsKeyArn to encrypt it with your key.",
                "CKV_AWS_173",
            )
