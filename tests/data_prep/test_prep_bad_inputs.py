"""Bad data and options fail before anything is written, naming the records, the rule and the fix."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import data_prep.registry
from data_prep import Converter, DataPrepError, PrepOptions, RawRow, get_task, prepare
from tests.data_prep.prep_testing import gsm8k_rows, read_jsonl, write_jsonl


def local(path: Path, **overrides: Any) -> PrepOptions:
    return PrepOptions(**{"source": "local", "path": path, "progress": False, **overrides})


class InMemoryTask(Converter):
    """A user's own task: rows from memory, records built by a function under test."""

    name = "inmemory"

    def __init__(self, build: Any, rows: int = 150) -> None:
        self.build = build
        self.rows = rows

    def load(self, options: PrepOptions) -> dict[str, list[dict[str, Any]]]:
        return {"train": [{"n": i} for i in range(self.rows)]}

    def to_records(self, row: RawRow, split: str, options: PrepOptions | None = None) -> list[dict[str, Any]]:
        return self.build(row)


def good(row: RawRow) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": f"question {row.index}"}],
        "reference_answer": {"answer": row.index},
    }


@pytest.fixture
def use_task(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def install(build: Any, rows: int = 150) -> str:
        monkeypatch.setitem(data_prep.registry._TASKS, InMemoryTask.name, InMemoryTask(build, rows))
        return InMemoryTask.name

    yield install


def failure(task: str, out: Path, options: PrepOptions) -> DataPrepError:
    with pytest.raises(DataPrepError) as caught:
        prepare(task, out, options)
    assert not out.exists(), "nothing may be written when the data is rejected"
    return caught.value


# ---- record counts -------------------------------------------------------------------------


def test_too_few_training_records(tmp_path: Path, sample_train) -> None:
    data = write_jsonl(tmp_path / "small.jsonl", sample_train[:150])
    error = failure("gsm8k", tmp_path / "out", local(data))
    assert "100-20,000" in str(error) and "train would have 50 records" in str(error)
    assert "--validation-size" in str(error)


def test_too_few_validation_records(tmp_path: Path, sample_train) -> None:
    data = write_jsonl(tmp_path / "train.jsonl", sample_train[:400])
    error = failure("gsm8k", tmp_path / "out", local(data, validation_size=60))
    assert "validation would have 60 records" in str(error)


def test_too_many_training_records_names_max_train(use_task, tmp_path: Path) -> None:
    task = use_task(lambda row: [good(row)], rows=20_101)
    error = failure(task, tmp_path / "out", PrepOptions(progress=False, validation_size=100))
    assert "train would have 20,001 records" in str(error) and "--max-train 20000" in str(error)
    capped = prepare(task, tmp_path / "out", PrepOptions(progress=False, max_train_records=20_000))
    assert capped.stats["splits"]["train"] == 20_000


# ---- record schema ---------------------------------------------------------------------------


def test_assistant_turn_is_rejected_with_the_record_ids(use_task, tmp_path: Path) -> None:
    def with_answer(row: RawRow) -> list[dict[str, Any]]:
        record = good(row)
        if row.index in (3, 7):
            record["messages"].append({"role": "assistant", "content": "42"})
        return [record]

    error = failure(use_task(with_answer), tmp_path / "out", PrepOptions(progress=False))
    assert "no assistant turn" in str(error)
    assert (
        "2 records break this rule: inmemory-train-00003 (train[3]), inmemory-train-00007 (train[7])"
        in str(error)
    )
    assert [problem.offenders for problem in error.problems] == [
        ("inmemory-train-00003 (train[3])", "inmemory-train-00007 (train[7])")
    ]


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "system", "content": "s"}],
        [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
        [{"role": "user", "content": "a"}, {"role": "system", "content": "s"}],
        "not a list",
    ],
)
def test_turns_must_be_system_then_one_user(use_task, tmp_path: Path, messages: Any) -> None:
    task = use_task(lambda row: [{**good(row), "messages": messages}] if row.index == 0 else [good(row)])
    error = failure(task, tmp_path / "out", PrepOptions(progress=False))
    assert "exactly one user turn" in str(error) and "inmemory-train-00000" in str(error)


