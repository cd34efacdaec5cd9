"""A loopback server speaking the bedrock-mantle fine-tuning and chat-completions API, for CLI tests.

The real `MantleClient` (lambda/rft_mantle) reaches it through `AWS_ENDPOINT_URL_BEDROCK_MANTLE`, so
the tests run the client's real request building, SigV4 signing, paging and error parsing. Every
request's SigV4 signature is recomputed here from the exact bytes received (service
`bedrock-mantle`, the test credentials) and a mismatch is answered 403, as the service would.

Shapes follow the Bedrock user guide's fine-tuning pages and the OpenAI job, event and error objects
they defer to: events and checkpoints are listed newest first, paged with `limit`/`after`/`has_more`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "bedrock-mantle"
ACCESS_KEY, SECRET_KEY, SESSION_TOKEN = "testing", "testing", "testing"
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<headers>[^,]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)
_JOB = re.compile(r"^/v1/fine_tuning/jobs/(?P<id>[^/]+)(?P<rest>/events|/checkpoints|/cancel)?$")
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


def signature_problem(method: str, url: str, headers: dict[str, str], body: bytes) -> str | None:
    """Why this request's SigV4 signature is wrong ('' parts named), or None when it verifies."""
    lower = {k.lower(): v for k, v in headers.items()}
    match = _AUTH.match(lower.get("authorization", ""))
    if match is None:
        return "no SigV4 Authorization header"
    if match["service"] != SERVICE:
        return f"signed for service {match['service']!r}, not {SERVICE!r}"
    if match["key"] != ACCESS_KEY:
        return "unknown access key"
    signed = match["headers"].split(";")
    request = AWSRequest(method=method, url=url, data=body, headers={h: lower[h] for h in signed if h in lower})
    request.context["timestamp"] = lower.get("x-amz-date", "")
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN), SERVICE, match["region"])
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if expected != match["signature"]:
        return "signature does not match"
    if "x-amz-security-token" in lower and "x-amz-security-token" not in signed:
        return "session token not signed"
    return None


def error_body(message: str, code: str | None = None, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@dataclass
class ChatReply:
    status: int
    body: dict[str, Any]


def chat_answer(text: str, prompt_tokens: int = 90, completion_tokens: int = 30) -> ChatReply:
    return ChatReply(
        200,
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        },
    )


THROTTLED = ChatReply(429, error_body("Too many requests", "rate_limit_exceeded", "rate_limit_error"))


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    region: str


