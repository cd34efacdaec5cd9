"""Synthesize a task's stack in-process with cdk.json's context, the way `npx cdk synth` would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from stacks.rft_stack import RftStack, build_task_stack
from tasks.spec import TaskSpec

REPO_ROOT = Path(__file__).resolve().parents[2]


def cdk_json_context() -> dict[str, Any]:
    return json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


def synth_task(task: TaskSpec, outdir: Path, **overrides: Any) -> tuple[cdk.App, RftStack]:
    """One task's stack with cdk.json context plus `overrides`, cdk-nag attached, synthesized."""
    app = cdk.App(outdir=str(outdir), context={**cdk_json_context(), **overrides})
    stack = build_task_stack(app, task)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises ValidationFailed on any unacknowledged cdk-nag finding
    return app, stack
