"""`rft rehearse`: the real reward handler, in-process, on bundled real rollouts and on user files.

The figures the CLI reports are checked against numbers computed here independently: straight from
the bundled file and the reward's own `score` function, not through the CLI's rollouts, handler
calls or analysis.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from gsm8k_reward.scoring import score as gsm8k_score
from typer.testing import CliRunner

from rft.cli import app
from rft.errors import EXIT_DEGENERATE
from rft.rehearse.sources import GSM8K_SOLUTIONS

from .helpers import assert_one_line_error

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def gsm8k_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """One full rehearsal of the bundled GSM8K solutions, shared by the assertions below."""
    out = tmp_path_factory.mktemp("reports")
    result = CliRunner().invoke(app, ["rehearse", "gsm8k", "--out", str(out)], env={"COLUMNS": "140"})
    return result, out


@pytest.fixture(scope="module")
def bundled_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in GSM8K_SOLUTIONS.read_text(encoding="utf-8").splitlines()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def test_bundle_holds_the_labeled_solutions_rewritten_to_the_hash_format(bundled_rows: list[dict]) -> None:
    assert len(bundled_rows) == 1600
    assert len({row["test_index"] for row in bundled_rows}) == 400
    assert not any("\nA: " in row["response"] for row in bundled_rows)
    assert (
        sum(row["response"].rstrip().rsplit("\n", 1)[-1].startswith("#### ") for row in bundled_rows) >= 1595
    )
    assert (GSM8K_SOLUTIONS.parent / "LICENSE-gsm8k").read_text().startswith("MIT License")


def test_agreement_with_labels_matches_an_independent_count(
    gsm8k_run: tuple[Result, Path], bundled_rows: list[dict]
) -> None:
    result, out = gsm8k_run
    assert result.exit_code == 0, result.output
    paid = [gsm8k_score(row["response"], row["gold"]).value >= 0.5 for row in bundled_rows]
    labels = [bool(row["is_correct"]) for row in bundled_rows]
    agree = sum(p == label for p, label in zip(paid, labels, strict=True))
    rewarded_wrong = sum(p and not label for p, label in zip(paid, labels, strict=True))

    report = json.loads((out / "rehearse-gsm8k.json").read_text())
    assert report["labels"]["labeled"] == 1600
    assert report["labels"]["agree"] == agree
    assert report["labels"]["rewarded_wrong"] == rewarded_wrong
    assert f"{agree:,}/1,600 ({agree / 1600:.1%})" in result.stdout
    assert report["mean_score"] == pytest.approx(sum(paid) / 1600)


def test_zero_signal_groups_match_an_independent_count(
    gsm8k_run: tuple[Result, Path], bundled_rows: list[dict]
) -> None:
    result, out = gsm8k_run
    by_question: dict[int, set[float]] = defaultdict(set)
    for row in bundled_rows:
        by_question[row["test_index"]].add(gsm8k_score(row["response"], row["gold"]).value)
    flat = sum(len(scores) == 1 for scores in by_question.values())

    report = json.loads((out / "rehearse-gsm8k.json").read_text())
    assert report["groups"] == {"groups": 400, "zero_signal": flat, "zero_signal_share": flat / 400}
    assert f"{flat}/400" in result.stdout


def test_report_has_format_failures_timing_and_variants(gsm8k_run: tuple[Result, Path]) -> None:
    result, out = gsm8k_run
    report = json.loads((out / "rehearse-gsm8k.json").read_text())
    # The five solutions cut off before their final line have no anchored answer.
    assert report["format_failures"] == 5
    assert report["metric_rates"]["no_answer"] == pytest.approx(5 / 1600)
    assert report["timing"]["kind"] == "per sample"
    timing = report["timing"]
    assert 0 < timing["p95_ms"] <= timing["max_ms"] and 0 < timing["mean_ms"] <= timing["max_ms"]
    assert timing["slowest"][0]["ms"] == timing["max_ms"]
    assert len(report["timing"]["slowest"]) == 5
    assert {row["variant"] for row in report["variants"]} == {
        "6b_finetuning",
        "6b_verification",
        "175b_finetuning",
        "175b_verification",
    }
    assert report["batch_dependent"] == []
    assert report["degenerate"] == []
    assert "Slowest samples" in result.stdout and "OK" in result.stdout


def test_histogram_png_is_written(gsm8k_run: tuple[Result, Path]) -> None:
    result, out = gsm8k_run
    png = out / "rehearse-gsm8k.png"
    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5_000
    assert f"wrote {png}" in " ".join(result.stdout.split())


def test_constant_zero_reward_is_degenerate(run_cli: Callable[..., Result], tmp_path: Path) -> None:
    """Answers without the `####` anchor all score 0: the CLI must refuse, say why and what to check."""
    rows = [
        {"prompt_id": f"q{i // 4}", "response": f"The total is {i}.", "reference": {"final_answer": str(i)}}
        for i in range(40)
    ]
    result = run_cli(
        "rehearse",
        "gsm8k",
        "--responses",
        str(write_jsonl(tmp_path / "r.jsonl", rows)),
        "--out",
        str(tmp_path),
    )
    assert result.exit_code == EXIT_DEGENERATE
    assert "Traceback" not in result.output
    assert "DEGENERATE REWARD" in result.stdout
    stderr = " ".join(result.stderr.split())
    assert stderr.startswith("error: degenerate reward: every sample scored 0")
    assert "answer format" in stderr and "reference_answer" in stderr
    report = json.loads((tmp_path / "rehearse-gsm8k.json").read_text())
    assert report["max_score"] == 0 and report["format_failures"] == 40
    assert report["groups"]["zero_signal"] == 10
    assert (tmp_path / "rehearse-gsm8k.png").read_bytes().startswith(PNG_MAGIC)


def test_nearly_constant_reward_is_degenerate(run_cli: Callable[..., Result], tmp_path: Path) -> None:
    rows = [{"prompt_id": f"q{i}", "response": "#### 7", "reference": "7"} for i in range(97)]
    rows += [{"prompt_id": f"q{i}", "response": "#### 8", "reference": "7"} for i in range(97, 100)]
    result = run_cli(
        "rehearse",
        "gsm8k",
        "--responses",
        str(write_jsonl(tmp_path / "r.jsonl", rows)),
        "--out",
        str(tmp_path),
    )
    assert result.exit_code == EXIT_DEGENERATE
    assert "97.0% of samples scored exactly 1" in " ".join(result.stderr.split())


def test_user_rollouts_with_labels_and_n(run_cli: Callable[..., Result], tmp_path: Path) -> None:
    rows = [
        {"prompt_id": "a", "response": "#### 12", "reference": "12", "label": True, "prompt": "6+6?"},
        {"prompt_id": "a", "response": "#### 13", "reference": "12", "label": False},
        {"prompt_id": "b", "response": "\\boxed{5}", "reference": {"final_answer": "5"}, "label": 1},
        {"prompt_id": "b", "response": "I think 5", "reference": "5", "label": "yes"},  # no anchor: missed
        {"prompt_id": "c", "response": "#### 1", "reference": "1", "label": True},
    ]
    path = write_jsonl(tmp_path / "mine.jsonl", rows)
    result = run_cli("rehearse", "gsm8k", "--responses", str(path), "--n", "4", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "rehearse-gsm8k.json").read_text())
    assert report["samples"] == 4 and report["prompt_groups"] == 2
    assert report["labels"] == {
        "labeled": 4,
        "agree": 3,
        "rewarded_wrong": 0,
        "missed_correct": 1,
        "disagreeing_ids": ["line-4"],
        "rate": 0.75,
    }


def test_finqa_variants_pay_exactly_the_right_answers(run_cli: Callable[..., Result], tmp_path: Path) -> None:
    result = run_cli("rehearse", "finqa", "--n", "60", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "rehearse-finqa.json").read_text())
    variants = {row["variant"]: row for row in report["variants"]}
    assert variants["correct"]["mean_score"] == 1.0
    assert variants["wrong"]["mean_score"] == 0.0
    assert variants["unmarked"]["mean_score"] == 0.0
    flipped = [row for name, row in variants.items() if name.endswith("flipped")]
    assert flipped and all(row["mean_score"] == 1.0 for row in flipped)
    assert report["labels"]["agree"] == report["labels"]["labeled"] == 60


def test_pandalm_offline_scores_the_verdict_only_and_says_so(
    run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    rows = [
        {
            "prompt_id": "p1",
            "response": "JUDGMENT: Response 1\nREASONING: It answers.",
            "reference": {"label": 1},
        },
        {"prompt_id": "p2", "response": "JUDGMENT: Tie\nREASONING: Both fine.", "reference": {"label": 2}},
        {"prompt_id": "p3", "response": "Response 2 is better.", "reference": {"label": 2}},
        {"prompt_id": "p4", "response": "JUDGMENT: Response 2", "reference": {"label": 2}},
    ]
    path = write_jsonl(tmp_path / "judgments.jsonl", rows)
    result = run_cli("rehearse", "pandalm", "--responses", str(path), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "WITHOUT AWS this scores only the code-checked verdict" in " ".join(result.stdout.split())
    report = json.loads((tmp_path / "rehearse-pandalm.json").read_text())
    assert report["mean_score"] == pytest.approx((1 + 0 + 0 + 1) / 4)  # the verdict alone, no judge part
    assert report["format_failures"] == 2  # no JUDGMENT; JUDGMENT without REASONING
    assert report["groups"]["zero_signal_share"] is None  # one sample per prompt: not measurable


def test_judge_option_is_refused_for_a_reward_checked_in_code(run_cli: Callable[..., Result]) -> None:
    assert_one_line_error(run_cli("rehearse", "gsm8k", "--judge", "bedrock"), "checked in code")


def test_bedrock_judge_needs_credentials(
    run_cli: Callable[..., Result], no_credentials: None, tmp_path: Path
) -> None:
    rows = [
        {
            "prompt_id": f"p{label}",
            "response": "JUDGMENT: Response 1\nREASONING: ok",
            "reference": {"label": label},
        }
        for label in (1, 2)
    ]
    path = write_jsonl(tmp_path / "j.jsonl", rows)
    result = run_cli("rehearse", "pandalm", "--responses", str(path), "--judge", "bedrock")
    assert_one_line_error(result, "no AWS credentials", "or rehearse without --judge")
    offline = run_cli("rehearse", "pandalm", "--responses", str(path), "--out", str(tmp_path))
    assert offline.exit_code == 0, offline.output  # the suggestion works


def test_a_stack_name_finds_its_task(run_cli: Callable[..., Result], tmp_path: Path) -> None:
    rows = [{"prompt_id": "a", "response": f"#### {n}", "reference": "12"} for n in (12, 13)]
    path = write_jsonl(tmp_path / "r.jsonl", rows)
    result = run_cli("rehearse", "GsmRftStack", "--responses", str(path), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "Rehearsal of the gsm8k reward" in result.stdout
    assert json.loads((tmp_path / "rehearse-gsm8k.json").read_text())["mean_score"] == 0.5


@pytest.mark.parametrize(
    ("lines", "fragments"),
    [
        (["{not json"], ("r.jsonl:1", "not valid JSON")),
        (['{"prompt_id": "a", "response": "#### 1"}'], ("r.jsonl:1", "missing reference")),
        (['{"prompt_id": "a", "response": 5, "reference": "5"}'], ("'response' must be a string",)),
        (
            ['{"prompt_id": "a", "response": "x", "reference": "5", "label": "maybe"}'],
            ("'label' must be true/false",),
        ),
        ([""], ("has no rollouts",)),
    ],
)
def test_bad_responses_file_is_one_clear_error(
    run_cli: Callable[..., Result], tmp_path: Path, lines: list[str], fragments: tuple[str, ...]
) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    assert_one_line_error(run_cli("rehearse", "gsm8k", "--responses", str(path)), *fragments)


def test_pandalm_bundled_verdicts_score_as_an_independent_count(
    run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    """The verdict part of PandaLM-7B's real answers equals (its verdict == the human majority)."""
    from rft.rehearse.sources import PANDALM_VERDICTS

    pairs = json.loads(
        (Path(__file__).resolve().parents[2] / "data_prep/samples/pandalm/testset-v1.json").read_text(),
        parse_constant=lambda _: None,
    )
    verdicts = {v["idx"]: v for v in map(json.loads, PANDALM_VERDICTS.read_text().splitlines())}
    kept = [p["idx"] for p in pairs if isinstance(p["instruction"], str) and p["instruction"].strip()][:200]
    expected = sum(verdicts[i]["pandalm_result"] == verdicts[i]["human_label"] for i in kept) / len(kept)

    result = run_cli("rehearse", "pandalm", "--n", "200", "--out", str(tmp_path))

    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "rehearse-pandalm.json").read_text())
    assert report["samples"] == 200
    assert report["mean_score"] == pytest.approx(expected)
    assert report["format_failures"] == 0  # every verdict, written in the prompted form, is readable
    assert report["labels"]["agree"] == 200
    assert (PANDALM_VERDICTS.parent / "LICENSE-pandalm").read_text().lstrip().startswith("Apache License")
