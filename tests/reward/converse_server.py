"""A loopback HTTP server that speaks the Bedrock Runtime Converse API, for judge tests.

The real boto3 client reaches it through `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, so tests exercise
botocore's serialisation, error parsing, retry mode and connection pool exactly as in Lambda,
with nothing faked inside boto3. The server counts requests and the most that were in flight at
once, which is how the tests prove concurrency without gating on wall time.

Also used by benchmarks/bench_pandalm_judge.py.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pytest

_PATH = re.compile(r"^/model/(?P<model>[^/]+)/converse$")


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: a status, a JSON body and its `x-amzn-ErrorType` for errors."""

    status: int
    body: dict[str, Any]
    error_type: str | None = None
    delay: bool = True  # wait the server's delay first (throttles answer at once, as Bedrock's do)


def converse_reply(text: str) -> Reply:
    """A successful Converse response whose output message is `text`."""
    return Reply(
        200,
        {
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 100, "outputTokens": 20, "totalTokens": 120},
            "metrics": {"latencyMs": 1},
        },
    )


def error_reply(code: str, status: int = 400, message: str = "test error") -> Reply:
    return Reply(status, {"message": message}, code, delay=False)


THROTTLE = error_reply("ThrottlingException", 400, "Too many requests, please wait before trying again.")
DEFAULT_VERDICT = '{"score": 0.8, "reason": "specific and faithful"}'


@dataclass
class Call:
    """What one request asked for."""

    model_id: str
    body: dict[str, Any]

    @property
    def system(self) -> str:
        return "".join(block.get("text", "") for block in self.body.get("system", []))

    @property
    def user(self) -> str:
        return "".join(
            block.get("text", "") for message in self.body.get("messages", []) for block in message["content"]
        )


@dataclass
class ConverseServer:
    """Serves `POST /model/{modelId}/converse` on 127.0.0.1 (ephemeral port).

    `respond(n, call)` picks the reply for the n-th request (1-based); by default every request
    gets `DEFAULT_VERDICT`. `throttle_every=k` answers every k-th request with a
    ThrottlingException before `respond` is consulted. `delay_s` is waited before each reply
    that has `delay=True`; stopping the server cuts every wait short.
    """

    delay_s: float = 0.0
    respond: Callable[[int, Call], Reply] | None = None
    throttle_every: int = 0
    calls: list[Call] = field(default_factory=list)
    max_in_flight: int = 0
    replies: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def _reply_for(self, call: Call) -> tuple[Reply, int]:
        with self._lock:
            self.calls.append(call)
            number = len(self.calls)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        if self.throttle_every and number % self.throttle_every == 0:
            return THROTTLE, number
        reply = self.respond(number, call) if self.respond is not None else converse_reply(DEFAULT_VERDICT)
        return reply, number

    def _done(self, status: int) -> None:
        with self._lock:
            self._in_flight -= 1
            self.replies.append(status)

    def start(self) -> ConverseServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle's algorithm the body waits for the
            # client's delayed ACK (~40 ms per call), which would swamp the latency being simulated.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                match = _PATH.match(self.path)
                if match is None:
                    self._send(
                        Reply(404, {"message": f"unknown path {self.path}"}, "UnknownOperationException")
                    )
                    return
                call = Call(unquote(match.group("model")), json.loads(raw or b"{}"))
                reply, _ = server._reply_for(call)
                try:
                    if reply.delay and server.delay_s > 0:
                        server._stopping.wait(server.delay_s)
                finally:
                    # Counted out before the reply is written: a client that sends its next request
                    # as soon as it has this reply must never find this one still counted in flight.
                    server._done(reply.status)
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                data = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if reply.error_type:
                    self.send_header("x-amzn-ErrorType", f"{reply.error_type}:http://internal.amazon.com/")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False
            request_queue_size = 256

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="converse-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ConverseServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def loopback_env(url: str) -> dict[str, str | None]:
    """Environment for a boto3 client that can only reach the server at `url` (None: unset)."""
    return {
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
        "AWS_ENDPOINT_URL": None,
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": None,
    }


def point_boto3_at(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    for name, value in loopback_env(url).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


@contextmanager
def judge_server(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> Iterator[ConverseServer]:
    """A started ConverseServer with boto3 pointed at it; stopped on exit."""
    with ConverseServer(**kwargs) as server:
        point_boto3_at(monkeypatch, server.url)
        monkeypatch.setenv("JUDGE_MODEL_ID", "us.amazon.nova-pro-v1:0")
        yield server


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any boto3 call a test did not arrange fails locally: endpoint on a closed loopback port."""
    point_boto3_at(monkeypatch, "http://127.0.0.1:9")
    monkeypatch.delenv("JUDGE_MODEL_ID", raising=False)
