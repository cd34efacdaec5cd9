"""`MantleClient`: the Files, fine-tuning jobs and chat completions calls of Bedrock's
OpenAI-compatible endpoint, each request signed with SigV4 over its exact body bytes.

Why not the OpenAI SDK: it sends only bearer keys, and the docs name AWS credentials on plain HTTP
requests as the other way in (page `rft-open-weight-access-security`). Signing with the caller's
role keeps every key out of the function, its environment and its logs.

Why multipart bodies are built here, whole: SigV4 hashes the body, so the bytes that are signed must
be exactly the bytes that are sent; a streaming encoder could not be signed.

Nothing in a request or a response body is logged (training samples, model output); retries log
the method, the path template and the status only.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from hashlib import sha256
from typing import Any
from urllib.parse import quote, urlencode

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.session import Session

logger = logging.getLogger(__name__)

SIGNING_SERVICE = "bedrock-mantle"
# The AWS SDKs' per-service endpoint variable, so the emulator (or a VPC endpoint) can stand in.
ENDPOINT_ENV = "AWS_ENDPOINT_URL_BEDROCK_MANTLE"
API_PREFIX = "/v1"
DEFAULT_TIMEOUT = 30.0
CONNECT_TIMEOUT = 5.0
# Attempts in all (the first plus retries) on 429, 5xx or an unreachable endpoint.
MAX_ATTEMPTS = 4
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
USER_AGENT = "bedrock-rft/rft-mantle"
# File names go into a quoted multipart header: keep them to characters that need no escaping.
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class MantleError(RuntimeError):
    """The endpoint refused a request (or could not be reached: `status` 0).

    `retryable`: worth another attempt later (throttling, a server error, no connection).
    `missing`: the file or job does not exist (404).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        # Seconds the service asked to wait (`Retry-After`), when it said.
        self.retry_after = retry_after
        super().__init__(f"{status} {code}: {message}" if status else f"{code}: {message}")

    @property
    def retryable(self) -> bool:
        return self.status == 0 or self.status == 429 or self.status >= 500

    @property
    def missing(self) -> bool:
        return self.status == 404

    def names(self, field: str) -> bool:
        """True when the error is about `field` (its `param`, or the message mentions it)."""
        return self.param == field or re.search(rf"\b{re.escape(field)}\b", self.message or "") is not None


def default_endpoint(region: str) -> str:
    """The endpoint without an override: `https://bedrock-mantle.<region>.api.aws` (paths under /v1)."""
    return f"https://bedrock-mantle.{region}.api.aws"


