"""The task registry: names -> converters, shared by `prepare`, the CLI and the stacks."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from data_prep.converter import Converter
from data_prep.errors import DataPrepError

_TASKS: dict[str, Converter] = {}
#: Read-only view of the registered tasks; add to it with `register`.
TASKS: Mapping[str, Converter] = MappingProxyType(_TASKS)


def register(converter: Converter, replace: bool = False) -> Converter:
    """Make a converter available to `prepare` and the CLI under `converter.name`."""
    name = converter.name
    if not name or not name.replace("_", "").replace("-", "").isalnum() or name != name.lower():
        raise ValueError(f"task name {name!r} must be lower-case letters, digits, '-' or '_'")
    if name in _TASKS and not replace:
        raise ValueError(f"task {name!r} is already registered")
    _TASKS[name] = converter
    return converter


def get_task(name: str) -> Converter:
    try:
        return _TASKS[name]
    except KeyError:
        known = ", ".join(sorted(_TASKS)) or "none"
        raise DataPrepError(f"unknown task {name!r}; known tasks: {known}") from None
