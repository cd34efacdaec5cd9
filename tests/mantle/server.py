"""A loopback HTTP server that answers like Bedrock's OpenAI-compatible endpoint, for tests.

It checks what a real service would: every request's SigV4 signature is recomputed with botocore from
the request as received (method, path, query, the signed headers, the body bytes) and a wrong one
gets 403; the service and region in the credential scope must be `bedrock-mantle` and the server's
region. Bodies are OpenAI-shaped (files, fine-tuning jobs, events, checkpoints, chat completions).
Uploads are parsed back from the multipart body with the standard library's MIME parser.

Scripted failures (`fail`) make the next matching requests answer an error first; `requests` keeps
every request (method, path, query, headers, body) for assertions.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

ACCESS_KEY, SECRET_KEY, SESSION_TOKEN = "AKIDMANTLETEST", "mantle-test-secret", "mantle-test-token"
REGION = "us-west-2"
TERMINAL = ("succeeded", "failed", "cancelled")
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    raw_query: str = ""

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, tuple[str | None, bytes]]:
        """A multipart body as {field: (filename, bytes)}, parsed back with the MIME parser."""
        message = BytesParser(policy=default_policy).parsebytes(
            f"Content-Type: {self.headers['content-type']}\r\n\r\n".encode() + self.body
        )
        assert message.is_multipart(), "not a multipart body"
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields[str(name)] = (part.get_filename(), part.get_payload(decode=True) or b"")
        return fields


@dataclass
class Failure:
    method: str
    path: re.Pattern[str]
    status: int
    times: int
    body: dict[str, Any] | None
    headers: dict[str, str]


@dataclass
class MantleState:
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    checkpoints: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class MantleServer:
    """Start with `with mantle_server() as server:`; `server.url` is the endpoint (without /v1)."""

    def __init__(self, secrets: dict[str, str] | None = None, region: str = REGION) -> None:
        self.secrets = secrets or {ACCESS_KEY: SECRET_KEY}
        self.region = region
        self.state = MantleState()
        self.requests: list[Received] = []
        self.rejected_signatures = 0
        # Create-job fields answered with a 400 naming the field (a service that does not know them).
        self.unsupported_fields: set[str] = set()
        self._failures: list[Failure] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> MantleServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        times: int = 1,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests `method path` (a regex on the path) with `status`."""
        self._failures.append(Failure(method, re.compile(path), status, times, body, headers or {}))

    def calls(self, method: str | None = None, path: str | None = None) -> list[Received]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or re.fullmatch(path, r.path))
        ]

    # -- test set-up helpers ---------------------------------------------------------------------

    def add_job(self, status: str = "running", **fields: Any) -> dict[str, Any]:
        job = self._new_job({"model": "openai.gpt-oss-20b", "training_file": "file-seeded", **fields})
        job["status"] = status
        return job

    def add_events(self, job_id: str, count: int) -> list[dict[str, Any]]:
        events = [
            {
                "id": f"ftevent-{uuid.uuid4()}",
                "object": "fine_tuning.job.event",
                "created_at": 1771442218 + step,
                "level": "info",
                "message": f"Step {step}/{count}: training metrics",
                "type": "metrics",
                "data": {"step": step, "total_steps": count, "critic_rewards_mean": step / count},
            }
            for step in range(1, count + 1)
        ]
        self.state.events.setdefault(job_id, []).extend(events)
        return events

    # -- the API ---------------------------------------------------------------------------------

    def _new_job(self, body: dict[str, Any]) -> dict[str, Any]:
        job_id = f"ftjob-{uuid.uuid4().hex[:24]}"
        job = {
            "id": job_id,
            "object": "fine_tuning.job",
            "created_at": int(time.time()),
            "finished_at": None,
            "fine_tuned_model": None,
            "status": "validating_files",
            "error": None,
            "model": body.get("model"),
            "training_file": body.get("training_file"),
            "validation_file": body.get("validation_file"),
            "method": body.get("method"),
            "metadata": body.get("metadata"),
            "hyperparameters": (body.get("method") or {}).get("reinforcement", {}).get("hyperparameters"),
        }
        self.state.jobs[job_id] = job
        self.state.events[job_id] = []
        self.state.checkpoints[job_id] = []
        return job

    def _route(self, request: Received) -> tuple[int, dict[str, Any]]:
        method, path, state = request.method, request.path, self.state
        if method == "POST" and path == "/v1/files":
            fields = request.form()
            filename, data = fields["file"]
            purpose = fields["purpose"][1].decode()
            file_id = f"file-{uuid.uuid4().hex[:24]}"
            state.files[file_id] = {
                "id": file_id,
                "object": "file",
                "bytes": len(data),
                "created_at": int(time.time()),
                "filename": filename,
                "purpose": purpose,
            }
            state.contents[file_id] = data
            return 200, state.files[file_id]
        if match := re.fullmatch(r"/v1/files/([^/]+)", path):
            file_id = match.group(1)
            if file_id not in state.files:
                return _not_found(f"No such File object: {file_id}", "id")
            if method == "DELETE":
                del state.files[file_id]
                return 200, {"id": file_id, "object": "file", "deleted": True}
            return 200, state.files[file_id]
        if path == "/v1/fine_tuning/jobs" and method == "POST":
            body = request.json()
            for name in sorted(self.unsupported_fields & set(body)):
                return 400, _error(f"Unrecognized request argument supplied: {name}", name)
            for name in ("training_file", "validation_file"):
                if body.get(name) and body[name] not in state.files:
                    return 400, _error(f"File {body[name]} not found", name)
            if not body.get("model") or not body.get("training_file"):
                return 400, _error("model and training_file are required", "model")
            return 200, self._new_job(body)
        if path == "/v1/fine_tuning/jobs" and method == "GET":
            jobs = sorted(state.jobs.values(), key=lambda j: j["created_at"], reverse=True)
            return 200, _paged(jobs, request.query)
        if match := re.fullmatch(r"/v1/fine_tuning/jobs/([^/]+)(/cancel|/events|/checkpoints)?", path):
            job = state.jobs.get(match.group(1))
            if job is None:
                return _not_found(f"No such fine-tuning job: {match.group(1)}", "fine_tuning_job_id")
            action = match.group(2)
            if action == "/cancel" and method == "POST":
                if job["status"] in TERMINAL:
                    return 400, _error(f"Job has already {job['status']}; it cannot be cancelled", None)
                job["status"], job["finished_at"] = "cancelled", int(time.time())
                return 200, job
            if action == "/events":
                return 200, _paged(state.events[job["id"]], request.query)
            if action == "/checkpoints":
                return 200, _paged(state.checkpoints[job["id"]], request.query)
            return 200, job
        if path == "/v1/chat/completions" and method == "POST":
            body = request.json()
            return 200, {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "#### 42"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
            }
        return _not_found(f"Unknown route {method} {path}", None)

    def _verify(self, request: Received, host: str) -> str | None:
        """None when the signature is right, else why not."""
        match = _AUTH.fullmatch(request.headers.get("authorization", ""))
        if not match:
            return "missing or malformed SigV4 Authorization header"
        if match["service"] != "bedrock-mantle" or match["region"] != self.region:
            return (
                f"credential scope is {match['region']}/{match['service']}, not {self.region}/bedrock-mantle"
            )
        secret = self.secrets.get(match["key"])
        if secret is None:
            return "unknown access key"
        signed = match["signed"].split(";")
        if "host" not in signed or "x-amz-date" not in signed:
            return "host and x-amz-date must be signed"
        query = f"?{request.raw_query}" if request.raw_query else ""
        copy = AWSRequest(
            method=request.method,
            url=f"http://{host}{request.path}{query}",
            data=request.body,
            headers={name: request.headers.get(name, "") for name in signed},
        )
        copy.context["timestamp"] = request.headers["x-amz-date"]
        auth = SigV4Auth(
            ReadOnlyCredentials(match["key"], secret, request.headers.get("x-amz-security-token")),
            "bedrock-mantle",
            self.region,
        )
        expected = auth.signature(auth.string_to_sign(copy, auth.canonical_request(copy)), copy)
        if not hmac.compare_digest(expected, match["signature"]):
            return "The request signature we calculated does not match the signature you provided"
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = Received(
                    self.command, split.path, parse_qs(split.query), headers, body, split.query
                )
                with server._lock:
                    server.requests.append(request)
                    problem = server._verify(request, self.headers.get("Host", ""))
                    if problem:
                        server.rejected_signatures += 1
                        status, payload, extra = (
                            403,
                            {"message": problem},
                            {"x-amzn-ErrorType": "InvalidSignatureException"},
                        )
                    else:
                        status, payload, extra = server._scripted(request) or (*server._route(request), {})
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _handle

        return Handler

    def _scripted(self, request: Received) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        for failure in self._failures:
            if (
                failure.times > 0
                and failure.method == request.method
                and failure.path.fullmatch(request.path)
            ):
                failure.times -= 1
                body = failure.body or _error(f"scripted {failure.status}", None)
                return failure.status, body, failure.headers
        return None


def _error(message: str, param: str | None, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


def _not_found(message: str, param: str | None) -> tuple[int, dict[str, Any]]:
    return 404, _error(message, param)


def _paged(items: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
    limit = int(query.get("limit", ["20"])[0])
    after = query.get("after", [None])[0]
    start = 0
    if after is not None:
        start = next((i + 1 for i, item in enumerate(items) if item["id"] == after), len(items))
    page = items[start : start + limit]
    return {"object": "list", "data": page, "has_more": start + limit < len(items)}


@contextmanager
def mantle_server(**kwargs: Any) -> Iterator[MantleServer]:
    server = MantleServer(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()
