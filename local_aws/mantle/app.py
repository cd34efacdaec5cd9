"""The HTTP face of the emulated mantle API: a WSGI app the emulator mounts beside moto.

Paths are Bedrock's (`/v1/files`, `/v1/fine_tuning/jobs...`, `/v1/models`, `/v1/chat/completions`),
bodies JSON except the multipart file upload. Every request is checked by `sigv4.verify` first,
over the exact bytes received; a bad or missing signature is a 403 before anything else is read.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote

from werkzeug.wrappers import Request

from local_aws import settings
from local_aws.mantle import sigv4
from local_aws.mantle.service import ApiError, MantleService

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

# The paths this app owns; everything else in the emulator is moto's (several moto services use /v1/).
PREFIXES = ("/v1/files", "/v1/fine_tuning/", "/v1/models", "/v1/chat/completions")
_JOB = r"/v1/fine_tuning/jobs/(?P<job>[^/]+)"
_FILE = r"/v1/files/(?P<file>[^/]+)"


@dataclass(frozen=True)
class Call:
    """One verified request, as the route handlers need it."""

    service: MantleService
    region: str  # from the signature's credential scope
    ids: dict[str, str]
    query: dict[str, str]
    body: bytes
    environ: dict[str, Any]

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as error:
            raise ApiError(400, f"the request body is not JSON ({error})") from None

    def paging(self) -> dict[str, Any]:
        return {"limit": self.query.get("limit"), "after": self.query.get("after")}


def _upload(call: Call) -> Any:
    if not call.environ.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
        raise ApiError(
            400, "POST /v1/files takes multipart/form-data with fields purpose and file", param="file"
        )
    body = call.body
    parsed = Request({**call.environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})
    upload = parsed.files.get("file")
    if upload is None:
        raise ApiError(400, "the multipart body has no 'file' part", param="file")
    purpose = parsed.form.get("purpose", "")
    return call.service.upload_file(
        call.region, filename=upload.filename or "", purpose=purpose, data=upload.read()
    )


Handler = Callable[[Call], Any]
ROUTES: tuple[tuple[str, re.Pattern[str], Handler], ...] = tuple(
    (method, re.compile(pattern + r"/?$"), handler)
    for method, pattern, handler in (
        ("POST", r"/v1/files", _upload),
        (
            "GET",
            r"/v1/files",
            lambda c: c.service.list_files(
                c.region, purpose=c.query.get("purpose"), order=c.query.get("order"), **c.paging()
            ),
        ),
        ("GET", _FILE, lambda c: c.service.retrieve_file(c.region, c.ids["file"])),
        ("DELETE", _FILE, lambda c: c.service.delete_file(c.region, c.ids["file"])),
        ("GET", _FILE + r"/content", lambda c: c.service.file_content(c.region, c.ids["file"])),
        ("POST", r"/v1/fine_tuning/jobs", lambda c: c.service.create_job(c.region, c.json())),
        ("GET", r"/v1/fine_tuning/jobs", lambda c: c.service.list_jobs(c.region, **c.paging())),
        ("GET", _JOB, lambda c: c.service.retrieve_job(c.region, c.ids["job"])),
        ("POST", _JOB + r"/cancel", lambda c: c.service.cancel_job(c.region, c.ids["job"])),
        ("GET", _JOB + r"/events", lambda c: c.service.list_events(c.region, c.ids["job"], **c.paging())),
        (
            "GET",
            _JOB + r"/checkpoints",
            lambda c: c.service.list_checkpoints(c.region, c.ids["job"], **c.paging()),
        ),
        ("GET", r"/v1/models", lambda c: c.service.list_models(c.region)),
        ("POST", r"/v1/chat/completions", lambda c: c.service.chat_completion(c.region, c.json())),
    )
)
STATUS_TEXT = {200: "200 OK", 400: "400 Bad Request", 403: "403 Forbidden", 404: "404 Not Found"}
STATUS_TEXT |= {405: "405 Method Not Allowed", 413: "413 Payload Too Large"}


def handles(path: str) -> bool:
    return path.startswith(PREFIXES)


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


def _body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        return bytes(stream.read(int(length)))
    return bytes(stream.read()) if environ.get("wsgi.input_terminated") else b""


def _url(environ: dict[str, Any]) -> str:
    """The URL as the client sent it (raw path and query), which is what it signed."""
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not target:
        query = environ.get("QUERY_STRING", "")
        target = quote(environ.get("PATH_INFO", "")) + (f"?{query}" if query else "")
    return f"http://{environ.get('HTTP_HOST', 'localhost')}{target}"


class MantleApp:
    """WSGI: verify the signature, route, call the service, answer JSON (or an OpenAI error)."""

    def __init__(self, service: MantleService) -> None:
        self.service = service

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        try:
            status, payload, content_type = self._handle(environ)
        except ApiError as error:
            status, payload, content_type = (
                error.status,
                json.dumps(error.body()).encode(),
                "application/json",
            )
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(payload))),
            ("x-request-id", request_id),
        ]
        start_response(STATUS_TEXT.get(status, f"{status} Error"), headers)
        return [payload]

    def _handle(self, environ: dict[str, Any]) -> tuple[int, bytes, str]:
        method, path = environ.get("REQUEST_METHOD", "GET").upper(), environ.get("PATH_INFO", "")
        body = _body(environ)
        headers = _headers(environ)
        try:
            caller = sigv4.verify(
                method=method,
                url=_url(environ),
                headers=headers,
                body=body,
                access_key_id=settings.ACCESS_KEY_ID,
                secret_access_key=settings.SECRET_ACCESS_KEY,
            )
        except sigv4.SignatureError as error:
            raise ApiError(403, error.message, code=error.code, error_type="authentication_error") from None
        candidates = [(m, match, handler) for m, pattern, handler in ROUTES if (match := pattern.match(path))]
        if not candidates:
            raise ApiError(404, f"Unknown path {path}", code="unknown_url")
        route = next(((match, handler) for m, match, handler in candidates if m == method), None)
        if route is None:
            raise ApiError(405, f"{method} is not allowed on {path}", code="method_not_allowed")
        match, handler = route
        query = {key: values[-1] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
        result = handler(Call(self.service, caller.region, match.groupdict(), query, body, environ))
        if isinstance(result, bytes):
            return 200, result, "application/octet-stream"
        return 200, json.dumps(result).encode(), "application/json"
