"""`python -m local_aws evaluate-demo`: the real `rft evaluate` CLI against the emulator's replay.

The step starts its own emulator (so this module uses none of conftest's), shells out to `rft
evaluate gsm8k` with two replayed models, and must report each model's accuracy equal to the share
of its recorded solutions GSM8K's authors labeled correct, counted here straight from the bundle.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_prep import prepare
from local_aws import converse_replay, evaluate_demo


@pytest.fixture(scope="module")
def test_split(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gsm8k-data")
    prepare("gsm8k", out)
    return out / "test.jsonl"


def labeled_correct(test_split: Path, model: str) -> tuple[int, int]:
    """(correct, prompts) for a recorded model on the split, from the bundle's `is_correct` labels."""
    rows = [
        json.loads(line)
        for line in converse_replay.SOLUTIONS.read_text(encoding="utf-8").splitlines()
        if line
    ]
    label = {
        converse_replay.normalize(r["question"]): r["is_correct"]
        for r in rows
        if converse_replay.model_id(r["model"]) == model
    }
    records = [json.loads(line) for line in test_split.read_text(encoding="utf-8").splitlines() if line]
    correct = 0
    for record in records:
        user = converse_replay.normalize(
            next(m["content"] for m in record["messages"] if m["role"] == "user")
        )
        matches = [q for q in label if q in user]
        assert len(matches) == 1, record["id"]
        correct += bool(label[matches[0]])
    return correct, len(records)


def test_the_step_reports_the_labels_rates_delta_and_p_value(test_split: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    code = evaluate_demo.run_evaluate_demo(out_dir=tmp_path, test_split=test_split, print_line=lines.append)
    assert code == 0, "\n".join(lines)
    assert "REPLAY of recorded GSM8K solutions" in lines[0] and "not a live model" in lines[0]
    report = json.loads((tmp_path / "evaluate-gsm8k.json").read_text(encoding="utf-8"))
    by_model = {m["model"]: m for m in report["models"]}
    baseline, candidate = evaluate_demo.MODELS
    for model in evaluate_demo.MODELS:
        correct, prompts = labeled_correct(test_split, model)
        assert (by_model[model]["correct"], by_model[model]["prompts"]) == (correct, prompts)
        assert by_model[model]["errors"] == 0
        assert any(f"{model}" in line and f"{correct}/{prompts}" in line for line in lines)
    # The split data_prep writes from the bundled sample: 200 questions, 75 and 110 labeled correct.
    assert labeled_correct(test_split, baseline) == (75, 200)
    assert labeled_correct(test_split, candidate) == (110, 200)
    (comparison,) = report["comparisons"]
    assert comparison["delta"] == pytest.approx((110 - 75) / 200)
    assert any("delta +17.5 points" in line and "McNemar p" in line for line in lines)
    assert (tmp_path / "evaluate-gsm8k.html").is_file()


def test_a_figure_that_differs_from_the_labels_fails_loudly() -> None:
    model = evaluate_demo.MODELS[0]
    report = {
        "models": [{"model": model, "prompts": 200, "correct": 74, "accuracy": 0.37, "errors": 0}],
        "comparisons": [],
    }
    with pytest.raises(
        evaluate_demo.EvaluateDemoFailure, match="74/200 correct but GSM8K's labels say 75/200"
    ):
        evaluate_demo.check(report, 200, {model: 75}, lambda _: None)


def test_a_missing_test_split_names_data_prep(tmp_path: Path) -> None:
    lines: list[str] = []
    code = evaluate_demo.run_evaluate_demo(
        out_dir=tmp_path, test_split=tmp_path / "test.jsonl", print_line=lines.append
    )
    assert code == 1
    assert "python -m data_prep gsm8k" in lines[-1]
