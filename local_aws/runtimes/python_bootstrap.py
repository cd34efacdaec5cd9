"""Runs one Lambda invocation of a Python handler, the way the managed runtime would.

Started by `local_aws.lambda_executor` as `python python_bootstrap.py <handler> <result-file>`, with
the event on stdin, the function's code directory as the working directory and on PYTHONPATH (ahead
of the layers), and the Lambda environment variables set. The handler's return value (or its error,
in Lambda's error shape) is written to the result file; stdout and stderr are the function's logs.

Deliberately dependency-free: it must start fast and never mask the handler's own imports.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    """The attributes and method handlers (and Powertools) read from the real context object."""

    def __init__(self, deadline: float) -> None:
        self._deadline = deadline
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ.get("LOCAL_AWS_FUNCTION_ARN", "")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = os.environ.get("LOCAL_AWS_REQUEST_ID", "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": os.environ.get("LOCAL_AWS_REQUEST_ID", ""),
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def main() -> int:
    # Python put this script's folder first on sys.path; the function's code must come first instead.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)
    handler_spec, result_path = sys.argv[1], sys.argv[2]
    deadline = time.monotonic() + float(os.environ.get("LOCAL_AWS_TIMEOUT_S", "3"))
    outcome: dict[str, Any]
    try:
        module_name, _, function_name = handler_spec.rpartition(".")
        if not module_name:
            raise ValueError(f"Bad handler '{handler_spec}': expected <module>.<function>")
        try:
            module = importlib.import_module(module_name.replace("/", "."))
        except Exception as exc:
            traceback.print_exc()
            outcome = {"ok": False, "error": _error(exc, f"Runtime.ImportModuleError: {type(exc).__name__}")}
        else:
            handler = getattr(module, function_name, None)
            if not callable(handler):
                raise AttributeError(f"Handler '{function_name}' missing on module '{module_name}'")
            event = json.loads(sys.stdin.read() or "null")
            result = handler(event, LambdaContext(deadline))
            try:
                outcome = {"ok": True, "value": json.dumps(result)}
            except (TypeError, ValueError) as exc:
                outcome = {"ok": False, "error": _error(exc, "Runtime.MarshalError")}
    except Exception as exc:
        # Lambda prints the traceback to the function's log as well as returning the error.
        traceback.print_exc()
        outcome = {"ok": False, "error": _error(exc)}
    sys.stdout.flush()
    sys.stderr.flush()
    with open(result_path, "w", encoding="utf-8") as out:
        json.dump(outcome, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
