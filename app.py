#!/usr/bin/env python3
"""The CDK app: one stack per task in the task registry (tasks/), checked with cdk-nag's AwsSolutions pack."""

from __future__ import annotations

import sys

from stacks.node_banner import silence_node_banner

silence_node_banner()  # before aws_cdk starts Node

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from stacks.config import ConfigError, Context, load_app_config  # noqa: E402
from stacks.dependency_layer import LayerBuildError  # noqa: E402
from stacks.rft_stack import build_task_stack  # noqa: E402
from tasks import TASKS  # noqa: E402


def main() -> None:
    app = cdk.App()
    try:
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
