"""Loading and calling a reward handler in-process, exactly as the Lambda runtime would.

The handler is imported by its deployed handler string (`gsm8k_reward.handler.lambda_handler`) with
`lambda/` on sys.path, so the rehearsal runs the very code `cdk deploy` ships. Powertools writes a log
line and an EMF blob to stdout for every batch; that is right in Lambda and noise in a terminal, so
both go to a sink while the handler runs (the report carries the figures that matter).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
from collections.abc import Callable, Iterator
from typing import Any

from rft.errors import UserError
from rft.project import ensure_lambda_path

Handler = Callable[[Any, Any], Any]


class _Sink(io.TextIOBase):
    """A write-only stream that drops everything: Powertools' output during a rehearsal."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


_SINK = _Sink()


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow what the handler prints (EMF blobs) and logs while importing or scoring."""
    with contextlib.redirect_stdout(_SINK):
        yield


def load_handler(handler_path: str, *, environment: dict[str, str] | None = None) -> Handler:
    """Import `package.module.function` from the Lambda asset root.

    `environment` is set before the import because handlers read their configuration (judge model,
    weights) once per container, at import time, as they do in Lambda.
    """
    module_name, _, attribute = handler_path.rpartition(".")
    if not module_name:
        raise UserError(f"handler {handler_path!r} must look like package.module.function")
    ensure_lambda_path()
    for key, value in (environment or {}).items():
        os.environ[key] = value
    try:
        with quiet():
            module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise UserError(
            f"cannot import {module_name} from lambda/ ({error}); is the reward package there?"
        ) from None
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise UserError(f"{module_name} has no callable {attribute!r}")
    return handler


def call(handler: Handler, batch: list[dict[str, Any]]) -> Any:
    """One invocation, as Lambda makes it: the batch as the event and no context outside Lambda."""
    with quiet():
        return handler(batch, None)