class MantleClient:
    """Bedrock's OpenAI-compatible API in one region, as the caller's AWS identity.

    `endpoint_url` (else `$AWS_ENDPOINT_URL_BEDROCK_MANTLE`, else the regional endpoint) is the base
    without `/v1`. `credentials`: botocore credentials; default: the standard chain (in Lambda, the
    function's role), refreshed before each request.
    """

    def __init__(
        self,
        region: str,
        *,
        endpoint_url: str | None = None,
        credentials: Credentials | ReadOnlyCredentials | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not region:
            raise ValueError("MantleClient needs a region, e.g. us-west-2")
        self.region = region
        base = endpoint_url or os.environ.get(ENDPOINT_ENV) or default_endpoint(region)
        self.endpoint_url = base.rstrip("/").removesuffix(API_PREFIX)
        self._credentials = credentials
        self._max_attempts = max(1, max_attempts)
        self._sleep = sleep
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(CONNECT_TIMEOUT, timeout), read=timeout), retries=False
        )

    # -- Files ---------------------------------------------------------------------------------

    def upload_file(self, filename: str, data: bytes, purpose: str = "fine-tune") -> dict[str, Any]:
        """`POST /v1/files` (multipart: `purpose`, `file`); the answer's `id` names the file."""
        body, content_type = multipart_body(
            {"purpose": purpose}, "file", safe_filename(filename), bytes(data)
        )
        return self._call("POST", "/files", body=body, content_type=content_type)

    def retrieve_file(self, file_id: str) -> dict[str, Any]:
        return self._call("GET", f"/files/{_segment(file_id)}", template="/files/{id}")

    def delete_file(self, file_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/files/{_segment(file_id)}", template="/files/{id}")

    # -- Fine-tuning jobs ----------------------------------------------------------------------

    def create_job(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /v1/fine_tuning/jobs` with `body` as given (model, training_file, method, ...)."""
        return self._call("POST", "/fine_tuning/jobs", json_body=body)

    def retrieve_job(self, job_id: str) -> dict[str, Any]:
        return self._call("GET", f"/fine_tuning/jobs/{_segment(job_id)}", template="/fine_tuning/jobs/{id}")

    def list_jobs(self, limit: int = 100, after: str | None = None) -> dict[str, Any]:
        return self._call("GET", "/fine_tuning/jobs", query=_page(limit, after))

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        return self._call(
            "POST", f"/fine_tuning/jobs/{_segment(job_id)}/cancel", template="/fine_tuning/jobs/{id}/cancel"
        )

    def list_events(self, job_id: str, limit: int = 100, after: str | None = None) -> dict[str, Any]:
        return self._call(
            "GET",
            f"/fine_tuning/jobs/{_segment(job_id)}/events",
            query=_page(limit, after),
            template="/fine_tuning/jobs/{id}/events",
        )

    def iter_events(self, job_id: str, limit: int = 100) -> Iterator[dict[str, Any]]:
        """Every event of the job, page after page (`after` = the last event's id while `has_more`),
        in the order the service returns them."""
        after: str | None = None
        seen: set[str] = set()
        while True:
            page = self.list_events(job_id, limit=limit, after=after)
            events = [e for e in page.get("data") or [] if isinstance(e, dict)]
            yield from events
            last = str(events[-1].get("id", "")) if events else ""
            # A page that cannot advance the cursor would repeat forever; stop instead.
            if not page.get("has_more") or not last or last in seen:
                return
            seen.add(last)
            after = last

    def list_checkpoints(self, job_id: str, limit: int = 100, after: str | None = None) -> dict[str, Any]:
        return self._call(
            "GET",
            f"/fine_tuning/jobs/{_segment(job_id)}/checkpoints",
            query=_page(limit, after),
            template="/fine_tuning/jobs/{id}/checkpoints",
        )

    # -- Inference -----------------------------------------------------------------------------

    def chat_completion(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /v1/chat/completions` (a tuned model is callable directly, without deployment)."""
        return self._call("POST", "/chat/completions", json_body=body)

    # -- Transport -----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        template: str | None = None,
    ) -> dict[str, Any]:
        if json_body is not None:
            body, content_type = json.dumps(json_body, separators=(",", ":")).encode(), "application/json"
        url = f"{self.endpoint_url}{API_PREFIX}{path}"
        if query:
            url += "?" + urlencode(query)
        for attempt in range(1, self._max_attempts + 1):
            try:
                return self._send(method, url, body, content_type)
            except MantleError as error:
                if not error.retryable or attempt == self._max_attempts:
                    raise
                delay = _backoff(attempt, error)
                logger.warning(
                    "bedrock-mantle %s %s answered %s; retrying in %.1fs (attempt %d of %d)",
                    method,
                    f"{API_PREFIX}{template or path}",
                    error.status or error.code,
                    delay,
                    attempt + 1,
                    self._max_attempts,
                )
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method: str, url: str, body: bytes | None, content_type: str | None) -> dict[str, Any]:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if content_type:
            headers["Content-Type"] = content_type
        payload = body or b""
        # The body's hash, signed too: the service can check the bytes it received are the ones signed.
        headers["X-Amz-Content-SHA256"] = sha256(payload).hexdigest()
        request = AWSRequest(method=method, url=url, data=payload, headers=headers)
        SigV4Auth(self._frozen_credentials(), SIGNING_SERVICE, self.region).add_auth(request)
        try:
            response = self._http.request(
                method, url, body=payload if body is not None else None, headers=dict(request.headers.items())
            )
        except urllib3.exceptions.HTTPError as error:
            raise MantleError(
                0, "connection_error", f"could not reach {self.endpoint_url} ({type(error).__name__})"
            ) from None
        return _parse_response(response)

    def _frozen_credentials(self) -> ReadOnlyCredentials:
        credentials = self._credentials
        if credentials is None:
            credentials = self._credentials = Session().get_credentials()
        if credentials is None:
            raise MantleError(
                0,
                "no_credentials",
                "no AWS credentials found; configure them (AWS_PROFILE, environment, or a role) and retry",
            )
        if isinstance(credentials, ReadOnlyCredentials):
            return credentials
        return credentials.get_frozen_credentials()


def multipart_body(
    fields: Mapping[str, str], file_field: str, filename: str, data: bytes
) -> tuple[bytes, str]:
    """A complete `multipart/form-data` body and its Content-Type; the boundary never occurs in `data`."""
    boundary = uuid.uuid4().hex
    while boundary.encode() in data:
        boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
    )
    parts.append(data)
    parts.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def safe_filename(filename: str) -> str:
    """`filename` with every run of characters outside letters, digits and `._-` made one hyphen."""
    cleaned = _UNSAFE_FILENAME.sub("-", filename).strip("-")
    return cleaned or "data.jsonl"


def _segment(identifier: str) -> str:
    """An id as one path segment: a `/` or `?` in it cannot reach another path."""
    if not identifier:
        raise ValueError("an empty id names no file or job")
    return quote(str(identifier), safe="")


def _page(limit: int, after: str | None) -> dict[str, Any]:
    return {"limit": int(limit), **({"after": after} if after else {})}


def _backoff(attempt: int, error: MantleError) -> float:
    """Full jitter on an exponential ceiling; a `Retry-After` the service sent sets the least wait."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
    delay = random.uniform(0, ceiling)
    if error.retry_after is not None:
        delay = max(delay, min(BACKOFF_CAP, error.retry_after))
    return delay


def _parse_response(response: urllib3.BaseHTTPResponse) -> dict[str, Any]:
    raw = response.data or b""
    try:
        parsed: Any = json.loads(raw) if raw.strip() else {}
    except ValueError:
        parsed = None
    if 200 <= response.status < 300:
        if not isinstance(parsed, dict):
            raise MantleError(response.status, "invalid_response", "the answer is not a JSON object")
        return parsed
    raise _error_from(response.status, parsed, response.headers)


def _error_from(status: int, parsed: Any, headers: Mapping[str, str]) -> MantleError:
    """The error in any of the shapes the endpoint may use: OpenAI's `{"error": {...}}`, AWS's
    `{"message", "__type"}` / `x-amzn-ErrorType`, or no body at all."""
    detail: Mapping[str, Any] = {}
    if isinstance(parsed, dict):
        inner = parsed.get("error")
        detail = inner if isinstance(inner, dict) else parsed
        if isinstance(inner, str):
            detail = {"message": inner, **{k: v for k, v in parsed.items() if k != "error"}}
    header_type = (headers.get("x-amzn-ErrorType") or "").split(":")[0]
    code = str(
        detail.get("code")
        or detail.get("type")
        or detail.get("__type")
        or header_type
        or _status_code(status)
    ).rsplit("#", 1)[-1]
    message = str(detail.get("message") or detail.get("Message") or f"HTTP {status}")
    param = detail.get("param")
    try:
        retry_after: float | None = float(headers.get("Retry-After") or "")
    except ValueError:
        retry_after = None
    return MantleError(status, code, message, param=str(param) if param else None, retry_after=retry_after)


def _status_code(status: int) -> str:
    return {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}.get(
        status, "throttled" if status == 429 else "server_error" if status >= 500 else f"http_{status}"
    )