@pytest.mark.parametrize("content", ["", "   ", None, [{"type": "text", "text": "hi"}]])
def test_content_must_be_non_empty_text(use_task, tmp_path: Path, content: Any) -> None:
    task = use_task(
        lambda row: (
            [{**good(row), "messages": [{"role": "user", "content": content}]}]
            if row.index == 5
            else [good(row)]
        )
    )
    error = failure(task, tmp_path / "out", PrepOptions(progress=False))
    assert "non-empty string" in str(error) and "inmemory-train-00005" in str(error)


@pytest.mark.parametrize("reference", [None, "", {}, []])
def test_missing_reference_is_rejected(use_task, tmp_path: Path, reference: Any) -> None:
    def build(row: RawRow) -> list[dict[str, Any]]:
        record = good(row)
        if row.index % 50 == 1:
            if reference is None:
                del record["reference_answer"]
            else:
                record["reference_answer"] = reference
        return [record]

    error = failure(use_task(build), tmp_path / "out", PrepOptions(progress=False))
    assert "non-empty reference_answer" in str(error)
    assert "3 records break this rule" in str(error) and "inmemory-train-00051" in str(error)


def test_gsm8k_row_without_gold_answer_names_file_and_line(tmp_path: Path, sample_train) -> None:
    rows = [dict(row) for row in sample_train[:300]]
    rows[3]["answer"] = "The answer is 7."  # no '#### N' line
    del rows[10]["answer"]
    rows[12]["question"] = "  "
    path = tmp_path / "train.jsonl"
    path.write_text(
        "\n".join(json.dumps(row) for row in rows[:5])
        + "\n\n"
        + "\n".join(json.dumps(row) for row in rows[5:])
    )
    error = failure("gsm8k", tmp_path / "out", local(path))
    message = str(error)
    # the blank line after row 5 shifts later line numbers by one
    assert "gsm8k-train-00003 (train.jsonl:4), gsm8k-train-00010 (train.jsonl:12)" in message
    assert "'#### <number>'" in message
    assert "non-empty 'question'" in message and "gsm8k-train-00012 (train.jsonl:14)" in message


def test_duplicate_ids_are_rejected(use_task, tmp_path: Path) -> None:
    task = use_task(lambda row: [{**good(row), "id": f"dup-{row.index % 140}"}])
    error = failure(task, tmp_path / "out", PrepOptions(progress=False))
    assert "unique" in str(error) and "10 records break this rule" in str(error)


def test_nan_in_a_record_is_rejected(use_task, tmp_path: Path) -> None:
    task = use_task(lambda row: [{**good(row), "reference_answer": {"x": math.nan if row.index == 9 else 1}}])
    error = failure(task, tmp_path / "out", PrepOptions(progress=False))
    assert "strict JSON" in str(error) and "inmemory-train-00009" in str(error)


def test_many_offenders_are_summarised(use_task, tmp_path: Path) -> None:
    task = use_task(lambda row: [{**good(row), "reference_answer": None}])
    error = failure(task, tmp_path / "out", PrepOptions(progress=False))
    assert "150 records break this rule" in str(error) and "and 145 more" in str(error)
    assert "inmemory-train-00004" in str(error) and "inmemory-train-00005" not in str(error)


def test_all_problems_are_reported_together(use_task, tmp_path: Path) -> None:
    def build(row: RawRow) -> list[dict[str, Any]]:
        record = good(row)
        if row.index == 1:
            record["reference_answer"] = ""
        if row.index == 2:
            record["messages"] = [{"role": "user", "content": "x" * 5000}]
        return [record]

    error = failure(use_task(build), tmp_path / "out", PrepOptions(progress=False))
    assert len(error.problems) == 2
    assert "2 rules" in str(error)


def test_records_without_id_get_row_ids(use_task, tmp_path: Path) -> None:
    task = use_task(lambda row: [good(row), good(row)] if row.index < 3 else [good(row)])
    result = prepare(task, tmp_path / "out", PrepOptions(progress=False, validation_size=0))
    ids = [record["id"] for record in read_jsonl(result.train_path)]
    assert ids[:7] == [
        "inmemory-train-00000-0",
        "inmemory-train-00000-1",
        "inmemory-train-00001-0",
        "inmemory-train-00001-1",
        "inmemory-train-00002-0",
        "inmemory-train-00002-1",
        "inmemory-train-00003",
    ]


