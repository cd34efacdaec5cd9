"""A judged reward whose judge fails keeps the contract, so `invoke` and `rehearse` count `judge_error`.

The judge is a loopback Converse server (tests/reward/converse_server.py) that the real boto3 client
reaches: it refuses access the way Bedrock does without a model grant. The deployed function's answer
is the real PandaLM handler's answer to the same batch, computed in-process against that server, and
its log tail is the handler's own log line.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from click.testing import Result
from pandalm_reward.handler import lambda_handler as pandalm_handler

from rft.errors import EXIT_JUDGE_FAILED
from rft.invoke import default_payload
from rft.judge_failures import JudgeFailures, count_judge_failures, logged_judge_errors
from tests.reward.converse_server import Call, Reply, converse_reply, error_reply, judge_server

from .helpers import deploy_stack, expect_invoke, reward_function, stack_outputs

PANDALM_STACK = "PandalmRftStack"
JUDGE_MODEL = "us.amazon.nova-pro-v1:0"  # rft:pandalm's judgeModelId in cdk.json
NO_ACCESS = error_reply(
    "AccessDeniedException", 403, "You don't have access to the model with the specified model ID."
)
Respond = Callable[[int, Call], Reply]


def words(text: str) -> str:
    return " ".join(text.split())


def refuse_all(number: int, call: Call) -> Reply:
    return NO_ACCESS


def refuse_first(number: int, call: Call) -> Reply:
    return NO_ACCESS if number == 1 else converse_reply('{"score": 0.8, "reason": "grounded"}')


def judged_answer(monkeypatch: pytest.MonkeyPatch, payload: list[Any], respond: Respond) -> tuple[Any, str]:
    """The real PandaLM handler's answer to `payload` and its log, with the judge answering `respond`."""
    stream = pandalm_handler.logger.registered_handler
    assert isinstance(stream, logging.StreamHandler)
    log = io.StringIO()
    previous = stream.setStream(log)
    try:
        with monkeypatch.context() as patch, judge_server(patch, respond=respond) as server:
            answer = pandalm_handler(payload, None)
    finally:
        stream.setStream(previous)
    assert len(server.calls) == len(payload)  # every sample was sent to the judge
    return answer, log.getvalue()


def judge_error_flags(answer: list[dict[str, Any]]) -> list[float]:
    return [next(m["value"] for m in r["metrics_list"] if m["name"] == "judge_error") for r in answer]


# -- rft invoke ---------------------------------------------------------------------------------


def invoke_pandalm(
    lambda_stub: Stubber, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, respond: Respond
) -> tuple[Result, list[dict[str, Any]]]:
    deploy_stack(stack_outputs(stack=PANDALM_STACK), stack=PANDALM_STACK)
    answer, log = judged_answer(monkeypatch, default_payload(PANDALM_STACK), respond)
    tail = base64.b64encode(log.encode()).decode()
    expect_invoke(lambda_stub, answer, reward_function(PANDALM_STACK), LogResult=tail)
    return run_cli("invoke", PANDALM_STACK), answer


