"""Fixtures for the evaluation tests: real data_prep test splits, and boto3 that can reach only loopback.

Every Converse call goes from a real boto3 `bedrock-runtime` client (fake credentials) to the loopback
server in tests/reward/converse_server.py, which counts calls and calls in flight.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reward.converse_server import Call, ConverseServer, Reply, converse_reply, point_boto3_at


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`prepared(task)`: data_prep's real output directory for `task` (bundled sample), built once."""
    from data_prep import prepare

    built: dict[str, Path] = {}

    def get(task: str) -> Path:
        if task not in built:
            out = tmp_path_factory.mktemp(f"data-{task}")
            prepare(task, out)
            built[task] = out
        return built[task]

    return get


@pytest.fixture
def workdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prepared: Callable[[str], Path]
) -> Callable[[str], Path]:
    """Run in a fresh directory; `workdir(task)` puts that task's splits at build/data/<task>/ there."""
    monkeypatch.chdir(tmp_path)

    def place(task: str) -> Path:
        target = tmp_path / "build" / "data" / task
        shutil.copytree(prepared(task), target, dirs_exist_ok=True)
        return target

    return place


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def gold(record: dict[str, Any]) -> str:
    reference = record["reference_answer"]
    return str(reference["final_answer"] if isinstance(reference, dict) else reference)


def user_text(record: dict[str, Any]) -> str:
    return "".join(m["content"] for m in record["messages"] if m["role"] == "user")


def answering(
    test_file: Path,
    right: Callable[[str, str], bool],
    *,
    fail: Callable[[str, str], Reply | None] | None = None,
) -> Callable[[int, Call], Reply]:
    """A `respond` for the server: per (model, prompt id), the gold answer or a wrong one, or a failure."""
    by_user = {user_text(r): r for r in records(test_file)}

    def respond(_: int, call: Call) -> Reply:
        record = by_user[call.user]
        if fail is not None and (reply := fail(call.model_id, record["id"])) is not None:
            return reply
        answer = gold(record) if right(call.model_id, record["id"]) else "-1"
        return converse_reply(f"Working it out step by step.\n#### {answer}")

    return respond


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., ConverseServer]]:
    """`server(**kwargs)`: a started loopback Converse server with boto3 pointed at it."""
    started: list[ConverseServer] = []

    def start(**kwargs: Any) -> ConverseServer:
        instance = ConverseServer(**kwargs).start()
        started.append(instance)
        point_boto3_at(monkeypatch, instance.url)
        return instance

    yield start
    for instance in started:
        instance.stop()
