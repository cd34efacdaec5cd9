#!/usr/bin/env python3
"""The CDK app: one stack per task in the task registry (tasks/), checked with cdk-nag's AwsSolutions pack."""

from __future__ import annotations

import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from data_prep import DataPrepError
from stacks.config import ConfigError
from stacks.dependency_layer import LayerBuildError
from stacks.rft_stack import build_task_stack
from tasks import TASKS


def main() -> None:
    app = cdk.App()
    try:
        for task in TASKS:
            build_task_stack(app, task)
    except (ConfigError, DataPrepError, LayerBuildError) as error:
        # A user mistake: say what to fix, no traceback, and fail the synth before anything deploys.
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    # Unacknowledged findings fail the synth (cdk-nag v3 runs as a CDK policy-validation plugin).
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    app.synth()


if __name__ == "__main__":
    main()
