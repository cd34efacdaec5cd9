"""Rollouts: model responses to rehearse a reward on, and the Bedrock batch samples built from them.

A rollout is one generated response to one prompt, with the reference the reward checks it against
and, when known, a label saying whether it deserves the reward. Rollouts of one prompt share a
`prompt_id`: they are the group GRPO compares, so a group whose samples all score the same teaches
nothing.

Users bring their own as JSONL, one object per line:
`{"prompt_id": ..., "response": "...", "reference": ..., "label": true|false (optional),
"prompt": "..." or "messages": [...] (optional), "id": ... (optional)}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rft_eval.scoring import bedrock_sample

from rft.errors import UserError

PLACEHOLDER_PROMPT = "(prompt not given in the responses file)"
_LABEL_WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


@dataclass(frozen=True)
class Rollout:
    """One response to rehearse. `label`: True when it deserves the reward, None when unknown.

    `variant` names where the response came from (a model, or a FinQA answer variant) so the report
    can break scores down by it.
    """

    sample_id: str
    prompt_id: str
    prompt: list[dict[str, Any]]
    response: str
    reference: Any
    label: bool | None = None
    variant: str | None = None


def to_bedrock_sample(rollout: Rollout) -> dict[str, Any]:
    """The sample Bedrock sends the reward Lambda: prompt turns, the generated turn last, the reference."""
    return bedrock_sample(rollout.sample_id, rollout.prompt, rollout.response, rollout.reference)


def prompt_groups(rollouts: Iterable[Rollout]) -> dict[str, list[Rollout]]:
    groups: dict[str, list[Rollout]] = {}
    for rollout in rollouts:
        groups.setdefault(rollout.prompt_id, []).append(rollout)
    return groups


def first(rollouts: Sequence[Rollout], n: int | None) -> list[Rollout]:
    if n is not None and n < 1:
        raise UserError(f"--n must be at least 1, got {n}")
    return list(rollouts if n is None else rollouts[:n])


def _label(value: Any, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _LABEL_WORDS:
        return _LABEL_WORDS[value.strip().lower()]
    raise UserError(f"{where}: 'label' must be true/false (or 1/0), got {value!r}")


def _prompt(obj: dict[str, Any], where: str) -> list[dict[str, Any]]:
    messages = obj.get("messages")
    if messages is not None:
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise UserError(f"{where}: 'messages' must be a list of {{role, content}} objects")
        return messages
    prompt = obj.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise UserError(f"{where}: 'prompt' must be a string (or give 'messages')")
    return [{"role": "user", "content": prompt or PLACEHOLDER_PROMPT}]


def parse_response_line(obj: Any, line_no: int, path: Path) -> Rollout:
    where = f"{path}:{line_no}"
    if not isinstance(obj, dict):
        raise UserError(f"{where}: each line must be a JSON object with prompt_id, response and reference")
    missing = [key for key in ("prompt_id", "response", "reference") if key not in obj]
    if missing:
        raise UserError(
            f"{where}: missing {', '.join(missing)} (each line needs prompt_id, response, reference)"
        )
    if not isinstance(obj["response"], str):
        raise UserError(f"{where}: 'response' must be a string")
    sample_id = obj.get("id")
    return Rollout(
        sample_id=str(sample_id) if sample_id is not None else f"line-{line_no}",
        prompt_id=str(obj["prompt_id"]),
        prompt=_prompt(obj, where),
        response=obj["response"],
        reference=obj["reference"],
        label=_label(obj.get("label"), where),
        variant=str(obj["variant"]) if obj.get("variant") is not None else None,
    )


def read_responses_file(path: Path) -> list[Rollout]:
    """The user's own rollouts; any problem is reported with its file and line."""
    if not path.is_file():
        raise UserError(f"responses file not found: {path}")
    rollouts: list[Rollout] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read {path}: {error}") from None
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserError(f"{path}:{line_no}: not valid JSON ({error.msg})") from None
        rollouts.append(parse_response_line(obj, line_no, path))
    if not rollouts:
        raise UserError(
            f"{path} has no rollouts (expected JSONL: one {{prompt_id, response, reference}} per line)"
        )
    ids = [r.sample_id for r in rollouts]
    if len(set(ids)) != len(ids):
        raise UserError(f"{path}: sample ids must be unique ('id' is repeated)")
    return rollouts
