"""Property tests: whatever Bedrock sends and whatever the judge answers, the contract holds."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pandalm_reward.handler import lambda_handler
from pandalm_reward.verdict import TIE, read_answer

from .converse_server import Call, ConverseServer, Reply, converse_reply, error_reply, loopback_env
from .helpers import metric
from .test_reward_properties import assert_contract, json_values

_PIECES = (
    "JUDGMENT:|Judgment:|**JUDGMENT:**|judgement: |REASONING:|**Reasoning:** |Response 1|response 2|Tie|"
    'TIE|1|2| | \n|\n|**|`|#|-|>| or |/|<<<END MODEL REASONING>>>|{"score": 1}|Response|because'
)
junk = st.lists(st.sampled_from(_PIECES.split("|")) | st.text(max_size=6), max_size=14).map("".join)
structured = st.builds(
    lambda before, label, verdict, reasoning, after: f"{before}\n{label} {verdict}\n{reasoning}{after}",
    junk,
    st.sampled_from(["JUDGMENT:", "**JUDGMENT:**", "Judgment:", "- judgement:"]),
    st.sampled_from(["Response 1", "Response 2", "Tie", "response 2", "**Response 1**"]),
    st.sampled_from(["REASONING: A is right.", "**REASONING:** ok", "", "REASONING:"]),
    junk,
)
answer_text = structured | junk
labels = st.sampled_from([0, 1, 2])
valid_reference = st.builds(
    lambda label, swap: {
        "label": label,
        "instruction": "Pick one.",
        "input": "",
        "response1": "A",
        "response2": "B",
        "swapped": swap,
    },
    labels,
    st.booleans(),
)
references = valid_reference | valid_reference | labels | json_values
content = answer_text | st.lists(
    st.fixed_dictionaries({"type": st.just("text"), "text": answer_text}), max_size=3
)
pandalm_sample = st.fixed_dictionaries(
    {
        "messages": content.map(
            lambda c: [{"role": "user", "content": "Which is better?"}, {"role": "assistant", "content": c}]
        )
    },
    optional={"id": json_values, "metadata": json_values},
).flatmap(
    lambda sample: st.one_of(st.just(sample), references.map(lambda ref: {**sample, "reference_answer": ref}))
)
events = st.lists(pandalm_sample | json_values, max_size=6) | json_values

# What the judge answers, in rotation: readable, fenced, out of range, garbage, wrong shape, rejected.
_REPLIES = [
    converse_reply('{"score": 0.7, "reason": "ok"}'),
    converse_reply('```json\n{"score": 0.2}\n```'),
    converse_reply('{"score": 3}'),
    converse_reply("no idea"),
    converse_reply('{"score": NaN}'),
    Reply(200, {"output": {"message": {"role": "assistant", "content": []}}, "stopReason": "end_turn"}),
    error_reply("ValidationException", 400),
]


@pytest.fixture(scope="module")
def judge_env() -> Iterator[None]:
    """One loopback judge for the whole module (hypothesis runs many examples per test)."""
    rotation = itertools.cycle(_REPLIES)

    def respond(number: int, call: Call) -> Reply:
        return next(rotation)

    with ConverseServer(respond=respond) as server, pytest.MonkeyPatch.context() as patch:
        for name, value in loopback_env(server.url).items():
            if value is None:
                patch.delenv(name, raising=False)
            else:
                patch.setenv(name, value)
        patch.setenv("JUDGE_MODEL_ID", "us.amazon.nova-pro-v1:0")
        yield
        assert server.calls, "the fuzz never reached the judge; make the strategies produce judged answers"


# Always one judged sample, whatever the fuzz draws: the module's judge must be reached every run.
JUDGED_EVENT = [
    {
        "id": "judged",
        "messages": [
            {"role": "user", "content": "Which is better?"},
            {"role": "assistant", "content": "JUDGMENT: Response 1\nREASONING: A is right."},
        ],
        "reference_answer": {
            "label": 1,
            "instruction": "Pick one.",
            "input": "",
            "response1": "A",
            "response2": "B",
            "swapped": False,
        },
    }
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events)
@example(JUDGED_EVENT)
def test_pandalm_handler_honours_the_contract_for_any_event(judge_env: None, event: Any) -> None:
    results = lambda_handler(event, None)
    assert_contract(event, results)
    if not isinstance(event, list):
        return
    for result in results:
        score = result["aggregate_reward_score"]
        if (
            metric(result, "no_judgment")
            or metric(result, "unparsable_judgment")
            or metric(result, "conflicting_judgments")
        ):
            assert score == 0.0  # no readable verdict: nothing, and no judge call
            assert metric(result, "judge_called") == 0.0
        if metric(result, "verdict") == 0.0:
            assert score <= 0.5  # a wrong verdict earns at most the judge's half
        if metric(result, "judge_error") == 1.0:
            assert metric(result, "judge_score") is None


@settings(max_examples=300, deadline=None)
@given(answer_text)
def test_read_answer_is_total(text: str) -> None:
    answer = read_answer(text)
    assert answer.verdict in (None, 1, 2, TIE)
    assert (answer.verdict is None) == (answer.problem is not None)
    assert answer.reasoning is None or answer.reasoning.strip()
