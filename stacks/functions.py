"""The parts every function of the pipeline shares: code from `lambda/`, its own log group and a role
that may write only there."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.dependency_layer import RUNTIME

LAMBDA_ROOT = Path(__file__).resolve().parent.parent / "lambda"


def lambda_code(packages: Sequence[str], root: Path = LAMBDA_ROOT) -> lambda_.Code:
    """`root` with only `packages`, so one task's edit doesn't redeploy the others."""
    keep = set(packages)
    exclude = sorted(entry.name for entry in root.iterdir() if entry.name not in keep)
    return lambda_.Code.from_asset(str(root), exclude=[*exclude, "**/__pycache__", "**/*.pyc"])


def log_group(scope: Construct, construct_id: str, retention: logs.RetentionDays) -> logs.LogGroup:
    return logs.LogGroup(scope, construct_id, retention=retention, removal_policy=RemovalPolicy.DESTROY)


def function_role(scope: Construct, construct_id: str, logs_: logs.LogGroup) -> iam.Role:
    """A Lambda role that may write to its own log group and nothing else (no managed policies)."""
    role = iam.Role(scope, construct_id, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[logs_.log_group_arn]
        )
    )
    return role


def python_function(
    scope: Construct,
    construct_id: str,
    *,
    handler: str,
    code: lambda_.Code,
    role: iam.IRole,
    logs_: logs.ILogGroup,
    layers: Sequence[lambda_.ILayerVersion],
    timeout: Duration,
    memory_size: int,
    environment: Mapping[str, str],
    description: str,
    reserved_concurrency: int | None = None,
) -> lambda_.Function:
    """A Python function on arm64 (the layer is built for it), with the given role and log group."""
    return lambda_.Function(
        scope,
        construct_id,
        description=description,
        runtime=RUNTIME,
        architecture=lambda_.Architecture.ARM_64,
        handler=handler,
        code=code,
        layers=list(layers) or None,
        timeout=timeout,
        memory_size=memory_size,
        reserved_concurrent_executions=reserved_concurrency,
        environment=dict(environment),
        log_group=logs_,
        role=role,
    )


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
RETENTION_DAYS = tuple(sorted(_RETENTION))


def retention(days: int) -> logs.RetentionDays:
    """`days` as CloudWatch's retention; KeyError for a value CloudWatch does not offer."""
    return _RETENTION[days]
