"""Shared helpers for the data_prep tests (a plain module: tests import it by name)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from data_prep.options import PrepResult
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


def user_prompts(result: PrepResult) -> dict[str, list[str]]:
    """Each split's user turns, whitespace collapsed and case folded (the documented dedup rule)."""
    paths = {"train": result.train_path, "validation": result.validation_path, "test": result.test_path}
    return {
        split: [
            " ".join(" ".join(t["content"] for t in r["messages"] if t["role"] == "user").split()).casefold()
            for r in (read_jsonl(path) if path else [])
        ]
        for split, path in paths.items()
    }


def assert_no_shared_prompts(result: PrepResult) -> None:
    """No prompt twice in a split, none in two splits."""
    prompts = user_prompts(result)
    for split, texts in prompts.items():
        assert len(set(texts)) == len(texts), f"duplicate prompts within {split}"
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        assert not set(prompts[a]) & set(prompts[b]), f"prompts shared by {a} and {b}"


def variant(text: str, k: int) -> str:
    """The same prompt written differently: extra spacing, upper case or a trailing newline."""
    return ("  " + text.replace(" ", "   "), text.upper(), text + "\n\n", text.swapcase())[k % 4]
