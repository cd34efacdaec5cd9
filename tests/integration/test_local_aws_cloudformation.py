"""CloudFormation on the emulator: ordering, custom resource events, failures with reasons, rollback.

Each stack has one custom resource whose handler (inline Python, answering through its ResponseURL
like cfn-response does) appends every event it receives to a journal file. Handlers run as local
processes, so the test reads back exactly what CloudFormation sent (and the handler stays free of
boto3, which keeps each event to a few tens of milliseconds).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import ClientFactory

HANDLER = """
import json, urllib.request

def respond(event, status, physical, data=None, reason=""):
    body = json.dumps({
        "Status": status, "Reason": reason, "PhysicalResourceId": physical, "Data": data or {},
        "StackId": event["StackId"], "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    urllib.request.urlopen(request, timeout=10).read()

def handler(event, context):
    props, kind = event["ResourceProperties"], event["RequestType"]
    with open(props["Journal"], "a") as journal:
        journal.write(json.dumps(event) + "\\n")
    if props.get("Silent") == kind:
        raise RuntimeError("crashed before answering " + kind)
    physical = "res-" + props["Version"] if kind == "Create" or (kind == "Update" and props.get("Fail") != kind) \\
        else event["PhysicalResourceId"]
    if props.get("Fail") == kind:
        respond(event, "FAILED", physical, reason="asked to fail " + kind)
    else:
        respond(event, "SUCCESS", physical, {"Echo": props["Value"]})
"""


def template(journal: str, function_name: str, **thing: Any) -> str:
    """Resources listed dependents-first, so only dependency ordering can create them correctly."""
    properties = {"Version": "1", "Value": "v", "Fail": "", "Silent": "", **thing}
    return json.dumps(
        {
            "Resources": {
                "Dependent": {
                    "Type": "AWS::SSM::Parameter",
                    "Properties": {
                        "Name": f"/{function_name}/echo",
                        "Type": "String",
                        "Value": {"Fn::GetAtt": ["Thing", "Echo"]},
                    },
                },
                "Thing": {
                    "Type": "Custom::Thing",
                    "Properties": {
                        "ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]},
                        "Journal": journal,
                        **properties,
                    },
                },
                "Handler": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "FunctionName": function_name,
                        "Runtime": "python3.13",
                        "Handler": "index.handler",
                        "Timeout": 10,
                        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                        "Code": {"ZipFile": HANDLER},
                    },
                },
                "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
            },
            "Outputs": {
                "ThingId": {"Value": {"Ref": "Thing"}},
                "Echo": {"Value": {"Fn::GetAtt": ["Thing", "Echo"]}},
            },
        }
    )


class StackUnderTest:
    """One stack plus its journal; `events()` is what the custom resource received, in order."""

    def __init__(self, aws: ClientFactory, name: str, journal: Path) -> None:
        self.aws, self.name, self.function = aws, name, f"{name}-handler"
        self.journal = str(journal)

    def template(self, **thing: Any) -> str:
        return template(self.journal, self.function, **thing)

    def create(self, **thing: Any) -> dict[str, Any]:
        self.aws("cloudformation").create_stack(StackName=self.name, TemplateBody=self.template(**thing))
        return self.describe()

    def update(self, **thing: Any) -> dict[str, Any]:
        self.aws("cloudformation").update_stack(StackName=self.name, TemplateBody=self.template(**thing))
        return self.describe()

    def describe(self, name: str | None = None) -> dict[str, Any]:
        stacks = self.aws("cloudformation").describe_stacks(StackName=name or self.name)["Stacks"]
        return stacks[0]  # type: ignore[no-any-return]

    def outputs(self) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self.describe().get("Outputs", [])}

    def events(self) -> list[dict[str, Any]]:
        path = Path(self.journal)
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def functions(self) -> list[str]:
        return [f["FunctionName"] for f in self.aws("lambda").list_functions()["Functions"]]


@pytest.fixture
def stack(aws: ClientFactory, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StackUnderTest]:
    name = "".join(ch for ch in request.node.name.title() if ch.isalnum())[:60]
    under_test = StackUnderTest(aws, name, tmp_path / "journal.jsonl")
    yield under_test
    aws("cloudformation").delete_stack(StackName=name)


def _summary(event: dict[str, Any]) -> tuple[str, str | None]:
    return event["RequestType"], event.get("PhysicalResourceId")


def test_create_orders_by_dependency_and_sends_string_properties(
    stack: StackUnderTest, aws: ClientFactory
) -> None:
    described = stack.create(Value="hello", Count=3, Enabled=True, Nested={"List": [1, False]})

    assert described["StackStatus"] == "CREATE_COMPLETE"
    [create] = stack.events()
    assert _summary(create) == ("Create", None)
    props = create["ResourceProperties"]
    assert (props["Count"], props["Enabled"], props["Nested"]) == ("3", "true", {"List": ["1", "false"]})
    # Fn::GetAtt on the custom resource's Data fed a resource created after it, and the outputs.
    assert aws("ssm").get_parameter(Name=f"/{stack.function}/echo")["Parameter"]["Value"] == "hello"
    assert stack.outputs() == {"ThingId": "res-1", "Echo": "hello"}


def test_update_sends_old_properties_then_deletes_the_replaced_physical_id(stack: StackUnderTest) -> None:
    stack.create(Version="1", Value="a")

    described = stack.update(Version="2", Value="b")

    assert described["StackStatus"] == "UPDATE_COMPLETE"
    _create, update, cleanup = stack.events()
    assert _summary(update) == ("Update", "res-1")
    assert update["ResourceProperties"]["Version"] == "2"
    assert update["OldResourceProperties"]["Version"] == "1"
    assert _summary(cleanup) == ("Delete", "res-1")
    assert cleanup["ResourceProperties"]["Version"] == "1"
    assert stack.outputs() == {"ThingId": "res-2", "Echo": "b"}


def test_an_update_that_changes_nothing_sends_no_event(stack: StackUnderTest, aws: ClientFactory) -> None:
    stack.create()
    body = json.loads(stack.template())
    body["Resources"]["Dependent"]["Properties"]["Description"] = "only the parameter changes"

    aws("cloudformation").update_stack(StackName=stack.name, TemplateBody=json.dumps(body))

    assert stack.describe()["StackStatus"] == "UPDATE_COMPLETE"
    assert [_summary(e) for e in stack.events()] == [("Create", None)]


def test_a_failed_create_rolls_back_and_reports_the_handlers_reason(stack: StackUnderTest) -> None:
    described = stack.create(Fail="Create")

    assert described["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "[Thing]" in described["StackStatusReason"]
    assert "asked to fail Create" in described["StackStatusReason"]
    # CloudFormation sends Delete for the physical id the failed Create reported, then removes the rest.
    assert [_summary(e) for e in stack.events()] == [("Create", None), ("Delete", "res-1")]
    assert stack.function not in stack.functions()


def test_a_failed_update_rolls_back_to_the_old_properties(stack: StackUnderTest) -> None:
    stack.create(Version="1", Value="a")

    described = stack.update(Version="2", Value="b", Fail="Update")

    assert described["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert "asked to fail Update" in described["StackStatusReason"]
    _create, failed, rollback = stack.events()
    assert failed["ResourceProperties"]["Version"] == "2"
    assert _summary(rollback) == ("Update", "res-1")
    assert rollback["ResourceProperties"]["Version"] == "1"
    assert rollback["OldResourceProperties"]["Version"] == "2"
    assert stack.outputs() == {"ThingId": "res-1", "Echo": "a"}


def test_a_failed_delete_keeps_the_stack_and_what_the_resource_needs(
    stack: StackUnderTest, aws: ClientFactory
) -> None:
    stack.create(Fail="Delete")

    aws("cloudformation").delete_stack(StackName=stack.name)

    described = stack.describe()
    assert described["StackStatus"] == "DELETE_FAILED"
    assert "asked to fail Delete" in described["StackStatusReason"]
    assert stack.function in stack.functions(), "the custom resource's function was deleted before it"


def test_a_handler_that_never_answers_fails_the_stack_with_its_error(stack: StackUnderTest) -> None:
    described = stack.create(Silent="Create")

    assert described["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "got no response" in described["StackStatusReason"]
    assert "crashed before answering Create" in described["StackStatusReason"]


def test_a_deleted_stack_stays_deleted(stack: StackUnderTest, aws: ClientFactory) -> None:
    stack_id = stack.create()["StackId"]

    aws("cloudformation").delete_stack(StackName=stack.name)

    # Describing the deleted stack (by id) must not re-create anything to compute its outputs.
    described = stack.describe(stack_id)
    assert described["StackStatus"] == "DELETE_COMPLETE"
    assert "Outputs" not in described
    assert stack.function not in stack.functions()
    assert [_summary(e) for e in stack.events()] == [("Create", None), ("Delete", "res-1")]
