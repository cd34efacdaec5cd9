"""Shared helpers for the data_prep tests (a plain module: tests import it by name)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from data_prep.sources import SAMPLES_DIR

SAMPLE_DIR = SAMPLES_DIR / "gsm8k"


def load_sample(split: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (SAMPLE_DIR / f"{split}.jsonl").read_text().splitlines() if line]


def write_jsonl(path: Path, rows: Iterable[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def gsm8k_rows(source: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """`count` distinct real GSM8K rows (copies of the sample get a numbered question)."""
    rows = []
    for i in range(count):
        row = dict(source[i % len(source)])
        if i >= len(source):
            row["question"] = f"{row['question']} (variant {i})"
        rows.append(row)
    return rows
