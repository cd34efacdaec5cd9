"""SigV4 verification for the emulated mantle endpoint: a request is answered only when it is signed
with the emulator's credentials for service `bedrock-mantle`, over the exact bytes it carries.

The signature is recomputed with botocore's own SigV4 signer (the canonical request over the signed
headers only, the request's own timestamp), so any client that signs the way botocore does (the job
function's `MantleClient`, `SigV4Auth` in a test, the AWS SDKs) is accepted, and a request whose
method, path, query, signed headers or body changed after signing is refused. The service and the
region come from the credential scope: a request scoped to `bedrock` (a known client mistake, see
docs/open-weight.md) is refused the way AWS refuses it, naming the service it wanted.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.auth import SIGV4_TIMESTAMP, UNSIGNED_PAYLOAD, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "bedrock-mantle"
ALGORITHM = "AWS4-HMAC-SHA256"
# AWS refuses a signed request whose timestamp is more than five minutes from its own clock.
MAX_SKEW_S = 300

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


class SignatureError(Exception):
    """Why a request is refused with 403: `code` is the AWS exception name, `message` says the fix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Caller:
    """Who signed the request, and for which region (the credential scope)."""

    access_key_id: str
    region: str


def verify(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    access_key_id: str,
    secret_access_key: str,
    now: datetime | None = None,
) -> Caller:
    """The signer, when the request is signed by `access_key_id` for `bedrock-mantle`; else SignatureError."""
    lowered = {name.lower(): value for name, value in headers.items()}
    authorization = lowered.get("authorization", "")
    if not authorization:
        raise SignatureError(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token: sign the request with SigV4 for service 'bedrock-mantle'",
        )
    if authorization.lower().startswith("bearer "):
        raise SignatureError(
            "AccessDeniedException",
            "local_aws verifies SigV4 only: sign the request for service 'bedrock-mantle' instead of "
            "sending a bearer API key",
        )
    match = _AUTHORIZATION.match(authorization)
    if match is None:
        raise SignatureError(
            "IncompleteSignatureException",
            f"Authorization header is not {ALGORITHM} Credential=..., SignedHeaders=..., Signature=...",
        )
    parts = match["credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise SignatureError(
            "IncompleteSignatureException",
            "Credential must be <access key>/<yyyymmdd>/<region>/<service>/aws4_request",
        )
    key_id, scope_date, region, service, _ = parts
    if key_id != access_key_id:
        raise SignatureError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    if service != SERVICE:
        raise SignatureError(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{SERVICE}' (the request was signed for "
            f"'{service}')",
        )
    amz_date = lowered.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(amz_date, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError(
            "IncompleteSignatureException", "X-Amz-Date is missing or not yyyymmddThhmmssZ"
        ) from None
    if scope_date != amz_date[:8]:
        raise SignatureError(
            "InvalidSignatureException",
            f"Credential date {scope_date} does not match X-Amz-Date {amz_date}",
        )
    current = now or datetime.now(UTC)
    if abs((current - signed_at).total_seconds()) > MAX_SKEW_S:
        raise SignatureError(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is more than {MAX_SKEW_S // 60} minutes from "
            f"{current.strftime(SIGV4_TIMESTAMP)}",
        )
    signed_names = match["signed"].split(";")
    if "host" not in signed_names:
        raise SignatureError("InvalidSignatureException", "SignedHeaders must include host")
    missing = [name for name in signed_names if name not in lowered]
    if missing:
        raise SignatureError(
            "InvalidSignatureException", f"signed header(s) {', '.join(missing)} are not in the request"
        )
    content_hash = lowered.get("x-amz-content-sha256")
    if content_hash and content_hash != UNSIGNED_PAYLOAD and content_hash != hashlib.sha256(body).hexdigest():
        raise SignatureError(
            "InvalidSignatureException", "X-Amz-Content-SHA256 does not match the request body"
        )

    request = AWSRequest(method=method, url=url, data=body, headers={n: lowered[n] for n in signed_names})
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(access_key_id, secret_access_key), SERVICE, region)
    if signer.signed_headers(signer.headers_to_sign(request)) != match["signed"]:
        raise SignatureError("InvalidSignatureException", "SignedHeaders are not lower-case and sorted")
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, match["signature"]):
        raise SignatureError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your "
            "AWS Secret Access Key and signing method.",
        )
    return Caller(access_key_id=key_id, region=region)
