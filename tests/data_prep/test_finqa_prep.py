"""prepare("finqa") on hand-made records in the official schema and in the hub copies' shape."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import datasets
import pytest

from data_prep import DataPrepError, PrepOptions, RawRow, prepare
from data_prep.cli import build_parser
from data_prep.converters.finqa import (
    INSTRUCTIONS,
    QUESTION_LABEL,
    SYSTEM_PROMPT,
    Finqa,
    build_prompt,
    normalize_row,
    render_table,
)
from tests.data_prep.prep_testing import assert_no_shared_prompts, read_jsonl, variant

PAGE_TABLE = [
    ["( in millions )", "2010", "2009"],
    ["net revenues", "$ 1,250", "$ 1,143"],
    ["other income ( expense )", "( 94 )", "12"],
    ["gross margin", "38.2%", "37.1%"],
]


def official(name: str, index: int, **qa: Any) -> dict[str, Any]:
    """One record in czyssrs/FinQA's schema, about its own report page."""
    return {
        "id": f"{name}/2010/page_{index}.pdf-1",
        "filename": f"{name}/2010/page_{index}.pdf",
        "pre_text": [f"{name.lower()} inc . net revenues increased 9 % in 2010 .", "( dollars in millions )"],
        "post_text": ["capital expenditures were $ 52 million in 2010 ."],
        "table": PAGE_TABLE,
        "qa": {
            "question": f"what was the growth rate of net revenues for page {index} ?",
            "program": "subtract(1250, 1143), divide(#0, 1143)",
            "exe_ans": 0.09361,
            "answer": "9.4%",
            **qa,
        },
    }


def split(name: str, count: int) -> list[dict[str, Any]]:
    return [official(name, i) for i in range(count)]


