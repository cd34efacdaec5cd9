"""The changes to moto 5.2.5 that let the real CDK CLI deploy to it. Pinned: they reach into internals.

Each closes a gap found by deploying this project's stacks to stock moto with the pinned CDK CLI
(local_aws/README.md lists them); the modules say which: `lambda_patches`,
`cloudformation_patches`, `change_set_patches`, `bedrock_patches`, `bedrock_deployments`, `cloudwatch_patches`,
`stepfunctions_patches`, `events_patches`. The emulator calls `apply()` when it
starts and `restore()` when it stops; `install(runtime)` connects Lambda invocations to it.
"""

from __future__ import annotations

from moto.cloudformation import parsing

from local_aws.moto_patches import (
    bedrock_deployments,
    bedrock_patches,
    cloudformation_patches,
    cloudwatch_patches,
    events_patches,
    lambda_patches,
    registry,
    stepfunctions_patches,
)
from local_aws.moto_patches.bedrock_patches import job_name_from_identifier
from local_aws.moto_patches.lambda_patches import PatchRuntime, run_function

__all__ = ["PatchRuntime", "apply", "install", "job_name_from_identifier", "restore", "run_function"]

_applied = False


def install(runtime: PatchRuntime | None) -> None:
    """Connect Lambda invocations and state machine tasks to the running emulator (None: none runs)."""
    lambda_patches.install(runtime)
    stepfunctions_patches.install(runtime.endpoint if runtime else None)


def _clear_model_caches() -> None:
    """moto caches its map of CloudFormation types; it must see the patched classes (and later not)."""
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


def apply() -> None:
    """Patch moto (idempotent)."""
    global _applied
    with registry.lock:
        if _applied:
            return
        lambda_patches.patch()
        cloudformation_patches.patch()
        cloudformation_patches.patch_cloudtrail()
        bedrock_patches.patch()
        bedrock_deployments.patch()
        cloudwatch_patches.patch()
        stepfunctions_patches.patch()
        events_patches.patch()
        _clear_model_caches()
        _applied = True


def restore() -> None:
    """Undo `apply()`: moto is as it was before."""
    global _applied
    with registry.lock:
        registry.restore_all()
        stepfunctions_patches.disable_execution()
        _clear_model_caches()
        _applied = False
