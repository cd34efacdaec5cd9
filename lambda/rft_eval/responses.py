"""One Converse call's outcome, and the JSON line it is kept as (the response cache, a shard file).

The line's names are an interface: `rft evaluate`'s resumable cache and the workflow's shard files
both hold them, and `rft evaluate --from-s3` reads the shards back.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

Key = tuple[str, str, int]  # (model, prompt id, sample index)


@dataclass(frozen=True)
class Response:
    """One Converse call's outcome: `text` when it answered, `error` (a reason) when it did not."""

    model: str
    prompt_id: str
    sample: int
    fingerprint: str
    text: str | None = None
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float | None = None  # Bedrock's metrics.latencyMs, else the measured wall time
    stop_reason: str | None = None
    attempts: int = 1

    @property
    def key(self) -> Key:
        return (self.model, self.prompt_id, self.sample)

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False)


def response_from_json(obj: Any) -> Response | None:
    """A `Response` from its JSON object, or None when the object is not one (a torn or foreign line)."""
    if not isinstance(obj, dict):
        return None
    try:
        return Response(
            model=str(obj["model"]),
            prompt_id=str(obj["prompt_id"]),
            sample=int(obj["sample"]),
            fingerprint=str(obj["fingerprint"]),
            text=obj.get("text"),
            error=obj.get("error"),
            input_tokens=int(obj.get("input_tokens") or 0),
            output_tokens=int(obj.get("output_tokens") or 0),
            latency_ms=obj.get("latency_ms"),
            stop_reason=obj.get("stop_reason"),
            attempts=int(obj.get("attempts") or 1),
        )
    except (KeyError, TypeError, ValueError):
        return None