def write_json(path: Path, rows: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def official_dir(root: Path, train: int = 120, dev: int = 105, test: int = 10) -> Path:
    write_json(root / "train.json", split("TRN", train))
    if dev:
        write_json(root / "dev.json", split("DEV", dev))
    if test:
        write_json(root / "test.json", split("TST", test))
    return root


def local(path: Path, **options: Any) -> PrepOptions:
    return PrepOptions(source="local", path=path, progress=False, **options)


@pytest.fixture
def prepared(tmp_path: Path):
    return prepare("finqa", tmp_path / "out", local(official_dir(tmp_path / "src")))


# -- the official files -------------------------------------------------------------------------


def test_official_splits_map_to_train_validation_test(prepared) -> None:
    assert prepared.stats["source_rows"] == {"train": 120, "validation": 105, "test": 10}
    assert prepared.stats["splits"] == {"train": 120, "validation": 100, "test": 10}
    ids = {
        split: [r["id"] for r in read_jsonl(path)]
        for split, path in (
            ("train", prepared.train_path),
            ("validation", prepared.validation_path),
            ("test", prepared.test_path),
        )
    }
    assert all(i.startswith("finqa-train-") for i in ids["train"])
    assert all(i.startswith("finqa-validation-") for i in ids["validation"])  # from dev.json only
    assert all(i.startswith("finqa-test-") for i in ids["test"])


def test_record_shape_and_reference(prepared) -> None:
    record = read_jsonl(prepared.train_path)[0]
    assert set(record) == {"id", "messages", "reference_answer"}
    system, user = record["messages"]
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert user["role"] == "user"
    assert record["reference_answer"] == {
        "answer": 0.09361,
        "answer_text": "9.4%",
        "program": "subtract(1250, 1143), divide(#0, 1143)",
        "question": "what was the growth rate of net revenues for page 0 ?",
    }


def test_prompt_layout(prepared) -> None:
    prompt = read_jsonl(prepared.train_path)[0]["messages"][1]["content"]
    pre = prompt.index("trn inc . net revenues increased 9 % in 2010 .\n( dollars in millions )")
    table = prompt.index("| ( in millions ) | 2010 | 2009 |\n| --- | --- | --- |\n| net revenues | $ 1,250 |")
    post = prompt.index("capital expenditures were $ 52 million in 2010 .")
    question = prompt.index("\n\nQuestion: what was the growth rate of net revenues for page 0 ?\n\n")
    assert pre < table < post < question
    assert prompt.endswith(INSTRUCTIONS)
    assert "`ANSWER: <answer>`" in INSTRUCTIONS and "12.5%" in INSTRUCTIONS and "yes" in INSTRUCTIONS


def test_the_reward_finds_the_question_and_scores_a_prepared_record(prepared) -> None:
    from finqa_reward.handler import lambda_handler
    from finqa_reward.scoring import QUESTION_LABEL as REWARD_LABEL
    from finqa_reward.scoring import asks_for_percentage, prompt_question

    assert QUESTION_LABEL == REWARD_LABEL
    record = read_jsonl(prepared.train_path)[0]
    question = prompt_question(record["messages"])
    assert question == record["reference_answer"]["question"]
    assert not asks_for_percentage(question)  # though the table, text and instructions mention %
    samples = [
        {**record, "messages": [*record["messages"], {"role": "assistant", "content": answer}]}
        for answer in ("Growth: 107 / 1143.\nANSWER: 9.4%", "ANSWER: 0.0936", "ANSWER: 9.36", "ANSWER: 107")
    ]
    results = lambda_handler(samples, None)
    assert [r["id"] for r in results] == [record["id"]] * 4
    assert [r["aggregate_reward_score"] for r in results] == [1.0, 1.0, 0.0, 0.0]


def test_validation_is_carved_from_train_by_report_page_when_there_is_no_dev(tmp_path: Path) -> None:
    rows = [official("PGE", i // 2, question=f"question {i} ?") for i in range(240)]
    for i, row in enumerate(rows):
        row["id"] = f"{row['filename']}-{i % 2 + 1}"
    write_json(tmp_path / "src" / "train.json", rows)
    result = prepare("finqa", tmp_path / "out", local(tmp_path / "src"))
    assert result.stats["splits"] == {"train": 140, "validation": 100, "test": 0}
    pages = {
        name: {int(r["id"].rsplit("-", 1)[1]) // 2 for r in read_jsonl(path)}
        for name, path in (("train", result.train_path), ("validation", result.validation_path))
    }
    assert not pages["train"] & pages["validation"]


def test_test_rows_repeated_in_train_are_dropped(tmp_path: Path) -> None:
    src = official_dir(tmp_path / "src", train=0, test=0)
    write_json(src / "train.json", [*split("TRN", 120), official("TST", 3)])
    write_json(src / "test.json", split("TST", 10))
    result = prepare("finqa", tmp_path / "out", local(src))
    assert result.stats["dropped_test_overlap"] == 1
    assert result.stats["splits"]["train"] == 120


def test_a_single_json_export_is_the_training_split(tmp_path: Path) -> None:
    path = write_json(tmp_path / "finqa_train.json", split("ONE", 230))
    result = prepare("finqa", tmp_path / "out", local(path))
    assert result.stats["splits"] == {"train": 130, "validation": 100, "test": 0}


def test_output_is_deterministic(tmp_path: Path) -> None:
    src = official_dir(tmp_path / "src")
    first = prepare("finqa", tmp_path / "a", local(src))
    second = prepare("finqa", tmp_path / "b", local(src))
    for name in ("train.jsonl", "validation.jsonl", "test.jsonl", "stats.json"):
        assert (first.out_dir / name).read_bytes() == (second.out_dir / name).read_bytes()
    assert prepare("finqa", tmp_path / "a", local(src)).written == ()


# -- bad rows -----------------------------------------------------------------------------------


def broken(tmp_path: Path, bad: dict[int, dict[str, Any]]) -> str:
    rows = split("TRN", 120)
    for index, row in bad.items():
        rows[index] = row
    write_json(tmp_path / "src" / "train.json", rows)
    with pytest.raises(DataPrepError) as caught:
        prepare("finqa", tmp_path / "out", local(tmp_path / "src"))
    assert not (tmp_path / "out").exists()
    return str(caught.value)


def test_missing_qa_is_reported_with_its_location(tmp_path: Path) -> None:
    row = official("BAD", 1)
    del row["qa"]
    message = broken(tmp_path, {4: row})
    assert "a FinQA row has a non-empty question (qa.question)" in message
    assert "finqa-train-00004 (train.json[4])" in message


def test_every_broken_rule_is_reported_at_once(tmp_path: Path) -> None:
    rows = {
        1: {**official("BAD", 1), "table": "| a | b |"},
        2: {**official("BAD", 2), "table": [["a"], "b"]},
        3: {**official("BAD", 3), "qa": "what?"},
        5: official("BAD", 5, exe_ans="n/a", answer="n/a"),
        6: official("BAD", 6, exe_ans=None, answer=None),
        7: {**official("BAD", 7), "pre_text": 42},
        8: official("BAD", 8, question="   "),
    }
    message = broken(tmp_path, rows)
    assert "'table' is a list of rows" in message and "finqa-train-00001" in message and "00002" in message
    assert "'qa' is an object" in message and "finqa-train-00003" in message
    assert "a gold answer (qa.exe_ans)" in message and "finqa-train-00005" in message and "00006" in message
    assert "'pre_text' is a list of sentences" in message and "finqa-train-00007" in message
    assert "non-empty question" in message and "finqa-train-00008" in message
    assert "Traceback" not in message


def _with_long_prompt(src: Path) -> None:
    rows = split("TRN", 121)
    rows[9]["pre_text"] = ["a very long filing sentence ."] * 500
    write_json(src / "train.json", rows)


def test_overlong_prompts_fail_with_a_count(tmp_path: Path) -> None:
    src = official_dir(tmp_path / "src")
    _with_long_prompt(src)
    with pytest.raises(DataPrepError) as caught:
        prepare("finqa", tmp_path / "out", local(src, on_overlong="fail"))
    message = str(caught.value)
    assert "every prompt fits max_prompt_tokens=4000" in message
    assert "1 record breaks this rule: finqa-train-00009" in message
    assert "--on-overlong drop" in message


def test_overlong_prompts_are_dropped_and_counted(tmp_path: Path) -> None:
    src = official_dir(tmp_path / "src")
    _with_long_prompt(src)
    result = prepare("finqa", tmp_path / "out", local(src, on_overlong="drop"))
    assert result.stats["dropped_overlong"] == 1
    assert result.stats["dropped_overlong_by_source_split"] == {"train": 1, "validation": 0, "test": 0}
    assert result.stats["splits"]["train"] == 120
    assert result.stats["prompt_tokens"]["limit"] == 4000
    assert "finqa-train-00009" not in result.train_path.read_text()


def test_cli_drops_overlong_finqa_prompts_by_default() -> None:
    parser = build_parser()
    assert parser.parse_args(["finqa"]).on_overlong == "drop"
    assert parser.parse_args(["finqa", "--on-overlong", "fail"]).on_overlong == "fail"
    assert parser.parse_args(["finqa"]).max_prompt_tokens == 4000
    assert parser.parse_args(["gsm8k"]).on_overlong == "fail"


# -- normalisation and rendering ----------------------------------------------------------------


def flattened(record: dict[str, Any]) -> dict[str, Any]:
    """The flattened shape of the Hugging Face copies (no `qa` object)."""
    qa = record["qa"]
    return {
        "id": record["id"],
        "pre_text": record["pre_text"],
        "post_text": record["post_text"],
        "table": record["table"],
        "question": qa["question"],
        "answer": qa["answer"],
        "exe_ans": qa["exe_ans"],
        "program_re": qa["program"],
        "gold_inds": ["the net revenues of 2010 is $ 1,250 ;"],
    }


def test_flattened_and_official_rows_normalise_alike() -> None:
    record = official("ABC", 1)
    assert normalize_row(flattened(record)) == normalize_row(record)


def test_flattened_row_without_exe_ans_takes_the_gold_from_its_answer_text() -> None:
    row = {key: value for key, value in flattened(official("ABC", 1)).items() if key != "exe_ans"}
    assert normalize_row(row).gold == "9.4%"
    assert normalize_row({**row, "answer": "Yes"}).gold == "yes"
    assert normalize_row({**row, "answer": "$1,250"}).gold == 1250.0
    assert normalize_row({**row, "answer": "(94)"}).gold == -94.0


def test_official_numbers_and_yes_no_golds_are_kept() -> None:
    assert normalize_row(official("A", 1, exe_ans=3)).gold == 3
    assert normalize_row(official("A", 1, exe_ans="no", answer="no")).gold == "no"
    assert normalize_row(official("A", 1, exe_ans="0.5")).gold == 0.5


def test_question_is_one_line() -> None:
    row = normalize_row(official("A", 1, question="what was\n the  change ?"))
    assert row.question == "what was the change ?"
    assert f"\n{QUESTION_LABEL} what was the change ?\n" in build_prompt(row)


def test_render_table_keeps_the_header_pads_short_rows_and_escapes_pipes() -> None:
    table = render_table([["", "2010", "2009"], ["a | b", "$ 1,250"], ["net income", "( 94 )", "12"]])
    assert table.splitlines() == [
        "|  | 2010 | 2009 |",
        "| --- | --- | --- |",
        "| a \\| b | $ 1,250 |  |",
        "| net income | ( 94 ) | 12 |",
    ]


def test_table_cells_are_collapsed_and_non_strings_are_written_out() -> None:
    row = normalize_row({**official("A", 1), "table": [["", 2010], ["net\nincome", None], [1250.5, -94]]})
    assert row.table == (("", "2010"), ("net income", ""), ("1250.5", "-94"))
    assert render_table([]) == ""
    assert "| --- |" not in build_prompt(normalize_row({**official("A", 1), "table": []}))


def test_group_key_is_the_report_page() -> None:
    finqa = Finqa()
    first = RawRow({"id": "ADI/2009/page_49.pdf-1"}, "train", 0, "train.json[0]")
    second = RawRow({"id": "ADI/2009/page_49.pdf-2"}, "train", 1, "train.json[1]")
    other = RawRow({"filename": "ADI/2009/page_50.pdf"}, "train", 2, "train.json[2]")
    key = partial(finqa.group_key, options=PrepOptions())
    assert key(first) == key(second) != key(other)
    assert key(RawRow({}, "train", 3, "x")) == ("train", 3)


# -- the hub ------------------------------------------------------------------------------------


def hub_dict(shape) -> datasets.DatasetDict:
    return datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list([shape(r) for r in split("TRN", 120)]),
            "validation": datasets.Dataset.from_list([shape(r) for r in split("DEV", 105)]),
            "test": datasets.Dataset.from_list([shape(r) for r in split("TST", 10)]),
        }
    )


@pytest.mark.parametrize("shape", [flattened, lambda record: record], ids=["flattened", "nested-qa"])
def test_hub_parquet_copy_gives_the_same_records_as_the_official_json(
    shape, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[tuple[Any, ...]] = []

    def load_dataset(*args: Any, **kwargs: Any) -> datasets.DatasetDict:
        calls.append((args, kwargs))
        return hub_dict(shape)

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    hub = prepare("finqa", tmp_path / "hub", PrepOptions(source="hub", progress=False))
    assert calls == [(("dreamerdeo/finqa",), {"revision": "refs/convert/parquet"})]
    assert hub.stats["splits"] == {"train": 120, "validation": 100, "test": 10}
    official_result = prepare("finqa", tmp_path / "json", local(official_dir(tmp_path / "src")))
    for name in ("train.jsonl", "validation.jsonl", "test.jsonl"):
        assert (hub.out_dir / name).read_bytes() == (official_result.out_dir / name).read_bytes(), name


def test_duplicate_questions_are_kept_once_and_test_wins(tmp_path: Path) -> None:
    def again(name: str, indices: range, shift: int = 0) -> list[dict[str, Any]]:
        question = "what was the growth rate of net revenues for page {} ?"
        return [official(name, i, question=variant(question.format(i), i + shift)) for i in indices]

    src = tmp_path / "src"
    write_json(src / "train.json", [*split("TRN", 120), *again("TRN", range(8)), *again("TST", range(3))])
    write_json(
        src / "dev.json", [*split("DEV", 105), *again("DEV", range(2), 1), *again("TRN", range(50, 52))]
    )
    write_json(src / "test.json", [*split("TST", 10), *again("TST", range(9, 10), 2)])

    result = prepare("finqa", tmp_path / "out", local(src))

    assert_no_shared_prompts(result)
    # dev's copies of TRN pages 50 and 51 win over train's: validation wins over train
    assert result.stats["dropped_duplicates_by_source_split"] == {"train": 8 + 2, "validation": 2, "test": 1}
    assert result.stats["dropped_test_overlap_by_source_split"] == {"train": 3, "validation": 0, "test": 0}
    assert result.stats["splits"] == {"train": 118, "validation": 100, "test": 10}
