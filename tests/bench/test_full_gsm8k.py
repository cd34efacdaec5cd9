"""The full-size GSM8K the data_prep benchmark generates from the bundled sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.bench_data_prep import FULL_SIZES, expand, perturbed, question_key, write_full_gsm8k
from data_prep import PrepOptions, prepare
from data_prep.converters.gsm8k import final_answer


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_full_gsm8k(tmp_path_factory.mktemp("gsm8k"))


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_it_has_gsm8ks_sizes_and_every_question_is_unique_across_both_splits(full: dict[str, Path]) -> None:
    splits = {split: rows(path) for split, path in full.items()}
    assert {split: len(r) for split, r in splits.items()} == {"train": 7_473, "test": 1_319} == FULL_SIZES
    keys = [question_key(row["question"]) for r in splits.values() for row in r]
    assert len(set(keys)) == len(keys)
    assert all(final_answer(row["answer"]) is not None for r in splits.values() for row in r)


def test_it_is_the_same_bytes_every_time(full: dict[str, Path], tmp_path: Path) -> None:
    again = write_full_gsm8k(tmp_path)
    assert all(again[split].read_bytes() == full[split].read_bytes() for split in full)


def test_copies_shift_the_numbers_and_mark_questions_without_any() -> None:
    assert perturbed("She has 3 cats and 12 dogs.", 0) == "She has 3 cats and 12 dogs."
    assert perturbed("She has 3 cats and 12 dogs.", 2) == "She has 5 cats and 14 dogs."
    assert (
        perturbed("How many legs does a spider have?", 1) == "How many legs does a spider have? (variant 1)"
    )


def test_a_copy_that_clashes_with_an_earlier_question_shifts_further() -> None:
    seen = {question_key("Tom has  2 apples.")}  # copy 1 of the row below would read like this
    copies = list(expand([{"question": "Tom has 1 apples.", "answer": "#### 1"}], 2, seen))
    assert [c["question"] for c in copies] == ["Tom has 1 apples.", "Tom has 3 apples."]


def test_data_prep_keeps_every_row(full: dict[str, Path], tmp_path: Path) -> None:
    """The benchmark times the whole pipeline on all rows: none may be dropped as a leak or a misfit."""
    result = prepare(
        "gsm8k", tmp_path / "out", PrepOptions(source="local", path=full["train"].parent, progress=False)
    )
    stats = result.stats
    assert stats["splits"]["train"] + stats["splits"]["validation"] == 7_473
    assert stats["splits"]["test"] == 1_319
    assert (stats["dropped_test_overlap"], stats["dropped_overlong"], stats["skipped_rows"]) == (0, 0, 0)
