"""The prompts of a data_prep JSONL file: the turns to send and the reference the reward checks.

A record is `{"id", "messages": [{role, content}], "reference_answer"}`, the same line the job
trains on; only its system and user turns are sent. Read from a local file by `rft evaluate` and from
the test-data asset in S3 by the workflow, so both ask exactly the same questions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rft_eval.input_errors import EvalInputError


@dataclass(frozen=True)
class Prompt:
    """One data_prep record's prompt: its id, the turns to send, and the reference the reward checks."""

    id: str
    turns: tuple[dict[str, Any], ...]  # data_prep's {role, content}: system and user turns
    reference: Any

    @property
    def system(self) -> list[dict[str, str]]:
        return [{"text": t["content"]} for t in self.turns if t.get("role") == "system"]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [
            {"role": t["role"], "content": [{"text": t["content"]}]}
            for t in self.turns
            if t.get("role") in ("user", "assistant")
        ]

    @property
    def chars(self) -> int:
        return sum(len(str(t.get("content", ""))) for t in self.turns)

    @property
    def user_text(self) -> str:
        return "\n\n".join(m["content"][0]["text"] for m in self.messages)


def parse_prompts(lines: Iterable[str], source: str, limit: int | None = None) -> list[Prompt]:
    """The prompts of data_prep JSONL `lines`; a bad line is an `EvalInputError` naming `source:line`."""
    prompts: list[Prompt] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise EvalInputError(f"{source}:{number}: not valid JSON ({error.msg})") from None
        messages = record.get("messages") if isinstance(record, dict) else None
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages
        ):
            raise EvalInputError(
                f"{source}:{number}: expected a data_prep record with 'messages' [{{role, content}}]"
            )
        turns = tuple(m for m in messages if m.get("role") in ("system", "user"))
        if not any(m.get("role") == "user" for m in turns):
            raise EvalInputError(f"{source}:{number}: the record has no user turn to send")
        prompt_id = str(record.get("id") if record.get("id") is not None else f"line-{number}")
        if prompt_id in seen:
            raise EvalInputError(f"{source}:{number}: prompt id {prompt_id!r} is repeated")
        seen.add(prompt_id)
        prompts.append(Prompt(prompt_id, turns, record.get("reference_answer")))
        if limit is not None and len(prompts) >= limit:
            break
    if not prompts:
        raise EvalInputError(f"{source} has no records")
    return prompts
