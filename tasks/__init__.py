"""The task registry: every task the CDK app, data_prep, the CLI and `make demo` know about.

`TASKS` holds the `TaskSpec` of each module listed in `tasks/registry.py`, in that order. Importing
this package imports only those small declaration modules (standard library only); a spec's converter
and rehearsal are imported when they are used. `python -m tasks names|stacks` prints the lists for
the Makefile.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Iterable

from tasks.registry import MODULES
from tasks.spec import SAMPLE_HYPERPARAMETERS, JudgeSpec, TaskKind, TaskRegistryError, TaskSpec, resolve

__all__ = [
    "SAMPLE_HYPERPARAMETERS",
    "TASKS",
    "JudgeSpec",
    "TaskKind",
    "TaskRegistryError",
    "TaskSpec",
    "names",
    "resolve",
    "stack_names",
    "task_by_name",
    "task_for_stack",
]


def load(module: str) -> TaskSpec:
    """The `TASK` that `tasks/<module>.py` declares."""
    qualified = f"{__name__}.{module}"
    try:
        declared = importlib.import_module(qualified)
    except ModuleNotFoundError as error:
        if error.name != qualified:
            raise
        raise TaskRegistryError(
            f"tasks/registry.py lists {module!r} but there is no tasks/{module}.py; restore it or delete the line"
        ) from None
    spec = getattr(declared, "TASK", None)
    if not isinstance(spec, TaskSpec):
        raise TaskRegistryError(f"tasks/{module}.py must define TASK = TaskSpec(...)")
    return spec


def checked(specs: Iterable[TaskSpec]) -> tuple[TaskSpec, ...]:
    """`specs`, refusing two tasks with one name or one stack (each would silently hide the other)."""
    specs = tuple(specs)
    for field_name in ("name", "stack_name"):
        counts = Counter(getattr(spec, field_name) for spec in specs)
        repeated = sorted(value for value, count in counts.items() if count > 1)
        if repeated:
            raise TaskRegistryError(
                f"two tasks in tasks/registry.py share the {field_name} {repeated[0]!r}; rename one"
            )
    return specs


TASKS: tuple[TaskSpec, ...] = checked(load(module) for module in MODULES)


def names() -> list[str]:
    return [task.name for task in TASKS]


def stack_names() -> list[str]:
    return [task.stack_name for task in TASKS]


def task_by_name(name: str) -> TaskSpec:
    for task in TASKS:
        if task.name == name:
            return task
    raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(names())}")


def task_for_stack(stack_name: str) -> TaskSpec:
    for task in TASKS:
        if task.stack_name == stack_name:
            return task
    raise KeyError(f"unknown stack {stack_name!r}; known stacks: {', '.join(stack_names())}")
