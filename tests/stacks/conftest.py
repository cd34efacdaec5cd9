"""Synthesize stacks in-process with cdk.json's context, the way `npx cdk synth` would."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Template

from tasks import TASKS
from tests.stacks.synth import synth_task


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Template]:
    """Template for (task name, **context overrides), cached across the session: synth takes seconds."""
    cache: dict[str, Template] = {}

    def _synth(task_name: str = "gsm8k", **overrides: Any) -> Template:
        key = json.dumps([task_name, overrides], sort_keys=True)
        if key not in cache:
            task = next(t for t in TASKS if t.name == task_name)
            _, stack = synth_task(task, tmp_path_factory.mktemp("cdk.out"), **overrides)
            cache[key] = Template.from_stack(stack)
        return cache[key]

    return _synth
