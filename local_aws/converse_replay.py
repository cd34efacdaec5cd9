"""Converse offline, by replaying recorded model outputs: real GSM8K solutions, not a live model.

The repository bundles 1,600 solutions that four GPT-3 models (6B and 175B, fine-tuned, and
verifier-ranked) wrote for the first 400 GSM8K test questions, each labeled correct or not by
GSM8K's authors (`rft/samples/gsm8k_solutions.jsonl`, MIT; see `rft/samples/README.md`). Each
replayed model id stands for one of those models: `replay.gsm8k-6b-finetuning`,
`replay.gsm8k-6b-verification`, `replay.gsm8k-175b-finetuning`, `replay.gsm8k-175b-verification`.

The file is read by path (the emulator never imports `rft`), and nothing about it is copied here:
its responses already end with the `#### N` line the GSM8K prompt asks for (the bundle's builder,
`rft/samples/make_samples.py`, rewrote each final `A: N` line once), so a reply is the recorded
text exactly. A prompt is matched to its question by the text of its last user turn, whitespace
normalized: the GSM8K prompt is the question followed by the format instruction, so the question
whose text the turn contains is the one asked. A prompt with no recorded solution is refused with a
ValidationException saying so; nothing is ever made up. Sampling settings (temperature, maxTokens)
cannot change a recording: every call for a question returns the same solution.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOLUTIONS = Path(__file__).resolve().parent.parent / "rft" / "samples" / "gsm8k_solutions.jsonl"
MODEL_PREFIX = "replay.gsm8k-"
# Replies carry a usage block because callers total it; a recording has no token counts, so these are
# estimates (characters / 4, rounded up), and the latency is 0: nothing was generated.
CHARS_PER_TOKEN = 4
# What the post-training evaluation's two models replay on the emulator: the base model of an emulated
# job answers as GPT-3 6B (verifier-ranked), a custom model deployment of its output model as GPT-3
# 175B (verifier-ranked), so "tuned vs base" is a replay of two real, labeled sets of outputs.
BASE_MODEL_REPLAY = "replay.gsm8k-6b-verification"
TUNED_MODEL_REPLAY = "replay.gsm8k-175b-verification"


class ReplayRefused(Exception):
    """The request names a replayed model but cannot be answered from the recordings."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def model_id(model: str) -> str:
    """The Converse model id standing for a recorded model: `6b_finetuning` -> `replay.gsm8k-6b-finetuning`."""
    return MODEL_PREFIX + model.replace("_", "-")


def normalize(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Recordings:
    """The recorded solutions: model id -> normalized question -> solution text."""

    solutions: Mapping[str, Mapping[str, str]]
    questions: tuple[str, ...]  # normalized, longest first, so a question inside another cannot win

    def model_ids(self) -> list[str]:
        return sorted(self.solutions)

    def question_in(self, prompt: str) -> str | None:
        text = normalize(prompt)
        return next((question for question in self.questions if question in text), None)


@functools.cache
def recordings(path: Path = SOLUTIONS) -> Recordings:
    solutions: dict[str, dict[str, str]] = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                row = json.loads(line)
                solutions.setdefault(model_id(row["model"]), {})[normalize(row["question"])] = row["response"]
    questions = {question for by_question in solutions.values() for question in by_question}
    return Recordings(solutions, tuple(sorted(questions, key=len, reverse=True)))


def is_replayed(model: str) -> bool:
    return model.startswith(MODEL_PREFIX)


def _last_user_text(request: Mapping[str, Any]) -> str:
    users = [m for m in request.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        return ""
    blocks = users[-1].get("content") or []
    return "\n".join(b["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str))


def _tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def converse(model: str, request: Mapping[str, Any], path: Path = SOLUTIONS) -> dict[str, Any]:
    """The Converse response for a replayed model id; ReplayRefused when no recording answers it."""
    try:
        recorded = recordings(path)
    except (OSError, ValueError, KeyError) as error:
        raise ReplayRefused(
            f"the local_aws replay cannot read its recorded solutions {path} ({error}); restore rft/samples/"
        ) from None
    by_question = recorded.solutions.get(model)
    if by_question is None:
        raise ReplayRefused(
            f"{model} is not a replayed model; the local_aws emulator replays {', '.join(recorded.model_ids())}"
        )
    prompt = _last_user_text(request)
    question = recorded.question_in(prompt)
    if question is None:
        start = normalize(prompt)[:80] or "(no user text)"
        raise ReplayRefused(
            f"{model} is a replay of recorded GSM8K solutions, not a live model, and has no recorded "
            f"solution for this prompt (it knows the {len(recorded.questions)} GSM8K test questions in "
            f"rft/samples/gsm8k_solutions.jsonl); the last user turn begins: {start!r}"
        )
    solution = by_question[question]
    system = " ".join(b.get("text", "") for b in request.get("system") or [] if isinstance(b, dict))
    input_tokens, output_tokens = _tokens(system + prompt), _tokens(solution)
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": solution}]}},
        "stopReason": "end_turn",
        "usage": {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
        },
        "metrics": {"latencyMs": 0},
    }
