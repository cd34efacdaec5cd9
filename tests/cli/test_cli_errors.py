"""User mistakes get one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from .helpers import REGION, STACK, assert_one_line_error


def test_unknown_task(run_cli: Callable[..., Result]) -> None:
    assert_one_line_error(run_cli("rehearse", "sudoku"), "unknown task 'sudoku'", "gsm8k")


def test_the_shared_reward_library_is_not_a_task(run_cli: Callable[..., Result]) -> None:
    assert_one_line_error(run_cli("rehearse", "rft"), "unknown task 'rft'")


def test_missing_responses_file(run_cli: Callable[..., Result], tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    assert_one_line_error(run_cli("rehearse", "gsm8k", "--responses", str(missing)), f"not found: {missing}")


@pytest.mark.parametrize("option", [("--n", "0"), ("--batch-size", "0"), ("--judge", "gpt")])
def test_bad_option_values(run_cli: Callable[..., Result], option: tuple[str, str]) -> None:
    assert_one_line_error(run_cli("rehearse", "gsm8k", *option), option[0])


@pytest.mark.parametrize("command", [("status", STACK), ("stop", STACK, "--yes"), ("invoke", STACK)])
def test_no_credentials(
    run_cli: Callable[..., Result], no_credentials: None, command: tuple[str, ...]
) -> None:
    assert_one_line_error(run_cli(*command), "no AWS credentials found", "aws configure")


@pytest.mark.parametrize("command", ["status", "stop"])
def test_stack_not_deployed(aws: None, run_cli: Callable[..., Result], command: str) -> None:
    assert_one_line_error(
        run_cli(command, "NopeStack", "--yes") if command == "stop" else run_cli(command, "NopeStack"),
        f"stack 'NopeStack' is not deployed in {REGION}",
        STACK,  # names the stacks this app has
    )


def test_unknown_stack_for_invoke_without_a_payload(aws: None, run_cli: Callable[..., Result]) -> None:
    assert_one_line_error(run_cli("invoke", "NopeStack"), "no bundled samples", "--file")


def test_no_command_prints_usage(run_cli: Callable[..., Result]) -> None:
    result = run_cli()
    assert result.exit_code == 2
    assert "rehearse" in result.output and "status" in result.output
