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
from pathlib import Path
from typing import IO

from rft_eval.responses import Key, Response, response_from_json

from rft.errors import UserError

__all__ = ["Key", "Response", "ResponseCache"]


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
                response = response_from_json(json.loads(line))
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
        self._handle.write(response.line() + "\n")
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
