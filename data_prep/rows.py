"""Raw source rows together with where they came from.

Error messages must point at a file and line, and record ids are built from a row's index in
its *source* split, so both must survive splitting (a validation row carved from train keeps
its `train` id and its train.jsonl line number).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class SourceRows(list[dict[str, Any]]):
    """A plain list of row dicts that also remembers the file and line of each row.

    Loaders may return ordinary lists; readers return this subclass so that messages can name
    `train.jsonl:43` instead of `train[42]`.
    """

    def __init__(self, rows: Iterable[dict[str, Any]], origin: str, lines: list[int] | None = None) -> None:
        super().__init__(rows)
        self.origin = origin
        self.lines = lines

    def locate(self, index: int) -> str:
        if self.lines is not None:
            return f"{self.origin}:{self.lines[index]}"
        return f"{self.origin}[{index}]"


@dataclass(frozen=True, slots=True)
class RawRow:
    """One source row: its data, its official split and index there, and a human locator."""

    data: Mapping[str, Any]
    source_split: str
    index: int
    where: str


def wrap_rows(split: str, rows: list[dict[str, Any]]) -> list[RawRow]:
    """Attach provenance to the rows a converter loaded for `split`."""
    if isinstance(rows, SourceRows):
        return [RawRow(row, split, i, rows.locate(i)) for i, row in enumerate(rows)]
    return [RawRow(row, split, i, f"{split}[{i}]") for i, row in enumerate(rows)]
