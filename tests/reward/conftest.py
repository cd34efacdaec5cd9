"""Fixtures for the reward tests: a fake Lambda context and capture of a handler's log lines."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rft_reward import RewardHandler

from .helpers import FakeLambdaContext


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def capture_logs() -> Iterator[Callable[[RewardHandler], io.StringIO]]:
    """`capture_logs(handler)` redirects that handler's Powertools log stream into a buffer.

    The stream handler holds the sys.stdout of import time, which capsys does not see.
    """
    restore: list[tuple[logging.StreamHandler, Any]] = []

    def capture(handler: RewardHandler) -> io.StringIO:
        stream_handler = handler.logger.registered_handler
        assert isinstance(stream_handler, logging.StreamHandler)
        buffer = io.StringIO()
        restore.append((stream_handler, stream_handler.setStream(buffer)))
        return buffer

    yield capture
    for stream_handler, old in reversed(restore):
        stream_handler.setStream(old)
