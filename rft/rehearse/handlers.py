"""Loading and calling a reward handler in-process, exactly as the Lambda runtime would.

The handler is imported by its deployed handler string (`gsm8k_reward.handler.lambda_handler`) with
`lambda/` on sys.path, so the rehearsal runs the very code `cdk deploy` ships. Powertools writes a log
line and an EMF blob to stdout for every batch; that is right in Lambda and noise in a terminal, so
both go to a sink while the handler runs (the report carries the figures that matter). Loading,
calling and the sink are `rft_eval.scoring`'s, shared with the evaluation workflow.
"""

from __future__ import annotations

from collections.abc import Mapping

from rft_eval.input_errors import EvalInputError
from rft_eval.scoring import Handler, call, quiet
from rft_eval.scoring import load_handler as _load

from rft.errors import UserError
from rft.project import ensure_lambda_path

__all__ = ["Handler", "call", "load_handler", "quiet"]


def load_handler(handler_path: str, *, environment: Mapping[str, str] | None = None) -> Handler:
    """Import `package.module.function` from the Lambda asset root (`rft_eval.scoring.load_handler`).

    `environment` is set before the import because handlers read their configuration (judge model,
    weights) once per container, at import time, as they do in Lambda.
    """
    ensure_lambda_path()
    try:
        return _load(handler_path, environment=environment, where=" from lambda/")
    except EvalInputError as error:
        raise UserError(str(error)) from None
