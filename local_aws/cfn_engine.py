"""Stack create, update and delete for moto's CloudFormation, done the way CloudFormation does them.

moto builds resources lazily in whatever order references are met, only orders by `DependsOn`,
diffs updates on raw template JSON (so a custom resource whose properties changed gets no Update
event), evaluates outputs on every DescribeStacks (re-creating deleted resources as a side effect),
and has no failure path: an exception escapes as an HTTP 500. This engine keeps moto's resource
models and intrinsic-function resolver but drives them itself:

- resources are created in dependency order (Ref, Fn::GetAtt, Fn::Sub and DependsOn) and deleted
  in the reverse order;
- a resource is updated when its *resolved* properties changed, so changes cascade through
  references; a custom resource whose Update returns a new physical id has the old one deleted in
  the cleanup phase, as CloudFormation does;
- any failure stops the operation, records `<ACTION>_FAILED` with the reason on the resource and
  the stack (which is what `cdk deploy` prints), and rolls back what this operation created;
- outputs are evaluated once, when an operation succeeds.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.models import Event, Stack
from moto.cloudformation.parsing import Export, ResourceMap, clean_json

from local_aws.custom_resources import CustomResourceFailed, LocalCustomResource, stringify_properties

log = logging.getLogger("local_aws.cfn")

_SUB_REFERENCE = re.compile(r"\$\{([^!}][^}]*)\}")


class ResourceFailure(Exception):
    """One resource failed; the stack operation stops and rolls back."""

    def __init__(self, logical_id: str, reason: str) -> None:
        super().__init__(f"{logical_id}: {reason}")
        self.logical_id = logical_id
        self.reason = reason


# -- dependency analysis ---------------------------------------------------------------------------


def references(node: Any, names: Iterable[str]) -> set[str]:
    """The logical ids among `names` that `node` refers to through Ref, Fn::GetAtt or Fn::Sub."""
    known = set(names)
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "Ref" and isinstance(item, str):
                    found.add(item)
                elif key == "Fn::GetAtt":
                    target = item.split(".", 1)[0] if isinstance(item, str) else item[0]
                    if isinstance(target, str):
                        found.add(target)
                elif key == "Fn::Sub":
                    template, variables = (item[0], item[1]) if isinstance(item, list) else (item, {})
                    if isinstance(template, str):
                        for name in _SUB_REFERENCE.findall(template):
                            root = name.split(".", 1)[0]
                            if root not in variables:
                                found.add(root)
                    walk(variables)
                    continue
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(node)
    return found & known


def dependency_order(resources: Mapping[str, Any]) -> list[str]:
    """Template order, except that every resource comes after the resources it depends on."""
    names = list(resources)
    depends: dict[str, set[str]] = {}
    for name, body in resources.items():
        explicit = body.get("DependsOn", [])
        explicit = [explicit] if isinstance(explicit, str) else list(explicit)
        deps = references({k: v for k, v in body.items() if k != "DependsOn"}, names) | set(explicit)
        missing = sorted(d for d in deps if d not in resources)
        if missing:
            raise ResourceFailure(name, f"Template format error: unresolved resource dependencies {missing}")
        depends[name] = deps - {name}

    ordered: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " -> ".join((*path, name))
            raise ResourceFailure(name, f"Circular dependency between resources: {cycle}")
        state[name] = "visiting"
        for dep in sorted(depends[name], key=names.index):
            visit(dep, (*path, name))
        state[name] = "done"
        ordered.append(name)

    for name in names:
        visit(name, ())
    return ordered


# -- events and helpers ----------------------------------------------------------------------------


def _event(
    stack: Stack,
    logical_id: str,
    resource_type: str,
    status: str,
    reason: str | None = None,
    physical: str = "",
) -> None:
    _append_event(
        stack,
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=physical,
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        ),
    )
    if reason and status.endswith("FAILED"):
        log.error("%s %s %s: %s", stack.name, logical_id, status, reason)


def _append_event(stack: Stack, event: Event) -> None:
    """Events of one operation often share a millisecond; clients sort by timestamp, so keep them apart."""
    if stack.events and event.timestamp <= stack.events[-1].timestamp:
        event.timestamp = stack.events[-1].timestamp + timedelta(milliseconds=1)
    stack.events.append(event)


def _stack_event(stack: Stack, status: str, reason: str | None = None) -> None:
    stack.status = status
    stack.status_reason = reason
    stack._add_stack_event(status, resource_status_reason=reason)
    latest = stack.events.pop()
    _append_event(stack, latest)


def reason_of(error: BaseException) -> str:
    """A one-line reason from a moto error, a custom resource failure or anything else."""
    if isinstance(error, (CustomResourceFailed, ResourceFailure)):
        return error.reason if isinstance(error, ResourceFailure) else str(error)
    message = getattr(error, "message", None) or getattr(error, "description", None) or str(error)
    code = getattr(error, "error_type", None) or getattr(error, "code", None) or type(error).__name__
    return f"{code}: {message}" if not str(message).startswith(str(code)) else str(message)


def _physical_id(resource: Any) -> str:
    return str(getattr(resource, "physical_resource_id", "") or "")


def _is_enabled(rmap: ResourceMap, body: Mapping[str, Any]) -> bool:
    condition = body.get("Condition")
    return not condition or bool(rmap.lazy_condition_map[condition])


def _resolved_properties(rmap: ResourceMap, body: Mapping[str, Any]) -> Any:
    return clean_json(copy.deepcopy(body.get("Properties") or {}), rmap)


def _is_resource(value: Any) -> bool:
    """moto keeps parameters, mappings and pseudo parameters in the same map as resources."""
    return value is not None and not isinstance(value, (str, int, float, bool, dict, list))


def _created(rmap: ResourceMap) -> dict[str, Any]:
    """Resources this stack has actually created, by logical id."""
    return {
        key: value
        for key, value in rmap._parsed_resources.items()
        if _is_resource(value) and not key.startswith("AWS::")
    }


def _props_store(stack: Stack) -> dict[str, Any]:
    if not hasattr(stack, "local_props"):
        stack.local_props = {}
    return stack.local_props  # type: ignore[no-any-return]


# -- create ----------------------------------------------------------------------------------------


def _create_one(stack: Stack, logical_id: str, failed_custom: list[LocalCustomResource]) -> bool:
    rmap = stack.resource_map
    body = rmap._resource_json_map[logical_id]
    if not _is_enabled(rmap, body):
        return False
    rtype = body["Type"]
    _event(stack, logical_id, rtype, "CREATE_IN_PROGRESS")
    try:
        resource = rmap[logical_id]
        _props_store(stack)[logical_id] = _resolved_properties(rmap, body)
    except Exception as error:
        reason = reason_of(error)
        if isinstance(error, CustomResourceFailed) and error.physical_resource_id:
            # CloudFormation sends Delete for a custom resource whose Create failed with a physical id.
            failed_custom.append(_failed_custom_resource(stack, logical_id, body, error.physical_resource_id))
        _event(stack, logical_id, rtype, "CREATE_FAILED", reason)
        raise ResourceFailure(logical_id, reason) from error
    _event(stack, logical_id, rtype, "CREATE_COMPLETE", physical=_physical_id(resource))
    return True


def _failed_custom_resource(
    stack: Stack, logical_id: str, body: Mapping[str, Any], physical: str
) -> LocalCustomResource:
    rmap = stack.resource_map
    try:
        properties = stringify_properties(_resolved_properties(rmap, body))
    except Exception:  # best effort: the Delete is a courtesy during rollback
        properties = {}
    return LocalCustomResource(
        account_id=rmap._account_id,
        region=rmap._region_name,
        stack_id=stack.stack_id,
        logical_id=logical_id,
        resource_type=body["Type"],
        properties=properties,
        physical_id=physical,
        data={},
    )


def create_resources(stack: Stack) -> None:
    """Replacement for `Stack.create_resources`."""
    rmap = stack.resource_map
    rmap._template = stack.template_dict
    rmap._resource_json_map = stack.template_dict.get("Resources", {})
    rmap.tags.update(
        {"aws:cloudformation:stack-name": stack.name, "aws:cloudformation:stack-id": stack.stack_id}
    )
    stack.status = "CREATE_IN_PROGRESS"
    stack.description = stack.template_dict.get("Description")
    created: list[str] = []
    failed_custom: list[LocalCustomResource] = []
    try:
        for logical_id in dependency_order(rmap._resource_json_map):
            if _create_one(stack, logical_id, failed_custom):
                created.append(logical_id)
        freeze_outputs(stack)
    except ResourceFailure as failure:
        reason = f"The following resource(s) failed to create: [{failure.logical_id}]. {failure.reason}"
        _stack_event(stack, "ROLLBACK_IN_PROGRESS", reason)
        for resource in failed_custom:
            _try(lambda r=resource: r.delete(r.account_id, r.region), "rollback Delete", resource.logical_id)
        leftovers = _delete_in_order(stack, list(reversed(created)), purpose="rollback")
        _stack_event(stack, "ROLLBACK_FAILED" if leftovers else "ROLLBACK_COMPLETE", reason)
        return
    _stack_event(stack, "CREATE_COMPLETE")


# -- outputs ---------------------------------------------------------------------------------------


def freeze_outputs(stack: Stack) -> None:
    """Evaluate the outputs once, now that every resource exists; DescribeStacks then only reads them."""
    rmap = stack.resource_map
    outputs: list[dict[str, Any]] = []
    exports: list[Export] = []
    for key, body in (stack.template_dict.get("Outputs") or {}).items():
        if body.get("Condition") and not rmap.lazy_condition_map[body["Condition"]]:
            continue
        try:
            value = clean_json(copy.deepcopy(body.get("Value")), rmap)
            export_name = (
                clean_json(copy.deepcopy(body["Export"]["Name"]), rmap) if body.get("Export") else None
            )
        except Exception as error:
            raise ResourceFailure(key, f"Output {key} could not be evaluated: {reason_of(error)}") from error
        if value is None:
            raise ResourceFailure(key, f"Output {key} evaluated to nothing (an unsupported attribute?)")
        text = (
            value
            if isinstance(value, str)
            else json.dumps(value)
            if isinstance(value, (dict, list))
            else str(value)
        )
        outputs.append(
            {
                "OutputKey": key,
                "OutputValue": text,
                "Description": body.get("Description"),
                "ExportName": export_name,
            }
        )
        if export_name:
            exports.append(Export(stack.stack_id, export_name, text))
    stack.local_outputs = outputs or None
    stack.local_exports = exports


# -- update ----------------------------------------------------------------------------------------


@dataclass
class _Attempt:
    """An update this operation tried: what to restore if the operation fails."""

    logical_id: str
    old: Any
    old_body: Mapping[str, Any]
    new_properties: Any


def _update_one(
    stack: Stack,
    logical_id: str,
    old_body: Mapping[str, Any],
    replaced: list[_Attempt],
    attempts: list[_Attempt],
) -> None:
    """Update one resource in place (or by replacement when moto cannot update its type)."""
    rmap = stack.resource_map
    body = rmap._resource_json_map[logical_id]
    rtype = body["Type"]
    old = rmap._parsed_resources[logical_id]
    attempt = _Attempt(logical_id, old, old_body, None)
    attempts.append(attempt)
    _event(stack, logical_id, rtype, "UPDATE_IN_PROGRESS", physical=_physical_id(old))
    try:
        attempt.new_properties = _resolved_properties(rmap, body)
        new = _apply_definition(stack, logical_id, body, old, old_body)
        _props_store(stack)[logical_id] = attempt.new_properties
    except Exception as error:
        reason = reason_of(error)
        _event(stack, logical_id, rtype, "UPDATE_FAILED", reason, physical=_physical_id(old))
        raise ResourceFailure(logical_id, reason) from error
    if isinstance(old, LocalCustomResource) and _physical_id(new) != _physical_id(old):
        replaced.append(attempt)
    _event(stack, logical_id, rtype, "UPDATE_COMPLETE", physical=_physical_id(new))


def _apply_definition(
    stack: Stack, logical_id: str, body: Mapping[str, Any], current: Any, current_body: Mapping[str, Any]
) -> Any:
    """Bring `current` to `body`: moto's in-place update, or delete-and-create for types it cannot update."""
    rmap = stack.resource_map
    rtype = body["Type"]
    resource_class = parsing.resource_class_from_type(rtype)
    can_update = not hasattr(resource_class.update_from_cloudformation_json, "__isabstractmethod__")
    if can_update and current_body.get("Type") == rtype:
        new = parsing.parse_and_update_resource(
            logical_id, dict(body), rmap, account_id=rmap._account_id, region_name=rmap._region_name
        )
        if new is None:
            raise RuntimeError(f"moto returned nothing when updating {rtype}")
    else:
        rmap._delete_resource(current, current_body)
        rmap._parsed_resources.pop(logical_id, None)
        new = rmap[logical_id]
    rmap._parsed_resources[logical_id] = new
    return new


