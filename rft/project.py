"""Where the CLI finds the project's pieces: tasks, stacks, the Lambda asset root and cdk.json.

Tasks and stacks are the task registry's (`tasks/`, the same list the CDK app deploys), so every
command knows exactly the tasks `cdk synth` builds. Every command takes a stack name or a
task name: `rft status gsm8k` means GsmRftStack, and `rft rehearse GsmRftStack` means gsm8k.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tasks
from rft.errors import UserError
from tasks import TaskSpec

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_DIR = REPO_ROOT / "lambda"
CDK_JSON = REPO_ROOT / "cdk.json"


def ensure_lambda_path() -> None:
    """Put the Lambda asset root on sys.path, as the Lambda runtime does, so handlers import as deployed."""
    path = str(LAMBDA_DIR)
    if path not in sys.path:
        sys.path.insert(0, path)


def known_task_names() -> list[str]:
    return tasks.names()


def task_spec(name: str) -> TaskSpec | None:
    try:
        return tasks.task_by_name(name)
    except KeyError:
        return None


def reward_handler_path(task: str) -> str:
    """The task's deployed handler string (`<reward_package>.handler.lambda_handler`)."""
    spec = task_spec(task)
    if spec is None:
        raise UserError(f"unknown task {task!r}; known tasks: {', '.join(known_task_names()) or 'none'}")
    return spec.reward_handler


def resolve_stack(name: str) -> str:
    """A stack name as given, or the stack of the task with that name."""
    spec = task_spec(name)
    return spec.stack_name if spec is not None else name


def task_for_stack(stack_name: str) -> TaskSpec | None:
    try:
        return tasks.task_for_stack(stack_name)
    except KeyError:
        return None


def resolve_task(name: str) -> str:
    """A task name as given, or the task whose stack has that name."""
    spec = task_for_stack(name)
    return spec.name if spec is not None else name


def known_stack_names() -> list[str]:
    return tasks.stack_names()


def configured_judge_model(spec: TaskSpec) -> str | None:
    """The judge model the app deploys for a task: its cdk.json block, else the spec's default."""
    from stacks.config import ConfigError, load_config

    try:
        return load_config(spec, cdk_context().get).judge_model_id
    except ConfigError as error:
        raise UserError(f"cdk.json: {error}") from None


def cdk_context(path: Path = CDK_JSON) -> Mapping[str, Any]:
    """cdk.json's context block (empty when the file is absent or unreadable)."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("context", {})
    except (OSError, ValueError):
        return {}


def default_region() -> str:
    """The region the app deploys its stacks to, which is where to look: `rft:region` in cdk.json,
    else the region of cdk.json's `rft:baseModel` (the default model's when unset)."""
    from stacks.config import APP_DEFAULTS, model_region  # pure: the model table holds the regions

    context = cdk_context()
    region = context.get("rft:region")
    return (
        str(region)
        if region
        else model_region(str(context.get("rft:baseModel") or APP_DEFAULTS["rft:baseModel"]))
    )
