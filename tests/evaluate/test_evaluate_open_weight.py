"""`rft evaluate` on an open-weight stack: base and tuned called through bedrock-mantle chat completions.

The real MantleClient talks to the loopback mantle server (SigV4 checked); the stack's outputs are
moto's. Converse is pointed at a closed port, so a call that went there would stop the run.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from rft import project
from rft.evaluate import command
from tests.cli.helpers import deploy_stack
from tests.cli.mantle_stack import (
    DROP,
    JOB_ID,
    REGION,
    THROTTLED,
    TUNED_MODEL,
    Barrier,
    ChatAnswer,
    LoopbackMantle,
    chat_answer,
    error_answer,
    open_weight_outputs,
    start_mantle,
)
from tests.reward.converse_server import point_boto3_at

from .conftest import gold, records, user_text
from .test_evaluate_command import base_right, run, tuned_right  # the same answer rules as for Converse

BASE = "openai.gpt-oss-20b"
LIMIT = 24


@pytest.fixture
def open_weight(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """GsmRftStack as an open-weight stack (cdk.json with rft:baseModel gpt-oss, no rft:region: the
    region follows the model), test credentials, moto for CloudFormation, Converse unreachable."""
    context = {k: v for k, v in project.cdk_context().items() if k != "rft:region"}
    context["rft:baseModel"] = BASE

    def read(path: Path = project.CDK_JSON) -> dict[str, Any]:
        return context

    monkeypatch.setattr(project, "cdk_context", read)
    monkeypatch.setattr(command, "cdk_context", read)
    point_boto3_at(monkeypatch, "http://127.0.0.1:9")
    with mock_aws():
        yield


@pytest.fixture
def mantle(open_weight: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., LoopbackMantle]]:
    started: list[LoopbackMantle] = []

    def start(chat: Callable[[dict[str, Any]], ChatAnswer], job_status: str = "succeeded") -> LoopbackMantle:
        server = start_mantle(monkeypatch, chat=chat)
        server.job(job_status, fine_tuned_model=TUNED_MODEL if job_status == "succeeded" else None)
        deploy_stack(open_weight_outputs(), "GsmRftStack", REGION)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


class Answers:
    """Chat answers per (model, prompt): the gold answer or a wrong one; `fail` may answer first."""

    def __init__(self, test_file: Path, fail: Callable[[str, str, int], ChatAnswer | None] | None = None):
        self.by_user = {user_text(r): r for r in records(test_file)}
        self.fail = fail
        self.asked: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> ChatAnswer:
        user = "".join(m["content"] for m in body["messages"] if m["role"] == "user")
        record = self.by_user[user]
        key = (body["model"], record["id"])
        with self._lock:
            attempt = self.asked[key] = self.asked.get(key, 0) + 1
        if self.fail is not None and (failure := self.fail(*key, attempt)) is not None:
            return failure
        right = tuned_right(record["id"]) if body["model"] == TUNED_MODEL else base_right(record["id"])
        return chat_answer(f"Step by step.\n#### {gold(record) if right else '-1'}")


def test_base_and_tuned_are_called_through_mantle_chat_completions(workdir, mantle) -> None:
    data = workdir("gsm8k")
    server = mantle(Answers(data / "test.jsonl"))
    result = run("GsmRftStack", "--model", "base", "--model", "tuned", "--limit", str(LIMIT))
    assert result.exit_code == 0, result.output

    rows = records(data / "test.jsonl")[:LIMIT]
    bodies = server.chat_bodies
    assert len(bodies) == 2 * LIMIT
    assert {b["model"] for b in bodies} == {BASE, TUNED_MODEL}
    assert {b["max_tokens"] for b in bodies} == {2048}  # the task's inferenceMaxTokens
    assert {b["temperature"] for b in bodies} == {0.0}
    sent = {(b["model"], tuple((m["role"], m["content"]) for m in b["messages"])) for b in bodies}
    for row in rows:  # the record's own system and user turns, as text
        turns = tuple((m["role"], m["content"]) for m in row["messages"] if m["role"] in ("system", "user"))
        assert (BASE, turns) in sent and (TUNED_MODEL, turns) in sent
    assert server.rejected_signatures == 0
    assert all(
        f"/{REGION}/bedrock-mantle/aws4_request" in r.headers["authorization"] for r in server.requests
    )

    report = json.loads(Path("reports/evaluate-gsm8k.json").read_text())
    base, tuned = report["models"]
    assert (base["model"], tuned["model"]) == (BASE, TUNED_MODEL)
    ids = [r["id"] for r in rows]
    assert base["accuracy"] == pytest.approx(sum(map(base_right, ids)) / LIMIT)
    assert tuned["accuracy"] == pytest.approx(sum(map(tuned_right, ids)) / LIMIT)
    assert base["errors"] == tuned["errors"] == 0
    (comparison,) = report["comparisons"]
    assert comparison["improved"] == [i for i in ids if tuned_right(i) and not base_right(i)]
    assert any("bedrock-mantle chat completions" in note for note in report.get("notes", []))
    stderr = " ".join(result.stderr.split())
    assert f"{2 * LIMIT} bedrock-mantle chat completions calls to make" in stderr


def test_base_alone_needs_no_deployed_stack(workdir, open_weight, monkeypatch) -> None:
    data = workdir("gsm8k")
    server = start_mantle(monkeypatch, chat=Answers(data / "test.jsonl"))
    try:
        result = run("gsm8k", "--model", "base", "--limit", "6")
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    assert {b["model"] for b in server.chat_bodies} == {BASE}
    assert not server.calls("GET")  # no job was read


def test_throttled_calls_are_retried_until_answered(workdir, mantle) -> None:
    data = workdir("gsm8k")

    def throttle_twice(model: str, prompt_id: str, attempt: int) -> ChatAnswer | None:
        return THROTTLED if attempt <= 2 else None

    answers = Answers(data / "test.jsonl", fail=throttle_twice)
    server = mantle(answers)
    result = run("gsm8k", "--model", "tuned", "--limit", "8")
    assert result.exit_code == 0, result.output
    assert len(server.chat_bodies) == 3 * 8  # two 429s, then the answer, for every prompt
    assert set(answers.asked.values()) == {3}
    (tuned,) = json.loads(Path("reports/evaluate-gsm8k.json").read_text())["models"]
    assert (tuned["errors"], tuned["responses"]) == (0, 8)


def test_a_failed_call_is_an_error_never_a_wrong_answer(workdir, mantle) -> None:
    data = workdir("gsm8k")
    ids = [r["id"] for r in records(data / "test.jsonl")][:LIMIT]
    broken = {ids[1]: error_answer(400, "prompt too long"), ids[3]: error_answer(500, "internal error")}

    def fail(model: str, prompt_id: str, attempt: int) -> ChatAnswer | None:
        return broken.get(prompt_id) if model == TUNED_MODEL else None

    server = mantle(Answers(data / "test.jsonl", fail=fail))
    result = run("gsm8k", "--model", "base", "--model", "tuned", "--limit", str(LIMIT))
    assert result.exit_code == 0, result.output
    report = json.loads(Path("reports/evaluate-gsm8k.json").read_text())
    _, tuned = report["models"]
    assert tuned["errors"] == 2 and tuned["responses"] == LIMIT - 2
    answered = [i for i in ids if i not in broken]
    assert tuned["accuracy"] == pytest.approx(sum(map(tuned_right, answered)) / len(answered))
    assert report["comparisons"][0]["paired_prompts"] == LIMIT - 2
    # The 400 is asked once; the 500 is retried (five attempts in all) before it counts as an error.
    tuned_asks = [b for b in server.chat_bodies if b["model"] == TUNED_MODEL]
    assert len(tuned_asks) == (LIMIT - 2) + 1 + 5
    out = " ".join(result.stdout.split())
    assert "2 calls failed (ValidationException ×1, InternalServerException ×1)" in out


def test_calls_in_flight_stay_within_the_concurrency(workdir, mantle) -> None:
    data = workdir("gsm8k")
    barrier = Barrier(3, Answers(data / "test.jsonl"))
    server = mantle(barrier)
    result = run("gsm8k", "--model", "tuned", "--limit", "12", "--concurrency", "3")
    assert result.exit_code == 0, result.output
    assert not barrier.broken  # three calls were in flight at once ...
    assert server.max_in_flight == 3  # ... and never more


def test_tuned_before_the_job_succeeded_names_rft_status(workdir, mantle) -> None:
    data = workdir("gsm8k")
    server = mantle(Answers(data / "test.jsonl"), job_status="running")
    result = run("gsm8k", "--model", "tuned", "--limit", "4")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    message = " ".join(result.stderr.split())
    assert message.startswith("error:")
    assert f"job {JOB_ID} is running" in message and "rft status GsmRftStack --watch" in message
    assert not server.chat_bodies


def test_no_access_to_the_model_stops_the_run_naming_the_permission(workdir, mantle) -> None:
    workdir("gsm8k")
    server = mantle(
        lambda body: error_answer(403, "not authorized to perform bedrock-mantle:CreateInference")
    )
    result = run("gsm8k", "--model", "base", "--limit", str(LIMIT), "--concurrency", "2")
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert "no access to the model" in message and "bedrock-mantle:CreateInference" in message
    assert len(server.chat_bodies) < LIMIT  # the run stopped instead of failing every call


def test_a_dropped_connection_is_tried_again(workdir, mantle) -> None:
    data = workdir("gsm8k")

    def drop_first(model: str, prompt_id: str, attempt: int) -> ChatAnswer | None:
        return DROP if attempt == 1 else None

    answers = Answers(data / "test.jsonl", fail=drop_first)
    mantle(answers)
    result = run("gsm8k", "--model", "tuned", "--limit", "6")
    assert result.exit_code == 0, result.output
    assert set(answers.asked.values()) == {2}
    (tuned,) = json.loads(Path("reports/evaluate-gsm8k.json").read_text())["models"]
    assert (tuned["errors"], tuned["responses"]) == (0, 6)


def test_an_unreachable_endpoint_stops_the_run(workdir, open_weight, monkeypatch) -> None:
    workdir("gsm8k")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_MANTLE", "http://127.0.0.1:9")
    result = run("gsm8k", "--model", "base", "--limit", "6")
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert "cannot reach" in message and "127.0.0.1:9/v1/chat/completions" in message
    assert "Traceback" not in result.output


def test_the_rehearse_preflight_on_an_open_weight_base_model_asks_mantle_not_converse(
    workdir, open_weight, monkeypatch
) -> None:
    """`rft rehearse <task> --model base` samples the model the stack trains: on open weight that is
    the mantle id through chat completions (Converse points at a closed port here)."""
    from .test_preflight import run as rehearse

    data = workdir("gsm8k")
    train = {user_text(r): r for r in records(data / "train.jsonl")}

    def answer(body: dict[str, Any]) -> ChatAnswer:
        user = "".join(m["content"] for m in body["messages"] if m["role"] == "user")
        record = train[user]
        right = int(record["id"].rsplit("-", 1)[-1]) % 2 == 0
        return chat_answer(f"Step by step.\n#### {gold(record) if right else '-1'}")

    server = start_mantle(monkeypatch, chat=answer)
    try:
        result = rehearse("gsm8k", "--model", "base", "--samples", "2", "--limit", "10")
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    assert len(server.chat_bodies) == 10 * 2 and {b["model"] for b in server.chat_bodies} == {BASE}
    assert server.rejected_signatures == 0
    report = json.loads(Path("reports/preflight-gsm8k.json").read_text())
    ids = [r["id"] for r in records(data / "train.jsonl")][:10]
    expected = sum(int(i.rsplit("-", 1)[-1]) % 2 == 0 for i in ids) / 10
    assert (report["prompts"], report["samples_per_prompt"]) == (10, 2)
    assert report["pass_at_1"] == pytest.approx(expected, abs=1e-6)
