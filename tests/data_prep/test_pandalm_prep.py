"""prepare("pandalm"): labels, formats, position-bias swap, and splits without leakage."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from data_prep import DataPrepError, PrepOptions, PrepResult, RawRow, RowError, prepare
from data_prep.cli import main
from data_prep.converters.pandalm import ANSWER_FORM, SYSTEM_PROMPT, Pandalm, majority, parse_label, row_label
from tests.data_prep.prep_testing import assert_no_shared_prompts, read_jsonl, variant, write_jsonl

QUIET = PrepOptions(progress=False)


def run(out: Path, **options: Any) -> PrepResult:
    task_options = options.pop("task_options", {})
    return prepare("pandalm", out, PrepOptions(progress=False, task_options=task_options, **options))


def records(result: PrepResult) -> dict[str, list[dict[str, Any]]]:
    paths = {"train": result.train_path, "validation": result.validation_path, "test": result.test_path}
    return {split: read_jsonl(path) if path else [] for split, path in paths.items()}


def norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def prompt_key(record: dict[str, Any]) -> tuple[str, str]:
    ref = record["reference_answer"]
    return norm(ref["instruction"]), norm(ref["input"])


def pair_key(record: dict[str, Any]) -> tuple[str, str, frozenset[str]]:
    ref = record["reference_answer"]
    return (*prompt_key(record), frozenset((norm(ref["response1"]), norm(ref["response2"]))))


def base_id(record: dict[str, Any]) -> str:
    return record["id"].removesuffix("-swapped")


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> PrepResult:
    return prepare("pandalm", tmp_path_factory.mktemp("pandalm"), QUIET)


@pytest.fixture(scope="module")
def bundled_records(bundled: PrepResult) -> dict[str, list[dict[str, Any]]]:
    return records(bundled)


# -- labels -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("votes", "label"),
    [
        ([1, 1, 1], 1),
        ([2, 2, 1], 2),
        ([0, 0, 2], 0),
        ([1, 0, 1], 1),
        ([1, 2, 0], 0),  # three-way disagreement: tie
        ([1, 2], 0),  # no majority among two
        ([2, 2, 1, 1], 0),
        ([2, 2, 2, 1], 2),
        ([1], 1),
    ],
)
def test_majority_rule(votes: list[int], label: int) -> None:
    assert majority(votes) == label


@pytest.mark.parametrize(
    ("row", "label"),
    [
        ({"annotator1": 2, "annotator2": 2, "annotator3": 1}, 2),
        ({"annotator1": 1, "annotator2": 2, "annotator3": 0}, 0),
        ({"label_0": "2", "label_1": "2", "label_2": "0"}, 2),  # PandaLM README's string votes
        ({"annotator1": 1, "annotator2": math.nan, "annotator3": 1}, 1),  # a missing vote is skipped
        ({"outputs": {"evaluation_result": "Tie"}}, 0),
        ({"outputs": {"evaluation_result": "2"}}, 2),
        ({"evaluation_result": 1}, 1),
        ({"output": "2\n\n### Reason: Response 2 is correct.\n\n### Reference: ..."}, 2),
        ({"output": "Tie\n### Reason: both fine"}, 0),
        ({"label": 0}, 0),
    ],
)
def test_row_label(row: dict[str, Any], label: int) -> None:
    assert row_label(row) == label


@pytest.mark.parametrize(
    "row",
    [
        {},
        {"annotator1": 3, "annotator2": 1},
        {"annotator1": "maybe"},
        {"annotator1": math.nan},
        {"outputs": {"evaluation_result": "both"}},
        {"output": "I think response one"},
        {"label": True},
    ],
)
def test_row_without_a_usable_label_is_a_row_error(row: dict[str, Any]) -> None:
    with pytest.raises(RowError):
        row_label(row)


def test_parse_label_forms() -> None:
    assert [parse_label(v) for v in (1, 2, 0, "1", " 2 ", "tie", "TIE", "Response 1", 2.0)] == [
        1,
        2,
        0,
        1,
        2,
        0,
        0,
        1,
        2,
    ]
    assert [parse_label(v) for v in (3, -1, True, None, "", "12", 1.5)] == [None] * 7


# -- records ------------------------------------------------------------------------------------


def test_bundled_counts_and_stats(bundled: PrepResult) -> None:
    stats = bundled.stats
    assert stats["source_rows"] == {"train": 999}
    assert stats["skipped_rows"] == 1  # the one blank instruction
    # 101 items repeat another exactly and 37 repeat one with the responses in the other order
    assert stats["dropped_duplicates_by_source_split"] == {"train": 138}
    assert stats["dropped_test_overlap"] == 0  # the test split is carved by prompt group
    rows = 999 - 1 - 138
    test = round(rows * 0.15)
    assert stats["splits"] == {"train": 2 * (rows - test - 100), "validation": 2 * 100, "test": 2 * test}
    assert stats["options"]["task_options"] == {}
    assert stats["prompt_tokens"]["max"] <= Pandalm.default_max_prompt_tokens


def test_record_shape(bundled_records: dict[str, list[dict[str, Any]]]) -> None:
    for split in ("train", "validation", "test"):
        for record in bundled_records[split]:
            assert set(record) == {"id", "messages", "reference_answer"}
            system, user = record["messages"]
            assert system == {"role": "system", "content": SYSTEM_PROMPT}
            ref = record["reference_answer"]
            assert set(ref) == {"label", "instruction", "input", "response1", "response2", "swapped"}
            assert ref["label"] in (0, 1, 2)
            text = user["content"]
            assert f"<response_1>\n{ref['response1']}\n</response_1>" in text
            assert f"<response_2>\n{ref['response2']}\n</response_2>" in text
            assert f"<instruction>\n{ref['instruction']}\n</instruction>" in text
            assert ("<input>" in text) == bool(ref["input"])
            assert text.endswith(ANSWER_FORM)
            assert "JUDGMENT: Response 1 | Response 2 | Tie\nREASONING:" in text


def test_first_bundled_row(bundled_records: dict[str, list[dict[str, Any]]]) -> None:
    everything = {r["id"]: r for split in bundled_records.values() for r in split}
    original, swapped = everything["pandalm-train-00000"], everything["pandalm-train-00000-swapped"]
    assert original["reference_answer"]["label"] == 2  # annotators 2, 2, 2
    assert original["reference_answer"]["response2"] == "If you have any questions, please let me know."
    assert swapped["reference_answer"]["label"] == 1
    assert swapped["reference_answer"]["response1"] == original["reference_answer"]["response2"]
    assert swapped["reference_answer"]["swapped"] is True


def test_boolean_responses_are_written_as_text(bundled_records: dict[str, list[dict[str, Any]]]) -> None:
    everything = {r["id"]: r for split in bundled_records.values() for r in split}
    assert everything["pandalm-train-00157"]["reference_answer"]["response1"] == "True"


def test_swap_emits_both_orders_with_swapped_labels(bundled_records: dict[str, list[dict[str, Any]]]) -> None:
    everything = {r["id"]: r for split in bundled_records.values() for r in split}
    swaps = [r for r in everything.values() if r["id"].endswith("-swapped")]
    assert swaps
    for swapped in swaps:
        original = everything[base_id(swapped)]
        a, b = original["reference_answer"], swapped["reference_answer"]
        assert (b["response1"], b["response2"]) == (a["response2"], a["response1"])
        assert b["label"] == {1: 2, 2: 1, 0: 0}[a["label"]]
        assert (a["swapped"], b["swapped"]) == (False, True)


def test_no_swap(tmp_path: Path, bundled: PrepResult) -> None:
    result = run(tmp_path, task_options={"swap": False})
    assert result.stats["splits"] == {s: n // 2 for s, n in bundled.stats["splits"].items()}
    assert result.stats["dropped_duplicates"] == bundled.stats["dropped_duplicates"]
    assert not any(r["id"].endswith("-swapped") for split in records(result).values() for r in split)
    # the same rows, in the same splits, as the swapped run's originals
    originals = {
        s: sorted(r["id"] for r in rs if not r["id"].endswith("-swapped"))
        for s, rs in records(bundled).items()
    }
    assert {s: sorted(r["id"] for r in rs) for s, rs in records(result).items()} == originals


def test_identical_responses_are_not_duplicated(tmp_path: Path) -> None:
    rows = synthetic_rows(150)
    rows[0]["response2"] = rows[0]["response1"]
    result = run(
        tmp_path,
        source="local",
        path=write_jsonl(tmp_path / "in.jsonl", rows),
        task_options={"test_fraction": 0},
    )
    ids = [r["id"] for split in records(result).values() for r in split]
    assert "pandalm-train-00000" in ids and "pandalm-train-00000-swapped" not in ids


# -- splits -------------------------------------------------------------------------------------


def assert_no_leak(split_records: dict[str, list[dict[str, Any]]], key: Any) -> None:
    test_keys = {key(r) for r in split_records["test"]}
    assert test_keys
    for split in ("train", "validation"):
        assert not test_keys & {key(r) for r in split_records[split]}, f"{split} shares a test {key.__name__}"


def test_no_test_leakage_by_prompt_or_pair_in_either_order(
    bundled_records: dict[str, list[dict[str, Any]]],
) -> None:
    assert_no_leak(bundled_records, prompt_key)
    assert_no_leak(bundled_records, pair_key)  # pair_key is order-free: both orders are covered


def test_both_orders_of_a_pair_land_in_the_same_split(
    bundled_records: dict[str, list[dict[str, Any]]],
) -> None:
    where: dict[str, set[str]] = {}
    for split, split_records in bundled_records.items():
        for record in split_records:
            where.setdefault(base_id(record), set()).add(split)
    assert all(len(splits) == 1 for splits in where.values())


def test_validation_shares_no_prompt_with_train(bundled_records: dict[str, list[dict[str, Any]]]) -> None:
    validation = {prompt_key(r) for r in bundled_records["validation"]}
    assert validation and not validation & {prompt_key(r) for r in bundled_records["train"]}


def test_group_by_pair_keeps_pairs_together_but_may_share_instructions(tmp_path: Path) -> None:
    result = run(tmp_path, task_options={"group_by": "pair"})
    split_records = records(result)
    assert_no_leak(split_records, pair_key)
    test_prompts = {prompt_key(r) for r in split_records["test"]}
    assert test_prompts & {prompt_key(r) for r in split_records["train"]}  # the looser guarantee


def test_splits_are_seeded_and_the_test_split_ignores_validation_size(
    tmp_path: Path, bundled: PrepResult
) -> None:
    again = run(tmp_path / "again")
    assert again.stats["files"] == bundled.stats["files"]  # byte-identical output
    smaller = run(tmp_path / "smaller", validation_size=60)
    assert smaller.test_path is not None and bundled.test_path is not None
    assert smaller.test_path.read_bytes() == bundled.test_path.read_bytes()
    other_seed = run(tmp_path / "seed", seed=7)
    assert (
        other_seed.test_path is not None
        and other_seed.test_path.read_bytes() != bundled.test_path.read_bytes()
    )


def test_test_fraction(tmp_path: Path) -> None:
    none = run(tmp_path / "none", task_options={"test_fraction": 0})
    assert none.test_path is None and none.stats["splits"]["test"] == 0
    larger = run(tmp_path / "larger", task_options={"test_fraction": 0.3, "swap": False})
    assert 250 <= larger.stats["splits"]["test"] <= 300


@pytest.mark.parametrize(
    ("task_options", "message"),
    [
        ({"test_fraction": 0.9}, "test_fraction=0.9"),
        ({"test_fraction": "a lot"}, "test_fraction='a lot'"),
        ({"swap": "yes"}, "swap='yes'"),
        ({"group_by": "instruction"}, "group_by='instruction'"),
        ({"shuffle": True}, "no option(s) shuffle"),
    ],
)
def test_bad_task_options_are_user_errors(tmp_path: Path, task_options: dict[str, Any], message: str) -> None:
    with pytest.raises(DataPrepError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(tmp_path, task_options=task_options)


# -- other sources ------------------------------------------------------------------------------


def synthetic_rows(count: int, nested: bool = False) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        inputs = {
            "instruction": f"Task {i}: name a colour.",
            "input": "",
            "response1": f"Red {i}",
            "response2": f"Blue {i}",
        }
        result = ["1", "2", "Tie"][i % 3]
        if nested:
            rows.append(
                {"inputs": inputs, "outputs": {"evaluation_result": result, "evaluation_reason": "r"}}
            )
        else:
            rows.append({**inputs, "output": f"{result}\n\n### Reason: because"})
    return rows


@pytest.mark.parametrize("nested", [True, False])
def test_training_format_file(tmp_path: Path, nested: bool) -> None:
    path = write_jsonl(tmp_path / "pandalm_train.jsonl", synthetic_rows(300, nested))
    result = run(tmp_path / "out", source="local", path=path)
    split_records = records(result)
    assert result.stats["splits"] == {"train": 310, "validation": 200, "test": 90}
    everything = {r["id"]: r for rs in split_records.values() for r in rs}
    assert [everything[f"pandalm-train-0000{i}"]["reference_answer"]["label"] for i in range(3)] == [1, 2, 0]
    assert everything["pandalm-train-00002-swapped"]["reference_answer"]["label"] == 0  # a tie stays a tie


def test_nan_input_is_left_out(tmp_path: Path) -> None:
    rows = synthetic_rows(150)
    text = json.dumps(rows).replace('"input": ""', '"input": NaN', 1)  # the test set's bare NaN
    assert "NaN" in text
    path = tmp_path / "rows.json"
    path.write_text(text, encoding="utf-8")
    result = run(
        tmp_path / "out", source="local", path=path, task_options={"test_fraction": 0}, validation_size=0
    )
    first = next(r for r in records(result)["train"] if r["id"] == "pandalm-train-00000")
    assert first["reference_answer"]["input"] == ""
    assert "<input>" not in first["messages"][1]["content"]


def test_official_test_split_is_kept_and_overlap_dropped(tmp_path: Path) -> None:
    rows = synthetic_rows(200)
    test_rows = [rows[0], {**rows[1], "response1": rows[1]["response2"], "response2": rows[1]["response1"]}]
    test_rows += synthetic_rows(260)[200:]
    data = tmp_path / "data"
    write_jsonl(data / "train.jsonl", rows)
    write_jsonl(data / "test.jsonl", test_rows)
    result = run(tmp_path / "out", source="local", path=data, task_options={"group_by": "pair"})
    assert result.stats["dropped_test_overlap"] == 2  # row 0, and row 1 whose pair test shows swapped
    assert result.stats["splits"]["test"] == 2 * len(test_rows)
    assert_no_leak(records(result), pair_key)


def test_rows_with_problems_are_reported(tmp_path: Path) -> None:
    rows = synthetic_rows(150)
    rows[3] = {"instruction": "x", "response1": "a"}  # no response2, no label
    rows[4] = {**rows[4], "output": "neither"}
    with pytest.raises(DataPrepError) as err:
        run(tmp_path / "out", source="local", path=write_jsonl(tmp_path / "in.jsonl", rows))
    message = str(err.value)
    assert "pandalm-train-00003" in message and "pandalm-train-00004" in message
    assert "nothing was written" in message


def test_group_key_is_order_free() -> None:
    by_pair = PrepOptions(task_options={"group_by": "pair"})
    row = {"instruction": "I", "input": "", "response1": "A", "response2": "B"}
    swapped = {**row, "response1": "B", "response2": "A"}
    key = Pandalm().group_key
    assert key(RawRow(row, "train", 0, "x"), by_pair) == key(RawRow(swapped, "train", 1, "y"), by_pair)


# -- CLI ----------------------------------------------------------------------------------------


def test_cli_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "pandalm",
            "--out",
            str(tmp_path),
            "--no-swap",
            "--test-fraction",
            "0.2",
            "--group-by",
            "pair",
            "--quiet",
        ]
    )
    assert code == 0
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["options"]["task_options"] == {"swap": False, "test_fraction": 0.2, "group_by": "pair"}
    assert stats["splits"]["test"] == round(0.2 * (999 - 1 - stats["dropped_duplicates"]))
    assert "pandalm (bundled)" in capsys.readouterr().out


def test_cli_bad_test_fraction_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pandalm", "--out", str(tmp_path), "--test-fraction", "0.8", "--quiet"]) == 2
    assert "test_fraction=0.8" in capsys.readouterr().err


@pytest.mark.parametrize("swap", [True, False])
def test_duplicate_items_are_kept_once_with_both_orders_together(tmp_path: Path, swap: bool) -> None:
    rows = synthetic_rows(300)
    train, test = rows[:240], rows[240:]

    def again(row: dict[str, Any], k: int) -> dict[str, Any]:
        return {**row, **{key: variant(row[key], k) for key in ("instruction", "response1", "response2")}}

    same = [again(train[k], k) for k in range(10)]
    reversed_pair = [
        {**row, "response1": row["response2"], "response2": row["response1"]} for row in train[20:26]
    ]
    same_as_test = [again(test[k], k) for k in range(4)]
    test_group = [{**test[k], "response1": "Green", "response2": "Pink"} for k in range(10, 12)]
    write_jsonl(tmp_path / "src" / "train.jsonl", [*train, *same, *reversed_pair, *same_as_test, *test_group])
    write_jsonl(tmp_path / "src" / "test.jsonl", [*test, *(again(test[k], k + 1) for k in range(3))])

    result = run(tmp_path / "out", source="local", path=tmp_path / "src", task_options={"swap": swap})

    assert_no_shared_prompts(result)
    assert result.stats["dropped_duplicates_by_source_split"] == {"train": 16, "test": 3}
    assert result.stats["dropped_test_overlap_by_source_split"] == {"train": 6, "test": 0}
    per_row = 2 if swap else 1
    assert result.stats["splits"] == {
        "train": 140 * per_row,
        "validation": 100 * per_row,
        "test": 60 * per_row,
    }
    for split, split_records in records(result).items():
        ids = {r["id"] for r in split_records}
        assert all(f"{base_id(r)}-swapped" in ids for r in split_records) is swap, split
