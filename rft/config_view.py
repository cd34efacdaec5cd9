"""`rft config TASK`: the effective configuration of one task's stack, and where each value came from.

It runs the loader `cdk synth` runs (`stacks.config`), on cdk.json's context plus the same `-c
key=value` overrides the CDK CLI takes, so what it prints is what synth would use and any mistake
fails here with synth's own message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rft.errors import UserError
from rft.project import CDK_JSON, known_stack_names, task_for_stack, task_spec
from stacks.config import ConfigError, Context, RftConfig, Setting, cdk_json_context, load_config


def parse_overrides(pairs: Iterable[str]) -> dict[str, str]:
    """`-c key=value` pairs as the CDK CLI reads them: strings, split at the first `=`."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"-c {pair!r}: expected key=value, e.g. -c rft:gsm8k:epochCount=2")
        overrides[key.strip()] = value
    return overrides


def effective_config(name: str, pairs: Sequence[str] = (), cdk_json: Path | None = None) -> RftConfig:
    """The validated configuration of the task or stack `name`, as synth would compute it."""
    task = task_spec(name) or task_for_stack(name)
    if task is None:
        raise UserError(
            f"unknown task or stack {name!r}; known stacks: {', '.join(known_stack_names()) or 'none'}"
        )
    context = Context.from_layers(cdk_json_context(cdk_json or CDK_JSON), parse_overrides(pairs))
    try:
        return load_config(task, context)
    except ConfigError as error:
        raise UserError(str(error)) from None


def shown_value(value: Any) -> str:
    """A value as the README and `rft config` write it (JSON-like: true, 30, none for unset)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if value == "":
        return '""'
    return value if isinstance(value, str) else json.dumps(value)


def render(config: RftConfig) -> list[str]:
    """One line per setting: key, source (default, cdk.json or -c) and value, aligned."""
    rows: list[Setting] = list(config.provenance)
    width = max(len(s.key) for s in rows)
    lines = [f"{config.task.stack_name} ({config.task.name}): effective configuration"]
    lines += [f"  {s.key:<{width}}  {s.source:<8}  {shown_value(s.value)}" for s in rows]
    return lines


def as_json(config: RftConfig) -> str:
    return json.dumps(
        {
            "task": config.task.name,
            "stack": config.task.stack_name,
            "settings": [{"key": s.key, "value": s.value, "source": s.source} for s in config.provenance],
        },
        indent=2,
    )
