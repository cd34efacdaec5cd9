"""cdk-nag acknowledgements and checkov skips, placed next to the resource they excuse, each with its
reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Stack, Token, Validations
from constructs import Construct


def acknowledge(construct: Construct, reason: str, *finding_ids: str) -> None:
    """Acknowledge cdk-nag findings on `construct` and its children."""
    for finding_id in finding_ids:
        Validations.of(construct).acknowledge(Acknowledgment(id=finding_id, reason=reason))


def checkov_skip(construct: Construct, reason: str, *check_ids: str) -> None:
    """Skip checkov checks on `construct`'s CloudFormation resource (or on `construct` itself when it is
    one), in the template metadata checkov reads: `Metadata: checkov: skip: [{id, comment}]`."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    assert isinstance(resource, CfnResource), f"{construct.node.path} has no CloudFormation resource"
    metadata = resource.get_metadata("checkov") or {}
    skips = [*metadata.get("skip", []), *({"id": i, "comment": reason} for i in check_ids)]
    resource.add_metadata("checkov", {**metadata, "skip": skips})


def nag_partition(scope: Construct) -> str:
    """The partition as cdk-nag writes it in finding ids: a placeholder while it is a token (the
    `enablePartitionLiterals` flag makes it the literal `aws` once the region is known)."""
    return _rendered(Stack.of(scope).partition, "<AWS::Partition>")


def nag_account(scope: Construct) -> str:
    """The account as cdk-nag writes it: a placeholder without an account, the number with one (the
    CLI sets CDK_DEFAULT_ACCOUNT whenever it has credentials, i.e. on every real deploy)."""
    return _rendered(Stack.of(scope).account, "<AWS::AccountId>")


def nag_region(scope: Construct) -> str:
    """The region as cdk-nag writes it: a placeholder for an environment-agnostic stack."""
    return _rendered(Stack.of(scope).region, "<AWS::Region>")


def logical_id(construct: Construct) -> str:
    """The logical id of `construct`'s CloudFormation resource, as cdk-nag names it in `<id.Arn>`."""
    return Stack.of(construct).get_logical_id(construct.node.default_child)  # type: ignore[arg-type]


def _rendered(value: str, placeholder: str) -> str:
    return placeholder if Token.is_unresolved(value) else value
