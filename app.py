#!/usr/bin/env python3
"""The CDK app: one stack per task in the task registry (tasks/), checked with cdk-nag's AwsSolutions pack."""

from __future__ import annotations

import json
import sys

from stacks.node_banner import silence_node_banner

silence_node_banner()  # before aws_cdk starts Node

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from stacks.config import ConfigError, Context, load_app_config  # noqa: E402
from stacks.dependency_layer import LayerBuildError  # noqa: E402
from stacks.rft_stack import build_task_stack  # noqa: E402
from tasks import TASKS  # noqa: E402

PERMISSIONS_BOUNDARY = "@aws-cdk/core:permissionsBoundary"


def _boundary_from_command_line(app: cdk.App) -> None:
    """`-c @aws-cdk/core:permissionsBoundary=<name>` arrives as a string, which CDK would ignore without
    a word (it reads `{"name": ...}` or `{"arn": ...}`): take a string as the policy's name or ARN."""
    value = app.node.try_get_context(PERMISSIONS_BOUNDARY)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            boundary = (
                json.loads(text)
                if text.startswith("{")
                else {"arn" if text.startswith("arn:") else "name": text}
            )
        except ValueError as error:
            raise ConfigError(
                f"{PERMISSIONS_BOUNDARY} {text!r} is not valid JSON ({error}); pass a policy name, an ARN, "
                'or {"name": ...}.'
            ) from None
        app.node.set_context(PERMISSIONS_BOUNDARY, boundary)


def main() -> None:
    app = cdk.App()
    try:
        _boundary_from_command_line(app)
        context = Context.from_node(app.node)
        app_config = load_app_config(context, TASKS)
        for task in TASKS:
            # A task's own config or data mistake fails only its stack (an error annotation).
            build_task_stack(app, task, app_config=app_config, context=context)
    except (ConfigError, LayerBuildError) as error:
        # An app-wide mistake: say what to fix, no traceback, and fail the synth before anything deploys.
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    # Unacknowledged findings fail the synth (cdk-nag v3 runs as a CDK policy-validation plugin).
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    app.synth()


if __name__ == "__main__":
    main()
