"""An open-weight stack for the CLI tests: moto's CloudFormation outputs plus a loopback mantle API.

The mantle side is ow-job's loopback server (tests/mantle/server.py: SigV4 recomputed from the bytes
received, 403 on a wrong signature), which the CLI's real `MantleClient` reaches through
`AWS_ENDPOINT_URL_BEDROCK_MANTLE`. This subclass adds what the CLI tests need on top:

* metrics events with chosen rewards, message events and checkpoints, shaped as the gpt-oss
  notebook and the docs print them;
* chat completions answered by the test's `chat(body)`, outside the server's lock, so the calls in
  flight at once can be counted (the base server serializes requests);
* a cancel that finds the job already finished (`finish_before_cancel`), the race `rft stop` meets.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.mantle.server import MantleServer, Received

REGION = "us-west-2"
JOB_ID = "ftjob-0123456789abcdef01234567"
TUNED_MODEL = "openai.gpt-oss-20b:ft:gsmrftstack-0123"
CHAT = "/v1/chat/completions"
# The tests' credentials: tests/cli/conftest.py `aws_sandbox`, and the ones moto's mock_aws sets.
SECRETS = {"testing": "testing", "FOOBARKEY": "FOOBARSECRET"}

ChatAnswer = tuple[int, dict[str, Any]]


def chat_answer(text: str, prompt_tokens: int = 90, completion_tokens: int = 30) -> ChatAnswer:
    return 200, {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def error_answer(status: int, message: str, code: str | None = None) -> ChatAnswer:
    return status, {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    }


THROTTLED = error_answer(429, "Too many requests, please slow down", "rate_limit_exceeded")
#: A `chat` answer that closes the connection without a response (a dropped connection).
DROP: ChatAnswer = (0, {})


class LoopbackMantle(MantleServer):
    """ow-job's loopback mantle server, with scripted events, checkpoints and chat completions."""

    def __init__(self, chat: Callable[[dict[str, Any]], ChatAnswer] | None = None, **kwargs: Any) -> None:
        self.chat = chat
        self.in_flight = 0
        self.max_in_flight = 0
        self.finish_before_cancel: str | None = None
        super().__init__(**{"secrets": SECRETS, **kwargs})
        # Room for many connections at once (the socketserver default backlog is 5): under load, a
        # burst of --concurrency connects must not wait out SYN retransmits past the connect timeout.
        self._httpd.socket.listen(256)

    # -- fixtures --------------------------------------------------------------------------------

    def job(self, status: str, job_id: str = JOB_ID, **fields: Any) -> dict[str, Any]:
        """A job with a fixed id (the stack's MantleJobId), created an hour ago."""
        job = self.add_job(status)
        hyperparameters = {"n_epochs": 1, "batch_size": 4, "learning_rate_multiplier": 1.0}
        job["method"] = {
            "type": "reinforcement",
            "reinforcement": {
                "grader": {
                    "type": "lambda",
                    "lambda": {"function": open_weight_outputs()["RewardFunctionArn"]},
                },
                "hyperparameters": hyperparameters,
            },
        }
        job["hyperparameters"] = hyperparameters
        job.update(fields)
        self.state.jobs.pop(job["id"])
        self.state.events.pop(job["id"])
        self.state.checkpoints.pop(job["id"])
        job["id"] = job_id
        job["created_at"] -= 3600
        self.state.jobs[job_id], self.state.events[job_id], self.state.checkpoints[job_id] = job, [], []
        return job

    def metrics(self, rewards: list[float], total: int, first_step: int = 1, job_id: str = JOB_ID) -> None:
        """One metrics event per step (the notebook's shape), appended in time order."""
        created = self.state.jobs[job_id]["created_at"]
        for offset, reward in enumerate(rewards):
            step = first_step + offset
            self.state.events[job_id].append(
                {
                    "id": f"ftevent-{job_id[-6:]}-{step:05d}",
                    "object": "fine_tuning.job.event",
                    "created_at": created + 30 * step,
                    "level": "info",
                    "message": f"Step {step}/{total}: training metrics",
                    "type": "metrics",
                    "data": {
                        "total_steps": total,
                        "step": step,
                        "critic_rewards_mean": reward,
                        "actor_pg_loss": 0.1,
                        "actor_entropy": 0.62,
                    },
                }
            )

    def message(self, text: str, level: str = "info", after_s: int = 5, job_id: str = JOB_ID) -> None:
        events = self.state.events[job_id]
        events.append(
            {
                "id": f"ftevent-{job_id[-6:]}-m{len(events)}",
                "object": "fine_tuning.job.event",
                "created_at": self.state.jobs[job_id]["created_at"] + after_s,
                "level": level,
                "message": text,
                "type": "message",
                "data": {},
            }
        )

    def checkpoint(self, step: int, job_id: str = JOB_ID) -> None:
        self.state.checkpoints[job_id].append(
            {
                "id": f"ftckpt-{step}",
                "object": "fine_tuning.job.checkpoint",
                "created_at": self.state.jobs[job_id]["created_at"] + 30 * step,
                "fine_tuned_model_checkpoint": f"{TUNED_MODEL}:ckpt-{step}",
                "step_number": step,
                "metrics": {},
                "fine_tuning_job_id": job_id,
            }
        )

    def pages(self, what: str, job_id: str = JOB_ID) -> list[Received]:
        return self.calls("GET", f"/v1/fine_tuning/jobs/{job_id}/{what}")

    @property
    def chat_bodies(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.calls("POST", CHAT)]

    # -- serving ---------------------------------------------------------------------------------

    def _route(self, request: Received) -> tuple[int, dict[str, Any]]:
        if self.finish_before_cancel and request.method == "POST" and request.path.endswith("/cancel"):
            job = self.state.jobs.get(request.path.split("/")[-2])
            if job is not None and job["status"] not in ("succeeded", "failed", "cancelled"):
                job["status"] = self.finish_before_cancel
        return super()._route(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        base = super()._handler_class()
        server = self

        class Handler(base):  # type: ignore[misc, valid-type]
            def _handle(self) -> None:
                if self.command == "POST" and urlsplit(self.path).path == CHAT:
                    server._serve_chat(self)
                else:
                    base._handle(self)

            do_GET = do_POST = do_DELETE = _handle

        return Handler

    def _serve_chat(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        request = Received(handler.command, split.path, parse_qs(split.query), headers, body, split.query)
        with self._lock:
            self.requests.append(request)
            problem = self._verify(request, handler.headers.get("Host", ""))
            if problem:
                self.rejected_signatures += 1
            else:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if problem:
            status, payload = error_answer(403, problem, "InvalidSignatureException")
        else:
            try:
                status, payload = self.chat(request.json()) if self.chat else error_answer(404, "no model")
            finally:
                with self._lock:
                    self.in_flight -= 1
        if (status, payload) == DROP:
            handler.close_connection = True
            return
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def open_weight_outputs(job_id: str = JOB_ID, stack: str = "GsmRftStack") -> dict[str, str]:
    """The outputs ow-job's open-weight stack has that the CLI reads."""
    return {
        "JobBackend": "mantle",
        "MantleJobId": job_id,
        "JobName": job_id,
        "RewardFunctionName": f"{stack}-RewardFunction-abc",
        "RewardFunctionArn": f"arn:aws:lambda:{REGION}:123456789012:function:{stack}-RewardFunction-abc",
    }


def start_mantle(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> LoopbackMantle:
    """A started server with the mantle client pointed at it (stop it when done)."""
    server = LoopbackMantle(**kwargs).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_MANTLE", server.url)
    return server


class Barrier:
    """Holds the first `parties` chat calls until that many are in flight at once (or fails them)."""

    def __init__(self, parties: int, answer: Callable[[dict[str, Any]], ChatAnswer]) -> None:
        self._barrier = threading.Barrier(parties, timeout=20)
        self._left = parties
        self._lock = threading.Lock()
        self._answer = answer
        self.broken = False

    def __call__(self, body: dict[str, Any]) -> ChatAnswer:
        with self._lock:
            wait, self._left = self._left > 0, self._left - 1
        if wait:
            try:
                self._barrier.wait()
            except threading.BrokenBarrierError:
                self.broken = True
        return self._answer(body)
