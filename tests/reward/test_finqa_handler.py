"""The reward Lambda contract through `finqa_reward.handler.lambda_handler`, plus a fuzz test."""

from __future__ import annotations

from typing import Any

import pytest
from finqa_reward.handler import lambda_handler
from hypothesis import given, settings
from hypothesis import strategies as st

from .helpers import FakeLambdaContext, metric
from .test_reward_properties import assert_contract, json_values

QUESTION = "what was the growth rate of net revenues from 2009 to 2010 ?"
_UNSET: Any = object()


def finqa_sample(
    response: Any = "ANSWER: 9.37%",
    reference: Any = _UNSET,
    *,
    sample_id: Any = _UNSET,
    question: str = QUESTION,
    in_metadata: bool = False,
    role: str = "assistant",
) -> dict[str, Any]:
    """A Bedrock RFT sample shaped like the FinQA prompts data_prep writes."""
    user = (
        "net revenues increased 9 % in 2010 .\n\n"
        "|  | 2010 | 2009 |\n| --- | --- | --- |\n| net revenues | $ 1,250 | $ 1,143 |\n"
        "| gross margin | 38.2% | 37.1% |\n\n"
        f"Question: {question}\n\n"
        "End with `ANSWER: <answer>`. Percentages as `12.5%`."
    )
    sample: dict[str, Any] = {
        "messages": [
            {"role": "system", "content": "You are a careful financial analyst."},
            {"role": "user", "content": user},
            {"role": role, "content": response},
        ]
    }
    if sample_id is not _UNSET:
        sample["id"] = sample_id
    reference = (
        {"answer": 0.0937, "answer_text": "9.4%", "program": "divide(107, 1143)"}
        if reference is _UNSET
        else reference
    )
    if in_metadata:
        sample["metadata"] = {"reference_answer": reference}
    else:
        sample["reference_answer"] = reference
    return sample


def scores(event: list[Any], context: Any = None) -> list[float]:
    return [result["aggregate_reward_score"] for result in lambda_handler(event, context)]


def test_scores_a_batch_in_order_with_its_ids(lambda_context: FakeLambdaContext) -> None:
    event = [
        finqa_sample("ANSWER: 9.37%", sample_id="a"),
        finqa_sample("ANSWER: 12%", sample_id=7),
        finqa_sample("Revenue grew to $1,250 million.", sample_id=None),
        finqa_sample("**ANSWER:** 9.4%"),
    ]
    results = lambda_handler(event, lambda_context)
    assert [r["id"] for r in results] == ["a", 7, None, None]
    assert [r["aggregate_reward_score"] for r in results] == [1.0, 0.0, 0.0, 1.0]
    assert [metric(r, "format_ok") for r in results] == [1.0, 1.0, 0.0, 1.0]
    assert metric(results[2], "no_answer") == 1.0
    assert_contract(event, results)


def test_reference_inside_metadata_is_accepted() -> None:
    assert scores([finqa_sample(in_metadata=True)]) == [1.0]


def test_metadata_reference_is_preferred_over_top_level() -> None:
    sample = finqa_sample("ANSWER: yes", {"answer": "no"})
    sample["metadata"] = {"reference_answer": {"answer": "yes"}}
    assert scores([sample]) == [1.0]


def test_bare_reference_value() -> None:
    assert scores([finqa_sample("ANSWER: 14.1%", "14.1%"), finqa_sample("ANSWER: (94)", -94)]) == [1.0, 1.0]


def test_content_blocks_are_joined_with_no_separator() -> None:
    blocks = [
        {"type": "text", "text": "Growth is 9.37%.\nANS"},
        {"type": "text", "text": "WER: 9."},
        {"text": "37%"},
    ]
    assert scores([finqa_sample(blocks)]) == [1.0]


def test_nova_assistant_role() -> None:
    assert scores([finqa_sample(role="nova_assistant")]) == [1.0]


def test_percentage_question_is_read_from_the_prompt_when_the_reference_has_none() -> None:
    growth = finqa_sample("ANSWER: 9.37")
    percent = finqa_sample("ANSWER: 9.37", question="what was the percentage change in net revenues ?")
    assert scores([growth, percent]) == [0.0, 1.0]


def test_missing_and_unusable_references_score_zero_with_a_reason() -> None:
    event = [finqa_sample(reference=None), finqa_sample(reference={"answer": "n/a"})]
    missing, bad = lambda_handler(event, None)
    assert (missing["aggregate_reward_score"], metric(missing, "missing_reference")) == (0.0, 1.0)
    assert (bad["aggregate_reward_score"], metric(bad, "bad_reference")) == (0.0, 1.0)


def test_bad_sample_among_good_ones() -> None:
    event = [finqa_sample(sample_id=1), {"id": 2, "messages": "oops"}, finqa_sample(sample_id=3)]
    results = lambda_handler(event, None)
    assert [(r["id"], r["aggregate_reward_score"]) for r in results] == [(1, 1.0), (2, 0.0), (3, 1.0)]
    assert metric(results[1], "missing_response") == 1.0


@pytest.mark.parametrize("event", [{}, None, "[]", 3])
def test_non_list_event_returns_empty_list(event: Any) -> None:
    assert lambda_handler(event, None) == []


# -- fuzz ---------------------------------------------------------------------------------------

_PIECES = (
    "ANSWER:|answer: |**ANSWER:** |[ANSWER: |]|\\boxed{|}|9.37|9.37%|0.0937|$|1,250|(94)|( 94 )|million|"
    "percent|yes|No|**|\n| |.|-|%|Question: |what percentage|#### 5|`"
)
answer_text = st.lists(st.sampled_from(_PIECES.split("|")) | st.text(max_size=6), max_size=12).map("".join)
content = answer_text | st.lists(
    st.fixed_dictionaries({"type": st.just("text"), "text": answer_text}), max_size=3
)
reference = json_values | st.sampled_from(
    [0.0937, "14.1%", "yes", -94, 0, {"answer": 0.0937, "question": "what percentage?"}, {"answer": "no"}]
)
prompt = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "user"]), "content": content | json_values}
)
sample = json_values | st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "messages": st.lists(
            prompt | st.fixed_dictionaries({"role": st.just("assistant"), "content": content}), max_size=3
        )
        | json_values,
        "reference_answer": reference,
        "metadata": st.fixed_dictionaries({}, optional={"reference_answer": reference}) | json_values,
    },
)


@settings(max_examples=150, deadline=None)
@given(st.lists(sample, max_size=5) | json_values)
def test_handler_honours_the_contract_for_any_event(event: Any) -> None:
    assert_contract(event, lambda_handler(event, None))


@settings(max_examples=150, deadline=None)
@given(answer_text, reference)
def test_score_is_zero_or_one_and_one_only_when_well_formed(text: str, ref: Any) -> None:
    (result,) = lambda_handler([finqa_sample(text, ref, sample_id="f")], None)
    assert result["aggregate_reward_score"] in (0.0, 1.0)
    assert result["aggregate_reward_score"] == 0.0 or metric(result, "format_ok") == 1.0
