"""The benchmark harness: verdicts, the reported line, paired ratios, and the results file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import harness
from benchmarks.harness import Figure, number, paired, read_results, report, summary


@pytest.mark.parametrize(
    ("measured", "at_least", "verdict"),
    [
        (4.9, False, "PASS"),
        (5.0, False, "PASS"),
        (5.1, False, "OVER"),
        (5.0, True, "PASS"),
        (4.9, True, "UNDER"),
    ],
)
def test_verdict_compares_against_the_goal_in_its_direction(
    measured: float, at_least: bool, verdict: str
) -> None:
    assert Figure("f", measured, 5.0, " ms", at_least=at_least).verdict == verdict


def test_line_is_name_measured_vs_goal_then_verdict_then_note() -> None:
    figure = Figure("GSM8K 200 KB response", 6.25, 5.0, " ms", note="worst shape")
    assert figure.headline() == "GSM8K 200 KB response: 6.25 ms vs <= 5 ms -> OVER"
    assert figure.line() == "GSM8K 200 KB response: 6.25 ms vs <= 5 ms -> OVER   (worst shape)"
    assert Figure("judged", 63, 64, "/64", at_least=True).headline() == "judged: 63/64 vs >= 64/64 -> UNDER"


@pytest.mark.parametrize(
    ("value", "text"), [(7.6234, "7.62"), (0.63149, "0.631"), (23.41, "23.4"), (1600.0, "1,600"), (0.0, "0")]
)
def test_number_keeps_three_significant_figures_without_exponents(value: float, text: str) -> None:
    assert number(value) == text


def test_paired_ratio_is_the_median_of_per_pair_ratios() -> None:
    # A slow spell hits the third pair on both sides; the ratio of medians would be 4/2 = 2.0,
    # the median of the pairs' ratios stays at the undisturbed 3.0.
    baselines = iter([1.0, 2.0, 10.0])
    measured = iter([3.0, 6.0, 4.0])
    result = paired(lambda: next(measured), lambda: next(baselines), runs=3)
    assert result.ratio == 3.0
    assert (result.measured, result.baseline) == (4.0, 2.0)


def test_report_prints_the_line_and_appends_to_the_results_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "figures.jsonl"
    monkeypatch.setenv(harness.RESULTS_ENV, str(results))
    report(Figure("a", 1.0, 2.0, " s", bench="bench_a"))
    report(Figure("b", 3.0, 2.0, " s", bench="bench_b"))
    assert capsys.readouterr().out.splitlines() == ["a: 1 s vs <= 2 s -> PASS", "b: 3 s vs <= 2 s -> OVER"]
    assert [json.loads(line)["name"] for line in results.read_text().splitlines()] == ["a", "b"]
    assert [(f.bench, f.verdict) for f in read_results(results)] == [("bench_a", "PASS"), ("bench_b", "OVER")]


def test_report_without_a_runner_only_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(harness.RESULTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    report(Figure("a", 1.0, 2.0))
    assert capsys.readouterr().out == "a: 1 vs <= 2 -> PASS\n"
    assert list(tmp_path.iterdir()) == []


def test_summary_lists_every_figure_and_counts_the_verdicts() -> None:
    figures = [Figure("a", 1, 2), Figure("b", 3, 2), Figure("c", 1, 2, at_least=True), Figure("d", 0, 1)]
    assert summary(figures) == [
        "  a: 1 vs <= 2 -> PASS",
        "  b: 3 vs <= 2 -> OVER",
        "  c: 1 vs >= 2 -> UNDER",
        "  d: 0 vs <= 1 -> PASS",
        "4 figures: 2 PASS, 1 OVER, 1 UNDER",
    ]
