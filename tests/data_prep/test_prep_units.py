"""The shared building blocks: carving, readers, writing, stats, messages, GSM8K answer parsing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_prep.converters.gsm8k import final_answer
from data_prep.errors import DataPrepError, Problem
from data_prep.progress import Progress
from data_prep.readers import read_json_document, read_jsonl
from data_prep.splitting import carve, subsample
from data_prep.stats import token_summary
from data_prep.writing import write_if_changed


@given(
    groups=st.lists(st.integers(min_value=0, max_value=30), max_size=120),
    size=st.integers(min_value=0, max_value=150),
    seed=st.integers(),
)
def test_carve_keeps_groups_whole_and_order_stable(groups: list[int], size: int, seed: int) -> None:
    rows = list(enumerate(groups))  # (position, group)
    kept, carved = carve(rows, size, seed, group_key=lambda row: row[1])
    assert sorted(kept + carved) == rows
    assert kept == sorted(kept) and carved == sorted(carved)
    assert len(carved) <= size
    assert not {g for _, g in kept} & {g for _, g in carved}
    assert carve(rows, size, seed, group_key=lambda row: row[1]) == (kept, carved)


@given(
    n=st.integers(min_value=0, max_value=300),
    size=st.integers(min_value=0, max_value=300),
    seed=st.integers(),
)
def test_carve_of_single_rows_is_exact(n: int, size: int, seed: int) -> None:
    kept, carved = carve(list(range(n)), size, seed)
    assert len(carved) == min(n, size) and len(kept) == n - len(carved)


def test_subsample_keeps_everything_when_small_enough() -> None:
    assert subsample([3, 1, 2], 5, seed=1) == [3, 1, 2]
    assert len(subsample(list(range(100)), 10, seed=1)) == 10


def test_read_jsonl_does_not_split_on_unicode_line_separators(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"q": "a\u2028b"}\n{"q": "c"}\n', encoding="utf-8")
    rows = read_jsonl(path)
    assert rows == [{"q": "a\u2028b"}, {"q": "c"}] and rows.locate(1) == "rows.jsonl:2"


def test_read_jsonl_rejects_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"q": "\xff"}\n')
    with pytest.raises(DataPrepError, match="not UTF-8"):
        read_jsonl(path)


def test_read_json_document_accepts_bare_nan_and_locates_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text('[{"input": NaN, "x": 1}]')
    rows = read_json_document(good)
    assert rows[0]["x"] == 1 and rows[0]["input"] != rows[0]["input"]  # NaN
    bad = tmp_path / "bad.json"
    bad.write_text('[\n{"x": 1},\n{"x": }\n]')
    with pytest.raises(DataPrepError, match=r"bad.json:3: not valid JSON"):
        read_json_document(bad)
    scalar = tmp_path / "scalar.json"
    scalar.write_text('{"x": 1}')
    with pytest.raises(DataPrepError, match="expected a JSON array"):
        read_json_document(scalar)


def test_write_if_changed(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "f.jsonl"
    assert write_if_changed(path, b"a\n") is True
    assert write_if_changed(path, b"a\n") is False
    assert write_if_changed(path, b"b\n") is True and path.read_bytes() == b"b\n"
    assert [p.name for p in path.parent.iterdir()] == ["f.jsonl"]  # no temp files left


def test_token_summary_uses_nearest_rank_integers() -> None:
    assert token_summary(list(range(1, 101)), 512) == {
        "min": 1,
        "median": 50,
        "p95": 95,
        "max": 100,
        "limit": 512,
    }
    assert token_summary([], 10)["median"] is None


def test_progress_prints_every_n_rows_only_for_large_totals(capsys) -> None:
    big = Progress("converted", total=25, every=10)
    for _ in range(25):
        big.tick()
    assert capsys.readouterr().err.splitlines() == [
        "data_prep: converted 10/25 rows",
        "data_prep: converted 20/25 rows",
    ]
    small = Progress("converted", total=10, every=10)
    for _ in range(10):
        small.tick()
    assert capsys.readouterr().err == ""


def test_problem_message_lists_first_offenders_and_the_fix() -> None:
    problem = Problem("rule X", tuple(f"r{i}" for i in range(8)), "do Y")
    assert problem.describe() == "rule X: 8 records break this rule: r0, r1, r2, r3, r4 and 3 more. Fix: do Y"


@pytest.mark.parametrize(
    ("solution", "expected"),
    [
        ("a\nb\n#### 72", "72"),
        ("x\n#### 1,080\n", "1,080"),
        ("x\n####-3", "-3"),
        ("x\n#### 0.5  ", "0.5"),
        ("x\n#### forty", None),
        ("#### 5\nmore text", None),
        ("no anchor", None),
        ("", None),
    ],
)
def test_gsm8k_final_answer(solution: str, expected: str | None) -> None:
    assert final_answer(solution) == expected
