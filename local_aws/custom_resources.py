"""CloudFormation custom resources that really run: synchronous Create, Update and Delete events.

Stock moto sends only a Create event, in a background thread, needs Docker to run the function, and
ignores FAILED responses. Here each event is delivered the way CloudFormation delivers it: the
service token's Lambda is invoked with the event (properties as strings, a pre-signed-style
ResponseURL), the function PUTs its response to that URL, and the emulator waits for it. The
response decides the outcome: PhysicalResourceId and Data are kept (Data feeds `Fn::GetAtt`), and
FAILED raises with the function's Reason, which the stack engine reports as CREATE_FAILED.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.core.common_models import CloudFormationModel

log = logging.getLogger("local_aws.cfn")

RESPONSE_PATH = "/__local_aws/cfn-response/"


class CustomResourceFailed(RuntimeError):
    """The custom resource answered FAILED, or never answered; the message is CloudFormation's reason."""

    def __init__(self, reason: str, physical_resource_id: str | None = None) -> None:
        super().__init__(reason)
        self.physical_resource_id = physical_resource_id


@dataclass
class CustomResourceResponse:
    status: str
    reason: str
    physical_resource_id: str
    data: dict[str, Any] = field(default_factory=dict)


class ResponseInbox:
    """Responses PUT to ResponseURLs, keyed by the token in the URL, until the sender collects them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._responses: dict[str, bytes] = {}

    def deliver(self, token: str, body: bytes) -> None:
        with self._lock:
            self._responses[token] = body

    def collect(self, token: str) -> CustomResourceResponse | None:
        with self._lock:
            body = self._responses.pop(token, None)
        if body is None:
            return None
        parsed = json.loads(body or b"{}")
        return CustomResourceResponse(
            status=str(parsed.get("Status", "")),
            reason=str(parsed.get("Reason") or ""),
            physical_resource_id=str(parsed.get("PhysicalResourceId") or ""),
            data=parsed.get("Data") or {},
        )


# Invokes the service token's function with the event; returns a one-line error description when
# the function itself failed (it may still have sent a response first), else "".
Invoker = Callable[[str, str, str, str], str]


@dataclass
class CustomResourceRuntime:
    """What custom resources need from the running emulator; set by `local_aws.server`."""

    endpoint: str
    inbox: ResponseInbox
    invoke: Invoker  # (account_id, region, service_token, event_json) -> error description


_runtime: CustomResourceRuntime | None = None


def install_runtime(runtime: CustomResourceRuntime | None) -> None:
    global _runtime
    _runtime = runtime


def _require_runtime() -> CustomResourceRuntime:
    if _runtime is None:
        raise RuntimeError("local_aws custom resources need a running local_aws emulator")
    return _runtime


def stringify_properties(value: Any) -> Any:
    """CloudFormation hands custom resources every scalar property as a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return {key: stringify_properties(item) for key, item in value.items()}
    if isinstance(value, list):
        return [stringify_properties(item) for item in value]
    return value


def send_event(
    *,
    request_type: str,
    account_id: str,
    region: str,
    stack_id: str,
    logical_id: str,
    resource_type: str,
    properties: dict[str, Any],
    physical_resource_id: str | None = None,
    old_properties: dict[str, Any] | None = None,
) -> CustomResourceResponse:
    """Deliver one event and wait for its response; raise `CustomResourceFailed` unless SUCCESS."""
    runtime = _require_runtime()
    service_token = str(properties.get("ServiceToken", ""))
    if ":lambda:" not in service_token:
        raise CustomResourceFailed(
            f"ServiceToken '{service_token}' is not a Lambda function ARN; local_aws delivers custom "
            "resource events to Lambda functions only.",
            physical_resource_id,
        )
    token = uuid.uuid4().hex
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": service_token,
        "ResponseURL": f"{runtime.endpoint}{RESPONSE_PATH}{token}",
        "StackId": stack_id,
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": properties,
    }
    if physical_resource_id is not None:
        event["PhysicalResourceId"] = physical_resource_id
    if old_properties is not None:
        event["OldResourceProperties"] = old_properties
    log.info("%s %s (%s) -> %s", request_type, logical_id, resource_type, service_token.rsplit(":", 1)[-1])
    function_error = runtime.invoke(account_id, region, service_token, json.dumps(event))
    response = runtime.inbox.collect(token)
    if response is None:
        detail = f": {function_error}" if function_error else ""
        raise CustomResourceFailed(
            f"{request_type} of {logical_id} ({resource_type}) got no response from its function"
            f"{detail}. Its output is in the emulator log.",
            physical_resource_id,
        )
    if response.status != "SUCCESS":
        raise CustomResourceFailed(
            response.reason or f"{request_type} of {logical_id} failed without a reason",
            response.physical_resource_id or physical_resource_id,
        )
    if not response.physical_resource_id:
        raise CustomResourceFailed(
            f"{request_type} of {logical_id} answered SUCCESS without a PhysicalResourceId",
            physical_resource_id,
        )
    return response


