"""`rft invoke`: the function comes from moto's stack outputs, the invoke is answered by a Stubber.

moto cannot run Lambda code without Docker, so the stubbed answer is what the real GSM8K handler
returns for the same batch, computed in-process.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from botocore.stub import Stubber
from click.testing import Result
from gsm8k_reward.handler import lambda_handler

from rft.errors import EXIT_DEGENERATE
from rft.invoke import default_payload

from .helpers import REGION, STACK, assert_one_line_error, expect_invoke, record_payloads, stack_outputs

FUNCTION = stack_outputs()["RewardFunctionName"]


def test_invoke_sends_bundled_samples_and_checks_the_answer(
    lambda_stub: Stubber, run_cli: Callable[..., Result]
) -> None:
    payload = default_payload(STACK)
    assert len(payload) == 4 and all(s["messages"][-1]["role"] == "assistant" for s in payload)
    answer = lambda_handler(payload, None)
    expect_invoke(lambda_stub, answer)

    result = run_cli("invoke", STACK)

    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert f"invoked {FUNCTION} with 4 samples" in out
    assert "contract ok" in out
    for sample, scored in zip(payload, answer, strict=True):
        assert sample["id"] in out
        assert scored["id"] == sample["id"]


def test_invoke_sends_the_file_payload(
    lambda_stub: Stubber, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    payload = [
        {
            "id": "mine-1",
            "messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "#### 4"}],
            "reference_answer": "4",
        }
    ]
    sent = record_payloads(lambda_stub)
    expect_invoke(lambda_stub, lambda_handler(payload, None))
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(payload))

    result = run_cli("invoke", STACK, "--file", str(path))

    assert result.exit_code == 0, result.output
    assert sent == [payload]
    assert "mine-1" in result.stdout


def test_function_error_is_reported_with_its_message(
    lambda_stub: Stubber, run_cli: Callable[..., Result]
) -> None:
    expect_invoke(
        lambda_stub,
        {"errorType": "Runtime.ImportModuleError", "errorMessage": "No module named 'gsm8k_reward'"},
        FunctionError="Unhandled",
    )
    result = run_cli("invoke", STACK)
    assert result.exit_code == EXIT_DEGENERATE
    assert "Traceback" not in result.output
    assert "Runtime.ImportModuleError: No module named 'gsm8k_reward'" in " ".join(result.stderr.split())


def test_an_answer_that_breaks_the_contract_fails(
    lambda_stub: Stubber, run_cli: Callable[..., Result]
) -> None:
    payload = default_payload(STACK)
    broken = lambda_handler(payload, None)[:3]
    broken[0] = {**broken[0], "id": "0"}  # the public samples' id bug
    expect_invoke(lambda_stub, broken)

    result = run_cli("invoke", STACK)

    assert result.exit_code == EXIT_DEGENERATE
    err = " ".join(result.stderr.split())
    assert "4 samples in, 3 results out" in err
    assert "has id '0'" in err


def test_missing_payload_file_is_a_clear_error(
    aws: None, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    assert_one_line_error(
        run_cli("invoke", STACK, "--file", str(tmp_path / "nope.json")), "payload file not found"
    )


@pytest.mark.parametrize(
    ("payload", "found"),
    [({"id": "1", "messages": []}, "a JSON object"), ([], "an empty array"), ("text", "a JSON string")],
)
def test_a_payload_that_is_not_a_batch_is_one_clear_line(
    aws: None, run_cli: Callable[..., Result], tmp_path: Path, payload: object, found: str
) -> None:
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(payload))
    result = run_cli("invoke", STACK, "--file", str(path))
    assert_one_line_error(
        result, f"{path} holds {found}", 'the reward takes a JSON array of Bedrock samples: [{"id": ...'
    )
    assert len(result.stderr.strip().splitlines()) == 1


def test_invoke_of_a_stack_that_is_not_deployed(aws: None, run_cli: Callable[..., Result]) -> None:
    assert_one_line_error(
        run_cli("invoke", STACK), f"stack '{STACK}' is not deployed in {REGION}", "make deploy"
    )


def test_default_payload_for_each_task_stack_is_one_prompt_group() -> None:
    for stack in ("GsmRftStack", "FinqaRftStack"):
        payload = default_payload(stack)
        assert len(payload) == 4
        assert len({s["id"].rsplit("/", 1)[0] for s in payload}) == 1  # one prompt, several answers
        assert all(s["reference_answer"] for s in payload)
