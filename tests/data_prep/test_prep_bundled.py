"""prepare("gsm8k") on the bundled sample: counts, record schema, split hygiene, determinism."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from data_prep import PrepOptions, PrepResult, prepare
from data_prep.converters.gsm8k import SYSTEM_PROMPT
from data_prep.validation import estimate_tokens
from tests.data_prep.prep_testing import read_jsonl

QUIET = PrepOptions(progress=False)
FILES = ("train.jsonl", "validation.jsonl", "test.jsonl", "stats.json")


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> PrepResult:
    return prepare("gsm8k", tmp_path_factory.mktemp("bundled"), QUIET)


def test_counts_follow_the_official_splits(bundled: PrepResult) -> None:
    assert bundled.stats["splits"] == {"train": 900, "validation": 100, "test": 200}
    assert bundled.stats["source_rows"] == {"train": 1000, "test": 200}
    assert len(read_jsonl(bundled.train_path)) == 900
    assert bundled.validation_path is not None and len(read_jsonl(bundled.validation_path)) == 100
    assert bundled.test_path is not None and len(read_jsonl(bundled.test_path)) == 200


def test_stats_file_matches_the_result(bundled: PrepResult) -> None:
    import json

    on_disk = json.loads(bundled.stats_path.read_text())
    assert on_disk == bundled.stats
    assert on_disk["task"] == "gsm8k" and on_disk["source"] == "bundled"
    assert on_disk["dropped_overlong"] == 0
    assert set(on_disk["prompt_tokens"]) == {"min", "median", "p95", "max", "limit"}
    assert on_disk["prompt_tokens"]["limit"] == 512


def test_every_record_is_a_valid_gsm8k_rft_record(bundled: PrepResult, sample_train, sample_test) -> None:
    golds = {("train", i): row for i, row in enumerate(sample_train)}
    golds |= {("test", i): row for i, row in enumerate(sample_test)}
    for split, path in (
        ("train", bundled.train_path),
        ("validation", bundled.validation_path),
        ("test", bundled.test_path),
    ):
        for record in read_jsonl(path):
            assert set(record) == {"id", "messages", "reference_answer"}
            match = re.fullmatch(r"gsm8k-(train|test)-(\d{5})", record["id"])
            assert match, record["id"]
            source_split = "test" if split == "test" else "train"
            assert match.group(1) == source_split  # validation is carved from train only
            gold = golds[(source_split, int(match.group(2)))]
            system, user = record["messages"]
            assert system == {"role": "system", "content": SYSTEM_PROMPT}
            assert user["role"] == "user"
            assert user["content"].startswith(gold["question"].strip())
            assert "#### <number>" in user["content"] and "step by step" in user["content"]
            assert record["reference_answer"] == {
                "final_answer": gold["answer"].rsplit("#### ", 1)[1].strip(),
                "solution": gold["answer"],
            }


def _questions(path: Path | None) -> set[str]:
    assert path is not None
    return {record["messages"][1]["content"] for record in read_jsonl(path)}


def test_splits_are_disjoint_and_lose_nothing(bundled: PrepResult) -> None:
    train, validation, test = (
        _questions(bundled.train_path),
        _questions(bundled.validation_path),
        _questions(bundled.test_path),
    )
    assert not test & (train | validation)
    assert not train & validation
    assert len(train | validation) == 1000


def test_prompt_token_stats_are_recomputable(bundled: PrepResult) -> None:
    tokens = sorted(
        estimate_tokens(sum(len(m["content"]) for m in record["messages"]), 3.0)
        for path in (bundled.train_path, bundled.validation_path, bundled.test_path)
        for record in read_jsonl(path)
    )
    stats = bundled.stats["prompt_tokens"]
    assert (stats["min"], stats["max"]) == (tokens[0], tokens[-1])
    assert stats["max"] <= stats["limit"]


def test_two_runs_give_byte_identical_files(bundled: PrepResult, tmp_path: Path) -> None:
    again = prepare("gsm8k", tmp_path, QUIET)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (bundled.out_dir / name).read_bytes(), name
    raw = bundled.train_path.read_bytes()
    assert b"\r" not in raw and raw.endswith(b"}\n")
    assert again.stats == bundled.stats


def test_rerun_does_not_touch_unchanged_files(tmp_path: Path) -> None:
    first = prepare("gsm8k", tmp_path, QUIET)
    assert {p.name for p in first.written} == set(FILES)
    past = 1_000_000_000
    for name in FILES:
        os.utime(tmp_path / name, (past, past))
    second = prepare("gsm8k", tmp_path, QUIET)
    assert second.written == ()
    assert all((tmp_path / name).stat().st_mtime == past for name in FILES)


def test_seed_changes_the_validation_choice_only(bundled: PrepResult, tmp_path: Path) -> None:
    other = prepare("gsm8k", tmp_path, PrepOptions(seed=14, progress=False))
    assert other.stats["splits"] == bundled.stats["splits"]
    assert _questions(other.validation_path) != _questions(bundled.validation_path)
    assert other.test_path is not None and other.test_path.read_bytes() == bundled.test_path.read_bytes()


def test_validation_size_zero_removes_a_stale_validation_file(tmp_path: Path) -> None:
    prepare("gsm8k", tmp_path, QUIET)
    result = prepare("gsm8k", tmp_path, PrepOptions(validation_size=0, progress=False))
    assert result.validation_path is None
    assert not (tmp_path / "validation.jsonl").exists()
    assert result.stats["splits"]["train"] == 1000
    assert "validation" not in result.stats["files"]


def test_max_train_records_takes_a_seeded_subset(bundled: PrepResult, tmp_path: Path) -> None:
    capped = prepare("gsm8k", tmp_path, PrepOptions(max_train_records=300, progress=False))
    assert capped.stats["splits"]["train"] == 300
    assert capped.stats["dropped_by_max_train"] == 600
    ids = [record["id"] for record in read_jsonl(capped.train_path)]
    assert ids == sorted(ids)  # source order kept
    assert set(ids) <= {record["id"] for record in read_jsonl(bundled.train_path)}
    assert ids[-1] > "gsm8k-train-00500"  # a spread-out choice, not the first 300 rows
