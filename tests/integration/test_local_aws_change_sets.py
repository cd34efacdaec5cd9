"""Change sets on the emulator belong to their stack, as in CloudFormation.

The CDK CLI's default deploy method gives every change set the same name (`cdk-deploy-change-set`)
and looks it up by that name plus the stack's name, so a lookup by name alone deploys another
stack's template. Each test drives the API the way `cdk deploy` does: delete any old change set,
create one, describe it by name and stack, execute the described ARN.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import ClientFactory

CDK_NAME = "cdk-deploy-change-set"


def template(*topics: str) -> str:
    return json.dumps(
        {
            "Resources": {
                f"Topic{name}": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": name}}
                for name in topics
            },
            "Outputs": {"First": {"Value": {"Fn::GetAtt": [f"Topic{topics[0]}", "TopicName"]}}},
        }
    )


@pytest.fixture
def cfn(aws: ClientFactory) -> Iterator[Any]:
    client = aws("cloudformation")
    yield client
    for summary in client.list_stacks()["StackSummaries"]:
        if summary["StackStatus"] != "DELETE_COMPLETE":
            client.delete_stack(StackName=summary["StackId"])


def topics(aws: ClientFactory) -> list[str]:
    return sorted(t["TopicArn"].rsplit(":", 1)[-1] for t in aws("sns").list_topics()["Topics"])


def live_stacks(cfn: Any) -> list[tuple[str, str]]:
    summaries = cfn.list_stacks()["StackSummaries"]
    return sorted(
        (s["StackName"], s["StackStatus"]) for s in summaries if s["StackStatus"] != "DELETE_COMPLETE"
    )


def cdk_deploy(cfn: Any, stack: str, body: str, change_set_type: str = "CREATE") -> dict[str, Any]:
    """What `cdk deploy` sends: clean up, create, describe by name + stack, execute the described ARN."""
    if change_set_type == "UPDATE":
        cfn.delete_change_set(StackName=stack, ChangeSetName=CDK_NAME)
    created = cfn.create_change_set(
        StackName=stack, ChangeSetName=CDK_NAME, ChangeSetType=change_set_type, TemplateBody=body
    )
    described = cfn.describe_change_set(StackName=stack, ChangeSetName=CDK_NAME)
    assert described["ChangeSetId"] == created["Id"]
    assert (described["StackName"], described["StackId"]) == (stack, created["StackId"])
    cfn.execute_change_set(StackName=stack, ChangeSetName=described["ChangeSetId"])
    return cfn.describe_stacks(StackName=stack)["Stacks"][0]  # type: ignore[no-any-return]


def test_two_stacks_with_the_same_change_set_name_each_deploy_their_own_template(
    cfn: Any, aws: ClientFactory
) -> None:
    first = cdk_deploy(cfn, "StackA", template("a1"))
    second = cdk_deploy(cfn, "StackB", template("b1", "b2"))

    assert (first["StackStatus"], second["StackStatus"]) == ("CREATE_COMPLETE", "CREATE_COMPLETE")
    assert second["Outputs"][0]["OutputValue"] == "b1"
    assert live_stacks(cfn) == [("StackA", "CREATE_COMPLETE"), ("StackB", "CREATE_COMPLETE")]
    assert topics(aws) == ["a1", "b1", "b2"]  # StackA's resources exist once, StackB's once
    # Each stack lists only its own change set; each ARN is distinct.
    listed = {s: cfn.list_change_sets(StackName=s)["Summaries"] for s in ("StackA", "StackB")}
    assert [[c["StackName"] for c in summaries] for summaries in listed.values()] == [["StackA"], ["StackB"]]
    assert listed["StackA"][0]["ChangeSetId"] != listed["StackB"][0]["ChangeSetId"]


def test_a_change_set_arn_is_not_executed_on_another_stack(cfn: Any) -> None:
    cfn.create_change_set(
        StackName="StackA", ChangeSetName=CDK_NAME, ChangeSetType="CREATE", TemplateBody=template("a1")
    )
    b = cfn.create_change_set(
        StackName="StackB", ChangeSetName=CDK_NAME, ChangeSetType="CREATE", TemplateBody=template("b1")
    )

    with pytest.raises(ClientError) as raised:
        cfn.execute_change_set(StackName="StackA", ChangeSetName=b["Id"])

    assert raised.value.response["Error"]["Code"] == "ChangeSetNotFound"
    assert live_stacks(cfn) == [("StackA", "REVIEW_IN_PROGRESS"), ("StackB", "REVIEW_IN_PROGRESS")]


def test_a_name_without_its_stack_is_refused(cfn: Any) -> None:
    cfn.create_change_set(
        StackName="StackA", ChangeSetName=CDK_NAME, ChangeSetType="CREATE", TemplateBody=template("a1")
    )

    with pytest.raises(ClientError) as raised:
        cfn.describe_change_set(ChangeSetName=CDK_NAME)

    assert raised.value.response["Error"]["Code"] == "ValidationError"
    assert "StackName" in raised.value.response["Error"]["Message"]


def test_a_change_set_deploy_after_a_destroy_creates_the_stack_afresh(cfn: Any, aws: ClientFactory) -> None:
    old_id = cdk_deploy(cfn, "StackA", template("a1"))["StackId"]
    cfn.delete_stack(StackName="StackA")
    with pytest.raises(ClientError) as gone:  # the destroyed stack's change sets went with it
        cfn.describe_change_set(StackName="StackA", ChangeSetName=CDK_NAME)
    assert gone.value.response["Error"]["Code"] == "ChangeSetNotFound"

    again = cdk_deploy(cfn, "StackA", template("a2"))

    assert again["StackStatus"] == "CREATE_COMPLETE"
    assert again["StackId"] != old_id
    assert live_stacks(cfn) == [("StackA", "CREATE_COMPLETE")]
    assert topics(aws) == ["a2"]


def test_an_update_change_set_updates_and_an_empty_one_reports_no_changes(
    cfn: Any, aws: ClientFactory
) -> None:
    cdk_deploy(cfn, "StackA", template("a1"))

    updated = cdk_deploy(cfn, "StackA", template("a1", "a2"), change_set_type="UPDATE")

    assert updated["StackStatus"] == "UPDATE_COMPLETE"
    assert topics(aws) == ["a1", "a2"]
    # Executing removed the stack's other change sets; a new one with the same template has no changes.
    cfn.delete_change_set(StackName="StackA", ChangeSetName=CDK_NAME)
    cfn.create_change_set(
        StackName="StackA", ChangeSetName=CDK_NAME, ChangeSetType="UPDATE", TemplateBody=template("a1", "a2")
    )
    empty = cfn.describe_change_set(StackName="StackA", ChangeSetName=CDK_NAME)
    assert (empty["Status"], empty["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert "didn't contain changes" in empty["StatusReason"]
    with pytest.raises(ClientError) as raised:
        cfn.execute_change_set(StackName="StackA", ChangeSetName=empty["ChangeSetId"])
    assert raised.value.response["Error"]["Code"] == "InvalidChangeSetStatus"


def test_a_stack_in_review_is_reused_by_the_next_create_change_set(cfn: Any, aws: ClientFactory) -> None:
    cfn.create_change_set(
        StackName="StackA", ChangeSetName=CDK_NAME, ChangeSetType="CREATE", TemplateBody=template("a1")
    )
    cfn.delete_change_set(StackName="StackA", ChangeSetName=CDK_NAME)  # a deploy abandoned in review

    deployed = cdk_deploy(cfn, "StackA", template("a2"))

    assert deployed["StackStatus"] == "CREATE_COMPLETE"
    assert live_stacks(cfn) == [("StackA", "CREATE_COMPLETE")]
    assert topics(aws) == ["a2"]
    with pytest.raises(ClientError) as raised:
        cfn.create_change_set(
            StackName="StackA", ChangeSetName="another", ChangeSetType="CREATE", TemplateBody=template("a3")
        )
    assert raised.value.response["Error"]["Code"] == "AlreadyExistsException"
