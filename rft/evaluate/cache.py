"""The resumable response cache: one JSON line per Converse call, appended and flushed as it lands.

A run that is interrupted (Ctrl-C, a crash, expired credentials) loses at most the calls that were in
flight; rerunning it reads the file back and asks only for what is missing. Lines are keyed by
(model, prompt id, sample index) and carry a fingerprint of what was asked (turns, maxTokens,
temperature), so a changed prompt or setting is asked again instead of silently reusing an answer to
a different question. A failed call is cached too (the report counts it), but a rerun retries it: a
failure was not paid for. The last line wins, and a torn last line from a crash is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from rft.errors import UserError

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


def _response(obj: Any) -> Response | None:
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


class ResponseCache:
    """Append-only JSONL of `Response`s at `path`; `latest` holds the last line for every key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.latest: dict[Key, Response] = {}
        self._handle: IO[str] | None = None
        for response in self._read():
            self.latest[response.key] = response

    def _read(self) -> Iterator[Response]:
        if not self.path.is_file():
            return
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise UserError(
                f"cannot read the response cache {self.path}: {error}; delete it to start over"
            ) from None
        for line in lines:
            try:
                response = _response(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line torn by a crash mid-write: that call is simply asked again
            if response is not None:
                yield response

    def answered(self, key: Key, fingerprint: str) -> Response | None:
        """The cached answer to exactly this question, or None if it must be asked (again)."""
        response = self.latest.get(key)
        if response is None or not response.ok or response.fingerprint != fingerprint:
            return None
        return response

    def current(self, key: Key, fingerprint: str) -> Response | None:
        """The last outcome (answer or error) for this question as asked now."""
        response = self.latest.get(key)
        return response if response is not None and response.fingerprint == fingerprint else None

    def append(self, response: Response) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", encoding="utf-8")
        self._handle.write(json.dumps(asdict(response), ensure_ascii=False) + "\n")
        self._handle.flush()  # on disk before the next call returns: a crash loses nothing paid for
        self.latest[response.key] = response

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
