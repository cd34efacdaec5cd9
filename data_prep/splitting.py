"""Seeded, group-aware carving of one split out of another.

Rows are carved by *group*: every row sharing a group key goes to the same side. For GSM8K a
group is one row; for PandaLM it is every row about the same instruction and pair, so the
held-out side never sees a prompt the other side trained on. Both sides keep source order, so
the files read like the source and diff cleanly between runs.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

T = TypeVar("T")


def carve(
    rows: Sequence[T],
    size: int,
    seed: int,
    group_key: Callable[[T], Hashable] | None = None,
) -> tuple[list[T], list[T]]:
    """Split `rows` into (kept, carved) with at most `size` rows carved, whole groups only.

    Groups are visited in a seeded random order and taken while they fit, so the carved side
    has exactly `size` rows whenever single-row groups allow it.
    """
    if size <= 0 or not rows:
        return list(rows), []
    groups: dict[Hashable, list[int]] = {}
    for index, row in enumerate(rows):
        key = group_key(row) if group_key is not None else index
        groups.setdefault(key, []).append(index)
    order = list(groups.values())
    random.Random(seed).shuffle(order)
    carved: set[int] = set()
    for members in order:
        if len(carved) >= size:
            break
        if len(carved) + len(members) <= size:
            carved.update(members)
    kept = [row for i, row in enumerate(rows) if i not in carved]
    taken = [row for i, row in enumerate(rows) if i in carved]
    return kept, taken


def subsample(
    rows: Sequence[T], size: int, seed: int, group_key: Callable[[T], Hashable] | None = None
) -> list[T]:
    """Keep at most `size` rows (whole groups, seeded choice, source order)."""
    if len(rows) <= size:
        return list(rows)
    return carve(rows, size, seed, group_key)[1]
