"""`results.from_json`: a report's JSON read back prints the same table `rft evaluate` printed."""

from __future__ import annotations

import copy
import json
import math

import pytest
from rft_eval.results import Accuracy, from_json
from rich.console import Console

from rft.evaluate import report

from .workflow import evaluation


def rendered(evaluation_: object) -> str:
    console = Console(record=True, width=140, highlight=False)
    report.render(console, evaluation_, [])  # type: ignore[arg-type]
    return console.export_text()


def test_read_back_report_prints_the_table_of_the_evaluation_it_was_written_from() -> None:
    original = evaluation()
    read_back = from_json(json.loads(json.dumps(original.to_json())))

    text = rendered(read_back)
    assert text == rendered(original)
    # the figures a reader looks for are there, not just the same blank table
    base, tuned = original.results
    assert f"{base.accuracy.value:.1%}" in text and f"{tuned.accuracy.value:.1%}" in text
    assert "tuned (custom-model-deployment/k3yd3pl0ym3nt)" in text
    assert "2 calls failed (ThrottlingException ×1, ModelTimeoutException ×1)" in text


def test_read_back_report_writes_the_same_json_and_markdown() -> None:
    original = evaluation()
    data = original.to_json()
    read_back = from_json(copy.deepcopy(data))
    assert read_back.to_json() == data
    assert report.markdown(read_back) == report.markdown(original)


def test_comparisons_are_the_reports_not_recomputed() -> None:
    data = evaluation().to_json()
    data["comparisons"][0]["improved"] = ["gsm8k-test-0099"]
    data["comparisons"][0]["regressed"] = []
    comparison = from_json(data).comparisons[0]
    assert comparison.improved == ["gsm8k-test-0099"] and comparison.regressed == []
    assert comparison.p_value == 1.0  # one discordant prompt: a fair coin
    assert comparison.candidate_name.startswith("tuned (")


def test_code_checked_accuracy_and_missing_latency_are_read_back() -> None:
    data = evaluation().to_json()
    data["models"][0]["code_checked"] = {
        "label": "verdict only",
        "accuracy": 0.5,
        "ci95": [0.3, 0.7],
        "correct": 10,
        "responses": 20,
    }
    data["models"][1]["mean_latency_ms"] = None
    base, tuned = from_json(data).results
    assert base.code_checked == Accuracy(10, 20) and base.code_checked_label == "verdict only"
    assert math.isnan(tuned.mean_latency_ms)
    text = rendered(from_json(data))
    assert "accuracy (verdict only)" in text and "n/a" in text


@pytest.mark.parametrize("broken", ["models", "prompts", "task"])
def test_a_json_that_is_not_a_report_raises_key_error(broken: str) -> None:
    data = evaluation().to_json()
    del data[broken]
    with pytest.raises(KeyError):
        from_json(data)


def test_failed_shards_and_labels_are_read_back_and_printed() -> None:
    data = evaluation().to_json()
    shard = {
        "label": "tuned",
        "model": "m",
        "index": 3,
        "start": 30,
        "end": 40,
        "prompts": 10,
        "error": "boom",
    }
    data["failed_shards"] = [shard]
    read_back = from_json(data)
    assert read_back.failed_shards == [shard]
    comparison = read_back.comparisons[0]
    assert (comparison.baseline_label, comparison.candidate_label) == ("base", "tuned")
    text = rendered(read_back)
    assert "tuned shard 3 (prompts 30–40, 10 prompts) failed: boom" in text
    assert read_back.to_json()["failed_shards"] == [shard]