def test_invoke_fails_when_the_judge_failed_on_every_sample(
    lambda_stub: Stubber, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    result, answer = invoke_pandalm(lambda_stub, run_cli, monkeypatch, refuse_all)

    assert judge_error_flags(answer) == [1.0, 1.0, 1.0, 1.0]  # the contract itself is kept
    assert result.exit_code == EXIT_JUDGE_FAILED, result.output
    out, err = words(result.stdout), words(result.stderr)
    assert "contract ok" in out
    assert "the judge failed on 4 of the 4 samples sent to it" in out
    assert f"no model access to {JUDGE_MODEL}" in out and "ThrottlingException" in out
    assert "us-east-1 does not serve" in out
    assert "The reward logged: AccessDeniedException x4" in out  # read from the function's log tail
    assert err.startswith("error: the deployed reward's judge graded none of the 4 samples sent to it")
    assert "Traceback" not in result.output


def test_invoke_counts_some_judge_failures_and_still_passes(
    lambda_stub: Stubber, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    result, answer = invoke_pandalm(lambda_stub, run_cli, monkeypatch, refuse_first)

    assert sorted(judge_error_flags(answer)) == [0.0, 0.0, 0.0, 1.0]
    assert result.exit_code == 0, result.output
    out = words(result.stdout)
    assert "the judge failed on 1 of the 4 samples sent to it" in out
    assert "no model access" in out


def test_invoke_of_a_reward_without_a_judge_prints_no_judge_warning(
    lambda_stub: Stubber, run_cli: Callable[..., Result]
) -> None:
    from gsm8k_reward.handler import lambda_handler

    expect_invoke(lambda_stub, lambda_handler(default_payload("GsmRftStack"), None))
    result = run_cli("invoke", "gsm8k")
    assert result.exit_code == 0, result.output
    assert "judge" not in result.stdout


# -- rft rehearse --judge bedrock ---------------------------------------------------------------


def judgments(tmp_path: Path) -> Path:
    """Four PandaLM answers with a verdict and reasoning, so each is sent to the judge."""
    rows = [
        {
            "prompt_id": f"p{i}",
            "response": f"JUDGMENT: {verdict}\nREASONING: {why}",
            "reference": {"label": label},
        }
        for i, (verdict, why, label) in enumerate(
            [
                ("Response 1", "It answers the question.", 1),
                ("Response 2", "It is more specific.", 1),
                ("Tie", "Both are equally good.", 0),
                ("Response 2", "It follows the instruction.", 2),
            ]
        )
    ]
    path = tmp_path / "judgments.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def rehearse_with_judge(
    run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, respond: Respond
) -> tuple[Result, dict[str, Any], int]:
    with judge_server(monkeypatch, respond=respond) as server:
        result = run_cli(
            "rehearse",
            "pandalm",
            "--responses",
            str(judgments(tmp_path)),
            "--judge",
            "bedrock",
            "--out",
            str(tmp_path),
        )
    report = json.loads((tmp_path / "rehearse-pandalm.json").read_text())
    return result, report, len(server.calls)


def test_rehearse_with_the_judge_fails_when_it_failed_on_every_sample(
    run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result, report, calls = rehearse_with_judge(run_cli, monkeypatch, tmp_path, refuse_all)

    assert calls == 4
    assert result.exit_code == EXIT_JUDGE_FAILED, result.output
    assert report["judge"] == {"failed": 4, "asked": 4}
    out, err = words(result.stdout), words(result.stderr)
    assert "judge failures 4/4 samples sent to the judge" in out.replace("│", "").replace("  ", " ")
    assert "the judge failed on 4 of the 4 samples sent to it" in out
    assert f"no model access to {JUDGE_MODEL}" in out and "us-east-1 does not serve" in out
    assert err.startswith("error: the judge graded none of the 4 samples sent to it")
    assert "Traceback" not in result.output


def test_rehearse_with_the_judge_counts_some_failures_and_still_passes(
    run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result, report, calls = rehearse_with_judge(run_cli, monkeypatch, tmp_path, refuse_first)

    assert calls == 4
    assert result.exit_code == 0, result.output
    assert report["judge"] == {"failed": 1, "asked": 4}
    assert "the judge failed on 1 of the 4 samples sent to it" in words(result.stdout)


# -- the counting itself ------------------------------------------------------------------------


def test_samples_decided_in_code_are_not_counted_as_sent_to_the_judge() -> None:
    metrics = [
        {"judge_called": 1.0, "judge_error": 1.0},
        {"judge_called": 0.0, "judge_error": 0.0},  # no REASONING: scored in code, judge not called
    ]
    failures = count_judge_failures(metrics)
    assert failures == JudgeFailures(failed=1, asked=1) and failures.every_one
    assert count_judge_failures([{"judge_called": 0.0, "judge_error": 0.0}]) == JudgeFailures(0, 0)
    assert not JudgeFailures(0, 0).every_one
    assert count_judge_failures([{"verdict": 1.0}]) is None  # a reward with no judge


def test_logged_judge_errors_skips_lines_cut_short() -> None:
    log = (
        "START RequestId: 1\n"
        '{"level":"WARNING","message":"Judge failed","judge_errors":{"ThrottlingException":2,"timeout":1}}\n'
        '{"level":"WARNING","judge_errors":{"AccessDenied'
    )
    assert logged_judge_errors(log) == {"ThrottlingException": 2, "timeout": 1}
