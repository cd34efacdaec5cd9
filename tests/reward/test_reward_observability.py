"""Powertools logs and EMF metrics: present, per batch, and free of sample text."""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from gsm8k_reward.handler import lambda_handler as gsm8k_handler
from gsm8k_reward.scoring import score as gsm8k_score
from rft_reward import RewardHandler, Sample, make_handler

from .helpers import FakeLambdaContext, emf_blobs, make_sample, parse_logs

SECRET = "SECRET-TABLE-ROW revenue 123,456"

CaptureLogs = Callable[[RewardHandler], StringIO]


def emf_metrics(blob: dict[str, Any]) -> dict[str, float]:
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    values = {m["Name"]: blob[m["Name"]] for m in directive["Metrics"]}
    return {name: v[0] if isinstance(v, list) and len(v) == 1 else v for name, v in values.items()}


def test_one_emf_blob_per_batch_with_default_namespace(capsys: pytest.CaptureFixture[str]) -> None:
    event = [make_sample("#### 48"), make_sample("#### 7"), make_sample("no anchor"), {"id": "bad"}]
    gsm8k_handler(event, None)
    (blob,) = emf_blobs(capsys.readouterr().out)
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "BedrockRft"
    assert blob["service"] == "gsm8k"
    assert emf_metrics(blob) == {
        "BatchSize": 4.0,
        "FormatFailures": 2.0,
        "BadSamples": 1.0,
        "ScorerErrors": 0.0,
        "InvalidScores": 0.0,
        "MeanReward": 0.25,
    }


def test_environment_overrides_namespace_and_service(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "MyTeam/Rft")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "gsm8k-prod")
    handler = make_handler(gsm8k_score, task="gsm8k")
    handler([make_sample()], None)
    (blob,) = emf_blobs(capsys.readouterr().out)
    assert blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "MyTeam/Rft"
    assert blob["service"] == "gsm8k-prod"


def test_handlers_in_one_process_do_not_share_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    other = make_handler(lambda text, ref, sample: 0.0, task="other-task")
    other.metrics.add_metric(name="Leftover", unit="Count", value=1)  # pending in `other` only
    gsm8k_handler([make_sample()], None)
    (blob,) = emf_blobs(capsys.readouterr().out)
    assert "Leftover" not in emf_metrics(blob)
    assert blob["service"] == "gsm8k"
    other.metrics.clear_metrics()


def test_scorer_errors_and_invalid_scores_are_counted(capsys: pytest.CaptureFixture[str]) -> None:
    def bad(text: str, reference: Any, sample: Sample) -> float:
        if sample.id == "raise":
            raise RuntimeError(text)
        return float("nan")

    handler = make_handler(bad, task="test-counts")
    handler([make_sample(sample_id="raise"), make_sample(sample_id="nan")], None)
    (blob,) = emf_blobs(capsys.readouterr().out)
    assert emf_metrics(blob)["ScorerErrors"] == 1.0
    assert emf_metrics(blob)["InvalidScores"] == 1.0
    assert emf_metrics(blob)["MeanReward"] == 0.0


def test_non_list_event_is_logged_as_error_and_counted(
    capture_logs: Callable[[RewardHandler], StringIO], capsys: pytest.CaptureFixture[str]
) -> None:
    logs = capture_logs(gsm8k_handler)
    assert gsm8k_handler({"messages": SECRET}, None) == []
    (line,) = parse_logs(logs)
    assert line["level"] == "ERROR"
    assert line["event_type"] == "dict"
    assert SECRET not in logs.getvalue()
    (blob,) = emf_blobs(capsys.readouterr().out)
    assert emf_metrics(blob) == {"InvalidEvents": 1.0}


def test_bad_sample_is_logged_at_warning_with_id_and_reason_only(
    capture_logs: Callable[[RewardHandler], StringIO],
) -> None:
    logs = capture_logs(gsm8k_handler)
    bad = {"id": "s-9", "messages": [{"role": "user", "content": SECRET}], "reference_answer": SECRET}
    gsm8k_handler([bad], None)
    warnings = [line for line in parse_logs(logs) if line["level"] == "WARNING"]
    assert [(w["sample_id"], w["reason"]) for w in warnings] == [("s-9", "missing_response")]
    assert SECRET not in logs.getvalue()


def test_no_sample_text_in_logs_even_when_a_scorer_raises_with_it(
    capture_logs: Callable[[RewardHandler], StringIO], lambda_context: FakeLambdaContext
) -> None:
    def leaky(text: str, reference: Any, sample: Sample) -> float:
        raise ValueError(f"could not read {text!r}")

    handler = make_handler(leaky, task="test-leak")
    logs = capture_logs(handler)
    handler([make_sample(SECRET, SECRET, sample_id="leak")], lambda_context)
    lines = parse_logs(logs)
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert errors and errors[0]["error_type"] == "ValueError"
    assert "leaky" in errors[0]["error_location"]
    assert SECRET not in logs.getvalue()


def test_batch_summary_log_carries_lambda_context(
    capture_logs: Callable[[RewardHandler], StringIO], lambda_context: FakeLambdaContext
) -> None:
    logs = capture_logs(gsm8k_handler)
    gsm8k_handler([make_sample(SECRET + "\n#### 48")], lambda_context)
    (summary,) = [line for line in parse_logs(logs) if line["message"] == "Scored reward batch"]
    assert summary["function_request_id"] == lambda_context.aws_request_id
    assert summary["service"] == "gsm8k"
    assert summary["BatchSize"] == 1 and summary["MeanReward"] == 1.0
    assert SECRET not in logs.getvalue()


def test_local_runs_carry_no_stale_lambda_context(
    capture_logs: Callable[[RewardHandler], StringIO], lambda_context: FakeLambdaContext
) -> None:
    logs = capture_logs(gsm8k_handler)
    gsm8k_handler([make_sample()], lambda_context)
    gsm8k_handler([make_sample()], None)
    first, second = [line for line in parse_logs(logs) if line["message"] == "Scored reward batch"]
    assert first["function_request_id"] == lambda_context.aws_request_id
    assert "function_request_id" not in second


def test_log_event_env_never_prints_the_event(
    monkeypatch: pytest.MonkeyPatch,
    capture_logs: Callable[[RewardHandler], StringIO],
    capsys: pytest.CaptureFixture[str],
    lambda_context: FakeLambdaContext,
) -> None:
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    handler = make_handler(gsm8k_score, task="test-log-event")
    logs = capture_logs(handler)
    handler([make_sample(SECRET + "\n#### 48")], lambda_context)
    assert SECRET not in logs.getvalue()
    assert SECRET not in capsys.readouterr().out


def test_huge_ids_are_shortened_in_logs(capture_logs: Callable[[RewardHandler], StringIO]) -> None:
    logs = capture_logs(gsm8k_handler)
    huge_id = {"blob": "y" * 5000}
    (result,) = gsm8k_handler([{"id": huge_id}], None)
    assert result["id"] is huge_id  # returned unchanged...
    (warning,) = [line for line in parse_logs(logs) if line["level"] == "WARNING"]
    assert len(json.dumps(warning["sample_id"])) < 200  # ...but not logged whole
