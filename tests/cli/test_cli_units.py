"""The CLI's pure pieces: contract checks, degeneracy rules, FinQA variants, metrics CSVs, backoff, watch."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from rft.contract import check_results
from rft.job_control import backoff_delays, format_elapsed, job_view, watch
from rft.rehearse.analysis import percentile, summarize
from rft.rehearse.rollouts import Rollout, to_bedrock_sample
from rft.rehearse.runner import run
from rft.rehearse.sources import finqa_answer_variants, pandalm_response
from rft.training_metrics import metrics_prefix, parse_metrics_csv

from .helpers import JOB_NAME


def rollout(i: int, group: str, label: bool | None = None) -> Rollout:
    return Rollout(f"s{i}", group, [{"role": "user", "content": "q"}], f"#### {i}", "1", label)


def good_result(sample: dict[str, Any], score: float) -> dict[str, Any]:
    return {
        "id": sample["id"],
        "aggregate_reward_score": score,
        "metrics_list": [
            {"name": "reward", "value": score, "type": "Reward"},
            {"name": "format_ok", "value": 1.0, "type": "Metric"},
        ],
    }


# -- contract ---------------------------------------------------------------------------------


def test_check_results_accepts_a_correct_answer() -> None:
    samples = [to_bedrock_sample(rollout(i, "g")) for i in range(3)]
    results, problems = check_results(samples, [good_result(s, 0.5) for s in samples])
    assert problems == []
    assert [r.score for r in results] == [0.5, 0.5, 0.5]


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda rs: rs[:2], "3 samples in, 2 results out"),
        (lambda rs: [rs[1], rs[0], rs[2]], "expected 's0' (input order)"),
        (lambda rs: [{**rs[0], "aggregate_reward_score": float("nan")}, *rs[1:]], "not a finite number"),
        (lambda rs: [{**rs[0], "aggregate_reward_score": 1.5}, *rs[1:]], "not a finite number in [0, 1]"),
        (lambda rs: [{**rs[0], "metrics_list": []}, *rs[1:]], "no format_ok metric"),
        (lambda rs: {"results": rs}, "not a JSON array"),
    ],
)
def test_check_results_names_each_contract_break(mutate: Any, problem: str) -> None:
    samples = [to_bedrock_sample(rollout(i, "g")) for i in range(3)]
    _, problems = check_results(samples, mutate([good_result(s, 1.0) for s in samples]))
    assert any(problem in p for p in problems), problems


def test_a_handler_that_breaks_the_contract_is_degenerate() -> None:
    def drops_the_last(batch: list[dict[str, Any]], context: Any) -> list[dict[str, Any]]:
        return [good_result(s, float(i % 2)) for i, s in enumerate(batch[:-1])]

    outcome = run(drops_the_last, [rollout(i, f"g{i // 2}") for i in range(8)], batch_size=4, time_each=False)
    summary = summarize(outcome, task="t", handler="h", source="s")
    assert outcome.contract_problems and summary.degenerate
    assert "breaks the reward Lambda contract" in summary.degenerate[0]


def test_a_score_that_depends_on_the_batch_is_reported() -> None:
    def batch_mean(batch: list[dict[str, Any]], context: Any) -> list[dict[str, Any]]:
        return [good_result(s, 1.0 / len(batch)) for s in batch]

    outcome = run(batch_mean, [rollout(i, "g") for i in range(4)], batch_size=4, time_each=True)
    assert outcome.batch_dependent == ["s0", "s1", "s2", "s3"]


# -- degeneracy -------------------------------------------------------------------------------


def scored_summary(scores: list[float], groups: list[str]) -> Any:
    from rft.rehearse.runner import RunOutcome, Scored

    scored = [
        Scored(rollout(i, g), s, True, {}, 0.001) for i, (s, g) in enumerate(zip(scores, groups, strict=True))
    ]
    return summarize(RunOutcome(scored, 1, len(scored), 0.1, "per sample"), task="t", handler="h", source="s")


def test_identical_share_limit_is_strictly_above_95_percent() -> None:
    groups = [f"g{i}" for i in range(100)]  # one sample per prompt: only the identical-share rule applies
    assert scored_summary([1.0] * 95 + [0.0] * 5, groups).degenerate == []
    reasons = scored_summary([1.0] * 96 + [0.0] * 4, groups).degenerate
    assert len(reasons) == 1 and reasons[0].startswith("96.0% of samples scored exactly 1")


def test_all_zero_is_degenerate_even_with_one_sample_per_prompt() -> None:
    summary = scored_summary([0.0] * 10, [f"g{i}" for i in range(10)])
    assert math.isnan(summary.groups.share)
    assert summary.degenerate[0].startswith("every sample scored 0")


def test_flat_prompt_groups_are_degenerate_even_when_scores_vary() -> None:
    # Every group is flat (all 0 or all 1) although the batch as a whole is half and half.
    summary = scored_summary([0.0] * 4 + [1.0] * 4, ["a"] * 4 + ["b"] * 4)
    assert summary.groups.zero_signal == 2
    assert any("no gradient" in r for r in summary.degenerate)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 95) == 95.0
    assert percentile([3.0], 95) == 3.0
    assert math.isnan(percentile([], 95))


# -- bundled rollouts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "expected"),
    [
        (0.0937, {"correct": "ANSWER: 0.0937", "percent-flipped": "ANSWER: 9.37%"}),
        ("14.1%", {"correct": "ANSWER: 14.1%", "decimal-flipped": "ANSWER: 0.141"}),
        (-3.0, {"correct": "ANSWER: -3", "percent-flipped": "ANSWER: -300%"}),
        ("yes", {"correct": "ANSWER: yes", "wrong": "ANSWER: no"}),
    ],
)
def test_finqa_variants(gold: Any, expected: dict[str, str]) -> None:
    variants = {name: (text, label) for name, text, label in finqa_answer_variants(gold)}
    for name, text in expected.items():
        assert variants[name][0] == text
    assert variants["correct"][1] is True and variants["wrong"][1] is False
    assert variants["unmarked"][1] is False and "ANSWER" not in variants["unmarked"][0]


@pytest.mark.parametrize("gold", [0.0, 1 / 99, 0.01, 5.0, -2.0, 1234.5, 100.0])
def test_finqa_wrong_variant_matches_no_reading_of_the_gold(gold: float) -> None:
    wrong = next(text for name, text, _ in finqa_answer_variants(gold) if name == "wrong")
    value = float(wrong.removeprefix("ANSWER: ").rstrip("%"))
    for reading in (value, value / 100, value * 100):
        assert abs(reading - gold) > 0.01 * max(abs(gold), 1e-4)


def test_finqa_gold_that_is_not_a_number_or_yes_no_gives_no_variants() -> None:
    assert finqa_answer_variants("n/a") == []


def test_pandalm_response_uses_the_prompted_answer_form() -> None:
    assert pandalm_response(0, " Both are fine. ") == "JUDGMENT: Tie\nREASONING: Both are fine."
    assert pandalm_response(2, "B").startswith("JUDGMENT: Response 2\n")


# -- job metrics and watching -----------------------------------------------------------------


def test_metrics_csv_prefers_reward_columns() -> None:
    table = parse_metrics_csv(
        "step_number,epoch_number,training_loss,mean_reward\n0,0,2.0,0.1\n5,0,1.5,\n10,0,1.0,0.4\n"
    )
    assert table.steps == [0.0, 5.0, 10.0]
    assert table.curve_columns() == {"mean_reward": ([0.0, 10.0], [0.1, 0.4])}


def test_metrics_csv_falls_back_to_loss_columns() -> None:
    table = parse_metrics_csv("step_number,epoch_number,training_loss,perplexity\n1,0,2.0,7.4\n2,0,1.5,4.5\n")
    assert table.curve_columns() == {"training_loss": ([1.0, 2.0], [2.0, 1.5])}
    assert parse_metrics_csv("").curve_columns() == {}


def test_metrics_folder_follows_the_documented_layout() -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-2-lite-v1:0:256k/abc123"
    assert metrics_prefix("s3://bucket/rft-output/", arn) == (
        "bucket",
        "rft-output/model-customization-job-abc123/",
    )
    assert metrics_prefix("s3://bucket", arn) == ("bucket", "model-customization-job-abc123/")


def test_backoff_grows_and_caps() -> None:
    assert list(islice(backoff_delays(15, 1.5, 40), 5)) == [15, 22.5, 33.75, 40, 40]


def test_job_view_reads_rft_hyperparameters_and_elapsed_time() -> None:
    created = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    view = job_view(
        {
            "jobName": "j",
            "status": "InProgress",
            "creationTime": created,
            "endTime": created,  # ignored while running
            "customizationConfig": {"rftConfig": {"hyperParameters": {"epochCount": 2}}},
            "hyperParameters": {"ignored": "1"},
            "statusDetails": {"trainingDetails": {"status": "InProgress"}},
        }
    )
    assert view.hyperparameters == {"epochCount": 2}
    assert view.stages == [("training", "InProgress")]
    assert format_elapsed(view.elapsed(created + timedelta(hours=2, minutes=5, seconds=3))) == "2h 05m 03s"


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ({"lastModifiedTime": 5 * 60}, "5m 00s"),  # a Stopped job with no endTime
        ({"endTime": 0, "lastModifiedTime": 7 * 60}, "7m 00s"),  # the later of the two
        ({"endTime": 3 * 60 + 2, "lastModifiedTime": 60}, "3m 02s"),
        ({"endTime": 0, "lastModifiedTime": 0}, "unknown"),  # the emulator: nothing after creation
        ({}, "unknown"),
    ],
)
def test_elapsed_of_an_ended_job_runs_to_its_latest_recorded_time(
    times: dict[str, int], expected: str
) -> None:
    created = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    job = {"jobName": "j", "status": "Stopped", "creationTime": created}
    job.update({key: created + timedelta(seconds=offset) for key, offset in times.items()})
    view = job_view(job)
    assert format_elapsed(view.elapsed(created + timedelta(days=3))) == expected


def test_elapsed_of_a_running_job_runs_to_now() -> None:
    created = datetime(2026, 1, 1, 8, 0)  # naive, as moto's timestamps parse: read as UTC
    view = job_view({"status": "InProgress", "creationTime": created, "lastModifiedTime": created})
    assert format_elapsed(view.elapsed(datetime(2026, 1, 1, 8, 1, 30, tzinfo=UTC))) == "1m 30s"


def test_no_rft_module_shares_a_name_with_a_lambda_module() -> None:
    """`rft/jobs.py` beside `lambda/rft_job/jobs.py` sent readers (and imports) to the wrong one."""
    root = Path(__file__).resolve().parents[2]

    def names(folder: Path) -> set[str]:
        return {p.stem for p in folder.rglob("*.py") if not p.stem.startswith("__")}

    assert names(root / "rft") & names(root / "lambda") == set()


def test_watch_draws_a_live_table_in_a_terminal(deployed: Any) -> None:
    """The terminal path (CliRunner output is not a terminal, so the CLI tests cover the other one)."""
    import boto3

    job = deployed()
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120)
    bedrock = boto3.client("bedrock", region_name="us-east-1")
    first = bedrock.get_model_customization_job(jobIdentifier=JOB_NAME)

    final = watch(
        bedrock, JOB_NAME, console, first=first, sleep=lambda _: job.set_status("Stopped"), delays=iter([1.0])
    )

    assert final["status"] == "Stopped"
    text = buffer.getvalue()
    assert "InProgress → Stopped" in text and "final state after 2 polls" in text


def test_failure_metrics_become_warnings_with_what_to_check() -> None:
    from rft.rehearse.runner import RunOutcome, Scored

    scored = [
        Scored(rollout(0, "a"), 0.0, False, {"missing_reference": 1.0}, 0.001),
        Scored(rollout(1, "a"), 1.0, True, {"missing_reference": 0.0, "verdict": 1.0}, 0.001),
    ]
    summary = summarize(RunOutcome(scored, 1, 2, 0.1, "per sample"), task="t", handler="h", source="s")
    assert summary.warnings == [
        "missing_reference on 50.0% of samples: no reference_answer reached the reward (top level or "
        "metadata): check the data"
    ]
