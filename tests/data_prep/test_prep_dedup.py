"""Duplicate prompts are dropped before splitting, so no prompt is in two splits (data_prep/dedup.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import data_prep.registry
from data_prep import DataPrepError, PrepOptions, PrepResult, prepare
from data_prep.cli import summary
from data_prep.converters.jsonl_task import PromptReferenceConverter
from data_prep.dedup import drop_duplicates
from tests.data_prep.prep_testing import assert_no_shared_prompts, read_jsonl, variant, write_jsonl


class OwnTask(PromptReferenceConverter):
    """What `rft new-task --from-jsonl` scaffolds: the generic converter with a template."""

    name = "own_task"
    system_prompt = "Answer exactly."
    prompt_template = "{prompt}\n\nEnd with `ANSWER: <answer>`."


@pytest.fixture
def own_task(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setitem(data_prep.registry._TASKS, OwnTask.name, OwnTask())
    yield OwnTask.name


def local(path: Path, **options: Any) -> PrepOptions:
    return PrepOptions(source="local", path=path, progress=False, **options)


def own_rows(start: int, count: int) -> list[dict[str, Any]]:
    return [
        {"prompt": f"What is {i} times {i + 3}?", "reference": str(i * (i + 3))}
        for i in range(start, start + count)
    ]


def ids_of(result: PrepResult, split: str) -> list[str]:
    path = {"train": result.train_path, "validation": result.validation_path, "test": result.test_path}[split]
    return [record["id"] for record in read_jsonl(path)] if path else []


def test_generic_converter_keeps_each_prompt_once_and_test_wins(tmp_path: Path, own_task: str) -> None:
    train, test = own_rows(0, 250), own_rows(1000, 40)
    repeats = [
        {**train[(7 * k) % 250], "prompt": variant(train[(7 * k) % 250]["prompt"], k)} for k in range(29)
    ]
    repeats.append({**train[5], "system": "Another system turn: still the same prompt."})
    in_test = [{**test[k], "prompt": variant(test[k]["prompt"], k), "reference": "stale"} for k in range(12)]
    test_repeats = [{**test[k], "prompt": variant(test[k]["prompt"], k + 1)} for k in range(5)]
    write_jsonl(tmp_path / "src" / "train.jsonl", [*train[:100], *repeats, *train[100:], *in_test])
    write_jsonl(tmp_path / "src" / "test.jsonl", [*test, *test_repeats])

    result = prepare(own_task, tmp_path / "out", local(tmp_path / "src"))

    assert_no_shared_prompts(result)
    stats = result.stats
    assert stats["dropped_duplicates_by_source_split"] == {"train": 30, "test": 5}
    assert stats["dropped_test_overlap_by_source_split"] == {"train": 12, "test": 0}
    assert (stats["dropped_duplicates"], stats["dropped_test_overlap"]) == (35, 12)
    assert stats["splits"] == {"train": 150, "validation": 100, "test": 40}
    # within a split the first copy in source order wins, whatever its wording
    ids = {r for split in ("train", "validation") for r in ids_of(result, split)}
    assert {"own_task-train-00007", "own_task-train-00120"} <= ids  # train[7]; the variant of train[140]
    assert not {"own_task-train-00101", "own_task-train-00170"} & ids  # the variant of train[7]; train[140]
    assert (
        "dropped: 35 rows repeating a prompt (train 30, test 5), 12 rows sharing a prompt with test (train 12)"
        in summary(result)
    )


def test_a_single_file_with_repeated_rows(tmp_path: Path, own_task: str) -> None:
    """The issue's case: 310 rows of which 60 repeat earlier ones; validation is carved from the rest."""
    rows = own_rows(0, 250)
    rows += [
        {**rows[(11 * k) % 250], "prompt": variant(rows[(11 * k) % 250]["prompt"], k)} for k in range(60)
    ]
    result = prepare(own_task, tmp_path / "out", local(write_jsonl(tmp_path / "rows.jsonl", rows)))
    assert_no_shared_prompts(result)
    assert result.stats["dropped_duplicates_by_source_split"] == {"train": 60}
    assert result.stats["splits"] == {"train": 150, "validation": 100, "test": 0}


