"""The RFT record rules, checked on every record before any file is written.

Bedrock validates a job's data only after the job starts (and bills for it), and a bad record
fails the whole job late. Checking here turns those late failures into an immediate message at
synth time that names the records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from data_prep.errors import Problem

#: Bedrock RFT's limits on the number of records in the training and the validation set.
MIN_RECORDS = 100
MAX_RECORDS = 20_000
ASSISTANT_ROLES = frozenset({"assistant", "nova_assistant"})
PROMPT_SHAPES = (["user"], ["system", "user"])


@dataclass(frozen=True)
class Rule:
    text: str
    fix: str


RECORD_OBJECT = Rule("a record is a JSON object", "make to_records return a list of dicts")
TURN_SHAPE = Rule(
    "messages is an optional leading system turn followed by exactly one user turn",
    "make to_records emit [system?, user] turns only",
)
NO_ASSISTANT = Rule(
    "no assistant turn (the policy writes the response during training)",
    "remove assistant turns; put the expected answer in reference_answer instead",
)
CONTENT = Rule(
    "every turn's content is a non-empty string (RFT is text only)",
    "drop or complete the rows whose prompt text is empty",
)
REFERENCE = Rule(
    "every record has a non-empty reference_answer (the reward compares against it)",
    "drop the rows that have no gold answer, or fill it in",
)
RECORD_ID = Rule(
    "every record has a non-empty string id, unique across all splits",
    "derive ids from Converter.row_id(row) and add a distinct suffix per record of a row",
)
STRICT_JSON = Rule(
    "a record is strict JSON (no NaN/Infinity, only JSON types)",
    "replace NaN/Infinity and non-JSON values in to_records (e.g. NaN input -> empty string)",
)


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (dict, list, tuple)):
        return len(value) == 0
    return False


def broken_rules(record: Any) -> list[Rule]:
    """The schema rules `record` breaks (empty when it is a valid RFT record)."""
    if not isinstance(record, dict):
        return [RECORD_OBJECT]
    broken: list[Rule] = []
    messages = record.get("messages")
    if not isinstance(messages, list) or not all(isinstance(turn, dict) for turn in messages):
        broken.append(TURN_SHAPE)
    else:
        roles = [turn.get("role") for turn in messages]
        if any(role in ASSISTANT_ROLES for role in roles):
            broken.append(NO_ASSISTANT)
        elif roles not in PROMPT_SHAPES:
            broken.append(TURN_SHAPE)
        if any(not isinstance(turn.get("content"), str) or not turn["content"].strip() for turn in messages):
            broken.append(CONTENT)
    if _is_empty(record.get("reference_answer")):
        broken.append(REFERENCE)
    record_id = record.get("id")
    if not isinstance(record_id, str) or not record_id.strip():
        broken.append(RECORD_ID)
    return broken


def prompt_chars(record: Mapping[str, Any]) -> int:
    return sum(len(turn["content"]) for turn in record["messages"] if isinstance(turn.get("content"), str))


def estimate_tokens(chars: int, chars_per_token: float) -> int:
    """A deliberately pessimistic token count: rejecting early is cheap, a late job failure is not."""
    return math.ceil(chars / chars_per_token)


def overlong_rule(limit: int, chars_per_token: float) -> Rule:
    return Rule(
        f"every prompt fits max_prompt_tokens={limit} (estimated as ceil(prompt characters / {chars_per_token:g}))",
        "raise maxPromptLength in cdk.json (the job's hyperparameter; CLI --max-prompt-tokens), "
        "or drop the over-long records with on_overlong='drop' (CLI --on-overlong drop)",
    )


def count_problems(counts: Mapping[str, int], duplicates: int = 0) -> list[Problem]:
    """Bedrock's record-count limits: train always, validation only when one is given.

    `duplicates` (rows dropped for repeating a prompt) is named in the message: a file that
    looks big enough may hold too few distinct prompts.
    """
    problems = []
    after = f", after dropping {duplicates:,} rows that repeat a prompt" if duplicates else ""
    train = counts.get("train", 0)
    if not MIN_RECORDS <= train <= MAX_RECORDS:
        fix = (
            "provide more training rows or lower validation_size (--validation-size)"
            if train < MIN_RECORDS
            else f"cap the training set with max_train_records (--max-train {MAX_RECORDS})"
        )
        problems.append(
            Problem(
                f"the training set has {MIN_RECORDS:,}-{MAX_RECORDS:,} records (Bedrock RFT limit)",
                (f"train would have {train:,} records{after}",),
                fix,
                "split",
            )
        )
    validation = counts.get("validation", 0)
    if validation and not MIN_RECORDS <= validation <= MAX_RECORDS:
        problems.append(
            Problem(
                f"a validation set, when given, has {MIN_RECORDS:,}-{MAX_RECORDS:,} records (Bedrock RFT limit)",
                (f"validation would have {validation:,} records{after}",),
                f"use at least {MIN_RECORDS} validation rows (validation_size / --validation-size, or a larger "
                "validation file), or validation_size=0 for no validation set",
                "split",
            )
        )
    return problems
