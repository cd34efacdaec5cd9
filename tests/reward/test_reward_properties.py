"""Property tests: whatever Bedrock (or a buggy scorer) sends, the contract holds."""

from __future__ import annotations

import json
import math
from typing import Any

from gsm8k_reward.handler import lambda_handler as gsm8k_handler
from gsm8k_reward.scoring import score as gsm8k_score
from hypothesis import given, settings
from hypothesis import strategies as st
from rft_reward import Sample, Score, make_handler
from rft_reward.reward_input import event_samples

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
# Response text built from the pieces the GSM8K reader cares about, plus arbitrary text.
_PIECES = "#### |####|48|-3.5|1,000|\\boxed{|}|{|The answer is |Final answer:|**|$|\n| |forty|1/2|\\frac{1}{2}|%|.|apples|#"
ANSWER_PIECES = _PIECES.split("|")
answer_text = st.lists(st.sampled_from(ANSWER_PIECES) | st.text(max_size=8), max_size=12).map("".join)
content = (
    answer_text
    | st.lists(
        st.fixed_dictionaries({"type": st.just("text"), "text": answer_text}) | json_values,
        max_size=3,
    )
    | json_values
)
message = st.fixed_dictionaries(
    {},
    optional={
        "role": st.sampled_from(["assistant", "nova_assistant", "user", "system"]) | json_values,
        "content": content,
    },
)
plain_reference = json_values | st.sampled_from(
    ["48", "#### 48", 48, {"final_answer": "48"}, {"answer": "-3.5"}]
)
# The wrappers in circulation (rft_reward.reward_input.unwrap_reference), around anything.
reference = (
    plain_reference
    | st.builds(lambda v: {"text": v}, plain_reference)
    | st.builds(lambda v: {"type": "text", "text": v}, plain_reference)
    | st.builds(lambda v: {"text": json.dumps(v)}, plain_reference)
)
sample = json_values | st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "messages": st.lists(message, max_size=3) | json_values,
        "reference_answer": reference,
        "metadata": st.fixed_dictionaries({}, optional={"reference_answer": reference}) | json_values,
    },
)
events = (
    st.lists(sample, max_size=5)
    | st.fixed_dictionaries({"trajectories": st.lists(sample, max_size=5)})
    | json_values
)


def assert_contract(event: Any, results: Any) -> None:
    items = event_samples(event)
    if items is None:
        assert results == []
        return
    assert isinstance(results, list) and len(results) == len(items)
    for item, result in zip(items, results, strict=True):
        expected_id = item.get("id") if isinstance(item, dict) else None
        assert result["id"] is expected_id
        value = result["aggregate_reward_score"]
        assert isinstance(value, float) and math.isfinite(value) and 0.0 <= value <= 1.0
        names = [m["name"] for m in result["metrics_list"]]
        assert "format_ok" in names and len(names) == len(set(names))
        for entry in result["metrics_list"]:
            assert entry["type"] in {"Reward", "Metric"}
            assert isinstance(entry["value"], float) and math.isfinite(entry["value"])


@settings(max_examples=100, deadline=None)
@given(events)
def test_gsm8k_handler_honours_the_contract_for_any_event(event: Any) -> None:
    assert_contract(event, gsm8k_handler(event, None))


@settings(max_examples=100, deadline=None)
@given(answer_text, reference)
def test_gsm8k_score_is_always_zero_or_one(text: str, ref: Any) -> None:
    result = gsm8k_score(text, ref)
    assert result.value in (0.0, 1.0)
    assert result.value == 0.0 or result.format_ok


RAISE = object()
scorer_outputs = (
    st.floats()
    | st.integers()
    | st.text(max_size=5)
    | st.none()
    | st.just(RAISE)
    | st.builds(
        Score,
        value=st.floats() | st.integers() | st.none(),
        format_ok=st.booleans() | st.none() | st.integers(),
        metrics=st.dictionaries(
            st.text(max_size=5) | st.integers(), st.floats() | st.text(max_size=3), max_size=3
        )
        | json_values,
        note=st.text(max_size=5) | st.none(),
    )
)
_planned: list[Any] = []


def _chaos(text: str, reference: Any, sample: Sample) -> Any:
    outcome = _planned.pop(0) if _planned else 0.5
    if outcome is RAISE:
        raise RuntimeError("scorer bug")
    return outcome


chaos_handler = make_handler(_chaos, task="test-chaos")


@settings(max_examples=100, deadline=None)
@given(st.lists(sample, max_size=5), st.lists(scorer_outputs, max_size=5))
def test_any_scorer_output_is_contained(event: list[Any], outputs: list[Any]) -> None:
    _planned[:] = outputs
    assert_contract(event, chaos_handler(event, None))
