"""`python -m data_prep`: exit codes, summary, progress, and no traceback on user errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from data_prep.cli import main
from tests.data_prep.prep_testing import gsm8k_rows, write_jsonl

ROOT = Path(__file__).resolve().parents[2]


def test_default_run_writes_build_data_gsm8k(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["gsm8k"]) == 0
    out = capsys.readouterr().out
    assert "gsm8k (bundled) -> build/data/gsm8k" in out
    assert "train          900" in out and "validation     100" in out and "test           200" in out
    assert "prompt tokens (estimated): min " in out and "limit 512" in out
    stats = json.loads((tmp_path / "build/data/gsm8k/stats.json").read_text())
    assert stats["splits"] == {"train": 900, "validation": 100, "test": 200}


def test_options_reach_prepare(tmp_path: Path, capsys) -> None:
    code = main(
        [
            "gsm8k",
            "--out",
            str(tmp_path),
            "--seed",
            "7",
            "--validation-size",
            "150",
            "--max-train",
            "400",
            "--max-prompt-tokens",
            "180",
            "--on-overlong",
            "drop",
            "--chars-per-token",
            "3.5",
            "--quiet",
        ]
    )
    assert code == 0
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["options"]["seed"] == 7 and stats["options"]["validation_size"] == 150
    assert stats["splits"]["train"] == 400 and stats["splits"]["validation"] == 150
    assert stats["prompt_tokens"]["limit"] == 180 and stats["chars_per_token"] == 3.5
    assert stats["dropped_overlong"] > 0
    assert "dropped: " in capsys.readouterr().out


def test_path_implies_local_source(tmp_path: Path, capsys, sample_train) -> None:
    data = write_jsonl(tmp_path / "mine.jsonl", sample_train[:250])
    assert main(["gsm8k", "--path", str(data), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert f"gsm8k (local {data})" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["gsm8k", "--path", "/definitely/missing.jsonl"], "error: /definitely/missing.jsonl: no such file"),
        (["gsm8k", "--max-prompt-tokens", "100"], "error: gsm8k: the data breaks 1 rule"),
        (
            ["gsm8k", "--source", "bundled", "--path", "x.jsonl"],
            "error: path= is only used with source='local'",
        ),
    ],
)
def test_user_errors_exit_2_with_a_message(tmp_path: Path, capsys, argv: list[str], expected: str) -> None:
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(expected)
    assert "Traceback" not in captured.err and captured.out == ""


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["gsm9k"],
        ["gsm8k", "--on-overlong", "skip"],
        ["gsm8k", "--max-train", "0"],
        ["gsm8k", "--seed", "x"],
    ],
)
def test_bad_arguments_exit_2(capsys, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_progress_lines_on_large_inputs(tmp_path: Path, capsys, sample_train) -> None:
    data = write_jsonl(tmp_path / "big.jsonl", gsm8k_rows(sample_train, 6_000))
    assert main(["gsm8k", "--path", str(data), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "data_prep: reading big.jsonl: 5,000 rows" in err
    assert "data_prep: gsm8k: converted 5,000/6,000 rows" in err
    assert main(["gsm8k", "--path", str(data), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_small_inputs_print_no_progress(tmp_path: Path, capsys) -> None:
    assert main(["gsm8k", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""


def test_module_entry_point_reports_errors_without_traceback(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "data_prep",
            "gsm8k",
            "--path",
            str(tmp_path / "missing"),
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert run.stderr.startswith("error: ") and "Traceback" not in run.stderr


def test_help_lists_the_registered_tasks() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "data_prep", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0 and "gsm8k" in run.stdout
