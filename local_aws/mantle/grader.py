"""The service's view of the emulator's Lambda: find a grader by ARN and run it, as the real service
invokes the reward function a job names."""

from __future__ import annotations

from moto.awslambda.models import LambdaFunction, lambda_backends

from local_aws.mantle.service import GraderReply
from local_aws.moto_patches import run_function


def _function(function_arn: str) -> LambdaFunction | None:
    parts = function_arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda":
        return None
    region, account = parts[3], parts[4]
    try:
        return lambda_backends[account][region].get_function(function_arn)
    except Exception:  # moto raises its own not-found types
        return None


class EmulatorGrader:
    """`Grader` over moto's Lambda backends and the local executor."""

    def exists(self, function_arn: str) -> bool:
        return _function(function_arn) is not None

    def invoke(self, function_arn: str, event_json: str) -> GraderReply:
        fn = _function(function_arn)
        if fn is None:
            return GraderReply(b"", f"the function {function_arn} no longer exists")
        invocation = run_function(fn, event_json)
        return GraderReply(invocation.payload, invocation.error_message)