class LocalCustomResource(CloudFormationModel):
    """`AWS::CloudFormation::CustomResource` and `Custom::*`, backed by real event delivery."""

    def __init__(
        self,
        *,
        account_id: str,
        region: str,
        stack_id: str,
        logical_id: str,
        resource_type: str,
        properties: dict[str, Any],
        physical_id: str,
        data: dict[str, Any],
    ) -> None:
        self.account_id = account_id
        self.region = region
        self.stack_id = stack_id
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.properties = properties
        self.physical_id = physical_id
        self.data = data

    @staticmethod
    def cloudformation_type() -> str:
        # Not the AWS type name: moto lists every model class by this name for good (subclasses cannot
        # be unregistered); the patched type lookup maps Custom::* and the AWS type here instead.
        return "LocalAws::CustomResource"

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.data:
            raise CustomResourceFailed(
                f"CustomResource attribute error: Vendor response doesn't contain {attribute_name} key "
                f"in object {self.stack_id}|{self.logical_id}|{self.physical_id}"
            )
        return self.data[attribute_name]

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc, override]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> LocalCustomResource:
        properties = stringify_properties(cloudformation_json.get("Properties") or {})
        response = send_event(
            request_type="Create",
            account_id=account_id,
            region=region_name,
            stack_id=kwargs["StackId"],
            logical_id=kwargs["LogicalId"],
            resource_type=kwargs["ResourceType"],
            properties=properties,
        )
        return cls(
            account_id=account_id,
            region=region_name,
            stack_id=kwargs["StackId"],
            logical_id=kwargs["LogicalId"],
            resource_type=kwargs["ResourceType"],
            properties=properties,
            physical_id=response.physical_resource_id,
            data=response.data,
        )

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc, override]
        cls,
        original_resource: LocalCustomResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> LocalCustomResource:
        properties = stringify_properties(cloudformation_json.get("Properties") or {})
        return original_resource.update(properties)

    def update(
        self, properties: dict[str, Any], old_properties: dict[str, Any] | None = None
    ) -> LocalCustomResource:
        """Send Update; `old_properties` defaults to this resource's (a rollback passes the failed ones)."""
        response = send_event(
            request_type="Update",
            account_id=self.account_id,
            region=self.region,
            stack_id=self.stack_id,
            logical_id=self.logical_id,
            resource_type=self.resource_type,
            properties=properties,
            physical_resource_id=self.physical_id,
            old_properties=self.properties if old_properties is None else old_properties,
        )
        return LocalCustomResource(
            account_id=self.account_id,
            region=self.region,
            stack_id=self.stack_id,
            logical_id=self.logical_id,
            resource_type=self.resource_type,
            properties=properties,
            physical_id=response.physical_resource_id,
            data=response.data,
        )

    def delete(self, account_id: str, region: str) -> None:
        send_event(
            request_type="Delete",
            account_id=self.account_id,
            region=self.region,
            stack_id=self.stack_id,
            logical_id=self.logical_id,
            resource_type=self.resource_type,
            properties=self.properties,
            physical_resource_id=self.physical_id,
        )
