"""What the emulated models "say": recorded outputs, never generated ones.

Two sources, both labelled wherever they are used:
- **Recorded GSM8K solutions** (`local_aws/converse_replay.py`'s recordings of four GPT-3 models on
  the first 400 GSM8K test questions): the tuned model replays the 175B verifier-ranked model, the
  base models the 175B fine-tuned one, and a checkpoint the model its step stands for (weaker early,
  stronger late). Chat completions are answered from these only; an unrecorded prompt is refused.
- **A training row's own reference answer**, for the training rollouts the grader scores: the
  uploaded training file is a train split, and the recordings are of test questions, so most training
  prompts have no recording. The reward Lambda then scores the row's reference as the response, which
  checks the input shape end to end (a reward that cannot find the reference scores 0).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from local_aws import converse_replay

# The recorded models, weakest first: an emulated checkpoint at step s of n replays this list's entry
# at the same fraction of training.
SCHEDULE = (
    "replay.gsm8k-6b-finetuning",
    "replay.gsm8k-6b-verification",
    "replay.gsm8k-175b-finetuning",
    "replay.gsm8k-175b-verification",
)
TUNED_MODEL_REPLAY = "replay.gsm8k-175b-verification"
BASE_MODEL_REPLAY = "replay.gsm8k-175b-finetuning"
CHARS_PER_TOKEN = converse_replay.CHARS_PER_TOKEN
REPLAY_NOTE = "local_aws replay of recorded outputs, not a live model"


def scheduled_model(step: int, total_steps: int) -> str:
    """The recorded model that step `step` (1-based) of `total_steps` stands for."""
    if total_steps <= 1:
        return SCHEDULE[-1]
    return SCHEDULE[round((step - 1) * (len(SCHEDULE) - 1) / (total_steps - 1))]


def message_text(message: Mapping[str, Any]) -> str:
    """An OpenAI chat message's text: a string, or the text parts of a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def last_user_text(messages: Sequence[Any]) -> str:
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return message_text(users[-1]) if users else ""


def recorded_solution(replay_model: str, messages: Sequence[Any]) -> str | None:
    """The recorded solution of `replay_model` to the question the last user turn asks, if any."""
    recorded = converse_replay.recordings()
    question = recorded.question_in(last_user_text(messages))
    if question is None:
        return None
    return recorded.solutions.get(replay_model, {}).get(question)


def reference_text(reference: Any) -> str:
    """A reference answer as response text: a string as is, `text`/`solution` of an object, else its JSON."""
    if isinstance(reference, str):
        return reference
    if isinstance(reference, dict):
        for key in ("text", "solution"):
            if isinstance(reference.get(key), str):
                return str(reference[key])
    return json.dumps(reference, sort_keys=True)


def tokens(text: str) -> int:
    """An estimate (characters / 4, rounded up): a recording has no token counts."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)
