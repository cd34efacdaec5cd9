"""Task name -> converter, for `prepare`, `python -m data_prep` and the CLI.

The tasks and their converters are declared once, in the task registry (`tasks/`): each `TaskSpec`
names its converter as `"module:Class"`, imported here the first time the task is prepared.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import tasks
from data_prep.converter import Converter
from data_prep.errors import DataPrepError

# Converters resolved so far (tests may add an in-memory one here with monkeypatch.setitem).
_TASKS: dict[str, Converter] = {}


def _resolve(spec: tasks.TaskSpec) -> Converter:
    try:
        found = tasks.resolve(spec.converter)
    except tasks.TaskRegistryError as error:
        raise DataPrepError(f"task {spec.name!r}: converter {error}") from None
    converter = found() if isinstance(found, type) else found
    if not isinstance(converter, Converter) or converter.name != spec.name:
        raise DataPrepError(
            f"task {spec.name!r}: converter {spec.converter!r} must be a data_prep Converter named {spec.name!r}"
        )
    return converter


def get_task(name: str) -> Converter:
    converter = _TASKS.get(name)
    if converter is None:
        try:
            spec = tasks.task_by_name(name)
        except KeyError:
            known = ", ".join(sorted({*tasks.names(), *_TASKS})) or "none"
            raise DataPrepError(f"unknown task {name!r}; known tasks: {known}") from None
        converter = _TASKS[name] = _resolve(spec)
    return converter


class _Converters(Mapping[str, Converter]):
    """Read-only name -> converter view of the registered tasks, each imported on first access."""

    def __getitem__(self, name: str) -> Converter:
        if name not in self:
            raise KeyError(name)
        return get_task(name)

    def __contains__(self, name: object) -> bool:
        return name in _TASKS or name in tasks.names()

    def __iter__(self) -> Iterator[str]:
        yield from tasks.names()
        yield from (name for name in _TASKS if name not in tasks.names())

    def __len__(self) -> int:
        return sum(1 for _ in self)


#: Every task's converter by name, in registry order.
TASKS: Mapping[str, Converter] = _Converters()
