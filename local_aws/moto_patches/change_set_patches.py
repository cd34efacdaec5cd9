"""Change sets that belong to their stack, as CloudFormation's do, for the CDK CLI's default deploy.

moto finds a change set by its name alone and drops the StackName of Describe/Delete/List. Every
`cdk deploy` names its change set `cdk-deploy-change-set` and describes it by that name plus the
stack's name, so the second stack deployed got the first stack's change set: its template was
created again under the first stack, and the second stack stayed REVIEW_IN_PROGRESS. Change sets
also outlived their stack, and executing one afterwards failed with a KeyError (an HTTP 500).

Here, as in CloudFormation: a change set is found by its ARN, or by its name *and* its stack (a
name without a stack is refused), and never for another stack; a CREATE change set reuses a stack
left in REVIEW_IN_PROGRESS (and is refused for a stack that exists otherwise); a name is unique per
stack; executing one removes the stack's other change sets; deleting a stack removes all of its
change sets; a missing change set is ChangeSetNotFound, and deleting one is idempotent (the CLI
deletes `cdk-deploy-change-set` before every deploy).
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import AlreadyExistsException, CloudFormationError, ValidationError
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Stack
from moto.cloudformation.responses import CloudFormationResponse
from moto.cloudformation.utils import generate_changeset_id, generate_stack_id, validate_create_change_set
from moto.core.responses import ActionResult, EmptyResult

from local_aws.moto_patches.registry import replace

REVIEW = "REVIEW_IN_PROGRESS"
NO_CHANGES = (
    "The submitted information didn't contain changes. Submit different information to create a change set."
)


class ChangeSetNotFound(CloudFormationError):
    """What CloudFormation answers for a change set that does not exist (moto says ValidationError,
    which the CDK CLI's wait-until-deleted loop treats as fatal)."""

    code = "ChangeSetNotFound"


class InvalidChangeSetStatus(CloudFormationError):
    code = "InvalidChangeSetStatus"


def live_stack(backend: CloudFormationBackend, name_or_id: str | None) -> Stack | None:
    """The stack that exists now under this name or id (a deleted one never matches)."""
    if not name_or_id:
        return None
    if name_or_id in backend.stacks:
        return backend.stacks[name_or_id]
    return next((s for s in backend.stacks.values() if s.name == name_or_id), None)


def find_change_set(
    backend: CloudFormationBackend, name_or_arn: str, stack_name_or_id: str | None
) -> ChangeSet | None:
    """The change set `name_or_arn` of that stack (any stack's, for an ARN given without one)."""
    stack = live_stack(backend, stack_name_or_id)
    if name_or_arn in backend.change_sets:
        change_set = backend.change_sets[name_or_arn]
        if stack_name_or_id and (stack is None or stack.stack_id != change_set.stack_id):
            return None
        return change_set
    if not stack_name_or_id:
        raise ValidationError(
            message="StackName must be specified if ChangeSetName is not specified as an ARN."
        )
    if stack is None:
        return None
    return next(
        (
            c
            for c in backend.change_sets.values()
            if c.change_set_name == name_or_arn and c.stack_id == stack.stack_id
        ),
        None,
    )


def _not_found(name_or_arn: str) -> ChangeSetNotFound:
    return ChangeSetNotFound(f"ChangeSet [{name_or_arn}] does not exist")


def drop_change_sets(backend: CloudFormationBackend, stack_id: str, keep: str | None = None) -> None:
    """Remove the change sets of `stack_id` (except `keep`): after an execution, or with the stack."""
    for arn in [arn for arn, c in backend.change_sets.items() if c.stack_id == stack_id and arn != keep]:
        del backend.change_sets[arn]


def create_change_set(
    self: CloudFormationBackend,
    stack_name: str,
    change_set_name: str,
    template: str,
    parameters: dict[str, str],
    description: str,
    change_set_type: str,
    notification_arns: list[str] | None = None,
    tags: dict[str, str] | None = None,
    role_arn: str | None = None,
) -> tuple[str, str]:
    validate_create_change_set(change_set_name)
    stack = live_stack(self, stack_name)
    if change_set_type == "UPDATE":
        if stack is None or stack.status == REVIEW:
            raise ValidationError(stack_name)
    elif stack is not None and stack.status != REVIEW:
        raise AlreadyExistsException(
            f"Stack [{stack_name}] already exists and cannot be created again with the changeSet "
            f"[{change_set_name}]."
        )
    if stack is not None and find_change_set(self, change_set_name, stack.stack_id) is not None:
        raise AlreadyExistsException(f"ChangeSet [{change_set_name}] already exists")
    if stack is None:
        stack = Stack(
            stack_id=generate_stack_id(stack_name, self.region_name, self.account_id),
            name=stack_name,
            template={},
            parameters=parameters,
            account_id=self.account_id,
            region_name=self.region_name,
            notification_arns=notification_arns,
            tags=tags,
            role_arn=role_arn,
        )
        self.stacks[stack.stack_id] = stack
        stack.status = REVIEW
        stack._add_stack_event(REVIEW, resource_status_reason="User Initiated")
    change_set = ChangeSet(
        change_set_type=change_set_type,
        change_set_id=generate_changeset_id(change_set_name, self.region_name, self.account_id),
        change_set_name=change_set_name,
        stack=stack,
        template=template,
        parameters=parameters,
        description=description,
        notification_arns=notification_arns,
        tags=tags,
        role_arn=role_arn,
    )
    if change_set_type == "UPDATE" and stack.has_template(template) and stack.has_parameters(parameters):
        change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
        change_set.status_reason = NO_CHANGES
    else:
        change_set.status, change_set.execution_status = "CREATE_COMPLETE", "AVAILABLE"
    self.change_sets[change_set.change_set_id] = change_set
    return change_set.change_set_id, stack.stack_id


def describe_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> Any:
    change_set = find_change_set(self, change_set_name, stack_name)
    if change_set is None:
        raise _not_found(change_set_name)
    return change_set


def delete_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> None:
    change_set = find_change_set(self, change_set_name, stack_name)
    if change_set is not None:
        del self.change_sets[change_set.change_set_id]


def execute_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> None:
    change_set = find_change_set(self, change_set_name, stack_name)
    if change_set is None or change_set.stack_id not in self.stacks:
        raise _not_found(change_set_name)
    if change_set.execution_status != "AVAILABLE":
        raise InvalidChangeSetStatus(
            f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current status of "
            f"[{change_set.status}]"
        )
    stack = self.stacks[change_set.stack_id]
    drop_change_sets(self, stack.stack_id, keep=change_set.change_set_id)
    if change_set.change_set_type == "CREATE":
        stack.template = change_set.template
        stack._parse_template()
        stack.parameters = change_set.parameters
        stack.resource_map = stack._create_resource_map()
        stack.output_map = stack._create_output_map()
        stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
        stack.create_resources()
        succeeded = stack.status == "CREATE_COMPLETE"
    else:
        stack.update(
            change_set.template, change_set.role_arn, parameters=change_set.parameters, tags=change_set.tags
        )
        succeeded = stack.status == "UPDATE_COMPLETE"
    change_set.execution_status = "EXECUTE_COMPLETE" if succeeded else "EXECUTE_FAILED"
    if succeeded:
        for export in stack.exports:
            self.exports[export.name] = export


def list_change_sets(self: CloudFormationBackend, stack_name: str | None = None) -> list[ChangeSet]:
    stack = live_stack(self, stack_name)
    if stack is None:
        raise ValidationError(stack_name)
    return [c for c in self.change_sets.values() if c.stack_id == stack.stack_id]


# -- responses: moto's drop the StackName these need ---------------------------------------------


def _describe_change_set_response(self: CloudFormationResponse) -> ActionResult:
    found = self.cloudformation_backend.describe_change_set(
        self._get_param("ChangeSetName"), self._get_param("StackName")
    )
    return ActionResult(found)


def _delete_change_set_response(self: CloudFormationResponse) -> EmptyResult:
    self.cloudformation_backend.delete_change_set(
        self._get_param("ChangeSetName"), self._get_param("StackName")
    )
    return EmptyResult()


def _list_change_sets_response(self: CloudFormationResponse) -> ActionResult:
    return ActionResult(
        {"Summaries": self.cloudformation_backend.list_change_sets(self._get_param("StackName"))}
    )


def _validate_different_update(original: Any) -> Any:
    """CreateChangeSet with nothing to change gives a FAILED change set, not an error (UpdateStack's
    "No updates are to be performed." stays, as in CloudFormation)."""

    def validate(self: CloudFormationResponse, *args: Any, **kwargs: Any) -> None:
        if self._get_action() != "CreateChangeSet":
            original(self, *args, **kwargs)

    return validate


def patch() -> None:
    replace(CloudFormationBackend, "create_change_set", create_change_set)
    replace(CloudFormationBackend, "delete_change_set", delete_change_set)
    replace(CloudFormationBackend, "describe_change_set", describe_change_set)
    replace(CloudFormationBackend, "execute_change_set", execute_change_set)
    replace(CloudFormationBackend, "list_change_sets", list_change_sets)
    replace(CloudFormationResponse, "describe_change_set", _describe_change_set_response)
    replace(CloudFormationResponse, "delete_change_set", _delete_change_set_response)
    replace(CloudFormationResponse, "list_change_sets", _list_change_sets_response)
    replace(
        CloudFormationResponse,
        "_validate_different_update",
        _validate_different_update(CloudFormationResponse._validate_different_update),
    )