def update(
    stack: Stack,
    template: str,
    role_arn: str | None = None,
    parameters: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    """Replacement for `Stack.update`."""
    rmap = stack.resource_map
    _stack_event(stack, "UPDATE_IN_PROGRESS", "User Initiated")
    old_template, old_dict = stack.template, stack.template_dict
    old_resources = dict(rmap._resource_json_map)
    old_parameters = dict(rmap.input_parameters)
    old_order = dependency_order(old_resources)
    new_dict = Stack.parse_template(template)

    created: list[str] = []
    attempts: list[_Attempt] = []
    replaced: list[_Attempt] = []
    try:
        _load_template(stack, new_dict, parameters if parameters is not None else old_parameters)
        new_resources = rmap._resource_json_map
        for logical_id in dependency_order(new_resources):
            body = new_resources[logical_id]
            if not _is_enabled(rmap, body):
                continue
            if logical_id not in _created(rmap):
                if _create_one(stack, logical_id, []):
                    created.append(logical_id)
                continue
            old_body = old_resources.get(logical_id, {})
            if old_body.get("Type") == body["Type"] and _unchanged(stack, logical_id, body):
                continue
            _update_one(stack, logical_id, old_body, replaced, attempts)
        stack.template, stack.template_dict = template, new_dict
        freeze_outputs(stack)
    except ResourceFailure as failure:
        reason = f"The following resource(s) failed to update: [{failure.logical_id}]. {failure.reason}"
        _stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
        _roll_back_update(stack, created, attempts, old_dict, old_parameters)
        stack.template, stack.template_dict = old_template, old_dict
        _stack_event(stack, "UPDATE_ROLLBACK_COMPLETE", reason)
        return

    _stack_event(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    for attempt in replaced:
        old, rtype = attempt.old, attempt.old_body["Type"]
        _event(stack, attempt.logical_id, rtype, "DELETE_IN_PROGRESS", physical=_physical_id(old))
        ok = _try(lambda o=old: o.delete(o.account_id, o.region), "cleanup Delete", attempt.logical_id)
        status = "DELETE_COMPLETE" if ok else "DELETE_FAILED"
        _event(stack, attempt.logical_id, rtype, status, physical=_physical_id(old))
    removed = [
        name
        for name in reversed(old_order)
        if name in _created(rmap)
        and (name not in rmap._resource_json_map or not _is_enabled(rmap, rmap._resource_json_map[name]))
    ]
    _delete_in_order(stack, removed, purpose="cleanup", bodies=old_resources)
    stack.role_arn = role_arn
    if parameters is not None:
        stack.parameters = parameters
    if tags is not None:
        stack.tags = tags
    _stack_event(stack, "UPDATE_COMPLETE")


def _load_template(stack: Stack, template: dict[str, Any], parameters: dict[str, Any]) -> None:
    rmap = stack.resource_map
    rmap._template = template
    rmap._resource_json_map = template.get("Resources", {})
    rmap.input_parameters = parameters
    try:
        rmap.load_mapping()
        rmap.load_parameters()
        rmap.load_conditions()
    except Exception as error:
        raise ResourceFailure(stack.name, reason_of(error)) from error


def _unchanged(stack: Stack, logical_id: str, body: Mapping[str, Any]) -> bool:
    try:
        return _resolved_properties(stack.resource_map, body) == _props_store(stack).get(logical_id)
    except Exception as error:
        raise ResourceFailure(logical_id, reason_of(error)) from error


def _roll_back_update(
    stack: Stack,
    created: list[str],
    attempts: list[_Attempt],
    old_dict: dict[str, Any],
    old_parameters: dict[str, Any],
) -> None:
    """Undo a failed update the way CloudFormation does, as far as it can be undone.

    Resources the update created are deleted. Resources it updated (including the one that failed)
    are brought back to their previous definition: a custom resource gets an Update event with its
    old properties (and the attempted ones as OldResourceProperties), or a Delete for the replacement
    when its Update had returned a new physical id.
    """
    rmap = stack.resource_map
    _delete_in_order(stack, list(reversed(created)), purpose="rollback")
    try:
        _load_template(stack, old_dict, old_parameters)
    except ResourceFailure as failure:
        log.error("Could not restore the previous template of %s: %s", stack.name, failure.reason)
        return
    for attempt in reversed(attempts):
        logical_id, old, rtype = attempt.logical_id, attempt.old, attempt.old_body.get("Type", "")
        current = rmap._parsed_resources.get(logical_id)
        _event(stack, logical_id, rtype, "UPDATE_IN_PROGRESS", "Rolling back", physical=_physical_id(current))
        ok = _try(lambda a=attempt, c=current: _restore(stack, a, c), "rollback", logical_id)
        if ok:
            _props_store(stack)[logical_id] = _resolved_properties(rmap, attempt.old_body)
        else:
            rmap._parsed_resources[logical_id] = old
        _event(
            stack, logical_id, rtype, "UPDATE_COMPLETE" if ok else "UPDATE_FAILED", physical=_physical_id(old)
        )


def _restore(stack: Stack, attempt: _Attempt, current: Any) -> None:
    rmap = stack.resource_map
    old = attempt.old
    if isinstance(old, LocalCustomResource):
        if isinstance(current, LocalCustomResource) and current.physical_id != old.physical_id:
            current.delete(current.account_id, current.region)
            rmap._parsed_resources[attempt.logical_id] = old
            return
        attempted = (
            stringify_properties(attempt.new_properties) if attempt.new_properties is not None else None
        )
        rmap._parsed_resources[attempt.logical_id] = old.update(old.properties, old_properties=attempted)
        return
    if current is not None:
        _apply_definition(stack, attempt.logical_id, attempt.old_body, current, attempt.old_body)


# -- delete ----------------------------------------------------------------------------------------


def _try(action: Any, what: str, logical_id: str) -> bool:
    try:
        action()
    except Exception as error:
        log.error("%s of %s failed: %s", what, logical_id, reason_of(error))
        return False
    return True


def _delete_in_order(
    stack: Stack, names: list[str], *, purpose: str, bodies: Mapping[str, Any] | None = None
) -> list[tuple[str, str]]:
    """Delete `names` in the given order; return (logical id, reason) for each that failed.

    A resource that something failed-to-delete depends on is kept: deleting it would orphan the other.
    """
    rmap = stack.resource_map
    bodies = bodies or rmap._resource_json_map
    failures: list[tuple[str, str]] = []
    keep: set[str] = set()
    for logical_id in names:
        resource = rmap._parsed_resources.get(logical_id)
        body = bodies.get(logical_id) or rmap._resource_json_map.get(logical_id, {})
        if resource is None or not body:
            continue
        rtype = body.get("Type", "")
        if logical_id in keep:
            _event(
                stack, logical_id, rtype, "DELETE_SKIPPED", "A resource that depends on it failed to delete"
            )
            continue
        if purpose == "delete" and body.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate"):
            rmap._parsed_resources.pop(logical_id, None)
            _event(stack, logical_id, rtype, "DELETE_SKIPPED", physical=_physical_id(resource))
            continue
        _event(stack, logical_id, rtype, "DELETE_IN_PROGRESS", physical=_physical_id(resource))
        try:
            rmap._delete_resource(resource, body)
        except Exception as error:
            reason = reason_of(error)
            failures.append((logical_id, reason))
            keep |= references(body, bodies)
            _event(stack, logical_id, rtype, "DELETE_FAILED", reason, physical=_physical_id(resource))
            continue
        rmap._parsed_resources.pop(logical_id, None)
        _props_store(stack).pop(logical_id, None)
        _event(stack, logical_id, rtype, "DELETE_COMPLETE", physical=_physical_id(resource))
    return failures


def delete(stack: Stack) -> None:
    """Replacement for `Stack.delete`: leaves the stack DELETE_FAILED (with the reason) on failure."""
    rmap = stack.resource_map
    _stack_event(stack, "DELETE_IN_PROGRESS", "User Initiated")
    try:
        order = dependency_order(rmap._resource_json_map)
    except ResourceFailure:
        order = list(rmap._resource_json_map)
    failures = _delete_in_order(stack, list(reversed(order)), purpose="delete")
    if failures:
        names = ", ".join(name for name, _ in failures)
        reasons = "; ".join(f"{name}: {reason}" for name, reason in failures)
        _stack_event(
            stack, "DELETE_FAILED", f"The following resource(s) failed to delete: [{names}]. {reasons}"
        )
        return
    stack.local_outputs = None
    stack.local_exports = []
    _stack_event(stack, "DELETE_COMPLETE")
