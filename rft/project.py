"""Where the CLI finds the project's pieces: tasks, stacks, the Lambda asset root and cdk.json.

Tasks are the ones declared in `stacks/tasks.py` (the same list the CDK app deploys), plus any
`lambda/<name>_reward/` package a user added, so a task scaffolded by hand can be rehearsed before it
has a stack. Every command takes a stack name or a task name: `rft status gsm8k` means GsmRftStack,
and `rft rehearse GsmRftStack` means gsm8k.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rft.errors import UserError
from stacks.task_spec import TaskSpec
from stacks.tasks import TASKS

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_DIR = REPO_ROOT / "lambda"
CDK_JSON = REPO_ROOT / "cdk.json"
DEFAULT_REGION = "us-east-1"
SHARED_REWARD_PACKAGE = "rft_reward"  # the shared library under lambda/, not a task


def ensure_lambda_path() -> None:
    """Put the Lambda asset root on sys.path, as the Lambda runtime does, so handlers import as deployed."""
    path = str(LAMBDA_DIR)
    if path not in sys.path:
        sys.path.insert(0, path)


def known_task_names() -> list[str]:
    names = [t.name for t in TASKS]
    if LAMBDA_DIR.is_dir():
        for entry in sorted(LAMBDA_DIR.glob("*_reward/handler.py")):
            if entry.parent.name == SHARED_REWARD_PACKAGE:
                continue
            name = entry.parent.name.removesuffix("_reward")
            if name not in names:
                names.append(name)
    return names


def task_spec(name: str) -> TaskSpec | None:
    return next((t for t in TASKS if t.name == name), None)


def reward_handler_path(task: str) -> str:
    """`<task>_reward.handler.lambda_handler`, the deployed handler string; fails if there is none."""
    spec = task_spec(task)
    if spec is not None:
        return spec.reward_handler
    if task in known_task_names():
        return f"{task}_reward.handler.lambda_handler"
    raise UserError(f"unknown task {task!r}; known tasks: {', '.join(known_task_names()) or 'none'}")


def resolve_stack(name: str) -> str:
    """A stack name as given, or the stack of the task with that name."""
    spec = task_spec(name)
    return spec.stack_name if spec is not None else name


def task_for_stack(stack_name: str) -> TaskSpec | None:
    return next((t for t in TASKS if t.stack_name == stack_name), None)


def resolve_task(name: str) -> str:
    """A task name as given, or the task whose stack has that name."""
    spec = task_for_stack(name)
    return spec.name if spec is not None else name


def known_stack_names() -> list[str]:
    return [t.stack_name for t in TASKS]


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
    """The region the app deploys its stacks to (`rft:region` in cdk.json), which is where to look."""
    region = cdk_context().get("rft:region")
    return str(region) if region else DEFAULT_REGION