def test_rows_a_converter_skips_are_counted(use_task, tmp_path: Path) -> None:
    task = use_task(lambda row: [] if row.index % 10 == 0 else [good(row)], rows=300)
    result = prepare(task, tmp_path / "out", PrepOptions(progress=False))
    assert result.stats["skipped_rows"] == 30
    assert result.stats["splits"]["train"] + result.stats["splits"]["validation"] == 270


# ---- prompt length ---------------------------------------------------------------------------


def _with_long_question(sample_train: list[dict[str, Any]], tmp_path: Path) -> Path:
    rows = [dict(row) for row in sample_train[:400]]
    rows[42]["question"] = "How many? " * 200  # 2,000 chars: ~760 tokens at 3 chars/token
    return write_jsonl(tmp_path / "train.jsonl", rows)


def test_overlong_prompt_fails_naming_the_record_and_the_fix(tmp_path: Path, sample_train) -> None:
    error = failure("gsm8k", tmp_path / "out", local(_with_long_question(sample_train, tmp_path)))
    message = str(error)
    assert "max_prompt_tokens=512" in message
    assert "1 record breaks this rule: gsm8k-train-00042 (train.jsonl:43, ~" in message
    assert "maxPromptLength in cdk.json" in message and "--on-overlong drop" in message


def test_overlong_prompt_dropped_and_counted(tmp_path: Path, sample_train) -> None:
    result = prepare(
        "gsm8k", tmp_path / "out", local(_with_long_question(sample_train, tmp_path), on_overlong="drop")
    )
    assert result.stats["dropped_overlong"] == 1
    assert result.stats["dropped_overlong_by_source_split"] == {"train": 1}
    assert result.stats["splits"] == {"train": 299, "validation": 100, "test": 0}  # validation stays full
    assert result.test_path is None
    ids = {r["id"] for path in (result.train_path, result.validation_path) for r in read_jsonl(path)}
    assert "gsm8k-train-00042" not in ids and len(ids) == 399
    assert result.stats["prompt_tokens"]["max"] <= 512


def test_chars_per_token_changes_the_estimate(tmp_path: Path, sample_train) -> None:
    path = _with_long_question(sample_train, tmp_path)
    failure("gsm8k", tmp_path / "out", local(path, max_prompt_tokens=600))  # 3 chars/token: ~760 tokens
    result = prepare("gsm8k", tmp_path / "out", local(path, chars_per_token=4.0, max_prompt_tokens=600))
    longest = max(
        sum(len(turn["content"]) for turn in record["messages"])
        for split_path in (result.train_path, result.validation_path)
        for record in read_jsonl(split_path)
    )
    assert result.stats["prompt_tokens"]["max"] == math.ceil(longest / 4.0)
    assert 500 < result.stats["prompt_tokens"]["max"] <= 600


# ---- files, JSON, sources ------------------------------------------------------------------


def test_malformed_json_line_names_file_and_line(tmp_path: Path, sample_train) -> None:
    lines = [json.dumps(row) for row in sample_train[:200]]
    lines[6] = lines[6][:-5]  # truncated object on line 7
    lines[9] = "[1, 2]"  # valid JSON, not an object, on line 10
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(lines) + "\n")
    error = failure("gsm8k", tmp_path / "out", local(path))
    assert "train.jsonl:7 (" in str(error) and "valid JSON" in str(error)
    assert "train.jsonl:10 (list)" in str(error)


def test_tolerant_reading_of_blank_lines_bom_and_crlf(tmp_path: Path, sample_train) -> None:
    body = "\r\n".join(json.dumps(row) for row in sample_train[:300])
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"\xef\xbb\xbf\r\n\n" + body.encode() + b"\r\n\r\n   \n")
    result = prepare("gsm8k", tmp_path / "out", local(path))
    assert result.stats["source_rows"] == {"train": 300}


def test_missing_file(tmp_path: Path) -> None:
    error = failure("gsm8k", tmp_path / "out", local(tmp_path / "nope.jsonl"))
    assert "nope.jsonl" in str(error) and "no such file" in str(error)


def test_directory_without_a_training_file(tmp_path: Path, sample_test) -> None:
    write_jsonl(tmp_path / "data" / "test.jsonl", sample_test)
    error = failure("gsm8k", tmp_path / "out", local(tmp_path / "data"))
    assert "expected train.jsonl" in str(error)


