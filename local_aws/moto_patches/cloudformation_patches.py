"""CloudFormation in moto: stacks run by `cfn_engine`, real custom resources, and the CLI's gaps.

Besides handing stack operations to the engine: resource types moto does not model become inert
placeholders (instead of vanishing from `Ref`), change sets belong to their stack (`change_set_patches`;
executing one goes through the engine), "use previous value" of an SSM-typed parameter keeps its path, a stack that fails to delete
stays visible as DELETE_FAILED, and CloudTrail's LookupEvents (which the CLI calls after a failed
deploy) answers at once instead of failing into retries.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing
from moto.cloudformation.models import CloudFormationBackend, Stack
from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.common_models import CloudFormationModel

from local_aws import cfn_engine
from local_aws.custom_resources import LocalCustomResource
from local_aws.moto_patches import change_set_patches
from local_aws.moto_patches.registry import replace

log = logging.getLogger("local_aws.moto")


class PlaceholderResource(CloudFormationModel):
    """A resource type moto does not model (e.g. AWS::CDK::Metadata): recorded, not created."""

    def __init__(self, name: str, resource_type: str) -> None:
        self.name = name
        self.resource_type = resource_type

    @staticmethod
    def cloudformation_type() -> str:
        return "LocalAws::Placeholder"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return f"{self.name}.{attribute_name}"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc, override]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PlaceholderResource:
        resource_type = kwargs.get("ResourceType", "?")
        # moto enforces no policies anyway; any other missing type deserves a warning.
        harmless = resource_type == "AWS::CDK::Metadata" or resource_type.endswith("Policy")
        log.log(
            logging.INFO if harmless else logging.WARNING,
            "moto has no CloudFormation model for %s; %s is recorded without effect",
            resource_type,
            resource_name,
        )
        return cls(resource_name, resource_type)

    def delete(self, account_id: str, region: str) -> None:
        return None


def resource_class_from_type(resource_type: str) -> type[CloudFormationModel]:
    if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
        return LocalCustomResource
    model = parsing.get_model_map().get(resource_type)
    return model if model is not None and model is not PlaceholderResource else PlaceholderResource


def _delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    stack = self.stacks.get(name_or_stack_id) or next(
        (s for s in self.stacks.values() if s.name == name_or_stack_id), None
    )
    if stack is None:
        return  # CloudFormation: deleting a stack that does not exist succeeds
    export_names = [export.name for export in stack.exports]
    stack.delete()
    if stack.status != "DELETE_COMPLETE":
        return
    self.stacks.pop(stack.stack_id, None)
    self.deleted_stacks[stack.stack_id] = stack
    for name in export_names:
        self.exports.pop(name, None)
    change_set_patches.drop_change_sets(self, stack.stack_id)


def _resolve_update_parameters(
    self: CloudFormationBackend, instance: Any, incoming_params: list[dict[str, str]]
) -> dict[str, str]:
    previous = dict(getattr(instance, "parameters", {}) or {})
    resolved: dict[str, str] = {}
    for parameter in incoming_params:
        key = parameter["ParameterKey"]
        if "ParameterValue" in parameter:
            resolved[key] = parameter["ParameterValue"]
        elif parameter.get("UsePreviousValue") and key in previous:
            resolved[key] = previous[key]
    return resolved


def _stack_parameters(self: Stack) -> dict[str, Any]:
    """Parameter values as given (an SSM-typed parameter's value is its path), defaults filled in.

    moto answers with resolved values, so "use the previous value" of CDK's BootstrapVersion (an
    SSM path) became the version number itself, which then failed to resolve as a path on update.
    """
    declared = (self.template_dict or {}).get("Parameters") or {}
    values = {name: spec.get("Default") for name, spec in declared.items()}
    values.update(self.resource_map.input_parameters or {})
    return values


def _create_stack(original: Any) -> Any:
    def create_stack(self: CloudFormationBackend, *args: Any, **kwargs: Any) -> Stack:
        stack = original(self, *args, **kwargs)
        for export in stack.exports:
            self.exports[export.name] = export
        return stack

    return create_stack


def patch() -> None:
    replace(parsing, "resource_class_from_type", resource_class_from_type)

    replace(Stack, "create_resources", cfn_engine.create_resources)
    replace(Stack, "update", cfn_engine.update)
    replace(Stack, "delete", cfn_engine.delete)
    replace(Stack, "outputs", property(lambda self: getattr(self, "local_outputs", None)))
    replace(Stack, "exports", property(lambda self: list(getattr(self, "local_exports", []))))
    replace(
        Stack, "stack_resources", property(lambda self: list(cfn_engine._created(self.resource_map).values()))
    )
    replace(Stack, "status_reason", None)
    replace(Stack, "stack_parameters", property(_stack_parameters))

    replace(CloudFormationBackend, "create_stack", _create_stack(CloudFormationBackend.create_stack))
    replace(CloudFormationBackend, "delete_stack", _delete_stack)
    change_set_patches.patch()
    replace(CloudFormationBackend, "_resolve_update_parameters", _resolve_update_parameters)
    replace(cfn_models, "CustomModel", LocalCustomResource)


def patch_cloudtrail() -> None:
    """After a failed deploy the CDK CLI searches CloudTrail for the cause; moto has no LookupEvents,
    and the CLI's retries of the resulting 500s cost ~20 s. Nothing is recorded, so nothing is found."""

    def lookup_events(self: CloudTrailResponse) -> str:
        return json.dumps({"Events": []})

    replace(CloudTrailResponse, "lookup_events", lookup_events)
