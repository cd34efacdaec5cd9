"""Reading the policy's JUDGMENT and REASONING (pandalm_reward.verdict)."""

from __future__ import annotations

import time

import pytest
from pandalm_reward.verdict import (
    CONFLICTING_JUDGMENTS,
    NO_JUDGMENT,
    TIE,
    UNPARSABLE_JUDGMENT,
    read_answer,
    read_value,
    reasoning_text,
)


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("JUDGMENT: Response 1\nREASONING: r", 1),
        ("JUDGMENT: Response 2\nREASONING: r", 2),
        ("JUDGMENT: Tie\nREASONING: r", TIE),
        ("judgment: response 2\nreasoning: r", 2),
        ("Judgment: TIE\nReasoning: r", TIE),
        ("**JUDGMENT:** Response 1\n**REASONING:** r", 1),
        ("**JUDGMENT**: **Response 2**\nREASONING: r", 2),
        ("### Judgment: Response 1\n### Reasoning: r", 1),
        ("- JUDGMENT: `Response 2`\n- REASONING: r", 2),
        ("> JUDGMENT: Response 1.\nREASONING: r", 1),
        ("JUDGEMENT: Response 2\nREASONING: r", 2),  # British spelling
        ("JUDGMENT: Response1\nREASONING: r", 1),
        ("JUDGMENT: 2\nREASONING: r", 2),
        ('JUDGMENT: "Tie"\nREASONING: r', TIE),
        ("JUDGMENT: [Response 1]\nREASONING: r", 1),
        ("JUDGMENT: Response 1 is better than Response 2.\nREASONING: r", 1),
        ("**JUDGMENT:**\nResponse 2\n\nREASONING: r", 2),  # value on the next line
        ("Some preamble.\n\nJUDGMENT: Response 1\nREASONING: r", 1),
        ("REASONING: first the reasons.\nJUDGMENT: Response 2", 2),  # order does not matter
        ("JUDGMENT: Response 1\nREASONING: r\nJUDGMENT: response 1", 1),  # repeats that agree
    ],
)
def test_readable_verdicts(text: str, verdict: int) -> None:
    answer = read_answer(text)
    assert (answer.verdict, answer.problem) == (verdict, None)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", NO_JUDGMENT),
        ("Response 1 is better.\nREASONING: r", NO_JUDGMENT),
        ("My judgment: Response 1", NO_JUDGMENT),  # a label only counts at the start of a line
        ("JUDGMENT Response 1", NO_JUDGMENT),  # no colon
        ("JUDGMENT: Response 1 | Response 2 | Tie\nREASONING: r", UNPARSABLE_JUDGMENT),  # template echoed
        ("JUDGMENT: Response 1 or Response 2\nREASONING: r", UNPARSABLE_JUDGMENT),
        ("JUDGMENT: Response 1 / 2", UNPARSABLE_JUDGMENT),
        ("JUDGMENT: Both are good", UNPARSABLE_JUDGMENT),
        ("JUDGMENT: Response 3", UNPARSABLE_JUDGMENT),
        ("JUDGMENT: Response 12", UNPARSABLE_JUDGMENT),
        ("JUDGMENT:", UNPARSABLE_JUDGMENT),
        ("JUDGMENT: Response 1\nJUDGMENT: Response 2\nREASONING: r", CONFLICTING_JUDGMENTS),
        ("JUDGMENT: Tie\n**Judgment:** Response 1", CONFLICTING_JUDGMENTS),
        ("JUDGMENT: Response 1\nJUDGMENT: unsure", CONFLICTING_JUDGMENTS),
    ],
)
def test_unreadable_verdicts(text: str, problem: str) -> None:
    answer = read_answer(text)
    assert (answer.verdict, answer.problem) == (None, problem)


@pytest.mark.parametrize(
    ("text", "reasoning"),
    [
        ("JUDGMENT: Response 1\nREASONING: It answers the question.", "It answers the question."),
        ("JUDGMENT: Response 1\n**REASONING:**\nLine one.\nLine two.", "Line one.\nLine two."),
        ("JUDGMENT: Response 1. REASONING: inline reasons", "inline reasons"),
        ("REASONING: before.\nJUDGMENT: Response 2", "before."),
    ],
)
def test_reasoning_text(text: str, reasoning: str) -> None:
    assert reasoning_text(text) == reasoning


@pytest.mark.parametrize(
    "text",
    [
        "JUDGMENT: Response 1",
        "JUDGMENT: Response 1\nREASONING:",
        "JUDGMENT: Response 1\nREASONING: **  --  **",
        "JUDGMENT: Response 1\nReasons are obvious.",  # not the REASONING label
        "JUDGMENT: Response 1\nThe reasoning is that it is better.",
    ],
)
def test_missing_reasoning(text: str) -> None:
    answer = read_answer(text)
    assert answer.verdict == 1
    assert answer.reasoning is None


def test_read_value_rejects_hedges_but_not_prose() -> None:
    assert read_value("Response 2 clearly") == 2
    assert read_value("Response 2, because it is right") == 2
    assert read_value("Response 2, Response 1") is None
    assert read_value("Tie or Response 1") is None


@pytest.mark.parametrize(
    "text",
    [
        " " * 200_000,
        "JUDGMENT:" * 20_000,
        ("*" * 50 + "\n") * 4000,
        "reasoning" * 20_000,
        "JUDGMENT: Response 1\nREASONING: " + "x" * 200_000,
    ],
)
def test_huge_answers_are_read_quickly(text: str) -> None:
    start = time.perf_counter()
    read_answer(text)
    # Linear-time guard with a wide margin: the quadratic versions of these patterns take minutes.
    assert time.perf_counter() - start < 2.0
