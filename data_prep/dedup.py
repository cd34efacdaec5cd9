"""One prompt, one place: duplicate prompts are dropped before any split is made.

The rule, the same for every task: two records are duplicates when their user turns are equal
after collapsing whitespace and case-folding (`normalize`). Rows are visited test first, then
validation, then train, each in source order; a row is kept only if none of its prompts has been
kept already, so the test split wins over validation, validation over train, and within a split
the first copy wins. A train or validation row whose prompt is in test is counted as test
overlap, every other dropped row as a duplicate. A converter can widen the rule per row
(`Converter.duplicate_key`, e.g. PandaLM's unordered pair of responses) and the test check
(`Converter.leak_key`, e.g. PandaLM's instruction group), never narrow it.

All records of one row are kept or dropped together, and a row's own records are never compared
with each other, so PandaLM's swapped copy of a pair stays with its original.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

#: Which copy of a duplicate is kept: the earliest split here, then the first row in source order.
PRIORITY: tuple[str, ...] = ("test", "validation", "train")


def normalize(text: str) -> str:
    """Whitespace collapsed and case folded: `What  is\\nIt?` and `what is it?` are one prompt."""
    return " ".join(text.split()).casefold()


def prompt_key(record: Mapping[str, Any]) -> str:
    """A validated record's identity: a digest of its normalized user turns (the system turn and
    the reference do not count, so one question with two system prompts is still one question)."""
    users = (turn["content"] for turn in record["messages"] if turn.get("role") == "user")
    return hashlib.sha256(normalize("\n".join(users)).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Dropped:
    """How many rows were dropped, by source split: repeated prompts, and train/validation rows
    whose prompt (or `leak_key`) is also in test."""

    duplicates: Mapping[str, int]
    test_overlap: Mapping[str, int]


def drop_duplicates(
    rows: Mapping[str, Sequence[T]],
    keys: Callable[[T], Collection[Hashable]],
    leak_key: Callable[[T], Hashable | None],
) -> tuple[dict[str, list[T]], Dropped]:
    """Keep each prompt once, in the split that wins (see the module docstring), source order kept.

    `keys(row)` is every identity of one row (its records' prompt keys, plus any converter key);
    a row is dropped when any of them was already kept. Deterministic: no randomness, no sets
    iterated.
    """
    kept_keys: set[Hashable] = set()
    test_keys: set[Hashable] = set()
    test_leaks: set[Hashable] = set()
    kept: dict[str, list[T]] = {split: [] for split in rows}
    duplicates = dict.fromkeys(rows, 0)
    overlap = dict.fromkeys(rows, 0)
    order = [split for split in PRIORITY if split in rows] + [s for s in rows if s not in PRIORITY]
    for split in order:
        is_test = split == "test"
        for row in rows[split]:
            row_keys = set(keys(row))
            leak = leak_key(row)
            if not is_test and (
                not row_keys.isdisjoint(test_keys) or (leak is not None and leak in test_leaks)
            ):
                overlap[split] += 1
            elif not row_keys.isdisjoint(kept_keys):
                duplicates[split] += 1
            else:
                kept[split].append(row)
                kept_keys |= row_keys
                if is_test:
                    test_keys |= row_keys
                    if leak is not None:
                        test_leaks.add(leak)
    return kept, Dropped(duplicates, overlap)
