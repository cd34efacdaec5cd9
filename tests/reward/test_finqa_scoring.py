"""Every FinQA rule of docs/reward-contract.md, one focused test each (pure scorer)."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from finqa_reward.answers import BOXED, MARKER, final_answer, marked_answers, read_answer
from finqa_reward.scoring import (
    asks_for_percentage,
    gold_answer,
    prompt_question,
    score,
    within_tolerance,
)
from rft_reward import Sample
from rft_reward.numbers import NumberReading
from rft_reward.references import BAD_REFERENCE, reference_field
from rft_reward.values import finite_number

RATIO = {"answer": 0.0937, "question": "what was the growth rate of net revenues from 2009 to 2010?"}
PERCENT_QUESTION = {"answer": 0.0937, "question": "what was the percentage change in net revenues?"}


def reward(response: str, reference: Any = RATIO, sample: Sample | None = None) -> float:
    return score(response, reference, sample).value


def problems(response: str, reference: Any = RATIO) -> dict[str, float]:
    return {name: value for name, value in score(response, reference).metrics.items() if value}


# -- the marker ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        "ANSWER: 9.37%",
        "answer: 9.37%",
        "Answer:9.37%",
        "**ANSWER:** 9.37%",
        "**ANSWER: 9.37%**",
        "**Answer**: 9.37%",
        "[ANSWER: 9.37%]",
        "ANSWER: [9.37%]",
        "[ANSWER]: 9.37%",
        "$ANSWER: 9.37\\%$",
        "ANSWER: **$9.37\\%$**",
        "ANSWER: `9.37%`",
        "ANSWER: 9.37%.",
        "Final answer: 9.37%",
        "### ANSWER: 9.37%",
        "**ANSWER:**\n9.37%",
        "ANSWER: $\\boxed{9.37\\%}$",
        "Growth = 1250/1143 - 1 = 0.0936.\nANSWER: 9.37%\n",
    ],
)
def test_answer_marker_is_case_insensitive_and_tolerates_decoration(response: str) -> None:
    assert reward(response) == 1.0
    assert final_answer(response)[0] == MARKER


@pytest.mark.parametrize("response", ["\\boxed{9.37\\%}", "So $\\boxed{9.37\\%}$.", "\\boxed{0.0937}"])
def test_boxed_answers_are_accepted(response: str) -> None:
    assert reward(response) == 1.0
    assert final_answer(response)[0] == BOXED


def test_the_marker_beats_a_box() -> None:
    response = "First guess \\boxed{5}.\nANSWER: 6"
    assert reward(response, {"answer": 6}) == 1.0
    assert reward(response, {"answer": 5}) == 0.0


def test_dollar_signs_around_the_value_are_tolerated() -> None:
    assert reward("ANSWER: $1,250", {"answer": 1250}) == 1.0
    assert reward("ANSWER: $1,250$", {"answer": 1250}) == 1.0


@pytest.mark.parametrize(
    "response",
    [
        "Net revenues grew from $1,143 million to $1,250 million, about 9.37%.",
        "The answer is 9.37%",
        "9.37%",
        "myanswer: 9.37%",
        "",
    ],
)
def test_no_marker_scores_zero_with_no_last_number_fallback(response: str) -> None:
    result = score(response, RATIO)
    assert result.value == 0.0
    assert not result.format_ok
    assert result.metrics["no_answer"] == 1.0


def test_currency_amounts_before_the_marker_never_count() -> None:
    text = "Revenue was $1,250 million in 2010 and $1,143 million in 2009, a gain of $107 million.\n"
    assert reward(text + "ANSWER: 9.37%") == 1.0
    assert reward(text + "ANSWER: 9.37%", {"answer": 1250}) == 0.0
    assert reward(text + "ANSWER: 107", {"answer": 107}) == 1.0


def test_conflicting_marked_answers_score_zero() -> None:
    result = score("ANSWER: 9.37%\nor maybe\nANSWER: 9.5%", RATIO)
    assert result.value == 0.0
    assert result.metrics["conflicting_answers"] == 1.0
    assert not result.format_ok


def test_a_percent_and_a_decimal_of_the_same_value_are_a_hedge() -> None:
    assert problems("ANSWER: 9.37%\nANSWER: 0.0937") == {"conflicting_answers": 1.0}


def test_repeating_one_answer_is_not_a_conflict() -> None:
    assert reward("ANSWER: 9.37%\nSo, once more: **ANSWER: 9.370%**") == 1.0


def test_an_unreadable_marked_answer_next_to_a_readable_one_is_a_conflict() -> None:
    assert problems("I will end with ANSWER: <answer>\nANSWER: 9.37%") == {"conflicting_answers": 1.0}


def test_an_unreadable_answer_scores_zero_as_unparsable() -> None:
    result = score("ANSWER: about nine percent", RATIO)
    assert (result.value, result.format_ok) == (0.0, False)
    assert result.metrics["unparsable_answer"] == 1.0


# -- numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "gold"),
    [
        ("$1,250", 1250),
        ("1,250.5", 1250.5),
        ("(94)", -94),
        ("( 94 )", -94),
        ("$(94)", -94),
        ("(94) million", -94),
        ("-94", -94),
        ("1,250 million", 1250),
        ("$1.25 billion", 1.25),
        ("5 thousand", 5),
        ("12 percent", 0.12),
        ("12 per cent", 0.12),
    ],
)
def test_number_normalisation(answer: str, gold: float) -> None:
    assert reward(f"ANSWER: {answer}", {"answer": gold}) == 1.0


def test_accounting_parentheses_are_negative_not_positive() -> None:
    assert reward("ANSWER: (94)", {"answer": 94}) == 0.0


def test_scale_words_are_ignored_not_applied() -> None:
    assert reward("ANSWER: 1.25 billion", {"answer": 1250}) == 0.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9.4%", NumberReading(9.4, True)),
        ("9.4 percent", NumberReading(9.4, True)),
        ("0.094", NumberReading(0.094, False)),
        ("**Yes**, because", "yes"),
        ("No.", "no"),
        ("yes/no", None),
        ("maybe", None),
        (None, None),
    ],
)
def test_read_answer(text: str | None, expected: object) -> None:
    assert read_answer(text) == expected


# -- percentage readings ----------------------------------------------------------------------


def test_percent_printed_against_the_same_number() -> None:
    assert reward("ANSWER: 14.1%", {"answer": 14.1}) == 1.0


def test_percent_prediction_against_decimal_gold() -> None:
    assert reward("ANSWER: 9.37%", {"answer": 0.0937}) == 1.0
    assert reward("ANSWER: -7.4%", {"answer": -0.07399}) == 1.0


def test_decimal_prediction_against_percent_gold() -> None:
    assert reward("ANSWER: 0.141", {"answer": "14.1%"}) == 1.0
    assert reward("ANSWER: 14.1", {"answer": "14.1%"}) == 1.0
    assert reward("ANSWER: 14.1%", {"answer": "14.1%"}) == 1.0


def test_bare_number_against_decimal_gold_needs_a_percentage_question() -> None:
    assert reward("ANSWER: 9.37", RATIO) == 0.0
    assert reward("ANSWER: 9.37", PERCENT_QUESTION) == 1.0
    assert reward("ANSWER: 9.37", {"answer": 0.0937, "question": "what is the % change in revenue?"}) == 1.0
    assert reward("ANSWER: 9.37", {"answer": 0.0937, "question": "by what percent did revenue grow?"}) == 1.0


def test_the_percentage_rule_never_runs_backwards() -> None:
    assert reward("ANSWER: 0.0937", {"answer": 9.37, "question": "what percentage of sales?"}) == 0.0


def test_each_reading_scales_once() -> None:
    assert reward("ANSWER: 937", PERCENT_QUESTION) == 0.0
    assert reward("ANSWER: 937%", PERCENT_QUESTION) == 0.0
    assert reward("ANSWER: 0.0937%", PERCENT_QUESTION) == 1.0  # as printed, the % ignored


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what was the percentage change in net sales?", True),
        ("what percent of revenue is cost?", True),
        ("what is the % of total?", True),
        ("what was the PERCENTAGE of debt?", True),
        ("what was the growth rate of net sales?", False),
        ("what portion of total revenue is services?", False),
        ("", False),
        (None, False),
    ],
)
def test_asks_for_percentage(question: str | None, expected: bool) -> None:
    assert asks_for_percentage(question) is expected


def finqa_prompt(question: str) -> list[dict[str, Any]]:
    """A FinQA-style prompt whose table, text and instructions all mention percentages."""
    user = (
        "net revenues increased 9.4 % in 2010 ; the effective tax rate was 31 percent .\n\n"
        "|  | 2010 | 2009 |\n| --- | --- | --- |\n| net revenues | $ 1,250 | $ 1,143 |\n"
        "| gross margin | 38.2% | 37.1% |\n\n"
        f"Question: {question}\n\n"
        "End with `ANSWER: <answer>`; write percentages as a percentage, e.g. `12.5%`."
    )
    return [{"role": "system", "content": "You are an analyst."}, {"role": "user", "content": user}]


def sample_for(question: str) -> Sample:
    return Sample(
        id="s", response_text="", reference={"answer": 0.0937}, prompt_messages=finqa_prompt(question)
    )


def test_question_is_read_from_the_prompt_label_only() -> None:
    assert (
        prompt_question(finqa_prompt("what was the growth rate in 2010 ?"))
        == "what was the growth rate in 2010 ?"
    )


def test_percent_in_the_table_and_text_does_not_make_a_percentage_question() -> None:
    sample = sample_for("what was the growth rate of net revenues from 2009 to 2010 ?")
    assert reward("ANSWER: 9.37", {"answer": 0.0937}, sample) == 0.0
    assert reward("ANSWER: 9.37%", {"answer": 0.0937}, sample) == 1.0


def test_percentage_question_found_through_the_prompt_label() -> None:
    sample = sample_for("what was the percentage change in net revenues from 2009 to 2010 ?")
    assert reward("ANSWER: 9.37", {"answer": 0.0937}, sample) == 1.0


def test_reference_question_is_preferred_to_the_prompt() -> None:
    sample = sample_for("what was the percentage change in net revenues ?")
    assert reward("ANSWER: 9.37", {"answer": 0.0937, "question": "what was the growth rate?"}, sample) == 0.0


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([{"role": "user", "content": "rose 9.4 % .\nwhat was the percentage change ?"}], None),
        (
            [{"role": "user", "content": "Question:what was the percentage change?"}],
            "what was the percentage change?",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "t\nQuestion: what "}, {"text": "percent?"}],
                }
            ],
            "what percent?",
        ),
        ([{"role": "user", "content": "Question: first\nQuestion: second\nrest"}], "second"),
        ([{"role": "user", "content": 5}], None),
        ([{"role": "system", "content": "Question: what percent?"}], None),
        ([], None),
    ],
)
def test_prompt_question_edge_cases(messages: list[dict[str, Any]], expected: str | None) -> None:
    assert prompt_question(messages) == expected


# -- tolerance --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("predicted", "gold", "expected"),
    [
        (101.0, 100.0, True),  # exactly 1%
        (99.0, 100.0, True),
        (100.99, 100.0, True),  # just inside
        (101.01, 100.0, False),  # just outside
        (98.99, 100.0, False),
        (0.505, 0.5, True),  # exactly 1%, with binary rounding
        (0.50501, 0.5, False),
        (-94.94, -94.0, True),
        (-94.95, -94.0, False),
        (3.03, 3.0, True),
        (3.8, 3.0, False),  # the public sample's 0.95 partial credit paid this
        (0.0, 0.0, True),
        (1e-4, 0.0, True),  # gold 0: absolute 1e-4
        (-1e-4, 0.0, True),
        (1.1e-4, 0.0, False),
        (math.nan, 1.0, False),
        (math.inf, 1.0, False),
    ],
)
def test_tolerance_edges(predicted: float, gold: float, expected: bool) -> None:
    assert within_tolerance(predicted, gold) is expected


def test_tolerance_applies_through_the_percent_reading() -> None:
    assert reward("ANSWER: 20.2%", {"answer": 0.2}) == 1.0
    assert reward("ANSWER: 20.21%", {"answer": 0.2}) == 0.0
    assert reward("ANSWER: 0.0001", {"answer": 0}) == 1.0
    assert reward("ANSWER: 0.00011", {"answer": 0}) == 0.0
    assert reward("ANSWER: 0%", {"answer": 0}) == 1.0


def test_scores_are_only_zero_or_one() -> None:
    assert score("ANSWER: 100.5", {"answer": 100}).value == 1.0
    assert score("ANSWER: 102", {"answer": 100}).value == 0.0


# -- yes/no -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "gold", "expected"),
    [
        ("ANSWER: yes", "yes", 1.0),
        ("ANSWER: Yes", "yes", 1.0),
        ("ANSWER: YES.", "yes", 1.0),
        ("ANSWER: **Yes**, revenue grew.", "yes", 1.0),
        ("**ANSWER:** _no_", "no", 1.0),
        ("ANSWER: no", "yes", 0.0),
        ("ANSWER: yes", "No", 0.0),
        ("ANSWER: no", "No", 1.0),
        ("ANSWER: The answer is yes", "yes", 0.0),  # the first word decides
        ("ANSWER: yes/no", "yes", 0.0),
        ("ANSWER: 1", "yes", 0.0),
    ],
)
def test_yes_no_gold_is_decided_by_the_first_word(response: str, gold: str, expected: float) -> None:
    assert reward(response, {"answer": gold}) == expected


def test_yes_and_no_together_conflict() -> None:
    assert problems("ANSWER: yes\nANSWER: no", {"answer": "yes"}) == {"conflicting_answers": 1.0}


def test_a_number_for_a_yes_no_question_is_well_formed_but_wrong() -> None:
    result = score("ANSWER: 9.37%", {"answer": "yes"})
    assert (result.value, result.format_ok) == (0.0, True)


# -- the reference ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (0.0937, NumberReading(0.0937, False)),
        ("0.0937", NumberReading(0.0937, False)),
        ("14.1%", NumberReading(14.1, True)),
        ("$1,250", NumberReading(1250.0, False)),
        ("(94)", NumberReading(-94.0, False)),
        ({"answer": -94, "answer_text": "-94", "program": "subtract(1, 95)"}, NumberReading(-94.0, False)),
        ({"exe_ans": 3}, NumberReading(3.0, False)),
        ({"answer": "yes"}, "yes"),
        ("No", "no"),
        ({"answer": "n/a"}, None),
        ({"answer": True}, None),
        ({"answer": math.nan}, None),
        ({"answer": {"value": 1}}, None),
        (10**400, None),
        ([1], None),
    ],
)
def test_gold_answer(reference: Any, expected: object) -> None:
    assert gold_answer(reference) == expected


def test_shared_reference_helpers() -> None:
    assert reference_field({"answer": "", "exe_ans": 0}, ("answer", "exe_ans")) == 0
    assert reference_field({"answer": " "}, ("answer",)) is None
    assert reference_field("0.5", ("answer",)) == "0.5"
    assert reference_field([], ("answer",)) is None
    assert [finite_number(v) for v in (3, 0.5, True, math.nan, -math.inf, 10**400, "1")] == [
        3.0,
        0.5,
        None,
        None,
        None,
        None,
        None,
    ]


@pytest.mark.parametrize("reference", [{"answer": ""}, {"answer": None}, {}, {"question": "what?"}, "", None])
def test_missing_reference_scores_zero_with_a_metric(reference: Any) -> None:
    result = score("ANSWER: 1", reference)
    assert result.value == 0.0
    assert result.metrics["missing_reference"] == 1.0


@pytest.mark.parametrize("reference", [{"answer": "n/a"}, {"answer": True}, "ten", {"answer": [1]}])
def test_unusable_reference_scores_zero_with_a_metric(reference: Any) -> None:
    result = score("ANSWER: 10", reference)
    assert result.value == 0.0
    assert result.metrics[BAD_REFERENCE] == 1.0


def test_problem_metrics_are_reported_for_every_response() -> None:
    assert set(score("ANSWER: 9.37%", RATIO).metrics) == {
        "no_answer",
        "unparsable_answer",
        "conflicting_answers",
    }


# -- long responses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        "Revenue was $1,250 million. " * 8000 + "\nANSWER: 9.37%",
        "\\boxed{" * 50_000 + "9.37\\%",
        "ANSWER:" * 30_000,
        "*" * 200_000 + " ANSWER: 9.37%",
        "[" * 200_000 + "ANSWER: 9.37%",
    ],
)
def test_200kb_response_scores_in_linear_time(response: str) -> None:
    start = time.perf_counter()
    score(response, RATIO)
    assert time.perf_counter() - start < 1.0


def test_only_the_tail_is_searched() -> None:
    early = "ANSWER: 9.37%\n" + "More reasoning without a marker.\n" * 200
    assert marked_answers(early).kind is None
    assert reward(early) == 0.0