def test_gsm8k_duplicates_within_and_across_official_splits(
    tmp_path: Path, sample_train, sample_test
) -> None:
    train, validation, test = sample_train[:300], sample_train[300:420], sample_test[:50]

    def again(rows: list[dict[str, Any]], count: int, shift: int = 0) -> list[dict[str, Any]]:
        return [{**rows[k], "question": variant(rows[k]["question"], k + shift)} for k in range(count)]

    write_jsonl(
        tmp_path / "src" / "train.jsonl", [*train, *again(train, 20), *again(validation, 6), *again(test, 5)]
    )
    write_jsonl(
        tmp_path / "src" / "validation.jsonl", [*validation, *again(validation, 2, 1), *again(test, 3, 2)]
    )
    write_jsonl(tmp_path / "src" / "test.jsonl", [*test, *again(test, 4, 3)])

    result = prepare("gsm8k", tmp_path / "out", local(tmp_path / "src"))

    assert_no_shared_prompts(result)
    assert result.stats["dropped_duplicates_by_source_split"] == {"train": 26, "validation": 2, "test": 4}
    assert result.stats["dropped_test_overlap_by_source_split"] == {"train": 5, "validation": 3, "test": 0}
    assert result.stats["splits"] == {"train": 300, "validation": 100, "test": 50}


def test_bundled_outputs_share_no_prompt(tmp_path: Path) -> None:
    for task in ("gsm8k", "finqa", "pandalm"):
        assert_no_shared_prompts(prepare(task, tmp_path / task, PrepOptions(progress=False)))


def test_drop_duplicates_keeps_the_winning_copy_in_source_order() -> None:
    rows = {"train": ["a", "b", "A", "c", "t"], "validation": ["b", "v"], "test": ["t", "T"]}
    kept, dropped = drop_duplicates(rows, keys=lambda row: [row.lower()], leak_key=lambda row: None)
    assert kept == {"train": ["a", "c"], "validation": ["b", "v"], "test": ["t"]}
    assert dropped.duplicates == {"train": 2, "validation": 0, "test": 1}
    assert dropped.test_overlap == {"train": 1, "validation": 0, "test": 0}


def test_a_leak_key_drops_rows_of_a_test_group() -> None:
    rows = {"train": ["x1", "y1", "x2"], "test": ["x9"]}
    kept, dropped = drop_duplicates(rows, keys=lambda row: [row], leak_key=lambda row: row[0])
    assert kept == {"train": ["y1"], "test": ["x9"]}
    assert dropped.test_overlap == {"train": 2, "test": 0}


def test_dedup_is_deterministic(tmp_path: Path, own_task: str) -> None:
    rows = own_rows(0, 250)
    rows += [{**rows[k], "prompt": variant(rows[k]["prompt"], k)} for k in range(0, 250, 5)]
    path = write_jsonl(tmp_path / "rows.jsonl", rows)
    first: PrepResult = prepare(own_task, tmp_path / "a", local(path))
    second = prepare(own_task, tmp_path / "b", local(path))
    assert first.train_path.read_bytes() == second.train_path.read_bytes()
    assert first.stats_path.read_bytes() == second.stats_path.read_bytes()


def test_too_few_distinct_prompts_says_duplicates_were_dropped(tmp_path: Path, own_task: str) -> None:
    rows = own_rows(0, 150)
    rows += [{**row, "prompt": variant(row["prompt"], k)} for k, row in enumerate(rows[:100])]
    with pytest.raises(DataPrepError) as raised:
        prepare(own_task, tmp_path / "out", local(write_jsonl(tmp_path / "rows.jsonl", rows)))
    assert "train would have 50 records, after dropping 100 rows that repeat a prompt" in str(raised.value)