@dataclass
class MantleServer:
    """Jobs, events and checkpoints held in memory; `chat(body)` answers chat completions."""

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    checkpoints: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    chat: Callable[[dict[str, Any]], ChatReply] | None = None
    #: When a cancel arrives for a running job, the job first moves to this status (a race).
    finish_before_cancel: str | None = None
    requests: list[Seen] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    hold: threading.Event | None = None  # chat calls wait on it: lets a test count calls in flight

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- fixtures --------------------------------------------------------------------------------

    def add_job(self, job_id: str, status: str, **fields: Any) -> dict[str, Any]:
        job = {
            "id": job_id,
            "object": "fine_tuning.job",
            "model": "openai.gpt-oss-20b",
            "created_at": 1764640800,  # 2025-12-02T02:00:00Z
            "finished_at": None,
            "fine_tuned_model": None,
            "status": status,
            "error": None,
            "training_file": "file-train",
            "method": {
                "type": "reinforcement",
                "reinforcement": {
                    "grader": {"type": "lambda", "lambda": {"function": "arn:aws:lambda:us-west-2:123456789012:function:reward"}},
                    "hyperparameters": {"n_epochs": 1, "batch_size": 4, "learning_rate_multiplier": 1.0},
                },
            },
            **fields,
        }
        self.jobs[job_id] = job
        self.events.setdefault(job_id, [])
        self.checkpoints.setdefault(job_id, [])
        return job

    def add_metrics(self, job_id: str, rewards: list[float], total: int, start_step: int = 1) -> None:
        """One metrics event per step (shaped as the gpt-oss notebook prints one), in time order."""
        for offset, reward in enumerate(rewards):
            step = start_step + offset
            self.events[job_id].append(
                {
                    "id": f"ftevent-{job_id}-{step:04d}",
                    "object": "fine_tuning.job.event",
                    "created_at": 1764640800 + 60 * step,
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

    def add_message(self, job_id: str, message: str, level: str = "info", at: int = 1764640830) -> None:
        number = len(self.events[job_id])
        self.events[job_id].append(
            {
                "id": f"ftevent-{job_id}-msg{number}",
                "object": "fine_tuning.job.event",
                "created_at": at,
                "level": level,
                "message": message,
                "type": "message",
                "data": {},
            }
        )

    def add_checkpoint(self, job_id: str, step: int) -> None:
        self.checkpoints[job_id].append(
            {
                "id": f"ftckpt-{job_id}-{step}",
                "object": "fine_tuning.job.checkpoint",
                "created_at": 1764640800 + 60 * step,
                "fine_tuned_model_checkpoint": f"{job_id}:ckpt-step-{step}",
                "step_number": step,
                "metrics": {},
                "fine_tuning_job_id": job_id,
            }
        )

    # -- serving ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> MantleServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, answer = server.answer(self.command, self.path, dict(self.headers.items()), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        host = {k.lower(): v for k, v in headers.items()}.get("host", "")
        problem = signature_problem(method, f"http://{host}{raw_path}", headers, body)
        parts = urlsplit(raw_path)
        if problem is not None:
            with self._lock:
                self.rejected.append(problem)
            return 403, error_body(f"SigV4 check failed: {problem}", "invalid_signature", "authentication_error")
        region = _AUTH.match({k.lower(): v for k, v in headers.items()}["authorization"])["region"]  # type: ignore[index]
        with self._lock:
            self.requests.append(Seen(method, parts.path, parse_qs(parts.query), body, region))
        if method == "POST" and parts.path == "/v1/chat/completions":
            return self._chat(json.loads(body or b"{}"))
        match = _JOB.match(parts.path)
        if match is None:
            return 404, error_body(f"no route {method} {parts.path}", "not_found")
        job_id, rest = match["id"], match["rest"]
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                return 404, error_body(f"fine-tuning job {job_id} not found", "not_found")
            if method == "GET" and rest is None:
                return 200, dict(job)
            if method == "GET" and rest in ("/events", "/checkpoints"):
                items = self.events[job_id] if rest == "/events" else self.checkpoints[job_id]
                return 200, _page(list(reversed(items)), parse_qs(parts.query))
            if method == "POST" and rest == "/cancel":
                if self.finish_before_cancel and job["status"] not in TERMINAL:
                    job["status"] = self.finish_before_cancel
                if job["status"] in TERMINAL:
                    return 400, error_body(
                        f"Job {job_id} has already finished and cannot be cancelled.", "invalid_job_state"
                    )
                job["status"], job["finished_at"] = "cancelled", job["created_at"] + 3600
                return 200, dict(job)
        return 404, error_body(f"no route {method} {parts.path}", "not_found")

    def _chat(self, body: dict[str, Any]) -> tuple[int, Any]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.hold is not None:
                self.hold.wait(timeout=10)
            reply = self.chat(body) if self.chat else ChatReply(404, error_body("no chat model", "model_not_found"))
            return reply.status, reply.body
        finally:
            with self._lock:
                self.in_flight -= 1

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.requests if r.path == "/v1/chat/completions"]


def _page(items: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
    limit = int(query.get("limit", ["20"])[0])
    after = query.get("after", [None])[0]
    start = 0
    if after is not None:
        ids = [item["id"] for item in items]
        start = ids.index(after) + 1 if after in ids else len(items)
    data = items[start : start + limit]
    return {"object": "list", "data": data, "has_more": start + limit < len(items)}
