"""The parts every function of the pipeline shares: code from `lambda/`, its own log group and a role
that may write only there."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.dependency_layer import RUNTIME
from stacks.nag import acknowledge, checkov_skip

LAMBDA_ROOT = Path(__file__).resolve().parent.parent / "lambda"


@dataclass(frozen=True)
class FunctionVpc:
    """Subnets and security groups a function runs in (ids, as a platform team hands them out)."""

    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]


def lambda_code(packages: Sequence[str], root: Path = LAMBDA_ROOT) -> lambda_.Code:
    """`root` with only `packages`, so one task's edit doesn't redeploy the others."""
    keep = set(packages)
    exclude = sorted(entry.name for entry in root.iterdir() if entry.name not in keep)
    return lambda_.Code.from_asset(str(root), exclude=[*exclude, "**/__pycache__", "**/*.pyc"])


def log_group(
    scope: Construct, construct_id: str, retention: logs.RetentionDays, key: kms.IKey | None = None
) -> logs.LogGroup:
    """With `key`, CloudWatch Logs encrypts the group with it (the key policy must allow
    logs.<region>.amazonaws.com for this group: docs/governed-account.md)."""
    group = logs.LogGroup(
        scope, construct_id, retention=retention, removal_policy=RemovalPolicy.DESTROY, encryption_key=key
    )
    if key is None:
        checkov_skip(
            group,
            "CloudWatch Logs encrypts every log group; set rft:kmsKeyArn to use your own key.",
            "CKV_AWS_158",
        )
    return group


def grant_key_use(
    principal: iam.IGrantable,
    key: kms.IKey,
    actions: Sequence[str],
    service: str,
    context: Mapping[str, str] | None = None,
) -> None:
    """Allow `principal` these KMS actions on `key` only through `service` in this region
    (`kms:ViaService`), and only for the encryption context given."""
    region = Stack.of(key).region
    conditions: dict[str, dict[str, str]] = {
        "StringEquals": {"kms:ViaService": f"{service}.{region}.amazonaws.com"}
    }
    for name, value in (context or {}).items():
        conditions["StringEquals"][f"kms:EncryptionContext:{name}"] = value
    principal.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=list(actions), resources=[key.key_arn], conditions=conditions)
    )


def trusted_service(
    service: str, account: str, source_arn: str, *, pattern: bool = False
) -> iam.ServicePrincipal:
    """`service` as a principal that may assume a role only for `account` and only on behalf of
    `source_arn` (with `pattern`, an ARN pattern): the confused-deputy guard."""
    return iam.ServicePrincipal(
        service,
        conditions={
            "StringEquals": {"aws:SourceAccount": account},
            ("ArnLike" if pattern else "ArnEquals"): {"aws:SourceArn": source_arn},
        },
    )


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
    key: kms.IKey | None = None,
) -> lambda_.Function:
    """A Python function on arm64 (the layer is built for it), with the given role and log group.

    With `key`, Lambda encrypts the environment variables with it and the role may decrypt them.
    """
    if key is not None:
        grant_key_use(role, key, ["kms:Decrypt"], "lambda")
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
        environment_encryption=key,
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


def place_in_vpc(function: lambda_.Function, role: iam.Role, vpc: FunctionVpc) -> None:
    """Attach `function` to existing subnets and security groups by id, and let its role manage the
    network interfaces Lambda creates there (the actions of AWSLambdaVPCAccessExecutionRole).

    By id, on the CloudFormation resource: `lambda_.Function(vpc=...)` wants an `ec2.IVpc`, which
    for an existing VPC means a context lookup that needs AWS credentials at synth.
    """
    cfn = function.node.default_child
    assert isinstance(cfn, lambda_.CfnFunction)
    cfn.vpc_config = lambda_.CfnFunction.VpcConfigProperty(
        subnet_ids=list(vpc.subnet_ids), security_group_ids=list(vpc.security_group_ids)
    )
    role.add_to_policy(
        iam.PolicyStatement(
            # EC2 has no resource-level permissions for these Describe and ENI calls.
            actions=[
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            resources=["*"],
        )
    )
    acknowledge(
        role,
        "Lambda's VPC network interfaces: the actions of the AWS managed AWSLambdaVPCAccessExecutionRole, "
        "which EC2 authorises without resource-level scoping.",
        "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
    )
    checkov_skip(
        role.node.find_child("DefaultPolicy"),
        "Lambda's VPC network interfaces (AWSLambdaVPCAccessExecutionRole's actions) cannot be scoped "
        "to resources by EC2.",
        "CKV_AWS_111",
    )
    # The role must hold the ENI permissions before Lambda creates the function in the VPC.
    function.node.add_dependency(role.node.find_child("DefaultPolicy"))