def test_local_directory_keeps_official_splits(tmp_path: Path, sample_train, sample_test) -> None:
    write_jsonl(tmp_path / "data" / "train.jsonl", gsm8k_rows(sample_train, 300))
    write_jsonl(tmp_path / "data" / "test.jsonl", sample_test[:50])
    result = prepare("gsm8k", tmp_path / "out", local(tmp_path / "data"))
    assert result.stats["splits"] == {"train": 200, "validation": 100, "test": 50}
    assert result.stats["path_name"] == "data"  # no absolute path: stats.json stays machine-independent


def test_official_validation_file_is_used_and_capped(tmp_path: Path, sample_train, sample_test) -> None:
    write_jsonl(tmp_path / "data" / "train.jsonl", sample_train[:300])
    write_jsonl(tmp_path / "data" / "validation.jsonl", sample_train[300:450])
    write_jsonl(tmp_path / "data" / "test.jsonl", sample_test[:10])
    result = prepare("gsm8k", tmp_path / "out", local(tmp_path / "data", validation_size=120))
    assert result.stats["splits"] == {"train": 300, "validation": 120, "test": 10}
    assert all(r["id"].startswith("gsm8k-validation-") for r in read_jsonl(result.validation_path))


def test_training_rows_that_repeat_a_test_question_are_dropped(
    tmp_path: Path, sample_train, sample_test
) -> None:
    leaked = dict(sample_test[3])
    leaked["question"] = "  " + leaked["question"].upper() + " "  # same question, different spacing/case
    write_jsonl(tmp_path / "data" / "train.jsonl", [*sample_train[:300], leaked])
    write_jsonl(tmp_path / "data" / "test.jsonl", sample_test[:20])
    result = prepare("gsm8k", tmp_path / "out", local(tmp_path / "data"))
    assert result.stats["dropped_test_overlap"] == 1
    assert result.stats["splits"]["train"] + result.stats["splits"]["validation"] == 300


def test_output_directory_may_not_be_the_source_directory(tmp_path: Path, sample_train) -> None:
    write_jsonl(tmp_path / "train.jsonl", sample_train[:300])
    before = (tmp_path / "train.jsonl").read_bytes()
    with pytest.raises(DataPrepError, match="choose another --out"):
        prepare("gsm8k", tmp_path, local(tmp_path))
    assert (tmp_path / "train.jsonl").read_bytes() == before


def test_failed_run_leaves_previous_output_untouched(tmp_path: Path, sample_train) -> None:
    first = prepare("gsm8k", tmp_path / "out", PrepOptions(progress=False))
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    with pytest.raises(DataPrepError):
        prepare("gsm8k", tmp_path / "out", local(_with_long_question(sample_train, tmp_path)))
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before
    assert first.train_path.exists()


# ---- tasks and options -----------------------------------------------------------------------


def test_unknown_task_lists_known_tasks(tmp_path: Path) -> None:
    error = failure("gsm9k", tmp_path / "out", PrepOptions(progress=False))
    assert "unknown task 'gsm9k'" in str(error) and "gsm8k" in str(error)
    with pytest.raises(DataPrepError, match=r"known tasks: .*gsm8k"):
        get_task("nope")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"on_overlong": "skip"}, "on_overlong='skip' is invalid"),
        ({"source": "s3"}, "source='s3' is invalid"),
        ({"source": "local"}, "needs path="),
        ({"path": "x.jsonl"}, "only used with source='local'"),
        ({"validation_size": -1}, "validation_size=-1"),
        ({"max_train_records": 0}, "max_train_records=0"),
        ({"max_prompt_tokens": 0}, "max_prompt_tokens=0"),
        ({"chars_per_token": 0}, "chars_per_token=0"),
        ({"seed": "13"}, "seed='13'"),
    ],
)
def test_invalid_options_name_the_setting(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(DataPrepError, match=re.escape(expected)):
        PrepOptions(**overrides)


def test_unknown_task_option(tmp_path: Path) -> None:
    error = failure("gsm8k", tmp_path / "out", PrepOptions(progress=False, task_options={"swap": False}))
    assert "no option(s) swap" in str(error)


def test_unsupported_source_for_a_task(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class NoHub(Converter):
        name = "nohub"

    monkeypatch.setitem(data_prep.registry._TASKS, "nohub", NoHub())
    error = failure("nohub", tmp_path / "out", PrepOptions(source="hub", progress=False))
    assert "task 'nohub' has no 'hub' source; use one of: bundled, local" in str(error)
